"""Registry CSV v1 reading and writing."""
