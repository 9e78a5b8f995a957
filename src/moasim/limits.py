"""Documented limits on what one command or API call may ask for.

Each limit is checked where the input enters (CLI option, trial spec, API argument), before
any work starts, and a request past it is refused with the one-line error template
(:func:`moasim.errors.invalid_value`): the field, the value and the allowed range. The
limits keep a typo (``duration: 1e9 weeks``, ``n: 10000000000``, ``every: "1 s"``, a dose
of ``1e300 ug/kg``) from allocating tens of GiB, hanging, or handing non-physical numbers
to the solver. They are generous for real work; change them here if a study needs more.
"""

from __future__ import annotations

import math

from .errors import SpecError, invalid_value

__all__ = [
    "MAX_DAYS", "MIN_INTERVAL_DAYS", "MAX_SUBJECTS_PER_ARM", "MAX_SUBJECTS_TOTAL", "MAX_REPLICATES",
    "MAX_DOSE_UG", "MAX_DOSE_UG_PER_KG", "MAX_SPEC_BYTES", "MAX_SPEC_DEPTH", "check_days", "check_interval",
    "check_non_empty",
]

#: Longest simulated period (day): 10 years, the longest romosozumab/denosumab follow-up.
MAX_DAYS = 3650.0
#: Shortest dosing (or visit) interval (day): 1 hour.
MIN_INTERVAL_DAYS = 1.0 / 24.0
#: Subjects per arm in one trial replicate.
MAX_SUBJECTS_PER_ARM = 1_000_000
#: Subjects in one trial, all arms and replicates together.
MAX_SUBJECTS_TOTAL = 10_000_000
#: Replicate trials in one run.
MAX_REPLICATES = 10_000
#: Largest single dose (ug): 10 g, ~100x the largest label dose of any drug here.
MAX_DOSE_UG = 1.0e7
#: Largest single weight-based dose (ug/kg): 100 mg/kg.
MAX_DOSE_UG_PER_KG = 1.0e5
#: Largest trial spec file (bytes) and deepest nesting of its YAML (mappings/lists).
MAX_SPEC_BYTES = 1 << 20
MAX_SPEC_DEPTH = 32


def check_days(value: float, field: str, given: object = None) -> float:
    """A simulated duration ``value`` (day) in (0, MAX_DAYS]; ``given`` is the user's text."""
    if not (math.isfinite(value) and 0 < value <= MAX_DAYS):
        raise SpecError(invalid_value(field, value if given is None else given, f"a duration in (0, {MAX_DAYS:g}] days (10 years)"))
    return value


def check_interval(value: float, field: str, given: object = None) -> float:
    """A dosing or visit interval ``value`` (day) of at least MIN_INTERVAL_DAYS (1 hour)."""
    if not (math.isfinite(value) and value >= MIN_INTERVAL_DAYS - 1e-12):
        raise SpecError(invalid_value(field, value if given is None else given, "an interval >= 1 hour"))
    return value


def check_non_empty(value: object, field: str) -> None:
    """Refuse an empty or whitespace-only text field."""
    if isinstance(value, str) and not value.strip():
        raise SpecError(invalid_value(field, value, "a non-empty value"))
