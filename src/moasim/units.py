"""Units at the boundary.

moasim parses every user-facing quantity here (doses, times, parameter values) with
`pint`, checks its dimension, and converts it **once** to the canonical unit system of
the numerical core, which then sees plain floats. pint objects never leave this module.

Canonical unit system of the core (used by every model in :mod:`moasim.library`):

============================  ==============================
quantity                      canonical unit
============================  ==============================
time                          day
drug amount                   ug (microgram)
volume                        L
drug concentration            ng/mL (= ug/L)
endogenous TPO                pg/mL
platelets, MK precursors      10^9/L (platelet equivalents)
first-order rate constants    1/day
clearance                     L/day
body weight                   kg
============================  ==============================
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import pint

from .errors import UnitError, invalid_value

__all__ = ["ureg", "parse_quantity", "to_unit", "convert", "dimension_of", "CANONICAL"]

ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
# Platelet counts are conventionally 10^9/L; the 'cells' count is dimensionless.

CANONICAL = {
    "time": "day",
    "amount": "ug",
    "volume": "L",
    "concentration": "ng/mL",
    "tpo": "pg/mL",
    "platelets": "1e9/L",
}

_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*)$")


@lru_cache(maxsize=512)
def _unit(text: str) -> pint.Quantity:
    """The unit as a pint Quantity (a unit may carry a factor, e.g. ``1e9/L``)."""
    q = ureg.parse_expression(_normalise(text))
    if not isinstance(q, pint.Quantity):  # a bare number
        q = ureg.Quantity(float(q), "")
    return q


def _normalise(text: str) -> str:
    t = text.strip().replace("µ", "u").replace("μ", "u")
    t = t.replace("10^9", "1e9").replace("x1e9", "1e9").replace("^", "**")
    return t


def parse_quantity(text: str | float | int, field: str, default_unit: str | None = None) -> tuple[float, str]:
    """Parse ``"10 ug/kg"`` into ``(10.0, "ug/kg")``.

    Parameters
    ----------
    text : str or number
        Quantity text, a number followed by a unit. A bare number takes ``default_unit``.
    field : str
        Name of the field, used in the error message.
    default_unit : str, optional
        Unit for a bare number; if None, a unit is required.

    Raises
    ------
    UnitError
        If the text is not a finite number with a known unit.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if default_unit is None:
            raise UnitError(invalid_value(field, text, "a number with a unit, e.g. '10 ug/kg'"))
        value, unit = float(text), default_unit
    elif isinstance(text, str):
        m = _NUMBER_UNIT.match(text)
        if not m:
            raise UnitError(invalid_value(field, text, "a number followed by a unit, e.g. '10 ug/kg'"))
        value = float(m.group(1))
        unit = m.group(2).strip() or default_unit
        if not unit:
            raise UnitError(invalid_value(field, text, "a number with a unit, e.g. '10 ug/kg'"))
    else:
        raise UnitError(invalid_value(field, text, "a number followed by a unit"))
    if not math.isfinite(value):
        raise UnitError(invalid_value(field, text, "a finite number"))
    try:
        _unit(unit)
    except Exception:
        raise UnitError(invalid_value(f"unit of {field}", unit, "a unit pint understands, e.g. mg, ug/kg, day, week")) from None
    return value, unit


@lru_cache(maxsize=512)
def dimension_of(unit: str) -> str:
    """Dimensionality string of a unit (e.g. ``'[mass] / [length] ** 3'``)."""
    return str(_unit(unit).dimensionality)


@lru_cache(maxsize=512)
def _ratio(from_unit: str, to_unit: str):
    """Magnitude of ``from_unit / to_unit`` (pint; cached: trials convert every dose)."""
    return (_unit(from_unit) / _unit(to_unit)).to("dimensionless").magnitude


def convert(value: float, from_unit: str, to_unit: str, field: str = "quantity") -> float:
    """Convert a float between units; raise :class:`UnitError` on a dimension mismatch."""
    try:
        return float(value * _ratio(from_unit, to_unit))
    except pint.DimensionalityError:
        raise UnitError(
            invalid_value(f"unit of {field}", from_unit, f"a unit convertible to {to_unit} ({dimension_of(to_unit)})")
        ) from None


def to_unit(text: str | float, to_unit_: str, field: str, default_unit: str | None = None) -> float:
    """Parse a quantity and convert it to ``to_unit_`` (a float in that unit)."""
    value, unit = parse_quantity(text, field, default_unit)
    return convert(value, unit, to_unit_, field)


def is_compatible(unit: str, other: str) -> bool:
    """True if the two units have the same dimension."""
    try:
        return _unit(unit).dimensionality == _unit(other).dimensionality
    except Exception:
        return False
