"""Use cases (import a file, export the registry, summarise it), each inside one unit of work."""
