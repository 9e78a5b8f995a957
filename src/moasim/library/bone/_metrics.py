"""Summary metrics of bone simulations, as the calibration sources report them."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ._simulate import BoneRegimen, BoneSubject, run_bone

__all__ = ["MONTH", "single_dose_pk", "monthly_course", "stopping_course", "pk_metrics", "course_metrics", "after_stopping_metrics"]

#: one month in days (pint's month, 365.25/12), the interval of "210 mg monthly"
MONTH = 365.25 / 12


def single_dose_pk(dose: str = "210 mg", *, days: float = 120.0, parameters: Mapping[str, float] | None = None, engine: str = "roadrunner"):
    """Single SC dose: (time day, total serum romosozumab ug/mL)."""
    r = run_bone([BoneRegimen(drug="romosozumab", dose=dose)], days=days, samples_per_day=48, parameters=parameters, engine=engine)
    return r.time, r.outputs["drug_concentration"] / 1000.0


def pk_metrics(parameters: Mapping[str, float] | None = None) -> dict[str, float]:
    """Single 210 mg SC: Cmax (ug/mL), tmax (day), AUC0-inf approx (ug.day/mL, to 120 d + tail)."""
    t, c = single_dose_pk(parameters=parameters)
    i = int(np.argmax(c))
    k = -np.polyfit(t[-480:], np.log(c[-480:]), 1)[0]
    auc = float(np.trapezoid(c, t) + c[-1] / k)
    return {"cmax": float(c[i]), "tmax": float(t[i]), "auc": auc}


#: months of follow-up after the 12-month course in ``stopping_course`` and the months after stopping reported
FOLLOW_UP_MONTHS = 12
AFTER_STOPPING = (3, 6, 12)


def monthly_course(dose: str = "210 mg", *, months: int = 12, parameters: Mapping[str, float] | None = None,
                   engine: str = "roadrunner", samples_per_day: int = 4, every: str = "1 month", count: int | None = None):
    """Monthly SC dosing for ``months`` months (``count`` doses if given: the course then stops);
    outputs sampled to month ``months`` (day 365.25 for 12)."""
    days = months * MONTH
    t = np.unique(np.concatenate([np.linspace(0, days, int(days * samples_per_day) + 1), MONTH * np.arange(months + 1)]))
    reg = BoneRegimen(drug="romosozumab", dose=dose, every=every, count=count)
    return run_bone([reg], days=days, t_out=t, parameters=parameters, engine=engine, subject=BoneSubject())


def stopping_course(dose: str = "210 mg", *, parameters: Mapping[str, float] | None = None, engine: str = "roadrunner"):
    """Twelve monthly SC doses (months 0-11), then ``FOLLOW_UP_MONTHS`` without drug: the treatment
    period ends at month 12, one dosing interval after the last dose, as trials count it."""
    return monthly_course(dose, months=12 + FOLLOW_UP_MONTHS, parameters=parameters, engine=engine, count=12)


def after_stopping_metrics(res) -> dict[str, float]:
    """CTX as a ratio to baseline and BMD % change at month 12 and 3, 6, 12 months after the course ends."""
    t, o = res.time, res.outputs
    out = {"ls_m12": _at(t, o["bmd_lumbar_spine"], 12 * MONTH), "th_m12": _at(t, o["bmd_total_hip"], 12 * MONTH)}
    for m in AFTER_STOPPING:
        when = (12 + m) * MONTH
        out[f"ctx_ratio_off{m}"] = 1 + _at(t, o["ctx"], when) / 100
        out[f"ls_off{m}"] = _at(t, o["bmd_lumbar_spine"], when)
        out[f"th_off{m}"] = _at(t, o["bmd_total_hip"], when)
    return out


def _at(t: np.ndarray, y: np.ndarray, when: float) -> float:
    return float(np.interp(when, t, y))


def course_metrics(res) -> dict[str, float]:
    """P1NP/CTX peak, nadir and month-12 values, troughs, BMD at month 12 from a 12-month monthly course."""
    t, o = res.time, res.outputs
    first3 = t <= 3 * MONTH
    ip, ic = int(np.argmax(np.where(first3, o["p1np"], -np.inf))), int(np.argmin(np.where(first3, o["ctx"], np.inf)))
    c = o["drug_concentration"] / 1000.0
    troughs = {f"trough_m{m}": _at(t, c, m * MONTH) for m in (3, 6, 9, 12)}  # pre-dose (observations precede events)
    m12 = 12 * MONTH
    return {
        "p1np_peak": float(o["p1np"][ip]), "p1np_peak_day": float(t[ip]), "p1np_m12": _at(t, o["p1np"], m12),
        "p1np_m9": _at(t, o["p1np"], 9 * MONTH),
        "ctx_nadir": float(o["ctx"][ic]), "ctx_nadir_day": float(t[ic]), "ctx_m12": _at(t, o["ctx"], m12),
        "ls_m12": _at(t, o["bmd_lumbar_spine"], m12), "th_m12": _at(t, o["bmd_total_hip"], m12),
        "fn_m12": _at(t, o["bmd_femoral_neck"], m12), **troughs,
    }
