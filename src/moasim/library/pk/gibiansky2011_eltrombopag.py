"""Eltrombopag oral PK: two compartments, dual sequential first-order absorption with lag.

Disposition from the ITP population PK model of Gibiansky et al. (reference subject:
70 kg Caucasian male ITP patient, no corticosteroid); the absorption block (lag, ka1 ->
ka2 switch) from Farrell et al. 2014, which has the same dual-sequential structure.
Polyvalent cations (calcium-rich food, antacids) chelate eltrombopag in the gut: a
first-order loss from the gut compartments, ``KFOOD_elt``, switched on by a meal event.

Equations (ug, L, day)::

    dGUT1/dt = -(KA1 + KFOOD)*GUT1          (dose at t+ALAG; moved to GUT2 at t+ALAG+TSW)
    dGUT2/dt = -(KA2 + KFOOD)*GUT2
    dCENT/dt = KA1*GUT1 + KA2*GUT2 - CL/V2*CENT - Q/V2*CENT + Q/V3*PERI
    dPERI/dt = Q/V2*CENT - Q/V3*PERI
    C (ng/mL) = CENT/V2;  xS_elt = (C*1000/MW)/(EC50V*FVIVO)   (receptor occupancy ratio)

References
----------
- Gibiansky E et al. 2011 J Clin Pharmacol 51:842 (population PK; covariates: East Asian
  CL/F -33%, corticosteroid -26%, female -19%, healthy +17%, weight 43-122 kg -> -26%..+41%).
- Farrell C et al. 2014 Br J Clin Pharmacol 77:717 (absorption: Ka1 0.333/h, Ka2 5.26/h
  after 1.46 h, lag 0.447 h; nlmixr2lib Farrell_2014_eltrombopag.R).
- Williams DD et al. 2009 Clin Ther 31:764 (high-calcium breakfast AUC -59%; antacid -70%).
- Xie C et al. 2018 J Cell Mol Med 22:5367 (32D-MPL EC50 13.4 nM).
"""

from __future__ import annotations

from ...model import Module, Output, Parameter, State

GIB = "Gibiansky 2011 J Clin Pharmacol 51:842"
FAR = "Farrell 2014 Br J Clin Pharmacol 77:717 (nlmixr2lib Farrell_2014_eltrombopag.R)"

#: Covariate effects on CL/F (multiplicative), Gibiansky 2011 (R).
COV_CL = {"east_asian": 0.67, "corticosteroids": 0.74, "female": 0.81, "healthy": 1.17}
#: CL/F ~ (WT/70)^0.62: Gibiansky 2011 weight 43-122 kg -> -26%..+41% (D: ln(0.74)/ln(43/70) = 0.62)
WT_EXP_CL = 0.62


def module(ec50v_nM: float) -> Module:
    """The PK module; ``ec50v_nM`` is the transmembrane-site KD (nM) of the drug's c-Mpl ligand entry
    (:mod:`moasim.library.drugs.eltrombopag`), the affinity the receptor occupancy ``xS`` divides by."""
    return Module(
        name="pk_eltrombopag",
        doc=__doc__ or "",
        parameters=(
            Parameter(name="CL_elt", value=0.668, unit="L/h", model_unit="L/day", lower=0, tag="R", source=GIB, doc="apparent clearance CL/F (ITP)"),
            Parameter(name="V2_elt", value=8.76, unit="L", lower=0, tag="R", source=GIB, doc="central volume Vc/F"),
            Parameter(name="V3_elt", value=11.3, unit="L", lower=0, tag="R", source=GIB, doc="peripheral volume Vp/F"),
            Parameter(name="Q_elt", value=0.399, unit="L/h", model_unit="L/day", lower=0, tag="R", source=GIB, doc="intercompartmental clearance Q/F"),
            Parameter(name="KA1_elt", value=0.333, unit="1/h", model_unit="1/day", lower=0, tag="R-code", source=FAR, doc="first absorption rate"),
            Parameter(name="KA2_elt", value=5.26, unit="1/h", model_unit="1/day", lower=0, tag="R-code", source=FAR, doc="second absorption rate"),
            Parameter(name="TSW_elt", value=1.46, unit="h", model_unit="day", lower=0, tag="R-code", source=FAR, doc="time of the ka1->ka2 switch after absorption starts"),
            Parameter(name="ALAG_elt", value=0.447, unit="h", model_unit="day", lower=0, tag="R-code", source=FAR, doc="absorption lag"),
            Parameter(name="KFOOD_elt", value=0.0, unit="1/day", lower=0, tag="A", source="0 when fasting; set by meal events", doc="gut chelation loss (current)"),
            Parameter(name="KCHEL_CA_elt", value=18.82, unit="1/day", lower=0, tag="C",
                      source="calibrated to Williams 2009 Clin Ther 31:764 (R): high-calcium breakfast with dose, AUC -59%",
                      fitted_by=("eltrombopag_calcium_meal_auc_ratio",),
                      doc="gut loss with a calcium-rich meal"),
            Parameter(name="KCHEL_ANTACID_elt", value=26.92, unit="1/day", lower=0, tag="C",
                      source="calibrated to Williams 2009 (R): Al(OH)3/MgCO3 antacid with dose, AUC -70%",
                      fitted_by=("eltrombopag_antacid_auc_ratio",),
                      doc="gut loss with a polyvalent-cation antacid"),
            Parameter(name="MW_elt", value=442.5, unit="g/mol", lower=0, tag="D", source="C25H22N4O4 (free acid)", doc="molar mass"),
            Parameter(name="FUREL_elt", value=1.0, unit="1", lower=0, tag="A",
                      source="reference compound of the class translation FVIVO (1 by definition)", doc="unbound fraction in plasma relative to eltrombopag"),
            Parameter(name="EC50V_elt", value=ec50v_nM, unit="nM", lower=0, tag="D",
                      source="transmembrane-site KD from moasim.library.receptor_params (fitted there so the simulated 32D-MPL/CD34+ assays give the published EC50s)",
                      doc="dissociation constant at the c-Mpl transmembrane site (same value as the in-vitro model)"),
        ),
        states=(
            State(name="GUT1_elt", unit="ug", doc="gut, first absorption phase", dosable=True, absorption=True),
            State(name="GUT2_elt", unit="ug", doc="gut, second absorption phase", dosable=True, absorption=True),
            State(name="CENT_elt", unit="ug", doc="central", dosable=True),
            State(name="PERI_elt", unit="ug", doc="peripheral"),
        ),
        assignments={
            "C_elt": "CENT_elt/V2_elt",
            "xS_elt": "FUREL_elt*(C_elt*1000/MW_elt)/(EC50V_elt*FVIVO)",
        },
        rates={
            "GUT1_elt": "-(KA1_elt + KFOOD_elt)*GUT1_elt",
            "GUT2_elt": "-(KA2_elt + KFOOD_elt)*GUT2_elt",
            "CENT_elt": ("KA1_elt*GUT1_elt + KA2_elt*GUT2_elt", "-CL_elt/V2_elt*CENT_elt", "-Q_elt/V2_elt*CENT_elt", "Q_elt/V3_elt*PERI_elt"),
            "PERI_elt": ("Q_elt/V2_elt*CENT_elt", "-Q_elt/V3_elt*PERI_elt"),
        },
        outputs=(Output(name="conc_eltrombopag", expr="C_elt", unit="ng/mL", doc="plasma eltrombopag (total)"),),
        references=(GIB, FAR, "Williams 2009 Clin Ther 31:764"),
    )
