"""How close ``moasim trial`` runs to its compiled kernel: trial wall time / time inside the kernel.

For the embedded default trial and each ITP example in ``examples/``, runs the trial on the
batched engine in one process (``workers=1``) and measures, in the same run, the wall time
of the whole trial (sampling, model building, dosing rules, shard files, aggregation) and
the time spent inside the compiled RODAS4 kernel (``BatchedEngine``'s integrate calls). The
ratio is the trial's overhead over the kernel; the performance issue asks for <= 1.5.
Every trial's kernels are compiled (or loaded from the disk cache) by a 4-subject run before
the timed runs, as the other benchmarks leave compilation and warm-up untimed. Bone trials
run on libroadrunner (the batched engine is refused for them) and are listed as such.

Usage::

    python benchmarks/trial_overhead.py                  # each spec's own n, seed 1
    python benchmarks/trial_overhead.py --n 500 --engine gpu   # the GPU engine instead
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"


def _timed_integrator(cls, clock: list[float]):
    """Wrap ``cls._integrator`` so that every kernel call adds its wall time to ``clock[0]``."""
    original = cls._integrator

    @contextmanager
    def integrator(self, model, n):
        with original(self, model, n) as integrate:
            def timed(*args):
                t0 = time.perf_counter()
                integrate(*args)
                clock[0] += time.perf_counter() - t0

            yield timed

    cls._integrator = integrator
    return original


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, help="subjects per arm (default: each spec's own n)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--engine", default="batched", choices=("batched", "gpu"))
    ap.add_argument("--json", help="also write the rows to this file")
    a = ap.parse_args(argv)

    from importlib import resources

    from moasim.engine._batched import BatchedEngine
    from moasim.trials import load_trial_spec, run_trial

    default = str(resources.files("moasim.trials").joinpath("default_trial.yaml"))
    specs = [("default (moasim trial)", load_trial_spec(default))]
    specs += [(p.name, load_trial_spec(str(p))) for p in sorted(EXAMPLES.glob("*.yaml"))]
    clock = [0.0]
    _timed_integrator(BatchedEngine, clock)
    for _, spec in specs:  # compile, or load from the disk cache, every trial's kernels: not timed (as in batched_workload.py)
        if getattr(spec.population, "kind", "itp") == "itp":
            run_trial(spec.with_run_options(n=4, seed=a.seed), engine=a.engine, workers=1, progress=False)
    rows = []
    for name, spec in specs:
        spec = spec.with_run_options(n=a.n, seed=a.seed)
        subjects = spec.n * spec.replicates * len(spec.arms)
        if getattr(spec.population, "kind", "itp") != "itp":
            rows.append(dict(trial=name, subjects=subjects, note="bone trial: libroadrunner, one subject at a time"))
            continue
        clock[0] = 0.0
        t0 = time.perf_counter()
        run_trial(spec, engine=a.engine, workers=1, progress=False)
        wall = time.perf_counter() - t0
        rows.append(dict(trial=name, subjects=subjects, wall_s=wall, kernel_s=clock[0], ms_per_subject=1e3 * wall / subjects,
                         kernel_ms_per_subject=1e3 * clock[0] / subjects, ratio=wall / clock[0]))
    print(f"{'trial':34s} {'subjects':>8s} {'ms/subject':>10s} {'kernel ms':>9s} {'ratio':>6s}")
    for r in rows:
        if "ratio" in r:
            print(f"{r['trial']:34s} {r['subjects']:8d} {r['ms_per_subject']:10.2f} {r['kernel_ms_per_subject']:9.2f} {r['ratio']:6.2f}")
        else:
            print(f"{r['trial']:34s} {r['subjects']:8d} {r['note']}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
