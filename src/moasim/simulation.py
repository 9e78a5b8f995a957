"""``simulate()``: one typical subject on a regimen, and its immutable result."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

from .dosing import Regimen, TitrationController, get_rule, parse_dose
from .dosing._regimen import regimen_events
from .engine import get_engine, run_schedule
from .engine._codegen import python_outputs
from .errors import DosingError, SpecError, invalid_value
from .library.build import Subject, build_model
from .library.drugs import Food, check_route, get_drug
from .limits import MAX_DAYS, check_days, check_interval, check_non_empty
from .model import Model
from .units import to_unit

__all__ = ["simulate", "SimulationResult"]

#: drugs and populations handled by the bone layer (moasim.library.bone)
BONE_DRUGS = ("romosozumab", "alendronate", "denosumab", "teriparatide")
BONE_POPULATIONS = ("postmenopausal_osteoporosis",)

#: outputs reported by ``simulate`` (besides drug concentration), with units
CORE_OUTPUTS = ("platelets", "tpo", "megakaryocytes", "receptor_activation", "cmpl_mass", "production", "platelet_release")


@dataclass(frozen=True, kw_only=True)
class SimulationResult:
    """Result of :func:`simulate`: outputs over time, units, the dose ledger and provenance.

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

    def to_json_dict(self) -> dict:
        """The ``simulate --json`` contract: ``{"time_days", "outputs", "units", ...}``."""
        from . import __version__

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


def _times(days: float, per_day: int) -> np.ndarray:
    n = int(round(days * per_day))
    return np.linspace(0.0, days, n + 1)


def simulate(
    drug: str | None = None,
    dose: str | None = None,
    *,
    every: str | None = None,
    route: str | None = None,
    days: float = 28.0,
    population: str = "healthy",
    titration: str | None = None,
    subject: Subject | None = None,
    food: Food | None = None,
    count: int | None = None,
    samples_per_day: int = 4,
    engine: str = "roadrunner",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    parameters: Mapping[str, float] | None = None,
) -> SimulationResult:
    """Simulate one typical subject.

    Parameters
    ----------
    drug : str, optional
        Catalogue name (``moasim drugs``); None for the drug-free physiology.
    dose : str
        Amount per administration with unit: ``"10 ug/kg"``, ``"50 mg"`` (a bare number is
        refused: the unit is part of the dose).
    every : str, optional
        Dosing interval (``"1 week"``, ``"1 day"``); a single dose if absent.
    route : {"sc", "iv", "oral"}, optional
        Default: the drug's first route.
    days : float
        Simulated duration (day).
    population : {"healthy", "itp", "aplastic"}
        Typical subject of the population (ignored if ``subject`` is given).
    titration : {"label"}, optional
        Apply the drug's label titration rule at weekly visits; ``dose``, if given, is the
        start dose and must be one of the rule's levels (default: the label's start).
    food : Food, optional
        Meal relative to each oral dose (chelation / food effect).
    count : int, optional
        Number of doses (default: until the end).
    samples_per_day : int
        Output resolution.
    engine : {"roadrunner", "scipy"}
    rtol, atol : float
        Solver tolerances.
    parameters : mapping, optional
        Parameter overrides (canonical units).

    Returns
    -------
    SimulationResult
    """
    if isinstance(days, bool) or not isinstance(days, (int, float)):
        raise SpecError(invalid_value("days", days, f"a number of days in (0, {MAX_DAYS:g}]"))
    check_days(float(days), "days")
    check_non_empty(drug, "drug")
    check_non_empty(population, "population")
    if drug in BONE_DRUGS or population in BONE_POPULATIONS:
        from .library.bone import simulate_bone  # the bone layer has its own model (issue 6)

        return simulate_bone(drug, dose, every=every, route=route, days=days, population=population, subject=subject,
                             count=count, samples_per_day=samples_per_day, engine=engine, rtol=rtol, atol=atol, parameters=parameters)
    subject = subject or Subject(population=population)
    drugs = (drug,) if drug else ()
    d = get_drug(drug) if drug else None
    model = build_model(drugs, subject, **(parameters or {}))
    t_out = _times(days, samples_per_day)
    events, controllers, regimen_text = [], [], "none"
    if d is not None:
        route = route or d.routes[0]
        check_route(d, route)
        if titration:
            rule = get_rule(d.name, titration)
            if dose is not None:  # the prescribed start dose must be a level of the rule
                from dataclasses import replace as _replace

                from .units import convert

                value, unit = parse_dose(dose)
                start = convert(value, unit, rule.unit, "dose")
                if not any(abs(start - lv) < 1e-9 for lv in rule.levels):
                    raise DosingError(invalid_value("dose (titration start)", dose, f"one of the rule's levels {list(rule.levels)} {rule.unit}"))
                rule = _replace(rule, start=min(rule.levels, key=lambda lv: abs(lv - start)), start_east_asian=None)
            ctl = TitrationController(rule=rule, drug=d, route=route, params=dict(model.parameter_values), weight_kg=subject.weight_kg,
                                      t_end=days, east_asian=subject.east_asian, food=food)
            controllers.append(ctl)
            regimen_text = f"{rule.name} titration, {route}"
        else:
            if dose is None:
                raise DosingError(invalid_value("dose", None, "an amount with unit, e.g. '1 ug/kg' (or use titration='label')"))
            value, unit = parse_dose(dose)
            every_days = check_interval(to_unit(every, "day", "every"), "every", every) if every is not None else None
            reg = Regimen(drug=d.name, dose=value, unit=unit, route=route, every_days=every_days, count=count)
            events = regimen_events(d, reg, days, model.parameter_values, subject.weight_kg, food)
            regimen_text = str(reg)
    eng = get_engine(engine, rtol=rtol, atol=atol)
    res = run_schedule(eng, model, t_out, events, controllers)
    names = [o for o in CORE_OUTPUTS if o in model.outputs]
    conc = d.concentration if d is not None else None
    if conc and conc not in names:
        names.append(conc)
    values = python_outputs(model, tuple(names))(t_out, res.states, model.parameter_vector())
    outputs = {k: _ro(v) for k, v in values.items()}
    units = {k: model.outputs[k].unit for k in outputs}
    if conc:
        outputs["drug_concentration"] = outputs[conc]
        units["drug_concentration"] = units[conc]
    doses = tuple((e.time, *e.dose) for e in res.ledger if e.dose)
    return SimulationResult(
        time=_ro(t_out), outputs=MappingProxyType(outputs), units=MappingProxyType(units), doses=doses, subject=subject,
        drug=drug, regimen=regimen_text, engine=eng.name, parameters=model.parameter_values, model=model,
    )


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a
