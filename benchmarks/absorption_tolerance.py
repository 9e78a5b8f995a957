"""Steps, kernel time and accuracy of the trials' absorption-state tolerance, side by side.

For one arm of each ITP example trial (the same subjects, the same dosing and titration layer
as ``moasim trial``), the batched engine at rtol 1e-6 with ``error_scale="peak"`` (absorption
states relative to their peak) and with ``absorption_rtol=1e-4`` in addition (what the trials
run), against a tight solution of the same engine (rtol 1e-10, atol 1e-13, every state scaled
by its current value): steps per subject, kernel milliseconds per subject, and the largest
relative error of the daily platelet count and of the drug concentration (relative to its
maximum). Results: ``benchmarks/README.md``.

Run: python benchmarks/absorption_tolerance.py [--n 40]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import yaml

from moasim.engine import _batched as B
from moasim.library.drugs import get_drug
from moasim.population import sample_subjects
from moasim.trials import parse_trial_spec
from moasim.trials import _itp

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ARMS = (("avatrombopag_bussel2014.yaml", -1), ("eltrombopag_bussel2007.yaml", -1), ("hetrombopag_phase1.yaml", 0),
        ("romiplostim_24wk.yaml", 0))
SETTINGS = (("peak", dict(rtol=1e-6, atol=1e-9, error_scale="peak")),
            ("peak + absorption_rtol 1e-4", dict(rtol=1e-6, atol=1e-9, error_scale="peak", absorption_rtol=1e-4)))


def _run(spec, arm, draws, **engine_options):
    """Daily platelets and concentrations (subjects x days), kernel seconds, mean steps per subject."""
    plans = [_itp._subject_plan(arm, spec, d, None) for d in draws]
    model = plans[0][0]
    t_out = np.arange(0.0, spec.duration_days + 1e-9, 1.0)
    params = np.array([m.parameter_vector() for m, *_ in plans])
    y0 = np.array([m.initial_vector() for m, *_ in plans])
    sched = B.SubjectSchedules(model, [p[1] for p in plans], [p[2] for p in plans], t_end=spec.duration_days)
    engine = B.BatchedEngine(threads=1, **engine_options)
    engine.prepare(model)  # compilation is not timed
    t = time.perf_counter()
    res = engine.run(model, params, y0, t_out, schedule=sched)
    seconds = time.perf_counter() - t
    conc = get_drug(arm.drug).concentration
    out = _itp.python_outputs(model, ("platelets", conc))
    o = [out(t_out, res.states[i], m.parameter_vector()) for i, (m, *_) in enumerate(plans)]
    return np.array([x["platelets"] for x in o]), np.array([x[conc] for x in o]), seconds, float(res.steps.mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40, help="subjects per arm")
    a = ap.parse_args()
    print(f"{'arm':20s} {'setting':28s} {'steps/subject':>13s} {'kernel ms/subject':>17s} {'platelet err':>12s} {'conc err':>9s}")
    for name, arm_index in ARMS:
        spec = parse_trial_spec({**yaml.safe_load((EXAMPLES / name).read_text()), "n": a.n})
        arm = spec.arms[arm_index]
        seed = np.random.SeedSequence(spec.seed, spawn_key=(0, arm_index % len(spec.arms)))
        draws = sample_subjects(spec.population, a.n, seed, (arm.drug,), start=0)
        ref_plt, ref_conc, *_ = _run(spec, arm, draws, rtol=1e-10, atol=1e-13)
        for label, options in SETTINGS:
            plt, conc, seconds, steps = _run(spec, arm, draws, **options)
            err_plt = np.max(np.abs(plt / ref_plt - 1))
            err_conc = np.max(np.abs(conc - ref_conc)) / np.max(ref_conc)
            print(f"{arm.name:20s} {label:28s} {steps:13.0f} {1e3 * seconds / a.n:17.2f} {err_plt:12.1e} {err_conc:9.1e}", flush=True)


if __name__ == "__main__":
    main()
