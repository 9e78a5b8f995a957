"""``simulate()``: one typical subject on a regimen, and its immutable result (:class:`SimulationResult`)."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Mapping

import numpy as np

from ._simulation_result import SimulationResult
from .dosing import Regimen, TitrationController, get_rule, parse_dose
from .dosing._regimen import regimen_events
from .engine import get_engine, run_schedule
from .engine._codegen import python_outputs
from .errors import DosingError, SpecError, invalid_value
from .layers import layer_for
from .library.build import Subject, build_model
from .library.drugs import Food, check_route, get_drug
from .limits import MAX_DAYS, check_days, check_interval, check_non_empty
from .units import convert, to_unit
from ._frozen import read_only


__all__ = ["simulate", "SimulationResult"]


#: outputs reported by ``simulate`` (besides drug concentration), with units
CORE_OUTPUTS = ("platelets", "tpo", "megakaryocytes", "receptor_activation", "cmpl_mass", "production", "platelet_release")


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
    population: str | None = None,
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
    layer = layer_for(drug, population)  # each model layer has its own model (moasim.layers)
    population = population or layer.populations[0]  # None: the layer's typical subject
    layer_simulate = layer.load("simulate")
    return layer_simulate(drug, dose, every=every, route=route, days=days, population=population, titration=titration, subject=subject,
                          food=food, count=count, samples_per_day=samples_per_day, engine=engine, rtol=rtol, atol=atol,
                          parameters=parameters)


def _simulate_thrombopoiesis(drug, dose, *, every, route, days, population, titration, subject, food, count, samples_per_day, engine,
                             rtol, atol, parameters) -> SimulationResult:
    """The thrombopoiesis layer of :func:`simulate` (same arguments, already checked there)."""
    subject = subject or Subject(population=population)
    drugs = (drug,) if drug else ()
    d = get_drug(drug) if drug else None
    model = build_model(drugs, subject, **(parameters or {}))
    t_out = _times(days, samples_per_day)
    events, controllers, regimen_text = [], [], "none"
    if d is not None:
        route = route or d.routes[0]
        check_route(d, route)
        every_days = check_interval(to_unit(every, "day", "every"), "every", every) if every is not None else None
        if titration:
            rule = get_rule(d.name, titration)
            if dose is not None:  # the prescribed start dose must be a level of the rule
                value, unit = parse_dose(dose)
                start = convert(value, unit, rule.unit, "dose")
                if not any(abs(start - lv) < 1e-9 for lv in rule.levels):
                    raise DosingError(invalid_value("dose (titration start)", dose, f"one of the rule's levels {list(rule.levels)} {rule.unit}"))
                rule = replace(rule, start=min(rule.levels, key=lambda lv: abs(lv - start)), start_east_asian=None)
            if every_days is not None:  # the dosing interval of the titrated doses, as a trial arm's `every:`
                rule = replace(rule, every_days=every_days)
            ctl = TitrationController(rule=rule, drug=d, route=route, params=dict(model.parameter_values), weight_kg=subject.weight_kg,
                                      t_end=days, east_asian=subject.east_asian, food=food)
            controllers.append(ctl)
            regimen_text = f"{rule.name} titration, {route}" + (f", doses every {rule.every_days:g} d" if every_days is not None else "")
        else:
            if dose is None:
                raise DosingError(invalid_value("dose", None, "an amount with unit, e.g. '1 ug/kg' (or use titration='label')"))
            value, unit = parse_dose(dose)
            reg = Regimen(drug=d.name, dose=value, unit=unit, route=route, every_days=every_days, count=count)
            events = regimen_events(d, reg, days, model.parameter_values, subject.weight_kg, food)
            regimen_text = str(reg)
    eng = get_engine(engine, rtol=rtol, atol=atol)
    res = run_schedule(eng, model, t_out, events, controllers)
    return schedule_result(model, d, t_out, res, subject=subject, drug=drug, regimen=regimen_text, engine=eng.name)


def schedule_result(model, d, t_out, res, *, subject: Subject, drug: str | None, regimen: str, engine: str) -> SimulationResult:
    """The :class:`SimulationResult` of a :func:`~moasim.engine.run_schedule` run of a thrombopoiesis model
    (core outputs and the drug's concentration, the dose ledger)."""
    names = [o for o in CORE_OUTPUTS if o in model.outputs]
    conc = d.concentration if d is not None else None
    if conc and conc not in names:
        names.append(conc)
    values = python_outputs(model, tuple(names))(t_out, res.states, model.parameter_vector())
    outputs = {k: read_only(v, float) for k, v in values.items()}
    units = {k: model.outputs[k].unit for k in outputs}
    if conc:
        outputs["drug_concentration"] = outputs[conc]
        units["drug_concentration"] = units[conc]
    doses = tuple((e.time, *e.dose) for e in res.ledger if e.dose)
    return SimulationResult(
        time=read_only(t_out, float), outputs=MappingProxyType(outputs), units=MappingProxyType(units), doses=doses, subject=subject,
        drug=drug, regimen=regimen, engine=engine, parameters=model.parameter_values, model=model,
    )


