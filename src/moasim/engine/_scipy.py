"""scipy engine: LSODA/Radau on generated Python code; the independent reference in tests."""

from __future__ import annotations

from typing import final

import numpy as np
from scipy.integrate import solve_ivp

from ..errors import SolverError
from ..model import Model
from ._base import AbstractEngine
from ._codegen import python_rhs

__all__ = ["ScipyEngine"]


@final
class ScipyEngine(AbstractEngine):
    """scipy.integrate.solve_ivp (LSODA by default)."""

    name = "scipy"

    def prepare(self, model: Model):
        return python_rhs(model)

    def segment(self, compiled, params, y0, t0, t1, t_eval):
        t_eval = np.asarray(t_eval, float)
        if t1 <= t0:
            return np.tile(np.asarray(y0, float), (len(t_eval), 1)), np.asarray(y0, float)
        method = "LSODA" if self.options.method == "auto" else self.options.method
        p = list(params)
        sol = solve_ivp(
            lambda t, y: compiled(t, y, p),
            (t0, t1),
            np.asarray(y0, float),
            method=method,
            t_eval=np.unique(np.concatenate([t_eval, [t1]])),
            rtol=self.options.rtol,
            atol=self.options.atol,
        )
        if not sol.success:
            raise SolverError(f"Integration failed between t={t0:g} and t={t1:g} day: {sol.message}")
        ts, Y = sol.t, sol.y.T
        idx = np.searchsorted(ts, t_eval)
        return Y[idx], Y[-1].copy()
