"""Dosing rules over a whole population at once: the batched engine's :class:`~moasim.engine._schedules.ArrayRule`.

A trial shard runs hundreds of subjects through one compiled kernel; calling a Python
controller per subject at every decision cost as much as the kernel itself. The classes here
hold each rule's per-subject state in arrays and decide for every subject with a few numpy
operations. Their semantics are those of the one-subject forms, which stay the reference
(:class:`~moasim.dosing.TitrationController`, :func:`~moasim.dosing._regimen.regimen_events`):
``tests/trials/test_array_rules.py`` runs every example trial both ways and compares subject
by subject. Each administration is built per subject by the same function as theirs
(:func:`~moasim.dosing._regimen._administration_at_zero`), once per dose level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..engine import Event
from ..library.drugs import TitrationRule
from ._regimen import Regimen, _administration_at_zero

__all__ = ["ArrayRegimen", "ArrayTitration"]


def _each_subject(drug, route: str, dose: float, unit: str, params, weight_kg, food) -> list[list[Event]]:
    """Per subject, the events of one administration of ``dose`` (``unit``) at time 0, built as the
    one-subject paths build it (her parameters and body weight)."""
    return [_administration_at_zero(drug, route, dose, unit, p, float(w), food) for p, w in zip(params, weight_kg)]


@dataclass(frozen=True, slots=True)
class ArrayRegimen:
    """A fixed regimen given to every subject (no decision: administration 0 at each dose time).

    Parameters
    ----------
    regimen : Regimen
        Dose, unit, route, interval and count.
    drug : Drug
        The drug (:func:`moasim.library.drugs.get_drug`).
    params : sequence of mapping
        Per subject, her model's parameter values (bioavailability, lag, food parameters).
    weight_kg : array (N,)
        Body weights (kg), for doses per kg.
    t_end : float
        End of the simulation (day): doses at or after it are not given.
    food : Food, optional
        Food condition of the oral doses.
    """

    regimen: Regimen
    drug: object
    params: Sequence[Mapping[str, float]]
    weight_kg: np.ndarray
    t_end: float
    food: object = None

    @property
    def decision_times(self) -> tuple[float, ...]:
        return tuple(float(t) for t in self.regimen.times(self.t_end))

    def decide(self, t: float, outputs: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.zeros(len(self.params), dtype=np.int64)

    def administration(self, k: int) -> list[list[Event]]:
        r = self.regimen
        return _each_subject(self.drug, r.route, r.dose, r.unit, self.params, self.weight_kg, self.food)


@dataclass(slots=True)
class ArrayTitration:
    """A label titration rule (:class:`~moasim.library.drugs.TitrationRule`) for N subjects at once.

    At each decision time (every ``rule.every_days`` up to ``t_end``) the rule reads every
    subject's platelet count (pre-event, times her measurement factor at visits), updates the
    levels as :class:`~moasim.dosing.TitrationController` does for one subject (hold, resume,
    step down after consecutive high counts, step up at most every ``increase_interval_days``;
    a taper steps down every ``taper_every`` days from ``taper_from``, then withdraws), and
    gives each subject the administration of her current level (index into ``rule.levels``;
    none while held or withdrawn).

    Parameters
    ----------
    rule : TitrationRule
    drug : Drug
    route : str
    params : sequence of mapping
        Per subject, her model's parameter values.
    weight_kg : array (N,)
        Body weights (kg).
    east_asian : array (N,) of bool
        East Asian ancestry (the rule's lower start level where it has one).
    t_end : float
        Last day of titration (withdrawal or end of the trial; day).
    food : Food, optional
    noise : array (N, n_visits), optional
        Multiplicative measurement factor of each subject's count at ``visit_times``.
    visit_times : sequence of float
        The visit times (day) of the columns of ``noise``.
    taper_from, taper_every : float
        Taper start and step (day); ``taper_from`` None: no taper.

    Attributes
    ----------
    history : list of (time, array (N,))
        The dose given to each subject at each decision (``rule.unit``; 0: none).
    """

    rule: TitrationRule
    drug: object
    route: str
    params: Sequence[Mapping[str, float]]
    weight_kg: np.ndarray
    east_asian: np.ndarray
    t_end: float
    food: object = None
    noise: np.ndarray | None = None
    visit_times: Sequence[float] = ()
    taper_from: float | None = None
    taper_every: float = 14.0
    decision_times: tuple[float, ...] = field(init=False)
    level: np.ndarray = field(init=False)
    held: np.ndarray = field(init=False)
    withdrawn: np.ndarray = field(init=False)
    high_count: np.ndarray = field(init=False)
    last_increase: np.ndarray = field(init=False)
    history: list = field(init=False, default_factory=list)
    _column: dict = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.params)
        self.level = np.array([self.rule.start_index(bool(e)) for e in self.east_asian], dtype=np.int64)
        self.held = np.zeros(n, dtype=bool)
        self.withdrawn = np.zeros(n, dtype=bool)
        self.high_count = np.zeros(n, dtype=np.int64)
        self.last_increase = np.zeros(n)
        count = int(math.ceil(self.t_end / self.rule.every_days - 1e-9))
        self.decision_times = tuple(i * self.rule.every_days for i in range(count))
        self._column = {float(t): j for j, t in enumerate(self.visit_times)}

    def _taper(self, t: float) -> bool:
        """Tapering step due at ``t``: one level down; below the lowest level, withdrawn."""
        if self.taper_from is None or t < self.taper_from - 1e-9:
            return False
        k = (t - self.taper_from) / self.taper_every
        if abs(k - round(k)) < 1e-9:
            lowest = self.level == 0
            self.withdrawn |= lowest
            self.level[~lowest] -= 1
        return True

    def _visit(self, t: float, p: np.ndarray) -> None:
        """The rule at a visit with measured counts ``p`` (the comparisons are those of the
        one-subject controller, so a NaN count changes nothing)."""
        r = self.rule
        was_held = self.held.copy()
        resume = was_held & (p < r.resume_below)
        self.held[resume] = False
        self.level[resume] = np.maximum(self.level[resume] - 1, 0)
        active = ~was_held
        above_hold = p > r.hold_above
        hold = active & above_hold
        self.held[hold] = True
        self.high_count[hold] = 0
        high = active & ~above_hold & (p > r.decrease_above)
        self.high_count[high] += 1
        down = high & (self.high_count >= r.decrease_consecutive)
        self.level[down] = np.maximum(self.level[down] - 1, 0)
        self.high_count[down] = 0
        rest = active & ~above_hold & ~(p > r.decrease_above)
        self.high_count[rest] = 0
        up = (rest & (p < r.increase_below) & (t - self.last_increase >= r.increase_interval_days - 1e-9)
              & (self.level < len(r.levels) - 1))
        self.level[up] += 1
        self.last_increase[up] = t

    def decide(self, t: float, outputs: Mapping[str, np.ndarray]) -> np.ndarray:
        r = self.rule
        is_visit = t > 0 and abs(t / r.visit_days - round(t / r.visit_days)) < 1e-9
        if not self._taper(t) and is_visit:  # during a taper the rule no longer titrates
            j = self._column.get(float(t))
            factor = self.noise[:, j] if (self.noise is not None and j is not None) else 1.0
            self._visit(t, np.asarray(outputs["platelets"], dtype=float) * factor)
        dose = np.asarray(r.levels, dtype=float)[self.level]
        off = self.held | self.withdrawn | ~(dose > 0)
        self.history.append((t, np.where(off, 0.0, dose)))
        return np.where(off, -1, self.level)

    def administration(self, k: int) -> list[list[Event]]:
        return _each_subject(self.drug, self.route, self.rule.levels[k], self.rule.unit, self.params, self.weight_kg, self.food)
