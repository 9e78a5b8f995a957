"""Romiplostim (Nplate): Fc-peptide fusion ("peptibody") agonist at c-Mpl's TPO site.

Binds the extracellular cytokine-receptor homology domain (one site, competitive with TPO)
and is cleared by c-Mpl on platelets (target-mediated disposition; PK module
:mod:`moasim.library.pk.wang2010_romiplostim`). Weekly SC; label titration by platelet count.

References
----------
- Wang YM et al. 2010 AAPS J 12:729 (PK/PD; KD 0.131 ng/mL).
- Nplate USPI (titration rule).
- Perez-Ruixo JJ et al. 2012 J Clin Pharmacol 52:1540 (ITP non-responder mixture, 32%).
"""

from __future__ import annotations

from ...model import Parameter
from ..pk import wang2010_romiplostim as pk
from ._core import EXTRACELLULAR, IIV, Bolus, Depot, Drug, InVitroDefaults, TitrationRule, ligand_params

LIGAND = ligand_params(
    "romiplostim", "rom", EXTRACELLULAR,
    0.131 / 59000.0 * 1e3, "nM", "Wang 2010 AAPS J 12:729: KD 0.131 ng/mL (R) / 59 kDa (R) = 2.22 pM", "D",
    1.0, "assumption: full agonist at the TPO site (peptibody mimics TPO's receptor bridging)", "A",
    59000.0, "research/thrombopoiesis.md 3a: ~59 kDa peptibody", "R")

DRUG = Drug(
    name="romiplostim", kind="peptibody (Fc-peptide fusion, ~59 kDa), SC weekly",
    site=EXTRACELLULAR, mechanism="binds the TPO site of c-Mpl (competitive with TPO); cleared by c-Mpl (TMDD)",
    order=10, ligand=LIGAND,
    administration={"sc": Depot("DEPOT_rom", "F_rom"), "iv": Bolus("AC_rom")},
    dose_units=("ug/kg", "ug"), module=pk.module, concentration="conc_romiplostim",
    occupancy="Cfree_rom/KD_rom",
    receptor_parameters=(
        Parameter(name="KD_rom", value=LIGAND.KA.value * LIGAND.MW.value / 1000.0, unit="ng/mL",
                  lower=0, tag="D", source="romiplostim KD from moasim.library.receptor_params (Wang 2010 KD 0.131 ng/mL, R)",
                  doc="romiplostim-c-Mpl KD"),
    ),
    titration=TitrationRule(
        name="romiplostim label", drug="romiplostim", levels=tuple(float(i) for i in range(0, 11)), unit="ug/kg",
        start=1.0, every_days=7, visit_days=7, increase_below=50, increase_interval_days=7,
        decrease_above=200, decrease_consecutive=2, hold_above=400, resume_below=200,
        source="Nplate USPI (R): +1 ug/kg if <50; -1 after 2 consecutive weeks >200; hold >400, resume -1 when <200; max 10",
    ),
    iiv=(IIV(parameter="KEL_rom", omega=0.3, source="benchmark reference model omega 0.3 (A)", drug="romiplostim"),),
    # Perez-Ruixo 2012 J Clin Pharmacol 52:1540 (R): the 351 %/100 ug/wk effect in 68% of patients
    non_responder_fraction=0.32,
    invitro=InVitroDefaults(expected_ec50_nM=0.0004, differentiation_nM=0.01, signaling_nM=0.01),
    references=("Wang 2010 AAPS J 12:729", "Nplate USPI"),
)
