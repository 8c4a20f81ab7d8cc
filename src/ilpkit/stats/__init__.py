"""Outcome statistics: analysis datasets, Kaplan-Meier, log-rank, Cox, competing risks."""
