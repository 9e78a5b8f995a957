"""Batched population engine: many subjects of one model integrated at once.

Each subject is integrated by its own adaptive Rosenbrock method (RODAS4: order 4(3),
6 stages, L-stable and stiffly accurate, Hairer & Wanner, *Solving ODEs II*, sec. IV.7;
third-order continuous extension for the output times) with an analytic Jacobian. The
right-hand side, the Jacobian (chain rule through the model's algebraic assignments),
the time derivative and a sparse LU of ``I/(h*gamma) - J`` (fixed order, dense pivoted
LU as fallback) are generated from the model's equation text with sympy, like the other
engines' code (:mod:`._codegen`), and compiled once per model structure with numba; the
compiled module is cached on disk (``MOASIM_CACHE_DIR``, default ``~/.cache/moasim``).
The compiled loop over subjects releases the GIL: chunks of subjects run in threads.

All subjects share the event times (a common visit/dose schedule). At each event time
the caller's ``decide(t, outputs)`` sees the pre-event outputs of every subject (the
NONMEM convention of :func:`moasim.engine.run_schedule`: an observation at an event time
is taken before the event) and returns per-subject increments to states or new parameter
values. :class:`SubjectSchedules` runs per-subject moasim ``Event`` lists and controllers
with :func:`~moasim.engine.run_schedule`'s semantics instead. The integration restarts at
every event time, so dose discontinuities are never stepped over.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import importlib.util
import math
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Protocol, Sequence

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from ..errors import SolverError, SpecError, invalid_value, unknown_name
from ..model import Model
from ._codegen import _MathPrinter, _names, parse
from ._events import Controller, Event

__all__ = ["BatchedEngine", "BatchedResult", "BatchedSchedule", "SubjectSchedules", "run_batched", "batched_outputs"]

Decide = Callable[[float, dict[str, np.ndarray]], Mapping[str, np.ndarray] | None]

# RODAS4 in the form G*K_i = f(t + alpha_i h, y + sum_j A_ij K_j) + sum_j (C_ij/h) K_j + h*gamma_i*df/dt,
# G = I/(h*gamma) - J; y_new = y + sum_j M_j K_j; error estimate K_6 (Hairer & Wanner; coefficients
# as in Hairer's rodas.f, also used by KPP).
_A = (
    (),
    (1.544,),
    (0.9466785280815826, 0.2557011698983284),
    (3.314825187068521, 2.896124015972201, 0.9986419139977817),
    (1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895),
    (1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895, 1.0),
)
_C = (
    (),
    (-5.6688,),
    (-2.430093356833875, -0.2063599157091915),
    (-0.1073529058151375, -9.594562251023355, -20.47028614809616),
    (7.496443313967647, -10.24680431464352, -33.99990352819905, 11.7089089320616),
    (8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054),
)
_ALPHA = (0.0, 0.386, 0.21, 0.63, 1.0, 1.0)
_GAMMA_I = (0.25, -0.1043, 0.1035, -0.0362, 0.0, 0.0)
_GAMMA = 0.25
# continuous extension: y(told + th*h) = y*(1-th) + th*(ynew + (1-th)*(d2 + th*d3)), d_i = sum_j D_ij K_j
_D2 = (10.12623508344586, -7.487995877610167, -34.80091861555747, -7.992771707568823, 1.025137723295662)
_D3 = (-0.6762803392801253, 6.087714651680015, 16.43084320892478, 24.76722511418386, -6.594389125716872)
# Observations by the continuous extension (True) or by ending steps on them (False).
_DENSE_OUTPUT = os.environ.get("MOASIM_BATCHED_DENSE", "1") != "0"

# Version of the generated code: part of the cache key.
_CODE_VERSION = "3"

_SOLVER_TEMPLATE = '''
_A = {A!r}
_C = {C!r}
_ALPHA = {ALPHA!r}
_GAMMA_I = {GAMMA_I!r}
_GAMMA = {GAMMA!r}
_NONAUTONOMOUS = {NONAUTO!r}
_DENSE = {DENSE!r}


{DEVICE}
def _wnorm(v, y, ynew, ypeak, rtol, atol):
    s = 0.0
    n = v.shape[0]
    for k in range(n):
        sc = atol + rtol * max(abs(y[k]), abs(ynew[k]), ypeak[k])
        e = v[k] / sc
        s += e * e
    return math.sqrt(s / n)


{DEVICE}
def _lu(G, piv):
    n = G.shape[0]
    for k in range(n):
        m = k
        big = abs(G[k, k])
        for r in range(k + 1, n):
            if abs(G[r, k]) > big:
                big = abs(G[r, k])
                m = r
        piv[k] = m
        if big == 0.0 or not math.isfinite(big):
            return False
        if m != k:
            for c in range(n):
                tmp = G[k, c]
                G[k, c] = G[m, c]
                G[m, c] = tmp
        inv = 1.0 / G[k, k]
        for r in range(k + 1, n):
            l = G[r, k] * inv
            if l != 0.0:
                G[r, k] = l
                for c in range(k + 1, n):
                    G[r, c] -= l * G[k, c]
            else:
                G[r, k] = 0.0
    return True


{DEVICE}
def _lusolve(G, piv, b):
    n = G.shape[0]
    for k in range(n):  # rows were exchanged whole (P G = L U): permute b first
        m = piv[k]
        if m != k:
            tmp = b[k]
            b[k] = b[m]
            b[m] = tmp
    for k in range(n):
        bk = b[k]
        if bk != 0.0:
            for r in range(k + 1, n):
                b[r] -= G[r, k] * bk
    for k in range(n - 1, -1, -1):
        s = b[k]
        for c in range(k + 1, n):
            s -= G[k, c] * b[c]
        b[k] = s / G[k, k]


{DEVICE}
def _segment(y, p, t0, t1, tobs, out, rtol, atol, max_steps, hmax, stats, ypeak, peakmask):
    """Integrate one subject from t0 to t1 (y in place); write states at tobs (in (t0, t1]) to out.

    Returns 0 on success, 1 if max_steps was reached, 2 if the step size underflowed.
    stats: [steps, rejected, rhs evaluations] (accumulated).
    """
    n = N_STATES
    J = {MATRIX}
    G = {MATRIX}
    piv = {IVECTOR}
    k0 = {VECTOR}
    k1 = {VECTOR}
    k2 = {VECTOR}
    k3 = {VECTOR}
    k4 = {VECTOR}
    k5 = {VECTOR}
    f0 = {VECTOR}
    fi = {VECTOR}
    yi = {VECTOR}
    ynew = {VECTOR}
    dfdt = {VECTOR}
    for k in range(n):
        dfdt[k] = 0.0
    dn2 = {VECTOR}
    dn3 = {VECTOR}
    g = {LUVECTOR}
    ws = {VECTOR}
    nobs = tobs.shape[0]
    kobs = 0
    t = t0
    span = t1 - t0
    if span <= 0.0:
        for k in range(nobs):
            for _c in range(n):
                out[k, _c] = y[_c]
        return 0
    nfev = 0
    steps = 0
    nrej = 0
    rhs(t, y, p, f0)
    nfev += 1
    # initial step (Hairer & Wanner, Solving ODEs I, II.4)
    d0 = 0.0
    d1 = 0.0
    for k in range(n):
        sc = atol + rtol * max(abs(y[k]), ypeak[k])
        d0 += (y[k] / sc) ** 2
        d1 += (f0[k] / sc) ** 2
    d0 = math.sqrt(d0 / n)
    d1 = math.sqrt(d1 / n)
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = 1e-6
    else:
        h0 = 0.01 * d0 / d1
    h0 = min(h0, span)
    for k in range(n):
        yi[k] = y[k] + h0 * f0[k]
    rhs(t + h0, yi, p, fi)
    nfev += 1
    d2 = 0.0
    for k in range(n):
        sc = atol + rtol * max(abs(y[k]), ypeak[k])
        d2 += ((fi[k] - f0[k]) / sc) ** 2
    d2 = math.sqrt(d2 / n) / h0
    dm = max(d1, d2)
    if dm <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / dm) ** 0.2
    h = min(100.0 * h0, h1, hmax)

    need_jac = True
    last_rejected = False
    hmin_rel = 1e-14
    while True:
        if _DENSE:
            target = t1
        else:
            target = tobs[kobs] if kobs < nobs else t1
            if target > t1:
                target = t1
        hit = False
        h_wanted = h
        if t + 1.05 * h >= target:
            h = target - t
            hit = True
        if h <= hmin_rel * max(abs(t), 1.0):
            if not hit:
                stats[0] += steps
                stats[1] += nrej
                stats[2] += nfev
                return 2
            # already at the target (coinciding or nearly coinciding times)
            t = target
            while kobs < nobs and tobs[kobs] <= t:
                for _c in range(n):
                    out[kobs, _c] = y[_c]
                kobs += 1
            if t >= t1:
                while kobs < nobs:
                    for _c in range(n):
                        out[kobs, _c] = y[_c]
                    kobs += 1
                stats[0] += steps
                stats[1] += nrej
                stats[2] += nfev
                return 0
            h = h_wanted
            continue
        if steps >= max_steps:
            stats[0] += steps
            stats[1] += nrej
            stats[2] += nfev
            return 1
        steps += 1
        if need_jac:
            jac(t, y, p, J)
            if _NONAUTONOMOUS:
                dtime(t, y, p, dfdt)
            need_jac = False
        fac = 1.0 / (h * _GAMMA)
        sparse = lu_sparse(J, fac, g, ws)
        ok = sparse
        if not sparse:  # a small pivot in the fixed order: dense LU with partial pivoting
            for r in range(n):
                for c in range(n):
                    G[r, c] = -J[r, c]
                G[r, r] += fac
            ok = _lu(G, piv)
        err = 1e10
        if ok:
{STAGES}
            if not math.isfinite(err):
                err = 1e10
        if err <= 1.0:
            told = t
            t = target if hit else t + h
            if _DENSE and kobs < nobs and tobs[kobs] <= t:
                # RODAS4 continuous extension (Hairer's rodas.f): third order between told and t
                for k in range(n):
                    dn2[k] = {D2}
                    dn3[k] = {D3}
                while kobs < nobs and tobs[kobs] <= t:
                    th = (tobs[kobs] - told) / h
                    th1 = 1.0 - th
                    for k in range(n):
                        out[kobs, k] = y[k] * th1 + th * (ynew[k] + th1 * (dn2[k] + th * dn3[k]))
                    kobs += 1
            for k in range(n):
                y[k] = ynew[k]
            for k in range(n):  # states controlled relative to their peak (error_scale "peak")
                if peakmask[k] != 0.0 and abs(y[k]) > ypeak[k]:
                    ypeak[k] = abs(y[k])
            rhs(t, y, p, f0)
            nfev += 1
            need_jac = True
            fac = min(6.0, max(0.2, 0.9 * err ** -0.25)) if err > 0.0 else 6.0
            hnew = h * fac
            if last_rejected:
                hnew = min(hnew, h)
            if hit:
                hnew = max(hnew, min(h_wanted, h_wanted * fac)) if not last_rejected else hnew
            last_rejected = False
            h = min(hnew, hmax)
            if hit:
                if kobs < nobs and tobs[kobs] <= t:
                    for _c in range(n):
                        out[kobs, _c] = y[_c]
                    kobs += 1
                    while kobs < nobs and tobs[kobs] <= t:
                        for _c in range(n):
                            out[kobs, _c] = y[_c]
                        kobs += 1
                if t >= t1:
                    while kobs < nobs:
                        for _c in range(n):
                            out[kobs, _c] = y[_c]
                        kobs += 1
                    stats[0] += steps
                    stats[1] += nrej
                    stats[2] += nfev
                    return 0
        else:
            nrej += 1
            fac = max(0.1, 0.9 * err ** -0.25) if err < 1e10 else 0.1
            h = h * min(fac, 0.9)
            last_rejected = True


{INTEGRATE}'''


#: What the solver template needs per compilation target: the decorator of a device-side
#: function, the per-subject work arrays, and the entry point over subjects. The CPU entry
#: point loops over its rows and releases the GIL; the CUDA one is a kernel with one subject
#: per thread (numba's CUDA target: work arrays are thread-local ``cuda.local.array``s of
#: compile-time size).
_TARGETS = {
    "cpu": dict(
        HEADER="import math\nimport numpy as np\nimport numba",
        DEVICE="@numba.njit(cache=True)",
        MATRIX="np.empty((n, n))", VECTOR="np.empty(n)", IVECTOR="np.empty(n, np.int64)", LUVECTOR="np.empty(NNZ_LU)",
        INTEGRATE='''@numba.njit(cache=True, nogil=True)
def integrate(Y, P, t0, t1, tobs, OUT, rtol, atol, max_steps, hmax, status, stats, YPEAK, PEAKMASK):
    """Subjects (rows) from t0 to t1 (Y in place); OUT[i, k] = state of subject i at tobs[k]. Releases the GIL."""
    N = Y.shape[0]
    for i in range(N):
        if status[i] == 0:
            status[i] = _segment(Y[i], P[i], t0, t1, tobs, OUT[i], rtol, atol, max_steps, hmax, stats[i], YPEAK[i], PEAKMASK)
'''),
    "cuda": dict(
        HEADER="import math\nimport numpy as np\nimport numba\nfrom numba import cuda",
        DEVICE="@cuda.jit(device=True)",
        MATRIX="cuda.local.array((N_STATES, N_STATES), numba.float64)", VECTOR="cuda.local.array(N_STATES, numba.float64)",
        IVECTOR="cuda.local.array(N_STATES, numba.int64)", LUVECTOR="cuda.local.array(NNZ_LU, numba.float64)",
        INTEGRATE='''@cuda.jit(cache=True)
def integrate(Y, P, t0, t1, tobs, OUT, rtol, atol, max_steps, hmax, status, stats, YPEAK, PEAKMASK):
    """One subject per thread from t0 to t1 (Y in place); OUT[i, k] = state of subject i at tobs[k]."""
    i = cuda.grid(1)
    if i < Y.shape[0] and status[i] == 0:
        status[i] = _segment(Y[i], P[i], t0, t1, tobs, OUT[i], rtol, atol, max_steps, hmax, stats[i], YPEAK[i], PEAKMASK)
'''),
}


def _stages_source(nonautonomous: bool) -> str:
    """The six RODAS4 stages, unrolled, with the coefficients as literals (inside ``if ok:``)."""
    ind = " " * 12
    out = [ind + "hinv = 1.0 / h"]
    for s in range(6):
        src = "f0"
        if s > 0:
            comb = "".join(f" + {_A[s][j]!r} * k{j}[k]" for j in range(s) if _A[s][j] != 0.0)
            out += [ind + "for k in range(n):", ind + f"    yi[k] = y[k]{comb}",
                    ind + f"rhs(t + {_ALPHA[s]!r} * h, yi, p, fi)", ind + "nfev += 1"]
            src = "fi"
        comb = "".join(f" + ({_C[s][j]!r} * hinv) * k{j}[k]" for j in range(s) if _C[s][j] != 0.0)
        if nonautonomous and _GAMMA_I[s] != 0.0:
            comb += f" + ({_GAMMA_I[s]!r} * h) * dfdt[k]"
        out += [ind + "for k in range(n):", ind + f"    k{s}[k] = {src}[k]{comb}",
                ind + "if sparse:", ind + f"    solve_sparse(g, k{s}, ws)", ind + "else:",
                ind + f"    _lusolve(G, piv, k{s})"]
    comb = "".join(f" + {_A[4][j]!r} * k{j}[k]" for j in range(4))
    out += [ind + "for k in range(n):", ind + f"    ynew[k] = y[k]{comb} + k4[k] + k5[k]",
            ind + "err = _wnorm(k5, y, ynew, ypeak, rtol, atol)"]
    return "\n".join(out)


def _pad(rows) -> tuple:
    """6x6 lower-triangular coefficients as a homogeneous tuple (numba indexes it at run time)."""
    return tuple(tuple(float(v) for v in r) + (0.0,) * (6 - len(r)) for r in rows)


def _min_degree_order(n: int, nz: set[tuple[int, int]]) -> list[int]:
    """Greedy minimum-degree elimination order on the symmetrised pattern (limits LU fill-in)."""
    adj = {i: set() for i in range(n)}
    for i, j in nz:
        if i != j:
            adj[i].add(j)
            adj[j].add(i)
    order, left = [], set(range(n))
    while left:
        v = min(left, key=lambda u: (len(adj[u]), u))
        order.append(v)
        left.remove(v)
        nb = adj.pop(v)
        for u in nb:
            adj[u].discard(v)
            adj[u] |= nb - {u}
    return order


def _arr(name: str, values, dtype: str = "np.int64") -> str:
    return f"{name} = np.array({list(values)!r}, dtype={dtype})"


def _sparse_lu_source(n: int, nz: set[tuple[int, int]], device: str = _TARGETS["cpu"]["DEVICE"]) -> list[str]:
    """Sparse LU (no pivoting; minimum-degree order) of G = fac*I - J on J's pattern, and its solve.

    The factorisation and the solves run over precomputed index lists (compact code: the
    compile time does not grow with the fill-in). ``lu_sparse(J, fac, g)`` returns False
    when a pivot is small relative to its row of G (the caller then uses dense LU with
    partial pivoting). Diagonal entries of ``g`` hold the reciprocal pivots.
    """
    perm = _min_degree_order(n, nz)  # new index k -> original index perm[k]
    pos = {o: k for k, o in enumerate(perm)}
    pat = {(pos[i], pos[j]) for i, j in nz} | {(k, k) for k in range(n)}
    orig = set(pat)
    for k in range(n):  # symbolic fill-in
        rows = [i for i in range(k + 1, n) if (i, k) in pat]
        cols = [j for j in range(k + 1, n) if (k, j) in pat]
        for i in rows:
            for j in cols:
                pat.add((i, j))
    ent = sorted(pat)
    idx = {ij: m for m, ij in enumerate(ent)}
    b_row = [perm[i] if (i, j) in orig else -1 for i, j in ent]
    b_col = [perm[j] if (i, j) in orig else -1 for i, j in ent]
    b_new_row = [i for i, _ in ent]
    b_diag = [1 if i == j else 0 for i, j in ent]
    piv = [idx[(k, k)] for k in range(n)]
    ls, lidx, us, ut, usrc = [0], [], [0], [], []
    for k in range(n):
        cols = [j for j in range(k + 1, n) if (k, j) in pat]
        for i in range(k + 1, n):
            if (i, k) in pat:
                lidx.append(idx[(i, k)])
                for j in cols:
                    ut.append(idx[(i, j)])
                    usrc.append(idx[(k, j)])
                us.append(len(ut))
        ls.append(len(lidx))
    fs, fidx, fcol, bs, bidx, bcol = [0], [], [], [0], [], []
    for i in range(n):
        for k in range(i):
            if (i, k) in pat:
                fidx.append(idx[(i, k)])
                fcol.append(k)
        fs.append(len(fidx))
    for i in range(n):
        for j in range(i + 1, n):
            if (i, j) in pat:
                bidx.append(idx[(i, j)])
                bcol.append(j)
        bs.append(len(bidx))
    out = [f"NNZ_LU = {len(ent)}",
           _arr("_LU_PERM", perm), _arr("_LU_BROW", b_row), _arr("_LU_BCOL", b_col), _arr("_LU_BNEW", b_new_row),
           _arr("_LU_BDIAG", b_diag), _arr("_LU_PIV", piv), _arr("_LU_LS", ls), _arr("_LU_LIDX", lidx or [0]),
           _arr("_LU_US", us), _arr("_LU_UT", ut or [0]), _arr("_LU_USRC", usrc or [0]),
           _arr("_LU_FS", fs), _arr("_LU_FIDX", fidx or [0]), _arr("_LU_FCOL", fcol or [0]),
           _arr("_LU_BS", bs), _arr("_LU_BIDX", bidx or [0]), _arr("_LU_BCOLS", bcol or [0])]
    out += ["", "", device, "def lu_sparse(J, fac, g, rowmax):", f"    n = {n}",
            "    for k in range(n):",
            "        rowmax[k] = 0.0",
            "    for m in range(NNZ_LU):",
            "        r = _LU_BROW[m]",
            "        v = 0.0 if r < 0 else -J[r, _LU_BCOL[m]]",
            "        if _LU_BDIAG[m] == 1:",
            "            v += fac",
            "        g[m] = v",
            "        a = abs(v)",
            "        if a > rowmax[_LU_BNEW[m]]:",
            "            rowmax[_LU_BNEW[m]] = a",
            "    q = 0",
            "    for k in range(n):",
            "        d = g[_LU_PIV[k]]",
            "        if not (abs(d) > 1e-10 * rowmax[k]):",
            "            return False",
            "        d = 1.0 / d",
            "        g[_LU_PIV[k]] = d",
            "        for q in range(_LU_LS[k], _LU_LS[k + 1]):",
            "            li = _LU_LIDX[q]",
            "            l = g[li] * d",
            "            g[li] = l",
            "            for r in range(_LU_US[q], _LU_US[q + 1]):",
            "                g[_LU_UT[r]] -= l * g[_LU_USRC[r]]",
            "    return True",
            "", "", device, "def solve_sparse(g, b, x):", f"    n = {n}",
            "    for i in range(n):",
            "        s = b[_LU_PERM[i]]",
            "        for q in range(_LU_FS[i], _LU_FS[i + 1]):",
            "            s -= g[_LU_FIDX[q]] * x[_LU_FCOL[q]]",
            "        x[i] = s",
            "    for i in range(n - 1, -1, -1):",
            "        s = x[i]",
            "        for q in range(_LU_BS[i], _LU_BS[i + 1]):",
            "            s -= g[_LU_BIDX[q]] * x[_LU_BCOLS[q]]",
            "        x[i] = s * g[_LU_PIV[i]]",
            "    for i in range(n):",
            "        b[_LU_PERM[i]] = x[i]"]
    return out


def _cache_dir() -> Path:
    env = os.environ.get("MOASIM_CACHE_DIR")
    cands = [Path(env)] if env else []
    cands += [Path.home() / ".cache" / "moasim", Path(tempfile.gettempdir()) / "moasim-cache"]
    for c in cands:
        try:
            d = c / "batched"
            d.mkdir(parents=True, exist_ok=True)
            probe = d / f".probe{os.getpid()}"
            probe.write_text("")
            probe.unlink()
            return d
        except OSError:
            continue
    raise SolverError("No writable cache directory for the batched engine (set MOASIM_CACHE_DIR).")


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _kernel_source(model: Model, target: str = "cpu") -> str:
    """numba source: rhs, jac (chain rule through the assignments), dtime and the solver, for
    ``target`` ``"cpu"`` (the batched engine) or ``"cuda"`` (:mod:`._gpu`): the same text but
    for the decorators, the work arrays and the entry point (``_TARGETS``)."""
    tg = _TARGETS[target]
    names = _names(model)
    pr = _MathPrinter()
    states = model.state_names
    ssym = [sympy.Symbol(s) for s in states]
    tsym = sympy.Symbol("time")
    assign = {a: parse(e, names) for a, e in model.assignments.items()}
    rates = [parse(model.rates[s], names) for s in states]
    asym = {a: sympy.Symbol(a) for a in assign}

    head = ["    " + f"{s} = y[{i}]" for i, s in enumerate(states)]
    head += ["    " + f"{n} = p[{i}]" for i, n in enumerate(model.parameter_names)]
    head_assign = ["    " + f"{a} = {pr.doprint(e)}" for a, e in assign.items()]

    # forward-mode derivatives of the assignments w.r.t. states (index j) and time ("t")
    dlines: list[str] = []
    dA: dict[str, dict[object, sympy.Symbol]] = {}
    variables = [(j, s) for j, s in enumerate(ssym)] + [("t", tsym)]
    for a, e in assign.items():
        dA[a] = {}
        used = [b for b in assign if asym[b] in e.free_symbols]
        for key, var in variables:
            terms = []
            direct = sympy.diff(e, var)
            if direct != 0:
                terms.append(direct)
            for b in used:
                if key in dA[b]:
                    db = sympy.diff(e, asym[b])
                    if db != 0:
                        terms.append(db * dA[b][key])
            if terms:
                sym = sympy.Symbol(f"_d_{a}_{key}")
                dA[a][key] = sym
                dlines.append("    " + f"{sym} = {pr.doprint(sympy.Add(*terms))}")

    def total(expr, key, var):
        terms = []
        direct = sympy.diff(expr, var)
        if direct != 0:
            terms.append(direct)
        for a in assign:
            if asym[a] in expr.free_symbols and key in dA[a]:
                da = sympy.diff(expr, asym[a])
                if da != 0:
                    terms.append(da * dA[a][key])
        return sympy.Add(*terms) if terms else sympy.Integer(0)

    uses_time = any(tsym in e.free_symbols for e in (*assign.values(), *rates))

    lines = [tg["HEADER"], "", f"N_STATES = {len(states)}", ""]
    lines += [tg["DEVICE"], "def rhs(time, y, p, out):", *head, *head_assign]
    lines += ["    " + f"out[{i}] = {pr.doprint(r)}" for i, r in enumerate(rates)]
    lines += ["", "", tg["DEVICE"], "def jac(time, y, p, J):", *head, *head_assign, *dlines]
    lines += ["    for _r in range(N_STATES):", "        for _c in range(N_STATES):", "            J[_r, _c] = 0.0"]
    nz: set[tuple[int, int]] = set()
    for i, r in enumerate(rates):
        for j, s in enumerate(ssym):
            d = total(r, j, s)
            if d != 0:
                nz.add((i, j))
                lines.append("    " + f"J[{i}, {j}] = {pr.doprint(d)}")
    lines += ["", "", *_sparse_lu_source(len(states), nz, tg["DEVICE"])]
    lines += ["", "", tg["DEVICE"], "def dtime(time, y, p, out):", *head, *head_assign, *dlines]
    for i, r in enumerate(rates):
        lines.append("    " + f"out[{i}] = {pr.doprint(total(r, 't', tsym)) if uses_time else '0.0'}")
    lines.append(
        _SOLVER_TEMPLATE.format(**{k: v for k, v in tg.items() if k != "HEADER"}, STAGES=_stages_source(uses_time), A=_pad(_A), C=_pad(_C), ALPHA=_ALPHA, GAMMA_I=_GAMMA_I, GAMMA=_GAMMA, NONAUTO=uses_time, DENSE=_DENSE_OUTPUT,
                                D2=" + ".join(f"{c!r} * k{j}[k]" for j, c in enumerate(_D2)),
                                D3=" + ".join(f"{c!r} * k{j}[k]" for j, c in enumerate(_D3)))
    )
    return "\n".join(lines)


_KERNELS: dict[tuple[str, str], object] = {}


def _kernel(model: Model, target: str = "cpu"):
    """The compiled module for this model structure and target (generated file imported from the cache dir)."""
    if (model.structure_key, target) in _KERNELS:
        return _KERNELS[model.structure_key, target]
    try:
        import numba
    except ImportError as exc:  # pragma: no cover - numba is a dependency
        raise SolverError("The batched engine needs numba (pip install numba).") from exc
    src = _kernel_source(model, target)
    key = hashlib.sha1((src + _CODE_VERSION + numba.__version__).encode()).hexdigest()[:20]
    stem = f"moasim_batched_{key}" if target == "cpu" else f"moasim_{target}_{key}"
    path = _cache_dir() / f"{stem}.py"
    if not path.exists() or path.read_text() != src:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(src)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # numba's cache finds the module by name
    spec.loader.exec_module(mod)
    _KERNELS[model.structure_key, target] = mod
    return mod


def _outputs_source(model: Model, wanted: Sequence[str]) -> str:
    names = _names(model)
    pr = NumPyPrinter()
    lines = ["def outputs(time, _Y, _P):", "    _n = _Y.shape[0]"]
    lines += [f"    {s} = _Y[:, {i}]" for i, s in enumerate(model.state_names)]
    lines += [f"    {n} = _P[:, {i}]" for i, n in enumerate(model.parameter_names)]
    lines += [f"    {a} = {pr.doprint(parse(e, names))}" for a, e in model.assignments.items()]
    items = []
    for o in wanted:
        expr = model.outputs[o].expr if o in model.outputs else o
        items.append(f"{o!r}: numpy.zeros(_n) + ({pr.doprint(parse(expr, names))})")
    lines.append("    return {" + ", ".join(items) + "}")
    return "\n".join(lines)


_OUTPUTS: dict[tuple[str, tuple[str, ...]], object] = {}


def batched_outputs(model: Model, names: Sequence[str] | None = None):
    """A function ``f(time, Y, P) -> dict`` of outputs over subjects (Y: (N, n_states), P: (N, n_params)).

    Default names: every output, then every assignment, then every state (an output
    shadows a state of the same name).
    """
    if names is None:
        wanted = list(model.outputs)
        wanted += [a for a in model.assignments if a not in wanted]
        wanted += [s for s in model.state_names if s not in wanted]
    else:
        wanted = list(names)
    key = (model.structure_key, tuple(wanted))
    if key not in _OUTPUTS:
        ns: dict = {"numpy": np}
        exec(compile(_outputs_source(model, wanted), f"<moasim batched outputs {model.name}>", "exec"), ns)
        _OUTPUTS[key] = ns["outputs"]
    return _OUTPUTS[key]


@dataclass(frozen=True, slots=True)
class BatchedResult:
    """States of every subject at the output times, and solver statistics."""

    time: np.ndarray  # (T,)
    states: np.ndarray  # (N, T, n_states)
    state_names: tuple[str, ...]
    steps: np.ndarray  # (N,) accepted + rejected steps
    rejected: np.ndarray  # (N,)
    rhs_evaluations: np.ndarray  # (N,)

    def state(self, name: str) -> np.ndarray:
        """(N, T) trajectory of one state."""
        return self.states[:, :, self.state_names.index(name)]


class BatchedEngine:
    """Integrates a population of one model: RODAS4 per subject, subjects in parallel threads.

    Parameters
    ----------
    rtol, atol : float
        Relative and absolute tolerance (absolute in each state's canonical unit); the
        local error of each step, in the weighted RMS norm, is kept below 1.
    threads : int, optional
        Threads over subjects (default: the CPUs this process may use). The compiled
        kernel releases the GIL, so plain Python threads run it in parallel.
    chunk_size : int
        Most subjects per task handed to a thread (load balance; memory is O(N)).
    max_steps : int
        Step limit per subject between two event times.
    hmax : float
        Largest step (day).
    error_scale : {"current", "peak"}
        What the relative tolerance of the model's absorption states (``State.absorption``:
        SC depots, gut and transit compartments) is relative to. ``"current"`` (default;
        Hairer & Wanner's norm, as for every other state): the state's current magnitude,
        ``atol + rtol*max(|y_old|, |y_new|)``, so an emptying dose compartment is followed
        through ~30 e-foldings down to ``atol`` after every dose. ``"peak"``: the largest
        magnitude the state has had in this run (the dose), ``atol + rtol*max(|y_old|,
        |y_new|, max|y|)``, like a per-state absolute tolerance of ``rtol`` x dose. Daily
        oral dosing then takes 3-4x fewer steps; the systemic and pharmacodynamic states
        are controlled as before (measured in ``benchmarks/README.md``).
    """

    name = "batched"
    ERROR_SCALES = ("current", "peak")

    def __init__(self, rtol: float = 1e-6, atol: float = 1e-9, *, threads: int | None = None,
                 chunk_size: int = 1024, max_steps: int = 100_000, hmax: float = math.inf,
                 error_scale: str = "current") -> None:
        for f, v in (("rtol", rtol), ("atol", atol)):
            if not (isinstance(v, (int, float)) and 0 < v < 1):
                raise SpecError(invalid_value(f, v, "a number in (0, 1)"))
        if error_scale not in self.ERROR_SCALES:
            raise SpecError(invalid_value("error_scale", error_scale, " | ".join(self.ERROR_SCALES)))
        self.error_scale = error_scale
        self.rtol, self.atol = float(rtol), float(atol)
        self.threads = threads
        self.chunk_size = int(chunk_size)
        self.max_steps = int(max_steps)
        self.hmax = float(hmax)

    def prepare(self, model: Model) -> None:
        """Compile (or load from the cache) the kernels for this model structure."""
        _kernel(model)
        batched_outputs(model)

    def run(self, model: Model, params: np.ndarray | None = None, y0: np.ndarray | None = None,
            t_out: np.ndarray = (), event_times: Sequence[float] = (), decide: Decide | None = None,
            *, schedule: "BatchedSchedule | None" = None, t0: float = 0.0) -> BatchedResult:
        """Simulate N subjects; see :func:`run_batched`. ``schedule`` (instead of
        ``event_times``/``decide``) may add event times as it goes, e.g. :class:`SubjectSchedules`."""
        ns, npar = len(model.state_names), len(model.parameter_names)
        if params is None and y0 is None:
            raise SpecError("Give params (N, n_params) and/or y0 (N, n_states) to set the number of subjects.")
        if params is None:
            n = np.asarray(y0).shape[0]
            params = np.tile(model.parameter_vector(), (n, 1))
        params = np.array(params, dtype=float, order="C", copy=True)  # events may change parameters
        n = params.shape[0]
        if y0 is None:
            y0 = np.tile(model.initial_vector(), (n, 1))
        Y = np.array(y0, dtype=float, order="C", copy=True)
        if params.ndim != 2 or params.shape != (n, npar):
            raise SpecError(invalid_value("params shape", params.shape, f"(N, {npar}) in model.parameter_names order"))
        if Y.shape != (n, ns):
            raise SpecError(invalid_value("y0 shape", Y.shape, f"({n}, {ns}) in model.state_names order"))
        if not (np.all(np.isfinite(params)) and np.all(np.isfinite(Y))):
            raise SpecError(invalid_value("params/y0", "non-finite values", "finite numbers"))
        t_out = np.asarray(t_out, dtype=float)
        if t_out.ndim != 1 or len(t_out) == 0 or np.any(np.diff(t_out) < 0) or t_out[0] < t0:
            raise SpecError(invalid_value("output times", "unsorted or before t0", f"sorted times >= {t0} day"))
        if schedule is None:
            schedule = _DecideSchedule(model, event_times, decide)
        elif decide is not None or len(event_times):
            raise SpecError("Give either schedule or event_times/decide, not both.")
        with self._integrator(model, n) as integrate:
            return self._loop(integrate, model, params, Y, t_out, float(t0), schedule)

    @contextmanager
    def _integrator(self, model: Model, n: int):
        """``integrate(Y, params, t, t_next, tobs, seg, status, stats, ypeak, peakmask)`` for ``n`` subjects: the
        compiled CPU kernel over chunks of subjects in threads (the kernel releases the GIL)."""
        mod = _kernel(model)
        threads = self.threads or _cpus()
        step = max(1, min(self.chunk_size, -(-n // threads)))
        chunks = [(a, min(a + step, n)) for a in range(0, n, step)]
        pool = ThreadPoolExecutor(threads) if threads > 1 and len(chunks) > 1 else None

        def integrate(Y, params, t, t_next, tobs, seg, status, stats, ypeak, peakmask) -> None:
            def work(a: int, b: int) -> None:
                mod.integrate(Y[a:b], params[a:b], t, t_next, tobs, seg[a:b], self.rtol, self.atol, self.max_steps,
                              self.hmax, status[a:b], stats[a:b], ypeak[a:b], peakmask)

            if pool is None:
                work(0, len(Y))
            else:
                list(pool.map(lambda ab: work(*ab), chunks))

        try:
            yield integrate
        finally:
            if pool is not None:
                pool.shutdown()

    def _loop(self, integrate, model, params, Y, t_out, t0, schedule) -> BatchedResult:
        """Integrate between event times with ``integrate(Y, params, t, t_next, tobs, seg, status, stats, ypeak, peakmask)``
        (in place: Y, seg = states at tobs, status, stats, ypeak = the largest magnitude so far of
        each state where peakmask is 1: absorption states with ``error_scale="peak"``) and apply the schedule's events in between."""
        n, ns = Y.shape
        t_end = float(t_out[-1])
        outs = batched_outputs(model)
        OUT = np.empty((n, len(t_out), ns))
        status = np.zeros(n, dtype=np.int64)
        stats = np.zeros((n, 3), dtype=np.int64)
        ypeak = np.zeros((n, ns))  # stays 0 where peakmask is 0
        absorption = {s.name for s in model.states if s.absorption}
        peakmask = np.array([float(self.error_scale == "peak" and s in absorption) for s in model.state_names])
        k = int(np.searchsorted(t_out, t0, side="right"))
        OUT[:, :k] = Y[:, None, :]  # outputs at t0 (before any event at t0)
        t = t0
        while True:
            if schedule.has_event(t):  # pre-event outputs, then the events at t
                schedule.apply(t, outs(np.full(n, t), Y, params), Y, params)
            if t >= t_end:
                break
            t_next = min(schedule.next_time(t), t_end)
            j = int(np.searchsorted(t_out, t_next, side="right"))
            tobs = np.ascontiguousarray(t_out[k:j])
            seg = np.empty((n, len(tobs), ns))
            if self.error_scale == "peak":  # doses just added count as the absorption state's scale
                ypeak[:, peakmask != 0] = np.maximum(ypeak[:, peakmask != 0], np.abs(Y[:, peakmask != 0]))
            integrate(Y, params, t, t_next, tobs, seg, status, stats, ypeak, peakmask)
            if np.any(status != 0):
                bad = np.flatnonzero(status)
                why = "step limit reached" if status[bad[0]] == 1 else "step size underflow"
                raise SolverError(f"Batched integration failed for {len(bad)} subject(s) (first: {bad[0]}, "
                                  f"{why}) between t={t:g} and t={t_next:g} day.")
            OUT[:, k:j] = seg
            k = j
            t = t_next
        return BatchedResult(time=t_out, states=OUT, state_names=model.state_names, steps=stats[:, 0].copy(),
                             rejected=stats[:, 1].copy(), rhs_evaluations=stats[:, 2].copy())


class BatchedSchedule(Protocol):
    """What the batched loop asks at event times (shared by all subjects)."""

    def has_event(self, t: float) -> bool:
        """Whether anything happens at ``t`` (the loop then calls :meth:`apply`)."""

    def next_time(self, t: float) -> float:
        """The next event time strictly after ``t`` (``inf`` if none)."""

    def apply(self, t: float, outputs: dict[str, np.ndarray], Y: np.ndarray, P: np.ndarray) -> None:
        """Apply the events at ``t`` to states ``Y`` (N, n_states) and parameters ``P`` (N, n_params) in place."""


class _DecideSchedule:
    """Fixed shared event times and a vectorised ``decide`` (increments to states, values of parameters)."""

    def __init__(self, model: Model, event_times: Sequence[float], decide: Decide | None) -> None:
        self.times = sorted({float(t) for t in event_times}) if decide is not None else []
        self.decide = decide
        self.sidx = {s: i for i, s in enumerate(model.state_names)}
        self.pidx = {p: i for i, p in enumerate(model.parameter_names)}

    def has_event(self, t: float) -> bool:
        i = bisect.bisect_left(self.times, t)
        return i < len(self.times) and self.times[i] == t

    def next_time(self, t: float) -> float:
        i = bisect.bisect_right(self.times, t)
        return self.times[i] if i < len(self.times) else math.inf

    def apply(self, t, outputs, Y, P) -> None:
        n = Y.shape[0]
        for name, value in (self.decide(t, outputs) or {}).items():
            v = np.broadcast_to(np.asarray(value, dtype=float), (n,))
            if name in self.sidx:
                Y[:, self.sidx[name]] += v
            elif name in self.pidx:
                keep = np.isnan(v)
                P[:, self.pidx[name]] = np.where(keep, P[:, self.pidx[name]], v)
            else:
                raise SpecError(unknown_name("state or parameter", name, [*self.sidx, *self.pidx], "decide()'s result"))


class SubjectSchedules:
    """Per-subject moasim :class:`~moasim.engine.Event` lists and controllers, as in
    :func:`~moasim.engine.run_schedule` (same semantics, for N subjects at once).

    Event times are the union over subjects; controllers' follow-up events (e.g. the end
    of an infusion) add times as they are scheduled. ``ledgers[i]`` lists the events
    applied to subject ``i``. Controllers are called per subject (Python), so this is
    meant for per-subject rules; a vectorised ``decide`` is faster.
    """

    def __init__(self, model: Model, events: Sequence[Sequence[Event]], controllers: Sequence[Sequence[Controller]] | None,
                 t_end: float) -> None:
        n = len(events)
        controllers = controllers if controllers is not None else [()] * n
        if len(controllers) != n:
            raise SpecError(invalid_value("controllers", len(controllers), f"one sequence per subject ({n})"))
        self.model, self.t_end = model, float(t_end)
        self.sidx = {s: i for i, s in enumerate(model.state_names)}
        self.pidx = {p: i for i, p in enumerate(model.parameter_names)}
        self.controllers = [tuple(c) for c in controllers]
        self.queues: list[list] = [[] for _ in range(n)]
        self.ledgers: list[list[Event]] = [[] for _ in range(n)]
        self._due: dict[float, set[int]] = {}
        self._times: list[float] = []
        self._seq = 0
        self._now = -math.inf
        for i in range(n):
            for ev in events[i]:
                self._push(i, ev.time, ev)
            for c in self.controllers[i]:
                for t in c.decision_times:
                    if t <= self.t_end:
                        self._mark(i, float(t))

    def _mark(self, i: int, t: float) -> None:
        if t <= self._now:
            return  # due at the time being applied: apply() handles it now
        if t not in self._due:
            self._due[t] = set()
            bisect.insort(self._times, t)
        self._due[t].add(i)

    def _push(self, i: int, t: float, ev: Event) -> None:
        heapq.heappush(self.queues[i], (float(t), self._seq, ev))
        self._seq += 1
        self._mark(i, float(t))

    def has_event(self, t: float) -> bool:
        return t in self._due

    def next_time(self, t: float) -> float:
        i = bisect.bisect_right(self._times, t)
        return self._times[i] if i < len(self._times) else math.inf

    def apply(self, t, outputs, Y, P) -> None:
        from ._events import _apply

        self._now = t
        for i in sorted(self._due.pop(t, ())):
            ctl = [c for c in self.controllers[i] if t in c.decision_times]
            if ctl:
                observe = lambda name, i=i: float(outputs[name][i])  # noqa: E731
                for c in ctl:
                    for ev in c.decide(t, observe):
                        self._push(i, max(float(ev.time), t), ev)
            q = self.queues[i]
            while q and q[0][0] <= t:
                _, _, ev = heapq.heappop(q)
                if ev.time > self.t_end:
                    continue
                _apply(ev, Y[i], P[i], self.sidx, self.pidx)
                self.ledgers[i].append(ev)


def run_batched(model: Model, params: np.ndarray | None, y0: np.ndarray | None, t_out: np.ndarray,
                event_times: Sequence[float] = (), decide: Decide | None = None, *, rtol: float = 1e-6,
                atol: float = 1e-9, threads: int | None = None, t0: float = 0.0) -> np.ndarray:
    """States of N subjects of ``model`` at ``t_out``: array (N, len(t_out), n_states).

    Parameters
    ----------
    model : Model
        The model (equations from its text); ``model.parameter_values`` / ``model.initial``
        fill ``params`` / ``y0`` when one of them is None.
    params : array (N, n_params)
        Parameter values per subject, in ``model.parameter_names`` order (canonical units).
    y0 : array (N, n_states)
        Initial states at ``t0``, in ``model.state_names`` order.
    t_out : array
        Sorted output times (day), >= t0. A value equal to an event time is pre-event.
    event_times : sequence of float
        Times (shared by all subjects) at which ``decide`` is called; the integration
        restarts there.
    decide : callable ``decide(t, outputs) -> {name: (N,) array}``
        ``outputs`` maps every model output, assignment and state name to an (N,)
        array of pre-event values. Return, per name, amounts to add to a state (a
        bolus dose) or new values of a parameter (an infusion rate ``INPUT_<state>``,
        a food switch; NaN keeps a subject's value), or None / {} for nothing.
    rtol, atol : float
        Tolerances of the per-subject RODAS4 step control.
    threads : int, optional
        Threads over subjects.
    """
    eng = BatchedEngine(rtol, atol, threads=threads)
    return eng.run(model, params, y0, t_out, event_times, decide, t0=t0).states
