"""DNA-content ploidy of megakaryocytes: 2N..64N classes from propidium-iodide fluorescence.

PI fluorescence (linear scale) is modelled as a mixture of Gaussians at ``mu_2N * 2**k``
(2N, 4N, ..., 64N) with a common coefficient of variation, plus a uniform debris/background
component, fitted by maximum likelihood on a fine histogram of the events.

References
----------
Tomer A (2004) Human marrow megakaryocyte differentiation: multiparameter correlative analysis
identifies von Willebrand factor as a sensitive and distinctive marker for early (2N and 4N)
megakaryocytes. Blood 104:2722-2727.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from scipy import optimize, special

from ..errors import DataError, SpecError, invalid_value
from ._flow_sample import FlowSample
from .._frozen import read_only
from ._io import json_number

__all__ = ["PLOIDY_CLASSES", "PloidyResult", "fit_ploidy"]

PLOIDY_CLASSES: tuple[str, ...] = ("2N", "4N", "8N", "16N", "32N", "64N")


@dataclass(frozen=True, slots=True, kw_only=True)
class PloidyResult:
    """DNA-content mixture fit: fractions of 2N..64N among nucleated events (debris excluded).

    Attributes
    ----------
    channel : the PI channel fitted
    mu_2n, cv : 2N peak location (channel units) and the common coefficient of variation
    fractions : class -> fraction of the nucleated events (sums to 1)
    background_fraction : fraction of all events in the uniform debris component
    counts : class -> events assigned to it (most probable component; debris not counted)
    n_events, loglik : events fitted and the binned log-likelihood at the optimum
    histogram, log2_histogram : (edges, counts) on the linear and on the log2 scale
    """

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
        return {"channel": self.channel, "mu_2n": json_number(self.mu_2n), "cv": json_number(self.cv),
                "fractions": {k: json_number(v) for k, v in self.fractions.items()},
                "background_fraction": json_number(self.background_fraction), "counts": dict(self.counts),
                "n_events": self.n_events,
                "mean_ploidy": json_number(sum(2 ** (i + 1) * self.fractions[c] for i, c in enumerate(PLOIDY_CLASSES)))}


def _initial_2n(x: np.ndarray) -> float:
    """Location of the 2N peak: the tallest histogram mode in the lower half of the log range."""
    lx = np.log2(x[x > 0])
    hist, edges = np.histogram(lx, bins=200)
    sm = np.convolve(hist, np.ones(5) / 5, mode="same")
    centres = 0.5 * (edges[:-1] + edges[1:])
    # 2N is the lowest prominent peak: take modes above 20% of the maximum, the leftmost one
    peaks = [i for i in range(1, sm.size - 1) if sm[i] >= sm[i - 1] and sm[i] >= sm[i + 1] and sm[i] > 0.2 * sm.max()]
    return float(2 ** centres[peaks[0] if peaks else int(np.argmax(sm))])


def _dna_events(sample: FlowSample, channel: str, within) -> np.ndarray:
    """Finite values of ``channel`` (within the mask); at least 50 of them positive."""
    x = sample.column(channel)
    if within is not None:
        x = x[np.asarray(within, dtype=bool)]
    x = x[np.isfinite(x)]
    if x.size < 50 or np.count_nonzero(x > 0) < 50:
        raise DataError(invalid_value("DNA-content events", x.size, "at least 50 events with positive signal", channel))
    return x


def _start(x: np.ndarray, m0: float, pw: np.ndarray) -> np.ndarray:
    """Start ``z = (ln mu_2N, logit cv, logit b, log weights)``: CV 5%, debris 2%, weights from the nearest class."""
    near = np.argmin(np.abs(np.log2(np.clip(x, 1e-12, None))[:, None] - np.log2(m0 * pw)[None, :]), axis=1)
    w0 = np.bincount(near, minlength=pw.size) + 1.0
    return np.r_[math.log(m0), special.logit(0.05), special.logit(0.02), np.log(w0 / w0.sum())]


def _binned_nll(x: np.ndarray, pw: np.ndarray, lo: float, hi: float, span: float):
    """Negative multinomial log-likelihood of a 1024-bin histogram of ``x`` (exact for the binned data, fast)."""
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

    return nll


def _assign(x: np.ndarray, pw: np.ndarray, mu: float, cv: float, b: float, w: np.ndarray, span: float) -> dict[str, int]:
    """Events per class by the most probable component (debris not counted)."""
    means = mu * pw
    sd = cv * means
    comp = np.log(w)[None, :] - np.log(sd)[None, :] - 0.5 * ((x[:, None] - means[None, :]) / sd[None, :]) ** 2
    bg = math.log(b / span) + math.log(math.sqrt(2 * math.pi)) - math.log1p(-b)
    best = np.argmax(np.column_stack([comp, np.full(x.size, bg)]), axis=1)
    return {PLOIDY_CLASSES[k]: int(np.count_nonzero(best == k)) for k in range(pw.size)}


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
        Starting 2N peak location (channel units); default the lowest prominent histogram mode.
    n_classes
        Ploidy classes fitted, 1..6 (2N..64N).
    """
    x = _dna_events(sample, channel, within)
    K = int(n_classes)
    if not 1 <= K <= len(PLOIDY_CLASSES):
        raise SpecError(invalid_value("n_classes", n_classes, f"1..{len(PLOIDY_CLASSES)}"))
    lo, hi = float(x.min()), float(x.max())
    span = hi - lo if hi > lo else 1.0
    m0 = float(mu_2n) if mu_2n else _initial_2n(x)
    pw = 2.0 ** np.arange(K)
    z0 = _start(x, m0, pw)
    with np.errstate(all="ignore"):
        res = optimize.minimize(_binned_nll(x, pw, lo, hi, span), z0, method="L-BFGS-B",
                                bounds=[(z0[0] - 1.5, z0[0] + 1.5), (special.logit(0.005), special.logit(0.4)), (-12, 3)] + [(-30, 30)] * K)
    z = res.x
    mu, cv, b = math.exp(z[0]), float(special.expit(z[1])), float(special.expit(z[2]))
    w = np.exp(z[3:] - special.logsumexp(z[3:]))
    counts = _assign(x, pw, mu, cv, b, w, span)
    hist, edges = np.histogram(x, bins=256, range=(lo, hi))
    lhist, ledges = np.histogram(np.log2(x[x > 0]), bins=200)
    return PloidyResult(channel=channel, mu_2n=mu, cv=cv,
                        fractions=MappingProxyType({PLOIDY_CLASSES[k]: float(w[k]) for k in range(K)}),
                        background_fraction=b, counts=MappingProxyType(counts), n_events=int(x.size),
                        loglik=-float(res.fun), histogram=(read_only(edges), read_only(hist)),
                        log2_histogram=(read_only(ledges), read_only(lhist)))
