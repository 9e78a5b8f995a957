"""Lusutrombopag (Mulpleta, S-888711): oral small-molecule agonist at c-Mpl's transmembrane domain.

Approved for thrombocytopenia in chronic liver disease before a procedure: 3 mg once daily for
7 days, starting 8-14 days before the procedure; no titration by platelet count, and not
indicated in ITP. The whole drug (receptor parameters, PK, dosing, assay defaults) is declared
in this one module, as an example of adding a drug to :mod:`moasim.library.drugs`.

PK: one compartment with first-order absorption (linear PK, Katsube 2019). Apparent volume
and half-life from the label; CL/F and ka derived from them::

    dGUT/dt  = -KA*GUT                       (dose at t; no food effect: taken with or without food)
    dCENT/dt = KA*GUT - CL/V*CENT
    C (ng/mL) = CENT/V;  xS_lus = FUREL*(C*1000/MW)/(EC50V*FVIVO)   (receptor occupancy ratio)

Pharmacodynamics: lusutrombopag binds the transmembrane domain like eltrombopag and
avatrombopag and shares their class efficacy and class factors (E_TM, FVIVO). No in-vitro
EC50 could be read in an accessible source (the Ba/F3-hMpl proliferation study of the
knock-in-mouse paper reports activity, not a number we could read), so its site affinity is an
assumption (A, below), chosen so that the labelled dose gives the receptor occupancy of the
class reference, eltrombopag 50 mg; the in-vitro defaults follow from it.

References
----------
- Mulpleta (lusutrombopag) prescribing information (Shionogi), as quoted by Lexicomp
  (drugs.com/ppa/lusutrombopag.html; medicine.com/drug/lusutrombopag/hcp): Vd 39.5 L, tmax 6-8 h,
  t1/2 ~27 h, protein binding >99.9%, median time to maximum platelet count 12 days (5-35);
  3 mg once daily for 7 days (R).
- AHFS monograph (drugs.com/monograph/lusutrombopag.html): C29H32Cl2N2O5S; "administer without
  regard to food" (R).
- Katsube T et al. 2019 Clin Pharmacokinet (doi 10.1007/s40262-019-00770-4): linear PK; acts on
  the transmembrane domain of the human TPO receptor (R).
"""

from __future__ import annotations

import math

from ...model import Module, Output, Parameter, State
from ._core import EFF_TM, EFF_TM_SRC, TM_MECHANISM, TRANSMEMBRANE, Drug, InVitroDefaults, Oral, ligand_params

LABEL = "Mulpleta prescribing information via Lexicomp (drugs.com/ppa/lusutrombopag.html)"
AHFS = "AHFS monograph (drugs.com/monograph/lusutrombopag.html)"
KATSUBE = "Katsube 2019 Clin Pharmacokinet doi 10.1007/s40262-019-00770-4"

#: Label (R): apparent volume 39.5 L, terminal half-life ~27 h, tmax 6-8 h.
V_L, HALF_LIFE_H, TMAX_H = 39.5, 27.0, 7.0
#: CL/F = ln2 x V/F / t1/2 (D) = 1.014 L/h.
CL_L_PER_H = math.log(2.0) * V_L / HALF_LIFE_H
#: ka from the tmax of a one-compartment model, ln(ka/k)/(ka - k) = 7 h (midpoint of 6-8 h), k = CL/V (D).
KA_PER_H = 0.4274
#: Molar mass of C29H32Cl2N2O5S (D, from the AHFS formula and IUPAC atomic weights).
MW = 591.55
#: Site affinity (A): at the labelled 3 mg/day the average steady-state concentration (dose/CL/F,
#: ~123 ng/mL = 208 nM) gives the occupancy ratio xS ~0.2 of eltrombopag 50 mg/day in a healthy adult
#: (~2660 ng/mL over its KA 3646 nM x FVIVO 8.144), so KA ~ 208/(0.2 x 8.144) = 128 nM.
KA_NM = 128.0
#: The KA/EC50 ratio of the 32D-MPL calibration (272, as for avatrombopag) turns KA into the EC50
#: an experimenter would expect in an over-expressing line (A): 128/272 = 0.47 nM.
EXPECTED_EC50_NM = 0.47

LIGAND = ligand_params(
    "lusutrombopag", "lus", TRANSMEMBRANE,
    KA_NM, "nM", "assumption: the labelled 3 mg QD gives the transmembrane occupancy of eltrombopag 50 mg QD "
    "(no readable in-vitro EC50; see moasim.library.drugs.lusutrombopag)", "A",
    EFF_TM, EFF_TM_SRC, "A",
    MW, "C29H32Cl2N2O5S (" + AHFS + ", R)", "D")


def module() -> Module:
    """Lusutrombopag oral PK (one compartment, first-order absorption) and its receptor occupancy."""
    return Module(
        name="pk_lusutrombopag",
        doc=__doc__ or "",
        parameters=(
            Parameter(name="CL_lus", value=CL_L_PER_H, unit="L/h", model_unit="L/day", lower=0, tag="D",
                      source=f"ln2 x V/F 39.5 L / t1/2 27 h ({LABEL}, R)", doc="apparent clearance CL/F"),
            Parameter(name="V_lus", value=V_L, unit="L", lower=0, tag="R", source=f"{LABEL}: Vd 39.5 L", doc="apparent volume V/F"),
            Parameter(name="KA_lus", value=KA_PER_H, unit="1/h", model_unit="1/day", lower=0, tag="D",
                      source=f"one-compartment tmax = ln(ka/k)/(ka - k) = 7 h, the midpoint of the label's 6-8 h ({LABEL}, R)",
                      doc="absorption rate"),
            Parameter(name="MW_lus", value=MW, unit="g/mol", lower=0, tag="D", source="C29H32Cl2N2O5S (" + AHFS + ")", doc="molar mass"),
            Parameter(name="FUREL_lus", value=1.0, unit="1", lower=0, tag="A",
                      source="assumption: as eltrombopag (both >99% bound in plasma, labels); the in-vivo potency is carried by the site KD",
                      doc="unbound fraction in plasma relative to eltrombopag"),
            Parameter(name="EC50V_lus", value=LIGAND.KA.value, unit="nM", lower=0, tag="A",
                      source="transmembrane-site KD of the drug's c-Mpl ligand entry (assumption A, see the module docstring)",
                      doc="dissociation constant at the c-Mpl transmembrane site (same value as the in-vitro model)"),
        ),
        states=(
            State(name="GUT_lus", unit="ug", doc="gut", dosable=True, absorption=True),
            State(name="CENT_lus", unit="ug", doc="central", dosable=True),
        ),
        assignments={
            "C_lus": "CENT_lus/V_lus",
            "xS_lus": "FUREL_lus*(C_lus*1000/MW_lus)/(EC50V_lus*FVIVO)",
        },
        rates={
            "GUT_lus": "-KA_lus*GUT_lus",
            "CENT_lus": ("KA_lus*GUT_lus", "-CL_lus/V_lus*CENT_lus"),
        },
        outputs=(Output(name="conc_lusutrombopag", expr="C_lus", unit="ng/mL", doc="plasma lusutrombopag (total)"),),
        references=(LABEL, AHFS, KATSUBE),
    )


DRUG = Drug(
    name="lusutrombopag", kind="small molecule, oral daily for 7 days before a procedure",
    site=TRANSMEMBRANE, mechanism=TM_MECHANISM,
    order=50, ligand=LIGAND,
    administration={"oral": Oral("GUT_lus")},
    dose_units=("mg",), module=module, concentration="conc_lusutrombopag",
    occupancy="xS_lus",
    no_titration=("the label (Mulpleta) gives a fixed course, 3 mg once daily for 7 days before a procedure in chronic "
                  "liver disease, with no platelet-count titration, and no ITP indication"),
    # no IIV: no readable population estimate (Katsube 2019 not read in full); typical subject only
    invitro=InVitroDefaults(expected_ec50_nM=EXPECTED_EC50_NM, differentiation_nM=30.0, signaling_nM=5.0),
    references=(LABEL, AHFS, KATSUBE),
)
