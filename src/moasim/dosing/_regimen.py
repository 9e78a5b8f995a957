"""Regimens: a dose, a route, an interval and a count, expanded into engine events."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..engine import Event
from ..errors import DosingError, invalid_value
from ..limits import MAX_DOSE_UG, MAX_DOSE_UG_PER_KG
from ..units import convert, dimension_of, parse_quantity

__all__ = ["Regimen", "parse_dose", "dose_amount_ug"]

_MASS = dimension_of("ug")
_PER_KG = dimension_of("ug/kg")


def parse_dose(text: str | float, field: str = "dose") -> tuple[float, str]:
    """Parse a dose (``"10 ug/kg"``, ``"50 mg"``); reject wrong dimension, negative, non-finite."""
    value, unit = parse_quantity(text, field)
    dim = dimension_of(unit)
    if dim not in (_MASS, _PER_KG):
        raise DosingError(invalid_value(f"unit of {field}", unit, "a mass (mg, ug) or mass per body weight (ug/kg)"))
    if value < 0 or not math.isfinite(value):
        raise DosingError(invalid_value(field, text, "a finite amount >= 0"))
    # non-physical magnitudes (1e300 ug/kg) are refused before they reach the solver
    if dim == _MASS and convert(value, unit, "ug") > MAX_DOSE_UG:
        raise DosingError(invalid_value(field, text, f"an amount in [0, {MAX_DOSE_UG / 1e6:g} g]"))
    if dim == _PER_KG and convert(value, unit, "ug/kg") > MAX_DOSE_UG_PER_KG:
        raise DosingError(invalid_value(field, text, f"an amount in [0, {MAX_DOSE_UG_PER_KG / 1e3:g} mg/kg]"))
    return value, unit


def dose_amount_ug(value: float, unit: str, weight_kg: float) -> float:
    """Dose in ug for a subject (weight-based doses multiplied by body weight)."""
    if dimension_of(unit) == _PER_KG:
        return convert(value, unit, "ug/kg") * weight_kg
    return convert(value, unit, "ug")


@dataclass(frozen=True, slots=True, kw_only=True)
class Regimen:
    """Repeated doses of one drug.

    Parameters
    ----------
    drug : str
    dose : float
        Amount per administration in ``unit``.
    unit : str
        ``mg``, ``ug`` or ``ug/kg``.
    route : str
        ``sc``, ``iv`` or ``oral``.
    every_days : float, optional
        Dosing interval (day); None for a single dose.
    start_days : float
        Time of the first dose (day).
    count : int, optional
        Number of doses; default: until the end of the simulation.
    """

    drug: str
    dose: float
    unit: str
    route: str
    every_days: float | None = None
    start_days: float = 0.0
    count: int | None = None

    def __post_init__(self) -> None:
        if self.every_days is not None and not (math.isfinite(self.every_days) and self.every_days > 0):
            raise DosingError(invalid_value("every", self.every_days, "an interval > 0"))
        if self.count is not None and self.count < 1:
            raise DosingError(invalid_value("count", self.count, "an integer >= 1"))

    def times(self, t_end: float) -> np.ndarray:
        """Dose times (day) up to and excluding ``t_end``."""
        if self.every_days is None:
            return np.array([self.start_days]) if self.start_days < t_end else np.array([])
        n = self.count if self.count is not None else int(math.ceil((t_end - self.start_days) / self.every_days - 1e-9))
        t = self.start_days + self.every_days * np.arange(max(n, 0))
        return t[t < t_end]

    def __str__(self) -> str:
        every = f" q{self.every_days:g}d" if self.every_days else ""
        return f"{self.dose:g} {self.unit} {self.route.upper()}{every}"


def _administration_at_zero(drug, route: str, dose: float, unit: str, params, weight_kg: float, food) -> list[Event]:
    """The events of one administration given at time 0; the first carries the dose-ledger
    entry (drug, amount, unit as prescribed). Every path that doses (a regimen, a dataset
    record, a titration rule) builds an administration once this way and moves it to each dose
    time with :func:`_shifted`, so that all compute the same event times."""
    evs = drug.events(route, 0.0, dose_amount_ug(dose, unit, weight_kg), params, food)
    return [Event(0.0, evs[0].action, label="dose", dose=(drug.name, dose, unit)), *evs[1:]]


def _shifted(events: list[Event], t: float) -> list[Event]:
    """``events`` (of an administration at time 0) moved to dose time ``t`` (day)."""
    return [Event(t + e.time, e.action, e.label, e.dose) for e in events]


def regimen_events(drug, regimen: Regimen, t_end: float, params, weight_kg: float, food=None) -> list[Event]:
    """Engine events of a regimen for one subject.

    Every administration of a regimen is the same (dose, route, food, the subject's lag and
    absorption parameters), so its events are built once and shifted to each dose time (a
    trial builds them for every subject: this was a third of its per-subject Python).
    """
    one = _administration_at_zero(drug, regimen.route, regimen.dose, regimen.unit, params, weight_kg, food)
    return [e for t in regimen.times(t_end) for e in _shifted(one, float(t))]
