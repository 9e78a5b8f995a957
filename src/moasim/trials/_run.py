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
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from .._files import check_writable
from ..errors import SolverError, SpecError, invalid_value
from ._shards import aggregate, existing_shards as _existing_shards, shard_name
from ._spec import TrialSpec

__all__ = ["run_trial", "TrialResult", "simulate_shard"]


def _versions() -> dict[str, str]:
    """Versions of moasim and of the packages its results depend on (read from the installed
    distributions, without importing the engines)."""
    from importlib.metadata import PackageNotFoundError, version

    from .._version import __version__

    def installed(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:
            return "not installed"

    return {"moasim": __version__, "libroadrunner": installed("libroadrunner"), "numba": installed("numba"),
            "numpy": np.__version__, "scipy": installed("scipy"), "python": platform.python_version()}


def _spec_key(spec: TrialSpec) -> str:
    return hashlib.sha1(repr(spec).encode()).hexdigest()[:16]


ENGINES = ("batched", "gpu", "roadrunner")
#: subjects per shard on the GPU engine (one process drives the GPU; a shard is one kernel launch series)
GPU_SHARD_SUBJECTS = 50_000
#: from this many simulated subjects on, ``engine="auto"`` uses the batched engine
AUTO_BATCHED_SUBJECTS = 2000


def simulate_shard(spec: TrialSpec, arm_index: int, replicate: int, start: int, count: int, path: str | None, typical=None,
                   engine: str = "batched") -> "Any":
    """Simulate one shard of subjects (by the trial's model layer); write it to ``path`` (Parquet)
    if given. Returns the frame."""
    df = spec.layer.load("trial_shard")(spec, arm_index, replicate, start, count, typical, engine)
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


#: version of the shard columns: shards written by another layout are not resumed (ITP 2: doses, TPO, concentration)
SHARD_LAYOUT = "2"

#: the code a trial's numbers depend on (sub-packages of moasim): shards written by other code are not resumed
MODEL_CODE = ("library", "population", "trials", "engine", "dosing", "model")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the model, population, dosing, engine and trial code (.py and .yaml files).

    Part of the resume key: a changed equation, parameter value or sampling rule makes the
    shards of an interrupted run stale, and mixing them with new ones would be a silently
    wrong answer (the package version alone does not change between such edits)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha1()
    for sub in MODEL_CODE:
        for f in sorted(p for p in (root / sub).rglob("*") if p.suffix in (".py", ".yaml") and "__pycache__" not in p.parts):
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _run_key(spec: TrialSpec, typical, engine: str) -> str:
    return (_spec_key(spec) + engine + SHARD_LAYOUT + code_fingerprint()
            + ("" if not typical else hashlib.sha1(repr(sorted(typical.items())).encode()).hexdigest()[:8]))


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
                                          "replicates, engine) written by this same moasim model code"))
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
    engine : {"auto", "batched", "gpu", "roadrunner"}
        ``batched``: all subjects of a shard at once (RODAS4 compiled from the model text
        with numba, :mod:`moasim.engine._batched`; the first use of a model structure pays
        a one-off compilation, cached on disk); ``gpu``: the same kernel compiled for a
        CUDA GPU, one subject per GPU thread (:mod:`moasim.engine._gpu`; one local process,
        shards of up to 50,000 subjects); ``roadrunner``: one subject at a time (CVODE).
        Same event semantics; part of the resume key. ``auto`` picks batched from 2,000
        simulated subjects up.
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
    layer = spec.layer
    if layer.roadrunner_only and engine in ("batched", "gpu"):
        raise SpecError(invalid_value("engine", engine, f"auto | roadrunner for a {layer.name} trial ({layer.roadrunner_only})"))
    if engine == "gpu":
        from ..engine._gpu import require_gpu

        require_gpu()  # before anything is written
    if engine == "auto":
        big = spec.n * spec.replicates * len(spec.arms) >= AUTO_BATCHED_SUBJECTS
        engine = "batched" if big and not layer.roadrunner_only else "roadrunner"
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
        if engine == "gpu":  # one process drives the GPU, big shards keep it busy
            workers = 1
            shard_size = shard_size or min(spec.n, GPU_SHARD_SUBJECTS)
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

        if spec.layer.trial_prepare:  # kernels loaded once here, inherited by the forked workers
            spec.layer.load("trial_prepare")(spec, engine)
        with multiprocessing.get_context("fork").Pool(processes=workers) as pool:
            args = [(spec, a, r, s, c, p, typical, engine) for a, r, s, c, p in tasks]
            for count in pool.imap_unordered(_shard_count, args):
                if bar:
                    bar.update(count)
    if bar:
        bar.close()


def _aggregate(spec: TrialSpec, out: str | None, shard_dir: str, run: int, reused: int) -> TrialResult:
    # every subject exactly once, in subject order (file names sort by arm, replicate, start)
    files = [f for parts in _existing_shards(shard_dir).values() for _, _, f in parts]
    files.sort()
    layer = spec.layer
    arms, bands, curves = aggregate(spec, shard_dir, files, layer.load("trial_values"), layer.load("trial_courses"))
    return TrialResult(spec=spec, arms=arms, bands=bands, response_curves=curves, out_dir=out, seed=spec.seed,
                       versions=_versions(), shards_run=run, shards_reused=reused)
