"""Plots and reports (matplotlib imported lazily)."""
