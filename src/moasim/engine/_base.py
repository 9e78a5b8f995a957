"""The engine interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError, invalid_value
from ..model import Model

__all__ = ["AbstractEngine", "SolverOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SolverOptions:
    """Integration tolerances (relative, absolute; absolute in each state's canonical unit)."""

    rtol: float = 1e-8
    atol: float = 1e-10
    method: str = "auto"  # engine-specific; scipy: "LSODA" | "Radau" | "BDF"
    max_steps: int = 500_000

    def __post_init__(self) -> None:
        for f in ("rtol", "atol"):
            v = getattr(self, f)
            if not (isinstance(v, (int, float)) and 0 < v < 1):
                raise SpecError(invalid_value(f, v, "a number in (0, 1)"))


class AbstractEngine(ABC):
    """Integrates a model between two times from a given state (no events inside).

    Engines are stateless from the caller's point of view: :meth:`segment` takes the
    state and parameter values explicitly. Dosing and titration are handled by
    :func:`moasim.engine.run_schedule`, which restarts the integration at every event,
    so discontinuities are never stepped over.
    """

    name: str = "abstract"

    def __init__(self, options: SolverOptions | None = None) -> None:
        self.options = options or SolverOptions()

    @abstractmethod
    def prepare(self, model: Model) -> object:
        """Compile (or fetch from cache) what :meth:`segment` needs for this model's structure."""

    @abstractmethod
    def segment(self, compiled: object, params: np.ndarray, y0: np.ndarray, t0: float, t1: float, t_eval: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integrate from ``(t0, y0)`` to ``t1``.

        Returns ``(Y_eval, y1)``: states at ``t_eval`` (shape (len(t_eval), n_states);
        ``t_eval`` lies in ``[t0, t1]``) and the state at ``t1``.
        """
