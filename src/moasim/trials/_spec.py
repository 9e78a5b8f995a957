"""The trial spec (YAML; DESIGN.md contract), parsed strictly into immutable objects.

Unknown keys, wrong units, negative doses and empty arms are refused with one line that
names the field, the value and what is allowed.

This module parses what every trial has (name, duration, visits, n, seed, replicates, the
lists of arms and endpoints) and the field helpers; the population kind picks the model layer
(:func:`moasim.layers.layer_for`), whose spec module parses the population, each arm and each
endpoint (:mod:`._itp_spec`, :mod:`._bone_spec`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import SpecError, invalid_value, unknown_name
from ..layers import LAYERS, THROMBOPOIESIS, Layer, layer_for
from ..limits import (MAX_REPLICATES, MAX_SPEC_BYTES, MAX_SPEC_DEPTH, MAX_SUBJECTS_PER_ARM, MAX_SUBJECTS_TOTAL, check_days,
                      check_interval, check_non_empty)
from ..units import to_unit

if TYPE_CHECKING:
    from ..population import BonePopulationSpec, PopulationSpec
    from ._bone_spec import BoneArmSpec, BoneEndpointSpec
    from ._itp_spec import ItpArmSpec, ItpEndpointSpec

__all__ = ["TrialSpec", "parse_trial_spec", "load_trial_spec"]

_TOP = {"name", "description", "population", "duration", "visits", "arms", "endpoints", "n", "seed", "replicates"}
#: population kinds of trial specs, one per model layer
_POP_KINDS = tuple(kind for layer in LAYERS for kind in layer.trial_populations)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialSpec:
    name: str
    population: PopulationSpec | BonePopulationSpec
    duration_days: float
    visit_days: float
    arms: tuple[ItpArmSpec, ...] | tuple[BoneArmSpec, ...]
    endpoints: tuple[ItpEndpointSpec, ...] | tuple[BoneEndpointSpec, ...]
    n: int = 100
    seed: int = 1
    replicates: int = 1

    def with_run_options(self, n: int | None = None, seed: int | None = None, replicates: int | None = None) -> "TrialSpec":
        new = replace(self, n=self.n if n is None else _subjects(n, "--n"), seed=self.seed if seed is None else _seed(seed),
                      replicates=self.replicates if replicates is None else _replicates(replicates, "--replicates"))
        _check_size(new, "--n" if n is not None else "n")
        return new

    @property
    def layer(self) -> Layer:
        """The model layer of the trial (from the population kind)."""
        return layer_for(population=self.population.kind)

    @property
    def visit_times(self) -> tuple[float, ...]:
        k = int(math.floor(self.duration_days / self.visit_days + 1e-9))
        return tuple(i * self.visit_days for i in range(k + 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class RegimenArm:
    """What every arm of every trial kind has: a name and a regimen (or placebo: ``drug`` None).

    ``dose`` in ``unit`` per administration, every ``every_days`` by ``route``; each trial kind's
    arm spec (:class:`~moasim.trials._itp_spec.ItpArmSpec`,
    :class:`~moasim.trials._bone_spec.BoneArmSpec`) adds its own fields.
    """

    name: str
    drug: str | None
    dose: float | None = None
    unit: str | None = None
    every_days: float | None = None
    route: str | None = None


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


#: interval words as trial specs write them (``visits: monthly``, ``every: weekly``)
PERIOD_WORDS = {"daily": "1 day", "weekly": "1 week", "fortnightly": "2 weeks", "monthly": "1 month",
                "quarterly": "3 months", "yearly": "1 year"}


def _period(v: Any, field: str) -> float:
    """An interval (day): one of :data:`PERIOD_WORDS` or a duration with unit (pint's month: 1/12 year)."""
    if isinstance(v, str) and v.strip().isalpha():
        if v.strip().lower() not in PERIOD_WORDS:
            raise SpecError(invalid_value(field, v, " | ".join(PERIOD_WORDS) + " | a duration with unit, e.g. '2 weeks'"))
        v = PERIOD_WORDS[v.strip().lower()]
    return _days(v, field)


def _days(v: Any, field: str) -> float:
    d = to_unit(v, "day", field) if not isinstance(v, (int, float)) or isinstance(v, bool) else None
    if d is None:
        raise SpecError(invalid_value(field, v, "a duration with unit, e.g. '6 weeks'"))
    if d < 0:
        raise SpecError(invalid_value(field, v, "a duration >= 0"))
    return d


def _is_placebo(d: dict, name: str, allowed: set[str] = frozenset()) -> bool:
    """Is the arm a placebo arm (``drug: none``)? Such an arm takes no dosing keys. A drug that
    is not one name (a list, a mapping, a number) is refused here, for every trial kind."""
    drug = d.get("drug", "none")
    if drug is not None and not isinstance(drug, str):
        raise SpecError(invalid_value(f"arms[{name}].drug", drug, "one drug name (moasim drugs), or none for placebo"))
    if drug not in (None, "none", "placebo"):
        return False
    extra = set(d) - {"name", "drug", *allowed}
    if extra:
        raise SpecError(invalid_value(f"arms[{name}]", sorted(extra), "no dosing keys in a placebo arm (drug: none)"))
    return True


def _interval(v: Any, arm: str) -> float:
    return check_interval(_period(v, f"arms[{arm}].every"), f"arms[{arm}].every", v)


def _number(v: Any, field: str, lo: float, hi: float, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise SpecError(invalid_value(field, v, f"{what} in [{lo:g}, {hi:g}]"))
    return float(v)


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


def _population(d: Any) -> tuple[PopulationSpec | BonePopulationSpec, ModuleType]:
    """The population (parsed by its layer's spec module) and that module, which parses the arms and endpoints."""
    if not isinstance(d, dict):
        raise SpecError(invalid_value("population", d, "a mapping"))
    kind = d.get("kind", THROMBOPOIESIS.trial_populations[0])
    if kind not in _POP_KINDS:
        raise SpecError(unknown_name("population kind", str(kind), _POP_KINDS))
    module = layer_for(population=kind).load("trial_spec")
    return module.parse_population(d), module


def _check_visits_in_windows(endpoints, visit_days: float) -> None:
    """An endpoint that needs k visits in a window must have at least k visits there (else it is 0 by construction)."""
    for e in endpoints:
        k, w = getattr(e, "k", None), getattr(e, "window_days", None)
        if k and w:
            n = sum(1 for j in range(1, int(w[1] / visit_days + 1e-9) + 1) if w[0] - 1e-9 <= j * visit_days <= w[1] + 1e-9)
            if k > n:
                raise SpecError(invalid_value(f"endpoints[{e.name}].k", k, f"at most the {n} visits in the window"))


def parse_trial_spec(data: Any) -> TrialSpec:
    """Validate a spec mapping (as loaded from YAML) into a :class:`TrialSpec`."""
    _no_empty_text(data)
    d = _keys(data, _TOP, "trial spec")
    for req in ("arms", "endpoints", "duration"):
        if req not in d:
            raise SpecError(invalid_value(f"trial spec key {req!r}", None, f"a {req} entry"))
    duration = check_days(_days(d["duration"], "duration"), "duration", d["duration"])
    population, layer_spec = _population(d.get("population", {}))
    visits = d.get("visits", layer_spec.DEFAULT_VISITS)
    visit_days = _period(visits, "visits")
    layer_spec.check_visits(visit_days, visits)
    if visit_days > duration + 1e-9:  # no visit after baseline: every endpoint would be 0 without a word
        raise SpecError(invalid_value("visits", visits, f"an interval no longer than the duration ({d['duration']})"))
    arms = d["arms"]
    if not isinstance(arms, list) or not arms:
        raise SpecError(invalid_value("arms", arms, "a non-empty list of arms"))
    arm_specs = tuple(layer_spec.parse_arm(a, i) for i, a in enumerate(arms))
    names = [a.name for a in arm_specs]
    if len(set(names)) != len(names):
        raise SpecError(invalid_value("arms", names, "unique arm names"))
    eps = d["endpoints"]
    if not isinstance(eps, list) or not eps:
        raise SpecError(invalid_value("endpoints", eps, "a non-empty list of endpoints"))
    ep_specs = tuple(layer_spec.parse_endpoint(e, i, duration, names, population) for i, e in enumerate(eps))
    if len({e.name for e in ep_specs}) != len(ep_specs):
        raise SpecError(invalid_value("endpoints", [e.name for e in ep_specs], "unique endpoint names"))
    _check_visits_in_windows(ep_specs, visit_days)
    name = d.get("name", "trial")
    if not isinstance(name, (str, int, float)) or isinstance(name, bool) or not str(name).strip():
        raise SpecError(invalid_value("name", name, "a non-empty trial name"))
    spec = TrialSpec(
        name=str(name), population=population, duration_days=duration,
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
