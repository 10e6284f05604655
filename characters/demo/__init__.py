"""The demo workspace that `make run` seeds: three original characters as complete bibles, a user per role and a few
drafts. Safe to run twice."""
