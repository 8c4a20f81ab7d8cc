"""Data files shipped with ilpkit (protocols, example registry)."""
