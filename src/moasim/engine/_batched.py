"""Batched population engine: many subjects of one model integrated at once.

Each subject is integrated by its own adaptive Rosenbrock method (RODAS4: order 4(3),
6 stages, L-stable and stiffly accurate, Hairer & Wanner, *Solving ODEs II*, sec. IV.7;
third-order continuous extension for the output times) with an analytic Jacobian. The
solver is plain Python in :mod:`._rodas4`; this module generates only what is specific to
a model: the right-hand side, the Jacobian (chain rule through the model's algebraic
assignments), the time derivative and a sparse LU of ``I/(h*gamma) - J`` (fixed order,
dense pivoted LU as fallback), from the model's equation text with sympy, like the other
engines' code (:mod:`._codegen`). Model functions and solver are compiled together once
per model structure with numba, for the CPU here or for a CUDA GPU (:mod:`._gpu`); the
generated module is cached on disk (``MOASIM_CACHE_DIR``, default ``~/.cache/moasim``).
The compiled loop over subjects releases the GIL: chunks of subjects run in threads.

All subjects share the event times (a common visit/dose schedule). At each event time
the caller's ``decide(t, outputs)`` sees the pre-event outputs of every subject (the
NONMEM convention of :func:`moasim.engine.run_schedule`: an observation at an event time
is taken before the event) and returns per-subject increments to states or new parameter
values. :class:`SubjectSchedules` runs per-subject moasim ``Event`` lists and controllers
with :func:`~moasim.engine.run_schedule`'s semantics instead, and dosing rules over all
subjects at once (:class:`ArrayRule`; schedules live in :mod:`._schedules`). The integration
restarts at every event time, so dose discontinuities are never stepped over.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter

from ..errors import SolverError, SpecError, invalid_value
from ..model import Model
from ._codegen import _MathPrinter, _names, parse
from . import _rodas4
from ._schedules import ArrayRule, BatchedSchedule, Decide, SubjectSchedules, _DecideSchedule, _LazyOutputs

__all__ = ["BatchedEngine", "BatchedResult", "BatchedSchedule", "SubjectSchedules", "ArrayRule", "run_batched", "batched_outputs"]

# Observations by the continuous extension (True) or by ending steps on them (False).
_DENSE_OUTPUT = os.environ.get("MOASIM_BATCHED_DENSE", "1") != "0"

# Version of the generated code: part of the cache key.
_CODE_VERSION = "5"

#: The solver's text: everything below the marker in :mod:`._rodas4` (a plain Python file).
_SOLVER_MARKER = "# ---- SOLVER:"


def _solver_source(target: str) -> str:
    """The RODAS4 solver of :mod:`._rodas4` as text for a generated module of ``target``: for
    CUDA every ``np.empty(shape[, np.int64])`` work array becomes a thread-local
    ``cuda.local.array(shape, numba.float64 | numba.int64)`` (compile-time shapes)."""
    text = Path(_rodas4.__file__).read_text()
    body = text[text.index(_SOLVER_MARKER):]
    if target == "cuda":
        body = re.sub(r"np\.empty\(((?:\([^()]*\))|[^(),]+), np\.int64\)", r"cuda.local.array(\1, numba.int64)", body)
        body = re.sub(r"np\.empty\(((?:\([^()]*\))|[^(),]+)\)", r"cuda.local.array(\1, numba.float64)", body)
    return body


#: What differs between compilation targets: the imports and the decorator of every
#: device-side function (``device``), and the entry point over subjects. The CPU entry point
#: loops over its rows and releases the GIL; the CUDA one is a kernel with one subject per
#: thread (numba's CUDA target).
_TARGETS = {
    "cpu": dict(
        HEADER="import math\nimport numpy as np\nimport numba\n\ndevice = numba.njit(cache=True)\ninline = numba.njit(cache=True, inline=\"always\")",
        INTEGRATE='''@numba.njit(cache=True, nogil=True)
def integrate(Y, P, t0, t1, tobs, OUT, rtol, atol, max_steps, hmax, status, stats, YPEAK, PEAKMASK):
    """Subjects (rows) from t0 to t1 (Y in place); OUT[i, k] = state of subject i at tobs[k]. Releases the GIL."""
    N = Y.shape[0]
    for i in range(N):
        if status[i] == 0:
            status[i] = segment(Y[i], P[i], t0, t1, tobs, OUT[i], rtol, atol, max_steps, hmax, stats[i], YPEAK[i], PEAKMASK)
'''),
    "cuda": dict(
        HEADER="import math\nimport numpy as np\nimport numba\nfrom numba import cuda\n\ndevice = cuda.jit(device=True)\ninline = cuda.jit(device=True)",
        INTEGRATE='''@cuda.jit(cache=True)
def integrate(Y, P, t0, t1, tobs, OUT, rtol, atol, max_steps, hmax, status, stats, YPEAK, PEAKMASK):
    """One subject per thread from t0 to t1 (Y in place); OUT[i, k] = state of subject i at tobs[k]."""
    i = cuda.grid(1)
    if i < Y.shape[0] and status[i] == 0:
        status[i] = segment(Y[i], P[i], t0, t1, tobs, OUT[i], rtol, atol, max_steps, hmax, stats[i], YPEAK[i], PEAKMASK)
'''),
}


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


def _lu_pattern(n: int, nz: set[tuple[int, int]]):
    """Symbolic sparse LU of G = fac*I - J on J's pattern ``nz``: the minimum-degree order
    ``perm`` (new index k -> original perm[k]), the pattern with fill-in, sorted (``ent``, the
    storage order of ``g``), its position map ``idx`` and the original entries ``orig``."""
    perm = _min_degree_order(n, nz)
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
    return perm, ent, {ij: m for m, ij in enumerate(ent)}, orig


#: Above this many elimination updates the sparse LU is generated as loops over index arrays
#: instead of straight-line code: numba's compile time grows with the operations written out
#: (romiplostim's ITP model, 1,604 updates: ~15 s more than the loops), the loops' does not.
STRAIGHT_LINE_MAX_UPDATES = 2500


def _lu_updates(n: int, ent_idx: dict) -> int:
    """Elimination updates g[i, j] -= l[i, k] * u[k, j] of the LU on the filled pattern."""
    total = 0
    for k in range(n):
        rows = sum(1 for i in range(k + 1, n) if (i, k) in ent_idx)
        cols = sum(1 for j in range(k + 1, n) if (k, j) in ent_idx)
        total += rows * cols
    return total


def _sparse_lu_source(n: int, nz: set[tuple[int, int]], device: str = "@numba.njit(cache=True)",
                      straight_line: bool | None = None) -> list[str]:
    """Source of ``lu_sparse(J, fac, g, rowmax)`` and ``solve_sparse(g, b, x)``: the sparse LU (no
    pivoting; minimum-degree order) of G = fac*I - J on J's pattern and its solve, as straight-line
    code (:func:`_sparse_lu_straight`) or, for large factorisations (``straight_line`` None: more
    than :data:`STRAIGHT_LINE_MAX_UPDATES` updates), as loops over index arrays
    (:func:`_sparse_lu_loops`). Both do the same operations in the same order (same results).
    """
    pattern = _lu_pattern(n, nz)
    if straight_line is None:
        straight_line = _lu_updates(n, pattern[2]) <= STRAIGHT_LINE_MAX_UPDATES
    return (_sparse_lu_straight if straight_line else _sparse_lu_loops)(n, pattern, device)


def _sparse_lu_loops(n: int, pattern, device: str) -> list[str]:
    """The sparse LU and solve as loops over precomputed index arrays (compact code: the compile
    time does not grow with the fill-in). Diagonal entries of ``g`` hold the reciprocal pivots;
    ``rowmax`` and ``x`` are work arrays."""
    perm, ent, idx, orig = pattern
    b_row = [perm[i] if (i, j) in orig else -1 for i, j in ent]
    b_col = [perm[j] if (i, j) in orig else -1 for i, j in ent]
    b_new_row = [i for i, _ in ent]
    b_diag = [1 if i == j else 0 for i, j in ent]
    piv = [idx[(k, k)] for k in range(n)]
    ls, lidx, us, ut, usrc = [0], [], [0], [], []
    for k in range(n):
        cols = [j for j in range(k + 1, n) if (k, j) in idx]
        for i in range(k + 1, n):
            if (i, k) in idx:
                lidx.append(idx[(i, k)])
                for j in cols:
                    ut.append(idx[(i, j)])
                    usrc.append(idx[(k, j)])
                us.append(len(ut))
        ls.append(len(lidx))
    fs, fidx, fcol, bs, bidx, bcol = [0], [], [], [0], [], []
    for i in range(n):
        for k in range(i):
            if (i, k) in idx:
                fidx.append(idx[(i, k)])
                fcol.append(k)
        fs.append(len(fidx))
    for i in range(n):
        for j in range(i + 1, n):
            if (i, j) in idx:
                bidx.append(idx[(i, j)])
                bcol.append(j)
        bs.append(len(bidx))

    def arr(name: str, values) -> str:
        return f"{name} = np.array({list(values) or [0]!r}, dtype=np.int64)"

    out = [f"NNZ_LU = {len(ent)}", arr("_LU_PERM", perm), arr("_LU_BROW", b_row), arr("_LU_BCOL", b_col),
           arr("_LU_BNEW", b_new_row), arr("_LU_BDIAG", b_diag), arr("_LU_PIV", piv), arr("_LU_LS", ls),
           arr("_LU_LIDX", lidx), arr("_LU_US", us), arr("_LU_UT", ut), arr("_LU_USRC", usrc), arr("_LU_FS", fs),
           arr("_LU_FIDX", fidx), arr("_LU_FCOL", fcol), arr("_LU_BS", bs), arr("_LU_BIDX", bidx), arr("_LU_BCOLS", bcol)]
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


def _sparse_lu_straight(n: int, pattern, device: str) -> list[str]:
    """The sparse LU and its solve as straight-line code: every operation of the factorisation and
    of the two triangular solves is written out with its entries as local variables (no index
    arrays). Against the loops of :func:`_sparse_lu_loops`, on the ITP models: factorisation
    4-4.5x and solve 2.2-2.5x faster, kernel time per subject 0.49-0.70x, bitwise-identical
    results (``benchmarks/README.md``). The price is compile time, once per model structure: the
    nearly dense 25-state romiplostim Jacobian (1,604 updates) compiles in ~35 s instead of ~20 s.

    ``lu_sparse`` returns False when a pivot is small relative to its row of G (the caller then
    uses dense LU with partial pivoting); ``g`` receives the factors in the storage order of the
    pattern, the diagonal holding reciprocal pivots. ``rowmax`` and the ``x`` of
    ``solve_sparse(g, b, x)`` are unused here (the loop form's work arrays).
    """
    perm, ent, idx, orig = pattern
    lu = [device, "def lu_sparse(J, fac, g, rowmax):"]
    # every value gets its own local name (v<m>_<version>): numba compiles a function that
    # reassigns the same names thousands of times much more slowly
    ver = dict.fromkeys(range(len(ent)), 0)

    def cur(m: int) -> str:
        return f"v{m}_{ver[m]}"

    def nxt(m: int) -> str:
        ver[m] += 1
        return cur(m)

    for m, (i, j) in enumerate(ent):  # G in the new order, fill-in as zeros
        v = f"-J[{perm[i]}, {perm[j]}]" if (i, j) in orig else "0.0"
        lu.append(f"    {cur(m)} = {v}" + (" + fac" if i == j else ""))
    for i in range(n):  # the largest magnitude in each row of G, for the pivot test
        row = [f"abs({cur(idx[(i, j)])})" for j in range(n) if (i, j) in idx]
        lu.append(f"    rm{i} = " + (row[0] if len(row) == 1 else f"max({', '.join(row)})"))
    for k in range(n):
        d = idx[(k, k)]
        lu += [f"    if not (abs({cur(d)}) > 1e-10 * rm{k}):", "        return False"]
        pivot = cur(d)
        lu.append(f"    {nxt(d)} = 1.0 / {pivot}")
        cols = [j for j in range(k + 1, n) if (k, j) in idx]
        for i in range(k + 1, n):
            if (i, k) in idx:
                li = idx[(i, k)]
                old = cur(li)
                lu.append(f"    {nxt(li)} = {old} * {cur(d)}")
                for j in cols:
                    t, u = idx[(i, j)], idx[(k, j)]
                    old = cur(t)
                    lu.append(f"    {nxt(t)} = {old} - {cur(li)} * {cur(u)}")
    lu += [f"    g[{m}] = {cur(m)}" for m in range(len(ent))]
    lu.append("    return True")
    sv = [device, "def solve_sparse(g, b, x):"]
    for i in range(n):  # forward: L (unit diagonal) x = P b
        terms = "".join(f" - g[{idx[(i, k)]}] * x{k}" for k in range(i) if (i, k) in idx)
        sv.append(f"    x{i} = b[{perm[i]}]{terms}")
    for i in range(n - 1, -1, -1):  # backward: U z = x, reciprocal pivots on the diagonal
        terms = "".join(f" - g[{idx[(i, j)]}] * z{j}" for j in range(i + 1, n) if (i, j) in idx)
        sv.append(f"    z{i} = (x{i}{terms}) * g[{idx[(i, i)]}]")
    sv += [f"    b[{perm[i]}] = z{i}" for i in range(n)]
    return [f"NNZ_LU = {len(ent)}", "", "", *lu, "", "", *sv]


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
    """numba source of one model structure: the model's rhs, jac (chain rule through the
    assignments), dtime and sparse LU, generated here, then the RODAS4 solver of :mod:`._rodas4`
    and an entry point over subjects, for ``target`` ``"cpu"`` (the batched engine) or
    ``"cuda"`` (:mod:`._gpu`): the same text but for the decorator, the work arrays and the
    entry point (``_TARGETS``, :func:`_solver_source`)."""
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

    lines = [tg["HEADER"], "", f"N_STATES = {len(states)}", f"NONAUTONOMOUS = {uses_time!r}", f"DENSE = {_DENSE_OUTPUT!r}", ""]
    lines += ["@device", "def rhs(time, y, p, out):", *head, *head_assign]
    lines += ["    " + f"out[{i}] = {pr.doprint(r)}" for i, r in enumerate(rates)]
    lines += ["", "", "@device", "def jac(time, y, p, J):", *head, *head_assign, *dlines]
    lines += ["    for _r in range(N_STATES):", "        for _c in range(N_STATES):", "            J[_r, _c] = 0.0"]
    nz: set[tuple[int, int]] = set()
    for i, r in enumerate(rates):
        for j, s in enumerate(ssym):
            d = total(r, j, s)
            if d != 0:
                nz.add((i, j))
                lines.append("    " + f"J[{i}, {j}] = {pr.doprint(d)}")
    lines += ["", "", *_sparse_lu_source(len(states), nz, "@device")]
    lines += ["", "", "@device", "def dtime(time, y, p, out):", *head, *head_assign, *dlines]
    for i, r in enumerate(rates):
        lines.append("    " + f"out[{i}] = {pr.doprint(total(r, 't', tsym)) if uses_time else '0.0'}")
    lines += ["", "", _solver_source(target), "", tg["INTEGRATE"]]
    return "\n".join(lines)


_KERNELS: dict[tuple[str, str], object] = {}


@lru_cache(maxsize=1)
def _generator_hash() -> str:
    """Hash of the code that generates kernels (this module, the solver, the code-generation helpers)."""
    from . import _codegen, _rodas4

    h = hashlib.sha1()
    for mod in (sys.modules[__name__], _rodas4, _codegen):
        h.update(Path(mod.__file__).read_bytes())
    return h.hexdigest()


def _index_key(model: Model, target: str, numba_version: str) -> str:
    """Cache-index key of a model structure's kernel: the equations, the target and the generator."""
    text = "|".join((model.structure_key, target, _CODE_VERSION, numba_version, _generator_hash()))
    return hashlib.sha1(text.encode()).hexdigest()[:24]


def _kernel(model: Model, target: str = "cpu"):
    """The compiled module for this model structure and target (generated file imported from the cache dir)."""
    if (model.structure_key, target) in _KERNELS:
        return _KERNELS[model.structure_key, target]
    try:
        import numba
    except ImportError as exc:  # pragma: no cover - numba is a dependency
        raise SolverError("The batched engine needs numba (pip install numba).") from exc
    # the generated file of this structure, found without generating it (sympy takes ~1 s per
    # structure and process) when the index names one; the index key covers the generator's code
    index = _cache_dir() / f"index_{_index_key(model, target, numba.__version__)}.txt"
    stem = index.read_text().strip() if index.exists() else ""
    path = _cache_dir() / f"{stem}.py"
    if not stem or not path.exists():
        src = _kernel_source(model, target)
        key = hashlib.sha1((src + _CODE_VERSION + numba.__version__).encode()).hexdigest()[:20]
        stem = f"moasim_batched_{key}" if target == "cpu" else f"moasim_{target}_{key}"
        path = _cache_dir() / f"{stem}.py"
        for f, text in ((path, src), (index, stem)):
            if not f.exists() or f.read_text() != text:
                tmp = f.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(text)
                os.replace(tmp, f)
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
    absorption_rtol : float, optional
        With ``error_scale="peak"``: the relative tolerance of the absorption states with
        respect to their peak (default: ``rtol``). Their error reaches the systemic states
        only through first-order transfer, so a looser value here can save steps without
        loosening the systemic and response states, which keep ``rtol``: the trials use
        1e-4 with rtol 1e-6, which halves the steps of avatrombopag's 10-compartment
        transit chain at the same daily-count accuracy (``benchmarks/README.md``; tested
        against scipy Radau in ``tests/engine/test_batched.py``).
    """

    name = "batched"
    ERROR_SCALES = ("current", "peak")

    def __init__(self, rtol: float = 1e-6, atol: float = 1e-9, *, threads: int | None = None,
                 chunk_size: int = 1024, max_steps: int = 100_000, hmax: float = math.inf,
                 error_scale: str = "current", absorption_rtol: float | None = None) -> None:
        absorption_rtol = rtol if absorption_rtol is None else absorption_rtol
        for f, v in (("rtol", rtol), ("atol", atol), ("absorption_rtol", absorption_rtol)):
            if isinstance(v, bool) or not (isinstance(v, (int, float)) and 0 < v < 1):
                raise SpecError(invalid_value(f, v, "a number in (0, 1)"))
        if error_scale not in self.ERROR_SCALES:
            raise SpecError(invalid_value("error_scale", error_scale, " | ".join(self.ERROR_SCALES)))
        if absorption_rtol < rtol:
            raise SpecError(invalid_value("absorption_rtol", absorption_rtol, f">= rtol ({rtol:g})"))
        self.error_scale = error_scale
        self.absorption_rtol = float(absorption_rtol)
        self.rtol, self.atol = float(rtol), float(atol)
        self.threads = threads
        self.chunk_size = int(chunk_size)
        self.max_steps = int(max_steps)
        self.hmax = float(hmax)

    def prepare(self, model: Model) -> None:
        """Compile (or load from the cache) the kernels for this model structure, and load the
        compiled entry point into this process (numba loads it, and initialises its CPU target,
        on the first call: done here with a zero-length segment, so that forked trial workers
        inherit it instead of each loading it again)."""
        mod = _kernel(model)
        batched_outputs(model)
        ns, y = len(model.state_names), np.array([model.initial_vector()], dtype=float)
        p = np.array([model.parameter_vector()], dtype=float)
        mod.integrate(y, p, 0.0, 0.0, np.empty(0), np.empty((1, 0, ns)), self.rtol, self.atol, self.max_steps,
                      self.hmax, np.zeros(1, dtype=np.int64), np.zeros((1, 3), dtype=np.int64), np.zeros((1, ns)),
                      np.zeros(ns))

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
        each state where peakmask is nonzero: absorption states with ``error_scale="peak"``, times their
        factor absorption_rtol/rtol) and apply the schedule's events in between."""
        n, ns = Y.shape
        t_end = float(t_out[-1])
        outs = batched_outputs(model)
        OUT = np.empty((n, len(t_out), ns))
        status = np.zeros(n, dtype=np.int64)
        stats = np.zeros((n, 3), dtype=np.int64)
        ypeak = np.zeros((n, ns))  # stays 0 where peakmask is 0
        # per state: 0, or the factor on its peak in the error scale (absorption states with "peak")
        factor = self.absorption_rtol / self.rtol
        peakmask = np.array([factor if self.error_scale == "peak" and s.absorption else 0.0 for s in model.states])
        k = int(np.searchsorted(t_out, t0, side="right"))
        OUT[:, :k] = Y[:, None, :]  # outputs at t0 (before any event at t0)
        t = t0
        while True:
            if schedule.has_event(t):  # pre-event outputs, then the events at t
                schedule.apply(t, _LazyOutputs(outs, t, Y, params), Y, params)
            if t >= t_end:
                break
            t_next = min(schedule.next_time(t), t_end)
            j = int(np.searchsorted(t_out, t_next, side="right"))
            tobs = np.ascontiguousarray(t_out[k:j])
            seg = np.empty((n, len(tobs), ns))
            np.maximum(ypeak, np.abs(Y) * peakmask, out=ypeak)  # doses just added count as the absorption state's scale
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
