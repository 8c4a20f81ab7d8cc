"""Perfusion planning and leakage monitoring: pure calculators."""
