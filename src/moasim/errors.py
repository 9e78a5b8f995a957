"""Public exception hierarchy.

Every error a user can trigger with bad input derives from :class:`MoasimError` and
carries one line in the house template: *what* was wrong, *where*, the *value received*
and what is *allowed*. The CLI prints that line and exits with code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "MoasimError",
    "ModelSpecError",
    "UnitError",
    "DosingError",
    "SpecError",
    "SolverError",
    "FitError",
    "DataError",
    "invalid_value",
    "unknown_name",
]


class MoasimError(Exception):
    """Base class of all moasim errors (one clear line of text)."""


class ModelSpecError(MoasimError, ValueError):
    """A model, module or parameter definition is inconsistent."""


class UnitError(MoasimError, ValueError):
    """A quantity has an unknown unit or the wrong dimension."""


class DosingError(MoasimError, ValueError):
    """A dose, route or regimen is invalid."""


class SpecError(MoasimError, ValueError):
    """A user-supplied specification (CLI option, YAML spec) is invalid."""


class DataError(MoasimError, ValueError):
    """An input data file is empty, malformed or unreadable."""


class SolverError(MoasimError, RuntimeError):
    """The ODE integration failed."""


class FitError(MoasimError, RuntimeError):
    """A model fit failed to converge or is not identifiable."""


def invalid_value(field: str, value: object, allowed: str, where: str = "") -> str:
    """Format the house error template.

    Examples
    --------
    >>> invalid_value("dose", "-1 mg", "a finite amount >= 0")
    "Invalid dose: got '-1 mg'; allowed: a finite amount >= 0."
    """
    loc = f" in {where}" if where else ""
    return f"Invalid {field}{loc}: got {value!r}; allowed: {allowed}."


def unknown_name(kind: str, name: str, known: Iterable[str], where: str = "") -> str:
    """Message for an unknown name, with a close match suggestion and the known names."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    loc = f" in {where}" if where else ""
    return f"Unknown {kind} {name!r}{loc}.{hint} Allowed: {', '.join(known)}."
