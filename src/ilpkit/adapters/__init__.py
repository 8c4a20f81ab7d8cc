"""Adapters to the outside world: database, CSV files."""
