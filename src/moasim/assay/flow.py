"""Flow cytometry of megakaryocytes: FCS reading, compensation, transforms, gates, ploidy.

FCS 2.0/3.0/3.1 files (any data set of multi-data-set files) are read and written by
FlowIO (White et al. 2021), through the thin adapters of :mod:`moasim.assay._fcs` for what
it gets wrong (empty FCS 2.0 keyword values, the decoded top of scale, ...); logicle and
compensation come from FlowUtils. Gates follow Gating-ML 2.0 semantics
(Spidlen et al. 2015): a rectangle includes its minimum and excludes its maximum; a polygon
is the even-odd interior of its vertices; a quadrant gate splits two dimensions at one point
into ``++``, ``+-``, ``-+``, ``--`` populations (the split value counts as positive).

DNA-content ploidy: propidium-iodide fluorescence (linear scale) is modelled as a mixture
of Gaussians at ``mu_2N * 2**k`` (2N, 4N, ..., 64N) with a common coefficient of
variation, plus a uniform debris/background component, fitted by maximum likelihood.

References
----------
Parks DR, Roederer M, Moore WA (2006) A new "Logicle" display method avoids deceptive effects
of logarithmic scaling for low signals and compensated data. Cytometry A 69:541-551.
Spidlen J et al. (2015) Data File Standard for Flow Cytometry, version FCS 3.1; and Gating-ML 2.0.
Bagwell CB, Adams EG (1993) Fluorescence spectral overlap compensation. Ann N Y Acad Sci 677:167-184.
Tomer A (2004) Human marrow megakaryocyte differentiation: multiparameter correlative analysis
identifies von Willebrand factor as a sensitive and distinctive marker (CD41/CD42b; ploidy). Blood 104:2722.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import optimize, special

from ..errors import DataError, SpecError, invalid_value, unknown_name

__all__ = [
    "FlowSample", "read_fcs", "write_fcs", "compensate", "transform", "logicle", "arcsinh",
    "RectangleGate", "PolygonGate", "QuadrantGate", "GatingStrategy", "GatingResult", "apply_gates",
    "gating_strategy_from_dict", "read_gatingml", "positivity_thresholds", "MarkerPanel", "megakaryocyte_panel",
    "PloidyResult", "fit_ploidy", "plot_flow", "PLOIDY_CLASSES",
]

PLOIDY_CLASSES: tuple[str, ...] = ("2N", "4N", "8N", "16N", "32N", "64N")


def _ro(a) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


# ----------------------------------------------------------------------------- sample I/O


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowSample:
    """Events of one FCS data set (immutable).

    ``channels`` are the $PnN short names, ``markers`` the $PnS stain labels (``''`` when
    absent); ``events`` is events x channels (float64, after $PnG/$PnE scaling); ``ranges``
    the top of scale of each channel on that decoded scale.
    """

    channels: tuple[str, ...]
    markers: tuple[str, ...]
    events: np.ndarray = field(repr=False)
    metadata: Mapping[str, str] = field(repr=False)
    version: str
    source: str = ""
    transforms: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    ranges: tuple[float, ...] = ()  # top of scale per channel after decoding ($PnE/$PnG), when known
    dataset: int = 0  # which data set of the file (0 = the first)
    n_datasets: int = 1  # how many data sets the file holds ($NEXTDATA chain)
    notes: tuple[str, ...] = ()  # repairs made while reading (offsets, empty keywords, ...)

    @property
    def n_events(self) -> int:
        return int(self.events.shape[0])

    def index(self, name: str) -> int:
        """Column of a channel, by $PnN name or $PnS marker (case-insensitive)."""
        for names in (self.channels, self.markers):
            for i, c in enumerate(names):
                if c == name:
                    return i
        low = name.lower()
        for names in (self.channels, self.markers):
            for i, c in enumerate(names):
                if c.lower() == low:
                    return i
        known = [c for c in self.channels] + [m for m in self.markers if m]
        raise SpecError(unknown_name("channel", name, known, self.source or "FCS file"))

    def column(self, name: str) -> np.ndarray:
        return self.events[:, self.index(name)]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(np.asarray(self.events), columns=list(self.channels))


def _fcs_error(path, why: str) -> DataError:
    return DataError(invalid_value("FCS file", str(path), f"a readable FCS 2.0/3.0/3.1 file ({why})"))


def read_fcs(path: str | os.PathLike, *, dataset: int = 0) -> FlowSample:
    """Read one data set of an FCS 2.0/3.0/3.1 list-mode file.

    FlowIO parses the file and decodes the values (:mod:`moasim.assay._fcs` adapts it):
    log-amplified integer channels ($PnE = f1,f2, f1 > 0) to ``f2 * 10**(f1 * x / $PnR)``,
    linear ones divided by $PnG, the time channel times $TIMESTEP. ``ranges`` holds each
    channel's top of scale *after* decoding (``f2 * 10**f1`` for log channels, ``$PnR / $PnG``
    for linear ones). Repairs of instrument quirks (an end offset one byte off, empty
    FCS 2.0 keyword values, an empty $TOT) apply to every data set and are listed in ``notes``.

    Parameters
    ----------
    path
        The ``.fcs`` (or ``.lmd``) file.
    dataset
        Index of the data set (0 = the first) in files that chain several with $NEXTDATA,
        e.g. Beckman Coulter LMD files (an FCS 2.0 and an FCS 3.0 copy of the events).
        ``n_datasets`` of the result says how many the file holds.

    Raises
    ------
    DataError
        Missing, truncated, corrupt or empty file; a keyword the DATA segment needs is
        missing or empty (the message names it).
    SpecError
        ``dataset`` outside ``0..n_datasets - 1``.
    """
    from . import _fcs

    p = str(path)
    if isinstance(dataset, bool) or not isinstance(dataset, (int, np.integer)):
        raise SpecError(invalid_value("dataset", dataset, "a data set index 0, 1, ...", p))
    if not os.path.isfile(p):
        raise DataError(invalid_value("FCS file", p, "an existing readable file"))
    try:
        fd = _fcs.read(p, int(dataset))
    except _fcs.DataSetIndexError as exc:
        raise SpecError(invalid_value("dataset", dataset, f"0..{exc.n - 1} (the file holds {exc.n} data "
                                      f"set{'s' if exc.n != 1 else ''})", p)) from None
    except _fcs.FCSFormatError as exc:
        raise _fcs_error(p, str(exc)) from None
    except (MemoryError, OSError) as exc:
        raise _fcs_error(p, f"{type(exc).__name__}: {str(exc)[:80]}") from None
    except Exception as exc:  # defensive: corrupt input must end in a DataError, never a traceback
        msg = (str(exc).splitlines() or [type(exc).__name__])[0][:100]
        raise _fcs_error(p, msg) from None
    events = fd.events
    n_ch = len(fd.channels)
    if events.ndim != 2 or events.shape[1] != n_ch or n_ch == 0:
        raise _fcs_error(p, "event matrix does not match $PAR")
    if events.shape[0] == 0:
        raise _fcs_error(p, "no events")
    chans = tuple(c.name for c in fd.channels)
    marks = tuple(c.marker for c in fd.channels)
    if len(set(chans)) != len(chans):  # $PnN must be unique (FCS 3.1); some instruments repeat them
        seen: dict[str, int] = {}
        uniq = []
        for c in chans:
            seen[c] = seen.get(c, 0) + 1
            uniq.append(c if seen[c] == 1 else f"{c}_{seen[c]}")
        chans = tuple(uniq)
    meta = dict(fd.keywords)  # FlowIO's names (lower case, '$' removed): metadata["spillover"]
    return FlowSample(channels=chans, markers=marks, events=_ro(events), metadata=MappingProxyType(meta),
                      version=fd.version, source=p, ranges=tuple(float(c.top) for c in fd.channels),
                      dataset=fd.dataset, n_datasets=fd.n_datasets, notes=fd.notes)


def write_fcs(path: str | os.PathLike, events, channels: Sequence[str], markers: Sequence[str] | None = None,
              metadata: Mapping[str, str] | None = None) -> None:
    """Write events (events x channels) as an FCS 3.1 file (FlowIO writer, float32)."""
    import flowio

    ev = np.asarray(events, dtype=float)
    if ev.ndim != 2 or ev.shape[1] != len(channels):
        raise DataError(invalid_value("events", f"shape {ev.shape}", f"events x {len(channels)} channels"))
    with open(path, "wb") as fh:
        flowio.create_fcs(fh, ev.ravel().tolist(), list(channels), opt_channel_names=list(markers) if markers else None,
                          metadata_dict=dict(metadata or {}))


# ----------------------------------------------------------------------------- compensation and transforms


def spillover_matrix(sample: FlowSample) -> pd.DataFrame | None:
    """The $SPILLOVER / SPILL / $SPILL keyword as a DataFrame (None when absent)."""
    meta = {k.lower().lstrip("$"): v for k, v in sample.metadata.items()}
    raw = meta.get("spillover") or meta.get("spill")
    if not raw:
        return None
    parts = [s.strip() for s in str(raw).split(",")]
    try:
        n = int(parts[0])
        names = parts[1:1 + n]
        vals = np.array([float(v) for v in parts[1 + n:1 + n + n * n]]).reshape(n, n)
    except (ValueError, IndexError):
        raise DataError(invalid_value("$SPILLOVER keyword", str(raw)[:60], "n, n names, n*n numbers", sample.source)) from None
    return pd.DataFrame(vals, index=names, columns=names)


def compensate(sample: FlowSample, spillover: pd.DataFrame | None = None) -> FlowSample:
    """Compensate fluorescence channels: ``X_comp = X_obs S^-1`` (Bagwell & Adams 1993).

    ``spillover`` rows/columns are channel names (detector i spills fraction ``S[i, j]``
    into detector j); by default the file's $SPILLOVER keyword.
    """
    from flowutils import compensate as fu_comp

    S = spillover if spillover is not None else spillover_matrix(sample)
    if S is None:
        raise DataError(invalid_value("spillover matrix", "(none in file)", "a $SPILLOVER keyword or an explicit matrix", sample.source))
    idx = [sample.index(str(c)) for c in S.columns]
    M = np.asarray(S, dtype=float)
    if M.shape != (len(idx), len(idx)) or not np.all(np.isfinite(M)) or abs(np.linalg.det(M)) < 1e-12:
        raise DataError(invalid_value("spillover matrix", f"shape {M.shape}", "a square, finite, invertible matrix"))
    comp = fu_comp.compensate(np.asarray(sample.events, dtype=float), M, fluoro_indices=idx)
    return replace(sample, events=_ro(comp))


def logicle(x, *, T: float = 262144.0, W: float = 0.5, M: float = 4.5, A: float = 0.0) -> np.ndarray:
    """Logicle transform (Parks et al. 2006) to [0, 1] display units (FlowUtils implementation)."""
    from flowutils import transforms

    a = np.asarray(x, dtype=float).reshape(-1, 1)
    return transforms.logicle(a, [0], t=T, m=M, w=W, a=A).ravel().reshape(np.shape(x))


def arcsinh(x, *, cofactor: float = 150.0) -> np.ndarray:
    """Inverse hyperbolic sine ``asinh(x / cofactor)`` (the usual cytometry cofactor 150 or 5 for CyTOF)."""
    if not cofactor > 0:
        raise SpecError(invalid_value("arcsinh cofactor", cofactor, "a number > 0"))
    return np.arcsinh(np.asarray(x, dtype=float) / cofactor)


def transform(sample: FlowSample, channels: Sequence[str], kind: str = "logicle", **params) -> FlowSample:
    """Return a sample with ``channels`` transformed (``'logicle'``, ``'arcsinh'`` or ``'none'``).

    Logicle's top of scale ``T`` defaults to each channel's decoded top of scale
    (``sample.ranges``: $PnR for linear channels, ``f2 * 10**f1`` for log-amplified FCS 2.0
    channels with $PnE = f1,f2; else 262144); other parameters (``W``, ``M``, ``A``;
    arcsinh ``cofactor``) pass through.
    """
    funcs = {"logicle": logicle, "arcsinh": arcsinh, "none": lambda v, **_: np.asarray(v, dtype=float)}
    if kind not in funcs:
        raise SpecError(unknown_name("transform", kind, funcs))
    ev = np.array(sample.events, dtype=float)
    done = dict(sample.transforms)
    for ch in channels:
        i = sample.index(ch)
        kw = dict(params)
        if kind == "logicle" and "T" not in kw and i < len(sample.ranges) and np.isfinite(sample.ranges[i]) and sample.ranges[i] > 1:
            kw["T"] = float(sample.ranges[i])  # top of scale of the decoded channel
        ev[:, i] = funcs[kind](ev[:, i], **kw)
        done[sample.channels[i]] = kind
    return replace(sample, events=_ro(ev), transforms=MappingProxyType(done))


# ----------------------------------------------------------------------------- gates


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
            n: {"parent": self.parents[n], "count": int(c), "percent_of_parent": _clean(self.percent_of_parent(n)),
                "percent_of_total": _clean(100.0 * c / self.n_events if self.n_events else None)}
            for n, c in self.counts.items()}}


def _clean(v):
    return float(v) if v is not None and np.isfinite(v) else None


def apply_gates(sample: FlowSample, strategy: GatingStrategy | Sequence[Gate]) -> GatingResult:
    """Apply a gating strategy; every population is its gate AND its parent population."""
    if not isinstance(strategy, GatingStrategy):
        strategy = GatingStrategy(gates=tuple(strategy))
    masks: dict[str, np.ndarray] = {}
    parents: dict[str, str | None] = {}
    for g in strategy.gates:
        base = np.ones(sample.n_events, dtype=bool) if g.parent is None else masks[g.parent]
        for name, m in g.populations(sample).items():
            masks[name] = _ro(m & base)
            parents[name] = g.parent
    counts = {n: int(m.sum()) for n, m in masks.items()}
    return GatingResult(n_events=sample.n_events, counts=MappingProxyType(counts), parents=MappingProxyType(parents),
                        masks=MappingProxyType(masks))


def _num(v, what):
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
    """
    items = obj.get("gates") if isinstance(obj, Mapping) else obj
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)) or not items:
        raise SpecError(invalid_value("gating strategy", type(items).__name__, "a non-empty list of gates"))
    gates = []
    kinds = ("rectangle", "polygon", "quadrant")
    for i, g in enumerate(items):
        where = f"gate {i + 1}"
        if not isinstance(g, Mapping):
            raise SpecError(invalid_value("gate", type(g).__name__, "a mapping with type, name, dimensions", where))
        kind = str(g.get("type", "")).lower()
        if kind not in kinds:
            raise SpecError(unknown_name("gate type", kind, kinds, where))
        name, parent = g.get("name"), g.get("parent")
        dims = g.get("dimensions")
        if not isinstance(name, str) or not name:
            raise SpecError(invalid_value("gate name", name, "a non-empty string", where))
        if not isinstance(dims, Sequence) or isinstance(dims, str) or not dims or not all(isinstance(d, str) for d in dims):
            raise SpecError(invalid_value("gate dimensions", dims, "a list of channel names", where))
        try:
            if kind == "rectangle":
                lo = g.get("min", [None] * len(dims))
                hi = g.get("max", [None] * len(dims))
                if len(lo) != len(dims) or len(hi) != len(dims):
                    raise SpecError(invalid_value("rectangle bounds", f"{lo}, {hi}", "one min and max per dimension", where))
                gates.append(RectangleGate(name=name, parent=parent, dimensions=tuple(dims),
                                           min=tuple(_num(v, "min") for v in lo), max=tuple(_num(v, "max") for v in hi)))
            elif kind == "polygon":
                v = g.get("vertices")
                if len(dims) != 2 or not isinstance(v, Sequence) or len(v) < 3 or any(len(p) != 2 for p in v):
                    raise SpecError(invalid_value("polygon", v, "2 dimensions and >= 3 [x, y] vertices", where))
                gates.append(PolygonGate(name=name, parent=parent, dimensions=(dims[0], dims[1]),
                                         vertices=tuple((_num(a, "vertex"), _num(b, "vertex")) for a, b in v)))
            else:
                s = g.get("split")
                if len(dims) != 2 or not isinstance(s, Sequence) or len(s) != 2:
                    raise SpecError(invalid_value("quadrant", s, "2 dimensions and a [x, y] split", where))
                gates.append(QuadrantGate(name=name, parent=parent, dimensions=(dims[0], dims[1]),
                                          split=(_num(s[0], "split"), _num(s[1], "split"))))
        except TypeError:
            raise SpecError(invalid_value("gate", str(dict(g))[:80], "lists of numbers for bounds/vertices/split", where)) from None
    return GatingStrategy(gates=tuple(gates))


_GML = "http://www.isac-net.org/std/Gating-ML/v2.0/gating"
_GML_DT = "http://www.isac-net.org/std/Gating-ML/v2.0/datatypes"


def read_gatingml(path: str | os.PathLike) -> GatingStrategy:
    """Read RectangleGate and PolygonGate elements of a Gating-ML 2.0 file (Spidlen et al. 2015).

    Supported: ``gating:id``, ``gating:parent_id``, ``fcs-dimension`` names, ``min``/``max``
    bounds and polygon vertices, on untransformed, uncompensated (or file-compensated) data.
    Gates that refer to a Gating-ML transformation, or other gate types (ellipsoid, quadrant,
    boolean), raise :class:`SpecError` naming the element: apply transforms with
    :func:`transform` and express those gates as data instead.
    """
    import xml.etree.ElementTree as ET

    p = str(path)
    if not os.path.isfile(p):
        raise DataError(invalid_value("Gating-ML file", p, "an existing readable file"))
    try:
        root = ET.parse(p).getroot()
    except (ET.ParseError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(invalid_value("Gating-ML file", p, f"well-formed XML ({str(exc)[:80]})")) from None
    g, dt = f"{{{_GML}}}", f"{{{_GML_DT}}}"
    gates: list = []
    by_id: dict[str, Gate] = {}
    for el in root:
        tag = el.tag.replace(g, "gating:")
        if not tag.startswith("gating:") or not tag.endswith("Gate"):
            continue
        gid = el.get(g + "id")
        if not gid:
            raise SpecError(invalid_value("Gating-ML gate id", "(missing)", "a gating:id on every gate", p))
        parent = el.get(g + "parent_id")
        dims, los, his = [], [], []
        for d in el.findall(g + "dimension"):
            if d.get(g + "transformation-ref"):
                raise SpecError(invalid_value("Gating-ML transformation-ref", d.get(g + "transformation-ref"),
                                              "gates on untransformed data (apply transforms with moasim)", f"gate {gid!r}"))
            fd = d.find(dt + "fcs-dimension")
            if fd is None or not fd.get(dt + "name"):
                raise SpecError(invalid_value("Gating-ML dimension", "(no fcs-dimension name)", "data-type:fcs-dimension with a name", f"gate {gid!r}"))
            dims.append(fd.get(dt + "name"))
            los.append(_num(d.get(g + "min"), "min"))
            his.append(_num(d.get(g + "max"), "max"))
        if tag == "gating:RectangleGate":
            gate = RectangleGate(name=gid, parent=parent, dimensions=tuple(dims), min=tuple(los), max=tuple(his))
        elif tag == "gating:PolygonGate":
            verts = []
            for v in el.findall(g + "vertex"):
                cs = [_num(c.get(dt + "value"), "vertex") for c in v.findall(g + "coordinate")]
                if len(cs) != 2 or None in cs:
                    raise SpecError(invalid_value("Gating-ML vertex", cs, "two coordinates", f"gate {gid!r}"))
                verts.append((cs[0], cs[1]))
            if len(dims) != 2 or len(verts) < 3:
                raise SpecError(invalid_value("Gating-ML polygon", f"{len(dims)} dimensions, {len(verts)} vertices",
                                              "2 dimensions and >= 3 vertices", f"gate {gid!r}"))
            gate = PolygonGate(name=gid, parent=parent, dimensions=(dims[0], dims[1]), vertices=tuple(verts))
        else:
            raise SpecError(invalid_value("Gating-ML gate type", tag, "gating:RectangleGate or gating:PolygonGate", f"gate {gid!r}"))
        by_id[gid] = gate
        gates.append(gate)
    if not gates:
        raise DataError(invalid_value("Gating-ML file", p, "at least one gating:RectangleGate or gating:PolygonGate"))
    # parents may be declared after children in Gating-ML: order topologically
    ordered, placed = [], set()
    while len(ordered) < len(gates):
        progress = False
        for gt in gates:
            if gt.name not in placed and (gt.parent is None or gt.parent in placed):
                ordered.append(gt)
                placed.add(gt.name)
                progress = True
        if not progress:
            bad = next(gt for gt in gates if gt.name not in placed)
            raise SpecError(unknown_name("parent gate", str(bad.parent), sorted(by_id), f"gate {bad.name!r}"))
    return GatingStrategy(gates=tuple(ordered))


# ----------------------------------------------------------------------------- megakaryocyte markers


def positivity_thresholds(control: FlowSample, channels: Sequence[str], quantile: float = 0.99) -> dict[str, float]:
    """Positivity cut-offs from an unstained/isotype/FMO control: the ``quantile`` of each channel."""
    if not 0 < quantile < 1:
        raise SpecError(invalid_value("quantile", quantile, "a number in (0, 1)"))
    return {c: float(np.quantile(control.column(c), quantile)) for c in channels}


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkerPanel:
    """Percent of events positive for each marker and for marker pairs (``CD41+CD61+``)."""

    n_events: int
    thresholds: Mapping[str, float]
    percent_positive: Mapping[str, float]
    counts: Mapping[str, int]

    def to_dict(self) -> dict:
        return {"n_events": self.n_events, "thresholds": dict(self.thresholds),
                "percent_positive": {k: _clean(v) for k, v in self.percent_positive.items()}, "counts": dict(self.counts)}


def megakaryocyte_panel(sample: FlowSample, thresholds: Mapping[str, float], *, within: np.ndarray | None = None,
                        pairs: Sequence[tuple[str, str]] | None = None) -> MarkerPanel:
    """Percentages of CD41+, CD61+, CD42b+ (any markers in ``thresholds``) and double positives.

    Parameters
    ----------
    thresholds
        Marker or channel -> cut-off on the sample's (possibly transformed) scale; ``value >= cut-off``
        is positive. E.g. ``{'CD41': 0.45, 'CD61': 0.45, 'CD42b': 0.5}`` or from :func:`positivity_thresholds`.
    within
        Boolean mask of the parent population (e.g. live singlets); default all events.
    pairs
        Double-positive combinations; default all pairs of ``thresholds`` in order (CD41+CD61+,
        CD41+CD42b+, CD61+CD42b+).
    """
    base = np.ones(sample.n_events, dtype=bool) if within is None else np.asarray(within, dtype=bool)
    n = int(base.sum())
    pos = {m: (sample.column(m) >= float(t)) & base for m, t in thresholds.items()}
    names = list(thresholds)
    if pairs is None:
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    counts = {f"{m}+": int(v.sum()) for m, v in pos.items()}
    for a, b in pairs:
        counts[f"{a}+{b}+"] = int((pos[a] & pos[b]).sum())
    pct = {k: (100.0 * c / n if n else float("nan")) for k, c in counts.items()}
    return MarkerPanel(n_events=n, thresholds=MappingProxyType({k: float(v) for k, v in thresholds.items()}),
                       percent_positive=MappingProxyType(pct), counts=MappingProxyType(counts))


# ----------------------------------------------------------------------------- ploidy


@dataclass(frozen=True, slots=True, kw_only=True)
class PloidyResult:
    """DNA-content mixture fit: fractions of 2N..64N among nucleated events (debris excluded)."""

    channel: str
    mu_2n: float
    cv: float
    fractions: Mapping[str, float]
    background_fraction: float
    counts: Mapping[str, int]
    n_events: int
    loglik: float
    histogram: tuple[np.ndarray, np.ndarray] = field(repr=False)
    log2_histogram: tuple[np.ndarray, np.ndarray] = field(repr=False)

    def density(self, x) -> np.ndarray:
        """Fitted mixture density (per unit of the channel) at ``x``, debris included."""
        x = np.asarray(x, dtype=float)
        w = np.array([self.fractions[c] for c in PLOIDY_CLASSES]) * (1 - self.background_fraction)
        mus = self.mu_2n * 2.0 ** np.arange(len(PLOIDY_CLASSES))
        sd = self.cv * mus
        dens = (w[None, :] * np.exp(-0.5 * ((x[..., None] - mus) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))).sum(-1)
        lo, hi = self.histogram[0][0], self.histogram[0][-1]
        return dens + self.background_fraction / (hi - lo)

    def to_dict(self) -> dict:
        return {"channel": self.channel, "mu_2n": _clean(self.mu_2n), "cv": _clean(self.cv),
                "fractions": {k: _clean(v) for k, v in self.fractions.items()},
                "background_fraction": _clean(self.background_fraction), "counts": dict(self.counts),
                "n_events": self.n_events, "mean_ploidy": _clean(sum(2 ** (i + 1) * self.fractions[c] for i, c in enumerate(PLOIDY_CLASSES)))}


def _initial_2n(x: np.ndarray) -> float:
    """Location of the 2N peak: the tallest histogram mode in the lower half of the log range."""
    lx = np.log2(x[x > 0])
    hist, edges = np.histogram(lx, bins=200)
    sm = np.convolve(hist, np.ones(5) / 5, mode="same")
    centres = 0.5 * (edges[:-1] + edges[1:])
    # 2N is the lowest prominent peak: take modes above 20% of the maximum, the leftmost one
    peaks = [i for i in range(1, sm.size - 1) if sm[i] >= sm[i - 1] and sm[i] >= sm[i + 1] and sm[i] > 0.2 * sm.max()]
    return float(2 ** centres[peaks[0] if peaks else int(np.argmax(sm))])


def fit_ploidy(sample: FlowSample, channel: str, *, within: np.ndarray | None = None, mu_2n: float | None = None,
               n_classes: int = 6) -> PloidyResult:
    """Fit the DNA-content (propidium iodide, linear scale) histogram with 2N..64N Gaussians.

    Model (per event): ``p(x) = b U(x) + (1 - b) sum_k w_k N(x; mu 2^k, (cv mu 2^k)^2)``,
    k = 0..n_classes-1, with U uniform over the data range; fitted by maximum likelihood
    (multinomial likelihood of a 1024-bin histogram; L-BFGS on log/logit/softmax parameters).

    Parameters
    ----------
    channel
        PI channel (name or marker), linear (not log-amplified) scale.
    within
        Mask of the events to use (e.g. CD41+ singlets).
    mu_2n
        Starting 2N peak location; default the lowest prominent histogram mode.
    """
    x = sample.column(channel)
    if within is not None:
        x = x[np.asarray(within, dtype=bool)]
    x = x[np.isfinite(x)]
    if x.size < 50 or np.count_nonzero(x > 0) < 50:
        raise DataError(invalid_value("DNA-content events", x.size, "at least 50 events with positive signal", channel))
    K = int(n_classes)
    if not 1 <= K <= len(PLOIDY_CLASSES):
        raise SpecError(invalid_value("n_classes", n_classes, f"1..{len(PLOIDY_CLASSES)}"))
    lo, hi = float(x.min()), float(x.max())
    span = hi - lo if hi > lo else 1.0
    m0 = float(mu_2n) if mu_2n else _initial_2n(x)
    pw = 2.0 ** np.arange(K)
    # initial weights: share of events nearest each class mean
    near = np.argmin(np.abs(np.log2(np.clip(x, 1e-12, None))[:, None] - np.log2(m0 * pw)[None, :]), axis=1)
    w0 = np.bincount(near, minlength=K) + 1.0
    z0 = np.r_[math.log(m0), special.logit(0.05), special.logit(0.02), np.log(w0 / w0.sum())]
    sqrt2pi = math.sqrt(2 * math.pi)
    # binned (multinomial) likelihood on a fine histogram: exact for the binned data, fast
    counts_h, edges_h = np.histogram(x, bins=1024, range=(lo, hi))
    keep = counts_h > 0

    def nll(z):
        mu, cv, b = math.exp(z[0]), special.expit(z[1]), special.expit(z[2])
        w = np.exp(z[3:] - special.logsumexp(z[3:]))
        means = mu * pw
        sd = cv * means
        cdf = special.ndtr((edges_h[:, None] - means[None, :]) / sd[None, :])
        pk = np.diff(cdf, axis=0) @ w  # mixture probability of each bin
        p = b * np.diff(edges_h) / span + (1 - b) * pk
        return -float(counts_h[keep] @ np.log(np.clip(p[keep], 1e-300, None)))

    with np.errstate(all="ignore"):
        res = optimize.minimize(nll, z0, method="L-BFGS-B",
                                bounds=[(z0[0] - 1.5, z0[0] + 1.5), (special.logit(0.005), special.logit(0.4)), (-12, 3)] + [(-30, 30)] * K)
    z = res.x
    mu, cv, b = math.exp(z[0]), float(special.expit(z[1])), float(special.expit(z[2]))
    w = np.exp(z[3:] - special.logsumexp(z[3:]))
    # per-event assignment to the most probable class (debris not counted)
    means = mu * pw
    sd = cv * means
    comp = np.log(w)[None, :] - np.log(sd)[None, :] - 0.5 * ((x[:, None] - means[None, :]) / sd[None, :]) ** 2
    bg = math.log(b / span) + math.log(sqrt2pi) - math.log1p(-b)
    best = np.argmax(np.column_stack([comp, np.full(x.size, bg)]), axis=1)
    counts = {PLOIDY_CLASSES[k]: int(np.count_nonzero(best == k)) for k in range(K)}
    hist, edges = np.histogram(x, bins=256, range=(lo, hi))
    xp = x[x > 0]
    lhist, ledges = np.histogram(np.log2(xp), bins=200)
    return PloidyResult(channel=channel, mu_2n=mu, cv=cv,
                        fractions=MappingProxyType({PLOIDY_CLASSES[k]: float(w[k]) for k in range(K)}),
                        background_fraction=b, counts=MappingProxyType(counts), n_events=int(x.size),
                        loglik=-float(res.fun), histogram=(_ro(edges), _ro(hist)),
                        log2_histogram=(_ro(ledges), _ro(lhist)))


# ----------------------------------------------------------------------------- plot


def plot_flow(sample: FlowSample, path: str | os.PathLike | None = None, *, x: str | None = None, y: str | None = None,
              thresholds: Mapping[str, float] | None = None, ploidy: PloidyResult | None = None, within=None):
    """Density plot of two markers with positivity lines, and the ploidy histogram with its fit."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    ncol = 1 + (ploidy is not None)
    fig, axes = plt.subplots(1, ncol, figsize=(5.2 * ncol, 4.4), squeeze=False)
    ax = axes[0, 0]
    xs = x or sample.channels[0]
    ys = y or sample.channels[min(1, len(sample.channels) - 1)]
    m = np.ones(sample.n_events, dtype=bool) if within is None else np.asarray(within, dtype=bool)
    ax.hexbin(sample.column(xs)[m], sample.column(ys)[m], gridsize=80, bins="log", cmap="viridis", mincnt=1)
    ax.set_xlabel(xs + (f" ({sample.transforms.get(sample.channels[sample.index(xs)], 'linear')})"))
    ax.set_ylabel(ys + (f" ({sample.transforms.get(sample.channels[sample.index(ys)], 'linear')})"))
    if thresholds:
        if xs in thresholds:
            ax.axvline(thresholds[xs], color="r", lw=1)
        if ys in thresholds:
            ax.axhline(thresholds[ys], color="r", lw=1)
    ax.set_title(f"{os.path.basename(sample.source) or 'sample'}: {int(m.sum())} events")
    if ploidy is not None:
        a2 = axes[0, 1]
        ledges, lhist = ploidy.log2_histogram  # display on log2 DNA content: classes equally spaced
        width = ledges[1] - ledges[0]
        a2.bar(ledges[:-1], lhist, width=width, align="edge", color="0.7")
        grid = np.linspace(ledges[0], ledges[-1], 800)
        dens = ploidy.density(2.0**grid) * 2.0**grid * math.log(2)  # density per log2 unit
        a2.plot(grid, dens * ploidy.n_events * width, color="C3")
        top = max(lhist.max(), 1)
        for k, c in enumerate(PLOIDY_CLASSES[: len(ploidy.fractions)]):
            t = math.log2(ploidy.mu_2n) + k
            if ledges[0] <= t <= ledges[-1]:
                a2.text(t, top * 1.02, f"{c}\n{100 * ploidy.fractions[c]:.1f}%", ha="center", va="bottom", fontsize=7)
        a2.set_ylim(0, top * 1.2)
        a2.set_xlabel(f"log2 {ploidy.channel} (DNA content)")
        a2.set_ylabel("events")
        a2.set_title(f"ploidy fit, CV {100 * ploidy.cv:.1f}%")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
