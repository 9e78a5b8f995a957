"""Hetrombopag (herombopag olamine): oral small-molecule agonist at c-Mpl's transmembrane domain.

Additive with TPO; nonlinear (target-binding) PK and a drastic food effect. PK module
:mod:`moasim.library.pk.hetrombopag`.

References
----------
- Zheng L et al. 2017 Basic Clin Pharmacol Toxicol (PK in healthy subjects).
- Wang Z et al. 2022 Br J Clin Pharmacol 88:2084 (popPK/PD; IIV of CL/F and Vc/F).
- Wang Z et al. 2020 Clin Ther (high-fat meal).
- Xie C et al. 2018 J Cell Mol Med 22:5367 (32D-MPL EC50 0.4 nM).
- Mei H et al. 2022 (phase 1 dose steps; the titration rule is an assumption).
"""

from __future__ import annotations

from functools import partial

from ..pk import hetrombopag as pk
from ._core import CAL_32D, EFF_TM, EFF_TM_SRC, IIV, TM_MECHANISM, TRANSMEMBRANE, Drug, InVitroDefaults, Oral, TitrationRule, ligand_params, omega_from_cv

LIGAND = ligand_params(
    "hetrombopag", "het", TRANSMEMBRANE,
    108.8, "nM", CAL_32D.format(v=0.4), "C",
    EFF_TM, EFF_TM_SRC, "A",
    442.5, "assumed equal to eltrombopag (structural analogue, seed 004), as MW_het in pk/hetrombopag.py", "A")


DRUG = Drug(
    name="hetrombopag", kind="small molecule (herombopag olamine), oral daily",
    site=TRANSMEMBRANE, mechanism=TM_MECHANISM + "; nonlinear (target-binding) PK",
    order=30, ligand=LIGAND,
    administration={"oral": Oral("GUT_het", lag="ALAG_het", kfood="KFOOD_het")},
    dose_units=("mg",), module=partial(pk.module, ec50v_nM=LIGAND.KA.value), concentration="conc_hetrombopag",
    occupancy="xS_het",
    food_parameters={"high_fat": "KFAT_het", "standard": "KFAT_het"},
    titration=TitrationRule(
        name="hetrombopag (phase 1 style)", drug="hetrombopag", levels=(2.5, 5.0, 7.5), unit="mg",
        start=5.0, every_days=1, visit_days=7, increase_below=50, increase_interval_days=14,
        decrease_above=200, decrease_consecutive=1, hold_above=400, resume_below=150,
        source="assumption: eltrombopag label pattern on 2.5/5/7.5 mg steps, 5 mg start (Mei 2022; rule text not found, research/thrombopoiesis.md s7)",
    ),
    iiv=(
        IIV(parameter="CL_het", omega=omega_from_cv(0.635), source="Wang Z 2022 BJCP 88:2084 (R): CL/F IIV 63.5%", drug="hetrombopag"),
        IIV(parameter="V2_het", omega=omega_from_cv(0.772), source="Wang Z 2022 BJCP 88:2084 (R): Vc/F IIV 77.2%", drug="hetrombopag"),
    ),
    # no mixture published: the transmembrane class takes eltrombopag's (A), population.NON_RESPONDER_DEFAULT
    invitro=InVitroDefaults(expected_ec50_nM=0.4, differentiation_nM=23.0, signaling_nM=4.0),
    references=("Zheng 2017 BCPT", "Wang Z 2022 BJCP 88:2084", "Wang Z 2020 Clin Ther", "Xie 2018 JCMM 22:5367"),
)
