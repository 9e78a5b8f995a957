"""State-dependent dose titration at visits, with rules as data (the label rules).

A :class:`TitrationRule` is a ladder of dose levels and platelet thresholds; a
:class:`TitrationController` applies it at each visit from the simulated platelet count
and schedules the doses until the next decision (engine ``Controller`` protocol).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..engine import Event
from ..errors import SpecError, unknown_name
from ._regimen import administration_events

__all__ = ["TitrationRule", "TitrationController", "RULES", "get_rule"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TitrationRule:
    """A label-style titration rule (platelets in 10^9/L, times in days).

    At each visit (every ``visit_days``) with platelet count ``p``:

    1. while held: resume one level lower when ``p < resume_below``;
    2. ``p > hold_above``: hold (no dose);
    3. ``p > decrease_above`` for ``decrease_consecutive`` visits in a row: one level down;
    4. ``p < increase_below`` and >= ``increase_interval_days`` since the last increase: one level up.
    """

    name: str
    drug: str
    levels: tuple[float, ...]
    unit: str
    start: float
    every_days: float
    visit_days: float
    increase_below: float
    increase_interval_days: float
    decrease_above: float
    decrease_consecutive: int
    hold_above: float
    resume_below: float
    start_east_asian: float | None = None
    source: str = ""

    def start_index(self, east_asian: bool = False) -> int:
        s = self.start_east_asian if (east_asian and self.start_east_asian is not None) else self.start
        return self.levels.index(s)


RULES: dict[str, TitrationRule] = {
    "romiplostim": TitrationRule(
        name="romiplostim label", drug="romiplostim", levels=tuple(float(i) for i in range(0, 11)), unit="ug/kg",
        start=1.0, every_days=7, visit_days=7, increase_below=50, increase_interval_days=7,
        decrease_above=200, decrease_consecutive=2, hold_above=400, resume_below=200,
        source="Nplate USPI (R): +1 ug/kg if <50; -1 after 2 consecutive weeks >200; hold >400, resume -1 when <200; max 10",
    ),
    "eltrombopag": TitrationRule(
        name="eltrombopag label", drug="eltrombopag", levels=(12.5, 25.0, 50.0, 75.0), unit="mg",
        start=50.0, start_east_asian=25.0, every_days=1, visit_days=7, increase_below=50, increase_interval_days=14,
        decrease_above=200, decrease_consecutive=1, hold_above=400, resume_below=150,
        source="Promacta label (R, Lexicomp text): 50 mg (25 mg East Asian); <50 after >=2 weeks +25 (max 75); 200-400 -25; >400 hold, resume -25 when <150",
    ),
    "hetrombopag": TitrationRule(
        name="hetrombopag (phase 1 style)", drug="hetrombopag", levels=(2.5, 5.0, 7.5), unit="mg",
        start=5.0, every_days=1, visit_days=7, increase_below=50, increase_interval_days=14,
        decrease_above=200, decrease_consecutive=1, hold_above=400, resume_below=150,
        source="assumption: eltrombopag label pattern on 2.5/5/7.5 mg steps, 5 mg start (Mei 2022; rule text not found, research/thrombopoiesis.md s7)",
    ),
    "avatrombopag": TitrationRule(
        name="avatrombopag label (daily levels)", drug="avatrombopag", levels=(20.0, 40.0), unit="mg",
        start=20.0, every_days=1, visit_days=7, increase_below=50, increase_interval_days=14,
        decrease_above=200, decrease_consecutive=1, hold_above=400, resume_below=150,
        source="Doptelet label (R2): start 20 mg QD, max 40 mg/day; the label's sub-daily levels are not modelled",
    ),
}


def get_rule(drug: str, name: str = "label") -> TitrationRule:
    if name != "label":
        raise SpecError(unknown_name("titration rule", name, ["label"]))
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
        return administration_events(self.drug, self.route, t, dose, r.unit, self.params, self.weight_kg, self.food)
