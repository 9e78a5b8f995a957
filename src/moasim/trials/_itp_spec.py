"""ITP trial specs (population kind ``itp``): population, arms and endpoints.

The shared top level (name, duration, visits, n, seed, ...) is parsed by
:func:`moasim.trials.parse_trial_spec`, which hands the parts below to this module for an ITP
population (:data:`moasim.layers.THROMBOPOIESIS`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from ..dosing import TitrationRule, get_rule, parse_dose
from ..errors import SpecError, invalid_value, unknown_name
from ..library.drugs import DRUGS, FOOD_KINDS, Food, check_route, get_drug
from ..limits import check_interval
from ..population import PopulationSpec
from ..units import convert, to_unit
from ._endpoints import ENDPOINT_KINDS
from ._spec import RegimenArm, _count, _days, _interval, _period, _is_placebo, _keys, _number

__all__ = ["ItpArmSpec", "ItpEndpointSpec", "parse_population", "parse_arm", "parse_endpoint", "check_visits", "DEFAULT_VISITS",
           "RESCUE_EXCLUDES_DAYS"]

_POP = {"kind", "baseline_platelets", "east_asian", "female", "splenectomy", "corticosteroids", "non_responder", "weight_kg", "iiv",
        "residual_sd", "fluctuation", "prior_therapies"}
_ARM = {"name", "drug", "dose", "every", "route", "titration", "food", "for", "rescue", "taper"}
_TIT = {"rule", "start", "levels", "increase_below", "increase_interval", "decrease_above", "decrease_consecutive", "hold_above", "resume_below", "visit_every"}
_END = {"name", "kind", "threshold", "min_rise", "at", "k", "window", "statistic", "below"}
#: visits of an ITP trial unless the spec says otherwise
DEFAULT_VISITS = "weekly"
#: Counts within this time after rescue therapy do not count as responses (default of
#: ``rescue: {excludes}``): 8 weeks, the rule of the romiplostim pivotal trials' durable-response
#: definition as commonly summarised (U: not read in the protocol here; set it to your protocol's).
RESCUE_EXCLUDES_DAYS = 56.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ItpArmSpec(RegimenArm):
    """One arm of an ITP trial: a fixed regimen or a titration rule (or placebo), with rescue therapy."""

    titration: TitrationRule | None = None
    food: Food | None = None
    for_days: float | None = None  # dosing period (doses stop after it: withdrawal)
    rescue_below: float | None = None  # rescue therapy when the measured count is below this
    rescue_excludes_days: float = RESCUE_EXCLUDES_DAYS  # visits this long after a rescue do not count as responses
    taper: tuple[float, float] | None = None  # (from day, every days): titrated arms step down one level, then stop


@dataclass(frozen=True, slots=True, kw_only=True)
class ItpEndpointSpec:
    """One endpoint of an ITP trial, computed from platelet counts at visits (:mod:`moasim.trials._endpoints`)."""

    name: str
    kind: str
    threshold: float = 50.0
    at_days: float | None = None
    k: int | None = None
    window_days: tuple[float, float] | None = None
    statistic: str = "proportion"
    below: float | None = None  # relapse: count below this after responding (default: threshold)
    min_rise: float = 0.0  # a response also needs count - baseline count >= min_rise (Bussel 2014: >= 20 above baseline)


def check_visits(visit_days: float, visits: Any) -> None:
    """ITP counts are kept on a daily grid: a visit between days would be read off the next day."""
    if not (visit_days >= 1 and abs(visit_days - round(visit_days)) < 1e-9):
        raise SpecError(invalid_value("visits", visits, "weekly | daily | a whole number of days >= 1"))


def _fraction(v: Any, field: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
        raise SpecError(invalid_value(field, v, "a fraction in [0, 1]"))
    return float(v)


def _platelets(v: Any, field: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise SpecError(invalid_value(field, v, "a platelet count >= 0 (x10^9/L)"))
    return float(v)


#: ITP is a platelet count < 100 x10^9/L (Rodeghiero 2009 Blood 113:2386, the IWG definition)
ITP_MAX_COUNT = 100.0


def parse_population(d: dict) -> PopulationSpec:
    """The ``population:`` block of kind ``itp``."""
    d = _keys(d, _POP, "population (kind itp)")
    kw: dict[str, Any] = {"kind": "itp"}
    if "baseline_platelets" in d:
        b = _keys(d["baseline_platelets"], {"min", "max", "median"}, "population.baseline_platelets")
        for k, f in (("min", "baseline_min"), ("max", "baseline_max"), ("median", "baseline_median")):
            if k in b:
                kw[f] = _platelets(b[k], f"population.baseline_platelets.{k}")
        if kw.get("baseline_min", 0.0) >= ITP_MAX_COUNT:
            raise SpecError(invalid_value("population.baseline_platelets.min", b["min"],
                                          f"a count < {ITP_MAX_COUNT:g} x10^9/L (ITP is a count below 100, Rodeghiero 2009)"))
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
        kw["levels"] = tuple(sorted(convert(v, u, rule.unit, "titration level") for v, u in vals))
    if "start" in d:
        v, u = parse_dose(d["start"], f"arms[{arm}].titration.start")
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
        kw["visit_days"] = _period(d["visit_every"], f"arms[{arm}].titration.visit_every")
    new = replace(rule, name=f"{rule.name} (modified)" if kw else rule.name, **kw)
    if not new.increase_below < new.decrease_above <= new.hold_above or not new.resume_below <= new.hold_above:
        # the rule checks hold, then decrease, then increase: out of this order one branch is dead
        given = {k: getattr(new, k) for k in ("increase_below", "decrease_above", "hold_above", "resume_below")}
        raise SpecError(invalid_value(f"arms[{arm}].titration", given,
                                      "increase_below < decrease_above <= hold_above and resume_below <= hold_above"))
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


def parse_arm(d: Any, i: int) -> ItpArmSpec:
    """Entry ``i`` of ``arms:``."""
    d = _keys(d, _ARM, f"arms[{i}]")
    name = str(d.get("name", f"arm {i + 1}"))
    drug = d.get("drug", "none")
    if _is_placebo(d, name, allowed={"rescue"}):
        return ItpArmSpec(name=name, drug=None, **_rescue(d, name))
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
        if route != "oral" or food.kind not in entry.food_parameters:  # a meal the model cannot apply: refused, not ignored
            modelled = ", ".join(entry.food_parameters) if route == "oral" and entry.food_parameters else "none"
            raise SpecError(invalid_value(f"arms[{name}].food.kind", food.kind,
                                          f"a meal with a modelled effect on {drug} ({route}): {modelled}"))
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
        tit = d["titration"]
        if "dose" in d:  # the titration's start dose, as `moasim simulate --titration label --dose` reads it
            tit = {"rule": "label"} if tit == "label" else tit
            if isinstance(tit, dict) and "start" in tit:
                raise SpecError(invalid_value(f"arms[{name}].dose", d["dose"], "either dose (the start of the titration) or "
                                                                               "titration.start, not both"))
            if isinstance(tit, dict):
                tit = {**tit, "start": d["dose"]}
        rule = _titration(tit, drug, name)
        if "every" in d:
            rule = replace(rule, every_days=_interval(d["every"], name))
        return ItpArmSpec(name=name, drug=drug, route=route, titration=rule, food=food, for_days=for_days, taper=taper, **rescue)
    if "dose" not in d:
        raise SpecError(invalid_value(f"arms[{name}].dose", None, "a dose with unit (e.g. '5 mg') or a titration rule"))
    value, unit = parse_dose(d["dose"], f"arms[{name}].dose")
    every = _interval(d["every"], name) if "every" in d else None
    if for_days is not None and every is None:  # one dose: the period changed nothing
        raise SpecError(invalid_value(f"arms[{name}].for", d["for"], "a dosing period of repeated doses (with every)"))
    return ItpArmSpec(name=name, drug=drug, dose=value, unit=unit, every_days=every, route=route, food=food, for_days=for_days,
                      **rescue)


#: the keys each endpoint kind uses besides name and kind (a key another kind uses is refused,
#: not ignored); ``statistic`` only where there is a choice (proportion kinds are proportions)
_RESPONSE = ("threshold", "min_rise")
_KIND_KEYS = {"responder": (*_RESPONSE, "at"), "ever_responder": _RESPONSE, "time_to_first_response": (*_RESPONSE, "statistic"),
              "responder_in_k_of_visits": (*_RESPONSE, "k", "window"), "cumulative_weeks": (*_RESPONSE, "statistic"),
              "relapse": (*_RESPONSE, "at", "below"), "rescue_use": ()}
_STATISTICS = {"time_to_first_response": ("median", "mean"), "cumulative_weeks": ("median", "mean")}


def parse_endpoint(d: Any, i: int, duration: float, arm_names: list[str], population: PopulationSpec) -> ItpEndpointSpec:
    """Entry ``i`` of ``endpoints:`` (``arm_names`` and ``population`` are not needed by ITP endpoints)."""
    d = _keys(d, _END, f"endpoints[{i}]")
    if "name" not in d or "kind" not in d:
        raise SpecError(invalid_value(f"endpoints[{i}]", d, "a mapping with at least name and kind"))
    kind = d["kind"]
    if kind not in ENDPOINT_KINDS:
        raise SpecError(unknown_name("endpoint kind", str(kind), ENDPOINT_KINDS, f"endpoints[{d['name']}]"))
    foreign = sorted(set(d) - {"name", "kind", *_KIND_KEYS[kind]})
    if foreign:
        key = foreign[0]
        raise SpecError(invalid_value(f"endpoints[{d['name']}].{key}", d[key],
                                      f"no {key} for kind {kind} (it takes {', '.join(_KIND_KEYS[kind]) or 'no other keys'})"))
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
        if b > duration + 1e-9:
            raise SpecError(invalid_value(f"endpoints[{d['name']}].window", w, "a window within the trial duration"))
        kw["window_days"] = (a, b)
    if "below" in d:
        kw["below"] = _platelets(d["below"], f"endpoints[{d['name']}].below")
    if "min_rise" in d:
        kw["min_rise"] = _platelets(d["min_rise"], f"endpoints[{d['name']}].min_rise")
    if "statistic" in d:
        if d["statistic"] not in _STATISTICS[kind]:
            raise SpecError(invalid_value(f"endpoints[{d['name']}].statistic", d["statistic"], " | ".join(_STATISTICS[kind])))
        kw["statistic"] = d["statistic"]
    need = {"responder": ("at_days",), "responder_in_k_of_visits": ("k", "window_days"), "relapse": ("at_days",)}.get(kind, ())
    for f in need:
        if f not in kw:
            raise SpecError(invalid_value(f"endpoints[{d['name']}]", f"missing {f.replace('_days', '')}", f"'{f.replace('_days', '')}' for kind {kind}"))
    return ItpEndpointSpec(**kw)
