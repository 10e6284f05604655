"""People and where they belong: users and their passwords, workspaces with roles and invite links, and the
personal access tokens of the JSON API. Every lookup here is scoped to one workspace."""
