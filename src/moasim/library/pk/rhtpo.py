"""Recombinant human TPO (rhTPO): SC absorption into the endogenous TPO pool.

rhTPO is cleared like endogenous TPO (non-specifically and by c-Mpl), so a dose simply
adds to the ``TPO`` state of the physiology model after first-order SC absorption.

References
----------
- Chin J Clin Pharmacol 2001 (rhTPO, healthy Chinese): tmax 9.0-11.8 h, t1/2 38.7-46.3 h.
- Song 1999 Acta Pharmacol Sin 20:244 (rhesus SC F 0.50).
"""

from __future__ import annotations

from ...model import Module, Parameter, State


def module() -> Module:
    return Module(
        name="pk_rhtpo",
        doc=__doc__ or "",
        parameters=(
            Parameter(name="KA_tpo", value=0.0173, unit="1/h", model_unit="1/day", lower=0, tag="D",
                      source="flip-flop: terminal t1/2 ~40 h (Chin J Clin Pharmacol 2001, R) -> ka = ln2/40 h", doc="SC absorption"),
            Parameter(name="F_tpo", value=0.5, unit="1", lower=0, upper=1, tag="R", source="Song 1999 Acta Pharmacol Sin 20:244 (rhesus)", doc="SC bioavailability"),
            Parameter(name="VP_tpo", value=0.04, unit="L/kg", lower=0, tag="A", source="plasma volume ~40 mL/kg (TPO distribution volume)", doc="TPO distribution volume"),
        ),
        states=(State(name="DEPOT_tpo", unit="ug", doc="SC depot of rhTPO", dosable=True, absorption=True),),
        rates={"DEPOT_tpo": "-KA_tpo*DEPOT_tpo", "TPO": "KA_tpo*DEPOT_tpo*1000/(VP_tpo*WT)"},
    )
