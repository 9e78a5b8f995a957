"""Hetrombopag (herombopag olamine) oral PK: two compartments with saturable,
target-mediated elimination and a drastic food effect.

Wang Z et al. 2022 fitted a modified TMDD model with dual sequential absorption (CL/F
7.66 L/h, Vc/F 30.0 L, target kdeg 0.693/h) but the remaining constants are not in
readable text. With a fast-turnover target (kdeg 0.693/h) the quasi-steady-state TMDD
reduces to Michaelis-Menten elimination (Gibiansky 2008), used here; Q, V3, VMAX, KM, KA
and the lag are calibrated to the calibration targets hetrombopag_tmax (Zheng 2017: ~8 h)
and hetrombopag_half_life_dose_dependence (11.9 h at 5 mg -> 40.1 h at 40 mg). Food
(high-fat meal) removes unabsorbed drug from the gut (``KFOOD_het``), calibrated to the
AUC ratio 0.013 (Wang Z 2020). Absolute F is unknown: volumes and clearances are apparent (/F).

Equations (ug, L, day)::

    dGUT/dt  = -(KA + KFOOD)*GUT                         (dose enters at t + ALAG)
    dCENT/dt = KA*GUT - CL/V2*CENT - VMAX*C/(KM + C) - Q/V2*CENT + Q/V3*PERI
    dPERI/dt = Q/V2*CENT - Q/V3*PERI

References
----------
- Zheng L et al. 2017 Basic Clin Pharmacol Toxicol (doi 10.1111/bcpt.12815): Tmax ~8 h;
  t1/2 11.9 -> 40.1 h over 5-40 mg; AUC more than dose-proportional.
- Wang Z et al. 2022 Br J Clin Pharmacol 88:2084 (popPK/PD, TMDD).
- Wang Z et al. 2020 Clin Ther (doi 10.1016/j.clinthera.2020.10.002): high-fat meal AUC -98.7%.
- Xie C et al. 2018 J Cell Mol Med 22:5367 (32D-MPL EC50 0.4 nM).
"""

from __future__ import annotations

from ...model import Module, Output, Parameter, State

W22 = "Wang Z 2022 Br J Clin Pharmacol 88:2084"
CAL = "calibrated to hetrombopag_tmax and hetrombopag_half_life_dose_dependence (Zheng 2017); tools/calibrate.py"
CAL_TARGETS = ("hetrombopag_tmax", "hetrombopag_half_life_dose_dependence")


def module(ec50v_nM: float) -> Module:
    """The PK module; ``ec50v_nM`` is the transmembrane-site KD (nM) of the drug's c-Mpl ligand entry
    (:mod:`moasim.library.drugs.hetrombopag`), the affinity the receptor occupancy ``xS`` divides by."""
    return Module(
        name="pk_hetrombopag",
        doc=__doc__ or "",
        parameters=(
            Parameter(name="CL_het", value=7.66, unit="L/h", model_unit="L/day", lower=0, tag="R", source=W22, doc="linear apparent clearance CL/F"),
            Parameter(name="V2_het", value=30.0, unit="L", lower=0, tag="R", source=W22, doc="central volume Vc/F"),
            Parameter(name="V3_het", value=529.57, unit="L", lower=0, tag="C", source=CAL, fitted_by=CAL_TARGETS, doc="peripheral volume Vp/F"),
            Parameter(name="Q_het", value=20.0, unit="L/h", model_unit="L/day", lower=0, tag="A", source="fixed (fast distribution); not identifiable from the published half-lives", doc="intercompartmental clearance"),
            Parameter(name="VMAX_het", value=70.22, unit="ug/h", model_unit="ug/day", lower=0, tag="C", source=CAL, fitted_by=CAL_TARGETS, doc="capacity of target-mediated elimination"),
            Parameter(name="KM_het", value=0.2284, unit="ng/mL", lower=0, tag="C", source=CAL, fitted_by=CAL_TARGETS, doc="concentration at half capacity"),
            Parameter(name="KA_het", value=0.0878, unit="1/h", model_unit="1/day", lower=0, tag="C", source=CAL, fitted_by=CAL_TARGETS, doc="absorption rate"),
            Parameter(name="ALAG_het", value=3.253, unit="h", model_unit="day", lower=0, tag="C", source=CAL, fitted_by=CAL_TARGETS, doc="absorption lag"),
            Parameter(name="KFOOD_het", value=0.0, unit="1/day", lower=0, tag="A", source="0 when fasting; set by meal events", doc="gut loss (current)"),
            Parameter(name="KFAT_het", value=67.2, unit="1/day", lower=0, tag="C",
                      source="calibrated to hetrombopag_food_effect (Wang Z 2020 Clin Ther: AUC -98.7%)", fitted_by=("hetrombopag_food_effect",),
                      doc="gut loss with a high-fat meal"),
            Parameter(name="MW_het", value=442.5, unit="g/mol", lower=0, tag="A",
                      source="assumed equal to eltrombopag (structural analogue, seed 004); only enters via FVIVO", doc="molar mass"),
            Parameter(name="FUREL_het", value=8.0, unit="1", lower=0, tag="C",
                      source="calibrated to hetrombopag_phase1_week6 (Mei 2022): plasma binding of hetrombopag relative to eltrombopag is not published. "
                             "Refitted 6 -> 8 with the prior-therapy and fluctuation population of issue 11 (n = 600 x 3 seeds: 6 gave week-6 0.52-0.535, "
                             "8 gives ~0.56, 9 ~0.57 but first-in-patient 2.5 mg 0.25 against 0.125 +- 0.15)", fitted_by=("hetrombopag_phase1_week6",),
                      doc="unbound fraction in plasma relative to eltrombopag"),
            Parameter(name="EC50V_het", value=ec50v_nM, unit="nM", lower=0, tag="D",
                      source="transmembrane-site KD from moasim.library.receptor_params (fitted there so the simulated 32D-MPL/CD34+ assays give the published EC50s)",
                      doc="dissociation constant at the c-Mpl transmembrane site (same value as the in-vitro model)"),
        ),
        states=(
            State(name="GUT_het", unit="ug", doc="gut", dosable=True, absorption=True),
            State(name="CENT_het", unit="ug", doc="central", dosable=True),
            State(name="PERI_het", unit="ug", doc="peripheral"),
        ),
        assignments={
            "C_het": "CENT_het/V2_het",
            "xS_het": "FUREL_het*(C_het*1000/MW_het)/(EC50V_het*FVIVO)",
        },
        rates={
            "GUT_het": "-(KA_het + KFOOD_het)*GUT_het",
            "CENT_het": ("KA_het*GUT_het", "-CL_het/V2_het*CENT_het", "-VMAX_het*C_het/(KM_het + C_het)", "-Q_het/V2_het*CENT_het", "Q_het/V3_het*PERI_het"),
            "PERI_het": ("Q_het/V2_het*CENT_het", "-Q_het/V3_het*PERI_het"),
        },
        outputs=(Output(name="conc_hetrombopag", expr="C_het", unit="ng/mL", doc="plasma hetrombopag"),),
        references=(W22, "Zheng 2017 Basic Clin Pharmacol Toxicol", "Wang Z 2020 Clin Ther"),
    )
