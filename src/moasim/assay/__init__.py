"""Lab-data analysis: dose-response fitting, flow cytometry, western-blot densitometry.

Python::

    import moasim
    res = moasim.fit_dose_response("ctg.csv", group="compound", model="4pl")   # or a DataFrame
    res.groups["eltrombopag"].estimates["ec50"], res.relative_potency, res.to_frame()
    fit = moasim.fit_4pl(conc_nM, luminescence)                                 # plain arrays

    from moasim.assay import read_fcs, transform, apply_gates, megakaryocyte_panel, fit_ploidy
    from moasim.assay import quantify_blot, normalise_blot

Command line::

    moasim fit dose-response ctg.csv --group compound [--model 5pl] [--plot fit.png] [--json]
    moasim fit dose-response plate.csv --plate-map map.csv --compare 5pl
    moasim flow mk.fcs --gates gates.yaml --threshold CD41=1000 --threshold CD42b=800 --ploidy PI --plot mk.png
    moasim blot blot.tif --lanes 6 --bands pSTAT5,GAPDH --lane-labels veh,1,3,10,30,100 \\
        --phospho pSTAT5 --loading GAPDH --vehicle veh --plot blot.png
"""

from __future__ import annotations

from ._io import read_plate as read_plate
from ._io import read_table as read_table
from .dose_response import CurveFit as CurveFit
from .dose_response import DoseResponseResult as DoseResponseResult
from .dose_response import ModelComparison as ModelComparison
from .dose_response import RelativePotency as RelativePotency
from .dose_response import compare_models as compare_models
from .dose_response import fit_4pl as fit_4pl
from .dose_response import fit_5pl as fit_5pl
from .dose_response import fit_curve as fit_curve
from .dose_response import fit_dose_response as fit_dose_response
from .dose_response import plot_dose_response as plot_dose_response
from .blot import BlotQuantification as BlotQuantification
from .blot import load_blot as load_blot
from .blot import normalise_blot as normalise_blot
from .blot import plot_blot as plot_blot
from .blot import quantify_blot as quantify_blot
from .blot import blot_from_array as blot_from_array
from .flow import FlowSample as FlowSample
from .flow import MarkerPanel as MarkerPanel
from .flow import PloidyResult as PloidyResult
from .flow import arcsinh as arcsinh
from .flow import logicle as logicle
from .flow import plot_flow as plot_flow
from .flow import positivity_thresholds as positivity_thresholds
from .flow import read_gatingml as read_gatingml
from .flow import write_fcs as write_fcs
from .flow import GatingStrategy as GatingStrategy
from .flow import PolygonGate as PolygonGate
from .flow import QuadrantGate as QuadrantGate
from .flow import RectangleGate as RectangleGate
from .flow import apply_gates as apply_gates
from .flow import compensate as compensate
from .flow import fit_ploidy as fit_ploidy
from .flow import gating_strategy_from_dict as gating_strategy_from_dict
from .flow import megakaryocyte_panel as megakaryocyte_panel
from .flow import read_fcs as read_fcs
from .flow import transform as transform

__all__ = [
    "read_table", "read_plate",
    "CurveFit", "DoseResponseResult", "ModelComparison", "RelativePotency",
    "compare_models", "fit_4pl", "fit_5pl", "fit_curve", "fit_dose_response", "plot_dose_response",
    "FlowSample", "GatingStrategy", "PolygonGate", "QuadrantGate", "RectangleGate", "apply_gates", "compensate",
    "fit_ploidy", "gating_strategy_from_dict", "megakaryocyte_panel", "read_fcs", "transform",
    "BlotQuantification", "load_blot", "normalise_blot", "plot_blot", "quantify_blot", "blot_from_array",
    "MarkerPanel", "PloidyResult", "arcsinh", "logicle", "plot_flow", "positivity_thresholds", "read_gatingml", "write_fcs",
]
