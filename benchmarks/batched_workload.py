"""Reference speed workload: moasim's batched population engine vs plain libroadrunner, in one run.

The workload, population, peer and accuracy reference are those of
``reference_workload.py`` (``/work/shared/benchmark/REFERENCE_MODEL.md``: 9 states, 26
weekly doses titrated by the platelet count at each dose time, daily platelets t = 0..182):

- ``batched``    : :class:`moasim.engine._batched.BatchedEngine` on the model built by
                   ``reference_workload.MoasimStack`` (equations compiled from the model text):
                   every subject integrated by its own RODAS4 with an analytic Jacobian, the
                   subjects in ``--threads`` threads; titration as one vectorised ``decide``
                   call per dose time over all subjects;
- ``trial-path`` : the same engine as ``moasim trial`` drives it: the titration as a rule over
                   all subjects with per-subject administrations (an ``ArrayRule`` in
                   :class:`~moasim.engine._batched.SubjectSchedules`) instead of one bare
                   vectorised ``decide``; the overhead of the trial's event layer;
- ``roadrunner`` : the peer, plain libroadrunner with the titration as an SBML event, one
                   ``simulate()`` per subject, over ``--procs`` processes (``reference_workload``);
- ``numbalsoda`` : optional second peer (``--numbalsoda``): LSODA from numba with a hand-written
                   compiled RHS, weekly restarts and titration inside one ``njit(parallel=True)``
                   loop over subjects in ``--threads`` threads (``pip install numbalsoda`` builds it
                   from source and needs a Fortran compiler: ``apt-get install gfortran``).

Both run at rtol 1e-6 / atol 1e-9 (``--batched-rtol`` adds batched rows at other relative
tolerances, to compare at equal accuracy). Accuracy: max |PLT/PLT_ref - 1| against scipy
odeint at 1e-8 / 1e-12 on the first ``--ref-n`` subjects, and the number of subjects whose
26 titrated doses differ from the reference's. Compilation and warm-up are not timed
(the batched engine caches its compiled kernel on disk). Speed is reported as a ratio to
the peer measured in the same run.

Usage::

    python benchmarks/batched_workload.py                      # N = 1000 and 10000, 3 repeats, 2 threads / 2 processes
    python benchmarks/batched_workload.py --n 1000 --repeats 1 --batched-rtol 1e-6 3e-5
    python benchmarks/batched_workload.py --numbalsoda --batched-rtol 1e-6 3e-5   # + numbalsoda peer
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


class _TitrationRule:
    """The workload's titration rule as ``moasim trial`` runs a label rule: an engine ``ArrayRule``
    (:mod:`moasim.engine._schedules`) deciding for all subjects at once at each dose time, whose
    administrations (one per dose level) are each subject's event list, applied as array operations."""

    decision_times = rw.DOSE_TIMES[1:]

    def __init__(self, n: int) -> None:
        self.n, self.level = n, np.ones(n, dtype=np.int64)

    def decide(self, t, outputs):
        plt = outputs["platelets"]  # rw.titrate for every subject
        self.level = np.where(plt < 50.0, np.minimum(self.level + 1, 10), np.where(plt > 200.0, np.maximum(self.level - 1, 0), self.level))
        dose = np.where(plt > 400.0, 0, self.level)
        return np.where(dose > 0, dose, -1)

    def administration(self, k):
        from moasim.engine import Add, Event

        return [[Event(0.0, Add("Ad", rw.FIXED["F"] * 1000.0 * k))]] * self.n


class TrialPathStack(BatchedStack):
    """moasim's trial path on the reference workload: the batched engine driven by
    :class:`~moasim.engine._batched.SubjectSchedules` with the titration as a rule over all
    subjects (:class:`_TitrationRule`, what ``moasim trial`` does with a label rule), instead of
    one bare vectorised ``decide``: the cost of the trial's event layer."""

    def run(self, inds: list[dict[str, float]], arrays: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        from moasim.engine._batched import SubjectSchedules

        params, y0 = arrays if arrays is not None else self.inputs(inds)
        n = len(params)
        sched = SubjectSchedules(self.model, [()] * n, None, rw.T_OUT[-1], rules=[_TitrationRule(n)])
        res = self.engine.run(self.model, params, y0, rw.T_OUT, schedule=sched)
        self.last = res
        return res.state("PLT")


class NumbalsodaStack:
    """Peer: numbalsoda (LSODA called from numba) with a hand-written compiled RHS, the weekly restart and
    titration loop inside one ``njit(parallel=True)`` function over subjects (``--threads`` threads).
    Optional: ``pip install numbalsoda`` (builds from source; needs a Fortran compiler, e.g. apt-get install gfortran)."""

    def __init__(self, threads: int = 2) -> None:
        import numba as nb
        from numbalsoda import lsoda, lsoda_sig

        nb.set_num_threads(threads)

        @nb.cfunc(lsoda_sig)
        def rhs(t, u, du, p):
            ka, kel, Vc, Vmax, Km, Edmax, EC50d, TPOref = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]
            kTPOin, kTPOel, kTPOR, EC50s, wMK, Mref, kout, ktr, kprol = p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16]
            C = u[1] / Vc
            M = (u[8] + wMK * (u[4] + u[5] + u[6] + u[7])) / Mref
            X = u[2] / TPOref + Edmax * C / (EC50d + C)
            Sx = X / (EC50s + X)
            du[0] = -ka * u[0]
            du[1] = ka * u[0] - kel * u[1] - Vmax * Vc * M * C / (Km + C)
            du[2] = kTPOin - kTPOel * u[2] - kTPOR * M * u[2]
            du[3] = kprol * Sx * u[3] - ktr * u[3]
            du[4] = ktr * (u[3] - u[4])
            du[5] = ktr * (u[4] - u[5])
            du[6] = ktr * (u[5] - u[6])
            du[7] = ktr * (u[6] - u[7])
            du[8] = ktr * u[7] - kout * u[8]

        fp = rhs.address
        rtol, atol, ad = rw.RTOL, rw.ATOL, rw.FIXED["F"] * 1000.0

        @nb.njit(parallel=True)
        def run_all(P, Y0, out, ok):
            for i in nb.prange(P.shape[0]):
                u = Y0[i].copy()
                p = P[i].copy()
                level = 1
                for k in range(26):
                    teval = np.arange(7.0 * k, 7.0 * k + 8.0)
                    usol, success = lsoda(fp, u, teval, p, rtol, atol, 500000)
                    if not success:
                        ok[i] = False
                    for j in range(8):
                        out[i, 7 * k + j] = usol[j, 8]
                    u = usol[7].copy()
                    if k < 25:
                        plt = u[8]
                        if plt < 50.0:
                            level = min(level + 1, 10)
                        elif plt > 200.0:
                            level = max(level - 1, 0)
                        u[0] += ad * (0 if plt > 400.0 else level)

        self.run_all = run_all

    def run(self, inds: list[dict[str, float]]) -> np.ndarray:
        n = len(inds)
        P = np.empty((n, len(rw.RHS_PARAMS)))
        Y0 = np.empty((n, len(rw.STATES)))
        for i, ind in enumerate(inds):
            p, y = rw.derived(ind)
            P[i] = [p[k] for k in rw.RHS_PARAMS]
            Y0[i] = [y[s] for s in rw.STATES]
        out = np.empty((n, len(rw.T_OUT)))
        ok = np.ones(n, dtype=np.bool_)
        self.run_all(P, Y0, out, ok)
        if not ok.all():
            raise RuntimeError(f"numbalsoda failed for {int((~ok).sum())} subjects")
        return out


class DesolveStack:
    """R deSolve peer: lsoda with the compiled C right-hand side (desolve/refmodel.c), weekly
    restarts and the titration rule in R, subjects over ``procs`` forked R workers. The time
    is R's own (proc.time around the simulations; R start-up, compilation and I/O untimed).
    Needs R with deSolve: ``apt-get install r-base-core r-base-dev r-cran-desolve``."""

    name = "desolve"

    def __init__(self, procs: int = 2) -> None:
        import shutil
        import subprocess

        if not shutil.which("Rscript"):
            raise ImportError("Rscript not found (apt-get install r-base-core r-base-dev r-cran-desolve)")
        self.dir = HERE / "desolve"
        self.procs = procs
        so = self.dir / "refmodel.so"
        if not so.exists():
            subprocess.run(["R", "CMD", "SHLIB", "refmodel.c", "-o", "refmodel.so"], cwd=self.dir, check=True, capture_output=True)

    def timed_run(self, inds: list[dict[str, float]], repeats: int = 1) -> tuple[float, np.ndarray]:
        import subprocess
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            pf, yf, of = (os.path.join(tmp, f) for f in ("p.csv", "y.csv", "out.csv"))
            rows = [rw.derived(ind) for ind in inds]
            np.savetxt(pf, [[p[k] for k in rw.RHS_PARAMS] for p, _ in rows], delimiter=",", header=",".join(rw.RHS_PARAMS),
                       comments="", fmt="%.17g")
            np.savetxt(yf, [[y[k] for k in rw.STATES] for _, y in rows], delimiter=",", header=",".join(rw.STATES),
                       comments="", fmt="%.17g")
            r = subprocess.run(["Rscript", str(self.dir / "run.R"), pf, yf, of, str(self.procs), repr(rw.FIXED["F"]), str(repeats)],
                               check=True, capture_output=True, text=True)
            return float(r.stdout.strip().splitlines()[-1]), np.loadtxt(of, delimiter=",", ndmin=2)


def _timed(stack, inds):
    def timer():
        t0 = time.perf_counter()
        plt = stack.run(inds)  # input arrays built inside the timing, as the peers do
        return time.perf_counter() - t0, plt
    return timer


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
    ap.add_argument("--no-trial-path", action="store_true",
                    help="skip the trial-path row (the titration as a rule over all subjects, as moasim trial runs it)")
    ap.add_argument("--desolve", action="store_true",
                    help="also time R deSolve lsoda with a compiled C RHS (needs R + deSolve: apt-get install r-base-core r-base-dev r-cran-desolve)")
    ap.add_argument("--numbalsoda", action="store_true",
                    help="also time numbalsoda (second peer; pip install numbalsoda, needs gfortran to build)")
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
        # (row label, timer -> (seconds, N x 183 platelets)); setup and compilation happen here, untimed
        timers: list[tuple[dict, object]] = []
        if not a.no_peer:
            timers.append((dict(stack="roadrunner", workers=f"{a.procs} proc", rtol=rw.RTOL),
                           lambda: rw.run_stack("roadrunner", inds, 1, a.procs)))
        if a.numbalsoda:
            try:
                nbl = NumbalsodaStack(a.threads)
                nbl.run(inds[:4])
                timers.append((dict(stack="numbalsoda", workers=f"{a.threads} thr", rtol=rw.RTOL), _timed(nbl, inds)))
            except ImportError as exc:
                print(f"  skipped numbalsoda: {exc}", flush=True)
        if a.desolve:
            try:
                ds = DesolveStack(a.procs)
                timers.append((dict(stack="desolve", workers=f"{a.procs} proc", rtol=rw.RTOL), lambda ds=ds, inds=inds: ds.timed_run(inds)))
            except ImportError as exc:
                print(f"  skipped deSolve: {exc}", flush=True)
        batched = {}
        for rtol in a.batched_rtol:
            st = BatchedStack(rtol, rw.ATOL, a.threads)
            st.run(inds[:4])
            batched[rtol] = st
            timers.append((dict(stack="batched", workers=f"{a.threads} thr", rtol=rtol), _timed(st, inds)))
        if not a.no_trial_path:
            tp = TrialPathStack(rw.RTOL, rw.ATOL, a.threads)
            tp.run(inds[:4])
            timers.append((dict(stack="trial-path", workers=f"{a.threads} thr", rtol=rw.RTOL), _timed(tp, inds)))
        best = [math.inf] * len(timers)
        plts: list = [None] * len(timers)
        for rep in range(a.repeats):  # round robin, so that load drift on a shared machine hits every stack alike
            for k, (label, timer) in enumerate(timers):
                secs, plts[k] = timer()
                best[k] = min(best[k], secs)
                print(f"  N={n:<6d} round {rep + 1}: {label['stack']:10s} rtol {label['rtol']:g} {secs:8.2f} s", flush=True)
        peer_plt = next((plts[k] for k, (lab, _) in enumerate(timers) if lab["stack"] == "roadrunner"), None)
        for k, (label, _) in enumerate(timers):
            plt, secs = plts[k], best[k]
            err, mism = rw.agreement(plt, ref)
            row = dict(**label, N=n, time_s=secs, ms_per_subject=1e3 * secs / n, max_rel_err_vs_ref=err,
                       dose_mismatches=mism, compared=min(n, a.ref_n))
            if label["stack"] == "batched":
                r = batched[label["rtol"]].last
                row.update(mean_steps=float(r.steps.mean()), mean_rejected=float(r.rejected.mean()),
                           mean_rhs_evaluations=float(r.rhs_evaluations.mean()))
                if peer_plt is not None:
                    row["max_rel_diff_vs_roadrunner_allN"] = float(np.max(np.abs(plt / peer_plt - 1.0)))
                    row["dose_mismatches_vs_roadrunner_allN"] = int(np.sum(np.any(
                        rw.doses_from_plt(plt) != rw.doses_from_plt(peer_plt), axis=1)))
            rows.append(row)
    peer = {r["N"]: r["time_s"] for r in rows if r["stack"] == "roadrunner"}
    peer2 = {r["N"]: r["time_s"] for r in rows if r["stack"] == "numbalsoda"}
    peer3 = {r["N"]: r["time_s"] for r in rows if r["stack"] == "desolve"}
    for r in rows:
        r["ratio_vs_roadrunner"] = r["time_s"] / peer[r["N"]] if r["N"] in peer else None
        r["ratio_vs_numbalsoda"] = r["time_s"] / peer2[r["N"]] if r["N"] in peer2 else None
        r["ratio_vs_desolve"] = r["time_s"] / peer3[r["N"]] if r["N"] in peer3 else None

    print()
    print(f"atol {rw.ATOL:g}; min of {a.repeats} round-robin repeats; errors vs the scipy reference on the first min(N, {a.ref_n}) "
          f"subjects; load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    hdr = (f"{'stack':11s} {'workers':>8s} {'rtol':>7s} {'N':>6s} {'time_s':>8s} {'ms/subject':>10s} "
           f"{'max_rel_err_vs_ref':>18s} {'dose_mismatch':>13s} {'ratio_vs_rr':>11s} {'ratio_vs_nbl':>12s} {'ratio_vs_deSolve':>16s}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        ratio = f"{r['ratio_vs_roadrunner']:.3f}" if r["ratio_vs_roadrunner"] is not None else "-"
        ratio2 = f"{r['ratio_vs_numbalsoda']:.3f}" if r["ratio_vs_numbalsoda"] is not None else "-"
        ratio3 = f"{r['ratio_vs_desolve']:.3f}" if r["ratio_vs_desolve"] is not None else "-"
        print(f"{r['stack']:11s} {r['workers']:>8s} {r['rtol']:7.0e} {r['N']:6d} {r['time_s']:8.3f} {r['ms_per_subject']:10.3f} "
              f"{r['max_rel_err_vs_ref']:18.2e} {r['dose_mismatches']:>7d}/{r['compared']:<5d} {ratio:>11s} {ratio2:>12s} {ratio3:>16s}")
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
