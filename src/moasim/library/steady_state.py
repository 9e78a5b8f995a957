"""Drug-free steady state of the thrombopoiesis model, solved semi-analytically.

At steady state the MK maturation chain and the platelet age chain are geometric; the
only implicit equation is the TPO balance (one dimension, solved by Brent's method).
With a target baseline platelet count, the MK attrition rate KMKD (ITP) or the marrow
supply F_MARROW (marrow failure) is solved for as well.
"""

from __future__ import annotations

from typing import Mapping

from scipy.optimize import brentq

from ..errors import SpecError, invalid_value
from .physiology.thrombopoiesis import N_MK, N_PLT

__all__ = ["steady_state"]


def _derived(p: Mapping[str, float], plt: float | None = None) -> dict[str, float]:
    d = dict(p)
    d.setdefault("KDES", 0.0)
    d["KDES"] = d["KDES"] * d.get("FLUCT", 1.0)  # disease-activity multiplier (1 unless a trial set it)
    if d["KDES"] > 0:
        if plt is None:
            raise SpecError("An ITP steady state needs the baseline platelet count (destruction depends on it).")
        d["KDES"] = d["KDES"] / (1 + plt / d["PLT50_DES"])  # saturable destruction at the baseline count
    d["KMK"] = N_MK / d["MTT_MK"]
    d["KP"] = N_PLT / d["LS_PLT"]
    xT0 = d["TPO0_H"] / d["KD_TPO"]
    d["KNS"] = d["K_TPO"] * (1 - d["FR_TPO"])
    d["KR"] = d["K_TPO"] * d["FR_TPO"] * (1 + xT0)
    d["KTPO_IN"] = d["TPO0_H"] * (d["KNS"] + d["KR"] / (1 + xT0))
    d["MREF"] = d["PLT0_H"] * (1 + d["W_MK"] * d["MTT_MK"] / d["LS_PLT"])
    d["A0H"] = xT0 / (1 + xT0)
    d["KPROD"] = (d["PLT0_H"] / d["LS_PLT"]) / (1 + d["SMAX"] * d["A0H"] / (d["A50"] + d["A0H"]))
    # platelet residence per unit release: sum_j KP^(j-1)/(KP+KDES)^j
    r = d["KP"] / (d["KP"] + d["KDES"])
    d["SURV"] = sum(r ** (j - 1) for j in range(1, N_PLT + 1)) / (d["KP"] + d["KDES"])
    return d


def _act(tpo: float, d: Mapping[str, float]) -> float:
    xt = tpo / d["KD_TPO"]
    return xt / (1 + xt)


def _prod(tpo: float, d: Mapping[str, float]) -> float:
    a = _act(tpo, d)
    return d["F_MARROW"] * d["KPROD"] * (1 + d["SMAX"] * a / (d["A50"] + a))


def _mk_chain(prod: float, kd: float, d: Mapping[str, float]) -> tuple[list[float], float]:
    """MK compartments and platelet release for production ``prod`` and attrition ``kd``."""
    r = d["KMK"] / (d["KMK"] + kd)
    mk = [prod / (d["KMK"] + kd) * r ** i for i in range(N_MK)]
    return mk, d["KMK"] * mk[-1]


def _tpo_balance(tpo: float, m: float, d: Mapping[str, float]) -> float:
    return d["KTPO_IN"] - d["KNS"] * tpo - d["KR"] * m * tpo / (1 + tpo / d["KD_TPO"])


def _attrition_for(b: float, prod: float, d: Mapping[str, float], strict: bool = False) -> float:
    """MK attrition rate that makes the platelet count ``b`` at production ``prod``.

    During the root search an unreachable count maps to zero attrition; ``strict``
    raises instead (used on the solution)."""
    survive = b / (prod * d["SURV"])  # fraction of MKs completing maturation
    if survive > 1 + 1e-12:
        if strict:
            raise SpecError(invalid_value("baseline_platelets", b, f"a count reachable with this platelet destruction (<= {prod * d['SURV']:.1f} x10^9/L; lower KDES for milder disease)"))
        return 0.0
    return d["KMK"] * (min(survive, 1.0) ** (-1.0 / N_MK) - 1)


def steady_state(params: Mapping[str, float], baseline_platelets: float | None = None, solve_for: str = "KMKD") -> tuple[dict[str, float], dict[str, float]]:
    """Drug-free steady state.

    Parameters
    ----------
    params : mapping
        Parameter values in canonical units.
    baseline_platelets : float, optional
        Target platelet count (10^9/L). If given, ``solve_for`` is adjusted to reach it.
    solve_for : {"KMKD", "F_MARROW"}
        ITP: the MK attrition rate; marrow failure: the progenitor supply.

    Returns
    -------
    (states, parameter_updates)
    """
    d = _derived(params, baseline_platelets)
    hi = d["KTPO_IN"] / max(d["KNS"], 1e-12)
    root = dict(xtol=1e-13, rtol=1e-14)
    updates: dict[str, float] = {}
    if baseline_platelets is None:
        def mass(tpo: float) -> float:
            mk, rel = _mk_chain(_prod(tpo, d), 0.0, d)
            return (rel * d["SURV"] + d["W_MK"] * sum(mk)) / d["MREF"]

        tpo = brentq(lambda t: _tpo_balance(t, mass(t), d), 1e-9, hi, **root)
        kd = 0.0
    elif solve_for == "KMKD":
        b = baseline_platelets

        def mass_b(tpo: float) -> float:
            prod = _prod(tpo, d)
            mk, _ = _mk_chain(prod, _attrition_for(b, prod, d), d)
            return (b + d["W_MK"] * sum(mk)) / d["MREF"]

        tpo = brentq(lambda t: _tpo_balance(t, mass_b(t), d), 1e-9, hi, **root)
        kd = _attrition_for(b, _prod(tpo, d), d, strict=True)
        # KMKD_EFF = KMKD*(A0H/ACT)^GAM_SURV  ->  KMKD at the reference activation
        updates["KMKD"] = kd / (d["A0H"] / _act(tpo, d)) ** d["GAM_SURV"]
    elif solve_for == "F_MARROW":
        b = baseline_platelets
        prod_needed = b / d["SURV"]
        mk, _ = _mk_chain(prod_needed, 0.0, d)
        m = (b + d["W_MK"] * sum(mk)) / d["MREF"]
        tpo = brentq(lambda t: _tpo_balance(t, m, d), 1e-9, hi, **root)
        f_marrow = prod_needed / (_prod(tpo, d) / d["F_MARROW"])
        if not 0 < f_marrow <= 1:
            raise SpecError(invalid_value("baseline_platelets", b, "a count below the healthy reference"))
        updates["F_MARROW"] = f_marrow
        d["F_MARROW"] = f_marrow
        kd = 0.0
    else:  # pragma: no cover - internal
        raise SpecError(invalid_value("solve_for", solve_for, "KMKD | F_MARROW"))
    prod = _prod(tpo, d)
    mk, rel = _mk_chain(prod, kd, d)
    states = {"TPO": tpo, "PROG": prod / d["KDE"]}
    states.update({f"MK{i + 1}": v for i, v in enumerate(mk)})
    r = d["KP"] / (d["KP"] + d["KDES"])
    first = rel / (d["KP"] + d["KDES"])
    for j in range(1, N_PLT + 1):
        states[f"PLT{j}"] = first * r ** (j - 1)
    return states, updates
