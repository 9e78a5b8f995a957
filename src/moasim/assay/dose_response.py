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
Standard errors are the Gauss-Newton ones, ``s^2 (J^T W J)^-1`` mapped to the reported
parameters (the same as R's ``nls``/``drc``, Prism and ``curve_fit``). Confidence intervals
are Wald t-intervals except for ``ec50`` (and relative potency), whose interval is the
profile-likelihood one (Bates & Watts 1988, ch. 6): all ``theta`` with
``|tau(theta)| <= t(0.975, n - p)``, ``tau = sign(theta - theta_hat) sqrt(S(theta) - S_hat) / s``.

References
----------
Ritz C, Baty F, Streibig JC, Gerhard D (2015) Dose-response analysis using R. PLoS One 10:e0146021.
Gottschalk PG, Dunn JR (2005) The five-parameter logistic. Anal Biochem 343:54-65.
Bates DM, Watts DG (1988) Nonlinear Regression Analysis and Its Applications. Wiley.
Finney DJ (1978) Statistical Method in Biological Assay, 3rd ed. (parallel-line potency).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..errors import DataError, FitError, MoasimError, SpecError, invalid_value, unknown_name
from ._io import numeric_column, read_table, require_columns

__all__ = [
    "MODELS",
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
_ALL = ("bottom", "top", "ec50", "hill", "asymmetry")
_LEVEL = 0.95


def _exp(v: float) -> float:
    """exp that overflows to inf instead of raising (degenerate fits, unbounded intervals)."""
    with np.errstate(over="ignore"):
        return float(np.exp(v))


def _free_names(model: str) -> tuple[str, ...]:
    # internal kinds: '3pl' = 4PL with fixed bottom, '5pl0' = 5PL with fixed bottom
    return {"3pl": ("top", "ec50", "hill"), "4pl": ("bottom", "top", "ec50", "hill"), "5pl": _ALL,
            "5pl0": ("top", "ec50", "hill", "asymmetry")}[model]


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


# ---------------------------------------------------------------------------------------
# The curve and its Jacobian in internal parameters q = (bottom, top, ln ec50, hill, ln s)
# ---------------------------------------------------------------------------------------


def _curve(q: np.ndarray, lnx: np.ndarray, want_jac: bool = False):
    """Curve value (and d f / d q) at ``lnx = ln x`` (``-inf`` for zero dose).

    With ``u = hill (ln ec50 - ln x)``, ``c = 2**(1/s) - 1`` and ``L = ln(1 + c e^u)``
    (computed as ``logaddexp(0, ln c + u)``), ``f = bottom + (top - bottom) exp(-s L)``.
    """
    with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
        return _curve_impl(q, lnx, want_jac)


def _curve_impl(q: np.ndarray, lnx: np.ndarray, want_jac: bool):
    b, t, lne, h, lns = q
    s = math.exp(min(max(lns, -30.0), 30.0))
    a = math.log(2.0) / s
    lnc = a + math.log1p(-math.exp(-a)) if a > 1.0 else math.log(math.expm1(a))  # ln(2**(1/s) - 1); 0 for s = 1
    zero = np.isneginf(lnx)
    d = np.where(zero, 0.0, lne - np.where(zero, 0.0, lnx))  # ln ec50 - ln x (finite part)
    if h == 0.0:
        u = np.where(zero, 0.0, h * d)
    else:
        u = np.where(zero, math.copysign(np.inf, h), h * d)
    v = lnc + u
    L = np.logaddexp(0.0, v)
    G = np.exp(-s * L)  # fraction of the way from bottom to top
    f = b + (t - b) * G
    if not want_jac:
        return f
    sig = np.where(np.isposinf(v), 1.0, np.exp(v - L))  # c e^u / (1 + c e^u)
    dG_du = -s * G * sig
    J = np.empty((lnx.size, 5))
    J[:, 0] = 1.0 - G
    J[:, 1] = G
    J[:, 2] = (t - b) * dG_du * h
    J[:, 3] = np.where(zero, 0.0, (t - b) * dG_du * d)
    # d/d ln s: s * dG/ds, with dG/ds = -G (L + s sig dlnc/ds), dlnc/ds = -2**(1/s) ln2 / (s^2 c)
    dlnc_ds = -(a / s) / -math.expm1(-a)  # d ln(2**(1/s) - 1) / ds = -(ln2 / s^2) 2**(1/s) / (2**(1/s) - 1)
    J[:, 4] = (t - b) * s * (-G * (L + s * sig * dlnc_ds))
    J[zero, 4] = 0.0
    return f, J


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
# Joint (multi-group) least squares with a linear parameter design
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Design:
    """Maps the global parameter vector theta to each group's internal curve parameters.

    ``q_g = base_g + A_g @ theta``; A_g is 5 x P. ``names`` labels theta's columns.
    """

    A: tuple[np.ndarray, ...]
    base: tuple[np.ndarray, ...]
    names: tuple[str, ...]


def _build_design(model: str, n_groups: int, shared: Sequence[str], ref: int, fixed_bottom: float) -> _Design:
    free = _free_names(model)
    cols: list[str] = []
    A = [np.zeros((5, 0)) for _ in range(n_groups)]

    def add(col: str, rows_by_group: dict[int, int]) -> None:
        cols.append(col)
        for g in range(n_groups):
            v = np.zeros((5, 1))
            if g in rows_by_group:
                v[rows_by_group[g], 0] = 1.0
            A[g] = np.hstack([A[g], v])

    for j, name in enumerate(_ALL):
        if name not in free:
            continue
        if name in shared or n_groups == 1:
            add(name, {g: j for g in range(n_groups)})
        elif name == "ec50":  # ln ec50_g = ln ec50_ref + delta_g  (delta_g = -ln potency)
            add(f"ec50[{ref}]", {g: j for g in range(n_groups)})
            for g in range(n_groups):
                if g != ref:
                    add(f"delta[{g}]", {g: j})
        else:
            for g in range(n_groups):
                add(f"{name}[{g}]", {g: j})
    base = []
    for _ in range(n_groups):
        b0 = np.zeros(5)
        if "bottom" not in free:
            b0[0] = fixed_bottom
        base.append(b0)
    return _Design(tuple(A), tuple(base), tuple(cols))


@dataclass(frozen=True, slots=True)
class _Data:
    lnx: tuple[np.ndarray, ...]
    y: tuple[np.ndarray, ...]
    sw: tuple[np.ndarray, ...]  # sqrt(weights)

    @property
    def n(self) -> int:
        return int(sum(a.size for a in self.y))


def _residuals(theta, design: _Design, data: _Data):
    return np.concatenate([sw * (_curve(bg + Ag @ theta, lnx) - y)
                           for Ag, bg, lnx, y, sw in zip(design.A, design.base, data.lnx, data.y, data.sw)])


def _jacobian(theta, design: _Design, data: _Data):
    blocks = []
    for Ag, bg, lnx, sw in zip(design.A, design.base, data.lnx, data.sw):
        _, J = _curve(bg + Ag @ theta, lnx, want_jac=True)
        blocks.append(sw[:, None] * (J @ Ag))
    return np.vstack(blocks)


def _lsq(theta0: np.ndarray, design: _Design, data: _Data, fixed: dict[int, float] | None = None, max_nfev: int = 400):
    """Minimise the weighted RSS over theta (some coordinates optionally held fixed)."""
    fixed = fixed or {}
    free = np.array([i for i in range(theta0.size) if i not in fixed], dtype=int)
    full = theta0.astype(float).copy()
    for i, v in fixed.items():
        full[i] = v

    def expand(z):
        th = full.copy()
        th[free] = z
        return th

    def fun(z):
        return _residuals(expand(z), design, data)

    def jac(z):
        return _jacobian(expand(z), design, data)[:, free]

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            res = optimize.least_squares(fun, full[free], jac=jac, method="trf", x_scale="jac",
                                         xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=max_nfev)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            return expand(full[free]), np.inf, False
    rss = float(res.fun @ res.fun)
    if not np.isfinite(rss):
        return expand(res.x), np.inf, False
    return expand(res.x), rss, bool(res.status > 0)


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


@dataclass(frozen=True, slots=True, kw_only=True)
class CurveFit:
    """One fitted dose-response curve (immutable).

    Attributes
    ----------
    model : '3pl' | '4pl' | '5pl'
    group : group label (``None`` for an ungrouped fit)
    estimates, se : parameter -> value (``ec50`` in the concentration unit of the data)
    ci95 : parameter -> (lower, upper); profile-likelihood for ``ec50``, Wald-t otherwise
    ci95_wald : parameter -> Wald-t interval (ec50's on the log scale, back-transformed)
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
    concentration: np.ndarray = field(repr=False)
    response: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    fitted: np.ndarray = field(repr=False)
    outlier: np.ndarray = field(repr=False)

    def predict(self, concentration) -> np.ndarray:
        """Curve value at ``concentration``."""
        return predict({**self.estimates, **self.fixed}, concentration, self.model)

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "estimates": {k: _clean(v) for k, v in self.estimates.items()},
            "se": {k: _clean(v) for k, v in self.se.items()},
            "ci95": {k: [_clean(a), _clean(b)] for k, (a, b) in self.ci95.items()},
            "ci95_wald": {k: [_clean(a), _clean(b)] for k, (a, b) in self.ci95_wald.items()},
            "fixed": sorted(self.fixed),
            "n": self.n, "df": self.df, "rss": _clean(self.rss), "sigma": _clean(self.sigma),
            "aic": _clean(self.aic), "converged": self.converged, "notes": list(self.notes),
            "outliers": [int(i) for i in np.flatnonzero(self.outlier)],
        }

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for k, v in self.estimates.items():
            lo, hi = self.ci95[k]
            rows.append({"group": self.group, "parameter": k, "estimate": v, "se": self.se[k], "ci95_low": lo, "ci95_high": hi,
                         "ci_method": "fixed" if k in self.fixed else ("profile" if k == "ec50" else "wald")})
        return pd.DataFrame(rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class RelativePotency:
    """Potency of ``test`` relative to ``reference``: ``ec50_reference / ec50_test``.

    Estimated from the parallel model (shared bottom, top, hill[, asymmetry]; one EC50 per
    group; Finney 1978). ``> 1`` means the test article is more potent. ``ci95`` is the
    profile-likelihood interval, ``ci95_wald`` the Wald interval on the log scale.
    """

    reference: str
    test: str
    estimate: float
    se_log: float
    ci95: tuple[float, float]
    ci95_wald: tuple[float, float]
    ec50_ratio: float  # ec50_test / ec50_reference = 1 / estimate

    def to_dict(self) -> dict:
        return {"reference": self.reference, "test": self.test, "estimate": _clean(self.estimate),
                "se_log": _clean(self.se_log), "ci95": [_clean(c) for c in self.ci95],
                "ci95_wald": [_clean(c) for c in self.ci95_wald], "ec50_ratio": _clean(self.ec50_ratio)}


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
    (shared-shape) model against separate curves (``None`` for one group).
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
        }

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per group and parameter."""
        return pd.concat([f.to_frame() for f in self.groups.values()], ignore_index=True)


# ---------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------


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


def _check_identifiable(x: np.ndarray, n_params: int, where: str) -> None:
    levels = np.unique(x).size
    if levels < n_params or x.size <= n_params:
        raise FitError(invalid_value("design", f"{x.size} observations at {levels} concentrations",
                                     f"more than {n_params} observations at >= {n_params} concentrations for {n_params} free parameters", where))
    if np.count_nonzero(np.unique(x) > 0) < 2:
        raise FitError(invalid_value("design", "fewer than 2 positive concentrations", "at least 2 distinct concentrations > 0", where))


def _best_fit(design: _Design, data: _Data, starts: list[np.ndarray]):
    """Multi-start: a short run from every start, then the best one polished to convergence."""
    best = (None, np.inf, False)
    for th0 in starts:
        th, rss, ok = _lsq(th0, design, data, max_nfev=40)
        if rss < best[1]:
            best = (th, rss, ok)
    if best[0] is None:
        return best
    th, rss, ok = _lsq(best[0], design, data, max_nfev=1000)
    return (th, rss, ok) if rss <= best[1] else best


def _loglik(rss: float, n: int, w: np.ndarray) -> float:
    # Gaussian log-likelihood at the MLE of sigma, weights included (R: logLik.nls)
    if rss <= 0.0:  # exact interpolation: unbounded likelihood
        return math.inf
    return -0.5 * n * (math.log(2 * math.pi * rss / n) + 1.0) + 0.5 * float(np.sum(np.log(w)))


def _cov_theta(theta, design, data, rss, df):
    J = _jacobian(theta, design, data)
    s2 = rss / df
    try:
        with np.errstate(all="ignore"):
            cov = s2 * np.linalg.pinv(J.T @ J, rcond=1e-13)
    except np.linalg.LinAlgError:
        cov = np.full((J.shape[1], J.shape[1]), np.nan)
    return J, cov


def _profile_interval(theta, rss, design, data, k: int, se_k: float, df: int, level: float = _LEVEL):
    """Profile-likelihood interval for theta[k] (Bates & Watts 1988, eq. 6.23)."""
    s2 = rss / df
    tq = stats.t.ppf(0.5 + level / 2, df)
    target = tq * tq * s2  # S(theta_k) - S_hat at the interval ends

    def excess(v: float, warm: list[np.ndarray]) -> float:
        th, r, _ = _lsq(warm[0], design, data, fixed={k: v}, max_nfev=200)
        if np.isfinite(r):
            warm[0] = th
        return (r - rss) - target

    step = se_k if np.isfinite(se_k) and se_k > 0 else 0.5
    step = min(max(step, 1e-3), 5.0)
    bounds = []
    for sgn in (-1.0, 1.0):
        warm = [theta.copy()]
        prev_v = theta[k]
        found = None
        for m in (0.5, 1, 1.5, 2, 3, 4.5, 7, 10, 15, 25, 40):
            v = theta[k] + sgn * m * step
            if abs(v - theta[k]) > 30:  # 13 decades of concentration: unbounded
                break
            e = excess(v, warm)
            if e >= 0:
                w2 = [warm[0].copy()]
                try:
                    found = optimize.brentq(lambda z: excess(z, w2), prev_v, v, xtol=1e-10 * max(1.0, abs(v)), rtol=1e-12)
                except ValueError:
                    found = v
                break
            prev_v = v
        bounds.append(found)
    lo = bounds[0] if bounds[0] is not None else -np.inf
    hi = bounds[1] if bounds[1] is not None else np.inf
    return lo, hi


def _external(q: np.ndarray, model: str) -> dict[str, float]:
    est = {"bottom": q[0], "top": q[1], "ec50": _exp(q[2]), "hill": q[3]}
    if model.startswith("5pl"):
        est["asymmetry"] = _exp(q[4])
    return {k: float(v) for k, v in est.items()}


def _curve_result(model, label, theta, rss, ok, design, data, g, cov_th, n, df, w_all, x, y, w, outlier_alpha, profile) -> CurveFit:
    Ag, bg = design.A[g], design.base[g]
    q = bg + Ag @ theta
    est = _external(q, model)
    free = _free_names(model)
    idx = [_ALL.index(p) for p in free]
    # covariance of the external parameters: D A cov A^T D, D = d ext / d internal (exp for logs)
    D = np.diag([1.0, 1.0, est["ec50"], 1.0, est.get("asymmetry", 1.0)])
    cov_q = D @ Ag @ cov_th @ Ag.T @ D
    cov = cov_q[np.ix_(idx, idx)]
    se_all = np.sqrt(np.clip(np.diag(cov_q), 0, None))
    tq = stats.t.ppf(0.5 + _LEVEL / 2, df)
    se, ci, ciw = {}, {}, {}
    fixed = {}
    for j, name in enumerate(_ALL[:4] + (("asymmetry",) if model.startswith("5pl") else ())):
        if name not in free:
            fixed[name] = est[name]
            se[name], ci[name], ciw[name] = 0.0, (est[name], est[name]), (est[name], est[name])
            continue
        se[name] = float(se_all[j])
        ciw[name] = (est[name] - tq * se[name], est[name] + tq * se[name])
        ci[name] = ciw[name]
    # EC50: Wald on the log scale, profile likelihood for ci95
    se_ln = math.sqrt(max(float(Ag[2] @ cov_th @ Ag[2]), 0.0))
    ciw["ec50"] = (_exp(q[2] - tq * se_ln), _exp(q[2] + tq * se_ln))
    if model.startswith("5pl"):
        se_ls = math.sqrt(max(float(Ag[4] @ cov_th @ Ag[4]), 0.0))
        ci["asymmetry"] = ciw["asymmetry"] = (_exp(q[4] - tq * se_ls), _exp(q[4] + tq * se_ls))
    ci["ec50"] = profile(g, se_ln) if profile is not None else ciw["ec50"]
    with np.errstate(divide="ignore"):
        fitted = _curve(q, np.log(x))
    resid = np.sqrt(w) * (y - fitted)
    outlier = _flag_outliers(resid, design, data, theta, g, df, rss, outlier_alpha)
    ll = _loglik(rss, n, w_all)
    k = len(design.names) + 1
    return CurveFit(
        model=model[:3], group=label, estimates=MappingProxyType(est), se=MappingProxyType(se),
        ci95=MappingProxyType(ci), ci95_wald=MappingProxyType(ciw), covariance=_ro(cov), parameters=free,
        fixed=MappingProxyType(fixed), n=n, df=df, rss=rss, sigma=math.sqrt(rss / df), loglik=ll,
        aic=-2 * ll + 2 * k, bic=-2 * ll + math.log(n) * k, converged=ok, notes=_design_notes(est, x, ok),
        concentration=_ro(x), response=_ro(y), weights=_ro(w), fitted=_ro(fitted), outlier=_ro(outlier).astype(bool),
    )


def _design_notes(est: Mapping[str, float], x: np.ndarray, converged: bool) -> tuple[str, ...]:
    """Warnings a scientist should see next to the numbers (the fit itself is returned regardless)."""
    notes = []
    if not converged:
        notes.append("optimiser stopped before convergence")
    pos = np.unique(x[x > 0])
    h, ec = abs(est["hill"]), est["ec50"]
    if pos.size >= 2 and h > 0:
        # 10%-90% span of a 4PL covers a concentration factor 81**(1/|hill|)
        widest = float(np.max(pos[1:] / pos[:-1]))
        if 81.0 ** (1.0 / h) < widest:
            notes.append(f"transition (10-90% over a factor {81.0 ** (1.0 / h):.3g}) is narrower than the dose spacing "
                         f"(factor {widest:.3g}): hill and EC50 are poorly determined")
        if not pos.min() <= ec <= pos.max():
            notes.append("EC50 lies outside the tested concentrations (extrapolated)")
    return tuple(notes)


def _flag_outliers(resid_g, design, data, theta, g, df, rss, alpha) -> np.ndarray:
    """Externally studentised residuals beyond the Bonferroni t limit (Cook & Weisberg 1982)."""
    if alpha is None or df < 2:
        return np.zeros(resid_g.size, dtype=bool)
    J = _jacobian(theta, design, data)
    with np.errstate(all="ignore"):
        H = np.einsum("ij,jk,ik->i", J, np.linalg.pinv(J.T @ J), J)
    start = sum(a.size for a in data.y[:g])
    h = np.clip(H[start:start + resid_g.size], 0, 1 - 1e-12)
    n = data.n
    s2_i = (rss - resid_g**2 / (1 - h)) / (df - 1)
    with np.errstate(all="ignore"):
        r_ext = resid_g / np.sqrt(np.clip(s2_i, 1e-300, None) * (1 - h))
    crit = stats.t.ppf(1 - alpha / (2 * n), df - 1)
    return np.abs(r_ext) > crit


def _check_estimates(theta, design: _Design, xs) -> None:
    """FitError when the optimum is degenerate: non-finite, or an EC50 far outside the tested range."""
    if not np.all(np.isfinite(theta)):
        raise FitError(invalid_value("fit", "non-finite parameter estimates", "data a log-logistic curve can describe"))
    for g, (Ag, bg) in enumerate(zip(design.A, design.base)):
        q = bg + Ag @ theta
        pos = xs[g][xs[g] > 0]
        lo, hi = float(np.log(pos.min())), float(np.log(pos.max()))
        if not (lo - 30.0 <= q[2] <= hi + 30.0 and 0.0 < _exp(q[2]) < np.inf):
            raise FitError(invalid_value("EC50", f"{_exp(q[2]):.3g}", "an estimate within 13 decades of the tested concentrations (the curve is not identifiable from these data)"))


def _fit_groups(model, labels, xs, ys, ws, shared, ref, fixed_bottom, outlier_alpha, profile_ci=True):
    n_groups = len(labels)
    design = _build_design(model, n_groups, shared, ref, fixed_bottom)
    data = _Data(tuple(np.log(np.where(x > 0, x, 1.0)) + np.where(x > 0, 0.0, -np.inf) for x in xs), tuple(ys), tuple(np.sqrt(w) for w in ws))
    P = len(design.names)
    n = data.n
    if n <= P:
        raise FitError(invalid_value("design", f"{n} observations", f"more than {P} for {P} free parameters"))
    # starting values: per group self-start, combined through the design; 4PL solution seeds 5PL
    per_group = []
    for x, y in zip(xs, ys):
        base_kind = "4pl" if model in ("4pl", "5pl") else "3pl"
        c = _self_start(x, y, base_kind, fixed_bottom)
        d1 = _build_design(base_kind, 1, (), 0, fixed_bottom)
        dd = _Data((np.log(np.where(x > 0, x, 1.0)) + np.where(x > 0, 0.0, -np.inf),), (y,), (np.ones_like(y),))
        th, _, _ = _best_fit(d1, dd, [_internal_to_theta(cc, d1, 0) for cc in c])
        if th is not None:
            c = [d1.base[0] + d1.A[0] @ th] + c
        per_group.append(c)
    starts = []
    n_c = max(len(c) for c in per_group)
    for i in range(n_c):
        th = np.zeros(P)
        cnt = np.zeros(P)
        for g in range(n_groups):
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
    theta, rss, ok = _best_fit(design, data, starts)
    if theta is None or not np.isfinite(rss):
        raise FitError(invalid_value("fit", "no convergence", "data a log-logistic curve can describe"))
    if model == "4pl":
        theta, rss, ok = _canonical(theta, rss, ok, design, data)
    _check_estimates(theta, design, xs)
    df = n - P
    if df <= 0:
        raise FitError(invalid_value("residual degrees of freedom", df, "> 0"))
    _, cov_th = _cov_theta(theta, design, data, rss, df)
    return design, data, theta, rss, ok, cov_th, df


def _numerical_guard(fn):
    """Turn an unexpected numerical failure inside a fit into a one-line :class:`FitError`."""
    import functools

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


@_numerical_guard
def fit_curve(concentration, response, *, model: str = "4pl", weights=None, bottom: float = 0.0,
              fix_bottom: float | None = None, outlier_alpha: float | None = 0.05, profile: bool = True,
              label: str | None = None) -> CurveFit:
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
    """
    model = _kind(_check_model(model), fix_bottom)
    if fix_bottom is not None:
        bottom = float(fix_bottom)
    x, y, w = _validate_xyw(concentration, response, weights)
    _check_identifiable(x, len(_free_names(model)), label or "data")
    design, data, theta, rss, ok, cov_th, df = _fit_groups(model, [label], [x], [y], [w], (), 0, bottom, outlier_alpha)
    k_e = design.names.index("ec50")
    prof = (lambda g, se: tuple(_exp(v) for v in _profile_interval(theta, rss, design, data, k_e, se, df))) if profile else None
    return _curve_result(model, label, theta, rss, ok, design, data, 0, cov_th, data.n, df, w, x, y, w, outlier_alpha, prof)


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
    return _f_test(reduced.model, full.model, reduced.rss, reduced.df, full.rss, full.df, reduced.aic, full.aic)


def _f_test(nr, nf, rss_r, df_r, rss_f, df_f, aic_r, aic_f) -> ModelComparison:
    dn = df_r - df_f
    F = ((rss_r - rss_f) / dn) / (rss_f / df_f) if rss_f > 0 else np.inf
    F = max(F, 0.0)
    p = float(stats.f.sf(F, dn, df_f))
    return ModelComparison(reduced=nr, full=nf, f_statistic=float(F), df_num=dn, df_den=df_f, p_value=p,
                           aic_reduced=float(aic_r), aic_full=float(aic_f))


@_numerical_guard
def fit_dose_response(data: pd.DataFrame | str | os.PathLike, *, concentration: str = "concentration",
                      response: str = "response", group: str | None = None, model: str = "4pl",
                      weights: str | None = None, shared: Sequence[str] = (), reference: str | None = None,
                      bottom: float = 0.0, fix_bottom: float | None = None, outlier_alpha: float | None = 0.05,
                      exclude_outliers: bool = False, profile: bool = True) -> DoseResponseResult:
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
        group in one joint least-squares problem. Empty: independent fits per group.
    reference
        Reference group for relative potency (default: the first group in file order).
    bottom
        The fixed bottom of the 3PL.
    fix_bottom
        Hold ``bottom`` at this value (4PL -> 3PL; 5PL with fixed bottom).
    exclude_outliers
        Refit once without the flagged outliers; the refit curves hold only the kept rows.

    Returns
    -------
    DoseResponseResult
        ``.groups[label]`` curve fits; ``.relative_potency[test]`` vs the reference from the
        parallel model; ``.parallelism`` F-test; ``.to_frame()`` long table; ``.to_dict()``.
    """
    model = _kind(_check_model(model), fix_bottom)
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
    p = len(_free_names(model))
    keep = np.ones(x_all.size, dtype=bool)
    for _ in range(2 if exclude_outliers else 1):
        xs = [x_all[(gcol == g) & keep] for g in labels]
        ys = [y_all[(gcol == g) & keep] for g in labels]
        ws = [w_all[(gcol == g) & keep] for g in labels]
        for g, x in zip(labels, xs):
            _check_identifiable(x, p if not shared else len([n for n in _free_names(model) if n not in shared]), f"group {g!r}")
        curves = _fit_all(model, labels, xs, ys, ws, tuple(shared), ref, bottom, outlier_alpha, profile)
        if exclude_outliers and keep.all():
            flags = np.zeros(x_all.size, dtype=bool)
            for g, c in zip(labels, curves.values()):
                flags[np.flatnonzero(gcol == g)[c.outlier]] = True
            if not flags.any():
                break
            keep = ~flags
    potency, parallel = {}, None
    if len(labels) > 1:
        potency, parallel = _relative_potency(model, labels, xs, ys, ws, ref, bottom, curves, profile)
    return DoseResponseResult(model=model[:3], concentration_column=concentration, response_column=response,
                              group_column=group, reference=labels[ref] if len(labels) > 1 else None,
                              groups=MappingProxyType(curves), relative_potency=MappingProxyType(potency),
                              parallelism=parallel, shared=tuple(shared))


def _fit_all(model, labels, xs, ys, ws, shared, ref, bottom, outlier_alpha, profile) -> dict[str, CurveFit]:
    curves: dict[str, CurveFit] = {}
    if not shared:
        for g, x, y, w in zip(labels, xs, ys, ws):
            curves[g] = fit_curve(x, y, model=model[:3], fix_bottom=_fb(model, bottom), weights=w, outlier_alpha=outlier_alpha,
                                  profile=profile, label=g)
        return curves
    design, data, theta, rss, ok, cov_th, df = _fit_groups(model, labels, xs, ys, ws, shared, ref, bottom, outlier_alpha)
    w_cat = np.concatenate(ws)

    def prof(g, se):
        if "ec50" in shared:
            k = design.names.index("ec50")
            return tuple(_exp(v) for v in _profile_interval(theta, rss, design, data, k, se, df))
        # re-parameterise with group g as the EC50 reference, then profile its coordinate
        d2, _, th2, rss2, _, _, _ = _fit_groups(model, labels, xs, ys, ws, shared, g, bottom, None)
        k = d2.names.index(f"ec50[{g}]")
        return tuple(_exp(v) for v in _profile_interval(th2, rss2, d2, data, k, se, df))

    for g, (lab, x, y, w) in enumerate(zip(labels, xs, ys, ws)):
        curves[lab] = _curve_result(model, lab, theta, rss, ok, design, data, g, cov_th, data.n, df, w_cat, x, y, w,
                                    outlier_alpha, prof if profile else None)
    return curves


def _relative_potency(model, labels, xs, ys, ws, ref, bottom, curves, profile):
    shape = tuple(n for n in _free_names(model) if n != "ec50")
    design, data, theta, rss, ok, cov_th, df = _fit_groups(model, labels, xs, ys, ws, shape, ref, bottom, None)
    tq = stats.t.ppf(0.5 + _LEVEL / 2, df)
    out = {}
    for g, lab in enumerate(labels):
        if g == ref:
            continue
        k = design.names.index(f"delta[{g}]")
        d, se_d = theta[k], math.sqrt(max(cov_th[k, k], 0.0))
        if profile:
            lo, hi = _profile_interval(theta, rss, design, data, k, se_d, df)
        else:
            lo, hi = d - tq * se_d, d + tq * se_d
        # potency = ec50_ref / ec50_test = exp(-delta): the interval flips
        out[lab] = RelativePotency(reference=labels[ref], test=lab, estimate=_exp(-d), se_log=se_d,
                                   ci95=(_exp(-hi), _exp(-lo)),
                                   ci95_wald=(_exp(-d - tq * se_d), _exp(-d + tq * se_d)), ec50_ratio=_exp(d))
    # parallelism: parallel model (shared shape) vs separate curves
    rss_sep = sum(c.rss for c in curves.values()) if curves and all(c.df == c.n - len(c.parameters) for c in curves.values()) else None
    if rss_sep is None:
        sep = {g: fit_curve(x, y, model=model[:3], fix_bottom=_fb(model, bottom), weights=w, outlier_alpha=None, profile=False)
               for g, x, y, w in zip(labels, xs, ys, ws)}
        rss_sep = sum(c.rss for c in sep.values())
    n = data.n
    p_sep = len(labels) * len(_free_names(model))
    df_sep = n - p_sep
    w_cat = np.concatenate(ws)
    k_par = len(design.names) + 1
    aic_par = -2 * _loglik(rss, n, w_cat) + 2 * k_par
    aic_sep = -2 * _loglik(rss_sep, n, w_cat) + 2 * (p_sep + 1)
    parallel = _f_test("parallel", "separate", rss, df, rss_sep, df_sep, aic_par, aic_sep) if df_sep > 0 else None
    return out, parallel


# ---------------------------------------------------------------------------------------
# Plot
# ---------------------------------------------------------------------------------------


def plot_dose_response(result: DoseResponseResult | CurveFit, path: str | os.PathLike | None = None, *, unit: str = ""):
    """Data and fitted curves per group on a log concentration axis.

    Zero-dose wells are drawn at one decade below the lowest positive concentration, on a
    separate "0" tick. Returns the matplotlib Figure (saved to ``path`` when given).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    curves = result.groups if isinstance(result, DoseResponseResult) else {result.group or "data": result}
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    pos = np.concatenate([c.concentration[c.concentration > 0] for c in curves.values()])
    lo, hi = (pos.min(), pos.max()) if pos.size else (1e-3, 1.0)
    x0 = lo / 10.0
    for i, (lab, c) in enumerate(curves.items()):
        color = f"C{i}"
        xp = np.where(c.concentration > 0, c.concentration, x0)
        ax.scatter(xp[~c.outlier], c.response[~c.outlier], s=18, color=color, alpha=0.8)
        if c.outlier.any():
            ax.scatter(xp[c.outlier], c.response[c.outlier], s=40, marker="x", color=color)
        grid = np.geomspace(lo / 3, hi * 3, 300)
        ec = c.estimates["ec50"]
        ax.plot(grid, c.predict(grid), color=color, label=f"{lab}: EC50 {ec:.3g}{(' ' + unit) if unit else ''}")
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
