"""Eltrombopag (Promacta/Revolade): oral small-molecule agonist at c-Mpl's transmembrane domain.

Binds the transmembrane domain (His499), a separate site, so it adds to TPO instead of
displacing it. Oral daily; polyvalent cations (calcium-rich food, antacids) chelate it in
the gut. PK module :mod:`moasim.library.pk.gibiansky2011_eltrombopag`.

References
----------
- Gibiansky E et al. 2011 J Clin Pharmacol 51:842 (population PK and covariates on CL/F).
- Farrell C et al. 2014 Br J Clin Pharmacol 77:717 (absorption).
- Williams DD et al. 2009 Clin Ther 31:764 (calcium-rich meal and antacid).
- Xie C et al. 2018 J Cell Mol Med 22:5367 (32D-MPL EC50 13.4 nM).
- Hayes S et al. 2011 J Clin Pharmacol 51:1403 (ITP non-responder mixture, 19%).
- Promacta label (titration rule).
"""

from __future__ import annotations

from functools import partial
from typing import Mapping

from ..pk import gibiansky2011_eltrombopag as pk
from ._core import CAL_32D, EFF_TM, EFF_TM_SRC, IIV, TM_MECHANISM, TRANSMEMBRANE, Drug, InVitroDefaults, Oral, TitrationRule, ligand_params

LIGAND = ligand_params(
    "eltrombopag", "elt", TRANSMEMBRANE,
    3646.0, "nM", CAL_32D.format(v=13.4), "C",
    EFF_TM, EFF_TM_SRC, "A",
    442.5, "C25H22N4O4 free acid", "D")


def _covariates(p: Mapping[str, float], cov) -> dict[str, float]:
    """CL/F ~ (WT/70)^WT_EXP_CL x the Gibiansky 2011 factors of the subject's covariates."""
    f = (cov.weight_kg / 70.0) ** pk.WT_EXP_CL
    for name, factor in pk.COV_CL.items():
        if getattr(cov, name, False):
            f *= factor
    return {"CL_elt": p["CL_elt"] * f}


DRUG = Drug(
    name="eltrombopag", kind="small molecule, oral daily",
    site=TRANSMEMBRANE, mechanism=TM_MECHANISM,
    order=20, ligand=LIGAND,
    administration={"oral": Oral("GUT1_elt", lag="ALAG_elt", kfood="KFOOD_elt", switch=("TSW_elt", "GUT1_elt", "GUT2_elt"))},
    dose_units=("mg",), module=partial(pk.module, ec50v_nM=LIGAND.KA.value), concentration="conc_eltrombopag",
    occupancy="xS_elt",
    covariates=_covariates,
    food_parameters={"high_calcium": "KCHEL_CA_elt", "antacid": "KCHEL_ANTACID_elt"},
    titration=TitrationRule(
        name="eltrombopag label", drug="eltrombopag", levels=(12.5, 25.0, 50.0, 75.0), unit="mg",
        start=50.0, start_east_asian=25.0, every_days=1, visit_days=7, increase_below=50, increase_interval_days=14,
        decrease_above=200, decrease_consecutive=1, hold_above=400, resume_below=150,
        source="Promacta label (R, Lexicomp text): 50 mg (25 mg East Asian); <50 after >=2 weeks +25 (max 75); 200-400 -25; >400 hold, resume -25 when <150",
    ),
    iiv=(IIV(parameter="CL_elt", omega=0.3, source="assumption (A); Gibiansky 2011 IIV not in readable text", drug="eltrombopag"),),
    # Hayes 2011 J Clin Pharmacol 51:1403 (R)
    non_responder_fraction=0.19,
    invitro=InVitroDefaults(expected_ec50_nM=13.4, differentiation_nM=862.0, signaling_nM=134.0),
    references=("Gibiansky 2011 J Clin Pharmacol 51:842", "Farrell 2014 BJCP 77:717", "Williams 2009 Clin Ther 31:764"),
)
