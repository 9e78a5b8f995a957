"""Standard errors, confidence intervals and residual checks of fitted dose-response curves.

* Standard errors: the covariance of ``theta`` (:func:`moasim.assay._nls._cov_theta`,
  Gauss-Newton ``s^2 (J^T W J)^-1`` or drc's Hessian ``s^2 (H/2)^-1``) mapped to the reported
  parameters by the delta method (``ec50`` and ``asymmetry`` are fitted on the log scale).
* Wald t-intervals at 95% for every parameter (``ec50``'s and ``asymmetry``'s on the log scale,
  back-transformed); the EC50 and relative potency also get the profile-likelihood interval
  (:func:`moasim.assay._profile.profile_interval`), searched over the tested concentrations one
  decade wider (:func:`_ec50_scan`).
* Outliers: externally studentised residuals beyond the Bonferroni t limit.
* Gaussian log-likelihood with weights (R's ``logLik.nls``), AIC and BIC.

:func:`_curve_result` assembles the :class:`~moasim.assay._dr_results.CurveFit` of one group
of a joint fit from these and the status checks of :mod:`._dr_status`.

References
----------
Bates DM, Watts DG (1988) Nonlinear Regression Analysis and Its Applications. Wiley (sec. 2.3,
standard errors; ch. 6, profile likelihood).
Cook RD, Weisberg S (1982) Residuals and Influence in Regression. Chapman & Hall.
Ritz C, Baty F, Streibig JC, Gerhard D (2015) Dose-response analysis using R. PLoS One 10:e0146021.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from scipy import stats

from ._dr_joint import _JointFit
from ._dr_models import _external, _Group, _names
from ._dr_results import CurveFit
from .._frozen import read_only
from ._dr_status import _asymmetry_note, _design_notes, _ec50_bound, _step_bracket, _step_note
from ._nls import _ALL, ASYM_CLIP, _curve, _exp, _jacobian, scaled_pinv
from ._profile import ProfileInterval, profile_interval

_LEVEL = 0.95
_LN10 = math.log(10.0)


def _t95(df: int) -> float:
    """Two-sided 95% quantile of Student's t with ``df`` degrees of freedom."""
    return stats.t.ppf(0.5 + _LEVEL / 2, df)


# ---------------------------------------------------------------------------------------
# Profile likelihood
# ---------------------------------------------------------------------------------------


def _ec50_scan(xs: Sequence[np.ndarray]) -> tuple[float, float]:
    """ln-EC50 range the profile search scans: the positive tested concentrations, one decade wider."""
    pos = np.concatenate([x[x > 0] for x in xs])
    return float(np.log(pos.min())) - _LN10, float(np.log(pos.max())) + _LN10


def _delta_scan(x_test: np.ndarray, x_ref: np.ndarray) -> tuple[float, float]:
    """Range of ln(EC50_test / EC50_ref) the tested concentrations speak to, one decade wider."""
    t, r = _ec50_scan([x_test]), _ec50_scan([x_ref])
    return t[0] - r[1], t[1] - r[0]


def _profile(fit: _JointFit, k: int, se_k: float, scan: tuple[float, float]) -> ProfileInterval:
    """Profile-likelihood interval of ``fit.theta[k]`` (natural-log units) over ``scan``."""
    return profile_interval(fit.theta, fit.rss, fit.design, fit.data, k, se_k, fit.df, scan)


def _ec50_profile(fit: _JointFit, x: np.ndarray) -> ProfileInterval:
    """Profile interval of ln EC50 of a one-group fit to concentrations ``x``."""
    k = fit.design.names.index("ec50")
    se_k = math.sqrt(max(float(fit.cov[k, k]), 0.0)) if np.isfinite(fit.cov[k, k]) else math.nan
    return _profile(fit, k, se_k, _ec50_scan([x]))


def _profile_notes(pi: ProfileInterval, what: str) -> tuple[str, ...]:
    """Notes on an open or non-convex profile-likelihood interval of ``what``."""
    notes = []
    if pi.lower_open:
        notes.append(f"{what} profile-likelihood interval open below: the data exclude no value down to 13 decades "
                     f"below the estimate (lower bound null)")
    if pi.upper_open:
        notes.append(f"{what} profile-likelihood interval open above: the data exclude no value up to 13 decades "
                     f"above the estimate (upper bound null)")
    if pi.hull:
        notes.append(f"{what} profile likelihood has more than one minimum: the 95% confidence set is not one interval "
                     f"and ci95 is its hull")
    return tuple(notes)


# ---------------------------------------------------------------------------------------
# Likelihood and residuals
# ---------------------------------------------------------------------------------------


def _loglik(rss: float, n: int, w: np.ndarray) -> float:
    """Gaussian log-likelihood at the MLE of sigma, weights included (R: ``logLik.nls``)."""
    if rss <= 0.0:  # exact interpolation: unbounded likelihood
        return math.inf
    return -0.5 * n * (math.log(2 * math.pi * rss / n) + 1.0) + 0.5 * float(np.sum(np.log(w)))


def _information(fit: _JointFit) -> dict:
    """Fit statistics every curve of a joint fit shares: n, df, rss, sigma, loglik, aic, bic."""
    n = fit.data.n
    ll = _loglik(fit.rss, n, fit.weights)
    k = len(fit.design.names) + 1
    return dict(n=n, df=fit.df, rss=fit.rss, sigma=math.sqrt(fit.rss / fit.df), loglik=ll,
                aic=-2 * ll + 2 * k, bic=-2 * ll + math.log(n) * k)


def _flag_outliers(resid_g, fit: _JointFit, g: int, alpha) -> np.ndarray:
    """Externally studentised residuals beyond the Bonferroni t limit (Cook & Weisberg 1982)."""
    df, rss = fit.df, fit.rss
    if alpha is None or df < 2:
        return np.zeros(resid_g.size, dtype=bool)
    J = _jacobian(fit.theta, fit.design, fit.data)
    with np.errstate(all="ignore"):
        H = np.einsum("ij,jk,ik->i", J, scaled_pinv(J.T @ J, rcond=1e-15), J)  # leverages, unit-free
    start = sum(a.size for a in fit.data.y[:g])
    h = np.clip(H[start:start + resid_g.size], 0, 1 - 1e-12)
    n = fit.data.n
    s2_i = (rss - resid_g**2 / (1 - h)) / (df - 1)
    with np.errstate(all="ignore"):
        r_ext = resid_g / np.sqrt(np.clip(s2_i, 1e-300, None) * (1 - h))
    crit = stats.t.ppf(1 - alpha / (2 * n), df - 1)
    return np.abs(r_ext) > crit


# ---------------------------------------------------------------------------------------
# One curve of a joint fit
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ParameterTable:
    """Per-parameter numbers of one curve while :func:`_curve_result` assembles it.

    The dicts are working copies, completed in place by the steps of :func:`_curve_result`
    and frozen into the :class:`CurveFit`. ``ci95`` starts as the Wald interval; ``se_ln_ec50``
    is the standard error of ln EC50 (``NaN`` for a Hessian saddle).
    """

    estimates: dict[str, float]
    se: dict[str, float]
    ci95: dict[str, tuple[float, float]]
    wald: dict[str, tuple[float, float]]
    fixed: dict[str, float]
    cov: np.ndarray
    se_ln_ec50: float


def _on_asymmetry_clip(fit: _JointFit, g: int) -> bool:
    """Whether curve ``g``'s asymmetry is one the fit held on its clip."""
    return bool(tuple(k for k in fit.at_clip if fit.design.A[g][4, k] != 0))


def _wald_table(fit: _JointFit, g: int) -> _ParameterTable:
    """Estimates, delta-method SEs and Wald t-intervals of curve ``g`` (fixed parameters: SE 0)."""
    model, Ag, q = fit.model, fit.design.A[g], fit.q(g)
    est = _external(q, model)
    free = fit.curve.free
    idx = [_ALL.index(p) for p in free]
    # covariance of the external parameters: D A cov A^T D, D = d ext / d internal (exp for logs)
    D = np.diag([1.0, 1.0, est["ec50"], 1.0, est.get("asymmetry", 1.0)])
    with np.errstate(invalid="ignore", over="ignore"):  # degenerate fits: inf/NaN entries, reported as such
        cov_q = D @ Ag @ fit.cov @ Ag.T @ D
        var = np.diag(cov_q)
        # a negative variance (Hessian SEs at a saddle) has no standard error
        se_all = np.where(var >= -1e-12 * np.nanmax(np.abs(var), initial=0.0), np.sqrt(np.clip(var, 0, None)), np.nan)
    tq = _t95(fit.df)
    se, ci, ciw, fixed = {}, {}, {}, {}
    for j, name in enumerate(_names(model)):
        if name not in free:
            fixed[name] = est[name]
            se[name], ci[name], ciw[name] = 0.0, (est[name], est[name]), (est[name], est[name])
            continue
        se[name] = float(se_all[j])
        ciw[name] = (est[name] - tq * se[name], est[name] + tq * se[name])
        ci[name] = ciw[name]
    # EC50 (and a 5PL's asymmetry): Wald on the log scale
    var_ln = float(Ag[2] @ fit.cov @ Ag[2])
    se_ln = math.sqrt(max(var_ln, 0.0)) if fit.se_method == "gauss-newton" or var_ln >= 0 else math.nan
    ciw["ec50"] = (_exp(q[2] - tq * se_ln), _exp(q[2] + tq * se_ln))
    if model.startswith("5pl") and not _on_asymmetry_clip(fit, g):
        se_ls = math.sqrt(max(float(Ag[4] @ fit.cov @ Ag[4]), 0.0))
        ci["asymmetry"] = ciw["asymmetry"] = (_exp(q[4] - tq * se_ls), _exp(q[4] + tq * se_ls))
    return _ParameterTable(estimates=est, se=se, ci95=ci, wald=ciw, fixed=fixed, cov=cov_q[np.ix_(idx, idx)],
                           se_ln_ec50=se_ln)


def _hold_asymmetry(t: _ParameterTable, curve: dict[str, float], q: np.ndarray, free: tuple[str, ...]) -> None:
    """A 5PL at its asymmetry boundary: no estimate, SE, CI or covariance; the curve is the limit."""
    nan2 = (math.nan, math.nan)
    t.estimates["asymmetry"] = t.se["asymmetry"] = math.nan
    t.ci95["asymmetry"] = t.wald["asymmetry"] = nan2
    curve["asymmetry"] = math.inf if q[4] > 0 else _exp(-ASYM_CLIP)
    a = free.index("asymmetry")
    t.cov[a, :] = t.cov[:, a] = math.nan


def _drop_ec50(t: _ParameterTable) -> None:
    """An EC50 beyond the tested range: reported as a bound, with no estimate, SE or CI."""
    nan2 = (math.nan, math.nan)
    t.estimates["ec50"], t.se["ec50"], t.ci95["ec50"], t.wald["ec50"] = math.nan, math.nan, nan2, nan2


def _ec50_interval(t: _ParameterTable, q: np.ndarray, x: np.ndarray,
                   profile: Callable[[float], ProfileInterval] | None) -> tuple[tuple[bool, bool], list[str]]:
    """Complete the EC50 (and, for a step, hill) entries; return (open ends of ci95, notes)."""
    nan2 = (math.nan, math.nan)
    notes: list[str] = []
    step = _step_bracket(q, x)
    if step is not None:
        notes.append(_step_note(step))
        t.se["ec50"] = t.se["hill"] = math.nan
        t.wald["ec50"] = t.wald["hill"] = t.ci95["hill"] = nan2
    if profile is None:
        t.ci95["ec50"] = t.wald["ec50"]
        return (False, False), notes
    pi = profile(t.se_ln_ec50)
    t.ci95["ec50"] = (_exp(pi.lower), _exp(pi.upper))
    if step is not None:  # the data place the EC50 anywhere between the bracketing doses: so must its
        # interval (a noise-free step gave a zero-width profile interval inside it)
        t.ci95["ec50"] = (min(t.ci95["ec50"][0], step[0]), max(t.ci95["ec50"][1], step[1]))
    notes.extend(_profile_notes(pi, "EC50"))
    return (pi.lower_open, pi.upper_open), notes


def _curve_result(fit: _JointFit, g: int, grp: _Group, *, outlier_alpha: float | None,
                  profile: Callable[[int, float], ProfileInterval] | None) -> CurveFit:
    """The reported curve of group ``g`` of a joint fit: estimates, SEs, intervals, status, notes.

    ``profile(g, se_ln_ec50)`` gives the EC50's profile interval (``None``: Wald on the log scale).
    """
    q = fit.q(g)
    t = _wald_table(fit, g)
    curve = dict(t.estimates)
    boundary = _on_asymmetry_clip(fit, g)
    notes = list(_design_notes(t.estimates, grp.x, fit.converged))
    out_of_range = _ec50_bound(q, grp.x)
    if boundary:  # the least-squares problem has no minimum in the 5PL: report the limit, not a number
        _hold_asymmetry(t, curve, q, fit.curve.free)
        ec50_ci = None if out_of_range is not None else ("profile" if profile is not None else "wald")
        notes.append(_asymmetry_note(q[4] > 0, ec50_ci))
    status, bound, ci_open = "ok", None, (False, False)
    if out_of_range is not None:
        status, (bound, note) = "ec50_bound", out_of_range
        notes.append(note)
        _drop_ec50(t)
    else:
        ci_open, more = _ec50_interval(t, q, grp.x, (lambda se_ln: profile(g, se_ln)) if profile is not None else None)
        notes.extend(more)
    with np.errstate(divide="ignore"):
        fitted = _curve(q, np.log(grp.x))
    outlier = _flag_outliers(np.sqrt(grp.w) * (grp.y - fitted), fit, g, outlier_alpha)
    return CurveFit(
        model=fit.curve.name, group=grp.label, estimates=MappingProxyType(t.estimates), se=MappingProxyType(t.se),
        ci95=MappingProxyType(t.ci95), ci95_wald=MappingProxyType(t.wald), covariance=read_only(t.cov, float), parameters=fit.curve.free,
        fixed=MappingProxyType(t.fixed), **_information(fit), converged=fit.converged and not boundary, notes=tuple(notes),
        status=status, ec50_bound=bound, ec50_ci_open=ci_open, curve=MappingProxyType(curve), se_method=fit.se_method,
        at_boundary=("asymmetry",) if boundary else (),
        concentration=read_only(grp.x, float), response=read_only(grp.y, float), weights=read_only(grp.w, float), fitted=read_only(fitted, float), outlier=read_only(outlier, float).astype(bool),
    )
