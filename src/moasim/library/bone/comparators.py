"""Comparator drugs whose mechanism is in the bone model: denosumab (RANKL neutralisation),
alendronate (osteoclast inhibition by bone-surface bisphosphonate) and teriparatide (PTH 1-34:
osteoblast survival and RANKL).

Denosumab PK (Peterson et al. 2004, AAPS J 6(S1) abstract W4340, as coded in OpenBoneMin.cpp,
R-code): SC first-order absorption, two compartments, linear + Michaelis-Menten
(target-mediated) elimination; time in hours there, converted here by the unit system::

    Cden = AC_den/VC_den                                       ng/mL (= ug/L)
    dDEPOT_den/dt = -KA_den*DEPOT_den                          (SC dose enters as F*dose)
    dAC_den/dt    = KA_den*DEPOT_den - (CL_den + Q_den)*Cden + Q_den/VP_den*AP_den
                    - VMAX_den*Cden/(KM_den + Cden)
    dAP_den/dt    = Q_den*Cden - Q_den/VP_den*AP_den

CL, Q, VC and VP enter at the subject's body weight (CLW_den = CL_den*SZCL_mab, ...,
:mod:`.body_size`, Davda 2014 antibody allometry; Peterson's values are kept for the
reference 65 kg woman).

RANKL neutralisation. With RANKL at quasi-steady state, the share of RANKL signalling left free
by denosumab multiplies free RANKL in :mod:`remodeling`, and the RANKL that osteoclasts lose
shortens their life (RANKL is an osteoclast survival factor)::

    FDEN_rankl = F0_den + (1 - F0_den)/(1 + KDEN_rankl*Cden)     free share of RANKL signalling
    KILL_den   = EK_den*(1 - FDEN_rankl)                         extra OC apoptosis:
    dOCA/dt   += -KC_oc*KILL_den*OCA                             OC removal x (1 + KILL_den)

OpenBoneMin's structure gives the hyperbolic term (kdenosl*DEN*L besides RANKL turnover koutL*L:
KDEN_rankl = kdenosl/koutL x 1e6/150000 = 4.55e-3 mL/ng, D from R-code). With that potency and
no floor or apoptosis, CTX suppression by 60 mg was lost between months 4 and 6 (+23% on day 168
against -70% in the clinic), and CTX could not fall faster than the osteoclast lifespan allows.
All three are now calibrated (C, calibrate.py stage 6) to the CTX course of McClung 2006's 60 mg
Q6M arm (NEJM 354:821; digitized by Metrum in metrumresearchgroup/OpenBoneMin's history, commit
e945bb2, R-code; days 9.2-168): KDEN_rankl 0.366 mL/ng (half-maximal at 2.7 ng/mL, 80-fold
OpenBoneMin's; denosumab's RANKL affinity is picomolar), F0_den 0.076 (the share out of reach:
CTX levels off near 10-15% of baseline at every dose from 6 to 210 mg, which no potency gives)
and EK_den 0.61. Model/data, CTX % of baseline: 60 mg day 28 11/12, day 84 15/14, day 168 31/30;
210 mg day 168 18/13; 14 and 30 mg Q3M and 100 mg Q6M within a few points over the first year,
6 mg Q3M's troughs higher (56-69 against 35-44% of baseline on days 84, 168, 252, 336).
Predictions that fail (validate): the 14 mg Q6M arm, whose typical-subject CTX returns as a
switch near day 110 and overshoots (+19% on day 168 against -35%: the trial mean returns
gradually, as a population with PK variability would), and the 60 mg arm's LS BMD on day 336
(+5.85% against +4.55%; every arm of 14 mg and more gains 5.8-5.9% in the model, 4.4-6.7% in the
trial; the site turnover is romosozumab's). The first dose still falls slower than in the clinic
(14 mg day 3.7: 45% of baseline against 24%). After offset the osteoclast-precursor pool built
up under the blockade (:mod:`remodeling`) makes resorption overshoot baseline (the rebound).

Alendronate (oral, weekly): of an oral dose a fraction F_aln = 0.76% is absorbed (women,
fasting, 90% CI 0.58-0.98%; Gertz 1995 Clin Pharmacol Ther 58:288 abstract, R) and about half
of the systemic dose is taken up by the skeleton, the rest excreted in urine within 72 h
(FB_aln = 0.5; Gertz/Porras review abstract, R). The skeletal drug first sits on bone surfaces,
where resorbing osteoclasts take it up and die; it leaves the surface pool by burial under new
bone and by resorption (its skeletal half-life exceeds 10 years, R, but it is then inert)::

    dBPS_aln/dt = -KS_aln*(OBA + OCA)/2*BPS_aln          (oral dose enters as F_aln*FB_aln*dose, ug)
    KILL_bp     = EMAX_aln*BPS_aln/(EC50_aln + BPS_aln)   extra OC apoptosis (OC removal x (1 + KILL_bp))

KS_aln 1/60 per day (surface pool renewed over ~2 months by remodelling, A); EMAX_aln 3 (OC
lifespan shortened at most 4-fold, i.e. CTX at most -75%; A); EC50_aln calibrated (C) to
alendronate 70 mg weekly LS BMD +4.1% at 12 months (McClung 2014 open-label arm, R2).

Teriparatide (PTH 1-34, SC daily). PK, one compartment with first-order absorption::

    dDEPOT_tpt/dt = -KA_tpt*DEPOT_tpt                (SC dose enters as F_tpt*dose, ug)
    dAC_tpt/dt    = KA_tpt*DEPOT_tpt - CL_tpt/V_tpt*AC_tpt
    C_tpt (pg/mL) = 1000*AC_tpt/V_tpt

The SmPC (as quoted by Lilly Medical Information, R2) gives an SC half-life of ~1 hour that
"reflects the time required for absorption" (so KA_tpt = ln 2/1 h, D), a maximum concentration
at ~30 minutes and clearance ~62 L/h in women; V_tpt 14.2 L is derived (D) so that tmax is 0.5
h with these ka and CL (its apparent volume CL/KA = 89 L is the SmPC's ~1.7 L/kg of a flip-flop
profile, and OpenBoneMin's 94.4 L). Bioavailability 95% (SmPC as quoted in reviews, R2).

Bone effect. PTH signals through PTH1R on osteoblast-lineage cells and osteocytes: it prolongs
osteoblast survival (Jilka 1999, J Clin Invest 104:439; the anabolic arm) and raises RANKL
(the resorptive arm). Each day's pulse is integrated by a signal ``S_tpt`` normalised to the
daily-average concentration of 20 ug/day (``CAVG_tpt``, D: F x 20 ug / CL / 24 h)::

    dS_tpt/dt = KSIG_tpt*(C_tpt/CAVG_tpt - S_tpt)       (~1 on 20 ug daily)
    PTH_ob    = 1 + EOB_tpt*S_tpt                        active-OB elimination KB_ob/PTH_ob
    PTH_rankl = 1 + ERL_tpt*S_tpt                        RANKL expression and osteoclast-precursor
                                                         supply (M-CSF) x PTH_rankl

EOB_tpt and ERL_tpt are calibrated (C, calibrate.py stage 5) to the 12-month lumbar-spine BMD
of McClung 2014's open-label teriparatide arm (+7.1%, R2) and the 12-month P1NP rise of the
Japanese teriparatide 20 ug/day trial (median +79%, NCT00433160, Bone 2010 abstract, R): one
formation and one net-balance number for the two arms. The rise of CTX that follows formation
(Japanese 6-month dose-response study, J Bone Miner Metab 2008, abstract: "late increases in a
bone resorption marker") is then a prediction; in the model CTX rises within a week (the RANKL
arm acts directly), not months after P1NP. NOTE: the signal is the daily average exposure, so
continuous PTH would act like daily pulses here (the catabolic effect of continuous PTH is not
modelled), and the markers' waning after 6-12 months of treatment is not modelled either.

References
----------
Peterson MC, et al. AAPS J 2004;6(S1):W4340 (abstract). Peterson MC, Riggs MM. Bone
2010;46:49-63 (OpenBoneMin, metrumresearchgroup; GPL, read not copied).
"""

from __future__ import annotations

import math

from ...model import Module, Output, Parameter, State
from .body_size import disposition_at_weight

OBM = "Peterson 2004 AAPS J W4340 via OpenBoneMin.cpp (R-code)"
MC2006 = ("calibrated (calibrate.py stage 6) to McClung 2006 NEJM 354:821, 60 mg Q6M arm, serum CTX days 9.2-168 "
          "(digitized in metrumresearchgroup/OpenBoneMin, commit e945bb2, inst/old/deno_FINAL_check(5).csv; R-code)")

#: calibrated values (calibrate.py, stage 6)
DEN_CALIBRATED = {"KDEN_rankl": 0.366102, "F0_den": 0.0758271, "EK_den": 0.609248}


def denosumab_module() -> Module:
    P = Parameter
    return Module(
        name="pk_denosumab",
        doc=__doc__ or "",
        parameters=(
            P(name="KA_den", value=0.00592, unit="1/h", model_unit="1/day", lower=0, tag="R-code", source=OBM + " DENKA", doc="SC absorption"),
            P(name="F_den", value=0.729, unit="1", lower=0, upper=1, tag="R-code", source=OBM + " DENF", doc="SC bioavailability"),
            P(name="VC_den", value=2340.0, unit="mL", model_unit="L", lower=0, tag="R-code", source=OBM + " DENVC", doc="central volume"),
            P(name="VP_den", value=1324.0, unit="mL", model_unit="L", lower=0, tag="R-code", source=OBM + " DENVP", doc="peripheral volume"),
            P(name="CL_den", value=2.75, unit="mL/h", model_unit="L/day", lower=0, tag="R-code", source=OBM + " DENCL", doc="linear clearance"),
            P(name="Q_den", value=18.67, unit="mL/h", model_unit="L/day", lower=0, tag="R-code", source=OBM + " DENQ", doc="intercompartmental CL"),
            P(name="VMAX_den", value=3110.0, unit="ng/h", model_unit="ug/day", lower=0, tag="R-code", source=OBM + " DENVMAX",
              doc="saturable elimination capacity"),
            P(name="KM_den", value=188.0, unit="ng/mL", lower=0, tag="R-code", source=OBM + " DENKM", doc="saturable elimination Km"),
            P(name="KDEN_rankl", value=DEN_CALIBRATED["KDEN_rankl"], unit="mL/ng", lower=0, tag="C",
              source=MC2006 + "; start kdenosl/koutL x (1e6/150000) = 4.55e-3 from OpenBoneMin.cpp (D from R-code)",
              doc="RANKL neutralisation per ng/mL"),
            P(name="F0_den", value=DEN_CALIBRATED["F0_den"], unit="1", lower=0, upper=1, tag="C",
              source=MC2006 + " (CTX levels off near 10-15% of baseline at every dose from 6 to 210 mg)",
              doc="share of RANKL signalling out of denosumab's reach"),
            P(name="EK_den", value=DEN_CALIBRATED["EK_den"], unit="1", lower=0, tag="C",
              source=MC2006 + " (CTX falls faster than the osteoclast lifespan allows: 14 mg, 24% of baseline on day 3.7)",
              doc="extra osteoclast apoptosis per unit of RANKL neutralised (RANKL is an osteoclast survival factor)"),
        ),
        states=(
            State(name="DEPOT_den", unit="ug", doc="SC depot", dosable=True, absorption=True),
            State(name="AC_den", unit="ug", doc="central denosumab", dosable=True),
            State(name="AP_den", unit="ug", doc="peripheral denosumab"),
        ),
        assignments={
            **disposition_at_weight("den"),  # CLW_den, QW_den, VCW_den, VPW_den (body_size: Davda 2014 allometry)
            "Cden": "AC_den/VCW_den",
            "FDEN_rankl": "F0_den + (1 - F0_den)/(1 + KDEN_rankl*Cden)",
            "KILL_den": "EK_den*(1 - FDEN_rankl)",
        },
        rates={
            "OCA": "-KC_oc*KILL_den*OCA",  # osteoclasts deprived of RANKL die faster (added to remodeling's OCA)
            "DEPOT_den": "-KA_den*DEPOT_den",
            "AC_den": ("KA_den*DEPOT_den", "-(CLW_den + QW_den)*Cden", "QW_den/VPW_den*AP_den", "-VMAX_den*Cden/(KM_den + Cden)"),
            "AP_den": ("QW_den*Cden", "-QW_den/VPW_den*AP_den"),
        },
        outputs=(Output(name="conc_denosumab", expr="Cden", unit="ng/mL", doc="serum denosumab"),),
        references=("Peterson 2004 AAPS J W4340",),
    )


#: calibrated value (calibrate.py, stage 4)
EC50_ALN_CALIBRATED = 15891.2
#: calibrated values (calibrate.py, stage 5)
EOB_TPT_CALIBRATED = 0.461655
ERL_TPT_CALIBRATED = 0.689496


def alendronate_module() -> Module:
    """Alendronate: bone-surface bisphosphonate pool -> osteoclast apoptosis (``KILL_bp``)."""
    P = Parameter
    return Module(
        name="pk_alendronate",
        doc=__doc__ or "",
        parameters=(
            P(name="F_aln", value=0.0076, unit="1", lower=0, upper=1, tag="R", source="Gertz 1995 Clin Pharmacol Ther 58:288 (abstract)",
              doc="oral bioavailability (fasting)"),
            P(name="FB_aln", value=0.5, unit="1", lower=0, upper=1, tag="R",
              source="~50% of a systemic dose excreted in urine in 72 h, rest to skeleton (Gertz; Porras 1999 Clin Pharmacokinet abstracts)",
              doc="skeletal uptake fraction"),
            P(name="KS_aln", value=1 / 60, unit="1/day", lower=0, tag="A", source="bone-surface pool renewed over ~2 months",
              doc="surface pool turnover at baseline remodelling"),
            P(name="EMAX_aln", value=3.0, unit="1", lower=0, tag="A", source="OC lifespan shortened at most 4-fold",
              doc="max extra OC apoptosis"),
            P(name="EC50_aln", value=EC50_ALN_CALIBRATED, unit="ug", lower=0, tag="C",
              source="calibrated to alendronate 70 mg weekly LS BMD +4.1% at 12 m (McClung 2014, R2)",
              fitted_by=("alendronate_ls_bmd_12m",), doc="surface amount for half effect"),
        ),
        states=(State(name="BPS_aln", unit="ug", doc="alendronate on bone surfaces", dosable=True),),
        assignments={"KILL_bp": "EMAX_aln*BPS_aln/(EC50_aln + BPS_aln)"},
        rates={"BPS_aln": "-KS_aln*(OBA + OCA)/2*BPS_aln"},
        outputs=(Output(name="bone_surface_alendronate", expr="BPS_aln", unit="ug", doc="alendronate on bone surfaces"),),
        references=("Gertz 1995 Clin Pharmacol Ther 58:288",),
    )


SMPC_TPT = "Forsteo SmPC as quoted by Lilly Medical Information (lillymedical.eu, Forsteo pharmacokinetic properties)"
#: SC absorption from the ~1 h SC half-life that reflects absorption (SmPC, R2): ln 2 / 1 h (D)
KA_TPT_PER_H = math.log(2.0) / 1.0
#: clearance in women, L/h (SmPC as quoted by Lilly Medical Information, R2)
CL_TPT_L_PER_H = 62.0
#: central volume (D): tmax = ln(k/ka)/(k - ka) = 0.5 h (SmPC) with KA_TPT and k = CL/V -> k 4.38/h
V_TPT_L = 14.15
#: bioavailability (SmPC as quoted in reviews, R2)
F_TPT = 0.95
#: daily-average concentration of 20 ug/day, pg/mL (D): F x 20 ug / CL / 24 h x 1000
CAVG_TPT_PG_ML = F_TPT * 20.0 / CL_TPT_L_PER_H / 24.0 * 1000.0


def teriparatide_module() -> Module:
    """Teriparatide: SC PK and the daily PTH signal on osteoblast survival and RANKL."""
    P = Parameter
    cal = "calibrated (calibrate.py stage 5) to McClung 2014 teriparatide LS BMD +7.1% at 12 m (R2) and NCT00433160 P1NP +79% at 12 m (R)"
    return Module(
        name="pk_teriparatide",
        doc=__doc__ or "",
        parameters=(
            P(name="KA_tpt", value=KA_TPT_PER_H, unit="1/h", model_unit="1/day", lower=0, tag="D",
              source=SMPC_TPT + ": SC half-life ~1 h, reflecting absorption -> ln2/1 h", doc="SC absorption"),
            P(name="F_tpt", value=F_TPT, unit="1", lower=0, upper=1, tag="R2", source="SmPC bioavailability 95%, as quoted in reviews",
              doc="SC bioavailability"),
            P(name="CL_tpt", value=CL_TPT_L_PER_H, unit="L/h", model_unit="L/day", lower=0, tag="R2", source=SMPC_TPT + ": ~62 L/h in women",
              doc="clearance"),
            P(name="V_tpt", value=V_TPT_L, unit="L", lower=0, tag="D", source="tmax 0.5 h (" + SMPC_TPT + ") with KA_tpt and CL_tpt",
              doc="central volume"),
            P(name="CAVG_tpt", value=CAVG_TPT_PG_ML, unit="pg/mL", lower=0, tag="D", source="F_tpt x 20 ug / CL_tpt / 24 h",
              doc="daily-average concentration of 20 ug/day (signal reference)"),
            P(name="KSIG_tpt", value=0.5, unit="1/day", lower=0, tag="A",
              source="the PTH signal integrates each daily pulse over ~2 days (osteoblast-lineage transcription), an assumption",
              doc="turnover of the PTH signal"),
            P(name="EOB_tpt", value=EOB_TPT_CALIBRATED, unit="1", lower=0, tag="C", source=cal,
              fitted_by=("teriparatide_ls_bmd_12m", "teriparatide_p1np_12m"), doc="prolonged osteoblast survival per unit signal"),
            P(name="ERL_tpt", value=ERL_TPT_CALIBRATED, unit="1", lower=0, tag="C", source=cal,
              fitted_by=("teriparatide_ls_bmd_12m", "teriparatide_p1np_12m"), doc="RANKL rise per unit signal"),
        ),
        states=(
            State(name="DEPOT_tpt", unit="ug", doc="SC depot", dosable=True, absorption=True),
            State(name="AC_tpt", unit="ug", doc="teriparatide in the central compartment", dosable=True),
            State(name="S_tpt", unit="1", doc="PTH signal (1 = the daily average of 20 ug/day)"),
        ),
        assignments={
            "C_tpt": "1000*AC_tpt/V_tpt",
            "PTH_ob": "1 + EOB_tpt*S_tpt",
            "PTH_rankl": "1 + ERL_tpt*S_tpt",
        },
        rates={
            "DEPOT_tpt": "-KA_tpt*DEPOT_tpt",
            "AC_tpt": ("KA_tpt*DEPOT_tpt", "-CL_tpt/V_tpt*AC_tpt"),
            "S_tpt": "KSIG_tpt*(C_tpt/CAVG_tpt - S_tpt)",
        },
        outputs=(Output(name="conc_teriparatide", expr="C_tpt", unit="pg/mL", doc="serum teriparatide"),),
        references=(SMPC_TPT, "Jilka 1999 J Clin Invest 104:439", "Japanese teriparatide phase 3 (NCT00433160), Bone 2010"),
    )
