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
    WNT   = (1 + KSI_wnt)/(1 + KSI_wnt*s)            LRP5/6 Wnt signalling (competitive
                                                     inhibition by sclerostin; 1 at baseline)
    PIT   = OCA*(1 + KT_tgf)/(1 + KT_tgf*OCA)        TGF-beta released by resorption,
                                                     receptor occupancy on progenitors
    LTOT  = (FL_ocy*OCY + (1 - FL_ocy)*OBP)          RANKL expression (osteocytes + OB precursors)
    OPG   = OBA*WNT^GO_opg                           OPG from active OB, induced by Wnt
    LFREE = LTOT*(1 + RO_opg)/(1 + RO_opg*OPG)*FDEN  free RANKL (OPG decoy; FDEN denosumab, 1 if none)
    PIL   = LFREE*(1 + KL_rank)/(1 + KL_rank*LFREE)  RANK occupancy on OC precursors

    dOBP/dt = KP_ob*(PIT - WNT*OBP)                  commitment (TGF-beta) - Wnt-driven differentiation
    dOBA/dt = KB_ob*(WNT*OBP - OBA)                  differentiation - apoptosis/burial
    dOCA/dt = KC_oc*(PIL - OCA*KILL)                 RANKL-driven formation - apoptosis
                                                     (KILL = 1 + bisphosphonate effect)
    dOCY/dt = KY_ocy*(OBA - OCA*OCY)                 burial of OB - removal with resorbed bone
    dBMD_x/dt = KX_site*(OBA - OCA),  x = LS, TH, FN  formation - resorption (site turnover)

Markers: P1NP (type I collagen synthesis) is proportional to active OBs, CTX (collagen
degradation) to active OCs: ``p1np = 100*(OBA - 1)``, ``ctx = 100*(OCA - 1)`` (% change).

Why the anabolic window closes with continued dosing: Wnt speeds differentiation of the
finite progenitor pool, which drains (OBP falls); at the new steady state OBA = PIT(OCA),
i.e. formation returns to the level set by coupling to the now-lower resorption. So P1NP
peaks early and then falls below baseline together with CTX (label: P1NP back at placebo by
month 9, -15% at month 12; CTX -25%). Resorption falls because Wnt raises OPG.

Parameters and provenance (tags: R read in source, R-code read in public code, D derived,
C calibrated (calibrate.py; target named), A modelling assumption)
------------------------------------------------------------------------------------------
KB_ob 0.189/day: active-OB elimination A_OBa of Pivonka 2008 (cmodiz/Bone-Models,
pivonka_parameters.py; R-code). KC_oc 0.16/day: OC removal Da*Pic0 = 6.65e-3/h of Peterson &
Riggs 2010 (OpenBoneMin.cpp; R-code) x 24 h (D). FL_ocy 0.95: osteocyte share of RANKL
production at baseline, Eudy 2015 FracOBE = 20 (cabone2.cpp; R-code). GO_opg: Wnt effect on
OPG, started at Eudy's gammaOPG 1.597 (R-code) and calibrated (C). KY_ocy: osteocyte pool
renewal ~ tissue turnover 10%/year (A). RO_opg = 1 (half of RANKL held by OPG at baseline)
and KL_rank = 1 (RANK half-occupied at baseline): A. KSI_wnt, KP_ob, KT_tgf and the site
turnover rates KLS/KTH/KFN_site: C (calibrate.py). SCL0_bone: D, the baseline free
sclerostin KSYN_scl/KDEG_scl (set when the model is built).

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

#: calibrated values (calibrate.py writes these; see the module docstring)
CALIBRATED = {
    "KSI_wnt": 2.1257,
    "KP_ob": 0.0020816,
    "KT_tgf": 0.0,  # fit went to its bound 0: linear coupling PIT = OCA
    "GO_opg": 1.0618,
    "KLS_site": 3.6141e-4,
    "KTH_site": 1.5032e-4,
    "KFN_site": 1.2154e-4,
}


def module() -> Module:
    """Osteocytes, sclerostin-Wnt, osteoblasts, RANKL/OPG, osteoclasts and site BMD."""
    c = CALIBRATED
    return Module(
        name="bone_remodeling",
        doc=__doc__ or "",
        parameters=(
            Parameter(name="SCL0_bone", value=6.1 / 860.0, unit="nM", lower=0, tag="D", source="KSYN_scl/KDEG_scl (baseline free sclerostin)",
                      doc="baseline free sclerostin"),
            Parameter(name="KSI_wnt", value=c["KSI_wnt"], unit="1", lower=0, tag="C", source=CAL + "P1NP peak, LS BMD 12 m",
                      doc="sclerostin inhibition of LRP5/6 at baseline (S0/Ki)"),
            Parameter(name="KP_ob", value=c["KP_ob"], unit="1/day", lower=0, tag="C", source=CAL + "P1NP peak and month 12",
                      doc="OB precursor turnover"),
            Parameter(name="KB_ob", value=0.189, unit="1/day", lower=0, tag="R-code", source=PIV + " A_OBa", doc="active OB elimination"),
            Parameter(name="KC_oc", value=0.1596, unit="1/day", lower=0, tag="D", source=PR + " Da*Pic0 = 6.65e-3/h (R-code) x 24",
                      doc="active OC elimination"),
            Parameter(name="KT_tgf", value=c["KT_tgf"], unit="1", lower=0, tag="C", source=CAL + "P1NP and CTX month 12",
                      doc="TGF-beta / K_act at baseline (coupling strength)"),
            Parameter(name="FL_ocy", value=0.95, unit="1", lower=0, upper=1, tag="R-code", source=EUDY + " FracOBE = 20",
                      doc="osteocyte share of RANKL"),
            Parameter(name="GO_opg", value=c["GO_opg"], unit="1", lower=0, tag="C", source=CAL + "CTX nadir and month 12 (start: Eudy gammaOPG 1.597)",
                      doc="Wnt exponent on OPG production"),
            Parameter(name="RO_opg", value=1.0, unit="1", lower=0, tag="A", source="half of RANKL bound to OPG at baseline",
                      doc="OPG decoy binding strength at baseline"),
            Parameter(name="KL_rank", value=1.0, unit="1", lower=0, tag="A", source="RANK half occupied at baseline",
                      doc="free RANKL / K_RANK at baseline"),
            Parameter(name="KY_ocy", value=0.1 / 365.25, unit="1/day", lower=0, tag="A", source="osteocyte pool renewal ~ tissue turnover 10%/year",
                      doc="osteocyte turnover"),
            Parameter(name="KLS_site", value=c["KLS_site"], unit="1/day", lower=0, tag="C", source=CAL + "McClung 2014 LS BMD +11.3% at 12 m",
                      doc="lumbar spine bone turnover"),
            Parameter(name="KTH_site", value=c["KTH_site"], unit="1/day", lower=0, tag="C", source=CAL + "Ishibashi 2017 TH BMD +4.7% at 12 m",
                      doc="total hip bone turnover"),
            Parameter(name="KFN_site", value=c["KFN_site"], unit="1/day", lower=0, tag="C", source=CAL + "Ishibashi 2017 FN BMD +3.8% at 12 m",
                      doc="femoral neck bone turnover"),
            Parameter(name="FDEN", value=1.0, unit="1", lower=0, upper=1, tag="A", source="free-RANKL fraction left by denosumab (1: none)",
                      doc="denosumab hook"),
            Parameter(name="KILL_bp", value=0.0, unit="1", lower=0, tag="A", source="extra OC apoptosis from bisphosphonate (0: none)",
                      doc="bisphosphonate hook"),
        ),
        states=(
            State(name="OBP", unit="1", doc="osteoblast precursors (normalised)"),
            State(name="OBA", unit="1", doc="active osteoblasts (normalised)"),
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
            "LFREE": "LTOT*(1 + RO_opg)/(1 + RO_opg*OPGN)*FDEN",
            "PIL": "LFREE*(1 + KL_rank)/(1 + KL_rank*LFREE)",
        },
        rates={
            "OBP": "KP_ob*(PIT - WNT*OBP)",
            "OBA": "KB_ob*(WNT*OBP - OBA)",
            "OCA": "KC_oc*(PIL - OCA*(1 + KILL_bp))",
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
