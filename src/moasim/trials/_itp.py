"""ITP trials: patients with immune thrombocytopenia on a TPO-receptor agonist (fixed regimen or
titration rule) or placebo, with rescue therapy, platelet counts measured at visits.

Each subject is the thrombopoiesis model (:mod:`moasim.library.build`) with her own sampled
covariates and parameter factors (:mod:`moasim.population`). A shard runs one subject at a time
through libroadrunner or all at once through the batched engine; shards are written, resumed
and aggregated by the runner (:mod:`._run`, :mod:`._shards`), and this module supplies the
per-subject steps (:data:`moasim.layers.THROMBOPOIESIS`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..dosing import ArrayRegimen, ArrayTitration, Regimen, TitrationController
from ..dosing._regimen import regimen_events
from ..engine import Event, SetParameter, get_engine, run_schedule
from ..errors import SpecError
from ..library.build import Subject, build_model
from ..library.drugs import get_drug
from ..population import fluctuation_path, sample_subjects
from ._endpoints import subject_values
from ._itp_spec import ItpArmSpec
from ._spec import TrialSpec

__all__ = ["write_itp_datasets", "simulate_itp_shard", "itp_values", "itp_courses", "ITP_COLUMNS", "RescueController"]

ITP_COLUMNS = ("arm", "replicate", "subject", "weight_kg", "east_asian", "female", "splenectomy", "corticosteroids",
               "prior_therapies", "non_responder", "plt0", "baseline", "total_dose", "final_dose", "rescued", "visits", "daily",
               "visit_plt", "visit_tpo", "visit_conc", "dose_times", "dose_mg", "rescue_times")

#: Rescue therapy (IVIG-like): blocks Fc-receptor-mediated platelet clearance, modelled as
#: the ITP destruction rate x RESCUE_FACTOR for RESCUE_DAYS (assumption, A: no rescue
#: kinetics in our sources; IVIG responses typically last 2-4 weeks).
RESCUE_FACTOR = 0.2
RESCUE_DAYS = 14.0


def _feasible_model(drugs, draw, typical=None):
    """Build the subject's model; if its sampled destruction rate cannot give its sampled
    baseline count, lower the destruction rate (x0.7 steps) until it can."""
    factors = dict(draw.factors)
    for _ in range(40):
        try:
            return build_model(drugs, draw.subject, factors=factors, typical=typical)
        except SpecError:
            factors["KDES"] = factors.get("KDES", 1.0) * 0.7
    return build_model(drugs, draw.subject, factors={**factors, "KDES": 0.0}, typical=typical)


def _subject_plan(arm: ItpArmSpec, spec: TrialSpec, draw, typical=None, *, rules: bool = False):
    """The subject's model (at its steady state), dose events, controllers and visit noise; with
    ``rules``, without the arm's dosing and rescue (:func:`_array_rules` gives them for a shard)."""
    drugs = (arm.drug,) if arm.drug else ()
    model = _feasible_model(drugs, draw, typical)
    visit_t = np.array(spec.visit_times)
    # measured count = true count x exp(sd*eps) (assay error): one factor per visit, shared by
    # titration and endpoints; the disease itself drifts through the FLUCT events below
    sd = spec.population.residual_sd
    noise = np.exp(sd * np.random.default_rng(draw.noise_seed).standard_normal(len(visit_t))) if sd > 0 else np.ones(len(visit_t))
    noise[0] = draw.screening_factor  # the baseline visit is the screening count used for inclusion
    events, controllers = [], []
    if arm.rescue_below is not None and "KDES" in model.parameter_values and not rules:
        controllers.append(RescueController(below=arm.rescue_below, kdes=model.parameter_values["KDES"],
                                            decision_times=tuple(t for t in visit_t.tolist() if t > 0),
                                            noise=dict(zip(visit_t.tolist(), noise.tolist()))))
    if arm.drug and not rules:
        d = get_drug(arm.drug)
        if arm.titration is not None:
            controllers.append(TitrationController(rule=arm.titration, drug=d, route=arm.route, params=dict(model.parameter_values),
                                                   weight_kg=draw.subject.weight_kg, t_end=_titration_end(arm, spec),
                                                   east_asian=draw.subject.east_asian, food=arm.food,
                                                   noise=dict(zip(visit_t.tolist(), noise.tolist())),
                                                   taper_from=arm.taper[0] if arm.taper else None,
                                                   taper_every=arm.taper[1] if arm.taper else 14.0))
        else:
            events = regimen_events(d, _arm_regimen(arm), spec.duration_days, model.parameter_values, draw.subject.weight_kg, arm.food)
    if "FLUCT" in model.parameter_values:  # within-patient disease activity (Ornstein-Uhlenbeck, moasim.population)
        events = list(events) + [Event(t, SetParameter("FLUCT", f), label="disease activity")
                                 for t, f in fluctuation_path(draw, spec.population, spec.duration_days)]
    return model, events, controllers, noise


def _titration_end(arm: ItpArmSpec, spec: TrialSpec) -> float:
    """Last day of the arm's titration: its withdrawal (``for``) or the end of the trial."""
    return min(spec.duration_days, arm.for_days) if arm.for_days else spec.duration_days


def _arm_regimen(arm: ItpArmSpec) -> Regimen:
    """The fixed regimen of an arm without titration (``for``: as many doses as fit)."""
    count = None
    if arm.for_days is not None:
        count = max(1, int(math.ceil(arm.for_days / arm.every_days - 1e-9))) if arm.every_days else 1
    return Regimen(drug=arm.drug, dose=arm.dose, unit=arm.unit, route=arm.route, every_days=arm.every_days, count=count)


def _array_rules(arm: ItpArmSpec, spec: TrialSpec, draws, models, noise: np.ndarray) -> list:
    """The arm's rescue and dosing as rules over all subjects of a shard (:class:`ArrayRescue`,
    :class:`~moasim.dosing.ArrayTitration`, :class:`~moasim.dosing.ArrayRegimen`): what
    :func:`_subject_plan` gives each subject as controllers and events, decided with numpy
    (``noise``: (N, n_visits) measurement factors)."""
    params = [m.parameter_values for m in models]
    weight = np.array([d.subject.weight_kg for d in draws], dtype=float)
    rules: list = []
    if arm.rescue_below is not None and "KDES" in models[0].parameter_values:
        rules.append(ArrayRescue(below=arm.rescue_below, kdes=np.array([p["KDES"] for p in params]),
                                 decision_times=tuple(t for t in spec.visit_times if t > 0), noise=noise,
                                 visit_times=tuple(spec.visit_times)))
    if arm.drug:
        d = get_drug(arm.drug)
        if arm.titration is not None:
            rules.append(ArrayTitration(rule=arm.titration, drug=d, route=arm.route, params=params, weight_kg=weight,
                                        east_asian=np.array([x.subject.east_asian for x in draws], dtype=bool),
                                        t_end=_titration_end(arm, spec), food=arm.food, noise=noise, visit_times=spec.visit_times,
                                        taper_from=arm.taper[0] if arm.taper else None,
                                        taper_every=arm.taper[1] if arm.taper else 14.0))
        else:
            rules.append(ArrayRegimen(regimen=_arm_regimen(arm), drug=d, params=params, weight_kg=weight,
                                      t_end=spec.duration_days, food=arm.food))
    return rules


@dataclass(slots=True)
class RescueController:
    """Rescue therapy at a visit whose measured count is below ``below`` (engine Controller)."""

    below: float
    kdes: float
    decision_times: tuple[float, ...]
    noise: dict
    until: float = -1.0

    def decide(self, t: float, observe) -> list[Event]:
        if t < self.until or observe("platelets") * self.noise.get(t, 1.0) >= self.below:
            return []
        self.until = t + RESCUE_DAYS
        return _rescue_events(t, self.kdes)


def _rescue_events(t: float, kdes: float) -> list[Event]:
    """Rescue at ``t``: the destruction rate ``kdes`` x RESCUE_FACTOR for RESCUE_DAYS."""
    return [Event(t, SetParameter("KDES", kdes * RESCUE_FACTOR), label="rescue"),
            Event(t + RESCUE_DAYS, SetParameter("KDES", kdes), label="rescue end")]


@dataclass(slots=True)
class ArrayRescue:
    """:class:`RescueController` for all subjects of a shard at once (engine ``ArrayRule``).

    ``kdes``: (N,) destruction rates; ``noise``: (N, n_visits) measurement factors at
    ``visit_times``; ``until``: (N,) end of each subject's current rescue (day).
    """

    below: float
    kdes: np.ndarray
    decision_times: tuple[float, ...]
    noise: np.ndarray
    visit_times: tuple[float, ...]
    until: np.ndarray | None = None  # default: none yet (-1)

    def __post_init__(self) -> None:
        if self.until is None:
            self.until = np.full(len(self.kdes), -1.0)

    def decide(self, t: float, outputs) -> np.ndarray:
        j = self.visit_times.index(t) if t in self.visit_times else None
        measured = np.asarray(outputs["platelets"], dtype=float) * (self.noise[:, j] if j is not None else 1.0)
        give = ~(t < self.until) & ~(measured >= self.below)  # as the controller: a NaN count rescues
        self.until[give] = t + RESCUE_DAYS
        return np.where(give, 0, -1)

    def administration(self, k: int) -> list[list[Event]]:
        return [_rescue_events(0.0, float(kd)) for kd in self.kdes]


def _shard_rows(spec: TrialSpec, arm: ItpArmSpec, draws, model, params: np.ndarray, states: np.ndarray, noise: np.ndarray,
                ledgers) -> list[dict[str, Any]]:
    """The shard rows of its subjects from their simulated states (N, days, n_states: daily grid) and
    dose ledgers: measured counts at visits (NaN where rescue makes them non-evaluable), the true
    daily count, TPO and drug concentration at visits, and the administered doses (after
    titration, in mg) for datasets out."""
    from ..engine._batched import batched_outputs
    from ..io.nonmem import dose_in

    n, n_t, n_s = states.shape
    t_out = np.arange(0.0, spec.duration_days + 1e-9, 1.0)
    visit_t = np.array(spec.visit_times)
    vidx = np.searchsorted(t_out, visit_t - 1e-9)
    d = get_drug(arm.drug) if arm.drug else None
    names = ("platelets", "tpo") + ((d.concentration,) if d is not None and d.concentration else ())
    outputs = batched_outputs(model, names)  # params: (N, n_params), the subjects' initial values
    out = {k: np.empty((n, n_t)) for k in names}
    for a in range(0, n, 64):  # 64 subjects' days at a time: parameters repeated per day stay small
        b = min(a + 64, n)
        chunk = outputs(np.tile(t_out, b - a), states[a:b].reshape(-1, n_s), np.repeat(params[a:b], n_t, axis=0))
        for k in names:
            out[k][a:b] = chunk[k].reshape(b - a, n_t)
    rows = []
    for i, (draw, ledger) in enumerate(zip(draws, ledgers)):
        plt = out["platelets"][i]
        doses = [e for e in ledger if e.dose]
        s = draw.subject
        visits = plt[vidx] * noise[i]
        rescues = [float(e.time) for e in ledger if e.label == "rescue"]
        for t in rescues:  # a count within the exclusion window after rescue is not evaluable for response
            visits[(visit_t > t) & (visit_t <= t + arm.rescue_excludes_days + 1e-9)] = np.nan
        conc = out[names[2]][i][vidx] if len(names) > 2 else np.zeros(len(vidx))
        rows.append({
            "weight_kg": s.weight_kg, "east_asian": s.east_asian, "female": s.female, "splenectomy": s.splenectomy,
            "corticosteroids": s.corticosteroids, "prior_therapies": s.prior_therapies, "non_responder": draw.non_responder,
            "plt0": float(plt[0]), "baseline": float(plt[0] * noise[i][0]),
            "total_dose": float(sum(e.dose[1] for e in doses)), "final_dose": float(doses[-1].dose[1]) if doses else 0.0,
            "rescued": bool(rescues),
            "visits": visits.tolist(), "daily": plt.astype(np.float32).tolist(),
            "visit_plt": plt[vidx].tolist(), "visit_tpo": out["tpo"][i][vidx].tolist(), "visit_conc": conc.tolist(),
            "dose_times": [float(e.time) for e in doses], "dose_mg": [dose_in(e.dose[1], e.dose[2], s.weight_kg, "mg") for e in doses],
            "rescue_times": rescues,
        })
    return rows


def _shard_per_subject(arm, spec, draws, typical) -> list[dict]:
    """One subject at a time through :func:`run_schedule` (libroadrunner)."""
    engine = get_engine("roadrunner", rtol=1e-6, atol=1e-9)
    t_out = np.arange(0.0, spec.duration_days + 1e-9, 1.0)
    models, states, noise, ledgers = [], [], [], []
    for draw in draws:
        model, events, controllers, subject_noise = _subject_plan(arm, spec, draw, typical)
        res = run_schedule(engine, model, t_out, events, controllers)
        models.append(model)
        states.append(res.states)
        noise.append(subject_noise)
        ledgers.append(res.ledger)
    params = np.array([m.parameter_vector() for m in models])
    return _shard_rows(spec, arm, draws, models[0], params, np.array(states), np.array(noise), ledgers)


def _shard_batched(arm, spec, draws, typical, gpu: bool = False, array_rules: bool = True) -> list[dict]:
    """All subjects of the shard at once through the batched RODAS4 engine, on the CPU or a CUDA
    GPU (same event semantics); dosing and rescue as rules over the shard (``array_rules``) or,
    the reference, as each subject's own controllers and events."""
    from ..engine._batched import BatchedEngine, SubjectSchedules
    from ..engine._gpu import GpuEngine

    plans = [_subject_plan(arm, spec, d, typical, rules=array_rules) for d in draws]
    models = [p[0] for p in plans]
    t_out = np.arange(0.0, spec.duration_days + 1e-9, 1.0)
    params = np.array([m.parameter_vector() for m in models])
    y0 = np.array([m.initial_vector() for m in models])
    noise = np.array([p[3] for p in plans])
    rules = _array_rules(arm, spec, draws, models, noise) if array_rules else ()
    sched = SubjectSchedules(models[0], [p[1] for p in plans], [p[2] for p in plans], t_end=spec.duration_days, rules=rules)
    # dose compartments are error-controlled relative to their peak (3-4x fewer steps with daily oral
    # doses), to 1e-4 of it: half the steps again through a transit chain, the daily counts as accurate
    # (benchmarks/README.md)
    opts = dict(rtol=1e-6, atol=1e-9, error_scale="peak", absorption_rtol=1e-4)
    engine = GpuEngine(**opts) if gpu else BatchedEngine(threads=1, **opts)
    res = engine.run(models[0], params, y0, t_out, schedule=sched)
    return _shard_rows(spec, arm, draws, models[0], params, res.states, noise, sched.ledgers)


def prepare_itp_engine(spec: TrialSpec, engine: str = "batched") -> None:
    """Load the batched kernel of every arm's model structure into this process (generating its
    source with sympy and importing the compiled module take seconds), so that forked shard
    workers inherit it instead of each doing it again."""
    if engine != "batched":
        return
    import importlib

    from ..engine._batched import BatchedEngine

    importlib.import_module("moasim.io.nonmem")  # _subject_row's import: once here rather than in every worker

    for drugs in {(arm.drug,) if arm.drug else () for arm in spec.arms}:
        try:
            BatchedEngine().prepare(build_model(drugs, Subject(population="itp")))
        except SpecError:  # only a speed-up: the workers build their own subjects' models
            pass


def simulate_itp_shard(spec: TrialSpec, arm_index: int, replicate: int, start: int, count: int, typical=None,
                       engine: str = "batched") -> Any:
    """One shard of an ITP trial as a frame in :data:`ITP_COLUMNS` order (engine ``batched``, ``gpu`` or ``roadrunner``)."""
    import pandas as pd

    arm = spec.arms[arm_index]
    seed = np.random.SeedSequence(spec.seed, spawn_key=(replicate, arm_index))
    drugs = (arm.drug,) if arm.drug else ()
    draws = sample_subjects(spec.population, count, seed, drugs, start=start)
    if engine in ("batched", "gpu"):
        rows = _shard_batched(arm, spec, draws, typical, gpu=engine == "gpu")
    else:
        rows = _shard_per_subject(arm, spec, draws, typical)
    rows = [{"arm": arm.name, "replicate": replicate, "subject": d.index, **r} for d, r in zip(draws, rows)]
    return pd.DataFrame(rows, columns=list(ITP_COLUMNS))


def itp_values(spec: TrialSpec, table) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, np.ndarray]]:
    """Per endpoint, the subjects' (values, events) from their counts at visits; and the counts
    themselves, for the response curve."""
    visits = np.array(spec.visit_times)
    counts = np.array(table.column("visits").to_pylist(), dtype=float)
    rescued = table.column("rescued").to_numpy(zero_copy_only=False).astype(bool)
    return {ep.name: subject_values(ep, visits, counts, rescued) for ep in spec.endpoints}, {"visits": counts}


def itp_courses(spec: TrialSpec, head, inputs: dict[str, np.ndarray]) -> tuple[dict, list[float]]:
    """Percentile bands of the daily platelet count (subjects in ``head``) and the response
    curve: the fraction of subjects at or above the first endpoint's threshold at each visit."""
    daily = np.array(head.column("daily").to_pylist(), dtype=np.float32)
    q = np.percentile(daily, [5, 25, 50, 75, 95], axis=0)
    bands = {"time_days": list(range(daily.shape[1])), **{f"p{k}": q[i].tolist() for i, k in enumerate((5, 25, 50, 75, 95))}}
    return bands, (inputs["visits"] >= spec.endpoints[0].threshold).mean(axis=0).tolist()


def write_itp_datasets(spec: TrialSpec, out_dir: str, time_unit: str = "h") -> list[str]:
    """Write one NONMEM-style dataset per arm (``OUT/nonmem/armNNN.csv``, :func:`moasim.io.nonmem.trial_dataset_frame`)
    from the trial's shards in ``OUT/shards``; returns the paths. Each file is one drug's record set,
    re-readable by ``moasim simulate --drug DRUG --data FILE`` and by NONMEM-style readers (Pharmpy)."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..io.nonmem import trial_dataset_frame
    from ._shards import arm_files, existing_shards

    shard_dir = os.path.join(out_dir, "shards")
    files = sorted(f for parts in existing_shards(shard_dir).values() for _, _, f in parts)
    os.makedirs(os.path.join(out_dir, "nonmem"), exist_ok=True)
    paths = []
    for a, _arm in enumerate(spec.arms):
        # promote: a list column empty in every row of a shard (no rescue there) is read as list<null>
        table = pa.concat_tables([pq.read_table(os.path.join(shard_dir, f)) for f in arm_files(files, a)], promote_options="default")
        frame = trial_dataset_frame(table, spec.visit_times, time_unit=time_unit)
        path = os.path.join(out_dir, "nonmem", f"arm{a:03d}.csv")
        frame.to_csv(path + ".tmp", index=False)
        os.replace(path + ".tmp", path)  # a dataset file exists only when complete
        paths.append(path)
    return paths
