"""Flow-cytometry gates and gating strategies (Gating-ML 2.0 semantics) as data.

A rectangle includes its minimum and excludes its maximum; a polygon is the even-odd interior
of its vertices (FlowUtils); a quadrant gate splits two dimensions at one point into ``++``,
``+-``, ``-+``, ``--`` populations (the split value counts as positive). A strategy is an
ordered hierarchy: every population is its gate AND its parent population. Strategies are
built from plain data (:func:`gating_strategy_from_dict`) or read from Gating-ML 2.0 files
(:mod:`._flow_gatingml`).

References
----------
Spidlen J, Moore W, ISAC Data Standards Task Force, Brinkman RR (2015) ISAC's Gating-ML 2.0 data
exchange standard for gating description. Cytometry A 87:683-687.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..errors import SpecError, invalid_value, unknown_name
from ._flow_sample import FlowSample
from .._frozen import read_only
from ._io import json_number

__all__ = ["RectangleGate", "PolygonGate", "QuadrantGate", "Gate", "GatingStrategy", "GatingResult", "apply_gates",
           "gating_strategy_from_dict"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RectangleGate:
    """``min <= x < max`` in each dimension (``None``: unbounded); Gating-ML 2.0 RectangleGate."""

    name: str
    dimensions: tuple[str, ...]
    min: tuple[float | None, ...]
    max: tuple[float | None, ...]
    parent: str | None = None

    def contains(self, sample: FlowSample) -> np.ndarray:
        m = np.ones(sample.n_events, dtype=bool)
        for d, lo, hi in zip(self.dimensions, self.min, self.max):
            v = sample.column(d)
            if lo is not None:
                m &= v >= lo
            if hi is not None:
                m &= v < hi
        return m

    def populations(self, sample: FlowSample) -> dict[str, np.ndarray]:
        return {self.name: self.contains(sample)}


@dataclass(frozen=True, slots=True, kw_only=True)
class PolygonGate:
    """Events inside a polygon in two dimensions (even-odd rule); Gating-ML 2.0 PolygonGate."""

    name: str
    dimensions: tuple[str, str]
    vertices: tuple[tuple[float, float], ...]
    parent: str | None = None

    def contains(self, sample: FlowSample) -> np.ndarray:
        from flowutils import gating

        pts = np.column_stack([sample.column(self.dimensions[0]), sample.column(self.dimensions[1])])
        return np.asarray(gating.points_in_polygon(np.asarray(self.vertices, dtype=float), pts), dtype=bool)

    def populations(self, sample: FlowSample) -> dict[str, np.ndarray]:
        return {self.name: self.contains(sample)}


@dataclass(frozen=True, slots=True, kw_only=True)
class QuadrantGate:
    """Split two dimensions at ``(x_split, y_split)``; populations ``NAME:X+Y+`` etc. (split value is ``+``)."""

    name: str
    dimensions: tuple[str, str]
    split: tuple[float, float]
    parent: str | None = None

    def quadrant_names(self) -> tuple[str, ...]:
        x, y = self.dimensions
        return tuple(f"{self.name}:{x}{sx}{y}{sy}" for sx in "+-" for sy in "+-")

    def populations(self, sample: FlowSample) -> dict[str, np.ndarray]:
        xp = sample.column(self.dimensions[0]) >= self.split[0]
        yp = sample.column(self.dimensions[1]) >= self.split[1]
        names = self.quadrant_names()
        return {names[0]: xp & yp, names[1]: xp & ~yp, names[2]: ~xp & yp, names[3]: ~xp & ~yp}


Gate = RectangleGate | PolygonGate | QuadrantGate


@dataclass(frozen=True, slots=True, kw_only=True)
class GatingStrategy:
    """An ordered gating hierarchy as data; each gate's ``parent`` is a population name (None = all events)."""

    gates: tuple[Gate, ...]

    def __post_init__(self):
        seen: set[str] = set()
        for g in self.gates:
            if g.parent is not None and g.parent not in seen:
                raise SpecError(unknown_name("parent population", g.parent, sorted(seen) or ["(none yet)"], f"gate {g.name!r}"))
            names = g.quadrant_names() if isinstance(g, QuadrantGate) else (g.name,)
            for n in names:
                if n in seen:
                    raise SpecError(invalid_value("gate name", n, "unique population names"))
                seen.add(n)


@dataclass(frozen=True, slots=True, kw_only=True)
class GatingResult:
    """Event counts and percentages per population (immutable)."""

    n_events: int
    counts: Mapping[str, int]
    parents: Mapping[str, str | None]
    masks: Mapping[str, np.ndarray] = field(repr=False)

    def percent_of_parent(self, name: str) -> float:
        par = self.parents[name]
        d = self.n_events if par is None else self.counts[par]
        return 100.0 * self.counts[name] / d if d else float("nan")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"population": n, "parent": self.parents[n], "count": c,
                              "percent_of_parent": self.percent_of_parent(n),
                              "percent_of_total": 100.0 * c / self.n_events if self.n_events else float("nan")}
                             for n, c in self.counts.items()])

    def to_dict(self) -> dict:
        return {"n_events": self.n_events, "populations": {
            n: {"parent": self.parents[n], "count": int(c), "percent_of_parent": json_number(self.percent_of_parent(n)),
                "percent_of_total": json_number(100.0 * c / self.n_events if self.n_events else None)}
            for n, c in self.counts.items()}}


def apply_gates(sample: FlowSample, strategy: GatingStrategy | Sequence[Gate]) -> GatingResult:
    """Apply a gating strategy; every population is its gate AND its parent population.

    Parameters
    ----------
    sample
        The events, on the scale the gates were drawn on (raw or transformed).
    strategy
        A :class:`GatingStrategy` or its gates in order (parents before children).

    Returns
    -------
    GatingResult
        Event counts, parents and masks per population.
    """
    if not isinstance(strategy, GatingStrategy):
        strategy = GatingStrategy(gates=tuple(strategy))
    masks: dict[str, np.ndarray] = {}
    parents: dict[str, str | None] = {}
    for g in strategy.gates:
        base = np.ones(sample.n_events, dtype=bool) if g.parent is None else masks[g.parent]
        for name, m in g.populations(sample).items():
            masks[name] = read_only(m & base)
            parents[name] = g.parent
    counts = {n: int(m.sum()) for n, m in masks.items()}
    return GatingResult(n_events=sample.n_events, counts=MappingProxyType(counts), parents=MappingProxyType(parents),
                        masks=MappingProxyType(masks))


def _num(v, what):
    """A gate coordinate as a finite float (``None`` stays ``None``: unbounded)."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise SpecError(invalid_value(what, v, "a number or null")) from None
    if not math.isfinite(f):
        raise SpecError(invalid_value(what, v, "a finite number or null"))
    return f


def gating_strategy_from_dict(obj: Mapping | Sequence) -> GatingStrategy:
    """Build a strategy from plain data (JSON/YAML), e.g.::

        gates:
          - {type: rectangle, name: cells, dimensions: [FSC-A, SSC-A], min: [20000, null], max: [null, 200000]}
          - {type: polygon, name: singlets, parent: cells, dimensions: [FSC-A, FSC-H], vertices: [[0,0],[1,0],[1,1]]}
          - {type: quadrant, name: mk, parent: singlets, dimensions: [CD41, CD42b], split: [0.4, 0.4]}

    Bounds, vertices and splits are on the scale gated (raw channel units, or the display
    units of a transformed channel).
    """
    items = obj.get("gates") if isinstance(obj, Mapping) else obj
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)) or not items:
        raise SpecError(invalid_value("gating strategy", type(items).__name__, "a non-empty list of gates"))
    return GatingStrategy(gates=tuple(_gate_from_dict(g, f"gate {i + 1}") for i, g in enumerate(items)))


_GATE_TYPES = ("rectangle", "polygon", "quadrant")
#: keys each gate type reads (any other key, e.g. a misspelt ``parnet``, is refused, not ignored)
_GATE_KEYS = {"rectangle": {"type", "name", "parent", "dimensions", "min", "max"},
              "polygon": {"type", "name", "parent", "dimensions", "vertices"},
              "quadrant": {"type", "name", "parent", "dimensions", "split"}}


def _gate_from_dict(g, where: str) -> Gate:
    """One gate of :func:`gating_strategy_from_dict`; ``where`` names it in error messages."""
    if not isinstance(g, Mapping):
        raise SpecError(invalid_value("gate", type(g).__name__, "a mapping with type, name, dimensions", where))
    kind = str(g.get("type", "")).lower()
    if kind not in _GATE_TYPES:
        raise SpecError(unknown_name("gate type", kind, _GATE_TYPES, where))
    unknown = sorted(set(map(str, g)) - _GATE_KEYS[kind])
    if unknown:
        raise SpecError(unknown_name(f"key of a {kind} gate", unknown[0], sorted(_GATE_KEYS[kind]), where))
    name, parent = g.get("name"), g.get("parent")
    dims = g.get("dimensions")
    if not isinstance(name, str) or not name:
        raise SpecError(invalid_value("gate name", name, "a non-empty string", where))
    if not isinstance(dims, Sequence) or isinstance(dims, str) or not dims or not all(isinstance(d, str) for d in dims):
        raise SpecError(invalid_value("gate dimensions", dims, "a list of channel names", where))
    build = {"rectangle": _rectangle, "polygon": _polygon, "quadrant": _quadrant}[kind]
    try:
        return build(g, name, parent, dims, where)
    except TypeError:
        raise SpecError(invalid_value("gate", str(dict(g))[:80], "lists of numbers for bounds/vertices/split", where)) from None


def _rectangle(g: Mapping, name: str, parent: str | None, dims: Sequence[str], where: str) -> RectangleGate:
    lo = g.get("min", [None] * len(dims))
    hi = g.get("max", [None] * len(dims))
    if len(lo) != len(dims) or len(hi) != len(dims):
        raise SpecError(invalid_value("rectangle bounds", f"{lo}, {hi}", "one min and max per dimension", where))
    lo, hi = tuple(_num(v, "min") for v in lo), tuple(_num(v, "max") for v in hi)
    for d, a, b in zip(dims, lo, hi):
        if a is not None and b is not None and a >= b:
            raise SpecError(invalid_value(f"rectangle bounds of {d}", f"min {a:g}, max {b:g}", "min < max (or null: unbounded)", where))
    return RectangleGate(name=name, parent=parent, dimensions=tuple(dims), min=lo, max=hi)


def _polygon(g: Mapping, name: str, parent: str | None, dims: Sequence[str], where: str) -> PolygonGate:
    v = g.get("vertices")
    if len(dims) != 2 or not isinstance(v, Sequence) or len(v) < 3 or any(len(p) != 2 for p in v):
        raise SpecError(invalid_value("polygon", v, "2 dimensions and >= 3 [x, y] vertices", where))
    return PolygonGate(name=name, parent=parent, dimensions=(dims[0], dims[1]),
                       vertices=tuple((_num(a, "vertex"), _num(b, "vertex")) for a, b in v))


def _quadrant(g: Mapping, name: str, parent: str | None, dims: Sequence[str], where: str) -> QuadrantGate:
    s = g.get("split")
    if len(dims) != 2 or not isinstance(s, Sequence) or len(s) != 2:
        raise SpecError(invalid_value("quadrant", s, "2 dimensions and a [x, y] split", where))
    return QuadrantGate(name=name, parent=parent, dimensions=(dims[0], dims[1]),
                        split=(_num(s[0], "split"), _num(s[1], "split")))
