"""Model metrics computed the way the publications computed them (NCA, peaks, ratios).

Each function simulates what the source study did and returns the number to compare
with the calibration target; :mod:`moasim.validate` holds the comparison.
"""

from __future__ import annotations

import numpy as np

from ..library.build import Subject
from ..library.drugs import Food
from ..simulation import simulate

__all__ = [
    "terminal_half_life_h", "auc", "tpo_steady", "platelet_lifespan_days", "peak", "eltrombopag_max_increase_pct",
]


def auc(t: np.ndarray, c: np.ndarray) -> float:
    """Linear-trapezoidal AUC (same time unit as ``t``)."""
    return float(np.trapezoid(c, t))


def terminal_half_life_h(t_days: np.ndarray, c: np.ndarray, window_h: tuple[float, float] = (24.0, 96.0), t_dose: float = 0.0) -> float:
    """NCA terminal half-life (h): log-linear regression over a post-dose window."""
    th = (np.asarray(t_days) - t_dose) * 24.0
    m = (th >= window_h[0]) & (th <= window_h[1]) & (c > 0)
    slope = np.polyfit(th[m], np.log(c[m]), 1)[0]
    return float(np.log(2) / -slope)


def tpo_steady(population: str, **kw) -> float:
    """Drug-free TPO after a year of simulation (tests that the steady state holds)."""
    r = simulate(None, days=365, population=population, samples_per_day=1, **kw)
    return float(r.outputs["tpo"][-1])


def platelet_lifespan_days(population: str = "healthy") -> float:
    """Mean platelet lifespan by Little's law: circulating count / release rate at steady state."""
    r = simulate(None, days=60, population=population, samples_per_day=1)
    return float(r.outputs["platelets"][-1] / r.outputs["platelet_release"][-1])


def peak(drug: str, dose: str, route: str, days: float = 35, subject: Subject | None = None, **kw) -> dict[str, float]:
    """Platelet peak day, fold over baseline, value at each day and Cmax of a single dose."""
    r = simulate(drug, dose, route=route, days=days, subject=subject, samples_per_day=24, **kw)
    s = r.summary()
    s["series"] = r  # type: ignore[assignment]
    return s


def eltrombopag_max_increase_pct(dose_mg: float) -> float:
    """Jenkins 2007: healthy men, once daily for 10 days; mean maximum % increase over baseline."""
    subj = Subject(population="healthy", weight_kg=75.0)
    r = simulate("eltrombopag", f"{dose_mg} mg", every="1 day", count=10, days=30, subject=subj, samples_per_day=4)
    plt = r.outputs["platelets"]
    return float((plt.max() / plt[0] - 1) * 100)


def oral_single_dose_pk(drug: str, dose_mg: float, *, subject: Subject | None = None, food: Food | None = None, days: float = 10,
                        parameters: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    r = simulate(drug, f"{dose_mg} mg", days=days, subject=subject, food=food, samples_per_day=96, parameters=parameters)
    return np.asarray(r.time), np.asarray(r.outputs["drug_concentration"])


def food_auc_ratio(drug: str, dose_mg: float, kind: str, parameters: dict[str, float] | None = None) -> float:
    """AUC (0-10 days) of a single oral dose taken with ``kind`` (meal or cation product) over the
    AUC of the same dose alone, as food-effect studies report it."""
    t, c = oral_single_dose_pk(drug, dose_mg)
    tf, cf = oral_single_dose_pk(drug, dose_mg, food=Food(kind=kind), parameters=parameters)
    return auc(tf, cf) / auc(t, c)
