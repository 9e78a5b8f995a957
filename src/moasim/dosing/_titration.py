"""State-dependent dose titration at visits, with rules as data (the label rules).

A :class:`TitrationRule` (declared by each drug module of :mod:`moasim.library.drugs`) is a
ladder of dose levels and platelet thresholds; a :class:`TitrationController` applies it at each visit from the simulated platelet count
and schedules the doses until the next decision (engine ``Controller`` protocol).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ..engine import Event
from ..errors import SpecError, invalid_value, unknown_name
from ..library.drugs import DRUGS, TitrationRule
from ._regimen import _administration_at_zero, _shifted

__all__ = ["TitrationRule", "TitrationController", "RULES", "get_rule"]


#: Label titration rules by drug, from the drug registry (``Drug.titration``).
RULES: Mapping[str, TitrationRule] = MappingProxyType({n: d.titration for n, d in DRUGS.items() if d.titration is not None})


def get_rule(drug: str, name: str = "label") -> TitrationRule:
    """The titration rule ``name`` (only ``"label"``) of ``drug``.

    Raises
    ------
    SpecError
        Unknown rule name or drug, or a drug without a label titration rule (the message says why).
    """
    if name != "label":
        raise SpecError(unknown_name("titration rule", name, ["label"]))
    if drug in DRUGS and drug not in RULES:
        raise SpecError(invalid_value(f"titration for {drug}", name,
                                      f"none: {DRUGS[drug].no_titration}; give a fixed regimen (dose and interval) instead"))
    if drug not in RULES:
        raise SpecError(unknown_name("drug with a label titration rule", drug, RULES))
    return RULES[drug]


@dataclass(slots=True)
class TitrationController:
    """Applies a rule at visits and schedules the doses (mutable per-run state)."""

    rule: TitrationRule
    drug: object
    route: str
    params: dict
    weight_kg: float
    t_end: float
    east_asian: bool = False
    food: object = None
    level: int = 0
    held: bool = False
    high_count: int = 0
    last_increase: float = 0.0
    decision_times: tuple[float, ...] = field(default_factory=tuple)
    history: list = field(default_factory=list)
    noise: dict = field(default_factory=dict)  # visit time -> multiplicative measurement factor
    taper_from: float | None = None  # taper: from this day, one level down every taper_every days, then stop
    taper_every: float = 14.0
    withdrawn: bool = False
    _at_zero: dict = field(default_factory=dict, repr=False)  # dose level -> its administration's events at time 0

    def __post_init__(self) -> None:
        self.level = self.rule.start_index(self.east_asian)
        n = int(math.ceil(self.t_end / self.rule.every_days - 1e-9))
        self.decision_times = tuple(i * self.rule.every_days for i in range(n))

    def _taper(self, t: float) -> bool:
        """Tapering step due at ``t`` (one level down; below the lowest level: withdrawn)."""
        if self.taper_from is None or t < self.taper_from - 1e-9:
            return False
        k = (t - self.taper_from) / self.taper_every
        if abs(k - round(k)) < 1e-9:
            if self.level == 0:
                self.withdrawn = True
            else:
                self.level -= 1
        return True

    def _visit(self, t: float, p: float) -> None:
        r = self.rule
        if self.held:
            if p < r.resume_below:
                self.held = False
                self.level = max(self.level - 1, 0)
            return
        if p > r.hold_above:
            self.held = True
            self.high_count = 0
        elif p > r.decrease_above:
            self.high_count += 1
            if self.high_count >= r.decrease_consecutive:
                self.level = max(self.level - 1, 0)
                self.high_count = 0
        else:
            self.high_count = 0
            if p < r.increase_below and t - self.last_increase >= r.increase_interval_days - 1e-9:
                if self.level < len(r.levels) - 1:
                    self.level += 1
                    self.last_increase = t

    def decide(self, t: float, observe) -> list[Event]:
        r = self.rule
        is_visit = t > 0 and abs(t / r.visit_days - round(t / r.visit_days)) < 1e-9
        if not self._taper(t) and is_visit:  # during a taper the rule no longer titrates
            self._visit(t, observe("platelets") * self.noise.get(t, 1.0))
        dose = 0.0 if (self.held or self.withdrawn) else r.levels[self.level]
        self.history.append((t, dose))
        if dose <= 0:
            return []
        if dose not in self._at_zero:  # the subject's parameters, weight and food are fixed: build each level once
            self._at_zero[dose] = _administration_at_zero(self.drug, self.route, dose, r.unit, self.params, self.weight_kg, self.food)
        return _shifted(self._at_zero[dose], t)
