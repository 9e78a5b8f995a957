"""Profile-likelihood confidence intervals, searched over the whole tested range.

For one coordinate ``theta_k`` (ln EC50 or a log potency) the profile is
``S(v) = min RSS over the other parameters with theta_k = v`` and the 95% confidence set is
``{v : S(v) - S_hat <= t(0.975, df)^2 s^2}`` (Bates & Watts 1988, eq. 6.23; Venzon & Moolgavkar
1988). Three things make the search global rather than local:

1. every profile point is minimised from the neighbouring point's solution *and* from a grid
   of hill slopes with bottom/top solved exactly (variable projection, Golub & Pereyra 2003),
   so a refit stuck on a near-vertical step (``|hill|`` huge, gradient zero) is not taken for
   the profile;
2. the walk from the estimate continues past the first few standard errors (which are
   meaningless, ~0, for step-like fits) over the tested range at a fraction of the dose
   spacing, then geometrically up to 13 decades (``|v - theta_k| <= 30``);
3. beyond each end found, the tested range is scanned for the profile dipping below the
   threshold again (a second minimum): the set is then not an interval and its hull is reported.

An end not found within the search limit is *open*: it is reported as infinite (``null`` in
JSON) with ``lower_open``/``upper_open`` set, never as the last point tried.

References
----------
Bates DM, Watts DG (1988) Nonlinear Regression Analysis and Its Applications. Wiley, ch. 6.
Venzon DJ, Moolgavkar SH (1988) A method for computing profile-likelihood-based confidence
intervals. Appl Stat 37:87-94.
Golub G, Pereyra V (2003) Separable nonlinear least squares: the variable projection method
and its applications. Inverse Problems 19:R1-R26.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from ._nls import ASYM_CLIP, _asym_columns, _at_clip, _Data, _Design, _linear_columns, _lsq, _project_linear

_LIMIT = 30.0  # ln units (13 decades) searched on either side of the estimate
_LOCAL = (0.5, 1, 1.5, 2, 3, 4.5, 7, 10, 15, 25, 40)  # first steps, in standard errors
_HILLS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
_ASYMS = (0.0, ASYM_CLIP)  # ln s tried besides the current one (5PL): the 4PL and the Gompertz limit


@dataclass(frozen=True, slots=True)
class ProfileInterval:
    """A profile-likelihood interval for ``theta_k`` (on the internal, log scale).

    Attributes
    ----------
    lower, upper : interval ends; ``-inf``/``inf`` when open (no end within the search limit)
    hull : the confidence set has more than one piece; ``(lower, upper)`` is its hull
    better : a parameter vector with a lower RSS met on the profile (the fit was a local
        optimum), else ``None``
    """

    lower: float
    upper: float
    hull: bool = False
    better: np.ndarray | None = None

    @property
    def lower_open(self) -> bool:
        return not np.isfinite(self.lower)

    @property
    def upper_open(self) -> bool:
        return not np.isfinite(self.upper)


class _Profile:
    """Profile RSS of theta[k], evaluated robustly (warm start + hill grid with exact plateaus)."""

    def __init__(self, theta, rss, design: _Design, data: _Data, k: int):
        self.theta, self.rss, self.design, self.data, self.k = theta, rss, design, data, k
        self.lin = _linear_columns(design)
        groups = set(design.groups_of(k))
        # hill columns acting on the curves theta[k] moves
        self.hills = np.array([j for j in range(theta.size) if design.row_of(j) == 3 and groups & set(design.groups_of(j))],
                              dtype=int)
        self.asym = tuple(j for j in _asym_columns(design) if j != k)
        self.best = (theta, rss)

    def _grid(self, v: float, base: np.ndarray):
        """Best start over the hill grid (see :meth:`_grid_all`) and its RSS (an upper bound)."""
        proj, rss = self._grid_all(v, base)
        i = int(np.argmin(rss))
        return (proj[i], float(rss[i])) if np.isfinite(rss[i]) else (base, np.inf)

    def _grid_all(self, v: float, base: np.ndarray):
        """Starts over the hill grid with bottom/top solved exactly, and their RSS (upper bounds).

        A 5PL's asymmetries are tried as they are, at ``s = 1`` and at the Gompertz limit (on the
        clip, where a refit from a finite ``s`` cannot reach it, nor leave it, by gradient).
        """
        th0 = base.copy()
        th0[self.k] = v
        cands = np.repeat(th0[None, :], 1 + 2 * len(_HILLS) * (self.hills.size > 0), axis=0)
        if self.hills.size:
            grid = np.concatenate([np.asarray(_HILLS), -np.asarray(_HILLS)])
            cands[1:, self.hills] = grid[:, None]
        if self.asym:
            variants = [cands]
            for lns in _ASYMS:
                c = cands.copy()
                c[:, list(self.asym)] = lns
                variants.append(c)
            cands = np.concatenate(variants)
        return _project_linear(cands, self.design, self.data, self.lin)

    def at(self, v: float, warm: list[np.ndarray]) -> float:
        """S(v) - S_hat, refitting from the solutions in ``warm`` (updated) and from the hill grid.

        ``warm[0]`` is the previous point's solution. For a 5PL, whose profile can follow two
        branches (e.g. a finite asymmetry and the Gompertz limit, with the other one better further
        out), ``warm[1]``, when present, is the previous point's best solution on another branch;
        both are carried on.
        """
        cands = []
        for w in warm:
            th, r, _ = _lsq(w, self.design, self.data, fixed={self.k: v}, max_nfev=200)
            cands.append((th, r))
            if self.asym:
                cands.extend(self._off_clip(v, th, r))
        th, r = min(cands, key=lambda c: c[1])
        start, r0 = self._grid(v, th if np.isfinite(r) else warm[0])
        if r0 < r * (1 - 1e-9):  # the warm refit is stuck on a worse local optimum
            th2, r2, _ = _lsq(start, self.design, self.data, fixed={self.k: v}, max_nfev=200)
            cands.append((th2, r2))
            if r2 < r:
                th, r = th2, r2
        if np.isfinite(r):
            warm[:] = [th]
            if self.asym:
                other = [c for c in cands if np.isfinite(c[1]) and self._branch(c[0]) != self._branch(th)]
                if other:
                    warm.append(min(other, key=lambda c: c[1])[0])
            if r < self.best[1] * (1 - 1e-7) - 1e-300:
                self.best = (th, r)
        return r - self.rss

    def _branch(self, th: np.ndarray) -> tuple:
        """Which branch of a 5PL profile a solution is on: the hill signs and asymmetries on the clip."""
        clipped = set(_at_clip(th, self.design))
        return tuple(np.sign(th[self.hills]).tolist()) + tuple(j in clipped for j in self.asym)

    def _off_clip(self, v: float, th: np.ndarray, r: float) -> list:
        """A refit with every asymmetry on its clip restarted at ``s = 1`` (``[]`` when none is).

        On the clip the curve does not depend on ``ln s`` (zero gradient), so a refit warm-started
        there cannot leave it even when the profile point's best asymmetry is finite.
        """
        clipped = [j for j in _at_clip(th, self.design) if j in self.asym] if np.isfinite(r) else []
        if not clipped:
            return []
        start = th.copy()
        start[clipped] = 0.0
        th2, r2, _ = _lsq(start, self.design, self.data, fixed={self.k: v}, max_nfev=200)
        return [(th2, r2)]

    def upper_bound(self, v: float) -> float:
        """A cheap upper bound of S(v) - S_hat (hill grid from the estimate, no polishing)."""
        return self._grid(v, self.theta)[1] - self.rss


def profile_interval(theta, rss: float, design: _Design, data: _Data, k: int, se_k: float, df: int,
                     scan: tuple[float, float], level: float = 0.95) -> ProfileInterval:
    """Profile-likelihood interval for ``theta[k]``, searched globally over ``scan``.

    Parameters
    ----------
    theta, rss
        The least-squares estimate and its weighted residual sum of squares.
    k
        Index of the profiled coordinate (ln EC50 or a log EC50 ratio; natural-log units).
    se_k
        Its standard error (sets the first steps; any value, even 0 or NaN, is safe).
    df
        Residual degrees of freedom.
    scan
        ``(low, high)`` range of ``theta[k]`` the data speak to (the tested concentrations,
        in ln units, widened a little): scanned at a fraction of the dose spacing.
    level
        Confidence level.
    """
    s2 = rss / df
    tq = stats.t.ppf(0.5 + level / 2, df)
    target = tq * tq * s2  # S(v) - S_hat at the interval ends
    prof = _Profile(theta, rss, design, data, k)
    t0 = float(theta[k])
    lo_s, hi_s = float(min(scan)), float(max(scan))
    fine = _spacing(design, data, k)

    def excess(v: float, warm: list[np.ndarray]) -> float:
        return prof.at(v, warm) - target

    def root(a: float, b: float, warm: list[np.ndarray]) -> float:
        w2 = [w.copy() for w in warm]  # warm-started from the solution(s) at b
        try:
            return optimize.brentq(lambda z: excess(z, w2), a, b, xtol=1e-10 * max(1.0, abs(b)), rtol=1e-12)
        except ValueError:
            return b

    step = se_k if np.isfinite(se_k) and se_k > 0 else 0.5
    step = min(max(step, 1e-3), 5.0)
    ends, hull = [], False
    for sgn in (-1.0, 1.0):
        found = _first_crossing(excess, root, theta, t0, _walk(t0, t0, sgn, step, fine, lo_s, hi_s))
        # global check: does the profile dip below the threshold again further out?
        while found is not None:
            again = _dip(prof, found, sgn, fine, lo_s, hi_s, target)
            if again is None:
                break
            hull = True
            found = _first_crossing(excess, root, theta, again, _walk(t0, again, sgn, 0.0, fine, lo_s, hi_s))
        ends.append(found)
    lo = ends[0] if ends[0] is not None else -np.inf
    hi = ends[1] if ends[1] is not None else np.inf
    better = prof.best[0] if prof.best[1] < rss * (1 - 1e-7) - 1e-300 else None
    return ProfileInterval(lower=float(lo), upper=float(hi), hull=hull, better=better)


def _spacing(design: _Design, data: _Data, k: int) -> float:
    """Scan step: half the smallest ln spacing of the doses the coordinate acts on, in [0.05, 0.5]."""
    gaps = []
    for g in design.groups_of(k) or range(len(data.lnx)):
        u = np.unique(data.lnx[g][np.isfinite(data.lnx[g])])
        if u.size > 1:
            gaps.append(float(np.min(np.diff(u))))
    return float(min(max(0.5 * min(gaps), 0.05), 0.5)) if gaps else 0.5


def _first_crossing(excess, root, theta, v0: float, points) -> float | None:
    """Walk ``points`` outward from ``v0``; the root of the excess in the first bracket found."""
    warm = [theta.copy()]
    prev_v = v0
    for v in points:
        if excess(v, warm) >= 0:
            return root(prev_v, v, warm)
        prev_v = v
    return None


def _walk(t0: float, v0: float, sgn: float, step: float, fine: float, lo_s: float, hi_s: float):
    """Points beyond ``v0`` on one side of the estimate ``t0``: the local schedule (``step`` per
    SE, skipped when 0), the scan range (every ``fine``), then doubling steps to the limit."""
    v = v0
    if step > 0:
        for m in _LOCAL:
            v = v0 + sgn * m * step
            if abs(v - t0) > _LIMIT:
                return
            yield v
    edge = hi_s if sgn > 0 else lo_s
    while sgn * (edge - v) > 0:
        v = v + sgn * fine
        if abs(v - t0) > _LIMIT:
            return
        yield v
    h, dist = fine, abs(v - t0)
    while dist < _LIMIT:
        h = min(2 * h, 5.0)
        dist = min(dist + h, _LIMIT)
        yield t0 + sgn * dist


def _dip(prof: _Profile, end: float, sgn: float, fine: float, lo_s: float, hi_s: float, target: float) -> float | None:
    """First point beyond ``end`` (within the scan range) where the profile is back under the threshold."""
    edge = hi_s if sgn > 0 else lo_s
    v = end + sgn * fine
    while sgn * (edge - v) >= 0:
        ub = prof.upper_bound(v) - target
        if ub < 0:
            return v
        if ub < 3 * target:  # close: polish to decide
            if prof.at(v, [prof.theta.copy()]) - target < 0:
                return v
        v += sgn * fine
    return None
