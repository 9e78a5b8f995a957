"""Joint least-squares fits of log-logistic curves over one or more groups.

One fit solves one weighted least-squares problem in the global parameter vector ``theta``
of a :class:`moasim.assay._nls._Design` (each group's curve is ``q_g = base_g + A_g theta``;
shared parameters are common columns). This module supplies what the engine in
:mod:`moasim.assay._nls` does not: self-starting values (as R's ``SSfpl``: plateaus from the
data, EC50 and hill from a logit regression), several starts, Prism's orientation of the 4PL
(``bottom <= top``, direction in the sign of ``hill``), the checks on the optimum and the
covariance of ``theta`` (:func:`moasim.assay._nls._cov_theta`). The result is an immutable
:class:`_JointFit`.

References
----------
Bates DM, Watts DG (1988) Nonlinear Regression Analysis and Its Applications. Wiley (sec. 2.3).
Ritz C, Baty F, Streibig JC, Gerhard D (2015) Dose-response analysis using R. PLoS One 10:e0146021.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..errors import FitError, invalid_value
from ._dr_models import _CurveModel, _Group
from ._nls import _best_fit, _build_design, _cov_theta, _Data, _Design, _log_dose, _lsq, _settle_asymmetry


@dataclass(frozen=True, slots=True)
class _JointFit:
    """A least-squares solution over one or more groups (see :class:`moasim.assay._nls._Design`).

    Attributes
    ----------
    curve : the model fitted (kind, fixed bottom, SE method)
    theta, rss, converged : the solution, its weighted residual sum of squares, optimiser status
    cov : covariance of ``theta``; rows and columns of ``at_clip`` are 0 (held fixed)
    df : residual degrees of freedom, ``n - len(theta)``
    weights : all observations' weights, in data order
    at_clip : asymmetry columns of ``theta`` on their clip (held fixed; see ``_settle_asymmetry``)
    """

    curve: _CurveModel
    design: _Design
    data: _Data
    theta: np.ndarray
    rss: float
    converged: bool
    cov: np.ndarray
    df: int
    weights: np.ndarray
    at_clip: tuple[int, ...] = ()

    @property
    def model(self) -> str:
        """The internal kind ('3pl', '4pl', '5pl', '5pl0')."""
        return self.curve.kind

    @property
    def se_method(self) -> str:
        return self.curve.se_method

    def q(self, g: int) -> np.ndarray:
        """Internal curve parameters ``(bottom, top, ln ec50, hill, ln s)`` of group ``g``."""
        return self.design.base[g] + self.design.A[g] @ self.theta


# ---------------------------------------------------------------------------------------
# Starting values (self-start, as R's SSfpl: plateaus from the data, logit regression)
# ---------------------------------------------------------------------------------------


def _self_start(x: np.ndarray, y: np.ndarray, model: str, fixed_bottom: float) -> list[np.ndarray]:
    """Candidate internal starting vectors q (bottom, top, ln ec50, hill, ln s)."""
    ux = np.unique(x)
    means = np.array([y[x == v].mean() for v in ux])
    pos = ux > 0
    lo_x = np.log(ux[pos])
    rng = float(np.ptp(means)) or (abs(float(means.mean())) or 1.0)
    # direction: sign of the rank correlation of the mean response with dose
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant means: rho is NaN, handled below
        rho = stats.spearmanr(np.arange(ux.size), means).statistic if ux.size > 2 else np.sign(means[-1] - means[0])
    rising = not (np.isfinite(rho) and rho < 0)
    lo, hi = float(means.min()) - 0.05 * rng, float(means.max()) + 0.05 * rng
    if model == "3pl":
        lo = fixed_bottom
        if hi <= lo:
            hi = lo + rng
    b0, t0 = lo, hi
    cands = []
    p = np.clip((means[pos] - b0) / (t0 - b0), 1e-3, 1 - 1e-3)
    if lo_x.size >= 2 and np.ptp(lo_x) > 0:
        slope, intercept = np.polyfit(lo_x, np.log(p / (1 - p)), 1)  # logit p = hill (ln x - ln ec50)
        if np.isfinite(slope) and abs(slope) > 1e-6:
            lne = -intercept / slope
            lne = float(np.clip(lne, lo_x.min() - 3, lo_x.max() + 3))
            cands.append(np.array([b0, t0, lne, float(np.clip(slope, -20, 20)), 0.0]))
        mid = float(np.interp(0.5, np.sort(p), lo_x[np.argsort(p)]))
        for h in (1.0, 3.0):
            sgn = 1.0 if rising else -1.0
            cands.append(np.array([b0, t0, mid, sgn * h, 0.0]))
            cands.append(np.array([b0, t0, float(np.median(lo_x)), sgn * h, 0.0]))
    elif lo_x.size >= 1:
        cands.append(np.array([b0, t0, float(lo_x.mean()), 1.0 if rising else -1.0, 0.0]))
    return cands


def _internal_to_theta(q: np.ndarray, design: _Design, g: int) -> np.ndarray:
    """Least-squares preimage of q_g under the design (used for starting joint fits)."""
    A, b = design.A[g], design.base[g]
    return np.linalg.lstsq(A, q - b, rcond=None)[0]


def _group_starts(curve: _CurveModel, grp: _Group) -> list[np.ndarray]:
    """Internal starts for one group: its self-start candidates, led by their best 4PL (3PL) fit."""
    base_kind = "4pl" if curve.kind in ("4pl", "5pl") else "3pl"
    c = _self_start(grp.x, grp.y, base_kind, curve.bottom)
    d1 = _build_design(base_kind, 1, (), 0, curve.bottom)
    dd = _Data((_log_dose(grp.x),), (grp.y,), (np.ones_like(grp.y),))
    th, _, _ = _best_fit(d1, dd, [_internal_to_theta(cc, d1, 0) for cc in c])
    if th is not None:
        c = [d1.base[0] + d1.A[0] @ th] + c
    return c


def _best_start_fit(curve: _CurveModel, design: _Design, data: _Data, groups: Sequence[_Group]):
    """Multi-start least squares: per-group self-start, combined through the design; 4PL seeds 5PL."""
    P = len(design.names)
    per_group = [_group_starts(curve, grp) for grp in groups]
    starts = []
    n_c = max(len(c) for c in per_group)
    for i in range(n_c):
        th = np.zeros(P)
        cnt = np.zeros(P)
        for g in range(len(groups)):
            q = per_group[g][min(i, len(per_group[g]) - 1)]
            A = design.A[g]
            contrib = _internal_to_theta(q, design, g)
            mask = np.any(A != 0, axis=0)
            th[mask] += contrib[mask]
            cnt[mask] += 1
        th = th / np.maximum(cnt, 1)
        starts.append(th)
        if curve.kind.startswith("5pl"):
            for ls in (math.log(0.5), math.log(2.0)):
                t2 = th.copy()
                for j, nm in enumerate(design.names):
                    if nm.startswith("asymmetry"):
                        t2[j] = ls
                starts.append(t2)
    return _best_fit(design, data, starts)


# ---------------------------------------------------------------------------------------
# The solution: orientation, checks, covariance
# ---------------------------------------------------------------------------------------


def _canonical(theta, rss, ok, design: _Design, data: _Data):
    """Report the 4PL with bottom <= top (Prism's convention; the sign of hill gives the direction).

    (bottom, top, hill) and (top, bottom, -hill) are the same 4PL curve; flip the groups whose
    plateaus came out reversed, if the design allows it, and polish.
    """
    qs = [bg + Ag @ theta for Ag, bg in zip(design.A, design.base)]
    if all(q[0] <= q[1] for q in qs):
        return theta, rss, ok
    target = [np.array([q[1], q[0], q[2], -q[3], q[4]]) if q[0] > q[1] else q for q in qs]
    A = np.vstack(design.A)
    rhs = np.concatenate([t - bg for t, bg in zip(target, design.base)])
    th2 = np.linalg.lstsq(A, rhs, rcond=None)[0]
    if not np.allclose(A @ th2, rhs, rtol=1e-9, atol=1e-9):
        return theta, rss, ok
    th3, rss3, ok3 = _lsq(th2, design, data)
    if rss3 <= rss * (1 + 1e-9):
        return th3, rss3, ok3
    return theta, rss, ok


def _check_estimates(theta) -> None:
    """FitError when the optimum is degenerate (non-finite parameters).

    An EC50 far outside the tested range is not an error: the curve's status says it is only
    bounded (:func:`moasim.assay._dr_status._ec50_bound`).
    """
    if not np.all(np.isfinite(theta)):
        raise FitError(invalid_value("fit", "non-finite parameter estimates", "data a log-logistic curve can describe"))


def _finish(curve: _CurveModel, design: _Design, data: _Data, groups: Sequence[_Group], solution) -> _JointFit:
    """Canonical orientation, sanity checks and covariance of a least-squares ``solution``.

    ``solution`` is the ``(theta, rss, converged)`` triple of :func:`moasim.assay._nls._lsq`.
    """
    theta, rss, ok = solution
    if theta is None or not np.isfinite(rss):
        raise FitError(invalid_value("fit", "no convergence", "data a log-logistic curve can describe"))
    if curve.kind == "4pl":
        theta, rss, ok = _canonical(theta, rss, ok, design, data)
    _check_estimates(theta)
    df = data.n - len(design.names)
    if df <= 0:
        raise FitError(invalid_value("residual degrees of freedom", df, "> 0"))
    # a 5PL asymmetry running to its limit (s -> inf: Gompertz) is put on its clip and held there
    theta, rss, ok, at_clip = _settle_asymmetry(theta, rss, ok, design, data)
    _, cov = _cov_theta(theta, design, data, rss, df, curve.se_method, fixed=at_clip)
    return _JointFit(curve=curve, design=design, data=data, theta=theta, rss=rss, converged=ok, cov=cov, df=df,
                     weights=np.concatenate([grp.w for grp in groups]), at_clip=at_clip)


def _fit_groups(curve: _CurveModel, groups: Sequence[_Group], shared: Sequence[str] = (), ref: int = 0) -> _JointFit:
    """Fit ``groups`` jointly, ``shared`` parameters common to all, EC50s relative to ``groups[ref]``.

    Raises
    ------
    FitError
        No more observations than free parameters, or no finite least-squares optimum.
    """
    design = _build_design(curve.kind, len(groups), shared, ref, curve.bottom)
    data = _Data.of([g.x for g in groups], [g.y for g in groups], [g.w for g in groups])
    P = len(design.names)
    if data.n <= P:
        raise FitError(invalid_value("design", f"{data.n} observations", f"more than {P} for {P} free parameters"))
    return _finish(curve, design, data, groups, _best_start_fit(curve, design, data, groups))


def _refit_from(fit: _JointFit, theta0: np.ndarray, groups: Sequence[_Group]) -> _JointFit:
    """Polish a better solution met on the profile (the first fit was a local optimum)."""
    theta, rss, ok = _lsq(theta0, fit.design, fit.data, max_nfev=1000)
    if not rss < fit.rss:
        return fit
    return _finish(fit.curve, fit.design, fit.data, groups, (theta, rss, ok))
