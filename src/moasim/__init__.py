"""moasim: executable drug mechanisms of action.

Receptor binding -> megakaryopoiesis -> platelets for thrombopoietin-receptor agonists,
virtual patients, and analysis of the lab data such drugs are characterised with.
"""

from __future__ import annotations

from ._version import __version__ as __version__

from .library.build import Subject as Subject
from .library.drugs import Food as Food
from .simulation import SimulationResult as SimulationResult
from .simulation import simulate as simulate

__all__ = ["__version__", "simulate", "SimulationResult", "Subject", "Food"]

# Lab-data analysis (issue #5)
from .assay import CurveFit as CurveFit  # noqa: E402
from .assay import DoseResponseResult as DoseResponseResult  # noqa: E402
from .assay import fit_4pl as fit_4pl  # noqa: E402
from .assay import fit_dose_response as fit_dose_response  # noqa: E402
from .assay import apply_gates as apply_gates  # noqa: E402
from .assay import read_fcs as read_fcs  # noqa: E402
from .assay import quantify_blot as quantify_blot  # noqa: E402

__all__ += ["fit_dose_response", "fit_4pl", "DoseResponseResult", "CurveFit", "read_fcs", "apply_gates", "quantify_blot"]

# Virtual trials (DESIGN.md: ``moasim.run_trial(spec)``)
from .trials import TrialResult as TrialResult  # noqa: E402
from .trials import TrialSpec as TrialSpec  # noqa: E402
from .trials import load_trial_spec as load_trial_spec  # noqa: E402
from .trials import parse_trial_spec as parse_trial_spec  # noqa: E402
from .trials import run_trial as run_trial  # noqa: E402

__all__ += ["run_trial", "load_trial_spec", "parse_trial_spec", "TrialSpec", "TrialResult"]
