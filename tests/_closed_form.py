"""Closed-form two-compartment PK (Gibaldi & Perrier, Pharmacokinetics 2nd ed., ch. 2), the
independent reference the engine tests compare with. One copy, used by ``test_pk_closed_form.py``
and ``bone/test_bone_model.py`` through the ``closed_form`` fixture (``conftest.py``).

Parameters are ``pars = (ka, cl, v1, q, v2)`` in one consistent time unit; concentrations are
amount/``v1``. Times before a dose (``t < 0``) give 0, so doses superpose by shifting ``t``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["macro_constants", "iv_bolus", "oral", "infusion"]


def macro_constants(ka, cl, v1, q, v2):
    """``k21`` and the disposition rate constants ``alpha > beta`` (roots of s^2 - (k10+k12+k21)s + k10 k21)."""
    k10, k12, k21 = cl / v1, q / v1, q / v2
    s = k10 + k12 + k21
    root = np.sqrt(s * s - 4 * k10 * k21)
    return k21, (s + root) / 2, (s - root) / 2


def iv_bolus(t, dose, pars):
    """Central concentration after an IV bolus ``dose`` at ``t = 0``."""
    ka, cl, v1, q, v2 = pars
    k21, a, b = macro_constants(*pars)
    tt = np.clip(t, 0, None)
    c = dose / v1 * ((a - k21) / (a - b) * np.exp(-a * tt) + (k21 - b) / (a - b) * np.exp(-b * tt))
    return np.where(np.asarray(t) >= 0, c, 0.0)


def oral(t, dose, pars):
    """Central concentration after ``dose`` enters a first-order depot (rate ``ka``) at ``t = 0``.

    ``dose`` is what reaches the depot (multiply by the bioavailability first)."""
    ka, cl, v1, q, v2 = pars
    k21, a, b = macro_constants(*pars)
    tt = np.clip(t, 0, None)
    c = ka * dose / v1 * (
        (k21 - a) / ((ka - a) * (b - a)) * np.exp(-a * tt)
        + (k21 - b) / ((ka - b) * (a - b)) * np.exp(-b * tt)
        + (k21 - ka) / ((a - ka) * (b - ka)) * np.exp(-ka * tt)
    )
    return np.where(np.asarray(t) >= 0, c, 0.0)


def infusion(t, rate, dur, pars):
    """Central concentration for a zero-order input ``rate`` from 0 to ``dur``: the integral of the
    IV unit response (superposition of a step up at 0 and a step down at ``dur``)."""
    ka, cl, v1, q, v2 = pars
    k21, a, b = macro_constants(*pars)
    A, B = (a - k21) / (a - b) / v1, (k21 - b) / (a - b) / v1

    def step(tt):
        tt = np.clip(tt, 0, None)
        return rate * (A / a * (1 - np.exp(-a * tt)) + B / b * (1 - np.exp(-b * tt)))

    return step(t) - step(t - dur)
