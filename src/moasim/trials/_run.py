"""Running a virtual trial: shards of subjects, in parallel (processes or Dask), each
written to Parquet so that an interrupted trial resumes without redoing finished shards.

Work unit: a shard = (arm, replicate, first subject, count). Subject i of arm a in
replicate r draws from ``SeedSequence(seed, spawn_key=(r, a, i))``, so results do not
depend on shard size, worker count or scheduler. Aggregation streams over the shard
files, so memory stays flat as N grows.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from ..dosing import Regimen, TitrationController
from ..dosing._regimen import regimen_events
from ..engine import Event, SetParameter, get_engine, run_schedule
from ..engine._codegen import python_outputs
from .._files import check_writable
from ..errors import SolverError, SpecError, invalid_value
from ..library.build import build_model
from ..library.drugs import get_drug
from ..population import fluctuation_path, sample_subjects
from ._endpoints import evaluate_endpoint, subject_values
from ._shards import BAND_SUBJECTS, arm_files, existing_shards as _existing_shards, shard_name
from ._spec import ArmSpec, TrialSpec

__all__ = ["run_trial", "TrialResult", "simulate_shard"]

_SUBJECT_COLUMNS = ("arm", "replicate", "subject", "weight_kg", "east_asian", "female", "splenectomy", "corticosteroids",
                    "non_responder", "baseline", "total_dose", "final_dose", "rescued", "visits", "daily")

#: Rescue therapy (IVIG-like): blocks Fc-receptor-mediated platelet clearance, modelled as
#: the ITP destruction rate x RESCUE_FACTOR for RESCUE_DAYS (assumption, A: no rescue
#: kinetics in our sources; IVIG responses typically last 2-4 weeks).
RESCUE_FACTOR = 0.2
RESCUE_DAYS = 14.0


def _versions() -> dict[str, str]:
    import roadrunner
    import scipy

    from .._version import __version__

    return {"moasim": __version__, "libroadrunner": roadrunner.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "python": platform.python_version()}


def _spec_key(spec: TrialSpec) -> str:
    return hashlib.sha1(repr(spec).encode()).hexdigest()[:16]


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


def _subject_plan(arm: ArmSpec, spec: TrialSpec, draw, typical=None):
    """The subject's model (at its steady state), dose events, controllers and visit noise."""
    drugs = (arm.drug,) if arm.drug else ()
    model = _feasible_model(drugs, draw, typical)
    visit_t = np.array(spec.visit_times)
    # measured count = true count x exp(sd*eps) (assay error): one factor per visit, shared by
    # titration and endpoints; the disease itself drifts through the FLUCT events below
    sd = spec.population.residual_sd
    noise = np.exp(sd * np.random.default_rng(draw.noise_seed).standard_normal(len(visit_t))) if sd > 0 else np.ones(len(visit_t))
    noise[0] = draw.screening_factor  # the baseline visit is the screening count used for inclusion
    events, controllers = [], []
    if arm.rescue_below is not None and "KDES" in model.parameter_values:
        controllers.append(RescueController(below=arm.rescue_below, kdes=model.parameter_values["KDES"],
                                            decision_times=tuple(t for t in visit_t.tolist() if t > 0),
                                            noise=dict(zip(visit_t.tolist(), noise.tolist()))))
    if arm.drug:
        d = get_drug(arm.drug)
        if arm.titration is not None:
            stop = min(spec.duration_days, arm.for_days) if arm.for_days else spec.duration_days  # withdrawal
            controllers.append(TitrationController(rule=arm.titration, drug=d, route=arm.route, params=dict(model.parameter_values),
                                                   weight_kg=draw.subject.weight_kg, t_end=stop,
                                                   east_asian=draw.subject.east_asian, food=arm.food,
                                                   noise=dict(zip(visit_t.tolist(), noise.tolist())),
                                                   taper_from=arm.taper[0] if arm.taper else None,
                                                   taper_every=arm.taper[1] if arm.taper else 14.0))
        else:
            count = None
            if arm.for_days is not None:
                count = max(1, int(math.ceil(arm.for_days / arm.every_days - 1e-9))) if arm.every_days else 1
            reg = Regimen(drug=d.name, dose=arm.dose, unit=arm.unit, route=arm.route, every_days=arm.every_days, count=count)
            events = regimen_events(d, reg, spec.duration_days, model.parameter_values, draw.subject.weight_kg, arm.food)
    if "FLUCT" in model.parameter_values:  # within-patient disease activity (Ornstein-Uhlenbeck, moasim.population)
        events = list(events) + [Event(t, SetParameter("FLUCT", f), label="disease activity")
                                 for t, f in fluctuation_path(draw, spec.population, spec.duration_days)]
    return model, events, controllers, noise


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
        return [Event(t, SetParameter("KDES", self.kdes * RESCUE_FACTOR), label="rescue"),
                Event(t + RESCUE_DAYS, SetParameter("KDES", self.kdes), label="rescue end")]


def _subject_row(spec: TrialSpec, draw, plt: np.ndarray, noise: np.ndarray, ledger, arm: ArmSpec) -> dict[str, Any]:
    t_out = np.arange(0.0, spec.duration_days + 1e-9, 1.0)
    visit_t = np.array(spec.visit_times)
    vidx = np.searchsorted(t_out, visit_t - 1e-9)
    doses = [e.dose for e in ledger if e.dose]
    s = draw.subject
    visits = (plt[vidx] * noise).astype(float)
    for e in ledger:  # a count within the exclusion window after rescue is not evaluable for response
        if e.label == "rescue":
            visits[(visit_t > e.time) & (visit_t <= e.time + arm.rescue_excludes_days + 1e-9)] = np.nan
    return {
        "weight_kg": s.weight_kg, "east_asian": s.east_asian, "female": s.female, "splenectomy": s.splenectomy,
        "corticosteroids": s.corticosteroids, "non_responder": draw.non_responder, "baseline": float(plt[0] * noise[0]),
        "total_dose": float(sum(x[1] for x in doses)), "final_dose": float(doses[-1][1]) if doses else 0.0,
        "rescued": any(e.label == "rescue" for e in ledger),
        "visits": visits.tolist(), "daily": plt.astype(np.float32).tolist(),
    }


def _platelets(model, t_out, states) -> np.ndarray:
    p = model.parameter_vector()
    return python_outputs(model, ("platelets",))(t_out, states, p)["platelets"]


def _shard_per_subject(arm, spec, draws, typical) -> list[dict]:
    """One subject at a time through :func:`run_schedule` (libroadrunner)."""
    engine = get_engine("roadrunner", rtol=1e-6, atol=1e-9)
    t_out = np.arange(0.0, spec.duration_days + 1e-9, 1.0)
    rows = []
    for draw in draws:
        model, events, controllers, noise = _subject_plan(arm, spec, draw, typical)
        res = run_schedule(engine, model, t_out, events, controllers)
        rows.append(_subject_row(spec, draw, _platelets(model, t_out, res.states), noise, res.ledger, arm))
    return rows


def _shard_batched(arm, spec, draws, typical) -> list[dict]:
    """All subjects of the shard at once through the batched RODAS4 engine (same event semantics)."""
    from ..engine._batched import BatchedEngine, SubjectSchedules

    plans = [_subject_plan(arm, spec, d, typical) for d in draws]
    model = plans[0][0]
    t_out = np.arange(0.0, spec.duration_days + 1e-9, 1.0)
    params = np.array([m.parameter_vector() for m, *_ in plans])
    y0 = np.array([m.initial_vector() for m, *_ in plans])
    sched = SubjectSchedules(model, [p[1] for p in plans], [p[2] for p in plans], t_end=spec.duration_days)
    res = BatchedEngine(rtol=1e-6, atol=1e-9, threads=1).run(model, params, y0, t_out, schedule=sched)
    rows = []
    for i, (m, _, _, noise) in enumerate(plans):
        rows.append(_subject_row(spec, draws[i], _platelets(m, t_out, res.states[i]), noise, sched.ledgers[i], arm))
    return rows


ENGINES = ("batched", "roadrunner")
#: from this many simulated subjects on, ``engine="auto"`` uses the batched engine
AUTO_BATCHED_SUBJECTS = 2000


def simulate_shard(spec: TrialSpec, arm_index: int, replicate: int, start: int, count: int, path: str | None, typical=None,
                   engine: str = "batched") -> "Any":
    """Simulate one shard of subjects; write it to ``path`` (Parquet) if given. Returns the frame."""
    import pandas as pd

    if spec.is_bone:
        from ._bone import BONE_COLUMNS, simulate_bone_shard

        df = pd.DataFrame(simulate_bone_shard(spec, arm_index, replicate, start, count, typical), columns=list(BONE_COLUMNS))
    else:
        arm = spec.arms[arm_index]
        seed = np.random.SeedSequence(spec.seed, spawn_key=(replicate, arm_index))
        drugs = (arm.drug,) if arm.drug else ()
        draws = sample_subjects(spec.population, count, seed, drugs, start=start)
        rows = (_shard_batched if engine == "batched" else _shard_per_subject)(arm, spec, draws, typical)
        rows = [{"arm": arm.name, "replicate": replicate, "subject": d.index, **r} for d, r in zip(draws, rows)]
        df = pd.DataFrame(rows, columns=list(_SUBJECT_COLUMNS))
    if path:
        tmp = path + ".tmp"
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)  # a shard file exists only when complete
    return df


def _frozen(x):
    """Read-only view of nested results: mappings -> MappingProxyType, lists -> tuples."""
    if isinstance(x, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in x.items()})
    if isinstance(x, (list, tuple)):
        return tuple(_frozen(v) for v in x)
    return x


@dataclass(frozen=True, kw_only=True)
class TrialResult:
    """Endpoints per arm with 95% intervals, platelet percentile bands, provenance.

    Immutable: the nested results are read-only mappings and tuples. ``out_dir`` is the
    absolute ``--out`` directory holding the shards, or None when the trial ran in a
    temporary directory (removed afterwards).
    """

    spec: TrialSpec
    arms: Mapping[str, Mapping]
    bands: Mapping[str, Mapping[str, tuple[float, ...]]] = field(repr=False)
    response_curves: Mapping[str, tuple[float, ...]] = field(repr=False)
    out_dir: str | None
    seed: int
    versions: Mapping[str, str]
    shards_run: int
    shards_reused: int

    def __post_init__(self) -> None:
        for name in ("arms", "bands", "response_curves", "versions"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def to_json_dict(self) -> dict:
        """The ``trial --json`` contract plus provenance (non-finite numbers -> null)."""

        def clean(x):
            if isinstance(x, float):
                return x if math.isfinite(x) else None
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            if isinstance(x, Mapping):
                return {k: clean(v) for k, v in x.items()}
            return x

        return clean({"arms": self.arms, "trial": self.spec.name, "seed": self.seed, "n_per_arm": self.spec.n,
                      "replicates": self.spec.replicates, "versions": self.versions, "out_dir": self.out_dir})

    def to_frame(self):
        """Tidy endpoint table: arm, endpoint, estimate, ci_low, ci_high."""
        import pandas as pd

        rows = [{"arm": a, "endpoint": e, "estimate": v["estimate"], "ci_low": v["ci95"][0], "ci_high": v["ci95"][1]}
                for a, arm in self.arms.items() for e, v in arm["endpoints"].items()]
        return pd.DataFrame(rows)


def _plan(spec: TrialSpec, shard_size: int, shard_dir: str) -> tuple[list[tuple[int, int, int, int]], list[str]]:
    """Shards to run (arm, replicate, start, count) and shard files to reuse.

    Reused files must tile the subjects they cover without overlap; the gaps between them
    are split into new shards of at most ``shard_size`` subjects.
    """
    existing = _existing_shards(shard_dir)
    todo, reuse = [], []
    for a in range(len(spec.arms)):
        for r in range(spec.replicates):
            covered, end = [], 0
            for start, count, f in existing.get((a, r), []):
                if start < end or start + count > spec.n:
                    raise SpecError(invalid_value("--out", os.path.dirname(shard_dir), "a directory whose shard files do not overlap "
                                                  f"(arm {a}, replicate {r}: {f}); remove it or choose another --out"))
                covered.append((start, start + count))
                reuse.append(f)
                end = start + count
            gaps, pos = [], 0
            for lo, hi in covered + [(spec.n, spec.n)]:
                if lo > pos:
                    gaps.append((pos, lo))
                pos = max(pos, hi)
            for lo, hi in gaps:
                for start in range(lo, hi, shard_size):
                    todo.append((a, r, start, min(shard_size, hi - start)))
    return todo, reuse


def _run_key(spec: TrialSpec, typical, engine: str) -> str:
    return _spec_key(spec) + engine + ("" if not typical else hashlib.sha1(repr(sorted(typical.items())).encode()).hexdigest()[:8])


def _check_out_dir(out_dir: str) -> str:
    """An absolute, writable directory for a trial (created if missing), or one clear line."""
    out_dir = os.path.abspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise SpecError(invalid_value("--out", out_dir, "a directory (this is an existing file)"))
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise SpecError(invalid_value("--out", out_dir, f"a writable directory ({exc.strerror or exc})")) from None
    check_writable(out_dir, "--out", out_dir, "a writable directory")
    return out_dir


def _prepare_out(out_dir: str, spec: TrialSpec, typical=None, engine: str = "batched") -> str:
    """Create the shard directory and the manifest; refuse a directory holding another trial.

    A manifest beside no shard file (a run that failed before finishing any shard) does not
    bind the directory: it is replaced.
    """
    out_dir = _check_out_dir(out_dir)
    shard_dir = os.path.join(out_dir, "shards")
    manifest = os.path.join(out_dir, "manifest.json")
    key = _run_key(spec, typical, engine)
    has_shards = os.path.isdir(shard_dir) and bool(_existing_shards(shard_dir))
    if os.path.exists(manifest) and has_shards:
        try:
            with open(manifest) as fh:
                old = json.load(fh)
        except (OSError, ValueError):
            old = {}
        if old.get("spec_key") != key:
            raise SpecError(invalid_value("--out", out_dir, "an empty directory or one holding shards of this same trial (spec, n, seed, "
                                          "replicates, engine)"))
    elif has_shards:
        raise SpecError(invalid_value("--out", out_dir, "an empty directory or one holding shards of this same trial (its manifest.json is missing)"))
    else:
        tmp = manifest + ".tmp"
        with open(tmp, "w") as fh:
            json.dump({"spec_key": key, "trial": spec.name, "n": spec.n, "seed": spec.seed, "replicates": spec.replicates,
                       "engine": engine}, fh)
        os.replace(tmp, manifest)
    os.makedirs(shard_dir, exist_ok=True)
    return out_dir


def run_trial(spec: "TrialSpec | str | Mapping[str, Any]", *, out_dir: str | None = None, scheduler: str | None = None, workers: int | None = None,
              shard_size: int | None = None, progress: bool = True, typical: dict[str, float] | None = None,
              engine: str = "auto") -> TrialResult:
    """Run a virtual trial.

    Parameters
    ----------
    spec : TrialSpec, str or mapping
        The trial; a path to a YAML spec or a spec mapping is parsed first.
    out_dir : str, optional
        Directory for per-shard Parquet files and the manifest; re-running into the same
        directory reuses finished shards (resume). A temporary directory if None.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://HOST:PORT``); local processes if None.
    workers : int, optional
        Local worker processes (default: all cores).
    shard_size : int, optional
        Subjects per shard (default: about 4 shards per worker per arm, at most 500).
    typical : dict, optional
        Typical-value parameter overrides (canonical units), e.g. for calibration or
        sensitivity analysis; part of the resume key.
    engine : {"auto", "batched", "roadrunner"}
        ``batched``: all subjects of a shard at once (RODAS4 compiled from the model text
        with numba, :mod:`moasim.engine._batched`; the first use of a model structure pays
        a one-off compilation, cached on disk); ``roadrunner``: one subject at a time
        (CVODE). Same event semantics; part of the resume key. ``auto`` picks batched from
        2,000 simulated subjects up.
    """
    if isinstance(spec, (str, os.PathLike)):
        from ._spec import load_trial_spec

        spec = load_trial_spec(os.fspath(spec))
    elif isinstance(spec, Mapping):
        from ._spec import parse_trial_spec

        spec = parse_trial_spec(dict(spec))
    elif not isinstance(spec, TrialSpec):
        raise SpecError(invalid_value("spec", type(spec).__name__, "a TrialSpec, a path to a YAML spec or a spec mapping"))
    if engine not in ("auto", *ENGINES):
        raise SpecError(invalid_value("engine", engine, " | ".join(("auto", *ENGINES))))
    if spec.is_bone and engine == "batched":
        raise SpecError(invalid_value("engine", engine, "auto | roadrunner for a bone trial (its subjects take ~10 ms each with libroadrunner)"))
    if engine == "auto":
        big = spec.n * spec.replicates * len(spec.arms) >= AUTO_BATCHED_SUBJECTS
        engine = "batched" if big and not spec.is_bone else "roadrunner"
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SpecError(invalid_value("workers", workers, "an integer >= 1"))
    if shard_size is not None and (isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1):
        raise SpecError(invalid_value("shard_size", shard_size, "an integer >= 1"))
    client = _connect(scheduler) if scheduler else None
    keep = out_dir is not None
    created = keep and not os.path.exists(out_dir)
    out = _prepare_out(out_dir if keep else tempfile.mkdtemp(prefix="moasim-trial-"), spec, typical, engine)
    ok = False
    try:
        workers = workers or os.cpu_count() or 1
        shard_size = shard_size or max(1, min(500, math.ceil(spec.n / (4 * workers))))
        shard_dir = os.path.join(out, "shards")
        todo, reused = _plan(spec, shard_size, shard_dir)
        tasks = [(a, r, start, count, os.path.join(shard_dir, shard_name(a, r, start, count))) for a, r, start, count in todo]
        _execute(spec, tasks, client, workers, progress, typical, engine)
        _check_complete(spec, shard_dir)
        result = _aggregate(spec, out if keep else None, shard_dir, len(tasks), len(reused))
        ok = True
        return result
    finally:
        if client is not None:
            client.close()
        if not keep:
            shutil.rmtree(out, ignore_errors=True)  # no --out: nothing is left in the temp directory
        elif not ok and created and not _existing_shards(os.path.join(out, "shards")):
            shutil.rmtree(out, ignore_errors=True)  # failed before any shard: leave nothing behind


def _check_complete(spec: TrialSpec, shard_dir: str) -> None:
    """Every (arm, replicate) has exactly subjects 0..n-1 on disk before anything is aggregated
    (the resume plan finds nothing left to run and no overlap)."""
    missing, _ = _plan(spec, spec.n, shard_dir)
    if missing:  # pragma: no cover - an internal invariant
        a, r, start, count = missing[0]
        raise SolverError(f"Trial shards of arm {a}, replicate {r} miss subjects {start}..{start + count - 1}: "
                          f"re-run into an empty --out directory.")


def _connect(address: str):
    """A Dask client for ``tcp://HOST:PORT`` (or another Dask protocol), or one clear line
    within a few seconds if the address is malformed or nothing answers there."""
    from distributed import Client

    allowed = "a Dask scheduler address PROTOCOL://HOST:PORT, e.g. tcp://127.0.0.1:8786, with a scheduler running there"
    m = re.fullmatch(r"(tcp|tls|ucx|inproc|ws|wss)://([^\s:/]+|\[[0-9a-fA-F:]+\]):(\d{1,5})", address.strip())
    if not m or not 0 < int(m.group(3)) < 65536:
        raise SpecError(invalid_value("--scheduler", address, allowed))
    try:
        return Client(address, timeout=f"{SCHEDULER_TIMEOUT_S}s")
    except (OSError, TimeoutError) as exc:
        raise SpecError(invalid_value("--scheduler", address, f"{allowed} (no answer in {SCHEDULER_TIMEOUT_S} s: {type(exc).__name__})")) from None


#: Seconds to wait for a Dask scheduler to answer before refusing its address.
SCHEDULER_TIMEOUT_S = 5


def _shard_count(args) -> int:
    """Pool worker: run one shard, return its subject count (for the progress bar)."""
    simulate_shard(*args)
    return args[4]


def _execute(spec, tasks, client, workers, progress, typical=None, engine="batched") -> None:
    if not tasks:
        return
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(t[3] for t in tasks), desc=f"trial {spec.name}", unit="subject")
    if client is not None:
        from distributed import as_completed as dask_completed

        futures = [client.submit(simulate_shard, spec, a, r, s, c, p, typical, engine, pure=False) for a, r, s, c, p in tasks]
        counts = {f.key: t[3] for f, t in zip(futures, tasks)}
        for f in dask_completed(futures):
            f.result()
            if bar:
                bar.update(counts[f.key])
    elif workers == 1 or len(tasks) == 1:
        for a, r, s, c, p in tasks:
            simulate_shard(spec, a, r, s, c, p, typical, engine)
            if bar:
                bar.update(c)
    else:
        # multiprocessing.Pool: leaving the block (also on Ctrl-C) terminates the workers at
        # once; shards already written stay, so a re-run resumes.
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(processes=workers) as pool:
            args = [(spec, a, r, s, c, p, typical, engine) for a, r, s, c, p in tasks]
            for count in pool.imap_unordered(_shard_count, args):
                if bar:
                    bar.update(count)
    if bar:
        bar.close()


def _aggregate(spec: TrialSpec, out: str | None, shard_dir: str, run: int, reused: int) -> TrialResult:
    import pyarrow.parquet as pq

    # every subject exactly once, in subject order (file names sort by arm, replicate, start)
    files = [f for parts in _existing_shards(shard_dir).values() for _, _, f in parts]
    files.sort()
    if spec.is_bone:
        from ._bone import aggregate_bone

        arms, bands, curves = aggregate_bone(spec, shard_dir, files)
        return TrialResult(spec=spec, arms=arms, bands=bands, response_curves=curves, out_dir=out, seed=spec.seed,
                           versions=_versions(), shards_run=run, shards_reused=reused)
    visits = np.array(spec.visit_times)
    arms, bands, curves = {}, {}, {}
    first_ep = spec.endpoints[0]
    for a, arm in enumerate(spec.arms):
        per_rep: dict[int, list[np.ndarray]] = {}
        rescued: dict[int, list[np.ndarray]] = {}
        daily_parts = []
        for f in arm_files(files, a):
            t = pq.read_table(os.path.join(shard_dir, f), columns=["replicate", "rescued", "visits", "daily"])
            rep = t.column("replicate").to_numpy()
            v = np.array(t.column("visits").to_pylist(), dtype=float)
            resc = t.column("rescued").to_numpy(zero_copy_only=False).astype(bool)
            for r in np.unique(rep):
                per_rep.setdefault(int(r), []).append(v[rep == r])
                rescued.setdefault(int(r), []).append(resc[rep == r])
            if sum(len(d) for d in daily_parts) < BAND_SUBJECTS:  # bands from the first ~20,000 subjects: memory stays flat
                daily_parts.append(np.array(t.column("daily").to_pylist(), dtype=np.float32))
        counts = {r: np.concatenate(parts) for r, parts in per_rep.items()}
        eps = {}
        for ep in spec.endpoints:
            vals = [subject_values(ep, visits, counts[r], np.concatenate(rescued[r])) for r in sorted(counts)]
            eps[ep.name] = evaluate_endpoint(ep, vals, seed=spec.seed)
        arms[arm.name] = {"n": spec.n, "endpoints": eps}
        daily = np.concatenate(daily_parts)
        q = np.percentile(daily, [5, 25, 50, 75, 95], axis=0)
        bands[arm.name] = {"time_days": list(range(daily.shape[1])), **{f"p{k}": q[i].tolist() for i, k in enumerate((5, 25, 50, 75, 95))}}
        allv = np.concatenate(list(counts.values()))
        curves[arm.name] = (allv >= first_ep.threshold).mean(axis=0).tolist()
    return TrialResult(spec=spec, arms=arms, bands=bands, response_curves=curves, out_dir=out, seed=spec.seed,
                       versions=_versions(), shards_run=run, shards_reused=reused)
