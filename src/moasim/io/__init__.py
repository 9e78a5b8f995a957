"""Import/export: SBML."""

from .sbml import export_sbml

__all__ = ["export_sbml"]
