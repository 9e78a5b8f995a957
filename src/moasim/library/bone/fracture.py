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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FractureLink", "FRACTURE_LINKS", "relative_risk"]


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


def relative_risk(pct_change, kind: str = "vertebral", baseline_t_score: float = -2.5) -> np.ndarray:
    """Fracture risk relative to the untreated baseline for a BMD % change at the linked site.

    Parameters
    ----------
    pct_change : array-like
        BMD % change from baseline at the site of ``kind`` (``bmd_lumbar_spine`` for
        vertebral, ``bmd_total_hip`` for hip).
    kind : {"vertebral", "hip"}
    baseline_t_score : float
        Baseline T-score at that site (sets the absolute BMD that the % change applies to).
    """
    from ...errors import SpecError, invalid_value, unknown_name

    if kind not in FRACTURE_LINKS:
        raise SpecError(unknown_name("fracture kind", kind, FRACTURE_LINKS))
    if not (-6.0 <= baseline_t_score <= 2.0):
        raise SpecError(invalid_value("baseline_t_score", baseline_t_score, "a T-score in [-6, 2]"))
    link = FRACTURE_LINKS[kind]
    bmd0 = link.young_mean + baseline_t_score * link.young_sd
    d = bmd0 * np.asarray(pct_change, float) / 100.0
    return link.gradient ** (-d / link.sd)
