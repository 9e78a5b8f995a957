"""moasim: executable drug mechanisms of action.

Receptor binding -> megakaryopoiesis -> platelets for thrombopoietin-receptor agonists,
virtual patients, and analysis of the lab data such drugs are characterised with.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .library.build import Subject as Subject
from .library.drugs import Food as Food
from .simulation import SimulationResult as SimulationResult
from .simulation import simulate as simulate

__all__ = ["__version__", "simulate", "SimulationResult", "Subject", "Food"]
