"""Simulate the subjects of a NONMEM-style event dataset (``moasim simulate --data FILE``).

Each ID is the thrombopoiesis model of a subject with the dataset's covariates, dosed as its
rows say (:mod:`moasim.io.nonmem` reads and checks the file; :mod:`moasim.dosing._dataset`
turns the rows into engine events). The result holds one :class:`SimulationResult` per ID and
the observations with the model's prediction beside each DV.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from ._simulation_result import SimulationResult
from .dosing._dataset import record_end_time, record_events, route_state
from .engine import get_engine, run_schedule
from .errors import DataError, SpecError, invalid_value
from .io.nonmem import Dataset, read_dataset
from .layers import layer_for
from .library.build import Subject, build_model
from .library.drugs import Food, check_route, get_drug
from .limits import check_days
from .simulation import schedule_result

__all__ = ["simulate_dataset", "read_drug_dataset", "subject_for", "DatasetResult", "DV_OUTPUTS"]

#: model outputs a DV column can be compared with
DV_OUTPUTS = ("platelets", "drug_concentration", "tpo")


@dataclass(frozen=True, kw_only=True)
class DatasetResult:
    """Simulated subjects of an event dataset.

    Attributes
    ----------
    subjects : mapping
        ID -> :class:`SimulationResult` (outputs on a grid plus every record time).
    observations : mapping
        ID -> tuple of dicts ``{row, time_days, dv, mdv, blq, pred}``: each EVID 0 row with the
        model's value of ``dv_output`` at that time (pre-dose at a dose time, as NONMEM).
    dv_output : str
        The model output DV is compared with.
    dataset : Dataset
        The checked records.
    """

    subjects: Mapping[Any, SimulationResult]
    observations: Mapping[Any, tuple[dict, ...]]
    dv_output: str
    dataset: Dataset

    def to_json_dict(self) -> dict:
        """``simulate --json`` contract of the first ID, its ``id`` and ``observations``, and
        ``subjects``: ID -> the same for every ID."""
        per = {}
        for sid, res in self.subjects.items():
            d = res.to_json_dict()
            d["summary"] = res.summary()
            d["id"] = sid
            d["observations"] = [dict(o) for o in self.observations[sid]]
            d["dv_output"] = self.dv_output
            per[str(sid)] = d
        first = dict(next(iter(per.values())))
        first["subjects"] = per
        first["dataset"] = {"source": self.dataset.source, "time_unit": self.dataset.time_unit,
                            "amount_unit": self.dataset.amount_unit, "ids": len(per)}
        return first

    def plot(self, path: str | None = None):
        """Each ID's predicted ``dv_output`` over time with its DV points (matplotlib figure)."""
        from .report.plots import plot_dataset

        return plot_dataset(self, path)


def subject_for(population: str, cov: dict, sid) -> Subject:
    """The Subject of one ID: the population with its covariate columns (one-line DataError if invalid)."""
    if "baseline_platelets" in cov and population == "healthy":
        raise DataError(invalid_value(f"ID {sid}, column PLT0", cov["baseline_platelets"], "no PLT0 for the healthy population (itp or aplastic)"))
    try:
        return Subject(population=population, **cov)
    except SpecError as e:
        raise DataError(f"ID {sid}: {e}") from None


def read_drug_dataset(data, drug: str, *, route: str | None, population: str, time_unit: str, amount_unit: str,
                      field: str = "--data") -> tuple[Any, str, Dataset]:
    """(drug entry, route, checked dataset): a thrombopoiesis drug, the route (default the drug's
    first), and the rows read against the dosable states of the drug's model."""
    if layer_for(drug, population).name != "thrombopoiesis":
        raise SpecError(invalid_value("drug", drug, "a thrombopoiesis drug for --data (event datasets are not yet read for the bone layer)"))
    d = get_drug(drug)
    route = route or d.routes[0]
    check_route(d, route)
    dosable = build_model((d.name,), Subject(population=population)).dosable
    ds = read_dataset(data, dosable=dosable, route_state=route_state(d, route), time_unit=time_unit, amount_unit=amount_unit, field=field)
    return d, route, ds


def simulate_dataset(data, drug: str, *, route: str | None = None, population: str = "healthy", time_unit: str = "h",
                     amount_unit: str = "mg", days: float | None = None, samples_per_day: int = 4, dv_output: str = "platelets",
                     food: Food | None = None, engine: str = "roadrunner", rtol: float = 1e-8, atol: float = 1e-10,
                     parameters: Mapping[str, float] | None = None) -> DatasetResult:
    """Simulate every ID of a NONMEM-style dataset.

    Parameters
    ----------
    data : str or pandas.DataFrame
        CSV file or frame (columns in :mod:`moasim.io.nonmem`).
    drug : str
        The dosed drug (``moasim drugs``; thrombopoiesis layer).
    route : str, optional
        Route of doses without CMT; default the drug's first.
    population : {"healthy", "itp", "aplastic"}
    time_unit, amount_unit : str
        Units of TIME/II and AMT (RATE: AMT per TIME unit). Default hours and mg.
    days : float, optional
        Simulated span (day); default the last time the record speaks about.
    samples_per_day : int
        Output grid (plus every record time).
    dv_output : {"platelets", "drug_concentration", "tpo"}
        Output the DV column is compared with.
    food, engine, rtol, atol, parameters
        As :func:`moasim.simulate`.

    Returns
    -------
    DatasetResult
    """
    if dv_output not in DV_OUTPUTS:
        raise SpecError(invalid_value("dv output", dv_output, " | ".join(DV_OUTPUTS)))
    d, route, ds = read_drug_dataset(data, drug, route=route, population=population, time_unit=time_unit, amount_unit=amount_unit)
    eng = get_engine(engine, rtol=rtol, atol=atol)
    results, observations = {}, {}
    for rec in ds.subjects:
        subject = subject_for(population, rec.covariates, rec.id)
        model = build_model((d.name,), subject, **(parameters or {}))
        t_end = max(record_end_time(rec), float(days) if days else 0.0)
        if t_end <= 0:
            t_end = 1.0
        check_days(t_end, "days")
        grid = np.linspace(0.0, t_end, int(round(t_end * samples_per_day)) + 1)
        t_out = np.unique(np.round(np.concatenate([grid, np.asarray(rec.times, float)]), 12))
        events = record_events(d, route, rec, model, eng, food=food, unit=amount_unit)
        res = run_schedule(eng, model, t_out, events)
        sim = schedule_result(model, d, t_out, res, subject=subject, drug=d.name, regimen=f"event dataset ({route})", engine=eng.name)
        results[rec.id] = sim
        pred = sim.outputs[dv_output] if dv_output in sim.outputs else np.full(len(t_out), np.nan)
        observations[rec.id] = tuple({**o, "pred": float(pred[int(np.searchsorted(t_out, round(o["time_days"], 12)))])}
                                     for o in rec.observations)
    return DatasetResult(subjects=MappingProxyType(results), observations=MappingProxyType(observations), dv_output=dv_output, dataset=ds)

