"""Drug-free steady state of the thrombopoiesis model, solved semi-analytically.

At steady state every MK compartment holds PROD/KMK and the platelet age chain is
geometric; the only implicit equation is the TPO balance (one dimension, solved by
Brent's method). With a target baseline platelet count the impaired-release fraction
F_REL (ITP) or the marrow supply F_MARROW (marrow failure) is solved for as well.
"""

from __future__ import annotations

from typing import Mapping

from scipy.optimize import brentq

from ..errors import SpecError, invalid_value
from .physiology.thrombopoiesis import N_MK, N_PLT

__all__ = ["steady_state"]


def _derived(p: Mapping[str, float]) -> dict[str, float]:
    d = dict(p)
    d.setdefault("KDES", 0.0)
    d["KMK"] = N_MK / d["MTT_MK"]
    d["KP"] = N_PLT / d["LS_PLT"]
    xT0 = d["TPO0_H"] / d["KD_TPO"]
    d["KNS"] = d["K_TPO"] * (1 - d["FR_TPO"])
    d["KR"] = d["K_TPO"] * d["FR_TPO"] * (1 + xT0)
    d["KTPO_IN"] = d["TPO0_H"] * (d["KNS"] + d["KR"] / (1 + xT0))
    d["MREF"] = d["PLT0_H"] * (1 + d["W_MK"] * d["MTT_MK"] / d["LS_PLT"])
    a0 = xT0 / (1 + xT0)
    d["KPROD"] = (d["PLT0_H"] / d["LS_PLT"]) / (1 + d["SMAX"] * a0 / (d["A50"] + a0))
    # platelet residence per unit release: sum_j KP^(j-1)/(KP+KDES)^j
    r = d["KP"] / (d["KP"] + d["KDES"])
    d["SURV"] = sum(r ** (j - 1) for j in range(1, N_PLT + 1)) / (d["KP"] + d["KDES"])
    return d


def _stim(tpo: float, d: Mapping[str, float]) -> float:
    xt = tpo / d["KD_TPO"]
    a = xt / (1 + xt)
    return 1 + d["SMAX"] * a / (d["A50"] + a)


def _tpo_balance(tpo: float, m: float, d: Mapping[str, float]) -> float:
    return d["KTPO_IN"] - d["KNS"] * tpo - d["KR"] * m * tpo / (1 + tpo / d["KD_TPO"])


def steady_state(params: Mapping[str, float], baseline_platelets: float | None = None, solve_for: str = "F_REL") -> tuple[dict[str, float], dict[str, float]]:
    """Drug-free steady state.

    Parameters
    ----------
    params : mapping
        Parameter values in canonical units.
    baseline_platelets : float, optional
        Target platelet count (10^9/L). If given, ``solve_for`` is adjusted to reach it.
    solve_for : {"F_REL", "F_MARROW"}
        Which parameter to solve for.

    Returns
    -------
    (states, parameter_updates)
    """
    d = _derived(params)
    hi = d["KTPO_IN"] / max(d["KNS"], 1e-12)
    if baseline_platelets is None:
        def mass(tpo: float) -> float:
            prod = d["F_MARROW"] * d["KPROD"] * _stim(tpo, d)
            return (d["F_REL"] * prod * d["SURV"] + d["W_MK"] * prod * d["MTT_MK"]) / d["MREF"]

        tpo = brentq(lambda t: _tpo_balance(t, mass(t), d), 1e-9, hi, xtol=1e-13, rtol=1e-14)
        prod = d["F_MARROW"] * d["KPROD"] * _stim(tpo, d)
        updates: dict[str, float] = {}
        f_rel = d["F_REL"]
    elif solve_for == "F_REL":
        b = baseline_platelets

        def mass_b(tpo: float) -> float:
            return (b + d["W_MK"] * d["F_MARROW"] * d["KPROD"] * _stim(tpo, d) * d["MTT_MK"]) / d["MREF"]

        tpo = brentq(lambda t: _tpo_balance(t, mass_b(t), d), 1e-9, hi, xtol=1e-13, rtol=1e-14)
        prod = d["F_MARROW"] * d["KPROD"] * _stim(tpo, d)
        f_rel = b / (prod * d["SURV"])
        if not 0 < f_rel <= 1:
            raise SpecError(invalid_value("baseline_platelets", b, f"a count reachable with this destruction rate (<= {prod * d['SURV']:.0f} x10^9/L)"))
        updates = {"F_REL": f_rel}
    elif solve_for == "F_MARROW":
        b = baseline_platelets
        prod = b / (d["F_REL"] * d["SURV"])
        m = (b + d["W_MK"] * prod * d["MTT_MK"]) / d["MREF"]
        tpo = brentq(lambda t: _tpo_balance(t, m, d), 1e-9, hi, xtol=1e-13, rtol=1e-14)
        f_marrow = prod / (d["KPROD"] * _stim(tpo, d))
        if not 0 < f_marrow <= 1:
            raise SpecError(invalid_value("baseline_platelets", b, "a count below the healthy reference"))
        updates = {"F_MARROW": f_marrow}
        f_rel = d["F_REL"]
    else:  # pragma: no cover - internal
        raise SpecError(invalid_value("solve_for", solve_for, "F_REL | F_MARROW"))
    states = {"TPO": tpo, "PROG": prod / d["KDE"]}
    for i in range(1, N_MK + 1):
        states[f"MK{i}"] = prod / d["KMK"]
    r = d["KP"] / (d["KP"] + d["KDES"])
    first = f_rel * prod / (d["KP"] + d["KDES"])
    for j in range(1, N_PLT + 1):
        states[f"PLT{j}"] = first * r ** (j - 1)
    return states, updates
