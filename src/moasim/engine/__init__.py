"""Engines: one interface over well-kept ODE solvers, plus the event (dosing) loop.

- :class:`RoadRunnerEngine` (default): libroadrunner, CVODE with an LLVM-compiled
  right-hand side; chosen by measurement (``benchmarks/``).
- :class:`ScipyEngine`: scipy's LSODA/Radau on generated Python code; the independent
  tight-tolerance reference in tests.
"""

from ._base import AbstractEngine, SolverOptions
from ._events import Add, Event, SetParameter, SetState, Transfer, run_schedule
from ._roadrunner import RoadRunnerEngine
from ._scipy import ScipyEngine

__all__ = [
    "AbstractEngine",
    "SolverOptions",
    "RoadRunnerEngine",
    "ScipyEngine",
    "Event",
    "Add",
    "SetParameter",
    "SetState",
    "Transfer",
    "run_schedule",
    "get_engine",
]


def get_engine(name: str = "roadrunner", **options) -> AbstractEngine:
    """Engine by name: ``"roadrunner"`` (default) or ``"scipy"``."""
    from ..errors import SpecError, unknown_name

    engines = {"roadrunner": RoadRunnerEngine, "scipy": ScipyEngine}
    if name not in engines:
        raise SpecError(unknown_name("engine", name, engines))
    return engines[name](SolverOptions(**options))
