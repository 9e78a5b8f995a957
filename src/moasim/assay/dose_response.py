"""Dose-response fitting: 3PL, 4PL and 5PL log-logistic curves.

Curves (concentration ``x`` >= 0, in the file's unit; Prism's sign convention)::

    4PL   f(x) = bottom + (top - bottom) / (1 + (ec50/x)**hill)
    5PL   f(x) = bottom + (top - bottom) / (1 + (2**(1/s) - 1) * (ec50/x)**hill)**s
    3PL   4PL with ``bottom`` fixed (default 0)

``hill > 0``: response rises with dose (``f(0) = bottom``); ``hill < 0``: it falls
(``f(0) = top``), so zero-dose (vehicle) wells sit on the plateau they belong to and are
fitted as they are, with no log(0). The 5PL is the Gottschalk & Dunn (2005) asymmetric
logistic re-parameterised so that ``ec50`` is the concentration of half-maximal response
for every asymmetry ``s`` (``s = 1`` gives the 4PL).

Fitting is weighted nonlinear least squares (:func:`scipy.optimize.least_squares`, trust
region, analytic Jacobian) in internal parameters ``(bottom, top, ln ec50, hill, ln s)``.

Standard errors (``se=``):

* ``'gauss-newton'`` (default): ``s^2 (J^T W J)^-1`` mapped to the reported parameters by the
  delta method, ``s^2 = RSS / (n - p)``. These are the standard errors of R's ``nls``,
  GraphPad Prism and :func:`scipy.optimize.curve_fit` (Bates & Watts 1988, sec. 2.3).
* ``'hessian'``: ``s^2 (H / 2)^-1`` with ``H`` the Hessian of the RSS, as R's ``drc``
  (``vcov.drc``; Ritz et al. 2015). It adds the residual-curvature term ``sum w r d^2 f`` to
  ``J^T W J``; the two agree closely for well-determined fits and part for small or badly
  designed experiments.

Confidence intervals are Wald t-intervals except for ``ec50`` (and relative potency), whose
interval is the profile-likelihood one (Bates & Watts 1988, ch. 6): all ``theta`` with
``|tau(theta)| <= t(0.975, n - p)``, ``tau = sign(theta - theta_hat) sqrt(S(theta) - S_hat) / s``.
The profile is searched over the whole tested range, not only near the estimate (see
:mod:`moasim.assay._profile`); an end the data do not close is reported open (``inf``, or
``null`` in JSON) with a note.

Designs with no estimable EC50 (group ``status``)
--------------------------------------------------
A mature curve-fitting tool reports such groups and carries on with the others (GraphPad
Prism flags them "ambiguous"/"not converged" per data set); here every group gets a
``status`` and explanatory ``notes`` and its EC50 is ``NaN`` (``null`` in JSON) unless ``ok``:

* ``'ok'``: EC50 estimated inside the tested concentrations.
* ``'ec50_bound'``: the fitted EC50 lies beyond the tested range (only the lower or upper part
  of the curve was observed); the EC50 is reported as a bound, ``ec50_bound = (highest, None)``
  ("EC50 above the highest concentration") or ``(None, lowest)``, with no SE or CI. The fitted
  curve is kept (``curve``, :meth:`CurveFit.predict`).
* ``'no_dose_response'``: all responses equal, or the model fits no better than a horizontal
  line (extra-sum-of-squares F-test at ``no_effect_alpha``; cf. drc's ``noEffect``). This
  includes responses on one plateau only (e.g. only the bottom within the tested range).
* ``'not_identifiable'``: fewer than 2 positive concentrations (a single dose level, with or
  without zero-dose wells), fewer concentration levels than parameters, or no finite optimum.

A 5PL whose asymmetry runs to a boundary of the parameter space - ``s -> inf``, where the curve
becomes the Gompertz form ``bottom + (top - bottom) exp(-ln2 (ec50/x)**hill)``, or ``s -> 0`` -
has no least-squares optimum at a finite asymmetry. ``ln s`` is bounded by ``+-ASYM_CLIP`` (30);
when the fit ends on the bound, or the RSS is no higher there than where the optimiser stopped
(still improving toward it), the asymmetry is held on the bound, is not estimated (``NaN``, JSON
``null``; ``at_boundary = ('asymmetry',)``), ``converged`` is false and a note says so; the
curve (``curve``, :meth:`CurveFit.predict`) is the limiting one. The other parameters' SEs and
Wald intervals are then conditional on the limit (the note says so); the EC50 interval is the
profile-likelihood one, in which the asymmetry is free.

A step-like fit (no tested concentration within the curve's 10-90% transition, ``|hill|``
effectively infinite) keeps its EC50 with the profile interval (about the two concentrations
around the step) but reports no standard error for ``ec50`` and ``hill``. Relative potency
involving a group that is not ``ok`` is ``NaN`` with a note. Fewer observations than free
parameters remains an error (:class:`~moasim.errors.FitError`). The command line exits 0 when
at least one group has an EC50 estimate, 1 when none has (the output is still written) and 2
on invalid input.

References
----------
Ritz C, Baty F, Streibig JC, Gerhard D (2015) Dose-response analysis using R. PLoS One 10:e0146021.
Gottschalk PG, Dunn JR (2005) The five-parameter logistic. Anal Biochem 343:54-65.
Bates DM, Watts DG (1988) Nonlinear Regression Analysis and Its Applications. Wiley.
Motulsky H, Christopoulos A (2004) Fitting Models to Biological Data Using Linear and Nonlinear
Regression. Oxford University Press (extra-sum-of-squares F-test; "ambiguous" fits).
Finney DJ (1978) Statistical Method in Biological Assay, 3rd ed. (parallel-line potency).
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError, FitError, MoasimError, SpecError, invalid_value, unknown_name
from ._io import numeric_column, read_table, require_columns
from ._nls import (
    _ALL,
    ASYM_CLIP,
    SE_METHODS,
    _best_fit,
    _build_design,
    _cov_theta,
    _curve,
    _Data,
    _Design,
    _exp,
    _free_names,
    _jacobian,
    _log_dose,
    _lsq,
    _settle_asymmetry,
)
from ._profile import ProfileInterval, profile_interval

__all__ = [
    "MODELS",
    "SE_METHODS",
    "STATUSES",
    "CurveFit",
    "RelativePotency",
    "ParallelismTest",
    "ModelComparison",
    "DoseResponseResult",
    "fit_curve",
    "fit_4pl",
    "fit_5pl",
    "fit_dose_response",
    "compare_models",
    "predict",
    "plot_dose_response",
]

MODELS: tuple[str, ...] = ("3pl", "4pl", "5pl")
STATUSES: tuple[str, ...] = ("ok", "ec50_bound", "no_dose_response", "not_identifiable")
_LEVEL = 0.95
_LN10 = math.log(10.0)


def _kind(model: str, fix_bottom: float | None) -> str:
    if fix_bottom is None:
        return model
    return {"3pl": "3pl", "4pl": "3pl", "5pl": "5pl0"}[model]


def _fb(kind: str, bottom: float) -> float | None:
    """The fixed bottom of an internal kind (None when bottom is free)."""
    return bottom if kind in ("3pl", "5pl0") else None


def _check_model(model: str) -> str:
    m = str(model).lower()
    if m not in MODELS:
        raise SpecError(unknown_name("model", str(model), MODELS))
    return m


def _check_se(se: str) -> str:
    m = str(se).lower()
    if m not in SE_METHODS:
        raise SpecError(unknown_name("standard-error method", str(se), SE_METHODS))
    return m


def predict(estimates: Mapping[str, float], concentration, model: str = "4pl") -> np.ndarray:
    """Evaluate a fitted curve at ``concentration`` (same unit as the fit)."""
    x = np.asarray(concentration, dtype=float)
    s = float(estimates.get("asymmetry", 1.0)) if _check_model(model) == "5pl" else 1.0
    if not (estimates["ec50"] > 0 and s > 0):
        raise SpecError(invalid_value("ec50 and asymmetry", (estimates["ec50"], s), "numbers > 0"))
    q = np.array([estimates.get("bottom", 0.0), estimates["top"], math.log(estimates["ec50"]), estimates["hill"], math.log(s)])
    with np.errstate(divide="ignore"):
        return _curve(q, np.log(x.ravel())).reshape(x.shape)


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


def _internal_to_theta(q: np.ndarray, design: _Design, g: int) -> np.ndarray:
    """Least-squares preimage of q_g under the design (used for starting joint fits)."""
    A, b = design.A[g], design.base[g]
    return np.linalg.lstsq(A, q - b, rcond=None)[0]


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------


def _ro(a) -> np.ndarray:
    a = np.array(a, dtype=float, copy=True)
    a.flags.writeable = False
    return a


def _clean(v):
    """JSON-safe float (NaN/inf -> None)."""
    return float(v) if v is not None and np.isfinite(v) else None


def _clean_ci(ci: tuple[float, float], open_ends: tuple[bool, bool] = (False, False)) -> list:
    """JSON-safe interval: open ends (no bound found) are ``null``."""
    return [None if o else _clean(c) for c, o in zip(ci, open_ends)]


@dataclass(frozen=True, slots=True, kw_only=True)
class CurveFit:
    """One fitted dose-response curve (immutable).

    Attributes
    ----------
    model : '3pl' | '4pl' | '5pl'
    group : group label (``None`` for an ungrouped fit)
    status : 'ok' | 'ec50_bound' | 'no_dose_response' | 'not_identifiable' (module docstring);
        ``notes`` say why
    estimates, se : parameter -> value (``ec50`` in the concentration unit of the data); ``NaN``
        where not estimable (JSON ``null``)
    ci95 : parameter -> (lower, upper); profile-likelihood for ``ec50``, Wald-t otherwise. An
        open profile end is ``0``/``inf`` here and ``null`` in JSON (``ec50_ci_open``)
    ci95_wald : parameter -> Wald-t interval (ec50's on the log scale, back-transformed)
    ec50_ci_open : (lower open, upper open) of the ``ec50`` profile interval
    ec50_bound : for ``status == 'ec50_bound'``: ``(highest concentration, None)`` (EC50 above
        the tested range) or ``(None, lowest positive concentration)``; else ``None``
    curve : parameters of the fitted curve (those of ``estimates`` and any fixed ones, with the
        extrapolated EC50 of an ``ec50_bound`` fit and the limiting asymmetry, ``inf``, of a 5PL at
        its Gompertz limit); ``None`` when no curve was fitted
    at_boundary : parameters that ran to a boundary of the parameter space and are not estimated
        (``('asymmetry',)`` for a 5PL whose asymmetry went to its Gompertz ``s -> inf`` or to its
        ``s -> 0`` limit: estimate, SE and CI ``NaN``, ``converged`` false, a note); else ``()``
    converged : the optimiser converged to a least-squares optimum inside the parameter space
    se_method : 'gauss-newton' | 'hessian'
    covariance : covariance of the free parameters (order ``parameters``; ec50 in its unit)
    fixed : parameters held fixed (3PL bottom; shared parameters are *not* fixed)
    n, df : observations and residual degrees of freedom (of the fit this curve came from)
    rss, sigma : weighted residual sum of squares and residual standard deviation
    loglik, aic, bic : Gaussian log-likelihood (weights included, as R's ``logLik.nls``)
    concentration, response, weights, fitted, outlier : per-observation arrays
    """

    model: str
    group: str | None
    estimates: Mapping[str, float]
    se: Mapping[str, float]
    ci95: Mapping[str, tuple[float, float]]
    ci95_wald: Mapping[str, tuple[float, float]]
    covariance: np.ndarray
    parameters: tuple[str, ...]
    fixed: Mapping[str, float]
    n: int
    df: int
    rss: float
    sigma: float
    loglik: float
    aic: float
    bic: float
    converged: bool
    notes: tuple[str, ...] = ()
    status: str = "ok"
    ec50_bound: tuple[float | None, float | None] | None = None
    ec50_ci_open: tuple[bool, bool] = (False, False)
    curve: Mapping[str, float] | None = None
    se_method: str = "gauss-newton"
    at_boundary: tuple[str, ...] = ()
    concentration: np.ndarray = field(repr=False)
    response: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    fitted: np.ndarray = field(repr=False)
    outlier: np.ndarray = field(repr=False)

    def predict(self, concentration) -> np.ndarray:
        """Curve value at ``concentration`` (``NaN`` when no curve was fitted)."""
        if self.curve is None:
            return np.full(np.shape(concentration), np.nan)
        return predict({**self.curve, **self.fixed}, concentration, self.model)

    def to_dict(self) -> dict:
        ci = {k: _clean_ci(v, self.ec50_ci_open if k == "ec50" else (False, False)) for k, v in self.ci95.items()}
        return {
            "model": self.model,
            "status": self.status,
            "estimates": {k: _clean(v) for k, v in self.estimates.items()},
            "se": {k: _clean(v) for k, v in self.se.items()},
            "ci95": ci,
            "ci95_wald": {k: [_clean(a), _clean(b)] for k, (a, b) in self.ci95_wald.items()},
            "ec50_bound": None if self.ec50_bound is None else [_clean(b) for b in self.ec50_bound],
            "se_method": self.se_method,
            "fixed": sorted(self.fixed),
            "n": self.n, "df": self.df, "rss": _clean(self.rss), "sigma": _clean(self.sigma),
            "aic": _clean(self.aic), "converged": self.converged, "at_boundary": list(self.at_boundary),
            "notes": list(self.notes),
            "outliers": [int(i) for i in np.flatnonzero(self.outlier)],
        }

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for k, v in self.estimates.items():
            lo, hi = self.ci95[k]
            rows.append({"group": self.group, "parameter": k, "estimate": v, "se": self.se[k], "ci95_low": lo, "ci95_high": hi,
                         "ci_method": "fixed" if k in self.fixed else ("profile" if k == "ec50" else "wald"),
                         "status": self.status})
        return pd.DataFrame(rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class RelativePotency:
    """Potency of ``test`` relative to ``reference``: ``ec50_reference / ec50_test``.

    Estimated from the parallel model (shared bottom, top, hill[, asymmetry]; one EC50 per
    group; Finney 1978). ``> 1`` means the test article is more potent. ``ci95`` is the
    profile-likelihood interval (open ends ``0``/``inf``, ``null`` in JSON), ``ci95_wald``
    the Wald interval on the log scale. ``NaN`` throughout, with ``notes``, when either group
    has no EC50 estimate (``status`` other than ``'ok'``).
    """

    reference: str
    test: str
    estimate: float
    se_log: float
    ci95: tuple[float, float]
    ci95_wald: tuple[float, float]
    ec50_ratio: float  # ec50_test / ec50_reference = 1 / estimate
    ci_open: tuple[bool, bool] = (False, False)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"reference": self.reference, "test": self.test, "estimate": _clean(self.estimate),
                "se_log": _clean(self.se_log), "ci95": _clean_ci(self.ci95, self.ci_open),
                "ci95_wald": [_clean(c) for c in self.ci95_wald], "ec50_ratio": _clean(self.ec50_ratio),
                "notes": list(self.notes)}


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelComparison:
    """Nested-model comparison: extra-sum-of-squares F-test and AIC."""

    reduced: str
    full: str
    f_statistic: float
    df_num: int
    df_den: int
    p_value: float
    aic_reduced: float
    aic_full: float

    @property
    def preferred_by_aic(self) -> str:
        return self.full if self.aic_full < self.aic_reduced else self.reduced

    def to_dict(self) -> dict:
        return {"reduced": self.reduced, "full": self.full, "f": _clean(self.f_statistic), "df_num": self.df_num,
                "df_den": self.df_den, "p_value": _clean(self.p_value), "aic_reduced": _clean(self.aic_reduced),
                "aic_full": _clean(self.aic_full), "preferred_by_aic": self.preferred_by_aic}


ParallelismTest = ModelComparison


@dataclass(frozen=True, slots=True, kw_only=True)
class DoseResponseResult:
    """Result of :func:`fit_dose_response` (immutable).

    ``groups``: label -> :class:`CurveFit`; ``relative_potency``: test label ->
    :class:`RelativePotency` vs ``reference``; ``parallelism``: F-test of the parallel
    (shared-shape) model against separate curves, over the groups with an EC50 (``None`` for
    fewer than two); ``notes``: remarks on the whole analysis.
    """

    model: str
    concentration_column: str
    response_column: str
    group_column: str | None
    reference: str | None
    groups: Mapping[str, CurveFit]
    relative_potency: Mapping[str, RelativePotency]
    parallelism: ModelComparison | None
    shared: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def any_ec50(self) -> bool:
        """Whether at least one group has an EC50 estimate (``status == 'ok'``)."""
        return any(c.status == "ok" for c in self.groups.values())

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "concentration": self.concentration_column,
            "response": self.response_column,
            "group_column": self.group_column,
            "reference": self.reference,
            "shared": list(self.shared),
            "groups": {g: f.to_dict() for g, f in self.groups.items()},
            "relative_potency": {g: r.to_dict() for g, r in self.relative_potency.items()},
            "parallelism": self.parallelism.to_dict() if self.parallelism else None,
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per group and parameter."""
        return pd.concat([f.to_frame() for f in self.groups.values()], ignore_index=True)


# ---------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Group:
    """One group's observations."""

    label: str | None
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray


@dataclass(frozen=True, slots=True)
class _JointFit:
    """A least-squares solution over one or more groups (see :class:`moasim.assay._nls._Design`)."""

    model: str
    design: _Design
    data: _Data
    theta: np.ndarray
    rss: float
    converged: bool
    cov: np.ndarray
    df: int
    weights: np.ndarray  # all observations' weights, in data order
    se_method: str
    at_clip: tuple[int, ...] = ()  # asymmetry columns of theta on their clip (held fixed; see _settle_asymmetry)

    def q(self, g: int) -> np.ndarray:
        return self.design.base[g] + self.design.A[g] @ self.theta


def _validate_xyw(conc, resp, weights, where: str = "data"):
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


def _no_effect(grp: _Group, rss: float, df: int, n_params: int, alpha: float | None, model: str) -> str | None:
    """Note when the curve fits no better than a horizontal line (extra-sum-of-squares F-test).

    The horizontal line is nested in every model here (``hill = 0``), with ``n_params - 1``
    fewer parameters (Motulsky & Christopoulos 2004, ch. 22; drc's ``noEffect`` is the
    likelihood-ratio version).
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


def _best_start_fit(model, design: _Design, data: _Data, groups: Sequence[_Group], fixed_bottom: float):
    """Multi-start least squares: per-group self-start, combined through the design; 4PL seeds 5PL."""
    P = len(design.names)
    per_group = []
    for grp in groups:
        base_kind = "4pl" if model in ("4pl", "5pl") else "3pl"
        c = _self_start(grp.x, grp.y, base_kind, fixed_bottom)
        d1 = _build_design(base_kind, 1, (), 0, fixed_bottom)
        dd = _Data((_log_dose(grp.x),), (grp.y,), (np.ones_like(grp.y),))
        th, _, _ = _best_fit(d1, dd, [_internal_to_theta(cc, d1, 0) for cc in c])
        if th is not None:
            c = [d1.base[0] + d1.A[0] @ th] + c
        per_group.append(c)
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
        if model.startswith("5pl"):
            for ls in (math.log(0.5), math.log(2.0)):
                t2 = th.copy()
                for j, nm in enumerate(design.names):
                    if nm.startswith("asymmetry"):
                        t2[j] = ls
                starts.append(t2)
    return _best_fit(design, data, starts)


def _finish(model, design: _Design, data: _Data, groups: Sequence[_Group], theta, rss, ok, se_method: str) -> _JointFit:
    """Canonical orientation, sanity checks and covariance of a least-squares solution."""
    if theta is None or not np.isfinite(rss):
        raise FitError(invalid_value("fit", "no convergence", "data a log-logistic curve can describe"))
    if model == "4pl":
        theta, rss, ok = _canonical(theta, rss, ok, design, data)
    _check_estimates(theta, design, [grp.x for grp in groups])
    df = data.n - len(design.names)
    if df <= 0:
        raise FitError(invalid_value("residual degrees of freedom", df, "> 0"))
    # a 5PL asymmetry running to its limit (s -> inf: Gompertz) is put on its clip and held there
    theta, rss, ok, at_clip = _settle_asymmetry(theta, rss, ok, design, data)
    _, cov = _cov_theta(theta, design, data, rss, df, se_method, fixed=at_clip)
    return _JointFit(model=model, design=design, data=data, theta=theta, rss=rss, converged=ok, cov=cov, df=df,
                     weights=np.concatenate([grp.w for grp in groups]), se_method=se_method, at_clip=at_clip)


def _fit_groups(model, groups: Sequence[_Group], shared, ref, fixed_bottom, se_method: str = "gauss-newton") -> _JointFit:
    design = _build_design(model, len(groups), shared, ref, fixed_bottom)
    data = _Data.of([g.x for g in groups], [g.y for g in groups], [g.w for g in groups])
    P = len(design.names)
    if data.n <= P:
        raise FitError(invalid_value("design", f"{data.n} observations", f"more than {P} for {P} free parameters"))
    theta, rss, ok = _best_start_fit(model, design, data, groups, fixed_bottom)
    return _finish(model, design, data, groups, theta, rss, ok, se_method)


def _refit_from(fit: _JointFit, theta0: np.ndarray, groups: Sequence[_Group]) -> _JointFit:
    """Polish a better solution met on the profile (the first fit was a local optimum)."""
    theta, rss, ok = _lsq(theta0, fit.design, fit.data, max_nfev=1000)
    if not rss < fit.rss:
        return fit
    return _finish(fit.model, fit.design, fit.data, groups, theta, rss, ok, fit.se_method)


def _numerical_guard(fn):
    """Turn an unexpected numerical failure inside a fit into a one-line :class:`FitError`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MoasimError:
            raise
        except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
            raise FitError(invalid_value("fit", f"numerical failure ({type(exc).__name__}: {str(exc)[:60]})",
                                         "data a log-logistic curve can describe")) from None

    return wrapper


def _loglik(rss: float, n: int, w: np.ndarray) -> float:
    # Gaussian log-likelihood at the MLE of sigma, weights included (R: logLik.nls)
    if rss <= 0.0:  # exact interpolation: unbounded likelihood
        return math.inf
    return -0.5 * n * (math.log(2 * math.pi * rss / n) + 1.0) + 0.5 * float(np.sum(np.log(w)))


def _ec50_scan(xs: Sequence[np.ndarray]) -> tuple[float, float]:
    """ln-EC50 range the profile search scans: the positive tested concentrations, one decade wider."""
    pos = np.concatenate([x[x > 0] for x in xs])
    return float(np.log(pos.min())) - _LN10, float(np.log(pos.max())) + _LN10


def _profile_notes(pi: ProfileInterval, what: str) -> tuple[str, ...]:
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


def _external(q: np.ndarray, model: str) -> dict[str, float]:
    est = {"bottom": q[0], "top": q[1], "ec50": _exp(q[2]), "hill": q[3]}
    if model.startswith("5pl"):
        est["asymmetry"] = _exp(q[4])
    return {k: float(v) for k, v in est.items()}


def _names(model: str) -> tuple[str, ...]:
    return _ALL[:4] + (("asymmetry",) if model.startswith("5pl") else ())


def _curve_result(fit: _JointFit, g: int, grp: _Group, *, outlier_alpha: float | None,
                  profile: Callable[[int, float], ProfileInterval] | None) -> CurveFit:
    """The reported curve of group ``g`` of a joint fit: estimates, SEs, intervals, status, notes.

    ``profile(g, se_ln_ec50)`` gives the EC50's profile interval (``None``: Wald on the log scale).
    """
    model, design, theta, df = fit.model, fit.design, fit.theta, fit.df
    Ag = design.A[g]
    q = fit.q(g)
    est = _external(q, model)
    curve = dict(est)
    free = _free_names(model)
    idx = [_ALL.index(p) for p in free]
    # covariance of the external parameters: D A cov A^T D, D = d ext / d internal (exp for logs)
    D = np.diag([1.0, 1.0, est["ec50"], 1.0, est.get("asymmetry", 1.0)])
    with np.errstate(invalid="ignore", over="ignore"):  # degenerate fits: inf/NaN entries, reported as such
        cov_q = D @ Ag @ fit.cov @ Ag.T @ D
        var = np.diag(cov_q)
        # a negative variance (Hessian SEs at a saddle) has no standard error
        se_all = np.where(var >= -1e-12 * np.nanmax(np.abs(var), initial=0.0), np.sqrt(np.clip(var, 0, None)), np.nan)
    cov = cov_q[np.ix_(idx, idx)]
    tq = stats.t.ppf(0.5 + _LEVEL / 2, df)
    se, ci, ciw = {}, {}, {}
    fixed = {}
    for j, name in enumerate(_names(model)):
        if name not in free:
            fixed[name] = est[name]
            se[name], ci[name], ciw[name] = 0.0, (est[name], est[name]), (est[name], est[name])
            continue
        se[name] = float(se_all[j])
        ciw[name] = (est[name] - tq * se[name], est[name] + tq * se[name])
        ci[name] = ciw[name]
    # EC50: Wald on the log scale, profile likelihood for ci95
    var_ln = float(Ag[2] @ fit.cov @ Ag[2])
    se_ln = math.sqrt(max(var_ln, 0.0)) if fit.se_method == "gauss-newton" or var_ln >= 0 else math.nan
    ciw["ec50"] = (_exp(q[2] - tq * se_ln), _exp(q[2] + tq * se_ln))
    nan2 = (math.nan, math.nan)
    boundary = tuple(k for k in fit.at_clip if Ag[4, k] != 0)  # this curve's asymmetry on its clip
    if model.startswith("5pl") and not boundary:
        se_ls = math.sqrt(max(float(Ag[4] @ fit.cov @ Ag[4]), 0.0))
        ci["asymmetry"] = ciw["asymmetry"] = (_exp(q[4] - tq * se_ls), _exp(q[4] + tq * se_ls))
    notes = list(_design_notes(est, grp.x, fit.converged))
    if boundary:
        # the least-squares problem has no minimum in the 5PL: report the limit, not a number
        est["asymmetry"] = se["asymmetry"] = math.nan
        ci["asymmetry"] = ciw["asymmetry"] = nan2
        curve["asymmetry"] = math.inf if q[4] > 0 else _exp(-ASYM_CLIP)
        a = free.index("asymmetry")
        cov = cov.copy()
        cov[a, :] = cov[:, a] = math.nan
    status, bound, ci_open = "ok", None, (False, False)
    out_of_range = _ec50_bound(q, grp.x)
    if boundary:
        ec50_ci = None if out_of_range is not None else ("profile" if profile is not None else "wald")
        notes.append(_asymmetry_note(q[4] > 0, ec50_ci))
    if out_of_range is not None:
        status, (bound, note) = "ec50_bound", out_of_range
        notes.append(note)
        est["ec50"], se["ec50"], ci["ec50"], ciw["ec50"] = math.nan, math.nan, nan2, nan2
    else:
        step = _step_bracket(q, grp.x)
        if step is not None:
            notes.append(f"step-like fit: no tested concentration lies within the 10-90% transition, so the EC50 is located "
                         f"only between {step[0]:.4g} and {step[1]:.4g} and |hill| is only bounded below; their SEs are not reported")
            se["ec50"] = se["hill"] = math.nan
            ciw["ec50"] = ciw["hill"] = ci["hill"] = nan2
        if profile is not None:
            pi = profile(g, se_ln)
            ci["ec50"] = (_exp(pi.lower), _exp(pi.upper))
            ci_open = (pi.lower_open, pi.upper_open)
            notes.extend(_profile_notes(pi, "EC50"))
        else:
            ci["ec50"] = ciw["ec50"]
    with np.errstate(divide="ignore"):
        fitted = _curve(q, np.log(grp.x))
    resid = np.sqrt(grp.w) * (grp.y - fitted)
    outlier = _flag_outliers(resid, fit, g, outlier_alpha)
    n = fit.data.n
    ll = _loglik(fit.rss, n, fit.weights)
    k = len(design.names) + 1
    return CurveFit(
        model=model[:3], group=grp.label, estimates=MappingProxyType(est), se=MappingProxyType(se),
        ci95=MappingProxyType(ci), ci95_wald=MappingProxyType(ciw), covariance=_ro(cov), parameters=free,
        fixed=MappingProxyType(fixed), n=n, df=df, rss=fit.rss, sigma=math.sqrt(fit.rss / df), loglik=ll,
        aic=-2 * ll + 2 * k, bic=-2 * ll + math.log(n) * k, converged=fit.converged and not boundary, notes=tuple(notes),
        status=status, ec50_bound=bound, ec50_ci_open=ci_open, curve=MappingProxyType(curve), se_method=fit.se_method,
        at_boundary=("asymmetry",) if boundary else (),
        concentration=_ro(grp.x), response=_ro(grp.y), weights=_ro(grp.w), fitted=_ro(fitted), outlier=_ro(outlier).astype(bool),
    )


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


def _no_fit(model: str, grp: _Group, status: str, notes: Sequence[str], bottom: float, se_method: str) -> CurveFit:
    """A group with no fitted curve: NaN estimates (fixed ones kept), the reasons in ``notes``."""
    free = _free_names(model)
    fixed = {} if "bottom" in free else {"bottom": float(bottom)}
    nan2 = (math.nan, math.nan)
    est = {k: fixed.get(k, math.nan) for k in _names(model)}
    se = {k: (0.0 if k in fixed else math.nan) for k in est}
    ci = {k: ((fixed[k], fixed[k]) if k in fixed else nan2) for k in est}
    n = int(grp.x.size)
    return CurveFit(
        model=model[:3], group=grp.label, estimates=MappingProxyType(est), se=MappingProxyType(se),
        ci95=MappingProxyType(ci), ci95_wald=MappingProxyType(dict(ci)), covariance=_ro(np.full((len(free), len(free)), np.nan)),
        parameters=free, fixed=MappingProxyType(fixed), n=n, df=n - len(free), rss=math.nan, sigma=math.nan,
        loglik=math.nan, aic=math.nan, bic=math.nan, converged=False, notes=tuple(notes), status=status, curve=None,
        se_method=se_method, concentration=_ro(grp.x), response=_ro(grp.y), weights=_ro(grp.w),
        fitted=_ro(np.full(n, np.nan)), outlier=np.zeros(n, dtype=bool),
    )


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


def _flag_outliers(resid_g, fit: _JointFit, g: int, alpha) -> np.ndarray:
    """Externally studentised residuals beyond the Bonferroni t limit (Cook & Weisberg 1982)."""
    df, rss = fit.df, fit.rss
    if alpha is None or df < 2:
        return np.zeros(resid_g.size, dtype=bool)
    J = _jacobian(fit.theta, fit.design, fit.data)
    with np.errstate(all="ignore"):
        H = np.einsum("ij,jk,ik->i", J, np.linalg.pinv(J.T @ J), J)
    start = sum(a.size for a in fit.data.y[:g])
    h = np.clip(H[start:start + resid_g.size], 0, 1 - 1e-12)
    n = fit.data.n
    s2_i = (rss - resid_g**2 / (1 - h)) / (df - 1)
    with np.errstate(all="ignore"):
        r_ext = resid_g / np.sqrt(np.clip(s2_i, 1e-300, None) * (1 - h))
    crit = stats.t.ppf(1 - alpha / (2 * n), df - 1)
    return np.abs(r_ext) > crit


def _check_estimates(theta, design: _Design, xs) -> None:
    """FitError when the optimum is degenerate (non-finite parameters).

    An EC50 far outside the tested range is not an error: the curve's status says it is only
    bounded (:func:`_ec50_bound`).
    """
    if not np.all(np.isfinite(theta)):
        raise FitError(invalid_value("fit", "non-finite parameter estimates", "data a log-logistic curve can describe"))


def _screen(model: str, grp: _Group, n_params: int, bottom: float, se_method: str) -> CurveFit | None:
    """A no-fit result for a group whose design or flat response rules out a curve, else None."""
    where = f"group {grp.label!r}" if grp.label is not None else "data"
    _require_observations(grp.x, n_params, where)
    problem = _design_problem(grp.x, n_params)
    if problem is not None:
        return _no_fit(model, grp, "not_identifiable", [problem], bottom, se_method)
    if _all_equal(grp.y):
        return _no_fit(model, grp, "no_dose_response", [_no_effect(grp, 0.0, 1, n_params, None, model)], bottom, se_method)
    return None


@_numerical_guard
def fit_curve(concentration, response, *, model: str = "4pl", weights=None, bottom: float = 0.0,
              fix_bottom: float | None = None, outlier_alpha: float | None = 0.05, profile: bool = True,
              label: str | None = None, se: str = "gauss-newton", no_effect_alpha: float | None = 0.05) -> CurveFit:
    """Fit one log-logistic curve to arrays.

    Parameters
    ----------
    concentration
        Doses (>= 0, any unit; zeros are vehicle/zero-dose wells). Replicates are repeated values.
    response
        Readout (e.g. luminescence, RLU).
    model
        ``'3pl'`` (bottom fixed at ``bottom``), ``'4pl'`` or ``'5pl'``.
    weights
        Optional per-observation weights ``w_i`` (minimise ``sum w_i r_i^2``; e.g. ``1/var``).
    bottom
        The fixed bottom of the 3PL.
    fix_bottom
        Hold ``bottom`` at this value in a 4PL (= 3PL) or 5PL fit.
    outlier_alpha
        Family-wise level of the studentised-residual outlier flag (``None``: no flagging).
    profile
        Profile-likelihood interval for the EC50 (else Wald on the log scale).
    se
        ``'gauss-newton'`` (R's ``nls``, Prism, ``curve_fit``) or ``'hessian'`` (R's ``drc``).
    no_effect_alpha
        Level of the F-test against a horizontal line: ``p >= no_effect_alpha`` gives status
        ``'no_dose_response'`` and no estimates (``None``: only exactly equal responses do).

    Returns
    -------
    CurveFit
        Check ``.status`` (``'ok'`` or why there is no EC50; see the module docstring).

    Raises
    ------
    FitError
        No more observations than free parameters, or no finite least-squares optimum.
    """
    kind = _kind(_check_model(model), fix_bottom)
    se = _check_se(se)
    if fix_bottom is not None:
        bottom = float(fix_bottom)
    x, y, w = _validate_xyw(concentration, response, weights)
    grp = _Group(label, x, y, w)
    p = len(_free_names(kind))
    blocked = _screen(kind, grp, p, bottom, se)
    if blocked is not None:
        return blocked
    fit = _fit_groups(kind, [grp], (), 0, bottom, se)
    flat = _no_effect(grp, fit.rss, fit.df, p, no_effect_alpha, kind[:3])
    if flat is not None:
        return _no_fit(kind, grp, "no_dose_response", [flat], bottom, se)
    pi = None
    if profile and _ec50_bound(fit.q(0), x) is None:
        pi = _ec50_profile(fit, x)
        if pi.better is not None:  # the profile met a lower RSS: refit from there, once
            fit = _refit_from(fit, pi.better, [grp])
            pi = _ec50_profile(fit, x) if _ec50_bound(fit.q(0), x) is None else None
    return _curve_result(fit, 0, grp, outlier_alpha=outlier_alpha, profile=(lambda g, s: pi) if pi is not None else None)


def _ec50_profile(fit: _JointFit, x: np.ndarray) -> ProfileInterval:
    k = fit.design.names.index("ec50")
    se_k = math.sqrt(max(float(fit.cov[k, k]), 0.0)) if np.isfinite(fit.cov[k, k]) else math.nan
    return profile_interval(fit.theta, fit.rss, fit.design, fit.data, k, se_k, fit.df, _ec50_scan([x]))


def fit_4pl(concentration, response, **kw) -> CurveFit:
    """Four-parameter log-logistic fit of arrays (see :func:`fit_curve`)."""
    return fit_curve(concentration, response, model="4pl", **kw)


def fit_5pl(concentration, response, **kw) -> CurveFit:
    """Five-parameter (asymmetric) log-logistic fit of arrays (see :func:`fit_curve`)."""
    return fit_curve(concentration, response, model="5pl", **kw)


def compare_models(reduced: CurveFit, full: CurveFit) -> ModelComparison:
    """Extra-sum-of-squares F-test and AIC for nested fits of the same data (3PL < 4PL < 5PL)."""
    if reduced.n != full.n or not np.array_equal(reduced.response, full.response):
        raise SpecError(invalid_value("model comparison", "fits of different data", "two fits of the same observations"))
    if full.df >= reduced.df:
        raise SpecError(invalid_value("model comparison", f"{reduced.model} vs {full.model}", "a reduced model with fewer parameters first"))
    if reduced.curve is None or full.curve is None:
        raise FitError(invalid_value("model comparison", f"statuses {reduced.status!r}, {full.status!r}", "two fitted curves"))
    return _f_test(reduced.model, full.model, reduced.rss, reduced.df, full.rss, full.df, reduced.aic, full.aic)


def _f_test(nr, nf, rss_r, df_r, rss_f, df_f, aic_r, aic_f) -> ModelComparison:
    dn = df_r - df_f
    F = ((rss_r - rss_f) / dn) / (rss_f / df_f) if rss_f > 0 else np.inf
    F = max(F, 0.0)
    p = float(stats.f.sf(F, dn, df_f))
    return ModelComparison(reduced=nr, full=nf, f_statistic=float(F), df_num=dn, df_den=df_f, p_value=p,
                           aic_reduced=float(aic_r), aic_full=float(aic_f))


@dataclass(frozen=True, slots=True)
class _Options:
    """Fit settings shared by every group of one :func:`fit_dose_response` call."""

    model: str  # internal kind ('3pl', '4pl', '5pl', '5pl0')
    shared: tuple[str, ...]
    bottom: float
    outlier_alpha: float | None
    profile: bool
    se_method: str
    no_effect_alpha: float | None


@_numerical_guard
def fit_dose_response(data: pd.DataFrame | str | os.PathLike, *, concentration: str = "concentration",
                      response: str = "response", group: str | None = None, model: str = "4pl",
                      weights: str | None = None, shared: Sequence[str] = (), reference: str | None = None,
                      bottom: float = 0.0, fix_bottom: float | None = None, outlier_alpha: float | None = 0.05,
                      exclude_outliers: bool = False, profile: bool = True, se: str = "gauss-newton",
                      no_effect_alpha: float | None = 0.05) -> DoseResponseResult:
    """Fit dose-response curves per group, with relative potency and a parallelism test.

    Parameters
    ----------
    data
        Tidy table (DataFrame or CSV/TSV/Excel path): one row per well/replicate.
    concentration, response, group, weights
        Column names. ``group`` splits curves (compound, cell line...); ``weights`` holds
        per-row weights.
    model
        ``'3pl'``, ``'4pl'`` or ``'5pl'``.
    shared
        Parameters common to all groups (e.g. ``('bottom', 'top')``); the others are fitted per
        group in one joint least-squares problem. Empty: independent fits per group. Groups
        with no dose-response or a design that cannot determine a curve are left out of it.
    reference
        Reference group for relative potency (default: the first group in file order).
    bottom
        The fixed bottom of the 3PL.
    fix_bottom
        Hold ``bottom`` at this value (4PL -> 3PL; 5PL with fixed bottom).
    exclude_outliers
        Refit once without the flagged outliers; the refit curves hold only the kept rows.
    se
        Standard errors: ``'gauss-newton'`` (R's ``nls``) or ``'hessian'`` (R's ``drc``).
    no_effect_alpha
        Level of the per-group F-test against a horizontal line (``None``: off).

    Returns
    -------
    DoseResponseResult
        ``.groups[label]`` curve fits (each with a ``status``); ``.relative_potency[test]`` vs
        the reference from the parallel model; ``.parallelism`` F-test; ``.to_frame()`` long
        table; ``.to_dict()``. A group without an EC50 does not fail the others.

    Raises
    ------
    FitError
        A group has no more observations than free parameters.
    """
    model = _kind(_check_model(model), fix_bottom)
    se = _check_se(se)
    if fix_bottom is not None:
        bottom = float(fix_bottom)
    df_in = read_table(data) if isinstance(data, (str, os.PathLike)) else data
    if not isinstance(df_in, pd.DataFrame):
        raise DataError(invalid_value("data", type(df_in).__name__, "a pandas DataFrame or a CSV/TSV/Excel path"))
    if df_in.shape[0] == 0:
        raise DataError(invalid_value("data", "0 rows", "at least one observation"))
    require_columns(df_in, [concentration, response, group, weights])
    bad_shared = [s for s in shared if s not in _free_names(model)]
    if bad_shared:
        raise SpecError(unknown_name("shared parameter", bad_shared[0], _free_names(model)))
    x_all = numeric_column(df_in, concentration, minimum=0.0)
    y_all = numeric_column(df_in, response)
    w_all = numeric_column(df_in, weights) if weights else np.ones_like(x_all)
    if np.any(w_all <= 0):
        raise DataError(invalid_value("weights", float(w_all[w_all <= 0][0]), "numbers > 0", f"column {weights!r}"))
    labels = [str(v) for v in pd.unique(df_in[group].astype(str))] if group else ["all"]
    gcol = df_in[group].astype(str).to_numpy() if group else np.full(x_all.size, "all")
    if reference is not None and str(reference) not in labels:
        raise SpecError(unknown_name("reference group", str(reference), labels))
    ref = labels.index(str(reference)) if reference is not None else 0
    opts = _Options(model=model, shared=tuple(shared), bottom=bottom, outlier_alpha=outlier_alpha, profile=profile,
                    se_method=se, no_effect_alpha=no_effect_alpha)
    keep = np.ones(x_all.size, dtype=bool)
    for _ in range(2 if exclude_outliers else 1):
        groups = [_Group(g, x_all[(gcol == g) & keep], y_all[(gcol == g) & keep], w_all[(gcol == g) & keep]) for g in labels]
        curves = _fit_all(groups, ref, opts)
        if exclude_outliers and keep.all():
            flags = np.zeros(x_all.size, dtype=bool)
            for g, c in zip(labels, curves.values()):
                flags[np.flatnonzero(gcol == g)[c.outlier]] = True
            if not flags.any():
                break
            keep = ~flags
    potency, parallel, notes = {}, None, ()
    if len(labels) > 1:
        potency, parallel, notes = _relative_potency(groups, ref, curves, opts)
    return DoseResponseResult(model=model[:3], concentration_column=concentration, response_column=response,
                              group_column=group, reference=labels[ref] if len(labels) > 1 else None,
                              groups=MappingProxyType(curves), relative_potency=MappingProxyType(potency),
                              parallelism=parallel, shared=tuple(shared), notes=notes)


def _fit_all(groups: Sequence[_Group], ref: int, o: _Options) -> dict[str, CurveFit]:
    model = o.model
    p_all = len(_free_names(model))
    if not o.shared:
        curves: dict[str, CurveFit] = {}
        for grp in groups:
            _require_observations(grp.x, p_all, f"group {grp.label!r}")
            try:
                curves[grp.label] = fit_curve(grp.x, grp.y, model=model[:3], fix_bottom=_fb(model, o.bottom), weights=grp.w,
                                              outlier_alpha=o.outlier_alpha, profile=o.profile, label=grp.label,
                                              se=o.se_method, no_effect_alpha=o.no_effect_alpha)
            except FitError as exc:  # one group's failure does not fail the others
                curves[grp.label] = _no_fit(model, grp, "not_identifiable", [f"not identifiable: {exc}"], o.bottom, o.se_method)
        return curves
    # joint fit with shared parameters, over the groups that can carry a curve
    p_g = len([n for n in _free_names(model) if n not in o.shared])
    out: dict[str, CurveFit] = {}
    for grp in groups:
        blocked = _screen(model, grp, p_g, o.bottom, o.se_method)
        if blocked is None and _design_problem(grp.x, p_all) is None and grp.x.size > p_all:
            try:  # F-test against a horizontal line on the group's own curve
                sep = fit_curve(grp.x, grp.y, model=model[:3], fix_bottom=_fb(model, o.bottom), weights=grp.w, outlier_alpha=None,
                                profile=False, label=grp.label, se=o.se_method, no_effect_alpha=o.no_effect_alpha)
                if sep.status == "no_dose_response":
                    blocked = sep
            except FitError:
                pass
        if blocked is not None:
            out[grp.label] = blocked
    kept = [grp for grp in groups if grp.label not in out]
    if kept:
        ref_k = next((i for i, grp in enumerate(kept) if grp.label == groups[ref].label), 0)
        fit = _fit_groups(model, kept, o.shared, ref_k, o.bottom, o.se_method)

        def prof(g, se):
            if "ec50" in o.shared:
                k = fit.design.names.index("ec50")
                return profile_interval(fit.theta, fit.rss, fit.design, fit.data, k, se, fit.df, _ec50_scan([c.x for c in kept]))
            # re-parameterise with group g as the EC50 reference, then profile its coordinate
            f2 = _fit_groups(model, kept, o.shared, g, o.bottom, o.se_method)
            k = f2.design.names.index(f"ec50[{g}]")
            return profile_interval(f2.theta, f2.rss, f2.design, f2.data, k, se, fit.df, _ec50_scan([kept[g].x]))

        for i, grp in enumerate(kept):
            out[grp.label] = _curve_result(fit, i, grp, outlier_alpha=o.outlier_alpha, profile=prof if o.profile else None)
    return {grp.label: out[grp.label] for grp in groups}


def _no_potency(ref: str, test: str, note: str) -> RelativePotency:
    nan2 = (math.nan, math.nan)
    return RelativePotency(reference=ref, test=test, estimate=math.nan, se_log=math.nan, ci95=nan2, ci95_wald=nan2,
                           ec50_ratio=math.nan, notes=(note,))


def _relative_potency(groups: Sequence[_Group], ref: int, curves: Mapping[str, CurveFit], o: _Options):
    """Relative potencies vs ``groups[ref]`` and the parallelism F-test, over the groups with an EC50."""
    model = o.model
    labels = [grp.label for grp in groups]
    ok = [i for i, lab in enumerate(labels) if curves[lab].status == "ok"]
    sub = [groups[i] for i in ok]
    ref_lab = labels[ref]
    notes = []
    if len(sub) < len(groups) and len(sub) >= 2:
        notes.append("relative potency and the parallelism test use only the groups with an EC50 estimate: "
                     + ", ".join(repr(g.label) for g in sub))
    fits = {}
    fit = None
    if len(sub) >= 2:
        ref_s = ok.index(ref) if ref in ok else 0
        shape = tuple(n for n in _free_names(model) if n != "ec50")
        fit = _fit_groups(model, sub, shape, ref_s, o.bottom, o.se_method)
        if ref in ok:
            tq = stats.t.ppf(0.5 + _LEVEL / 2, fit.df)
            for s, grp in enumerate(sub):
                if s == ref_s:
                    continue
                k = fit.design.names.index(f"delta[{s}]")
                d, se_d = fit.theta[k], math.sqrt(max(fit.cov[k, k], 0.0))
                rp_notes: tuple[str, ...] = ()
                lo_open = hi_open = False
                if o.profile:
                    scan = _delta_scan(grp.x, groups[ref].x)
                    pi = profile_interval(fit.theta, fit.rss, fit.design, fit.data, k, se_d, fit.df, scan)
                    lo, hi = pi.lower, pi.upper
                    lo_open, hi_open = pi.lower_open, pi.upper_open
                    rp_notes = _profile_notes(pi, "relative potency")
                else:
                    lo, hi = d - tq * se_d, d + tq * se_d
                if fit.at_clip:
                    side = "Gompertz limit" if fit.theta[fit.at_clip[0]] > 0 else "asymmetry -> 0"
                    rp_notes += (f"5PL asymmetry of the parallel model at its boundary ({side}): the SE and Wald interval "
                                 f"of the log potency are conditional on this limit"
                                 + ("; ci95 is the profile-likelihood interval, over all asymmetries" if o.profile else ""),)
                # potency = ec50_ref / ec50_test = exp(-delta): the interval flips
                fits[grp.label] = RelativePotency(reference=ref_lab, test=grp.label, estimate=_exp(-d), se_log=se_d,
                                                  ci95=(_exp(-hi), _exp(-lo)), ci_open=(hi_open, lo_open),
                                                  ci95_wald=(_exp(-d - tq * se_d), _exp(-d + tq * se_d)), ec50_ratio=_exp(d),
                                                  notes=rp_notes)
    out = {}
    for i, lab in enumerate(labels):
        if i == ref:
            continue
        if lab in fits:
            out[lab] = fits[lab]
        elif ref not in ok:
            out[lab] = _no_potency(ref_lab, lab, f"no relative potency: the reference group {ref_lab!r} has no EC50 estimate "
                                                 f"(status {curves[ref_lab].status})")
        else:
            out[lab] = _no_potency(ref_lab, lab, f"no relative potency: group {lab!r} has no EC50 estimate "
                                                 f"(status {curves[lab].status})")
    parallel = _parallelism(fit, sub, [curves[g.label] for g in sub], o) if fit is not None else None
    return out, parallel, tuple(notes)


def _delta_scan(x_test: np.ndarray, x_ref: np.ndarray) -> tuple[float, float]:
    """Range of ln(EC50_test / EC50_ref) the tested concentrations speak to, one decade wider."""
    t, r = _ec50_scan([x_test]), _ec50_scan([x_ref])
    return t[0] - r[1], t[1] - r[0]


def _parallelism(fit: _JointFit, groups: Sequence[_Group], curves: Sequence[CurveFit], o: _Options) -> ModelComparison | None:
    """Parallel model (shared shape) vs separate curves: F-test and AIC."""
    model = o.model
    independent = all(c.df == c.n - len(c.parameters) for c in curves)
    if independent:
        rss_sep = sum(c.rss for c in curves)
    else:
        rss_sep = sum(fit_curve(grp.x, grp.y, model=model[:3], fix_bottom=_fb(model, o.bottom), weights=grp.w, outlier_alpha=None,
                                profile=False, no_effect_alpha=None).rss for grp in groups)
    n = fit.data.n
    p_sep = len(groups) * len(_free_names(model))
    df_sep = n - p_sep
    k_par = len(fit.design.names) + 1
    aic_par = -2 * _loglik(fit.rss, n, fit.weights) + 2 * k_par
    aic_sep = -2 * _loglik(rss_sep, n, fit.weights) + 2 * (p_sep + 1)
    return _f_test("parallel", "separate", fit.rss, fit.df, rss_sep, df_sep, aic_par, aic_sep) if df_sep > 0 else None


# ---------------------------------------------------------------------------------------
# Plot
# ---------------------------------------------------------------------------------------


def plot_dose_response(result: DoseResponseResult | CurveFit, path: str | os.PathLike | None = None, *, unit: str = ""):
    """Data and fitted curves per group on a log concentration axis.

    Zero-dose wells are drawn at one decade below the lowest positive concentration, on a
    separate "0" tick. A group with no dose-response gets a dashed line at its mean response,
    a group with no fitted curve its points only. Returns the matplotlib Figure (saved to
    ``path`` when given).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    curves = result.groups if isinstance(result, DoseResponseResult) else {result.group or "data": result}
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    pos = np.concatenate([c.concentration[c.concentration > 0] for c in curves.values()])
    lo, hi = (pos.min(), pos.max()) if pos.size else (1e-3, 1.0)
    x0 = lo / 10.0
    u = f" {unit}" if unit else ""
    for i, (lab, c) in enumerate(curves.items()):
        color = f"C{i}"
        xp = np.where(c.concentration > 0, c.concentration, x0)
        ax.scatter(xp[~c.outlier], c.response[~c.outlier], s=18, color=color, alpha=0.8)
        if c.outlier.any():
            ax.scatter(xp[c.outlier], c.response[c.outlier], s=40, marker="x", color=color)
        grid = np.geomspace(lo / 3, hi * 3, 300)
        if c.status == "ok":
            ax.plot(grid, c.predict(grid), color=color, label=f"{lab}: EC50 {c.estimates['ec50']:.3g}{u}")
        elif c.status == "ec50_bound":
            b_lo, b_hi = c.ec50_bound
            text = f"EC50 > {b_lo:.3g}{u}" if b_lo is not None else f"EC50 < {b_hi:.3g}{u}"
            ax.plot(grid, c.predict(grid), color=color, ls="--", label=f"{lab}: {text}")
        elif c.status == "no_dose_response":
            ax.axhline(float(np.sum(c.weights * c.response) / np.sum(c.weights)), color=color, ls=":",
                       label=f"{lab}: no dose-response")
        else:
            ax.scatter([], [], color=color, label=f"{lab}: not identifiable")
    ax.set_xscale("log")
    if any((c.concentration == 0).any() for c in curves.values()):
        # zero dose drawn at x0 on its own tick, set off by a dotted break line
        ax.axvline(np.sqrt(x0 * lo / 3), color="0.7", lw=0.8, ls=":")
        ticks = [t for t in ax.get_xticks() if lo / 3 <= t <= hi * 3]
        ax.set_xticks([x0, *ticks])
        ax.set_xticklabels(["0"] + [f"$10^{{{int(round(np.log10(t)))}}}$" for t in ticks])
        ax.set_xlim(x0 / 2, hi * 4)
    ax.set_xlabel(f"concentration{(' (' + unit + ')') if unit else ''}")
    ax.set_ylabel("response")
    ax.legend(fontsize=8, frameon=False)
    model = result.model if hasattr(result, "model") else ""
    ax.set_title(f"{model.upper()} fit")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig
