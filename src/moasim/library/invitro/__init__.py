"""In-vitro layer: c-Mpl binding with dimerisation, mass-action signalling, cell models, simulated assays.

Models (symbolic, compiled by :mod:`moasim.engine`, exportable to SBML):

- :func:`receptor_module` - TPO/romiplostim at the extracellular site (competitive),
  eltrombopag/hetrombopag/avatrombopag at the transmembrane site (additive), receptor
  dimerisation, internalisation and turnover; drug parameters from
  :mod:`moasim.library.receptor_params`, receptor density per cell type.
- :func:`signaling_module` - JAK2/TYK2, STAT3/STAT5 with nuclear shuttling, PI3K/AKT,
  MEK/ERK, SOCS and DUSP feedback (phospho/total ratios; peaks within minutes).
- :func:`proliferation_module`, :func:`differentiation_module` - viable cells (72 h),
  CD34+ -> CD41+/CD61+ megakaryocytes, endomitosis 2N-64N, CD42b maturation.

Assays (noisy readouts with an explicit ``seed``, analysed by :mod:`moasim.assay`):
:func:`run_proliferation_assay` (CellTiter-Glo plate -> 4PL EC50),
:func:`run_differentiation_assay` (flow: markers + PI ploidy), :func:`run_signaling_assay`
(western-blot densitometry).
"""

from ._assays import DifferentiationAssay as DifferentiationAssay
from ._assays import ProliferationAssay as ProliferationAssay
from ._assays import SignalingAssay as SignalingAssay
from ._assays import default_concentrations as default_concentrations
from ._assays import plate_layout as plate_layout
from ._assays import run_differentiation_assay as run_differentiation_assay
from ._assays import run_proliferation_assay as run_proliferation_assay
from ._assays import run_signaling_assay as run_signaling_assay
from ._build import CultureResult as CultureResult
from ._build import culture_model as culture_model
from ._build import ligand_free_state as ligand_free_state
from ._build import ploidy_fractions as ploidy_fractions
from ._build import simulate_culture as simulate_culture
from ._network import PLOIDY as PLOIDY
from ._network import PROTEIN_TOTALS as PROTEIN_TOTALS
from ._network import differentiation_module as differentiation_module
from ._network import proliferation_module as proliferation_module
from ._network import receptor_module as receptor_module
from ._network import signaling_module as signaling_module

__all__ = [
    "receptor_module", "signaling_module", "proliferation_module", "differentiation_module", "PLOIDY", "PROTEIN_TOTALS",
    "culture_model", "ligand_free_state", "simulate_culture", "ploidy_fractions", "CultureResult",
    "run_proliferation_assay", "run_differentiation_assay", "run_signaling_assay", "default_concentrations", "plate_layout",
    "ProliferationAssay", "DifferentiationAssay", "SignalingAssay",
]
