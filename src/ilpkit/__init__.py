"""ilpkit: registry, planning, leakage monitoring and outcome statistics for TM-ILP."""

__version__ = "0.1.0"
