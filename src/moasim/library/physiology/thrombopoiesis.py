"""Whole-body thrombopoiesis with endogenous TPO feedback through c-Mpl.

Structure
---------
Receptor (c-Mpl) activation ``A`` drives the production of committed MK progenitors,
which enter maturation at rate ``KDE`` (the "kinetics of drug effect" of Perez-Ruixo
2012); MK precursors mature through ``N_MK`` transit compartments (mean transit time ``MTT_MK``)
and release platelets, which age through ``N_PLT`` compartments (mean lifespan
``LS_PLT``; a gamma-distributed lifespan, Krzyzanski 2011). Endogenous TPO is produced
at a constant hepatic rate and cleared non-specifically and by c-Mpl binding and
internalisation on platelets AND megakaryocytes (mass ``M``), so TPO stays near normal
in ITP (MK mass preserved) but rises 10-30x when MKs and platelets are both absent.

Equations (canonical units: day, pg/mL, 10^9/L platelet equivalents)::

    xT = TPO/KD_TPO                     xR = Cfree_rom/KD_rom        (extracellular site)
    xS = sum_i FUREL_i*C_i/(KTM_i*FVIVO)                             (transmembrane site; KTM_i = EC50V_<drug>,
                                                                      the site KD shared with the in-vitro model)
    A  = (xT + EFF*E_ROM*xR)/(1 + xT + xR) + EFF*E_TM*xS/(1 + xS)    (additive sites; EFF = DRUG_EFF)
    prod = F_MARROW*KPROD*(1 + SMAX*A/(A50 + A))                     (Wang 2010 Emax on production)
    dPROG/dt = prod - KDE*PROG                                       (committed progenitors; Perez-Ruixo 2012 kDE)
    dMK1/dt  = KDE*PROG - kmk*MK1;   dMKi/dt = kmk*(MK(i-1) - MKi),   kmk = N_MK/MTT_MK
    dPLT1/dt = kmk*MK_N - kp*PLT1;  dPLTj/dt = kp*(PLT(j-1) - PLTj),   kp = N_PLT/LS_PLT
    M = (PLT + W_MK*sum MK)/MREF         (c-Mpl mass, 1 = healthy)
    dTPO/dt = KTPO_IN - KNS*TPO - KR*M*TPO/(1 + xT + xR)             (romiplostim displaces TPO)

KPROD, KTPO_IN and MREF are assignment rules that put the healthy reference subject
(PLT0_H, TPO0_H) at steady state for any parameter values, so changing a parameter
never silently breaks the drug-free steady state of the healthy reference.

References
----------
- Wang YM et al. 2010 AAPS J 12:729 (romiplostim PDMDD + lifespan model; precursor
  lifespan 142 h; Emax stimulation of precursor production, SMAX 11.2, SC50 0.052 ng/mL).
- Harker LA et al. 2000 Blood 95:2514 (platelet lifespan 205 h = 8.5 d).
- Li J et al. 1999 Br J Haematol (TPO-platelet binding Kd 163 pM; internalisation without recycling).
- Jin F, Krzyzanski W 2004 AAPS PharmSci 6:E9 (rhTPO TMDD: kint 0.1/h, Bmax 164 pM, Kd 45.5 pM).
- Gu 2002 Chin Med J 115:983; Mukai 1996 Thromb Haemost 76:675; Br J Haematol 1998 (TPO in
  healthy, ITP and aplastic anaemia).
- Ballem PJ et al. 1987 J Clin Invest 80:33 (ITP: both impaired production and fast clearance).
- Krzyzanski W 2011 J Pharmacokinet Pharmacodyn 38:179 (transit chains = gamma lifespans).
- Perez-Ruixo JJ et al. 2012 J Clin Pharmacol 52:1540 (romiplostim ITP PD: kDE 0.6/day, MTT 170 h).
"""

from __future__ import annotations

from ...model import Module, Output, Parameter, State
from ..receptor_params import LIGANDS

__all__ = ["N_MK", "N_PLT", "tpo_module", "megakaryopoiesis_module", "itp_module", "receptor_module", "subject_module"]

#: number of MK precursor transit compartments and platelet age compartments (Wang 2010 used 10 + 10)
N_MK = 10
N_PLT = 10

_MK = [f"MK{i}" for i in range(1, N_MK + 1)]
_PLT = [f"PLT{j}" for j in range(1, N_PLT + 1)]


def subject_module() -> Module:
    """Subject covariates used by several modules (body weight)."""
    return Module(
        name="subject",
        doc="Subject-level covariates.",
        parameters=(
            Parameter(name="WT", value=70.0, unit="kg", lower=1, upper=400, tag="A",
                      source="reference adult (ICRP 89 reference man 73 kg, rounded)", doc="body weight"),
        ),
    )


def tpo_module() -> Module:
    """Endogenous TPO: constant hepatic production, non-specific and c-Mpl-mediated clearance."""
    return Module(
        name="tpo",
        doc=__doc__ or "",
        parameters=(
            Parameter(name="TPO0_H", value=95.0, unit="pg/mL", lower=1, tag="R",
                      source="Br J Haematol 1998 (doi 10.1046/j.1365-2141.1998.00590.x): 95.3 +/- 54.0 pg/mL, 119 healthy donors",
                      doc="steady-state serum TPO of the healthy reference subject"),
            Parameter(name="K_TPO", value=1.9, unit="1/day", lower=0, tag="D",
                      source="Jin & Krzyzanski 2004 rhTPO TMDD (R): kint*(Bmax/Kd)/(1+Bmax/Kd) = 0.1/h*3.6/4.6 = 0.078/h = 1.9/day",
                      doc="total TPO elimination rate constant in the healthy reference"),
            Parameter(name="FR_TPO", value=0.97, unit="1", lower=0, upper=1, tag="C",
                      source="calibrated to tpo_amegakaryocytic_ratio (Gu 2002; Br J Haematol 1998; Mukai 1996 ratios 14-29): fitted to 15, "
                             "gives 16.4 since W_MK was fitted (range 8-35)",
                      fitted_by=("tpo_amegakaryocytic_ratio",),
                      doc="fraction of healthy TPO clearance mediated by c-Mpl"),
            Parameter(name="KD_TPO", value=LIGANDS["tpo"].KA.value * LIGANDS["tpo"].MW.value, unit="pg/mL", lower=0, tag="D",
                      source="TPO-c-Mpl KD from moasim.library.receptor_params (Li 1999 Kd 163 pM, R) x molar mass",
                      doc="TPO-c-Mpl dissociation constant"),
        ),
        states=(State(name="TPO", unit="pg/mL", doc="serum thrombopoietin"),),
        assignments={
            "xT": "TPO/KD_TPO",
            "KNS": "K_TPO*(1 - FR_TPO)",
            "KR": "K_TPO*FR_TPO*(1 + TPO0_H/KD_TPO)",
            "KTPO_IN": "TPO0_H*(KNS + KR/(1 + TPO0_H/KD_TPO))",
        },
        rates={"TPO": ("KTPO_IN", "-KNS*TPO", "-KR*M*TPO/(1 + xT + xR)")},
        outputs=(Output(name="tpo", expr="TPO", unit="pg/mL", doc="serum TPO"),),
        references=("Li 1999 Br J Haematol", "Jin & Krzyzanski 2004 AAPS PharmSci 6:E9", "Gu 2002 Chin Med J 115:983"),
    )


def receptor_module(extracellular: tuple[str, ...] = (), transmembrane: tuple[str, ...] = (),
                    parameters: tuple[Parameter, ...] = ()) -> Module:
    """c-Mpl activation from TPO + drugs at the extracellular site (competitive) and
    transmembrane agonists (additive with TPO).

    Parameters
    ----------
    extracellular : tuple of str
        Occupancy ratios (concentration over KD, expressions) of the extracellular-site drugs in
        the model (``Drug.occupancy`` in :mod:`moasim.library.drugs`); they add to ``xR``.
    transmembrane : tuple of str
        Occupancy ratios of the transmembrane agonists in the model (``xS_<suffix>``, defined by
        each drug's PK module); they add to ``xS``.
    parameters : tuple of Parameter
        Parameters the occupancy expressions need beyond the PK modules (``Drug.receptor_parameters``).
    """
    xr = " + ".join(extracellular) or "0"
    xs = " + ".join(transmembrane) or "0"
    params = [
        Parameter(name="E_ROM", value=1.0, unit="1", lower=0, tag="A",
                  source="romiplostim is a full agonist at the TPO site (efficacy = TPO's)", doc="romiplostim intrinsic efficacy"),
        Parameter(name="E_TM", value=0.1, unit="1", lower=0, tag="C",
                  source="calibrated with FVIVO to eltrombopag_hv_max_increase (Jenkins 2007) and eltrombopag_itp_day43_responders (Bussel 2007); tools/calibrate*.py",
                  fitted_by=("eltrombopag_hv_max_increase", "eltrombopag_itp_day43_responders"),
                  doc="maximal activation by the transmembrane site (class value), relative to full TPO-site occupancy"),
        Parameter(name="FVIVO", value=8.144, unit="1", lower=0, tag="C",
                  source="calibrated to eltrombopag_hv_max_increase and eltrombopag_itp_day43_responders (2216 x EC50 13.4 nM re-expressed per transmembrane KD 3646 nM from moasim.library.receptor_params: 2216 x 13.4/3646)",
                  fitted_by=("eltrombopag_hv_max_increase", "eltrombopag_itp_day43_responders"),
                  doc="total plasma concentration over free site concentration at equal occupancy (class value; plasma binding x in-vitro medium)"),
        Parameter(name="DRUG_EFF", value=1.0, unit="1", lower=0, tag="A",
                  source="1 for a typical subject; non-responders 0.034 = 12/351 (Perez-Ruixo 2012: drug effect 12 vs 351 %/100 ug/wk in the two subpopulations, D)",
                  doc="subject's sensitivity to agonist-bound receptors (population mixture)"),
        Parameter(name="SMAX", value=60.0, unit="1", lower=0, tag="C",
                  source="Wang 2010 Smax 11.2 (R) as start; calibrated to romiplostim_hv_10ugkg_iv_fold (Wang 2004: 6.0, range 4-8). Not refitted after the ITP and TPO-feedback changes: the model now gives 4.5, inside the range but below the value "
                         "(tests/validate/test_fitted_parameters.py keeps it inside)",
                  fitted_by=("romiplostim_hv_10ugkg_iv_fold",),
                  doc="maximal stimulation of precursor production"),
        Parameter(name="A50", value=0.28, unit="1", lower=0, tag="D",
                  source="Wang 2010 SC50/KD = 0.052/0.131 ng/mL -> occupancy 0.28 at half-maximal stimulation",
                  doc="activation giving half-maximal stimulation"),
    ]
    params += parameters
    return Module(
        name="receptor",
        doc=receptor_module.__doc__ or "",
        parameters=tuple(params),
        assignments={
            "xR": xr,
            "xS": xs,
            "ACT": "(xT + DRUG_EFF*E_ROM*xR)/(1 + xT + xR) + DRUG_EFF*E_TM*xS/(1 + xS)",
        },
        outputs=(Output(name="receptor_activation", expr="ACT", unit="1", doc="c-Mpl activation (1 = all TPO sites occupied by TPO)"),),
        references=("Wang 2010 AAPS J 12:729", "Xie 2018 J Cell Mol Med 22:5367"),
    )


def megakaryopoiesis_module() -> Module:
    """MK precursor production and maturation, platelet release and senescence."""
    mk_rates = {"PROG": ("PROD", "-KDE*PROG"), "MK1": ("KDE*PROG", "-KMK*MK1")}
    for a, b in zip(_MK, _MK[1:]):
        mk_rates[b] = (f"KMK*{a}", f"-KMK*{b}")
    plt_rates = {"PLT1": (f"KMK*{_MK[-1]}", "-KP*PLT1")}
    for a, b in zip(_PLT, _PLT[1:]):
        plt_rates[b] = (f"KP*{a}", f"-KP*{b}")
    return Module(
        name="megakaryopoiesis",
        doc=megakaryopoiesis_module.__doc__ or "",
        parameters=(
            Parameter(name="PLT0_H", value=250.0, unit="1e9/L", lower=1, tag="R",
                      source="healthy men baselines 217-254 x10^9/L (Blood 104:2916, 2004, R); normal 150-450 (R2)",
                      doc="platelet count of the healthy reference subject"),
            Parameter(name="MTT_MK", value=142.0, unit="h", model_unit="day", lower=0, tag="R",
                      source="Wang 2010 AAPS J 12:729: precursor lifespan 142 h", doc="MK precursor mean transit time"),
            Parameter(name="KDE", value=0.6, unit="1/day", lower=0, tag="R",
                      source="Perez-Ruixo 2012 J Clin Pharmacol 52:1540: kinetics of drug effect kDE 0.6/day (ITP)",
                      doc="turnover of the committed progenitor pool (delay between receptor activation and MK output)"),
            Parameter(name="LS_PLT", value=205.0, unit="h", model_unit="day", lower=0, tag="R",
                      source="Harker 2000 Blood 95:2514: 111In platelet lifespan 205 +/- 18 h", doc="platelet mean lifespan (healthy)"),
            Parameter(name="W_MK", value=2.0, unit="1", lower=0, tag="C",
                      source="calibrated to tpo_itp_ratio (Gu 2002; Mukai 1996)",
                      fitted_by=("tpo_itp_ratio",),
                      doc="c-Mpl content of one platelet-equivalent of MK precursor relative to a platelet"),
            Parameter(name="F_MARROW", value=1.0, unit="1", lower=0, upper=1, tag="A",
                      source="healthy marrow = 1; lowered for marrow failure (aplastic anaemia scenario)",
                      doc="fraction of normal MK progenitor supply"),
        ),
        states=(State(name="PROG", unit="1e9/L", doc="committed MK progenitors (platelet equivalents)"),)
        + tuple(State(name=n, unit="1e9/L", doc="MK precursor (platelet equivalents)") for n in _MK)
        + tuple(State(name=n, unit="1e9/L", doc="circulating platelets by age") for n in _PLT),
        assignments={
            "KMK": f"{N_MK}/MTT_MK",
            "KP": f"{N_PLT}/LS_PLT",
            "MKSUM": " + ".join(_MK),
            "PLT": " + ".join(_PLT),
            "MREF": "PLT0_H*(1 + W_MK*MTT_MK/LS_PLT)",
            "M": "(PLT + W_MK*MKSUM)/MREF",
            "A0H": "(TPO0_H/KD_TPO)/(1 + TPO0_H/KD_TPO)",
            "KPROD": "(PLT0_H/LS_PLT)/(1 + SMAX*A0H/(A50 + A0H))",
            "PROD": "F_MARROW*KPROD*(1 + SMAX*ACT/(A50 + ACT))",
        },
        rates={**mk_rates, **plt_rates},
        outputs=(
            Output(name="platelets", expr="PLT", unit="1e9/L", doc="circulating platelet count"),
            Output(name="megakaryocytes", expr="MKSUM", unit="1e9/L", doc="MK precursor mass (platelet equivalents)"),
            Output(name="cmpl_mass", expr="M", unit="1", doc="c-Mpl mass relative to healthy"),
            Output(name="production", expr="PROD", unit="1e9/L/day", doc="MK precursor production"),
            Output(name="platelet_release", expr=f"KMK*{_MK[-1]}", unit="1e9/L/day", doc="platelets entering the circulation"),
        ),
        references=("Wang 2010 AAPS J 12:729", "Harker 2000 Blood 95:2514", "Krzyzanski 2011 JPKPD 38:179"),
    )


def itp_module() -> Module:
    """Immune thrombocytopenia: antibody-mediated platelet destruction and MK attrition.

    Two mechanisms (Ballem 1987: both accelerated clearance and impaired production):

    Splenectomised patients (who still have ITP, i.e. refractory to splenectomy) destroy
    platelets faster (``SPLEN_KDES``, Petrov 2025), in patients with more prior treatment
    lines the destruction saturates only at higher counts (``PLT50_DES`` x ``PRIOR_PLT50`` per
    line beyond ``PRIOR_REF``, at an unchanged destruction rate at the baseline count; an
    assumption), so that a TPO-RA lifts them less, and disease activity
    drifts within a patient (``FLUCT``, set by the trial's fluctuation process; 1 at steady state).

    - circulating platelets are destroyed at ``KDES/(1 + PLT/PLT50_DES)`` per platelet:
      saturable, because autoantibody and splenic macrophage capacity are finite
      (survival correlates with the count, Ballem 1987);
    - maturing megakaryocytes are lost to antibody-mediated apoptosis at
      ``KMKD_EFF = KMKD*(A0H/ACT)^GAM_SURV``: c-Mpl signalling protects them (AKT and
      BCL-XL survival signalling, Xie 2018; seed 004), so a TPO-RA raises the fraction of
      MKs that complete maturation. With 10 maturation stages the surviving fraction
      (KMK/(KMK + KMKD_EFF))^10 amplifies a modest change in attrition, which is why a TPO-RA
      lifts ITP counts many-fold (Bussel 2007) but healthy counts by tens of percent
      (Jenkins 2007). The MK mass, and hence TPO clearance, stays near normal (Gu 2002).

    ``KMKD`` is solved per subject from the baseline platelet count (tag D).
    """
    return Module(
        name="itp",
        doc=itp_module.__doc__ or "",
        parameters=(
            Parameter(name="KDES", value=0.10, unit="1/h", model_unit="1/day", lower=0, tag="A",
                      source="half of Petrov 2025 (nlmixr2lib Petrov_2024_romiplostim.R, R-code) ITP kdeg 0.20/h, so that the typical subject (baseline 18) reaches its count with some MK attrition; IIV 50% (Petrov)",
                      doc="antibody-mediated platelet destruction rate at low counts"),
            Parameter(name="PLT50_DES", value=33.0, unit="1e9/L", lower=0, tag="C",
                      source="calibrated to the typical ITP response to eltrombopag (Bussel 2007 NEJM 357:2237)",
                      fitted_by=("eltrombopag_itp_day43_responders",),
                      doc="platelet count at which the per-platelet destruction rate is halved"),
            Parameter(name="KMKD", value=0.1, unit="1/day", lower=0, tag="D",
                      source="solved from the subject's baseline platelet count (steady state)",
                      doc="MK attrition rate at the healthy reference activation"),
            Parameter(name="GAM_SURV", value=6.0, unit="1", lower=0, tag="C",
                      source="calibrated to the typical ITP response to eltrombopag (Bussel 2007 NEJM 357:2237)",
                      fitted_by=("eltrombopag_itp_day43_responders",),
                      doc="sensitivity of MK survival to c-Mpl activation"),
            Parameter(name="SPLEN_KDES", value=0.26 / 0.20, unit="1", lower=0, tag="R-code",
                      source="Petrov 2025 Clin Pharmacol Drug Dev 14:116, Table S1 (nlmixr2lib Petrov_2024_romiplostim.R): ITP platelet "
                             "degradation 0.26/h splenectomised vs 0.20/h non-splenectomised (x13 vs x10 of healthy)",
                      doc="destruction-rate multiplier of splenectomised (splenectomy-refractory) patients, applied to KDES by build_model"),
            Parameter(name="PRIOR_PLT50", value=1.15, unit="1", lower=1, tag="A",
                      source="assumption: patients who failed more treatment lines have more autoantibody and splenic "
                             "clearance capacity, so their platelet destruction saturates only at higher counts and a "
                             "TPO-RA lifts their counts less (the direction reported for heavily pretreated and "
                             "splenectomised patients); no per-line effect size was found, so x1.15 per line is a placeholder",
                      doc="multiplier of PLT50_DES per prior ITP treatment line beyond PRIOR_REF (build_model; KDES is "
                          "rescaled so that the destruction rate at the baseline count is unchanged)"),
            Parameter(name="PRIOR_REF", value=2.0, unit="1", lower=0, tag="A",
                      source="assumption: chronic ITP trial populations have had about two earlier treatment lines; the calibrated "
                             "GAM_SURV and PLT50_DES are that patient's", doc="number of prior ITP treatment lines of the reference patient"),
            Parameter(name="FLUCT", value=1.0, unit="1", lower=0, tag="A",
                      source="1 at the drug-free steady state; trials set it over time from the subject's disease-activity process "
                             "(moasim.population: Ornstein-Uhlenbeck on log destruction)",
                      doc="within-patient disease activity: multiplier of the destruction rate"),
        ),
        assignments={"KDES_EFF": "KDES*FLUCT/(1 + PLT/PLT50_DES)", "KMKD_EFF": "KMKD*(A0H/ACT)^GAM_SURV"},
        rates={**{n: f"-KDES_EFF*{n}" for n in _PLT}, **{n: f"-KMKD_EFF*{n}" for n in _MK}},
        references=("Ballem 1987 J Clin Invest 80:33", "Bussel 2007 NEJM 357:2237", "Xie 2018 J Cell Mol Med 22:5367"),
    )
