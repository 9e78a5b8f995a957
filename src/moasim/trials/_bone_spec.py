"""Bone trial specs (population kind ``postmenopausal_osteoporosis`` or ``male_osteoporosis``): population, arms and endpoints.

The shared top level (name, duration, visits, n, seed, ...) is parsed by
:func:`moasim.trials.parse_trial_spec`, which hands the parts below to this module for a
bone population (:data:`moasim.layers.BONE`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..dosing import parse_dose
from ..errors import SpecError, invalid_value, unknown_name
from ..layers import BONE
from ..limits import check_interval
from ..population import BonePopulationSpec
from ..population._bone import default_fracture_rates
from ..units import to_unit
from ._endpoints import BONE_ENDPOINT_KINDS, BONE_MEASURES
from ._spec import RegimenArm, _days, _interval, _is_placebo, _keys, _number

__all__ = ["BoneArmSpec", "BoneEndpointSpec", "parse_population", "parse_arm", "parse_endpoint", "check_visits", "DEFAULT_VISITS"]

_BONE_POP = {"kind", "baseline_t_score", "weight_kg", "iiv", "measurement_error", "fracture_rates"}
_BONE_ARM = {"name", "drug", "dose", "every", "route", "for", "then"}
_BONE_END = {"name", "kind", "output", "at", "statistic", "vs", "event", "by"}
#: visits of a bone trial unless the spec says otherwise
DEFAULT_VISITS = "1 month"


@dataclass(frozen=True, slots=True, kw_only=True)
class BoneArmSpec(RegimenArm):
    """One arm of a bone trial: a regimen (or placebo), optionally for a period and then a follow-on."""

    for_days: float | None = None  # treatment period (doses stop after it, or the follow-on starts)
    then: "BoneArmSpec | None" = None  # the follow-on treatment once ``for`` has ended (sequencing)


@dataclass(frozen=True, slots=True, kw_only=True)
class BoneEndpointSpec:
    """One endpoint of a bone trial: a measured % change or a fracture incidence, optionally versus another arm."""

    name: str
    kind: str
    at_days: float | None = None
    statistic: str = "proportion"
    output: str | None = None  # percent_change: bmd_lumbar_spine | bmd_total_hip | bmd_femoral_neck | p1np | ctx
    event: str | None = None  # incidence: new_vertebral_fracture | hip_fracture (counted up to at_days)
    vs: str | None = None  # reference arm (difference of percent changes, ratio of incidences)


def check_visits(visit_days: float, visits: Any) -> None:
    """Any visit interval the limits allow."""
    check_interval(visit_days, "visits", visits)


def parse_population(d: dict) -> BonePopulationSpec:
    """The ``population:`` block of kind ``postmenopausal_osteoporosis`` or ``male_osteoporosis``."""
    from ..library.bone.fracture import FRACTURE_EVENTS

    kind = d.get("kind", BONE.trial_populations[0])
    d = _keys(d, _BONE_POP, f"population (kind {kind})")
    kw: dict[str, Any] = {"kind": kind}
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
    rates = default_fracture_rates(kind)
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


def parse_arm(d: Any, i: int | str, where: str | None = None) -> BoneArmSpec:
    """Entry ``i`` of ``arms:`` (or the follow-on ``then`` of arm ``i``, at ``where``)."""
    from ..library.bone import BoneRegimen

    where = where or f"arms[{i}]"
    d = _keys(d, _BONE_ARM, where)
    name = str(d.get("name", f"arm {i + 1}" if isinstance(i, int) else i))
    drug = d.get("drug", "none")
    if _is_placebo(d, name):
        return BoneArmSpec(name=name, drug=None)
    if drug not in BONE.drugs:
        raise SpecError(unknown_name("drug of a bone trial", str(drug), BONE.drugs, f"arms[{name}]"))
    if "dose" not in d:
        raise SpecError(invalid_value(f"arms[{name}].dose", None, "a dose with unit, e.g. '210 mg'"))
    value, unit = parse_dose(d["dose"], f"arms[{name}].dose")
    every = _interval(d["every"], name) if "every" in d else None
    for_days = _days(d["for"], f"arms[{name}].for") if "for" in d else None
    if for_days is not None and for_days <= 0:
        raise SpecError(invalid_value(f"arms[{name}].for", d["for"], "a treatment period > 0"))
    if for_days is not None and every is None and "then" not in d:  # one dose: the period changed nothing
        raise SpecError(invalid_value(f"arms[{name}].for", d["for"], "a treatment period of repeated doses (with every) "
                                                                     "or before a follow-on (then)"))
    reg = BoneRegimen(drug=drug, dose=f"{value} {unit}", route=d.get("route"))  # checks the route
    then = None
    if "then" in d:
        if for_days is None:
            raise SpecError(invalid_value(f"arms[{name}].then", d["then"], "a follow-on only after a treatment period 'for'"))
        then = parse_arm(d["then"], f"{name} then", f"arms[{name}].then")
    return BoneArmSpec(name=name, drug=drug, dose=value, unit=unit, every_days=every, route=reg.route, for_days=for_days, then=then)


def parse_endpoint(d: Any, i: int, duration: float, arm_names: list[str], population: BonePopulationSpec) -> BoneEndpointSpec:
    """Entry ``i`` of ``endpoints:``; ``vs`` must name one of ``arm_names``, an incidence event needs a rate in ``population``."""
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
        if event not in population.rates:
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
    return BoneEndpointSpec(**kw)
