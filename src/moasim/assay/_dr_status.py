"""Why a dose-response group has no EC50: input checks, design screening and the notes.

Every group gets a ``status`` (:data:`moasim.assay._dr_models.STATUSES`) and notes a scientist
reads next to the numbers:

* ``'not_identifiable'``: fewer than 2 positive concentrations, fewer concentration levels
  than free parameters (:func:`_design_problem`), or no finite optimum;
* ``'no_dose_response'``: all responses equal, or the curve fits no better than a horizontal
  line (extra-sum-of-squares F-test, :func:`_no_effect`);
* ``'ec50_bound'``: the fitted EC50 lies beyond the tested concentrations (:func:`_ec50_bound`).

Groups without a fitted curve are reported by :func:`_no_fit` (``NaN`` estimates, fixed ones
kept); fewer observations than free parameters remains an error (:func:`_require_observations`).

References
----------
Motulsky H, Christopoulos A (2004) Fitting Models to Biological Data Using Linear and Nonlinear
Regression. Oxford University Press (ch. 22, extra-sum-of-squares F-test; "ambiguous" fits).
Ritz C, Baty F, Streibig JC, Gerhard D (2015) Dose-response analysis using R. PLoS One 10:e0146021
(drc's ``noEffect``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
from scipy import stats

from ..errors import DataError, FitError, invalid_value
from ._dr_models import _CurveModel, _Group, _names
from ._dr_results import CurveFit
from .._frozen import read_only
from ._nls import ASYM_CLIP, _curve, _exp, _log_dose

# ---------------------------------------------------------------------------------------
# Input and design
# ---------------------------------------------------------------------------------------


def _validate_xyw(conc, resp, weights, where: str = "data"):
    """Concentrations (finite, >= 0), responses (finite) and weights (finite, > 0) as float arrays."""
    x = np.asarray(conc, dtype=float).ravel()
    y = np.asarray(resp, dtype=float).ravel()
    if x.size != y.size:
        raise DataError(invalid_value("array lengths", f"{x.size} concentrations, {y.size} responses", "equal lengths", where))
    if x.size == 0:
        raise DataError(invalid_value("data", "0 rows", "at least one observation", where))
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        i = int(np.flatnonzero(~np.isfinite(x) | (x < 0))[0])
        raise DataError(invalid_value("concentration", float(x[i]), "a finite number >= 0", f"{where} row {i + 1}"))
    if not np.all(np.isfinite(y)):
        i = int(np.flatnonzero(~np.isfinite(y))[0])
        raise DataError(invalid_value("response", float(y[i]), "a finite number", f"{where} row {i + 1}"))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.size != x.size or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise DataError(invalid_value("weights", "non-positive, non-finite or wrong length", "one finite weight > 0 per observation", where))
    return x, y, w


def _require_observations(x: np.ndarray, n_params: int, where: str) -> None:
    """FitError when there are no more observations than free parameters (no residual df)."""
    if x.size <= n_params:
        raise FitError(invalid_value("design", f"{x.size} observations at {np.unique(x).size} concentrations",
                                     f"more than {n_params} observations for {n_params} free parameters", where))


def _design_problem(x: np.ndarray, n_params: int) -> str | None:
    """Why these concentrations cannot determine the curve (a note), or None."""
    levels = np.unique(x)
    pos = levels[levels > 0]
    if pos.size < 2:
        what = "no positive concentration" if pos.size == 0 else f"a single positive concentration ({pos[0]:.4g})"
        zero = " besides zero-dose wells" if levels[0] == 0 else ""
        return (f"not identifiable: {what}{zero}; a concentration-response curve needs at least 2 positive "
                f"concentrations; EC50 not estimated")
    if levels.size < n_params:
        return (f"not identifiable: {levels.size} concentration levels cannot determine {n_params} free parameters; "
                f"EC50 not estimated (fix the bottom, use a 3pl, or test more concentrations)")
    return None


def _no_effect(grp: _Group, n_params: int, model: str, *, rss: float, df: int, alpha: float | None) -> str | None:
    """Note when the curve fits no better than a horizontal line (extra-sum-of-squares F-test).

    The horizontal line is nested in every model here (``hill = 0``), with ``n_params - 1``
    fewer parameters (Motulsky & Christopoulos 2004, ch. 22; drc's ``noEffect`` is the
    likelihood-ratio version). ``rss``/``df`` are the curve's; ``alpha`` the test level
    (``None``: only exactly equal responses get a note).
    """
    ybar = float(np.sum(grp.w * grp.y) / np.sum(grp.w))
    rss0 = float(np.sum(grp.w * (grp.y - ybar) ** 2))
    d1 = n_params - 1
    if rss0 <= 0.0:
        return f"no dose-response: all responses are equal ({ybar:.4g}); EC50 not estimated"
    F = ((rss0 - rss) / d1) / (rss / df) if rss > 0 else np.inf
    p = float(stats.f.sf(max(F, 0.0), d1, df))
    if alpha is not None and p >= alpha:
        pos = grp.x[grp.x > 0]
        return (f"no dose-response between {pos.min():.4g} and {pos.max():.4g}: the {model.upper()} fits no better than "
                f"a horizontal line at {ybar:.4g} (F({d1}, {df}) = {max(F, 0.0):.3g}, p = {p:.3g}); EC50 not estimated")
    return None


def _all_equal(y: np.ndarray) -> bool:
    return bool(np.all(y == y[0]))


# ---------------------------------------------------------------------------------------
# Groups without a curve
# ---------------------------------------------------------------------------------------


def _no_fit(curve: _CurveModel, grp: _Group, status: str, notes: Sequence[str]) -> CurveFit:
    """A group with no fitted curve: NaN estimates (fixed ones kept), the reasons in ``notes``."""
    free = curve.free
    fixed = {} if "bottom" in free else {"bottom": float(curve.bottom)}
    nan2 = (math.nan, math.nan)
    est = {k: fixed.get(k, math.nan) for k in _names(curve.kind)}
    se = {k: (0.0 if k in fixed else math.nan) for k in est}
    ci = {k: ((fixed[k], fixed[k]) if k in fixed else nan2) for k in est}
    n = int(grp.x.size)
    return CurveFit(
        model=curve.name, group=grp.label, estimates=MappingProxyType(est), se=MappingProxyType(se),
        ci95=MappingProxyType(ci), ci95_wald=MappingProxyType(dict(ci)), covariance=read_only(np.full((len(free), len(free)), np.nan), float),
        parameters=free, fixed=MappingProxyType(fixed), n=n, df=n - len(free), rss=math.nan, sigma=math.nan,
        loglik=math.nan, aic=math.nan, bic=math.nan, converged=False, notes=tuple(notes), status=status, curve=None,
        se_method=curve.se_method, concentration=read_only(grp.x, float), response=read_only(grp.y, float), weights=read_only(grp.w, float),
        fitted=read_only(np.full(n, np.nan), float), outlier=np.zeros(n, dtype=bool),
    )


def _screen(curve: _CurveModel, grp: _Group, n_params: int) -> CurveFit | None:
    """A no-fit result for a group whose design or flat response rules out a curve, else None.

    ``n_params`` is the number of parameters the group's own data must determine.
    """
    where = f"group {grp.label!r}" if grp.label is not None else "data"
    _require_observations(grp.x, n_params, where)
    problem = _design_problem(grp.x, n_params)
    if problem is not None:
        return _no_fit(curve, grp, "not_identifiable", [problem])
    if _all_equal(grp.y):
        return _no_fit(curve, grp, "no_dose_response", [_no_effect(grp, n_params, curve.kind, rss=0.0, df=1, alpha=None)])
    return None


# ---------------------------------------------------------------------------------------
# A fitted curve's EC50: bounded, step-like, poorly determined
# ---------------------------------------------------------------------------------------


def _ec50_bound(q: np.ndarray, x: np.ndarray):
    """(bound, note) when the fitted EC50 lies outside the positive tested concentrations, else None.

    The side is the EC50's, except when at least 90% of the fitted response change lies between
    the zero-dose wells and the lowest positive concentration (a flat response over all positive
    concentrations that differs from vehicle): the transition is then below the lowest
    concentration whatever the degenerate optimum (EC50 -> 0, or hill -> 0 with EC50 -> inf).
    """
    pos = x[x > 0]
    lo, hi = float(pos.min()), float(pos.max())
    ec = _exp(q[2])
    if lo <= ec <= hi:
        return None
    levels = np.unique(x)
    with np.errstate(all="ignore"):
        f = _curve(q, _log_dose(levels))
    change_all = float(np.ptp(f))
    change_pos = float(np.ptp(f[levels > 0]))
    below = ec < lo or (levels[0] == 0 and change_pos <= 0.1 * change_all)
    if below:
        return (None, lo), (f"EC50 below the lowest positive concentration ({lo:.4g}): the curve reaches its half-maximal "
                            f"response only by extrapolation; EC50 reported as an upper bound, no SE or CI")
    return (hi, None), (f"EC50 above the highest concentration ({hi:.4g}): the curve reaches its half-maximal response "
                        f"only by extrapolation; EC50 reported as a lower bound, no SE or CI")


def _step_bracket(q: np.ndarray, x: np.ndarray) -> tuple[float, float] | None:
    """The two tested concentrations around the transition when none lies within its 10-90% part."""
    pos = np.unique(x[x > 0])
    with np.errstate(all="ignore"):
        G = _curve(np.array([0.0, 1.0, q[2], q[3], q[4]]), np.log(pos))
    if np.any((G > 0.1) & (G < 0.9)):
        return None
    i = int(np.searchsorted(pos, _exp(q[2])))
    if not 0 < i < pos.size:
        return None
    return float(pos[i - 1]), float(pos[i])


def _step_note(step: tuple[float, float]) -> str:
    return (f"step-like fit: no tested concentration lies within the 10-90% transition, so the EC50 is located "
            f"only between {step[0]:.4g} and {step[1]:.4g} and |hill| is only bounded below; their SEs are not reported")


def _design_notes(est: Mapping[str, float], x: np.ndarray, converged: bool) -> tuple[str, ...]:
    """Warnings a scientist should see next to the numbers (the fit itself is returned regardless)."""
    notes = []
    if not converged:
        notes.append("optimiser stopped before convergence")
    pos = np.unique(x[x > 0])
    h = abs(est["hill"])
    if pos.size >= 2 and h > 0:
        # 10%-90% span of a 4PL covers a concentration factor 81**(1/|hill|)
        widest = float(np.max(pos[1:] / pos[:-1]))
        if math.log(81.0) / h < math.log(widest):
            notes.append(f"transition (10-90% over a factor {81.0 ** (1.0 / h):.3g}) is narrower than the dose spacing "
                         f"(factor {widest:.3g}): hill and EC50 are poorly determined")
    return tuple(notes)


def _asymmetry_note(upper: bool, ec50_ci: str | None) -> str:
    """Note for a 5PL whose asymmetry ran to a boundary of the parameter space (``ec50_ci``: how
    the EC50 interval was found, 'profile' or 'wald'; ``None``: there is none)."""
    if upper:
        head = ("5PL asymmetry at its boundary (Gompertz limit): the curve is the limiting Gompertz form "
                "bottom + (top - bottom) exp(-ln2 (ec50/x)^hill); asymmetry not estimated")
    else:
        head = (f"5PL asymmetry at its lower boundary (asymmetry -> 0, held at e^-{ASYM_CLIP:g}); "
                f"asymmetry not estimated")
    tail = {"profile": ", the EC50 CI is the profile-likelihood one, over all asymmetries",
            "wald": ", so is the EC50 CI (Wald, no profile)", None: ""}[ec50_ci]
    return f"{head}; the SEs and Wald intervals of the other parameters are conditional on this limit{tail}"
