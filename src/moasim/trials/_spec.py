"""The trial spec (YAML; DESIGN.md contract), parsed strictly into immutable objects.

Unknown keys, wrong units, negative doses and empty arms are refused with one line that
names the field, the value and what is allowed.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, replace
from typing import Any

import yaml

from ..dosing import TitrationRule, get_rule, parse_dose
from ..errors import SpecError, invalid_value, unknown_name
from ..library.drugs import DRUGS, FOOD_KINDS, Food, check_route, get_drug
from ..limits import (MAX_REPLICATES, MAX_SPEC_BYTES, MAX_SPEC_DEPTH, MAX_SUBJECTS_PER_ARM, MAX_SUBJECTS_TOTAL, check_days,
                      check_interval, check_non_empty)
from ..population import BonePopulationSpec, PopulationSpec
from ..units import to_unit
from ._endpoints import BONE_ENDPOINT_KINDS, BONE_MEASURES, ENDPOINT_KINDS

__all__ = ["TrialSpec", "ArmSpec", "EndpointSpec", "parse_trial_spec", "load_trial_spec"]

_TOP = {"name", "description", "population", "duration", "visits", "arms", "endpoints", "n", "seed", "replicates"}
_POP = {"kind", "baseline_platelets", "east_asian", "female", "splenectomy", "corticosteroids", "non_responder", "weight_kg", "iiv",
        "residual_sd", "fluctuation", "prior_therapies"}
_BONE_POP = {"kind", "baseline_t_score", "weight_kg", "iiv", "measurement_error", "fracture_rates"}
_ARM = {"name", "drug", "dose", "every", "route", "titration", "food", "for", "rescue", "taper"}
_BONE_ARM = {"name", "drug", "dose", "every", "route", "for", "then"}
_TIT = {"rule", "start", "levels", "increase_below", "increase_interval", "decrease_above", "decrease_consecutive", "hold_above", "resume_below", "visit_every"}
_END = {"name", "kind", "threshold", "min_rise", "at", "k", "window", "statistic", "below"}
_BONE_END = {"name", "kind", "output", "at", "statistic", "vs", "event", "by"}
_POP_KINDS = ("itp", "postmenopausal_osteoporosis")
#: Counts within this time after rescue therapy do not count as responses (default of
#: ``rescue: {excludes}``): 8 weeks, the rule of the romiplostim pivotal trials' durable-response
#: definition as commonly summarised (U: not read in the protocol here; set it to your protocol's).
RESCUE_EXCLUDES_DAYS = 56.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ArmSpec:
    name: str
    drug: str | None
    dose: float | None = None
    unit: str | None = None
    every_days: float | None = None
    route: str | None = None
    titration: TitrationRule | None = None
    food: Food | None = None
    for_days: float | None = None  # dosing period (doses stop after it: withdrawal)
    rescue_below: float | None = None  # rescue therapy when the measured count is below this
    rescue_excludes_days: float = RESCUE_EXCLUDES_DAYS  # visits this long after a rescue do not count as responses
    taper: tuple[float, float] | None = None  # (from day, every days): titrated arms step down one level, then stop
    then: "ArmSpec | None" = None  # bone trials: the follow-on treatment once ``for`` has ended (sequencing)


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointSpec:
    name: str
    kind: str
    threshold: float = 50.0
    at_days: float | None = None
    k: int | None = None
    window_days: tuple[float, float] | None = None
    statistic: str = "proportion"
    below: float | None = None  # relapse: count below this after responding (default: threshold)
    min_rise: float = 0.0  # a response also needs count - baseline count >= min_rise (Bussel 2014: >= 20 above baseline)
    output: str | None = None  # percent_change: bmd_lumbar_spine | bmd_total_hip | bmd_femoral_neck | p1np | ctx
    event: str | None = None  # incidence: new_vertebral_fracture | hip_fracture (counted up to at_days)
    vs: str | None = None  # bone endpoints: reference arm (difference of percent changes, ratio of incidences)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialSpec:
    name: str
    population: PopulationSpec | BonePopulationSpec
    duration_days: float
    visit_days: float
    arms: tuple[ArmSpec, ...]
    endpoints: tuple[EndpointSpec, ...]
    n: int = 100
    seed: int = 1
    replicates: int = 1

    def with_run_options(self, n: int | None = None, seed: int | None = None, replicates: int | None = None) -> "TrialSpec":
        new = replace(self, n=self.n if n is None else _subjects(n, "--n"), seed=self.seed if seed is None else _seed(seed),
                      replicates=self.replicates if replicates is None else _replicates(replicates, "--replicates"))
        _check_size(new, "--n" if n is not None else "n")
        return new

    @property
    def is_bone(self) -> bool:
        """A bone trial (population ``postmenopausal_osteoporosis``)."""
        return isinstance(self.population, BonePopulationSpec)

    @property
    def visit_times(self) -> tuple[float, ...]:
        k = int(math.floor(self.duration_days / self.visit_days + 1e-9))
        return tuple(i * self.visit_days for i in range(k + 1))


def _keys(d: Any, allowed: set[str], where: str) -> dict:
    if not isinstance(d, dict):
        raise SpecError(invalid_value(where, d, "a mapping"))
    for k in d:
        if k not in allowed:
            raise SpecError(unknown_name("key", str(k), allowed, where))
    return d


def _count(v: Any, field: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise SpecError(invalid_value(field, v, "an integer >= 1"))
    return v


def _subjects(v: Any, field: str) -> int:
    n = _count(v, field)
    if n > MAX_SUBJECTS_PER_ARM:
        raise SpecError(invalid_value(field, v, f"an integer in [1, {MAX_SUBJECTS_PER_ARM:,}] subjects per arm"))
    return n


def _replicates(v: Any, field: str) -> int:
    r = _count(v, field)
    if r > MAX_REPLICATES:
        raise SpecError(invalid_value(field, v, f"an integer in [1, {MAX_REPLICATES:,}]"))
    return r


def _check_size(spec: "TrialSpec", field: str) -> None:
    total = spec.n * spec.replicates * len(spec.arms)
    if total > MAX_SUBJECTS_TOTAL:
        raise SpecError(invalid_value(field, spec.n, f"n x replicates x arms <= {MAX_SUBJECTS_TOTAL:,} subjects "
                                      f"(here {spec.n:,} x {spec.replicates:,} x {len(spec.arms)})"))


def _seed(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise SpecError(invalid_value("seed", v, "an integer >= 0"))
    return v


def _fraction(v: Any, field: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
        raise SpecError(invalid_value(field, v, "a fraction in [0, 1]"))
    return float(v)


def _platelets(v: Any, field: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise SpecError(invalid_value(field, v, "a platelet count >= 0 (x10^9/L)"))
    return float(v)


def _days(v: Any, field: str) -> float:
    d = to_unit(v, "day", field) if not isinstance(v, (int, float)) or isinstance(v, bool) else None
    if d is None:
        raise SpecError(invalid_value(field, v, "a duration with unit, e.g. '6 weeks'"))
    if d < 0:
        raise SpecError(invalid_value(field, v, "a duration >= 0"))
    return d


def _population(d: Any) -> PopulationSpec | BonePopulationSpec:
    if not isinstance(d, dict):
        raise SpecError(invalid_value("population", d, "a mapping"))
    kind = d.get("kind", "itp")
    if kind not in _POP_KINDS:
        raise SpecError(unknown_name("population kind", str(kind), _POP_KINDS))
    if kind == "postmenopausal_osteoporosis":
        return _bone_population(d)
    d = _keys(d, _POP, "population (kind itp)")
    kw: dict[str, Any] = {"kind": kind}
    if "baseline_platelets" in d:
        b = _keys(d["baseline_platelets"], {"min", "max", "median"}, "population.baseline_platelets")
        for k, f in (("min", "baseline_min"), ("max", "baseline_max"), ("median", "baseline_median")):
            if k in b:
                kw[f] = _platelets(b[k], f"population.baseline_platelets.{k}")
    for k in ("east_asian", "female", "splenectomy", "corticosteroids", "non_responder"):
        if k in d:
            kw[k] = _fraction(d[k], f"population.{k}")
    if "prior_therapies" in d:
        kw["prior_therapies"] = _number(d["prior_therapies"], "population.prior_therapies", 1.0, 10.0,
                                        "a mean number of earlier ITP treatment lines")
    if "weight_kg" in d:
        w = d["weight_kg"]
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 30 <= w <= 200:
            raise SpecError(invalid_value("population.weight_kg", w, "a median body weight in [30, 200] kg"))
        kw["weight_median_kg"] = float(w)
    if "residual_sd" in d:
        r = d["residual_sd"]
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r <= 2:
            raise SpecError(invalid_value("population.residual_sd", r, "a log-scale SD in [0, 2]"))
        kw["residual_sd"] = float(r)
    if "iiv" in d:
        if not isinstance(d["iiv"], bool):
            raise SpecError(invalid_value("population.iiv", d["iiv"], "true or false"))
        kw["iiv"] = d["iiv"]
    if "fluctuation" in d:  # within-patient disease activity: {sd: log-scale SD, timescale: DURATION}
        f = _keys(d["fluctuation"], {"sd", "timescale"}, "population.fluctuation")
        if "sd" in f:
            kw["fluctuation_sd"] = _number(f["sd"], "population.fluctuation.sd", 0.0, 2.0, "a log-scale SD")
        if "timescale" in f:
            kw["fluctuation_days"] = check_interval(_days(f["timescale"], "population.fluctuation.timescale"),
                                                    "population.fluctuation.timescale", f["timescale"])
    return PopulationSpec(**kw)


def _titration(d: Any, drug: str, arm: str) -> TitrationRule:
    if d == "label":
        return get_rule(drug)
    d = _keys(d, _TIT, f"arms[{arm}].titration")
    rule = get_rule(drug, d.get("rule", "label"))
    kw: dict[str, Any] = {}
    if "levels" in d:
        lv = d["levels"]
        if not isinstance(lv, list) or not lv:
            raise SpecError(invalid_value(f"arms[{arm}].titration.levels", lv, "a non-empty list of doses with unit"))
        vals = [parse_dose(x, f"arms[{arm}].titration.levels") for x in lv]
        from ..units import convert

        kw["levels"] = tuple(sorted(convert(v, u, rule.unit, "titration level") for v, u in vals))
    if "start" in d:
        v, u = parse_dose(d["start"], f"arms[{arm}].titration.start")
        from ..units import convert

        kw["start"] = convert(v, u, rule.unit, "titration start")
        kw["start_east_asian"] = None
    for k in ("increase_below", "decrease_above", "hold_above", "resume_below"):
        if k in d:
            kw[k] = _platelets(d[k], f"arms[{arm}].titration.{k}")
    if "decrease_consecutive" in d:
        kw["decrease_consecutive"] = _count(d["decrease_consecutive"], f"arms[{arm}].titration.decrease_consecutive")
    if "increase_interval" in d:
        kw["increase_interval_days"] = _days(d["increase_interval"], f"arms[{arm}].titration.increase_interval")
    if "visit_every" in d:
        kw["visit_days"] = _days(d["visit_every"], f"arms[{arm}].titration.visit_every")
    new = replace(rule, name=f"{rule.name} (modified)" if kw else rule.name, **kw)
    if new.start not in new.levels:
        raise SpecError(invalid_value(f"arms[{arm}].titration.start", new.start, f"one of the levels {list(new.levels)} {new.unit}"))
    return new


def _rescue(d: dict, arm: str) -> dict[str, float]:
    """``rescue: {below: COUNT, excludes: DURATION}``: rescue therapy at a visit whose measured
    count is below COUNT; visits within ``excludes`` after it do not count as responses."""
    if "rescue" not in d:
        return {}
    r = _keys(d["rescue"], {"below", "excludes"}, f"arms[{arm}].rescue")
    if "below" not in r:
        raise SpecError(invalid_value(f"arms[{arm}].rescue", d["rescue"], "{below: COUNT, excludes: DURATION}"))
    out = {"rescue_below": _platelets(r["below"], f"arms[{arm}].rescue.below")}
    if "excludes" in r:
        out["rescue_excludes_days"] = _days(r["excludes"], f"arms[{arm}].rescue.excludes")
    return out


def _is_placebo(d: dict, name: str, allowed: set[str] = frozenset()) -> bool:
    """Is the arm a placebo arm (``drug: none``)? Such an arm takes no dosing keys."""
    if d.get("drug", "none") not in (None, "none", "placebo"):
        return False
    extra = set(d) - {"name", "drug", *allowed}
    if extra:
        raise SpecError(invalid_value(f"arms[{name}]", sorted(extra), "no dosing keys in a placebo arm (drug: none)"))
    return True


def _arm(d: Any, i: int) -> ArmSpec:
    d = _keys(d, _ARM, f"arms[{i}]")
    name = str(d.get("name", f"arm {i + 1}"))
    drug = d.get("drug", "none")
    if _is_placebo(d, name, allowed={"rescue"}):
        return ArmSpec(name=name, drug=None, **_rescue(d, name))
    if drug not in DRUGS:
        get_drug(str(drug))  # raises the standard unknown-drug line
    entry = get_drug(drug)
    route = d.get("route", entry.routes[0])
    check_route(entry, route)
    food = None
    if "food" in d:
        f = _keys(d["food"], {"kind", "after"}, f"arms[{name}].food")
        if f.get("kind") not in FOOD_KINDS:
            raise SpecError(unknown_name("food kind", str(f.get("kind")), FOOD_KINDS, f"arms[{name}]"))
        food = Food(kind=f["kind"], after_h=to_unit(f.get("after", "0 h"), "h", f"arms[{name}].food.after"))
    for_days = _days(d["for"], f"arms[{name}].for") if "for" in d else None
    if for_days is not None and for_days <= 0:
        raise SpecError(invalid_value(f"arms[{name}].for", d["for"], "a dosing period > 0"))
    rescue = _rescue(d, name)
    taper = None
    if "taper" in d:
        if "titration" not in d:
            raise SpecError(invalid_value(f"arms[{name}].taper", d["taper"], "a taper only in a titrated arm"))
        tp = _keys(d["taper"], {"from", "every"}, f"arms[{name}].taper")
        if "from" not in tp:
            raise SpecError(invalid_value(f"arms[{name}].taper", d["taper"], "{from: DURATION, every: DURATION}"))
        taper = (_days(tp["from"], f"arms[{name}].taper.from"), _interval(tp.get("every", "2 weeks"), name))
    if "titration" in d:
        rule = _titration(d["titration"], drug, name)
        if "every" in d:
            rule = replace(rule, every_days=_interval(d["every"], name))
        return ArmSpec(name=name, drug=drug, route=route, titration=rule, food=food, for_days=for_days, taper=taper, **rescue)
    if "dose" not in d:
        raise SpecError(invalid_value(f"arms[{name}].dose", None, "a dose with unit (e.g. '5 mg') or a titration rule"))
    value, unit = parse_dose(d["dose"], f"arms[{name}].dose")
    every = _interval(d["every"], name) if "every" in d else None
    return ArmSpec(name=name, drug=drug, dose=value, unit=unit, every_days=every, route=route, food=food, for_days=for_days,
                   **rescue)


def _interval(v: Any, arm: str) -> float:
    return check_interval(_days(v, f"arms[{arm}].every"), f"arms[{arm}].every", v)


def _endpoint(d: Any, i: int, duration: float) -> EndpointSpec:
    d = _keys(d, _END, f"endpoints[{i}]")
    if "name" not in d or "kind" not in d:
        raise SpecError(invalid_value(f"endpoints[{i}]", d, "a mapping with at least name and kind"))
    kind = d["kind"]
    if kind not in ENDPOINT_KINDS:
        raise SpecError(unknown_name("endpoint kind", str(kind), ENDPOINT_KINDS, f"endpoints[{d['name']}]"))
    kw: dict[str, Any] = {"name": str(d["name"]), "kind": kind}
    if "threshold" in d:
        kw["threshold"] = _platelets(d["threshold"], f"endpoints[{d['name']}].threshold")
    if "at" in d:
        kw["at_days"] = _days(d["at"], f"endpoints[{d['name']}].at")
        if kw["at_days"] > duration + 1e-9:
            raise SpecError(invalid_value(f"endpoints[{d['name']}].at", d["at"], "a time within the trial duration"))
    if "k" in d:
        kw["k"] = _count(d["k"], f"endpoints[{d['name']}].k")
    if "window" in d:
        w = d["window"]
        if not isinstance(w, list) or len(w) != 2:
            raise SpecError(invalid_value(f"endpoints[{d['name']}].window", w, "[start, end] durations, e.g. [18 weeks, 25 weeks]"))
        a, b = (_days(x, f"endpoints[{d['name']}].window") for x in w)
        if not a <= b:
            raise SpecError(invalid_value(f"endpoints[{d['name']}].window", w, "start <= end"))
        kw["window_days"] = (a, b)
    if "below" in d:
        kw["below"] = _platelets(d["below"], f"endpoints[{d['name']}].below")
    if "min_rise" in d:
        kw["min_rise"] = _platelets(d["min_rise"], f"endpoints[{d['name']}].min_rise")
    if "statistic" in d:
        if d["statistic"] not in ("median", "mean", "proportion"):
            raise SpecError(invalid_value(f"endpoints[{d['name']}].statistic", d["statistic"], "median | mean | proportion"))
        kw["statistic"] = d["statistic"]
    need = {"responder": ("at_days",), "responder_in_k_of_visits": ("k", "window_days"), "relapse": ("at_days",)}.get(kind, ())
    for f in need:
        if f not in kw:
            raise SpecError(invalid_value(f"endpoints[{d['name']}]", f"missing {f.replace('_days', '')}", f"'{f.replace('_days', '')}' for kind {kind}"))
    return EndpointSpec(**kw)


# --- bone trials (population kind postmenopausal_osteoporosis) -------------------------------


def _number(v: Any, field: str, lo: float, hi: float, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise SpecError(invalid_value(field, v, f"{what} in [{lo:g}, {hi:g}]"))
    return float(v)


def _bone_population(d: dict) -> BonePopulationSpec:
    from ..library.bone.fracture import DEFAULT_FRACTURE_RATES, FRACTURE_EVENTS

    d = _keys(d, _BONE_POP, "population (kind postmenopausal_osteoporosis)")
    kw: dict[str, Any] = {}
    if "baseline_t_score" in d:
        b = _keys(d["baseline_t_score"], {"mean", "sd", "min", "max"}, "population.baseline_t_score")
        for k in ("mean", "sd", "min", "max"):
            if k in b:
                lo = 0.0 if k == "sd" else -6.0
                kw[f"t_score_{k}"] = _number(b[k], f"population.baseline_t_score.{k}", lo, 4.0, "a lumbar-spine T-score" if k != "sd" else "an SD")
    if "weight_kg" in d:
        kw["weight_median_kg"] = _number(d["weight_kg"], "population.weight_kg", 30, 200, "a median body weight (kg)")
    for k in ("iiv", "measurement_error"):
        if k in d:
            if not isinstance(d[k], bool):
                raise SpecError(invalid_value(f"population.{k}", d[k], "true or false"))
            kw[k] = d[k]
    rates = dict(DEFAULT_FRACTURE_RATES)
    if "fracture_rates" in d:
        for event, v in _keys(d["fracture_rates"], set(FRACTURE_EVENTS), "population.fracture_rates").items():
            field = f"population.fracture_rates.{event}"
            if not isinstance(v, str):
                raise SpecError(invalid_value(field, v, "a rate with unit at the reference T-score -2.65, e.g. '0.058 / year'"))
            # "0.058 / year", "0.058/year" and "0.058 per year" all mean 0.058 1/year
            r = to_unit(re.sub(r"^\s*([0-9.eE+-]+)\s*(?:/|per\s)\s*", r"\1 1/", v), "1/day", field)
            if not (math.isfinite(r) and r >= 0):
                raise SpecError(invalid_value(field, v, "a rate >= 0, e.g. '0.058 / year'"))
            rates[event] = r
    return BonePopulationSpec(fracture_rates=tuple(rates.items()), **kw)


def _bone_arm(d: Any, i: int | str, where: str | None = None) -> ArmSpec:
    from ..library.bone import BoneRegimen
    from ..library.bone._simulate import BONE_DRUGS_AVAILABLE

    where = where or f"arms[{i}]"
    d = _keys(d, _BONE_ARM, where)
    name = str(d.get("name", f"arm {i + 1}" if isinstance(i, int) else i))
    drug = d.get("drug", "none")
    if _is_placebo(d, name):
        return ArmSpec(name=name, drug=None)
    if drug not in BONE_DRUGS_AVAILABLE:
        raise SpecError(unknown_name("drug of a bone trial", str(drug), BONE_DRUGS_AVAILABLE, f"arms[{name}]"))
    if "dose" not in d:
        raise SpecError(invalid_value(f"arms[{name}].dose", None, "a dose with unit, e.g. '210 mg'"))
    value, unit = parse_dose(d["dose"], f"arms[{name}].dose")
    every = _interval(d["every"], name) if "every" in d else None
    for_days = _days(d["for"], f"arms[{name}].for") if "for" in d else None
    if for_days is not None and for_days <= 0:
        raise SpecError(invalid_value(f"arms[{name}].for", d["for"], "a treatment period > 0"))
    reg = BoneRegimen(drug=drug, dose=f"{value} {unit}", route=d.get("route"))  # checks the route
    then = None
    if "then" in d:
        if for_days is None:
            raise SpecError(invalid_value(f"arms[{name}].then", d["then"], "a follow-on only after a treatment period 'for'"))
        then = _bone_arm(d["then"], f"{name} then", f"arms[{name}].then")
    return ArmSpec(name=name, drug=drug, dose=value, unit=unit, every_days=every, route=reg.route, for_days=for_days, then=then)


def _bone_endpoint(d: Any, i: int, duration: float, arm_names: list[str], pop: BonePopulationSpec) -> EndpointSpec:
    from ..library.bone.fracture import FRACTURE_EVENTS

    d = _keys(d, _BONE_END, f"endpoints[{i}]")
    if "kind" not in d:
        raise SpecError(invalid_value(f"endpoints[{i}]", d, "a mapping with at least kind (percent_change | incidence)"))
    kind = d["kind"]
    # DESIGN.md writes bone endpoints without a name: default "<output> at <at>" / "<event> by <by>"
    default = f"{d.get('output')} at {d.get('at')}" if kind == "percent_change" else f"{d.get('event', 'new_vertebral_fracture')} by {d.get('by', 'end')}"
    name = str(d.get("name", default))
    if kind not in BONE_ENDPOINT_KINDS:
        raise SpecError(unknown_name("endpoint kind of a bone trial", str(kind), BONE_ENDPOINT_KINDS, f"endpoints[{name}]"))
    kw: dict[str, Any] = {"name": name, "kind": kind, "statistic": "mean" if kind == "percent_change" else "proportion"}
    when = "at" if kind == "percent_change" else "by"
    if when not in d and kind == "percent_change":
        raise SpecError(invalid_value(f"endpoints[{name}].at", None, "a visit time, e.g. '12 months'"))
    kw["at_days"] = _days(d[when], f"endpoints[{name}].{when}") if when in d else duration
    if kw["at_days"] > duration + 1e-9:
        raise SpecError(invalid_value(f"endpoints[{name}].{when}", d[when], "a time within the trial duration"))
    other = "by" if kind == "percent_change" else "at"
    if other in d:
        raise SpecError(invalid_value(f"endpoints[{name}].{other}", d[other], f"'{when}' for kind {kind}"))
    if kind == "percent_change":
        if d.get("output") not in BONE_MEASURES:
            raise SpecError(unknown_name("output", str(d.get("output")), BONE_MEASURES, f"endpoints[{name}]"))
        kw["output"] = d["output"]
        if "statistic" in d:
            if d["statistic"] not in ("mean", "median"):
                raise SpecError(invalid_value(f"endpoints[{name}].statistic", d["statistic"], "mean | median"))
            kw["statistic"] = d["statistic"]
        if "event" in d:
            raise SpecError(invalid_value(f"endpoints[{name}].event", d["event"], "no event for kind percent_change"))
    else:
        event = d.get("event", "new_vertebral_fracture")
        if event not in FRACTURE_EVENTS:
            raise SpecError(unknown_name("event", str(event), FRACTURE_EVENTS, f"endpoints[{name}]"))
        if event not in pop.rates:
            raise SpecError(invalid_value(f"population.fracture_rates.{event}", None,
                                          "a rate with unit (no sourced default for this event), e.g. '0.01 / year'"))
        kw["event"] = event
        for k in ("output", "statistic"):
            if k in d:
                raise SpecError(invalid_value(f"endpoints[{name}].{k}", d[k], "not used by kind incidence"))
    if "vs" in d:
        if d["vs"] not in arm_names:
            raise SpecError(unknown_name("reference arm", str(d["vs"]), arm_names, f"endpoints[{name}].vs"))
        kw["vs"] = d["vs"]
    return EndpointSpec(**kw)

def _no_empty_text(x: Any, where: str = "trial spec") -> None:
    """Every text value in the spec is non-empty (``drug: ""`` is bad input, not a default)."""
    if isinstance(x, dict):
        for k, v in x.items():
            check_non_empty(k, f"{where} key")
            _no_empty_text(v, f"{where}.{k}" if where != "trial spec" else str(k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            _no_empty_text(v, f"{where}[{i}]")
    else:
        check_non_empty(x, where)


def parse_trial_spec(data: Any) -> TrialSpec:
    """Validate a spec mapping (as loaded from YAML) into a :class:`TrialSpec`."""
    _no_empty_text(data)
    d = _keys(data, _TOP, "trial spec")
    for req in ("arms", "endpoints", "duration"):
        if req not in d:
            raise SpecError(invalid_value(f"trial spec key {req!r}", None, f"a {req} entry"))
    duration = check_days(_days(d["duration"], "duration"), "duration", d["duration"])
    population = _population(d.get("population", {}))
    bone = isinstance(population, BonePopulationSpec)
    visits = d.get("visits", "1 month" if bone else "weekly")
    visit_days = 7.0 if visits == "weekly" else (1.0 if visits == "daily" else _days(visits, "visits"))
    if bone:
        check_interval(visit_days, "visits", visits)
    elif not (visit_days >= 1 and abs(visit_days - round(visit_days)) < 1e-9):
        # ITP counts are kept on a daily grid: a visit between days would be read off the next day
        raise SpecError(invalid_value("visits", visits, "weekly | daily | a whole number of days >= 1"))
    arms = d["arms"]
    if not isinstance(arms, list) or not arms:
        raise SpecError(invalid_value("arms", arms, "a non-empty list of arms"))
    arm_specs = tuple((_bone_arm if bone else _arm)(a, i) for i, a in enumerate(arms))
    names = [a.name for a in arm_specs]
    if len(set(names)) != len(names):
        raise SpecError(invalid_value("arms", names, "unique arm names"))
    eps = d["endpoints"]
    if not isinstance(eps, list) or not eps:
        raise SpecError(invalid_value("endpoints", eps, "a non-empty list of endpoints"))
    if bone:
        ep_specs = tuple(_bone_endpoint(e, i, duration, names, population) for i, e in enumerate(eps))
    else:
        ep_specs = tuple(_endpoint(e, i, duration) for i, e in enumerate(eps))
    if len({e.name for e in ep_specs}) != len(ep_specs):
        raise SpecError(invalid_value("endpoints", [e.name for e in ep_specs], "unique endpoint names"))
    spec = TrialSpec(
        name=str(d.get("name", "trial")), population=population, duration_days=duration,
        visit_days=visit_days, arms=arm_specs, endpoints=ep_specs, n=_subjects(d.get("n", 100), "n"), seed=_seed(d.get("seed", 1)),
        replicates=_replicates(d.get("replicates", 1), "replicates"),
    )
    _check_size(spec, "n")
    return spec


def _check_yaml_shape(text: str, path: str) -> None:
    """Size and nesting limits, checked on the event stream before anything is built
    (PyYAML composes nested nodes recursively: 5,000 levels would overflow the stack)."""
    if len(text.encode()) > MAX_SPEC_BYTES:
        raise SpecError(invalid_value("trial spec file", path, f"a YAML file of at most {MAX_SPEC_BYTES // 1024} KiB"))
    depth = 0
    for ev in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_SPEC_DEPTH:
                line = ev.start_mark.line + 1 if ev.start_mark else "?"
                raise SpecError(invalid_value("trial spec file", path, f"YAML nested at most {MAX_SPEC_DEPTH} levels (line {line} is deeper)"))
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def load_trial_spec(path: str) -> TrialSpec:
    """Read and validate a YAML trial spec file."""
    try:
        if os.path.getsize(path) > MAX_SPEC_BYTES:
            raise SpecError(invalid_value("trial spec file", path, f"a YAML file of at most {MAX_SPEC_BYTES // 1024} KiB"))
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        _check_yaml_shape(text, path)
        data = yaml.safe_load(text)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise SpecError(invalid_value("trial spec file", path, "an existing YAML file")) from None
    except UnicodeDecodeError:
        raise SpecError(invalid_value("trial spec file", path, "a UTF-8 text (YAML) file")) from None
    except PermissionError:
        raise SpecError(invalid_value("trial spec file", path, "a readable file")) from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        raise SpecError(invalid_value("trial spec file", path, f"valid YAML{where}")) from None
    return parse_trial_spec(data)
