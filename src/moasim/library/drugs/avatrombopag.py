"""Avatrombopag (Doptelet): oral small-molecule agonist at c-Mpl's transmembrane domain.

Additive with TPO; taken with food, which does not change the extent of absorption (no food
effect modelled). PK module :mod:`moasim.library.pk.liu2025_avatrombopag`.

References
----------
- Liu 2025 Pharmaceuticals 18:903 (population PK).
- Nomoto M et al. 2018 Clin Pharmacol Drug Dev 7:188 (healthy subjects, food).
- Fukushima-Shintani M et al. 2009 Eur J Haematol (Ba/F3-hMpl EC50 3.3 nM, R2).
- Doptelet label (titration rule, R2).
"""

from __future__ import annotations

from functools import partial

from ..pk import liu2025_avatrombopag as pk
from ._core import EFF_TM, EFF_TM_SRC, IIV, TM_MECHANISM, TRANSMEMBRANE, Drug, InVitroDefaults, Oral, TitrationRule, ligand_params

LIGAND = ligand_params(
    "avatrombopag", "ava", TRANSMEMBRANE,
    898.0, "nM", "derived: Ba/F3-hMpl proliferation EC50 3.3 nM (Fukushima-Shintani 2009, R2) x the KA/EC50 ratio of the "
    "32D-MPL calibration, 272 (over-expressing line assumed equivalent to 32D-MPL)", "D",
    EFF_TM, EFF_TM_SRC, "A",
    649.6, "C29H34Cl2N6O3S2 free base", "D")


DRUG = Drug(
    name="avatrombopag", kind="small molecule, oral daily with food",
    site=TRANSMEMBRANE, mechanism=TM_MECHANISM,
    order=40, ligand=LIGAND,
    administration={"oral": Oral("TR1_ava")},
    dose_units=("mg",), module=partial(pk.module, ec50v_nM=LIGAND.KA.value), concentration="conc_avatrombopag",
    occupancy="xS_ava",
    titration=TitrationRule(
        name="avatrombopag label (daily levels)", drug="avatrombopag", levels=(20.0, 40.0), unit="mg",
        start=20.0, every_days=1, visit_days=7, increase_below=50, increase_interval_days=14,
        decrease_above=200, decrease_consecutive=1, hold_above=400, resume_below=150,
        source="Doptelet label (R2): start 20 mg QD, max 40 mg/day; the label's sub-daily levels are not modelled",
    ),
    iiv=(IIV(parameter="CL_ava", omega=0.3, source="assumption (A)", drug="avatrombopag"),),
    invitro=InVitroDefaults(expected_ec50_nM=3.3, differentiation_nM=200.0, signaling_nM=33.0),
    references=("Liu 2025 Pharmaceuticals 18:903", "Nomoto 2018 CPDD 7:188"),
)
