"""Reference speed workload: moasim vs plain libroadrunner, side by side in one run.

Implements the model and workload of ``/work/shared/benchmark/REFERENCE_MODEL.md``
(9-state TPO-RA / thrombopoiesis model, log-normal IIV on 5 parameters, weekly
titration by the platelet count at dose times, daily platelets t = 0..182) in

- ``moasim``          : moasim's own engine layer (``compose`` + ``run_schedule`` with a
                        controller, libroadrunner engine), one subject at a time;
- ``roadrunner``      : the peer, plain libroadrunner on an Antimony copy of the model,
                        titration as one repeating SBML event (one ``simulate`` per subject);
- ``roadrunner-loop`` : plain libroadrunner restarted in Python at every dose time
                        (26 ``simulate`` calls per subject, the same scheme moasim uses);
- ``scipy-ref``       : scipy ``odeint`` (ODEPACK LSODA) at rtol 1e-8 / atol 1e-12 with the
                        same restart scheme, the accuracy reference (first ``--ref-n`` subjects).

Every timed stack runs at rtol 1e-6, atol 1e-9. Speed is reported only as a ratio
against the peer measured in the same run (absolute times drift between machines).

Usage::

    python benchmarks/reference_workload.py --n 100 1000 [--repeats 3]
        [--stacks moasim roadrunner roadrunner-loop] [--ref-n 100] [--procs 1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

RTOL, ATOL = 1e-6, 1e-9
REF_RTOL, REF_ATOL = 1e-8, 1e-12
SEED = 20240601
N_POP = 10_000
T_OUT = np.arange(0.0, 183.0)  # daily, t = 0..182
DOSE_TIMES = tuple(7.0 * k for k in range(26))  # 0, 7, ..., 175
STATES = ("Ad", "Ac", "TPO", "P", "T1", "T2", "T3", "T4", "PLT")

# Fixed parameters (REFERENCE_MODEL.md); kout = ITP variant.
FIXED = dict(F=0.5, ka=0.6, Vc=68.0, Km=0.13, Edmax=3.0, TPOref=100.0, kTPOin=300.0, kTPOel=1.0,
             kTPOR=2.0, EC50s=2.0, wMK=2.0, Mref=500.0, kout=0.4)
# Individual parameters: (typical, omega), column order of the random draws.
IIV = {"kel": (0.9, 0.3), "Vmax": (40.0, 0.3), "EC50d": (0.05, 0.5), "MTT": (5.0, 0.2), "PLT0": (25.0, 0.5)}
# Parameters the ODE right-hand side uses (identical in every stack). ktr and kprol are
# derived per subject from MTT and PLT0 (same arithmetic for every stack, `derived`).
RHS_PARAMS = ("ka", "kel", "Vc", "Vmax", "Km", "Edmax", "EC50d", "TPOref", "kTPOin", "kTPOel", "kTPOR",
              "EC50s", "wMK", "Mref", "kout", "ktr", "kprol")


# ----------------------------------------------------------------------------- population
def write_params(path: Path = OUT / "params.csv") -> None:
    """The 10,000-subject population, written once with full precision (repr)."""
    eta = np.random.default_rng(SEED).standard_normal((N_POP, 5))
    names = list(IIV)
    omega = np.array([IIV[n][1] for n in names])
    typ = np.array([IIV[n][0] for n in names])
    theta = typ * np.exp(eta * omega)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["id," + ",".join(names)]
    lines += [f"{i}," + ",".join(repr(float(v)) for v in row) for i, row in enumerate(theta)]
    path.write_text("\n".join(lines) + "\n")


def read_params(n: int, path: Path = OUT / "params.csv") -> list[dict[str, float]]:
    """First ``n`` subjects (populations are nested)."""
    rows = path.read_text().splitlines()
    head = rows[0].split(",")[1:]
    out = []
    for line in rows[1 : n + 1]:
        vals = line.split(",")[1:]
        out.append({k: float(v) for k, v in zip(head, vals)})
    return out


def derived(ind: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """(RHS parameter values, drug-free steady initial state incl. the t=0 dose) of one subject."""
    f = FIXED
    ktr = 4.0 / ind["MTT"]
    plt0 = ind["PLT0"]
    tss = f["kout"] * plt0 / ktr
    m0 = (plt0 + f["wMK"] * 4.0 * tss) / f["Mref"]
    tpo0 = f["kTPOin"] / (f["kTPOel"] + f["kTPOR"] * m0)
    x0 = tpo0 / f["TPOref"]
    s0 = x0 / (f["EC50s"] + x0)
    kprol = ktr / s0
    p = {k: v for k, v in f.items() if k in RHS_PARAMS}
    p.update(kel=ind["kel"], Vmax=ind["Vmax"], EC50d=ind["EC50d"], ktr=ktr, kprol=kprol)
    y0 = dict(Ad=f["F"] * 1000.0 * 1.0, Ac=0.0, TPO=tpo0, P=tss, T1=tss, T2=tss, T3=tss, T4=tss, PLT=plt0)
    return p, y0


def titrate(level: int, p: float) -> tuple[int, int]:
    """(new level, dose given in ug/kg) from the platelet count at a dose time."""
    if p < 50.0:
        level = min(level + 1, 10)
    elif p > 200.0:
        level = max(level - 1, 0)
    return level, (0 if p > 400.0 else level)


def doses_from_plt(plt: np.ndarray) -> np.ndarray:
    """The 26 titrated doses (ug/kg) reconstructed from the platelets on dose days."""
    out = np.empty((plt.shape[0], 26), dtype=np.int64)
    for i, row in enumerate(plt):
        level = 1
        out[i, 0] = 1
        for k in range(1, 26):
            level, out[i, k] = titrate(level, row[7 * k])
    return out


# ----------------------------------------------------------------------------- equations
EQUATIONS = dict(
    assignments={
        "C": "Ac/Vc",
        "M": "(PLT + wMK*(T1 + T2 + T3 + T4))/Mref",
        "X": "TPO/TPOref + Edmax*C/(EC50d + C)",
        "Sx": "X/(EC50s + X)",
    },
    rates={
        "Ad": "-ka*Ad",
        "Ac": "ka*Ad - kel*Ac - Vmax*Vc*M*C/(Km + C)",
        "TPO": "kTPOin - kTPOel*TPO - kTPOR*M*TPO",
        "P": "kprol*Sx*P - ktr*P",
        "T1": "ktr*(P - T1)",
        "T2": "ktr*(T1 - T2)",
        "T3": "ktr*(T2 - T3)",
        "T4": "ktr*(T3 - T4)",
        "PLT": "ktr*T4 - kout*PLT",
    },
)


# ----------------------------------------------------------------------------- stack: moasim
class MoasimStack:
    name = "moasim"

    def __init__(self) -> None:
        from moasim.engine import get_engine, run_schedule
        from moasim.model import Module, Output, Parameter, State, compose

        units = dict(F="1", ka="1/day", kel="1/day", Vc="mL/kg", Vmax="ng/mL/day", Km="ng/mL", Edmax="1",
                     EC50d="ng/mL", TPOref="pg/mL", kTPOin="pg/mL/day", kTPOel="1/day", kTPOR="1/day",
                     EC50s="1", wMK="1", Mref="1e9/L", kout="1/day", ktr="1/day", kprol="1/day")
        typ_p, _ = derived({k: v[0] for k, v in IIV.items()})
        derived_src = {"ktr": "ktr = 4/MTT", "kprol": "kprol = ktr/S(X0), X0 = TPO0/TPOref (steady drug-free state)"}
        params = tuple(
            Parameter(name=n, value=typ_p[n], unit=units[n], tag="D" if n in derived_src else "A",
                      source=f"REFERENCE_MODEL.md (benchmark model); {derived_src.get(n, 'table')}")
            for n in RHS_PARAMS
        )
        sunits = dict(Ad="ng/kg", Ac="ng/kg", TPO="pg/mL")
        states = tuple(State(name=s, unit=sunits.get(s, "1e9/L"), dosable=(s == "Ad")) for s in STATES)
        mod = Module(name="ref", doc="Benchmark reference model (REFERENCE_MODEL.md)", parameters=params,
                     states=states, assignments=EQUATIONS["assignments"], rates=EQUATIONS["rates"],
                     outputs=(Output(name="platelets", expr="PLT", unit="1e9/L"),))
        self.model = compose("reference", [mod])
        self.engine = get_engine("roadrunner", rtol=RTOL, atol=ATOL)
        self.run_schedule = run_schedule
        self.F = FIXED["F"]

    def subject(self, ind: dict[str, float]) -> np.ndarray:
        p, y0 = derived(ind)
        m = self.model.with_parameters(kel=p["kel"], Vmax=p["Vmax"], EC50d=p["EC50d"], ktr=p["ktr"], kprol=p["kprol"])
        m = m.with_initial(**y0)
        ctl = _Titration(self.F)
        res = self.run_schedule(self.engine, m, T_OUT, controllers=[ctl])
        return res.states[:, 8]


class _Titration:
    """moasim controller: the weekly titration rule, reading PLT before the dose."""

    decision_times = DOSE_TIMES[1:]

    def __init__(self, F: float) -> None:
        self.level = 1
        self.F = F

    def decide(self, t, observe):
        self.level, dose = titrate(self.level, observe("platelets"))
        return [_Event(t, _Add("Ad", self.F * 1000.0 * dose))] if dose else []


from moasim.engine import Add as _Add, Event as _Event  # noqa: E402


# ----------------------------------------------------------------------------- stack: libroadrunner
def antimony_text(with_event: bool) -> str:
    typ_p, y0 = derived({k: v[0] for k, v in IIV.items()})
    lines = ["model reference()"]
    lines += [f"  {n} = {typ_p[n]!r};" for n in RHS_PARAMS]
    lines.append(f"  F = {FIXED['F']!r};")
    lines += [f"  var {s} = {y0[s]!r};" for s in STATES]
    lines += [f"  {a} := {e};" for a, e in EQUATIONS["assignments"].items()]
    lines += [f"  {s}' = {EQUATIONS['rates'][s]};" for s in STATES]
    if with_event:
        # One repeating event at t = 7, 14, ..., 175: titration rule on PLT at the event time,
        # dose into the depot (all assignments use pre-event values, so the new level is inlined).
        newlevel = ("piecewise(level + 1, (PLT < 50) && (level < 10), level, PLT < 50, "
                    "level - 1, (PLT > 200) && (level > 0), level)")
        lines += [
            "  level = 1;",
            "  nextdose = 7;",
            "  E_titr: at (time >= nextdose), t0 = false, persistent = true: "
            f"Ad = Ad + F*1000*piecewise(0, PLT > 400, {newlevel}), level = {newlevel}, "
            "nextdose = piecewise(1e9, nextdose >= 175, nextdose + 7);",
        ]
    lines.append("end")
    return "\n".join(lines)


def _sbml(text: str) -> str:
    import antimony

    antimony.clearPreviousLoads()
    if antimony.loadAntimonyString(text) < 0:
        raise RuntimeError(antimony.getLastError())
    return antimony.getSBMLString(antimony.getMainModuleName())


def _load_roadrunner(with_event: bool):
    """The peer's RoadRunner: the Antimony model compiled once, tolerances set, PLT selected."""
    import roadrunner

    roadrunner.Config.setValue(roadrunner.Config.LOADSBMLOPTIONS_CONSERVED_MOIETIES, False)
    rr = roadrunner.RoadRunner(_sbml(antimony_text(with_event=with_event)))
    integ = rr.integrator
    integ.relative_tolerance = RTOL
    integ.absolute_tolerance = ATOL
    integ.variable_step_size = False
    rr.timeCourseSelections = ["PLT"]
    return rr


class RoadRunnerStack:
    """Plain libroadrunner, titration as an SBML event: one simulate() per subject."""

    name = "roadrunner"

    def __init__(self) -> None:
        self.rr = _load_roadrunner(with_event=True)
        self.keys = ["kel", "Vmax", "EC50d", "ktr", "kprol", *STATES, "level", "nextdose"]

    def subject(self, ind: dict[str, float]) -> np.ndarray:
        rr = self.rr
        p, y0 = derived(ind)
        rr.reset()
        rr.setValues(self.keys, [p["kel"], p["Vmax"], p["EC50d"], p["ktr"], p["kprol"], *(y0[s] for s in STATES), 1.0, 7.0])
        return np.asarray(rr.simulate(times=T_OUT))[:, 0]


class RoadRunnerLoopStack:
    """Plain libroadrunner restarted at every dose time, titration in Python (26 simulate() calls)."""

    name = "roadrunner-loop"

    def __init__(self) -> None:
        self.rr = _load_roadrunner(with_event=False)
        self.keys = ["kel", "Vmax", "EC50d", "ktr", "kprol", *STATES]
        self.weeks = [T_OUT[7 * k : 7 * k + 8] for k in range(26)]  # 0..7, 7..14, ..., 175..182
        self.ad = FIXED["F"] * 1000.0

    def subject(self, ind: dict[str, float]) -> np.ndarray:
        rr = self.rr
        p, y0 = derived(ind)
        rr.setValues(self.keys, [p["kel"], p["Vmax"], p["EC50d"], p["ktr"], p["kprol"], *(y0[s] for s in STATES)])
        out = np.empty(len(T_OUT))
        level = 1
        for k, times in enumerate(self.weeks):
            col = np.asarray(rr.simulate(times=times))[:, 0]
            out[7 * k : 7 * k + 8] = col
            if k < 25:
                level, dose = titrate(level, col[-1])
                if dose:
                    rr["Ad"] = rr["Ad"] + self.ad * dose
        return out


# ----------------------------------------------------------------------------- stack: scipy reference
class ScipyStack:
    """scipy odeint (ODEPACK LSODA), plain-Python right-hand side, same restart scheme."""

    name = "scipy-ref"

    def __init__(self, rtol: float = REF_RTOL, atol: float = REF_ATOL) -> None:
        self.rtol, self.atol = rtol, atol
        self.ad = FIXED["F"] * 1000.0
        self.weeks = [T_OUT[7 * k : 7 * k + 8] for k in range(26)]

    @staticmethod
    def _rhs(t, y, ka, kel, Vc, Vmax, Km, Edmax, EC50d, TPOref, kTPOin, kTPOel, kTPOR, EC50s, wMK, Mref, kout, ktr, kprol):
        Ad, Ac, TPO, P, T1, T2, T3, T4, PLT = y
        C = Ac / Vc
        M = (PLT + wMK * (T1 + T2 + T3 + T4)) / Mref
        X = TPO / TPOref + Edmax * C / (EC50d + C)
        Sx = X / (EC50s + X)
        return [-ka * Ad,
                ka * Ad - kel * Ac - Vmax * Vc * M * C / (Km + C),
                kTPOin - kTPOel * TPO - kTPOR * M * TPO,
                kprol * Sx * P - ktr * P,
                ktr * (P - T1), ktr * (T1 - T2), ktr * (T2 - T3), ktr * (T3 - T4),
                ktr * T4 - kout * PLT]

    def subject(self, ind: dict[str, float]) -> np.ndarray:
        from scipy.integrate import odeint

        p, y0 = derived(ind)
        args = tuple(p[n] for n in RHS_PARAMS)
        y = np.array([y0[s] for s in STATES])
        out = np.empty(len(T_OUT))
        level = 1
        for k, times in enumerate(self.weeks):
            Y, info = odeint(self._rhs, y, times, args=args, tfirst=True, rtol=self.rtol, atol=self.atol,
                             mxstep=1_000_000, full_output=True)
            if info["message"] != "Integration successful.":
                raise RuntimeError(f"odeint failed in week {k}: {info['message']}")
            out[7 * k : 7 * k + 8] = Y[:, 8]
            y = Y[-1].copy()
            if k < 25:
                level, dose = titrate(level, y[8])
                y[0] += self.ad * dose
        return out


STACKS = {"moasim": MoasimStack, "roadrunner": RoadRunnerStack, "roadrunner-loop": RoadRunnerLoopStack}


# ----------------------------------------------------------------------------- running
_WORKER = None


def _init_worker(stack_name: str) -> None:
    global _WORKER
    _WORKER = STACKS[stack_name]()
    _WORKER.subject(read_params(1)[0])  # compile / warm up outside the timing


def _run_chunk(inds: list[dict[str, float]]) -> np.ndarray:
    return np.array([_WORKER.subject(ind) for ind in inds])


def run_stack(name: str, inds: list[dict[str, float]], repeats: int, procs: int) -> tuple[float, np.ndarray]:
    """(min wall time over repeats, N x 183 platelets). Setup/compilation is not timed."""
    best, plt = math.inf, None
    if procs <= 1:
        _init_worker(name)
        for _ in range(repeats):
            t0 = time.perf_counter()
            plt = _run_chunk(inds)
            best = min(best, time.perf_counter() - t0)
        return best, plt
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    chunks = [c.tolist() for c in np.array_split(np.array(inds, dtype=object), procs * 8) if len(c)]
    with ctx.Pool(procs, initializer=_init_worker, initargs=(name,)) as pool:
        pool.map(_run_chunk, [[inds[0]]] * procs)  # make sure every worker has started
        for _ in range(repeats):
            t0 = time.perf_counter()
            plt = np.concatenate(pool.map(_run_chunk, chunks))
            best = min(best, time.perf_counter() - t0)
    return best, plt


def reference(inds: list[dict[str, float]]) -> tuple[np.ndarray, float]:
    """scipy odeint reference at rtol 1e-8, atol 1e-12, cached in out/ (keyed by inputs)."""
    key = hashlib.sha1(repr((inds, REF_RTOL, REF_ATOL, EQUATIONS, FIXED, 2)).encode()).hexdigest()[:16]
    path = OUT / f"reference_{len(inds)}_{key}.npz"
    if path.exists():
        z = np.load(path)
        return z["plt"], float(z["seconds"])
    st = ScipyStack()
    t0 = time.perf_counter()
    plt = np.array([st.subject(ind) for ind in inds])
    secs = time.perf_counter() - t0
    np.savez(path, plt=plt, seconds=secs)
    return plt, secs


def agreement(plt: np.ndarray, ref: np.ndarray) -> tuple[float, int]:
    n = min(len(plt), len(ref))
    err = float(np.max(np.abs(plt[:n] / ref[:n] - 1.0)))
    mism = int(np.sum(np.any(doses_from_plt(plt[:n]) != doses_from_plt(ref[:n]), axis=1)))
    return err, mism


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100, 1000], help="workload sizes (default 100 1000)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats; the minimum is reported (default 3)")
    ap.add_argument("--stacks", nargs="+", default=["moasim", "roadrunner", "roadrunner-loop"], choices=list(STACKS))
    ap.add_argument("--ref-n", type=int, default=100, help="subjects in the scipy reference (default 100)")
    ap.add_argument("--procs", type=int, default=1, help="processes per stack, same for every stack (default 1)")
    ap.add_argument("--time-scipy", action="store_true", help="also time scipy odeint (rtol 1e-6, 1 process) at N=100")
    a = ap.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    pfile = OUT / "params.csv"
    if not pfile.exists():
        write_params(pfile)
    nmax = max(max(a.n), a.ref_n)
    inds_all = read_params(nmax)

    ref, ref_secs = reference(inds_all[: a.ref_n])
    print(f"reference: scipy odeint LSODA rtol {REF_RTOL:g} atol {REF_ATOL:g}, {a.ref_n} subjects "
          f"({ref_secs:.1f} s, cached in {OUT.name}/)", flush=True)

    rows = []
    for n in sorted(a.n):
        inds = inds_all[:n]
        results = {}
        for name in a.stacks:
            secs, plt = run_stack(name, inds, a.repeats, a.procs)
            results[name] = plt
            err, mism = agreement(plt, ref)
            rows.append(dict(stack=name, N=n, time_s=secs, ms_per_subject=1e3 * secs / n,
                             max_rel_err_vs_ref=err, dose_mismatches=mism, compared=min(n, a.ref_n)))
            if "roadrunner" in results:  # all N subjects against the peer (not only the reference ones)
                for r in rows:
                    if r["N"] == n and r["stack"] in results:
                        r["max_rel_diff_vs_roadrunner_allN"] = float(np.max(np.abs(results[r["stack"]] / results["roadrunner"] - 1.0)))
            print(f"  done {name:16s} N={n:<6d} {secs:8.2f} s", flush=True)
        if a.time_scipy and n == 100:
            st = ScipyStack(RTOL, ATOL)
            t0 = time.perf_counter()
            plt = np.array([st.subject(ind) for ind in inds])
            secs = time.perf_counter() - t0
            err, mism = agreement(plt, ref)
            rows.append(dict(stack="scipy-odeint", N=n, time_s=secs, ms_per_subject=1e3 * secs / n,
                             max_rel_err_vs_ref=err, dose_mismatches=mism, compared=min(n, a.ref_n)))
    peer = {r["N"]: r["time_s"] for r in rows if r["stack"] == "roadrunner"}
    for r in rows:
        r["ratio_vs_roadrunner"] = r["time_s"] / peer[r["N"]] if r["N"] in peer else None

    print()
    print(f"rtol {RTOL:g}, atol {ATOL:g}; min of {a.repeats} repeats; {a.procs} process(es) per stack; "
          f"errors vs scipy reference on the first min(N, {a.ref_n}) subjects")
    hdr = f"{'stack':16s} {'N':>6s} {'time_s':>9s} {'ms/subject':>11s} {'max_rel_err_vs_ref':>19s} {'dose_mismatches':>16s} {'ratio_vs_roadrunner':>20s}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        ratio = f"{r['ratio_vs_roadrunner']:.2f}" if r["ratio_vs_roadrunner"] is not None else "-"
        print(f"{r['stack']:16s} {r['N']:6d} {r['time_s']:9.3f} {r['ms_per_subject']:11.3f} "
              f"{r['max_rel_err_vs_ref']:19.2e} {r['dose_mismatches']:>10d}/{r['compared']:<5d} {ratio:>20s}")

    import roadrunner
    import scipy

    meta = dict(date_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), machine=platform.platform(),
                processor=platform.processor(), cpus=os.cpu_count(), python=sys.version.split()[0],
                numpy=np.__version__, scipy=scipy.__version__, roadrunner=roadrunner.__version__,
                rtol=RTOL, atol=ATOL, ref_rtol=REF_RTOL, ref_atol=REF_ATOL, ref_n=a.ref_n,
                ref_seconds=ref_secs, repeats=a.repeats, procs=a.procs)
    (OUT / "results.json").write_text(json.dumps(dict(meta=meta, rows=rows), indent=2) + "\n")
    print(f"\nwrote {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
