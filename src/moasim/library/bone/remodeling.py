"""Bone remodelling: sclerostin -> LRP5/6-Wnt -> osteoblasts; RANKL/OPG -> osteoclasts; BMD.

A compact cell-population model in the spirit of Lemaire 2004 / Pivonka 2008 (osteoblast
precursors -> active osteoblasts, RANKL/OPG/RANK-controlled osteoclasts, TGF-beta
coupling of resorption to osteoblast recruitment), extended with the osteocyte-sclerostin-
Wnt arm of Eudy 2015 (osteocyte RANKL share, Wnt-induced OPG). Reimplemented from the
published structures; no code was copied. All cell states are normalised to 1 at the
drug-free steady state, so the baseline is balanced by construction (formation =
resorption) and every rate constant below is a turnover rate in 1/day.

Equations (normalised units; time in days)::

    s     = SFREE_scl/SCL0_bone                      free sclerostin / baseline
    WNT   = (1 + KSI_wnt)/(1 + KSI_wnt*s)            LRP5/6-Wnt signalling (competitive
                                                     inhibition by sclerostin; 1 at baseline)
    PIT   = OCA*(1 + KT_tgf)/(1 + KT_tgf*OCA)        TGF-beta released by resorption,
                                                     receptor occupancy on progenitors
    LTOT  = FL_ocy*OCY + (1 - FL_ocy)*OBP            RANKL expression (osteocytes + OB precursors)
    OPGN  = OBA*WNT^GO_opg                           OPG from active OB, induced by Wnt
    LFREE = LTOT*PTH_rankl*(1 + RO_opg)/(1 + RO_opg*OPGN)*FDEN_rankl
                                                     free RANKL (OPG decoy; FDEN_rankl = free
                                                     fraction left by denosumab, PTH_rankl the
                                                     rise by teriparatide; both 1 without them)
    PIL   = LFREE*(1 + KL_rank)/(1 + KL_rank*LFREE)  RANK occupancy on OC precursors
    MOD   = AMOD_ob*(WNT - 1)*LC                     modelling-based formation: Wnt activates
                                                     quiescent lining cells on bone surfaces

    dOBP/dt = KP_ob*(PIT - OBP)                      BMU (remodelling-based) OB recruitment,
                                                     coupled to resorption with a reversal delay
    dOBA/dt = KB_ob*(OBP + MOD - OBA/PTH_ob)         active OB: remodelling + modelling formation
                                                     (PTH_ob: survival prolonged by teriparatide)
    dLC/dt  = KLC_ob*(1 - LC) - KACT_ob*(WNT - 1)*LC lining-cell pool: activation drains it,
                                                     slow replenishment refills it
    dOCP/dt = KOP_ocp*(PTH_rankl - (FD_ocp*PIL + 1 - FD_ocp)*OCP)
                                                     OC precursors: supply (M-CSF-driven, from the
                                                     marrow; raised with RANKL by teriparatide),
                                                     drained by RANKL-driven fusion and by other exits
    dOCA/dt = KC_oc*(PIL*OCP - OCA*(1 + KILL_bp))    RANKL-driven formation from the pool - apoptosis
                                                     (KILL_bp: bisphosphonate effect, 0 without it;
                                                     denosumab adds KILL_den, comparators.py)
    dOCY/dt = KY_ocy*(OBA - OCA*OCY)                 burial of OB - removal with resorbed bone
    dBMD_x/dt = KX_site*(OBA - OCA),  x = LS, TH, FN  formation - resorption (site turnover)

Markers: P1NP (type I collagen synthesis) is proportional to active OBs, CTX (collagen
degradation) to active OCs: ``p1np = 100*(OBA - 1)``, ``ctx = 100*(OCA - 1)`` (% change).

Why the anabolic window closes with continued dosing: sclerostin neutralisation raises Wnt
signalling, which (1) activates lining cells into bone-forming OBs on quiescent surfaces
(modelling-based formation, the early P1NP peak) and (2) raises OPG, lowering RANKL
signalling and resorption (CTX). The lining-cell pool drains under sustained activation
(LC -> KLC/(KLC + KACT*(WNT - 1))), so modelling-based formation wanes, while remodelling-
based formation follows the now-lower resorption through TGF-beta coupling. Together:
P1NP peaks within weeks, returns to baseline and falls below it with CTX (label: P1NP back
at placebo by month 9, -15% at month 12; CTX -25%).

What happens after stopping: the osteoclast-precursor pool. RANK-expressing precursors
(including the osteomorphs that osteoclasts recycle into; McDonald 2021 Cell 184:1330)
arrive at a constant rate and leave by RANKL-driven fusion into osteoclasts (a share FD_ocp of
the exits at baseline) or otherwise. While RANK signalling is suppressed (Wnt-induced OPG
under romosozumab, RANKL neutralised by denosumab) fewer precursors fuse and the pool grows
towards 1/(FD_ocp*PIL + 1 - FD_ocp) (at most 2.5-fold with FD_ocp 0.6, time constant
1/(KOP_ocp*(FD_ocp*PIL + 1 - FD_ocp))); during treatment this partly restores osteoclast
formation (CTX recovers from its nadir), and when the block lifts the enlarged pool fuses at
the full RANKL signal, so resorption overshoots baseline and part of the BMD gained is lost
while the pool drains back (time constant 1/KOP_ocp, 200 days). At equilibrium osteoclast
formation PIL/(FD_ocp*PIL + 1 - FD_ocp) still rises with RANKL signalling, to 1.25-fold at its
maximum (PIL = 2); PTH (teriparatide) raises the precursor supply (M-CSF) by the same factor
as RANKL expression (one factor, PTH_rankl; assumption A), so its resorptive arm is not capped.
Both pool parameters are assumptions (A), not fitted: the off-treatment course is held out as
a prediction (validate: ``romosozumab_ctx_after_stopping``, ``romosozumab_bmd_after_stopping``).
An antiresorptive follow-on (denosumab: FDEN_rankl; bisphosphonate hook: KILL_bp) lowers
resorption after romosozumab and adds BMD.

Parameters and provenance (tags: R read in source, R-code read in public code, D derived,
C calibrated (calibrate.py; target named), A modelling assumption)
------------------------------------------------------------------------------------------
KB_ob 0.189/day: active-OB elimination A_OBa of Pivonka 2008 (cmodiz/Bone-Models,
pivonka_parameters.py; R-code). KC_oc 0.16/day: OC removal Da*Pic0 = 6.65e-3/h of Peterson &
Riggs 2010 (OpenBoneMin.cpp; R-code) x 24 h (D). FL_ocy 0.95: osteocyte share of RANKL
production at baseline, Eudy 2015 FracOBE = 20 (cabone2.cpp; R-code). GO_opg: Wnt effect on
OPG, started at Eudy's gammaOPG 1.597 (R-code) and calibrated (C). KY_ocy: osteocyte pool
renewal ~ tissue turnover 10%/year (A). RO_opg = 1 (half of RANKL held by OPG at baseline),
KL_rank = 1 (RANK half-occupied at baseline), KOP_ocp and FD_ocp (the precursor pool, above),
KP_ob = 1/30 per day (A: mean delay from a resorption signal to the osteoblasts it recruits,
about a month of reversal phase). The romosozumab targets fit about equally well with 1/30 to
1/90; KP_ob mainly sets how much of an antiresorptive's BMD gain is the reversible
remodelling-space transient, and with CTX suppressed through month 6 (comparators.py) 1/90
made denosumab 60 mg Q6M gain LS +8% by day 336 (McClung 2006: +4.55%), 1/30 +5.9%. NOTE: Peterson & Riggs' much steeper RANKL effects on OC formation and survival
(Hill 8.5 and 3.1, OpenBoneMin.cpp) were tried in place of PIL; with them the CTX nadir
(-55%) and month-12 value (-25%) could not be met together, so the hyperbolic occupancy is
kept. KSI_wnt, AMOD_ob, KACT_ob, KLC_ob, KT_tgf and the site turnover rates
KLS/KTH/KFN_site: C (calibrate.py). SCL0_bone: D, the baseline free sclerostin
KSYN_scl/KDEG_scl (set when the model is built).

References
----------
Lemaire V, et al. J Theor Biol 2004;229:293-309. Pivonka P, et al. Bone 2008;43:249-263.
Peterson MC, Riggs MM. Bone 2010;46:49-63. Eudy RJ, Gastonguay MR, Baron KT, Riggs MM.
CPT Pharmacometrics Syst Pharmacol 2015;4:527-536.
"""

from __future__ import annotations

from ...model import Module, Output, Parameter, State

PIV = "Pivonka 2008 Bone 43:249 (cmodiz/Bone-Models pivonka_parameters.py)"
PR = "Peterson & Riggs 2010 Bone 46:49 (OpenBoneMin.cpp)"
EUDY = "Eudy 2015 CPT:PSP 4:527 (OpenBoneMin history, inst/cabone2.cpp)"
CAL = "calibrated (moasim.library.bone.calibrate) to the romosozumab targets: "

#: the osteoclast-precursor pool (assumptions, A; not fitted: see the module docstring)
PRECURSOR_POOL = {"KOP_ocp": 0.005, "FD_ocp": 0.6}

#: calibrated values (calibrate.py prints these; see the module docstring)
CALIBRATED = {
    "KSI_wnt": 3.68171,
    "AMOD_ob": 1.00012,
    "KACT_ob": 0.0283273,
    "KLC_ob": 0.0027757,
    "KT_tgf": 1.00143,
    "GO_opg": 1.07315,
    "KLS_site": 0.000963056,
    "KTH_site": 0.000400563,
    "KFN_site": 0.00032386,
}


def module() -> Module:
    """Osteocytes, sclerostin-Wnt, lining cells, osteoblasts, RANKL/OPG, osteoclasts and site BMD."""
    c = CALIBRATED
    P = Parameter
    return Module(
        name="bone_remodeling",
        doc=__doc__ or "",
        parameters=(
            P(name="SCL0_bone", value=6.1 / 860.0, unit="nM", lower=0, tag="D", source="KSYN_scl/KDEG_scl (baseline free sclerostin)",
              doc="baseline free sclerostin"),
            P(name="KSI_wnt", value=c["KSI_wnt"], unit="1", lower=0, tag="C", source=CAL + "P1NP peak, CTX nadir, Padhi 2011's single-dose LS gain relative to McClung 2014's",
              doc="sclerostin inhibition of LRP5/6 at baseline (S0/Ki)"),
            P(name="AMOD_ob", value=c["AMOD_ob"], unit="1", lower=0, tag="C", source=CAL + "P1NP peak",
              doc="modelling-based formation per unit Wnt rise (relative to baseline formation)"),
            P(name="KACT_ob", value=c["KACT_ob"], unit="1/day", lower=0, tag="C", source=CAL + "P1NP month 9 and 12",
              doc="lining-cell activation per unit Wnt rise"),
            P(name="KLC_ob", value=c["KLC_ob"], unit="1/day", lower=0, tag="C", source=CAL + "P1NP month 9 and 12",
              doc="lining-cell pool replenishment"),
            P(name="KP_ob", value=1 / 30, unit="1/day", lower=0, tag="A",
              source="mean delay from a resorption signal to the osteoblasts it recruits, ~1 month of reversal phase (A; "
                     "1/90 made denosumab's remodelling-space transient too large, comparators.py)",
              doc="BMU osteoblast recruitment turnover"),
            P(name="KB_ob", value=0.189, unit="1/day", lower=0, tag="R-code", source=PIV + " A_OBa", doc="active OB elimination"),
            P(name="KC_oc", value=0.1596, unit="1/day", lower=0, tag="D", source=PR + " Da*Pic0 = 6.65e-3/h (R-code) x 24",
              doc="active OC elimination"),
            P(name="KOP_ocp", value=PRECURSOR_POOL["KOP_ocp"], unit="1/day", lower=0, tag="A",
              source="osteoclast-precursor pool renewed over ~200 days (assumption; the pool that builds up under RANKL "
                     "inhibition persists for months after it, McDonald 2021 Cell 184:1330); not fitted: the off-treatment course is a prediction",
              doc="osteoclast-precursor pool renewal rate (supply / baseline pool)"),
            P(name="FD_ocp", value=PRECURSOR_POOL["FD_ocp"], unit="1", lower=0, upper=1, tag="A",
              source="assumption: 60% of precursor exits at baseline are RANKL-driven fusion (pool at most 2.5-fold when RANK "
                     "signalling is fully blocked); not fitted",
              doc="share of the precursor pool's exits that are RANKL-driven fusion at baseline"),
            P(name="KT_tgf", value=c["KT_tgf"], unit="1", lower=0, tag="C", source=CAL + "P1NP and CTX month 12",
              doc="TGF-beta / K_act at baseline (coupling shape)"),
            P(name="FL_ocy", value=0.95, unit="1", lower=0, upper=1, tag="R-code", source=EUDY + " FracOBE = 20",
              doc="osteocyte share of RANKL"),
            P(name="GO_opg", value=c["GO_opg"], unit="1", lower=0, tag="C", source=CAL + "CTX nadir and month 12 (start: Eudy gammaOPG 1.597)",
              doc="Wnt exponent on OPG production"),
            P(name="RO_opg", value=1.0, unit="1", lower=0, tag="A", source="half of RANKL bound to OPG at baseline",
              doc="OPG decoy binding strength at baseline"),
            P(name="KL_rank", value=1.0, unit="1", lower=0, tag="A", source="RANK half occupied at baseline",
              doc="free RANKL / K_RANK at baseline"),
            P(name="KY_ocy", value=0.1 / 365.25, unit="1/day", lower=0, tag="A", source="osteocyte pool renewal ~ tissue turnover 10%/year",
              doc="osteocyte turnover"),
            P(name="KLS_site", value=c["KLS_site"], unit="1/day", lower=0, tag="C", source=CAL + "McClung 2014 LS BMD +11.3% at 12 m",
              doc="lumbar spine bone turnover"),
            P(name="KTH_site", value=c["KTH_site"], unit="1/day", lower=0, tag="C", source=CAL + "Ishibashi 2017 TH BMD +4.7% at 12 m",
              doc="total hip bone turnover"),
            P(name="KFN_site", value=c["KFN_site"], unit="1/day", lower=0, tag="C", source=CAL + "Ishibashi 2017 FN BMD +3.8% at 12 m",
              doc="femoral neck bone turnover"),
        ),
        states=(
            State(name="OBP", unit="1", doc="BMU osteoblast precursors (normalised)"),
            State(name="OBA", unit="1", doc="active osteoblasts (normalised)"),
            State(name="LC", unit="1", doc="quiescent lining cells available for activation (normalised)"),
            State(name="OCP", unit="1", doc="RANK-expressing osteoclast precursors (normalised)"),
            State(name="OCA", unit="1", doc="active osteoclasts (normalised)"),
            State(name="OCY", unit="1", doc="osteocytes (normalised)"),
            State(name="BMD_LS", unit="1", doc="lumbar spine BMD / baseline"),
            State(name="BMD_TH", unit="1", doc="total hip BMD / baseline"),
            State(name="BMD_FN", unit="1", doc="femoral neck BMD / baseline"),
        ),
        assignments={
            "SREL": "SFREE_scl/SCL0_bone",
            "WNT": "(1 + KSI_wnt)/(1 + KSI_wnt*SREL)",
            "PIT": "OCA*(1 + KT_tgf)/(1 + KT_tgf*OCA)",
            "LTOT": "FL_ocy*OCY + (1 - FL_ocy)*OBP",
            "OPGN": "OBA*WNT^GO_opg",
            "LFREE": "LTOT*PTH_rankl*(1 + RO_opg)/(1 + RO_opg*OPGN)*FDEN_rankl",
            "PIL": "LFREE*(1 + KL_rank)/(1 + KL_rank*LFREE)",
            "MODF": "AMOD_ob*(WNT - 1)*LC",
        },
        rates={
            "OBP": "KP_ob*(PIT - OBP)",
            "OBA": "KB_ob*(OBP + MODF - OBA/PTH_ob)",
            "LC": ("KLC_ob*(1 - LC)", "-KACT_ob*(WNT - 1)*LC"),
            "OCP": "KOP_ocp*(PTH_rankl - (FD_ocp*PIL + 1 - FD_ocp)*OCP)",
            "OCA": "KC_oc*(PIL*OCP - OCA*(1 + KILL_bp))",
            "OCY": "KY_ocy*(OBA - OCA*OCY)",
            "BMD_LS": "KLS_site*(OBA - OCA)",
            "BMD_TH": "KTH_site*(OBA - OCA)",
            "BMD_FN": "KFN_site*(OBA - OCA)",
        },
        outputs=(
            Output(name="bmd_lumbar_spine", expr="100*(BMD_LS - 1)", unit="%", doc="lumbar spine BMD, % change from baseline"),
            Output(name="bmd_total_hip", expr="100*(BMD_TH - 1)", unit="%", doc="total hip BMD, % change from baseline"),
            Output(name="bmd_femoral_neck", expr="100*(BMD_FN - 1)", unit="%", doc="femoral neck BMD, % change from baseline"),
            Output(name="p1np", expr="100*(OBA - 1)", unit="%", doc="serum P1NP, % change from baseline"),
            Output(name="ctx", expr="100*(OCA - 1)", unit="%", doc="serum CTX, % change from baseline"),
            Output(name="wnt_activity", expr="WNT", unit="1", doc="LRP5/6-Wnt signalling relative to baseline"),
            Output(name="osteocytes", expr="OCY", unit="1", doc="osteocytes relative to baseline"),
        ),
        references=("Lemaire 2004 J Theor Biol 229:293", "Pivonka 2008 Bone 43:249", "Peterson & Riggs 2010 Bone 46:49",
                    "Eudy 2015 CPT:PSP 4:527"),
    )
