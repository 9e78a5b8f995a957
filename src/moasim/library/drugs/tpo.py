"""Recombinant human TPO (rhTPO): the endogenous ligand given as a drug (SC or IV).

A dose adds to the TPO pool of the physiology model (PK module :mod:`moasim.library.pk.rhtpo`),
so it has no occupancy term of its own. Its receptor parameters are the reference of the
c-Mpl ligand table (efficacy 1 by definition).

References
----------
- Li J et al. 1999 Br J Haematol (125I-rHuTPO Kd 163 pM on human platelets).
- Chin J Clin Pharmacol 2001 (rhTPO PK in healthy Chinese subjects).
- Song 1999 Acta Pharmacol Sin 20:244 (rhesus SC bioavailability).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ...engine import Add, Event
from ..pk import rhtpo as pk
from ._core import EXTRACELLULAR, Depot, Drug, InVitroDefaults, ligand_params

LIGAND = ligand_params(
    "tpo", "T", EXTRACELLULAR,
    0.163, "nM", "Li 1999 Br J Haematol (doi 10.1046/j.1365-2141.1999.01571.x): 125I-rHuTPO Kd 163 +/- 31 pM, human platelets", "R",
    1.0, "reference ligand: efficacy 1 by definition", "A",
    35500.0, "332 aa x 107 Da (as KD_TPO in physiology/thrombopoiesis.py); unglycosylated rhTPO mass", "D")


@dataclass(frozen=True, slots=True)
class _IntoTpoPool:
    """IV rhTPO: ug -> pg/mL in the TPO distribution volume (VP_tpo L/kg x WT kg)."""

    def events(self, t: float, amount: float, p: Mapping[str, float], food, food_parameters) -> list[Event]:
        return [Event(t, Add("TPO", amount * 1000.0 / (p["VP_tpo"] * p["WT"])))]


DRUG = Drug(
    name="tpo", kind="recombinant human TPO (rhTPO), SC",
    site=EXTRACELLULAR, mechanism="the endogenous ligand; adds to the TPO pool",
    order=90, ligand=LIGAND,
    administration={"sc": Depot("DEPOT_tpo", "F_tpo"), "iv": _IntoTpoPool()},
    dose_units=("ug/kg", "ug"), module=pk.module, concentration="tpo",
    endogenous=True,
    no_titration="rhTPO has no label titration rule (given as fixed courses)",
    invitro=InVitroDefaults(expected_ec50_nM=0.001),
    references=("Chin J Clin Pharmacol 2001", "Song 1999 Acta Pharmacol Sin 20:244"),
)
