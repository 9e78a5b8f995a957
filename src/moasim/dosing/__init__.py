"""Doses, regimens and titration rules (data), expanded into engine events."""

from ._array import ArrayRegimen, ArrayTitration
from ._regimen import Regimen, parse_dose
from ._titration import RULES, TitrationController, TitrationRule, get_rule

__all__ = ["Regimen", "parse_dose", "TitrationRule", "TitrationController", "ArrayRegimen", "ArrayTitration", "RULES", "get_rule"]
