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

Each ligand's row is declared by its drug module (:mod:`moasim.library.drugs`, ``Drug.ligand``);
this module collects them and adds the cell types. Used by :mod:`moasim.library.invitro` (mass-action receptor model) and by the in-vivo
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
from .drugs import DRUGS
from .drugs._core import EXTRACELLULAR, TRANSMEMBRANE, LigandParams

__all__ = ["LigandParams", "CellParams", "LIGANDS", "CELLS", "ligand", "cell", "EXTRACELLULAR", "TRANSMEMBRANE"]


@dataclass(frozen=True, slots=True)
class CellParams:
    """Receptor expression of a cell type (the ONE cell parameter of the receptor-reserve model)."""

    name: str
    RT: Parameter
    doc: str


#: Receptor parameters of every ligand: each drug's ``ligand`` (moasim.library.drugs), the endogenous
#: ligand (TPO, the reference of efficacy) first, then the drugs in catalogue order.
LIGANDS: Mapping[str, LigandParams] = MappingProxyType(
    {d.ligand.name: d.ligand for d in sorted(DRUGS.values(), key=lambda d: not d.endogenous)})

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
    """Receptor parameters of a ligand by name (``tpo`` or any drug of :data:`moasim.library.drugs.DRUGS`)."""
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

