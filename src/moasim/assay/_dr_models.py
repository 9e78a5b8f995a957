"""Dose-response curve models: names, parameters and evaluation (3PL, 4PL, 5PL).

Curves (concentration ``x`` >= 0, in the unit of the data; Prism's sign convention)::

    4PL   f(x) = bottom + (top - bottom) / (1 + (ec50/x)**hill)
    5PL   f(x) = bottom + (top - bottom) / (1 + (2**(1/s) - 1) * (ec50/x)**hill)**s
    3PL   4PL with ``bottom`` fixed (default 0)

The curve itself and its Jacobian live in :mod:`moasim.assay._nls` (internal parameters
``q = (bottom, top, ln ec50, hill, ln s)``); this module holds what the fitting code needs to
talk about a model: the user-facing names, the internal *kinds* (``'3pl'`` is a 4PL with fixed
bottom, ``'5pl0'`` a 5PL with fixed bottom), the mapping of ``q`` to reported parameters, and
the two small immutable objects the fit works on, :class:`_CurveModel` and :class:`_Group`.

References
----------
Gottschalk PG, Dunn JR (2005) The five-parameter logistic. Anal Biochem 343:54-65.
Ritz C, Baty F, Streibig JC, Gerhard D (2015) Dose-response analysis using R. PLoS One 10:e0146021.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError, invalid_value, unknown_name
from ._nls import _ALL, SE_METHODS, _curve, _exp, _free_names

__all__ = ["MODELS", "STATUSES", "predict"]

MODELS: tuple[str, ...] = ("3pl", "4pl", "5pl")
STATUSES: tuple[str, ...] = ("ok", "ec50_bound", "no_dose_response", "not_identifiable")


def _kind(model: str, fix_bottom: float | None) -> str:
    """Internal kind of a checked model name: ``'3pl'``/``'5pl0'`` when the bottom is held fixed."""
    if fix_bottom is None:
        return model
    if isinstance(fix_bottom, bool) or not isinstance(fix_bottom, (int, float)) or not math.isfinite(fix_bottom):
        raise SpecError(invalid_value("fix_bottom", fix_bottom, "a finite response value (the bottom plateau to hold)"))
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


def _names(model: str) -> tuple[str, ...]:
    """Reported parameters of an internal kind, free and fixed (asymmetry for 5PLs only)."""
    return _ALL[:4] + (("asymmetry",) if model.startswith("5pl") else ())


def _external(q: np.ndarray, model: str) -> dict[str, float]:
    """Reported parameters (``ec50`` and ``asymmetry`` in natural units) of internal ``q``."""
    est = {"bottom": q[0], "top": q[1], "ec50": _exp(q[2]), "hill": q[3]}
    if model.startswith("5pl"):
        est["asymmetry"] = _exp(q[4])
    return {k: float(v) for k, v in est.items()}


def predict(estimates: Mapping[str, float], concentration, model: str = "4pl") -> np.ndarray:
    """Evaluate a fitted curve.

    Parameters
    ----------
    estimates
        ``bottom`` (default 0), ``top``, ``ec50`` (> 0, concentration unit), ``hill`` and, for
        the 5PL, ``asymmetry`` (> 0, default 1).
    concentration
        Concentrations (>= 0) in the unit of ``ec50``; any shape.
    model
        ``'3pl'``, ``'4pl'`` or ``'5pl'``.

    Returns
    -------
    numpy.ndarray
        Response, in the unit of ``bottom``/``top``, shaped like ``concentration``.
    """
    x = np.asarray(concentration, dtype=float)
    s = float(estimates.get("asymmetry", 1.0)) if _check_model(model) == "5pl" else 1.0
    if not (estimates["ec50"] > 0 and s > 0):
        raise SpecError(invalid_value("ec50 and asymmetry", (estimates["ec50"], s), "numbers > 0"))
    q = np.array([estimates.get("bottom", 0.0), estimates["top"], math.log(estimates["ec50"]), estimates["hill"], math.log(s)])
    with np.errstate(divide="ignore"):
        return _curve(q, np.log(x.ravel())).reshape(x.shape)


@dataclass(frozen=True, slots=True)
class _CurveModel:
    """The curve being fitted: internal kind, the bottom to hold, how to compute standard errors.

    Attributes
    ----------
    kind : '3pl' | '4pl' | '5pl' | '5pl0' (see :func:`_kind`)
    bottom : the 3PL's (or fixed-bottom 5PL's) bottom, in response units; ignored when free
    se_method : 'gauss-newton' | 'hessian'
    """

    kind: str
    bottom: float = 0.0
    se_method: str = "gauss-newton"

    @property
    def name(self) -> str:
        """The user-facing model name ('3pl', '4pl' or '5pl')."""
        return self.kind[:3]

    @property
    def free(self) -> tuple[str, ...]:
        """Free parameters of one curve."""
        return _free_names(self.kind)

    @property
    def fixed_bottom(self) -> float | None:
        """The bottom to pass as ``fix_bottom`` to a refit of one group (None when free)."""
        return _fb(self.kind, self.bottom)


@dataclass(frozen=True, slots=True)
class _Group:
    """One group's observations: concentrations ``x`` (>= 0), responses ``y``, weights ``w`` (> 0)."""

    label: str | None
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray


@dataclass(frozen=True, slots=True)
class _Options:
    """Fit settings shared by every group of one :func:`~moasim.assay.dose_response.fit_dose_response` call.

    Attributes
    ----------
    curve : the model, fixed bottom and SE method
    shared : parameters common to all groups (one joint fit); ``()`` for independent fits
    outlier_alpha : level of the outlier flag (``None``: off)
    profile : profile-likelihood intervals for EC50 and relative potency (else Wald)
    no_effect_alpha : level of the F-test against a horizontal line (``None``: off)
    """

    curve: _CurveModel
    shared: tuple[str, ...]
    outlier_alpha: float | None
    profile: bool
    no_effect_alpha: float | None
