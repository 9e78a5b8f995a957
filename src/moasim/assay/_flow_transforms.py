"""Flow-cytometry compensation and display transforms: spillover, logicle, arcsinh.

Compensation removes spectral overlap, ``X_comp = X_obs S^-1`` with ``S`` the spillover
matrix (Bagwell & Adams 1993); logicle (Parks et al. 2006) and compensation are computed by
FlowUtils. Transforms return new samples; the sample records which channel got which.

References
----------
Bagwell CB, Adams EG (1993) Fluorescence spectral overlap compensation for any number of flow
cytometry parameters. Ann N Y Acad Sci 677:167-184.
Parks DR, Roederer M, Moore WA (2006) A new "Logicle" display method avoids deceptive effects
of logarithmic scaling for low signals and compensated data. Cytometry A 69:541-551.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError, invalid_value, unknown_name
from ._flow_sample import FlowSample
from .._frozen import read_only

__all__ = ["spillover_matrix", "compensate", "logicle", "arcsinh", "transform"]


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

    Parameters
    ----------
    sample
        The events, on the linear (uncompensated) scale.
    spillover
        Rows/columns are channel names; detector i spills the fraction ``S[i, j]`` (unitless)
        into detector j. Default: the file's $SPILLOVER keyword.

    Returns
    -------
    FlowSample
        A new sample with the spillover channels compensated (others unchanged).
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
    return replace(sample, events=read_only(comp))


def logicle(x, *, T: float = 262144.0, W: float = 0.5, M: float = 4.5, A: float = 0.0) -> np.ndarray:
    """Logicle transform (Parks et al. 2006) to [0, 1] display units (FlowUtils implementation).

    ``T`` is the top of scale (channel units), ``W`` the linearisation width and ``M`` the
    number of decades (both in decades), ``A`` additional negative decades.
    """
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

    Parameters
    ----------
    sample
        The events.
    channels
        Channel ($PnN) or marker ($PnS) names to transform.
    kind
        ``'logicle'`` (to 0..1 display units), ``'arcsinh'`` or ``'none'``.
    **params
        Passed to :func:`logicle` (``T``, ``W``, ``M``, ``A``) or :func:`arcsinh`
        (``cofactor``). Logicle's top of scale ``T`` defaults to each channel's decoded top of
        scale (``sample.ranges``: $PnR for linear channels, ``f2 * 10**f1`` for log-amplified
        FCS 2.0 channels with $PnE = f1,f2; else 262144).

    Returns
    -------
    FlowSample
        A new sample; ``transforms`` records which channel got which transform.
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
    return replace(sample, events=read_only(ev), transforms=MappingProxyType(done))
