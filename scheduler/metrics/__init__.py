"""Reading published posts' numbers back from the networks: one reader per network and the collector job."""
