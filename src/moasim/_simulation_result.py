"""The immutable result of :func:`moasim.simulate` (re-exported as ``moasim.simulation.SimulationResult``).

In a module of its own so that the bone layer's result (:mod:`moasim.library.bone._result`)
can subclass it without importing :mod:`moasim.simulation`, which dispatches to the bone layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ._frozen import reduce_frozen
from ._version import __version__
from .library.build import Subject
from .model import Model

__all__ = ["SimulationResult"]


@dataclass(frozen=True, kw_only=True)
class SimulationResult:
    """Result of :func:`moasim.simulate`: outputs over time, units, the dose ledger and provenance.

    Arrays are read-only. ``to_frame()`` gives a tidy table
    (``time_days, variable, value, unit``).
    """

    time: np.ndarray
    outputs: Mapping[str, np.ndarray]
    units: Mapping[str, str]
    doses: tuple[tuple[float, str, float, str], ...]  # (time_days, drug, amount, unit)
    subject: Subject
    drug: str | None
    regimen: str
    engine: str
    parameters: Mapping[str, float] = field(repr=False)
    model: Model = field(repr=False)

    def to_frame(self):
        """Tidy pandas DataFrame: one row per time and output."""
        import pandas as pd

        rows = []
        for name, values in self.outputs.items():
            rows.append(pd.DataFrame({"time_days": self.time, "variable": name, "value": values, "unit": self.units[name]}))
        return pd.concat(rows, ignore_index=True)

    def __reduce__(self):
        return reduce_frozen(self)

    def to_json_dict(self) -> dict:
        """The ``simulate --json`` contract: ``{"time_days", "outputs", "units", ...}``."""
        return {
            "time_days": [float(t) for t in self.time],
            "outputs": {k: [float(v) for v in vals] for k, vals in self.outputs.items()},
            "units": dict(self.units),
            "doses": [{"time_days": t, "drug": d, "amount": a, "unit": u} for t, d, a, u in self.doses],
            "drug": self.drug,
            "regimen": self.regimen,
            "population": self.subject.population,
            "engine": self.engine,
            "version": __version__,
        }

    def summary(self) -> dict[str, float]:
        """Key numbers: baseline, peak, day of peak, nadir of platelets and final value."""
        plt = self.outputs["platelets"]
        i = int(np.argmax(plt))
        out = {
            "baseline_platelets": float(plt[0]),
            "peak_platelets": float(plt[i]),
            "peak_day": float(self.time[i]),
            "peak_fold": float(plt[i] / plt[0]),
            "nadir_platelets": float(np.min(plt)),
            "final_platelets": float(plt[-1]),
            "baseline_tpo": float(self.outputs["tpo"][0]),
        }
        if "drug_concentration" in self.outputs:
            c = self.outputs["drug_concentration"]
            out["cmax_ng_per_mL"] = float(np.max(c))
        return out

    def summary_units(self) -> dict[str, str]:
        """Unit of each :meth:`summary` value (``"1"``: dimensionless)."""
        plt, tpo = self.units.get("platelets", "1e9/L"), self.units.get("tpo", "pg/mL")
        out = {"baseline_platelets": plt, "peak_platelets": plt, "peak_day": "day", "peak_fold": "1", "nadir_platelets": plt,
               "final_platelets": plt, "baseline_tpo": tpo}
        if "drug_concentration" in self.outputs:
            out["cmax_ng_per_mL"] = "ng/mL"
        return out

    def plot(self, path: str | None = None, title: str | None = None):
        """Platelets, TPO and drug concentration over time (matplotlib figure; saved if ``path``)."""
        from .report.plots import plot_simulation

        return plot_simulation(self, path, title)
