"""Fitting one dose-response curve to arrays: :func:`fit_curve`, :func:`fit_4pl`, :func:`fit_5pl`.

Weighted nonlinear least squares (:func:`scipy.optimize.least_squares`, trust region, analytic
Jacobian; :mod:`moasim.assay._nls`) from several self-starts (:mod:`._dr_joint`); standard
errors and the EC50's profile-likelihood interval (:mod:`._dr_intervals`); the group's
status (:mod:`._dr_status`). The model, status and interval conventions are those of
:mod:`moasim.assay.dose_response`.

References
----------
Bates DM, Watts DG (1988) Nonlinear Regression Analysis and Its Applications. Wiley.
Gottschalk PG, Dunn JR (2005) The five-parameter logistic. Anal Biochem 343:54-65.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import FitError, MoasimError, invalid_value
from ._dr_intervals import _curve_result, _ec50_profile
from ._dr_joint import _fit_groups, _refit_from
from ._dr_models import _check_model, _check_se, _CurveModel, _Group, _kind
from ._dr_results import CurveFit
from ._dr_status import _ec50_bound, _no_effect, _no_fit, _screen, _validate_xyw

__all__ = ["fit_curve", "fit_4pl", "fit_5pl"]


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
        Check ``.status`` (``'ok'`` or why there is no EC50; see :mod:`moasim.assay.dose_response`).

    Raises
    ------
    FitError
        No more observations than free parameters, or no finite least-squares optimum.
    """
    kind = _kind(_check_model(model), fix_bottom)
    se = _check_se(se)
    if fix_bottom is not None:
        bottom = float(fix_bottom)
    curve = _CurveModel(kind, bottom, se)
    x, y, w = _validate_xyw(concentration, response, weights)
    grp = _Group(label, x, y, w)
    p = len(curve.free)
    blocked = _screen(curve, grp, p)
    if blocked is not None:
        return blocked
    fit = _fit_groups(curve, [grp])
    flat = _no_effect(grp, p, curve.name, rss=fit.rss, df=fit.df, alpha=no_effect_alpha)
    if flat is not None:
        return _no_fit(curve, grp, "no_dose_response", [flat])
    pi = None
    if profile and _ec50_bound(fit.q(0), x) is None:
        pi = _ec50_profile(fit, x)
        if pi.better is not None:  # the profile met a lower RSS: refit from there, once
            fit = _refit_from(fit, pi.better, [grp])
            pi = _ec50_profile(fit, x) if _ec50_bound(fit.q(0), x) is None else None
    return _curve_result(fit, 0, grp, outlier_alpha=outlier_alpha, profile=(lambda g, s: pi) if pi is not None else None)


def fit_4pl(concentration, response, **kw) -> CurveFit:
    """Four-parameter log-logistic fit of arrays (see :func:`fit_curve`)."""
    return fit_curve(concentration, response, model="4pl", **kw)


def fit_5pl(concentration, response, **kw) -> CurveFit:
    """Five-parameter (asymmetric) log-logistic fit of arrays (see :func:`fit_curve`)."""
    return fit_curve(concentration, response, model="5pl", **kw)
