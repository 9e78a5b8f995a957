"""Validation checks for the bone targets: romosozumab (issue 6), teriparatide, and denosumab.

Each check simulates what the source reports (typical postmenopausal woman, 210 mg SC,
monthly = 365.25/12 days) and compares with the published value and tolerance. Placebo
in the model is the drug-free steady state, so "% vs placebo" is % change from baseline.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from ..library.bone._metrics import AFTER_STOPPING, after_stopping_metrics, course_metrics, monthly_course, pk_metrics, stopping_course
from ._tolerance import within

__all__ = ["CHECKS"]


@lru_cache(maxsize=1)
def _pk() -> dict[str, float]:
    return pk_metrics()


@lru_cache(maxsize=1)
def _course() -> dict[str, float]:
    return course_metrics(monthly_course())


def _cmax(t):
    v = _pk()["cmax"]
    return round(v, 3), within(v, t["value"], t["tolerance"]), "single 210 mg SC; total serum romosozumab (ug/mL)"


def _tmax(t):
    v = _pk()["tmax"]
    return round(v, 3), within(v, t["value"], t["tolerance"]), "single 210 mg SC (day)"


def _trough(t):
    m = _course()
    vals = {f"month {i}": round(m[f"trough_m{i}"], 3) for i in (3, 6, 9, 12)}
    lo, hi = t["value"]
    return vals, all(lo <= v <= hi for v in vals.values()), "210 mg SC monthly, pre-dose at months 3, 6, 9, 12 (ug/mL)"


@lru_cache(maxsize=1)
def _teriparatide() -> dict[str, float]:
    """Typical postmenopausal woman, teriparatide 20 ug SC daily for 12 months."""
    from ..library.bone.calibrate import teriparatide_12m

    return teriparatide_12m(None)


def _value(key: str, note: str, metrics: Callable[[], dict[str, float]] = _course) -> Callable:
    """Check one metric of a course (``metrics()``: the romosozumab course unless given)."""
    def check(t):
        v = metrics()[key]
        return round(v, 3), within(v, t["value"], t["tolerance"]), note

    return check


def _per_site(note: str, metrics: Callable[[], dict[str, float]]) -> Callable:
    """Check the 12-month BMD change at each site against its own tolerance (``{lumbar_spine: {abs: 3}, ...}``);
    the note starts with the per-site gap, model minus published (percentage points)."""
    def check(t):
        m = metrics()
        model = {"lumbar_spine": round(m["ls_m12"], 3), "total_hip": round(m["th_m12"], 3), "femoral_neck": round(m["fn_m12"], 3)}
        tol = t["tolerance"]
        ok = all(within(model[k], pub, tol.get(k, tol)) for k, pub in t["regimen"].items())
        gap = ", ".join(f"{k} {model[k] - pub:+.1f}" for k, pub in t["regimen"].items())
        return model, ok, f"gap (model - published, points): {gap}. {note}"

    return check


_japanese = _per_site("210 mg SC monthly, 12 months, the typical woman: LS is a prediction from McClung 2014's "
                      "calibration (+11.3%); TH and FN are not, their site rates were fitted to this trial (no McClung "
                      "2014 hip or neck value was read). Covariates: the trial's baseline T-scores (LS -2.7) do not change "
                      "a % response in the model, and its baseline weight is not in our sources; a 50 kg woman gains "
                      "LS +11.5% (antibody clearance and volume scale with weight, Davda 2014). The LS gap is what the "
                      "sourced covariates leave (issue 13)", _course)
_tpt_japanese = _per_site("prediction; 20 ug SC daily, typical Western woman calibrated to McClung 2014 (LS +7.1%); the "
                          "Japanese LS gain is larger for teriparatide (10.0/7.1 = 1.41) as for romosozumab (16.9/11.3 = 1.50)",
                          _teriparatide)


@lru_cache(maxsize=1)
def _stopping() -> dict[str, float]:
    """Typical postmenopausal woman: 12 monthly 210 mg SC doses, then 12 months without drug."""
    return after_stopping_metrics(stopping_course())


def _ctx_after_stopping(t):
    m = _stopping()
    model = {f"{k} months": round(m[f"ctx_ratio_off{k}"], 3) for k in AFTER_STOPPING}
    ok = all(within(model[k], pub, t["tolerance"]) for k, pub in t["regimen"].items())
    return model, ok, ("210 mg SC monthly x12, typical postmenopausal woman; CTX / baseline 3, 6, 12 months after month 12. "
                       "Prediction from the osteoclast-precursor pool (assumed parameters, remodeling.py)")


def _bmd_after_stopping(t):
    m = _stopping()
    model = {"lumbar_spine": [round(m["ls_m12"], 2)] + [round(m[f"ls_off{k}"], 2) for k in AFTER_STOPPING],
             "total_hip": [round(m["th_m12"], 2)] + [round(m[f"th_off{k}"], 2) for k in AFTER_STOPPING]}
    ok = all(all(b < a for a, b in zip(v, v[1:])) for v in model.values())
    return model, ok, "% change at month 12 and 3, 6, 12 months after stopping: falls at every visit"


def _tpt_ctx(t):
    m = _teriparatide()
    return {"ctx_m6": round(m["ctx_m6"], 2)}, m["ctx_m6"] > 0, (
        "20 ug SC daily, typical woman: CTX above baseline at month 6 (it rises within a week in the model, with the "
        "RANKL arm of the PTH signal; the clinic's rise comes later than P1NP's)")


#: Padhi 2011's single-dose groups (dose, route) and Padhi 2014's multiple-dose cohorts of women
#: (dose, interval, number of doses); BMD read on day 85 = 84 days after the first dose
PADHI2011_GROUPS = (*((f"{d} mg/kg", "sc") for d in ("0.1", "0.3", "1", "3", "5", "10")), ("1 mg/kg", "iv"), ("5 mg/kg", "iv"))
PADHI2014_COHORTS = (("1 mg/kg", "2 weeks", 6), ("2 mg/kg", "2 weeks", 6), ("2 mg/kg", "4 weeks", 3), ("3 mg/kg", "4 weeks", 3))
DAY85 = 84.0


def _padhi_course(regimen) -> dict[str, float]:
    """Typical woman: LS and TH on day 85, P1NP peak and CTX nadir over the 85 days (% change)."""
    import numpy as np

    from ..library.bone import run_bone

    r = run_bone([regimen], days=DAY85, samples_per_day=8)
    o = r.outputs
    return {"ls": float(o["bmd_lumbar_spine"][-1]), "th": float(o["bmd_total_hip"][-1]),
            "p1np_peak": float(np.max(o["p1np"])), "ctx_nadir": float(np.min(o["ctx"]))}


@lru_cache(maxsize=1)
def _padhi2011() -> dict[str, float]:
    from ..library.bone import BoneRegimen

    courses = [_padhi_course(BoneRegimen(drug="romosozumab", dose=d, route=route)) for d, route in PADHI2011_GROUPS]
    return {"ls": max(c["ls"] for c in courses), "th": max(c["th"] for c in courses)}


@lru_cache(maxsize=1)
def _padhi2014() -> list[dict[str, float]]:
    from ..library.bone import BoneRegimen

    return [_padhi_course(BoneRegimen(drug="romosozumab", dose=d, every=e, count=n)) for d, e, n in PADHI2014_COHORTS]


def _single_dose_bmd(t):
    m = _padhi2011()
    model = {"lumbar_spine": round(m["ls"], 2), "total_hip": round(m["th"], 2)}
    tol = t["tolerance"]
    ok = all(within(model[k], pub, tol[k]) for k, pub in t["regimen"].items())
    return model, ok, ("largest day-85 change over the 8 single-dose groups (typical woman; the groups mixed men and "
                       "women); its LS, relative to McClung 2014's, shapes the exposure-response (calibrate.py stage 2)")


def _cohort_label(d: str, e: str) -> str:
    return f"{d} Q{e.split()[0]}W"


def _multiple_dose(t):
    cohorts = _padhi2014()
    model = {k: {_cohort_label(d, e): round(c[key], 1) for (d, e, _), c in zip(PADHI2014_COHORTS, cohorts)}
             for k, key in (("lumbar_spine", "ls"), ("p1np_peak", "p1np_peak"))}
    ok = all(lo <= v <= hi for k, (lo, hi) in t["regimen"].items() for v in model[k].values())
    return model, ok, ("pass: every cohort within the published range. Typical woman, each of the four cohorts of women: LS on "
                       "day 85, P1NP maximum over 85 days")


def _multiple_dose_ctx(t):
    model = {_cohort_label(d, e): round(c["ctx_nadir"], 1) for (d, e, _), c in zip(PADHI2014_COHORTS, _padhi2014())}
    lo, hi = t["value"]
    return model, all(lo <= v <= hi for v in model.values()), "typical woman, CTX minimum over 85 days (% change) per cohort"


@lru_cache(maxsize=None)
def _denosumab(dose_mg: int):
    """Typical postmenopausal woman, denosumab SC at days 0 and 168 (McClung 2006's Q6M arms)."""
    from ..library.bone import BoneRegimen, run_bone

    return run_bone([BoneRegimen(drug="denosumab", dose=f"{dose_mg} mg", every="168 days", count=2)], days=337)


def _den_value(dose_mg: int, output: str, day: float, note: str) -> Callable:
    """Check ``output`` (% change) on ``day`` of the Q6M arm of ``dose_mg``."""
    def check(t):
        import numpy as np

        r = _denosumab(dose_mg)
        v = float(np.interp(day, r.time, r.outputs[output]))
        return round(v, 2), within(v, t["value"], t["tolerance"]), note

    return check


CHECKS: dict[str, Callable] = {
    "romosozumab_single_210mg_cmax": _cmax,
    "romosozumab_single_210mg_tmax": _tmax,
    "romosozumab_monthly_trough": _trough,
    "romosozumab_p1np_peak": _value("p1np_peak", "210 mg SC monthly; maximum of % change in the first 3 months"),
    "romosozumab_p1np_month12": _value("p1np_m12", "210 mg SC monthly; % change at month 12 (pre-dose)"),
    "romosozumab_ctx_nadir": _value("ctx_nadir", "210 mg SC monthly; minimum of % change in the first 3 months"),
    "romosozumab_ctx_month12": _value("ctx_m12", "210 mg SC monthly; % change at month 12 (pre-dose)"),
    "romosozumab_ls_bmd_12m_phase2": _value("ls_m12", "210 mg SC monthly; lumbar spine % change at month 12"),
    # Ishibashi 2017 (Japanese phase 2): a prediction (role in the targets file), reported as
    # it stands. Its LS +16.9% +-3 and McClung's LS +11.3% +-2.5 do not overlap, so the typical
    # Western subject cannot pass both. Known failure: the covariates we could source (body weight;
    # the trial's weight is not in our sources) do not close it, and the gap is printed per site.
    "romosozumab_japanese_12m": _japanese,
    # phase 1 exposure-response: Padhi 2011 single dose (calibration, stage 2), Padhi 2014 multiple dose (predictions)
    "romosozumab_single_dose_bmd_day85": _single_dose_bmd,
    "romosozumab_multiple_dose_phase1": _multiple_dose,
    "romosozumab_multiple_dose_phase1_ctx": _multiple_dose_ctx,
    # after stopping: predictions (off-treatment courses are held out of calibration)
    "romosozumab_ctx_after_stopping": _ctx_after_stopping,
    "romosozumab_bmd_after_stopping": _bmd_after_stopping,
    # McClung 2006 denosumab phase 2 (digitized): the 60 mg arm's CTX is calibration (calibrate.py stage 6), the rest predicted
    "denosumab_ctx_60mg_month1": _den_value(60, "ctx", 28.0, "one 60 mg SC dose, typical postmenopausal woman; CTX % change on day 28"),
    "denosumab_ctx_60mg_month6": _den_value(60, "ctx", 168.0, "one 60 mg SC dose, typical postmenopausal woman; CTX % change on day 168 "
                                                              "(pre-dose)"),
    "denosumab_ls_bmd_60mg_12m": _den_value(60, "bmd_lumbar_spine", 336.0, "60 mg SC at days 0 and 168, typical postmenopausal "
                                                                           "woman; LS % change on day 336"),
    "denosumab_ctx_210mg_month6": _den_value(210, "ctx", 168.0, "one 210 mg SC dose, typical postmenopausal woman; CTX % change "
                                                                "on day 168 (pre-dose)"),
    "denosumab_ctx_14mg_q6m_month6": _den_value(14, "ctx", 168.0, "one 14 mg SC dose, typical postmenopausal woman; CTX % change "
                                                                  "on day 168 (pre-dose)"),
    "denosumab_ls_bmd_100mg_12m": _den_value(100, "bmd_lumbar_spine", 336.0, "100 mg SC at days 0 and 168, typical "
                                                                             "postmenopausal woman; LS % change on day 336"),
    # teriparatide: calibrated (calibrate.py stage 5) to McClung 2014's LS and NCT00433160's P1NP; the rest predicted
    "teriparatide_ls_bmd_12m": _value("ls_m12", "20 ug SC daily, typical postmenopausal woman; lumbar spine % change at month 12",
                                      _teriparatide),
    "teriparatide_p1np_12m": _value("p1np_m12", "20 ug SC daily, typical postmenopausal woman; P1NP % change at month 12", _teriparatide),
    "teriparatide_ctx_month6": _tpt_ctx,
    "teriparatide_japanese_12m": _tpt_japanese,
}

#: Targets that are covered but known to fail, with the reason (tests pin them).
KNOWN_FAILING = {
    "romosozumab_japanese_12m": "LS +16.9 +-3 (Ishibashi) vs +11.3 +-2.5 (McClung) cannot both hold for one typical subject",
    "teriparatide_japanese_12m": "LS +10.04 +-2 (NCT00433160, Japanese) vs +7.1 +-1 (McClung 2014): as for romosozumab, one typical subject cannot hold both",
    "denosumab_ls_bmd_60mg_12m": ("+5.85% against +4.55 +-1: in the model every Q6M or Q3M arm of 14 mg and more gains "
                                  "5.8-5.9% by day 336 (CTX is near its floor in all of them); McClung 2006's arms gain "
                                  "4.4 to 6.7%, the 60 mg arm among the lowest (the 100 mg arm, +6.69%, passes). The site "
                                  "turnover is romosozumab's (calibrate.py stage 3), not fitted to denosumab"),
    "denosumab_ctx_14mg_q6m_month6": ("+19% against -35% on day 168 after 14 mg: the typical woman's CTX returns as a switch once "
                                      "the drug falls below its potency (day ~110), then overshoots from the osteoclast-precursor "
                                      "pool; the trial's mean returns gradually (38, 54, 65% of baseline on days 112-168), as "
                                      "a population with PK variability would"),
    "romosozumab_multiple_dose_phase1_ctx": ("CTX nadir -48 to -59% in the model against -15 to -50% in Padhi 2014's "
                                             "cohorts: the model's CTX is calibrated to the label's nadir, -55% vs placebo "
                                             "at 210 mg monthly (romosozumab_ctx_nadir), and these exposures (1-3 mg/kg) "
                                             "are alike; the abstract does not say when its values were taken"),
    "romosozumab_ctx_after_stopping": ("the osteoclast-precursor pool (assumed parameters, not fitted to off-treatment data) "
                                       "gives CTX 1.17x / 1.11x / 1.05x baseline 3 / 6 / 12 months after stopping against "
                                       "about 1.8x / 1.9x / 1.6x (label as quoted in issue 13): above baseline, but smaller"),
}
