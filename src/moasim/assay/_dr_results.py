"""Dose-response results: immutable curve fits, potencies and model comparisons, and their output.

Each result writes itself out in two forms: ``to_dict()`` (JSON-ready: ``NaN`` and open
interval ends become ``null``, through :func:`moasim.assay._io.json_number`) and, for curves,
``to_frame()`` (a long table, one row per group and parameter). Reading tables is
:mod:`moasim.assay._io`; the numbers come from :mod:`._dr_fit_curve` and :mod:`._dr_fit_table`.

References
----------
Finney DJ (1978) Statistical Method in Biological Assay, 3rd ed. (parallel-line potency).
Motulsky H, Christopoulos A (2004) Fitting Models to Biological Data Using Linear and Nonlinear
Regression. Oxford University Press (extra-sum-of-squares F-test).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._dr_models import predict
from ._io import json_interval, json_number
from .._frozen import read_only


__all__ = ["CurveFit", "RelativePotency", "ModelComparison", "ParallelismTest", "DoseResponseResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CurveFit:
    """One fitted dose-response curve (immutable).

    Attributes
    ----------
    model : '3pl' | '4pl' | '5pl'
    group : group label (``None`` for an ungrouped fit)
    status : 'ok' | 'ec50_bound' | 'no_dose_response' | 'not_identifiable'
        (see :mod:`moasim.assay.dose_response`); ``notes`` say why
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
        ci = {k: json_interval(v, self.ec50_ci_open if k == "ec50" else (False, False)) for k, v in self.ci95.items()}
        return {
            "model": self.model,
            "status": self.status,
            "estimates": {k: json_number(v) for k, v in self.estimates.items()},
            "se": {k: json_number(v) for k, v in self.se.items()},
            "ci95": ci,
            "ci95_wald": {k: [json_number(a), json_number(b)] for k, (a, b) in self.ci95_wald.items()},
            "ec50_bound": None if self.ec50_bound is None else [json_number(b) for b in self.ec50_bound],
            "se_method": self.se_method,
            "fixed": sorted(self.fixed),
            "n": self.n, "df": self.df, "rss": json_number(self.rss), "sigma": json_number(self.sigma),
            "aic": json_number(self.aic), "converged": self.converged, "at_boundary": list(self.at_boundary),
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
        return {"reference": self.reference, "test": self.test, "estimate": json_number(self.estimate),
                "se_log": json_number(self.se_log), "ci95": json_interval(self.ci95, self.ci_open),
                "ci95_wald": [json_number(c) for c in self.ci95_wald], "ec50_ratio": json_number(self.ec50_ratio),
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
        return {"reduced": self.reduced, "full": self.full, "f": json_number(self.f_statistic),
                "df_num": self.df_num, "df_den": self.df_den, "p_value": json_number(self.p_value),
                "aic_reduced": json_number(self.aic_reduced), "aic_full": json_number(self.aic_full),
                "preferred_by_aic": self.preferred_by_aic}


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
