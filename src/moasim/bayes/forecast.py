"""Posterior-predictive forecast of one patient's platelets under candidate regimens, and a
dose recommendation.

From the end of the patient's record (its last row), each candidate regimen is simulated for
every posterior draw of the patient's parameters (:class:`~moasim.bayes.fit.PatientFit`), all
draws in one batched run. Measured counts get the residual error, so the bands are those of
the counts a clinic would see. Per regimen: median and 90% band per day, and over the weekly
visits of the horizon the probability that every true count stays within the target, that
one falls below 50 or one exceeds 400 x10^9/L (the thresholds of the labels' titration
rules). The recommendation is the regimen with the highest probability of staying in
target (the lowest dose among equals).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..dosing import Regimen
from ..dosing._dataset import record_end_time
from ..dosing._regimen import regimen_events
from ..errors import SpecError, invalid_value
from .fit import PatientFit

__all__ = ["Forecast", "forecast", "default_regimens", "LOW", "HIGH"]

#: counts below LOW / above HIGH (10^9/L) are the events a forecast reports (label titration thresholds)
LOW, HIGH = 50.0, 400.0
#: below this probability of staying in target, the recommendation comes with a caveat
UNLIKELY = 0.10


@dataclass(frozen=True, kw_only=True)
class Forecast:
    """Per regimen (label -> dict): ``time_days``, ``median``, ``p5``, ``p95`` (measured counts),
    ``p_in_target``, ``p_below_50``, ``p_above_400``; the ``recommended`` label and, when even that
    regimen is unlikely to keep the counts in target, a ``caveat`` saying so (None otherwise)."""

    regimens: dict
    recommended: str
    caveat: str | None = None
    target: tuple[float, float]
    start_day: float
    horizon_days: float
    draws: int
    history: dict = field(default_factory=dict)

    def to_json_dict(self) -> dict:
        return {"regimens": self.regimens, "recommended": self.recommended, "caveat": self.caveat, "target": list(self.target),
                "start_day": self.start_day, "horizon_days": self.horizon_days, "draws": self.draws, "history": self.history}

    def plot(self, path: str | None = None):
        from ..report.plots import plot_forecast

        return plot_forecast(self, path)


def default_regimens(drug) -> list[Regimen]:
    """The levels of the drug's label titration rule, each as a fixed regimen at the rule's interval."""
    rule = drug.titration
    if rule is None:
        raise SpecError(invalid_value("--regimens", None, f"candidate doses for {drug.name} (it has no label titration rule)"))
    return [Regimen(drug=drug.name, dose=lv, unit=rule.unit, route=drug.routes[0], every_days=rule.every_days) for lv in rule.levels]


def forecast(fit: PatientFit, regimens: list[Regimen] | None = None, *, horizon_days: float = 56.0, target: tuple[float, float] = (50.0, 200.0),
             draws: int = 200, seed: int = 0) -> Forecast:
    """Forecast the patient of ``fit`` under each regimen, starting where the record ends.

    Parameters
    ----------
    fit : PatientFit
    regimens : list of Regimen, optional
        Candidates (default: the label's levels, :func:`default_regimens`); start days are set to
        the end of the record.
    horizon_days : float
        Forecast length (day).
    target : (float, float)
        Target range of the count (10^9/L).
    draws : int
        Posterior draws.
    seed : int
        Seed of the draws and of the residual error.
    """
    p = fit.problem
    if not (0 < target[0] < target[1]):
        raise SpecError(invalid_value("--target", list(target), "LO-HI with 0 < LO < HI (10^9/L)"))
    t0 = record_end_time(p.record)
    regimens = regimens or default_regimens(p.drug)
    rng = np.random.default_rng(seed)
    Z, NR = fit.draw(draws, rng)
    t_out = t0 + np.arange(0.0, horizon_days + 1e-9, 1.0)
    visits = np.arange(7, int(horizon_days) + 1, 7)  # weekly visits (days after the start)
    noise = np.exp(p.sd * rng.standard_normal((draws, len(t_out))))
    out = {}
    for reg in regimens:
        reg = Regimen(drug=reg.drug, dose=reg.dose, unit=reg.unit, route=reg.route, every_days=reg.every_days, start_days=t0)
        t_end = float(t_out[-1])
        extra = lambda m, reg=reg: regimen_events(p.drug, reg, t_end, m.parameter_values, p.subject.weight_kg)  # noqa: E731
        sims = p.simulate_many(Z, NR, t_out, extra)
        ok = [i for i, s in enumerate(sims) if s is not None]
        true = np.array([sims[i] for i in ok])
        meas = true * noise[ok]
        wk = true[:, visits] if len(visits) else true[:, -1:]
        out[str(reg)] = {
            "dose": reg.dose, "unit": reg.unit, "every_days": reg.every_days, "route": reg.route,
            "time_days": t_out.tolist(),
            "median": np.median(meas, axis=0).tolist(), "p5": np.percentile(meas, 5, axis=0).tolist(), "p95": np.percentile(meas, 95, axis=0).tolist(),
            "p_in_target": float(np.mean(np.all((wk >= target[0]) & (wk <= target[1]), axis=1))),
            "p_below_50": float(np.mean(np.any(wk < LOW, axis=1))), "p_above_400": float(np.mean(np.any(wk > HIGH, axis=1))),
        }
    best = max(out, key=lambda k: (out[k]["p_in_target"], -out[k]["dose"]))
    caveat = None
    if out[best]["p_in_target"] < UNLIKELY:
        caveat = (f"no candidate is likely to keep every weekly count in {target[0]:g}-{target[1]:g} x10^9/L (best: "
                  f"P = {out[best]['p_in_target']:.2f}, P(<50) {out[best]['p_below_50']:.2f}, P(>400) {out[best]['p_above_400']:.2f}); "
                  "try other doses or intervals")
    history = {"time_days": p.t_obs.tolist(), "observed": np.exp(p.log_dv).tolist()}
    return Forecast(regimens=out, recommended=best, caveat=caveat, target=tuple(target), start_day=float(t0),
                    horizon_days=float(horizon_days), draws=draws, history=history)
