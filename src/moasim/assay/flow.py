"""Flow cytometry of megakaryocytes: FCS reading, compensation, transforms, gates, ploidy.

FCS 2.0/3.0/3.1 files (any data set of multi-data-set files) are read and written by
FlowIO (White et al. 2021), through the thin adapters of :mod:`moasim.assay._fcs` for what
it gets wrong (empty FCS 2.0 keyword values, the decoded top of scale, ...); logicle and
compensation come from FlowUtils. Gates follow Gating-ML 2.0 semantics
(Spidlen et al. 2015): a rectangle includes its minimum and excludes its maximum; a polygon
is the even-odd interior of its vertices; a quadrant gate splits two dimensions at one point
into ``++``, ``+-``, ``-+``, ``--`` populations (the split value counts as positive).

DNA-content ploidy: propidium-iodide fluorescence (linear scale) is modelled as a mixture
of Gaussians at ``mu_2N * 2**k`` (2N, 4N, ..., 64N) with a common coefficient of
variation, plus a uniform debris/background component, fitted by maximum likelihood.

Where things are
----------------
This module is the public face; the code lives in private modules, one job each:

* :mod:`._flow_sample`: :class:`FlowSample`, :func:`read_fcs`, :func:`write_fcs` (FlowIO
  through the adapters of :mod:`._fcs`)
* :mod:`._flow_transforms`: :func:`spillover_matrix`, :func:`compensate`, :func:`logicle`,
  :func:`arcsinh`, :func:`transform`
* :mod:`._flow_gates`: the gates, :class:`GatingStrategy`, :func:`apply_gates`,
  :func:`gating_strategy_from_dict`
* :mod:`._flow_gatingml`: :func:`read_gatingml`
* :mod:`._flow_markers`: :func:`positivity_thresholds`, :func:`megakaryocyte_panel`
* :mod:`._flow_ploidy`: :func:`fit_ploidy` (2N..64N DNA-content mixture)
* :mod:`._flow_plot`: :func:`plot_flow`

References
----------
Parks DR, Roederer M, Moore WA (2006) A new "Logicle" display method avoids deceptive effects
of logarithmic scaling for low signals and compensated data. Cytometry A 69:541-551.
Spidlen J et al. (2010) Data File Standard for Flow Cytometry, version FCS 3.1. Cytometry A 77:97-100.
Spidlen J, Moore W, ISAC Data Standards Task Force, Brinkman RR (2015) ISAC's Gating-ML 2.0 data
exchange standard for gating description. Cytometry A 87:683-687.
Bagwell CB, Adams EG (1993) Fluorescence spectral overlap compensation for any number of flow
cytometry parameters. Ann N Y Acad Sci 677:167-184.
Tomer A (2004) Human marrow megakaryocyte differentiation: multiparameter correlative analysis
identifies von Willebrand factor as a sensitive and distinctive marker for early (2N and 4N)
megakaryocytes. Blood 104:2722-2727.
White S et al. (2021) FlowKit: a Python toolkit for integrated manual and automated cytometry
analysis workflows. Front Immunol 12:768541 (FlowIO, FlowUtils).
"""

from __future__ import annotations

from ._flow_gates import Gate as Gate
from ._flow_gates import GatingResult as GatingResult
from ._flow_gates import GatingStrategy as GatingStrategy
from ._flow_gates import PolygonGate as PolygonGate
from ._flow_gates import QuadrantGate as QuadrantGate
from ._flow_gates import RectangleGate as RectangleGate
from ._flow_gates import apply_gates as apply_gates
from ._flow_gates import gating_strategy_from_dict as gating_strategy_from_dict
from ._flow_gatingml import read_gatingml as read_gatingml
from ._flow_markers import MarkerPanel as MarkerPanel
from ._flow_markers import megakaryocyte_panel as megakaryocyte_panel
from ._flow_markers import positivity_thresholds as positivity_thresholds
from ._flow_ploidy import PLOIDY_CLASSES as PLOIDY_CLASSES
from ._flow_ploidy import PloidyResult as PloidyResult
from ._flow_ploidy import fit_ploidy as fit_ploidy
from ._flow_plot import plot_flow as plot_flow
from ._flow_sample import FlowSample as FlowSample
from ._flow_sample import read_fcs as read_fcs
from ._flow_sample import write_fcs as write_fcs
from ._flow_transforms import arcsinh as arcsinh
from ._flow_transforms import compensate as compensate
from ._flow_transforms import logicle as logicle
from ._flow_transforms import spillover_matrix as spillover_matrix
from ._flow_transforms import transform as transform

__all__ = [
    "FlowSample", "read_fcs", "write_fcs", "compensate", "transform", "logicle", "arcsinh",
    "RectangleGate", "PolygonGate", "QuadrantGate", "GatingStrategy", "GatingResult", "apply_gates",
    "gating_strategy_from_dict", "read_gatingml", "positivity_thresholds", "MarkerPanel", "megakaryocyte_panel",
    "PloidyResult", "fit_ploidy", "plot_flow", "PLOIDY_CLASSES",
]
