"""Reference speed workload: moasim's batched population engine vs plain libroadrunner, in one run.

The workload, population, peer and accuracy reference are those of
``reference_workload.py`` (``/work/shared/benchmark/REFERENCE_MODEL.md``: 9 states, 26
weekly doses titrated by the platelet count at each dose time, daily platelets t = 0..182):

- ``batched``    : :class:`moasim.engine._batched.BatchedEngine` on the model built by
                   ``reference_workload.MoasimStack`` (equations compiled from the model text):
                   every subject integrated by its own RODAS4 with an analytic Jacobian, the
                   subjects in ``--threads`` threads; titration as one vectorised ``decide``
                   call per dose time over all subjects;
- ``roadrunner`` : the peer, plain libroadrunner with the titration as an SBML event, one
                   ``simulate()`` per subject, over ``--procs`` processes (``reference_workload``).

Both run at rtol 1e-6 / atol 1e-9 (``--batched-rtol`` adds batched rows at other relative
tolerances, to compare at equal accuracy). Accuracy: max |PLT/PLT_ref - 1| against scipy
odeint at 1e-8 / 1e-12 on the first ``--ref-n`` subjects, and the number of subjects whose
26 titrated doses differ from the reference's. Compilation and warm-up are not timed
(the batched engine caches its compiled kernel on disk). Speed is reported as a ratio to
the peer measured in the same run.

Usage::

    python benchmarks/batched_workload.py                      # N = 1000 and 10000, 3 repeats, 2 threads / 2 processes
    python benchmarks/batched_workload.py --n 1000 --repeats 1 --batched-rtol 1e-6 3e-5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import reference_workload as rw  # noqa: E402


class BatchedStack:
    """moasim batched engine on the reference model; ``run(inds)`` -> N x 183 platelets."""

    def __init__(self, rtol: float = rw.RTOL, atol: float = rw.ATOL, threads: int = 2) -> None:
        from moasim.engine._batched import BatchedEngine

        self.model = rw.MoasimStack().model
        self.engine = BatchedEngine(rtol, atol, threads=threads)
        self.engine.prepare(self.model)
        self.dose_amount = rw.FIXED["F"] * 1000.0  # ng/kg per ug/kg
        self.last = None

    def inputs(self, inds: list[dict[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        pn, sn = self.model.parameter_names, self.model.state_names
        base = np.array([self.model.parameter_values[k] for k in pn])
        params = np.tile(base, (len(inds), 1))
        y0 = np.empty((len(inds), len(sn)))
        for i, ind in enumerate(inds):
            p, y = rw.derived(ind)
            for k, v in p.items():
                params[i, pn.index(k)] = v
            y0[i] = [y[s] for s in sn]
        return params, y0

    def run(self, inds: list[dict[str, float]], arrays: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        params, y0 = arrays if arrays is not None else self.inputs(inds)
        level = np.ones(len(inds))

        def decide(t, out):  # the titration rule of REFERENCE_MODEL.md, for all subjects at once
            nonlocal level
            plt = out["platelets"]
            level = np.where(plt < 50.0, np.minimum(level + 1, 10), np.where(plt > 200.0, np.maximum(level - 1, 0), level))
            return {"Ad": self.dose_amount * np.where(plt > 400.0, 0.0, level)}

        res = self.engine.run(self.model, params, y0, rw.T_OUT, rw.DOSE_TIMES[1:], decide)
        self.last = res
        return res.state("PLT")


def time_batched(inds, rtol: float, threads: int, repeats: int) -> tuple[float, np.ndarray, dict]:
    st = BatchedStack(rtol, rw.ATOL, threads)
    st.run(inds[:4])  # compile / load from cache, outside the timing
    best, plt = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        plt = st.run(inds)  # parameter/initial-state arrays built inside the timing (as the peer does)
        best = min(best, time.perf_counter() - t0)
    r = st.last
    return best, plt, dict(mean_steps=float(r.steps.mean()), mean_rejected=float(r.rejected.mean()),
                           mean_rhs_evaluations=float(r.rhs_evaluations.mean()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 10000], help="workload sizes (default 1000 10000)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats; the minimum is reported (default 3)")
    ap.add_argument("--threads", type=int, default=2, help="batched engine threads (default 2)")
    ap.add_argument("--procs", type=int, default=2, help="roadrunner peer processes (default 2)")
    ap.add_argument("--batched-rtol", type=float, nargs="+", default=[rw.RTOL],
                    help="relative tolerances for the batched rows (default 1e-6)")
    ap.add_argument("--ref-n", type=int, default=200, help="subjects in the scipy reference (default 200)")
    ap.add_argument("--no-peer", action="store_true", help="skip libroadrunner")
    a = ap.parse_args(argv)

    rw.OUT.mkdir(parents=True, exist_ok=True)
    pfile = rw.OUT / "params.csv"
    if not pfile.exists():
        rw.write_params(pfile)
    inds_all = rw.read_params(max(max(a.n), a.ref_n))
    ref, ref_secs = rw.reference(inds_all[: a.ref_n])
    print(f"reference: scipy odeint LSODA rtol {rw.REF_RTOL:g} atol {rw.REF_ATOL:g}, {a.ref_n} subjects "
          f"({ref_secs:.1f} s, cached in {rw.OUT.name}/)", flush=True)

    rows = []
    for n in sorted(a.n):
        inds = inds_all[:n]
        peer_plt = None
        if not a.no_peer:
            secs, peer_plt = rw.run_stack("roadrunner", inds, a.repeats, a.procs)
            err, mism = rw.agreement(peer_plt, ref)
            rows.append(dict(stack="roadrunner", workers=f"{a.procs} proc", rtol=rw.RTOL, N=n, time_s=secs,
                             ms_per_subject=1e3 * secs / n, max_rel_err_vs_ref=err, dose_mismatches=mism,
                             compared=min(n, a.ref_n)))
            print(f"  done roadrunner  N={n:<6d} {secs:8.2f} s", flush=True)
        for rtol in a.batched_rtol:
            secs, plt, stats = time_batched(inds, rtol, a.threads, a.repeats)
            err, mism = rw.agreement(plt, ref)
            row = dict(stack="batched", workers=f"{a.threads} thr", rtol=rtol, N=n, time_s=secs,
                       ms_per_subject=1e3 * secs / n, max_rel_err_vs_ref=err, dose_mismatches=mism,
                       compared=min(n, a.ref_n), **stats)
            if peer_plt is not None:
                row["max_rel_diff_vs_roadrunner_allN"] = float(np.max(np.abs(plt / peer_plt - 1.0)))
                row["dose_mismatches_vs_roadrunner_allN"] = int(np.sum(np.any(
                    rw.doses_from_plt(plt) != rw.doses_from_plt(peer_plt), axis=1)))
            rows.append(row)
            print(f"  done batched     N={n:<6d} rtol {rtol:g} {secs:8.2f} s", flush=True)
    peer = {r["N"]: r["time_s"] for r in rows if r["stack"] == "roadrunner"}
    for r in rows:
        r["ratio_vs_roadrunner"] = r["time_s"] / peer[r["N"]] if r["N"] in peer else None

    print()
    print(f"atol {rw.ATOL:g}; min of {a.repeats} repeats; errors vs the scipy reference on the first min(N, {a.ref_n}) "
          f"subjects; load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    hdr = (f"{'stack':11s} {'workers':>8s} {'rtol':>7s} {'N':>6s} {'time_s':>8s} {'ms/subject':>10s} "
           f"{'max_rel_err_vs_ref':>18s} {'dose_mismatch':>13s} {'ratio_vs_rr':>11s}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        ratio = f"{r['ratio_vs_roadrunner']:.3f}" if r["ratio_vs_roadrunner"] is not None else "-"
        print(f"{r['stack']:11s} {r['workers']:>8s} {r['rtol']:7.0e} {r['N']:6d} {r['time_s']:8.3f} {r['ms_per_subject']:10.3f} "
              f"{r['max_rel_err_vs_ref']:18.2e} {r['dose_mismatches']:>7d}/{r['compared']:<5d} {ratio:>11s}")
    for r in rows:
        if "mean_steps" in r:
            extra = (f", vs roadrunner on all N: max rel diff {r['max_rel_diff_vs_roadrunner_allN']:.2e}, "
                     f"dose mismatches {r['dose_mismatches_vs_roadrunner_allN']}") if "max_rel_diff_vs_roadrunner_allN" in r else ""
            print(f"batched rtol {r['rtol']:g} N={r['N']}: mean steps {r['mean_steps']:.0f} (rejected "
                  f"{r['mean_rejected']:.0f}), rhs evaluations {r['mean_rhs_evaluations']:.0f} per subject{extra}")

    import numba
    import roadrunner

    meta = dict(date_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), machine=platform.platform(),
                processor=platform.processor(), cpus=os.cpu_count(), affinity=len(os.sched_getaffinity(0)),
                loadavg_end=os.getloadavg(), python=sys.version.split()[0], numpy=np.__version__,
                numba=numba.__version__, roadrunner=roadrunner.__version__, atol=rw.ATOL, ref_n=a.ref_n,
                repeats=a.repeats, threads=a.threads, procs=a.procs)
    path = rw.OUT / "batched_results.json"
    path.write_text(json.dumps(dict(meta=meta, rows=rows), indent=2) + "\n")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
