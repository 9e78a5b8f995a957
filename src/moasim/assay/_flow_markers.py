"""Megakaryocyte surface markers: positivity cut-offs and the CD41/CD61/CD42b panel.

Cut-offs come from a negative control (unstained, isotype or fluorescence-minus-one) as a
high quantile of each channel; an event is positive when its value is at or above the cut-off.
CD41 (integrin alpha-IIb), CD61 (integrin beta-3) and CD42b (GPIb-alpha) mark megakaryocytes
(Tomer 2004).

References
----------
Tomer A (2004) Human marrow megakaryocyte differentiation: multiparameter correlative analysis
identifies von Willebrand factor as a sensitive and distinctive marker for early (2N and 4N)
megakaryocytes. Blood 104:2722-2727.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..errors import SpecError, invalid_value
from ._flow_sample import FlowSample
from ._io import json_number

__all__ = ["positivity_thresholds", "MarkerPanel", "megakaryocyte_panel"]


def positivity_thresholds(control: FlowSample, channels: Sequence[str], quantile: float = 0.99) -> dict[str, float]:
    """Positivity cut-offs from an unstained/isotype/FMO control: the ``quantile`` of each channel.

    Parameters
    ----------
    control
        The negative control, on the same (possibly transformed) scale as the stained sample.
    channels
        Channels or markers to cut.
    quantile
        Quantile of the control taken as the cut-off, in (0, 1).

    Returns
    -------
    dict
        Channel -> cut-off, in the units of the control's scale.
    """
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
                "percent_positive": {k: json_number(v) for k, v in self.percent_positive.items()}, "counts": dict(self.counts)}


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
