"""One ITP patient as a Bayesian model: the population model's IIV as prior, its residual error
as likelihood, the patient's own record (event dataset) as data.

Individual parameters are theta_k = theta_typ,k x exp(omega_k z_k) with z ~ N(0, I) a priori
(the log-normal IIV of :mod:`moasim.population`). The drug-free baseline count is one of them
(log-normal around the chronic-ITP trial population's median, by splenectomy). Receptor-level
non-response (``DRUG_EFF``, the drug's published non-responder fraction) is a two-component
mixture handled by the caller. Observed platelet counts have a proportional (log-normal)
error ``residual_sd``; a count below the limit of quantification (BLQ 1, DV = the limit)
contributes P(count < limit) (Beal 2001, method M3).

The objective is -2 log posterior (up to a constant), NONMEM's scale:
sum_j ((log DV_j - log pred_j)/sd)^2 + sum_k z_k^2.

References
----------
- Beal SL 2001 J Pharmacokinet Pharmacodyn 28:481 (M3 for BLQ data).
- Sheiner LB, Beal SL 1982 / Jelliffe 1993: MAP Bayesian individualisation with population priors.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr

from ..dosing._dataset import record_end_time, record_events
from ..engine import get_engine
from ..engine._codegen import python_outputs
from ..errors import DataError, SpecError, invalid_value
from ..library.build import Subject, build_model
from ..library.drugs import get_drug
from ..population._sampling import (DEFAULT_IIV, NON_RESPONDER_EFFECT, PopulationSpec, RESIDUAL_SD, SPLENECTOMY_BASELINE,
                                    non_responder_fraction)

__all__ = ["Prior", "PatientProblem", "patient_priors", "INFEASIBLE", "SAMPLING_RTOL"]

#: relative tolerance of the simulations behind importance weights (SIR): objective within ~0.1 of rtol 1e-6's
SAMPLING_RTOL = 1e-4
#: objective of parameter sets the model cannot realise (a baseline the destruction rate cannot give)
INFEASIBLE = 1e10


@dataclass(frozen=True, slots=True)
class Prior:
    """Log-normal prior of one individual parameter: typical value x exp(omega z), z ~ N(0, 1)."""

    name: str
    typical: float
    omega: float
    unit: str
    source: str


def patient_priors(drug: str, subject: Subject) -> tuple[Prior, ...]:
    """Priors of the individual parameters of an ITP patient on ``drug`` (model units)."""
    model = build_model((drug,), subject)
    pv = model.parameter_values
    pop = PopulationSpec()
    median = pop.baseline_median * (SPLENECTOMY_BASELINE if subject.splenectomy else 1.0)
    out = [Prior("baseline_platelets", median, pop.baseline_omega, "1e9/L",
                 "chronic ITP trial population: true counts log-normal (moasim.population.PopulationSpec)")]
    for v in DEFAULT_IIV:
        if v.parameter in pv and (v.drug is None or v.drug == drug):
            out.append(Prior(v.parameter, pv[v.parameter], v.omega, model.parameters[v.parameter].model_unit, v.source))
    return tuple(out)


#: the largest plausible platelet count (10^9/L): extreme thrombocytosis stays below ~5,000
MAX_COUNT = 10_000.0


class PatientProblem:
    """Predictions and -2 log posterior of one patient's record (one ID of an event dataset)."""

    def __init__(self, record, drug: str, route: str, subject: Subject, *, residual_sd: float = RESIDUAL_SD,
                 non_responder: float | None = None, rtol: float = 1e-5):
        from ..engine._batched import BatchedEngine

        self.record, self.drug, self.route, self.subject = record, get_drug(drug), route, subject
        self.priors = patient_priors(self.drug.name, subject)
        self.sd = residual_sd
        self.engine = get_engine("roadrunner", rtol=rtol, atol=1e-10)  # steady-state doses of the record
        # every prediction: the batched RODAS4 engine (a Jacobian's n + 1 parameter sets in one run)
        self.batched = BatchedEngine(rtol=rtol, atol=1e-9, error_scale="peak")  # threads: all cores
        # importance weights (SIR) need the objective to ~0.1 (weights to ~5%), not 1e-6: 2x fewer steps
        self.batched_coarse = BatchedEngine(rtol=SAMPLING_RTOL, atol=1e-9, error_scale="peak")
        obs = [o for o in record.observations if o["dv"] is not None and not o["mdv"]]
        if not obs:
            raise DataError(invalid_value(f"ID {record.id}", "no observed DV", "at least one observation row (EVID 0, MDV 0) with DV"))
        if any(o["dv"] <= 0 and not o["blq"] for o in obs):
            bad = next(o for o in obs if o["dv"] <= 0 and not o["blq"])
            raise DataError(invalid_value(f"data row {bad['row']}, column DV", bad["dv"], "a platelet count > 0 (or BLQ 1 with DV the limit)"))
        if any(o["dv"] > MAX_COUNT for o in obs):  # a count per L or per uL, not per 1e9/L (1e12 was fitted)
            bad = next(o for o in obs if o["dv"] > MAX_COUNT)
            raise DataError(invalid_value(f"data row {bad['row']}, column DV", bad["dv"],
                                          f"a platelet count in 10^9/L, at most {MAX_COUNT:g} (e.g. 45, not 45e9 or 45000)"))
        self.t_obs = np.array([o["time_days"] for o in obs])
        self.t_sim = np.unique(np.concatenate([[0.0], self.t_obs]))  # simulated times of the objective
        self.obs_index = np.searchsorted(self.t_sim, self.t_obs)
        self.log_dv = np.log(np.array([o["dv"] for o in obs]))
        self.blq = np.array([bool(o["blq"]) for o in obs])
        self.p_nonresponder = non_responder_fraction(non_responder, (self.drug.name,))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.priors)

    def model(self, z: np.ndarray, non_responder: bool = False):
        """The patient's model at standardised parameters ``z`` (None if it cannot give the baseline)."""
        factors = {p.name: math.exp(p.omega * zk) for p, zk in zip(self.priors[1:], z[1:])}
        if non_responder:
            factors["DRUG_EFF"] = NON_RESPONDER_EFFECT
        b = self.priors[0].typical * math.exp(self.priors[0].omega * z[0])
        try:
            return build_model((self.drug.name,), dataclasses.replace(self.subject, baseline_platelets=b), factors=factors)
        except SpecError:
            return None

    def simulate(self, z: np.ndarray, non_responder: bool, t_out: np.ndarray, extra_events=None) -> np.ndarray | None:
        """Platelets at ``t_out`` (day) under the record's doses (and ``extra_events(model)``); None if infeasible."""
        return self.simulate_many(np.asarray(z, float)[None, :], np.array([non_responder]), t_out, extra_events)[0]

    def simulate_many(self, Z: np.ndarray, non_responder: np.ndarray, t_out: np.ndarray, extra_events=None, coarse: bool = False) -> list:
        """Platelets at ``t_out`` for each row of ``Z`` at once (batched RODAS4 engine); None where infeasible.

        ``extra_events(model) -> list of Event``, if given, adds events for each subject's model (a
        candidate regimen after the record). ``coarse``: at SAMPLING_RTOL instead of the problem's rtol."""
        from ..engine._batched import SubjectSchedules

        models = [self.model(z, bool(nr)) for z, nr in zip(Z, non_responder)]
        ok = [i for i, m in enumerate(models) if m is not None]
        out: list = [None] * len(models)
        if not ok:
            return out
        ms = [models[i] for i in ok]
        events = [record_events(self.drug, self.route, self.record, m, self.engine) + (list(extra_events(m)) if extra_events else [])
                  for m in ms]
        params = np.array([m.parameter_vector() for m in ms])
        y0 = np.array([m.initial_vector() for m in ms])
        t_out = np.asarray(t_out, float)
        sched = SubjectSchedules(ms[0], events, None, t_end=float(t_out[-1]))
        res = (self.batched_coarse if coarse else self.batched).run(ms[0], params, y0, t_out, schedule=sched)
        plt = python_outputs(ms[0], ("platelets",))
        for j, i in enumerate(ok):
            out[i] = plt(t_out, res.states[j], params[j])["platelets"]
        return out

    def residuals(self, Z: np.ndarray, non_responder: bool = False, coarse: bool = False) -> np.ndarray:
        """Weighted residuals of each row of ``Z``, whose sum of squares is the -2 log posterior:
        one column per observation ((log DV - log pred)/sd; for a BLQ row sqrt(-2 log P(count < limit)),
        Beal's M3) then the prior's z. A row the model cannot realise is NaN. ``coarse``: see :meth:`simulate_many`."""
        Z = np.atleast_2d(np.asarray(Z, float))
        preds = self.simulate_many(Z, np.full(len(Z), non_responder), self.t_sim, coarse=coarse)
        out = np.full((len(Z), len(self.log_dv) + Z.shape[1]), np.nan)
        for k, (z, pred) in enumerate(zip(Z, preds)):
            if pred is None or not np.all(np.isfinite(pred)) or np.any(pred <= 0):
                continue
            r = (self.log_dv - np.log(pred[self.obs_index])) / self.sd
            out[k] = np.concatenate([np.where(self.blq, np.sqrt(-2.0 * log_ndtr(r)), r), z])
        return out

    def objectives(self, Z: np.ndarray, non_responder: bool = False, coarse: bool = False) -> np.ndarray:
        """-2 log posterior (up to a constant) of each row of ``Z``: squared residuals plus the prior
        (:meth:`residuals`); INFEASIBLE + z'z where the model cannot realise the row."""
        Z = np.atleast_2d(np.asarray(Z, float))
        R = self.residuals(Z, non_responder, coarse)
        return np.where(np.isnan(R[:, 0]), INFEASIBLE + np.sum(Z * Z, axis=1), np.sum(R * R, axis=1))

    def objective(self, z: np.ndarray, non_responder: bool = False) -> float:
        """-2 log posterior of one parameter vector (see :meth:`objectives`)."""
        return float(self.objectives(np.asarray(z, float)[None, :], non_responder)[0])

    def horizon(self) -> float:
        return record_end_time(self.record)
