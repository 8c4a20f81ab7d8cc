"""Rendering of results into HTML, PDF, figures and tables (no statistics here)."""
