"""Reference workload on the GPU: moasim's RODAS4 kernel compiled for CUDA vs the same kernel on the CPU, in one run.

The workload is ``reference_workload.py``'s (``/work/shared/benchmark/REFERENCE_MODEL.md``:
9 states, 26 weekly doses titrated by the platelet count at each dose time, daily
platelets t = 0..182, rtol 1e-6 / atol 1e-9, log-normal IIV from
``default_rng(20240601)``). The population is drawn here for any N with the same
generator, so its first 10,000 subjects are ``out/params.csv`` (checked).

Rows, all in one run on one machine:

- ``batched-cpu``: :class:`moasim.engine._batched.BatchedEngine`, ``--threads`` threads;
- ``gpu``: :class:`moasim.engine._gpu.GpuEngine` (the same generated kernel compiled with
  numba's CUDA target, one subject per thread), at each ``--block`` size;
- ``gpu-stream``: N up to ``--stream`` subjects in chunks of ``--chunk``, daily platelets of
  every subject appended to one Parquet file (``out/gpu_stream.parquet``) chunk by chunk;
  the peak resident memory after each chunk shows whether memory stays flat.

Accuracy: max |PLT/PLT_ref - 1| against scipy odeint at 1e-8 / 1e-12 on the first
``--ref-n`` subjects (cached in ``out/``), GPU vs CPU on every subject, and the number of
subjects whose 26 titrated doses differ. Compilation and a warm-up launch are not timed.

Usage (needs an NVIDIA GPU and numba-cuda)::

    python benchmarks/gpu_workload.py --n 10000 100000 --stream 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import batched_workload as bw  # noqa: E402
import reference_workload as rw  # noqa: E402


def population(n: int) -> np.ndarray:
    """(n, 5) individual values of ``rw.IIV`` (kel, Vmax, EC50d, MTT, PLT0): the generator of ``rw.write_params``."""
    eta = np.random.default_rng(rw.SEED).standard_normal((n, 5))
    typ = np.array([v[0] for v in rw.IIV.values()])
    omega = np.array([v[1] for v in rw.IIV.values()])
    return typ * np.exp(eta * omega)


def inputs(model, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parameters and initial states in model order: ``rw.derived`` on columns (numpy applies the
    same IEEE operations elementwise, so every subject's values equal the scalar ones)."""
    p, y = rw.derived(dict(zip(rw.IIV, theta.T)))
    n = len(theta)
    pn = model.parameter_names
    P = np.tile([model.parameter_values[k] for k in pn], (n, 1))
    for k, v in p.items():
        P[:, pn.index(k)] = v
    return P, np.column_stack([np.broadcast_to(y[s], (n,)) for s in model.state_names])


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(stack, arrays, n) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    plt = stack.run([None] * n, arrays)
    return time.perf_counter() - t0, plt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[10000], help="sizes timed on CPU and GPU (default 10000)")
    ap.add_argument("--cpu-max", type=int, default=100000, help="largest N also run on the CPU engine (default 100000)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU engine threads (default: all CPUs)")
    ap.add_argument("--block", type=int, nargs="+", default=[64], help="CUDA threads per block (default 64)")
    ap.add_argument("--stream", type=int, default=0, help="also stream this many subjects to Parquet (0: no)")
    ap.add_argument("--chunk", type=int, default=200000, help="subjects per GPU launch series when streaming")
    ap.add_argument("--ref-n", type=int, default=200, help="subjects in the scipy reference (default 200)")
    ap.add_argument("--out", default=str(rw.OUT), help="output folder (default benchmarks/out)")
    a = ap.parse_args(argv)

    from numba import cuda

    from moasim.engine._gpu import GpuEngine

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    theta = population(max(max(a.n), a.ref_n, 10000))
    pfile = rw.OUT / "params.csv"
    if pfile.exists():  # the same population as the CPU benchmarks
        csv = np.array([[d[k] for k in rw.IIV] for d in rw.read_params(10000, pfile)])
        assert np.array_equal(csv, theta[:10000]), "population differs from out/params.csv"
    ref, _ = rw.reference([dict(zip(rw.IIV, row)) for row in theta[: a.ref_n]])

    cpu = bw.BatchedStack(rw.RTOL, rw.ATOL, a.threads)
    gpus = {}
    for b in a.block:
        g = bw.BatchedStack(rw.RTOL, rw.ATOL, 1)
        g.engine = GpuEngine(rw.RTOL, rw.ATOL, block=b)
        g.engine.prepare(g.model)
        g.run([None] * 8, inputs(g.model, theta[:8]))  # compile + warm-up, untimed
        gpus[b] = g
    cpu.run([None] * 8, inputs(cpu.model, theta[:8]))
    try:
        dev = cuda.get_current_device()
        gpu_name = f"{dev.name.decode() if isinstance(dev.name, bytes) else dev.name}, compute capability {dev.compute_capability}"
    except AttributeError:  # numba's CUDA simulator
        gpu_name = "numba CUDA simulator"
    print(f"GPU: {gpu_name}", flush=True)

    for n in sorted(a.n):
        arrays = inputs(cpu.model, theta[:n])
        plt_cpu = None
        if n <= a.cpu_max:
            secs, plt_cpu = timed(cpu, arrays, n)
            err, mism = rw.agreement(plt_cpu[: a.ref_n], ref)
            rows.append(dict(stack="batched-cpu", workers=f"{a.threads} thr", N=n, time_s=secs, ms_per_subject=1e3 * secs / n,
                             max_rel_err_vs_ref=err, dose_mismatches_vs_ref=mism, mean_steps=float(cpu.last.steps.mean())))
            print(f"  N={n}: cpu {secs:.2f} s", flush=True)
        for b, g in gpus.items():
            secs, plt = timed(g, arrays, n)
            err, mism = rw.agreement(plt[: a.ref_n], ref)
            row = dict(stack="gpu", workers=f"block {b}", N=n, time_s=secs, ms_per_subject=1e3 * secs / n,
                       max_rel_err_vs_ref=err, dose_mismatches_vs_ref=mism, mean_steps=float(g.last.steps.mean()))
            if plt_cpu is not None:
                row["max_rel_diff_vs_cpu"] = float(np.max(np.abs(plt / plt_cpu - 1.0)))
                row["dose_mismatches_vs_cpu"] = int(np.sum(np.any(rw.doses_from_plt(plt) != rw.doses_from_plt(plt_cpu), axis=1)))
                row["steps_differ_vs_cpu"] = int(np.sum(g.last.steps != cpu.last.steps))
            rows.append(row)
            print(f"  N={n}: gpu block {b} {secs:.2f} s", flush=True)
    cpu_t = {r["N"]: r["time_s"] for r in rows if r["stack"] == "batched-cpu"}
    for r in rows:
        r["speedup_vs_cpu_engine"] = cpu_t[r["N"]] / r["time_s"] if r["N"] in cpu_t else None

    if a.stream:
        import pyarrow as pa
        import pyarrow.parquet as pq

        g = gpus[a.block[0]]
        path = out / "gpu_stream.parquet"
        schema = pa.schema([("subject", pa.int64())] + [(f"plt_d{int(d)}", pa.float64()) for d in rw.T_OUT])
        rss, t0 = [], time.perf_counter()
        with pq.ParquetWriter(path, schema) as w:
            for s in range(0, a.stream, a.chunk):
                e = min(s + a.chunk, a.stream)
                th = population(e)[s:e] if e > len(theta) else theta[s:e]
                plt = g.run([None] * (e - s), inputs(g.model, th))
                cols = [pa.array(np.arange(s, e))] + [pa.array(plt[:, k]) for k in range(plt.shape[1])]
                w.write_table(pa.Table.from_arrays(cols, schema=schema))
                rss.append(round(peak_rss_mib()))
                print(f"  stream: {e} subjects, {time.perf_counter() - t0:.1f} s, peak RSS {rss[-1]} MiB", flush=True)
        secs = time.perf_counter() - t0
        rows.append(dict(stack="gpu-stream", workers=f"block {a.block[0]}", N=a.stream, time_s=secs,
                         ms_per_subject=1e3 * secs / a.stream, parquet_bytes=path.stat().st_size, chunk=a.chunk,
                         peak_rss_mib_after_each_chunk=rss))

    print()
    print(f"{'stack':11s} {'workers':>9s} {'N':>8s} {'time_s':>8s} {'ms/subject':>10s} {'err_vs_ref':>10s} {'diff_vs_cpu':>11s} "
          f"{'speedup_vs_cpu':>14s}")
    for r in rows:
        sp = f"{r['speedup_vs_cpu_engine']:.1f}" if r.get("speedup_vs_cpu_engine") else "-"
        e = f"{r['max_rel_err_vs_ref']:.2e}" if "max_rel_err_vs_ref" in r else "-"
        d = f"{r['max_rel_diff_vs_cpu']:.2e}" if "max_rel_diff_vs_cpu" in r else "-"
        print(f"{r['stack']:11s} {r['workers']:>9s} {r['N']:8d} {r['time_s']:8.2f} {r['ms_per_subject']:10.4f} {e:>10s} {d:>11s} {sp:>14s}")
    import numba

    meta = dict(date_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), machine=platform.platform(),
                gpu=gpu_name, cpus=os.cpu_count(), python=sys.version.split()[0], numpy=np.__version__,
                numba=numba.__version__, rtol=rw.RTOL, atol=rw.ATOL, ref_n=a.ref_n, peak_rss_mib=peak_rss_mib())
    res = out / "gpu_results.json"
    res.write_text(json.dumps(dict(meta=meta, rows=rows), indent=2, default=str) + "\n")
    print(json.dumps(meta))
    print(f"wrote {res}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
