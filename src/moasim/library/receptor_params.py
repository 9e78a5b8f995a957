"""c-Mpl receptor parameters of every ligand and of every cell type: the single source of truth.

Pharmacology (operational / receptor-reserve view, Black & Leff 1983)
-------------------------------------------------------------------
A ligand's **affinity** (``KA``, the dissociation constant of its binding site) and its
**intrinsic efficacy** (``EFF``: JAK2 activation per receptor dimer it stabilises,
relative to a TPO-bound dimer) belong to the drug and do not depend on the cell. The
**cell** sets the receptor density (``RT``, thousand c-Mpl per cell): at high density a
small occupancy already saturates the downstream signal (receptor reserve, transducer
ratio ``tau`` ~ EFF x RT), so the functional EC50 ~ KA/(1 + tau) is lower in c-Mpl
over-expressing 32D-MPL cells than in human CD34+ cells. One cell parameter (the density
ratio) explains why the published CD34+/32D-MPL EC50 ratios are nearly equal for two
drugs of 33-fold different potency (hetrombopag 2.3/0.4 = 5.8, eltrombopag 86.2/13.4 =
6.4; Xie 2018 via seeds 003/004).

Sites: TPO and romiplostim bind the extracellular cytokine-receptor homology domain (one
site, competitive); eltrombopag, hetrombopag and avatrombopag bind the transmembrane
domain (His499; a separate site, so they add to TPO instead of displacing it).

Used by :mod:`moasim.library.invitro` (mass-action receptor model) and by the in-vivo
model, which takes its potencies from this table: ``KD_TPO`` (pg/mL) and ``KD_rom`` (ng/mL)
in :mod:`moasim.library.physiology.thrombopoiesis` are the extracellular ``KA`` times the
molar mass, and ``EC50V_<drug>`` (nM) in the small molecules' PK modules
(:mod:`moasim.library.pk`) is the transmembrane ``KA`` (affinity, not the 32D-MPL EC50; the
class factor ``FVIVO`` was re-expressed accordingly, 2216 x 13.4/3646 = 8.144).

Calibration (tag C): ``KA`` of each transmembrane agonist and the CD34+ receptor density
were fitted so that the 4PL EC50 estimated from simulated 72 h CellTiter-Glo plates
(``moasim validate``, targets ``ec50_*``) reproduces Xie 2018 (32D-MPL, R) and the seed
CD34+ values (U in research/thrombopoiesis.md: unconfirmed in the primary text).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from ..errors import SpecError, unknown_name
from ..model import Parameter

__all__ = ["LigandParams", "CellParams", "LIGANDS", "CELLS", "ligand", "cell", "EXTRACELLULAR", "TRANSMEMBRANE"]

EXTRACELLULAR = "extracellular"
TRANSMEMBRANE = "transmembrane"

XIE = "Xie 2018 J Cell Mol Med 22:5367"
CAL_32D = "calibrated: 4PL EC50 of simulated 72 h 32D-MPL CellTiter-Glo plates = {v} nM (" + XIE + ", R)"
EFF_TM_SRC = ("assumption: one class efficacy for the transmembrane agonists (they share the His499 TM site; "
              "no per-drug Emax published in a readable source). Half of a TPO dimer's JAK2 activation, so the "
              "class is a partial agonist at native receptor density and looks full in over-expressing 32D-MPL")


@dataclass(frozen=True, slots=True)
class LigandParams:
    """Receptor parameters of one ligand.

    Attributes
    ----------
    name : str
        Drug name as in the catalogue (``tpo``, ``romiplostim``, ...).
    suffix : str
        Short symbol suffix used in model equations (``T``, ``rom``, ``elt``, ...).
    site : str
        ``"extracellular"`` (competes with TPO) or ``"transmembrane"`` (additive with TPO).
    KA : Parameter
        Affinity: dissociation constant of the binding site (nM); the operational model's KA.
        Its equation symbol is ``KD_<suffix>`` (not ``KA_``, which the PK modules use for
        absorption rate constants).
    EFF : Parameter
        Intrinsic efficacy: JAK2 activation per stabilised receptor dimer, relative to TPO (1).
    MW : Parameter
        Molar mass (g/mol), to convert mass concentrations.
    """

    name: str
    suffix: str
    site: str
    KA: Parameter
    EFF: Parameter
    MW: Parameter

    def nM(self, value: float, unit: str) -> float:
        """Convert a concentration (``nM``, ``uM``, ``ng/mL``, ...) of this ligand to nM."""
        from ..units import convert, dimension_of

        if dimension_of(unit) == dimension_of("nM"):
            return convert(value, unit, "nM", f"{self.name} concentration")
        ngml = convert(value, unit, "ng/mL", f"{self.name} concentration")
        return ngml * 1e3 / self.MW.value  # (ng/mL)/(g/mol) = 1e-6 mol/L / 1e3 ... = 1e3/MW nM per ng/mL


@dataclass(frozen=True, slots=True)
class CellParams:
    """Receptor expression of a cell type (the ONE cell parameter of the receptor-reserve model)."""

    name: str
    RT: Parameter
    doc: str


def _lig(name, suffix, site, ka, ka_unit, ka_src, ka_tag, eff, eff_src, eff_tag, mw, mw_src, mw_tag) -> LigandParams:
    return LigandParams(
        name=name, suffix=suffix, site=site,
        KA=Parameter(name=f"KD_{suffix}", value=ka, unit=ka_unit, model_unit="nM", lower=0, source=ka_src, tag=ka_tag,
                     doc=f"{name}: dissociation constant at the {site} site"),
        EFF=Parameter(name=f"EFF_{suffix}", value=eff, unit="1", lower=0, source=eff_src, tag=eff_tag,
                      doc=f"{name}: JAK2 activation per receptor dimer relative to TPO"),
        MW=Parameter(name=f"MWR_{suffix}", value=mw, unit="g/mol", lower=0, source=mw_src, tag=mw_tag, doc=f"{name}: molar mass"),
    )


#: Class efficacy of the transmembrane agonists (assumption A; see EFF_TM_SRC).
EFF_TM = 0.5

_LIGANDS = (
    _lig("tpo", "T", EXTRACELLULAR,
         0.163, "nM", "Li 1999 Br J Haematol (doi 10.1046/j.1365-2141.1999.01571.x): 125I-rHuTPO Kd 163 +/- 31 pM, human platelets", "R",
         1.0, "reference ligand: efficacy 1 by definition", "A",
         35500.0, "332 aa x 107 Da (as KD_TPO in physiology/thrombopoiesis.py); unglycosylated rhTPO mass", "D"),
    _lig("romiplostim", "rom", EXTRACELLULAR,
         0.131 / 59000.0 * 1e3, "nM", "Wang 2010 AAPS J 12:729: KD 0.131 ng/mL (R) / 59 kDa (R) = 2.22 pM", "D",
         1.0, "assumption: full agonist at the TPO site (peptibody mimics TPO's receptor bridging)", "A",
         59000.0, "research/thrombopoiesis.md 3a: ~59 kDa peptibody", "R"),
    _lig("eltrombopag", "elt", TRANSMEMBRANE,
         3646.0, "nM", CAL_32D.format(v=13.4), "C",
         EFF_TM, EFF_TM_SRC, "A",
         442.5, "C25H22N4O4 free acid", "D"),
    _lig("hetrombopag", "het", TRANSMEMBRANE,
         108.8, "nM", CAL_32D.format(v=0.4), "C",
         EFF_TM, EFF_TM_SRC, "A",
         442.5, "assumed equal to eltrombopag (structural analogue, seed 004), as MW_het in pk/hetrombopag.py", "A"),
    _lig("avatrombopag", "ava", TRANSMEMBRANE,
         898.0, "nM", "derived: Ba/F3-hMpl proliferation EC50 3.3 nM (Fukushima-Shintani 2009, R2) x the KA/EC50 ratio of the "
         "32D-MPL calibration, 272 (over-expressing line assumed equivalent to 32D-MPL)", "D",
         EFF_TM, EFF_TM_SRC, "A",
         649.6, "C29H34Cl2N6O3S2 free base", "D"),
)

LIGANDS: Mapping[str, LigandParams] = MappingProxyType({lg.name: lg for lg in _LIGANDS})

_CELLS = (
    CellParams(
        name="32D-MPL",
        RT=Parameter(name="RT", value=10.0, unit="1", lower=0, tag="A",
                     source="assumption: transfected 32D cells over-express human c-Mpl; 10 (x1000 receptors/cell) sets the scale "
                            "of the receptor layer (only density ratios matter for EC50 ratios)",
                     doc="c-Mpl per cell (thousands)"),
        doc="murine 32D cells stably transfected with human c-Mpl (Xie 2018); IL-3 withdrawn, so survival and growth need c-Mpl signal",
    ),
    CellParams(
        name="CD34+",
        RT=Parameter(name="RT", value=1.8, unit="1", lower=0, tag="C",
                     source="calibrated: ONE density ratio 32D-MPL/CD34+ = 5.6 (EC50 ratio 6.1 through dimerisation and signalling) reproduces both seed CD34+/32D-MPL EC50 ratios "
                            "(hetrombopag 5.8, eltrombopag 6.4; seeds 003/004, U in research doc: unconfirmed in the primary text)",
                     doc="c-Mpl per cell (thousands)"),
        doc="human cord-blood CD34+ cells (native c-Mpl expression) and their megakaryocytic progeny",
    ),
)

CELLS: Mapping[str, CellParams] = MappingProxyType({c.name: c for c in _CELLS})


def ligand(name: str) -> LigandParams:
    """Receptor parameters of a ligand by name (``tpo``, ``romiplostim``, ``eltrombopag``, ``hetrombopag``, ``avatrombopag``)."""
    key = name.strip().lower()
    if key not in LIGANDS:
        raise SpecError(unknown_name("drug", name, LIGANDS, "the c-Mpl ligand table"))
    return LIGANDS[key]


def cell(name: str) -> CellParams:
    """Receptor expression of a cell type by name (``32D-MPL``, ``CD34+``)."""
    for k, c in CELLS.items():
        if k.lower() == name.strip().lower():
            return c
    raise SpecError(unknown_name("cell type", name, CELLS))

