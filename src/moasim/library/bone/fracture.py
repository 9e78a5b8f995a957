"""BMD-to-fracture link: relative fracture risk from the simulated change in BMD.

Marshall, Johnell & Wedel 1996 (BMJ 312:1254; meta-analysis of 11 prospective cohorts, ~90,000
person-years, >2000 fractures; abstract read, tag R): the relative risk of fracture per one
standard deviation DECREASE in BMD below the age-adjusted mean is 2.3 (95% CI 1.9-2.8) for
spine BMD predicting vertebral fractures, 2.6 (2.0-3.5) for hip BMD predicting hip fractures,
and 1.5 (1.4-1.6) for any site predicting any fracture. Assuming the same gradient applies to
a treatment-induced change (a strong assumption: treatment effects on fracture are not fully
explained by BMD), the risk relative to the untreated baseline is::

    RR(t) = GR^(-dBMD(t)/SD),   dBMD = BMD0*pct(t)/100 (g/cm2),   BMD0 = MEAN_YOUNG + T*SD_YOUNG

SD values (g/cm2) are from the NHANES reference table reproduced in Varatharajan et al. 2026
(Front Endocrinol 17:1748490, Table 3; tag R2): lumbar spine, women 61-70 y, SD 0.142 (the
age-adjusted SD that Marshall's gradient refers to); young women 21-30 y: lumbar spine mean 1.064
(SD 0.106), hip mean 0.971 (SD 0.114). For the hip only the young-adult SD was read, so the hip
RR uses 0.114 (this overstates the per-SD effect if the age-specific SD is larger, as at the
spine). Baseline T-score default -2.5 (WHO osteoporosis threshold, A).

Fracture events in virtual trials (:func:`event_times`). Each woman has an untreated
incidence rate that depends on her baseline lumbar-spine T-score, multiplied over time by a
treatment-related BMD link::

    h_i(t) = h_ref * G^((T_ref - T_i)*SD_young/SD_age) * exp(b * dTH_i(t))      (1/day)

- ``h_ref``: new vertebral fracture 0.0583 per year at LS BMD 0.783 g/cm2 (T_ref = -2.65
  with the NHANES young mean/SD above), the baseline hazard h0 of the Eudy 2015 fracture
  time-to-event model (cabone2.cpp, R-code; reference 20 years after menopause, BMI 27.1).
  That hazard model is Eudy et al. 2017, J Pharmacokinet Pharmacodyn (doi
  10.1007/s10928-017-9551-z; abstract read, R): NHANES 2005-2008 individual data plus 21
  placebo-controlled studies (65,254 patients), covariates LS BMD, BMI, years after
  menopause, fracture measurement (clinical or radiological) and a drug effect beyond BMD.
  The code does not name the fracture type of h0; we use it for new (radiological)
  vertebral fractures (A). Hip fracture has no sourced default: a trial must give its rate.
  Neither has a men's trial (``male_osteoporosis``): no incidence in men was read, so its rates
  are the trial's own, at the reference T-score on the men's reference (A: the same T-score
  scaling as for women).
- ``G``: Marshall 1996 gradient per age-adjusted SD (2.3 spine -> vertebral; for hip, the
  LS T-score is used with the any-site gradient 1.5, A).
- ``exp(b*dTH)``: Bouxsein et al. 2019 JBMR 34:632 meta-regression of 38 placebo-controlled
  trials (abstract read, R): a 2% / 6% treatment-related improvement in total-hip BMD goes with
  28% / 66% fewer vertebral and 16% / 40% fewer hip fractures. ``b`` is the least-squares
  slope of ln(RR) through the origin on those two points (D): -0.178 (vertebral) and -0.0853
  (hip) per percentage point. Applying the trial-level association to each woman's
  time-varying hip BMD change is an assumption (A); it credits treatment only through BMD.

Two links, two questions: :func:`relative_risk` (the ``*_fracture_rr`` outputs of
``simulate_bone``) applies Marshall's between-person gradient to the site's own BMD change;
trial incidence applies Bouxsein's between-trial association of treatment-related hip BMD
gain with fracture reduction, which is steeper. For 12 months of 210 mg monthly (LS +11.3%,
TH +4.7%) at T-score -2.5: vertebral RR 0.59 by Marshall, 0.43 by Bouxsein (D).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import cumulative_trapezoid

__all__ = ["FractureLink", "FRACTURE_LINKS", "FRACTURE_LINKS_MALE", "relative_risk", "FRACTURE_EVENTS", "DEFAULT_FRACTURE_RATES", "TREATMENT_SLOPE",
           "T_SCORE_REF", "baseline_rate", "event_times"]


@dataclass(frozen=True, slots=True)
class FractureLink:
    """Gradient of fracture risk per SD of BMD at one measurement site."""

    output: str  # simulate_bone output with the BMD % change
    fracture: str
    gradient: float  # RR per SD decrease
    sd: float  # g/cm2, SD used to express the BMD change
    young_mean: float  # g/cm2, T-score reference mean
    young_sd: float  # g/cm2, T-score reference SD
    source: str


MARSHALL = "Marshall 1996 BMJ 312:1254 (R)"
NHANES = "NHANES reference, Varatharajan 2026 Front Endocrinol Table 3 (R2)"

FRACTURE_LINKS = {
    "vertebral": FractureLink("bmd_lumbar_spine", "new vertebral fracture", 2.3, 0.142, 1.064, 0.106, f"{MARSHALL}; {NHANES}"),
    "hip": FractureLink("bmd_total_hip", "hip fracture", 2.6, 0.114, 0.971, 0.114, f"{MARSHALL}; {NHANES} (young-adult SD)"),
}
#: the same links for men: the men's rows of the same NHANES table (young men 21-30 y: lumbar
#: spine 1.057 (SD 0.110), hip 1.067 (0.120); men 61-70 y: spine SD 0.142), Marshall's
#: gradients unchanged (A: its cohorts were mostly women)
FRACTURE_LINKS_MALE = {
    "vertebral": FractureLink("bmd_lumbar_spine", "new vertebral fracture", 2.3, 0.142, 1.057, 0.110, f"{MARSHALL}; {NHANES}, men"),
    "hip": FractureLink("bmd_total_hip", "hip fracture", 2.6, 0.120, 1.067, 0.120, f"{MARSHALL}; {NHANES}, men (young-adult SD)"),
}


def relative_risk(pct_change, kind: str = "vertebral", baseline_t_score: float = -2.5, female: bool = True) -> np.ndarray:
    """Fracture risk relative to the untreated baseline for a BMD % change at the linked site.

    Parameters
    ----------
    pct_change : array-like
        BMD % change from baseline at the site of ``kind`` (``bmd_lumbar_spine`` for
        vertebral, ``bmd_total_hip`` for hip).
    kind : {"vertebral", "hip"}
    baseline_t_score : float
        Baseline T-score at that site (sets the absolute BMD that the % change applies to).
    female : bool
        Sex of the T-score reference (:data:`FRACTURE_LINKS` or :data:`FRACTURE_LINKS_MALE`).
    """
    from ...errors import SpecError, invalid_value, unknown_name

    if kind not in FRACTURE_LINKS:
        raise SpecError(unknown_name("fracture kind", kind, FRACTURE_LINKS))
    if not (-6.0 <= baseline_t_score <= 2.0):
        raise SpecError(invalid_value("baseline_t_score", baseline_t_score, "a T-score in [-6, 2]"))
    link = (FRACTURE_LINKS if female else FRACTURE_LINKS_MALE)[kind]
    bmd0 = link.young_mean + baseline_t_score * link.young_sd
    d = bmd0 * np.asarray(pct_change, float) / 100.0
    return link.gradient ** (-d / link.sd)


#: fracture events a bone trial can count
FRACTURE_EVENTS = ("new_vertebral_fracture", "hip_fracture")
#: untreated incidence of a woman at T_SCORE_REF (1/day); hip has no sourced default (see module
#: docstring), and no rate for men was read: a men's trial gives its own rates
DEFAULT_FRACTURE_RATES = {"new_vertebral_fracture": 0.0583 / 365.25}
#: LS T-score of the Eudy reference BMD 0.783 g/cm2 (NHANES young women mean 1.064, SD 0.106)
T_SCORE_REF = (0.783 - 1.064) / 0.106
#: ln(RR) per percentage point of treatment-related total-hip BMD gain (Bouxsein 2019, D)
TREATMENT_SLOPE = {
    "new_vertebral_fracture": (2 * math.log(0.72) + 6 * math.log(0.34)) / (2 * 2 + 6 * 6),
    "hip_fracture": (2 * math.log(0.84) + 6 * math.log(0.60)) / (2 * 2 + 6 * 6),
}
#: (Marshall gradient per age-adjusted SD, SD of that distribution g/cm2) for the T-score scaling
_T_SCORE_GRADIENT = {"new_vertebral_fracture": (2.3, 0.142), "hip_fracture": (1.5, 0.142)}


def baseline_rate(event: str, rate_at_ref: float, t_score: float) -> float:
    """Untreated rate (1/day) of a woman with this LS T-score, from the rate at :data:`T_SCORE_REF`."""
    g, sd_age = _T_SCORE_GRADIENT[event]
    return rate_at_ref * g ** ((T_SCORE_REF - t_score) * 0.106 / sd_age)


def event_times(time: np.ndarray, th_pct: np.ndarray, rate: float, event: str, u: float) -> float:
    """Day of the woman's first ``event`` (NaN if none by ``time[-1]``).

    Parameters
    ----------
    time : (n,) day
    th_pct : (n,) total-hip BMD % change from baseline (placebo-corrected: the model's
        drug-free course is flat)
    rate : untreated rate (1/day), from :func:`baseline_rate`
    event : one of :data:`FRACTURE_EVENTS`
    u : U(0, 1) draw of this woman for this event: the event happens when the cumulative
        incidence 1 - exp(-H(t)) first reaches ``u``.
    """
    h = rate * np.exp(TREATMENT_SLOPE[event] * np.asarray(th_pct, float))
    cum = cumulative_trapezoid(h, time, initial=0.0)
    need = -math.log1p(-u)
    if cum[-1] < need:
        return float("nan")
    j = int(np.searchsorted(cum, need))  # cum[j-1] < need <= cum[j]
    return float(np.interp(need, cum[j - 1:j + 1], time[j - 1:j + 1])) if j > 0 else float(time[0])
