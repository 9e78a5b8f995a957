"""The RODAS4 integrator of the batched engine, written once as plain Python.

RODAS4: a Rosenbrock method of order 4(3), 6 stages, L-stable and stiffly accurate (Hairer &
Wanner, *Solving Ordinary Differential Equations II*, 2nd ed., sec. IV.7; coefficients as in
Hairer's ``rodas.f``), with its third-order continuous extension for output times between
steps. In the form used here, each stage solves

    G K_i = f(t + alpha_i h, y + sum_j A_ij K_j) + sum_j (C_ij / h) K_j + h gamma_i df/dt,
    G = I / (h gamma) - J,

and ``y_new = y + A_51 K_1 + ... + A_54 K_4 + K_5 + K_6``: the method is stiffly accurate (the
step ends on the last stage's argument plus ``K_6``), and ``K_6`` is the error estimate. The
stages are written out in :func:`segment`, stage by stage as in rodas.f: the same stages in
a helper function ran 1.5-2x slower under numba (measured on the reference workload).

How it is compiled. This file is the solver's source: :mod:`._batched` appends the text
below the ``SOLVER`` marker to each generated model module (after the model's ``rhs``,
``jac``, ``dtime``, ``lu_sparse``, ``solve_sparse`` and the constants ``N_STATES``,
``NNZ_LU``, ``NONAUTONOMOUS``, ``DENSE``) and numba compiles it there, for the CPU
(``device = numba.njit(cache=True)``) or for CUDA (``device = cuda.jit(device=True)``, and
each ``np.empty(...)`` work array becomes a thread-local ``cuda.local.array``). Imported on
its own, the module is plain Python with placeholder model functions, so it can be read,
linted and documented like any other; it does not run on its own.
"""

import math

import numpy as np


def device(f):  # the generated module binds ``device`` to numba's CPU or CUDA decorator
    return f


def inline(f):  # the same, inlined into the caller on the CPU (numba IR inlining) for small helpers
    return f


# Placeholders for what the generated model module defines before the solver text.
N_STATES = 1
NNZ_LU = 1
NONAUTONOMOUS = False  # whether the right-hand side depends on time (then df/dt enters the stages)
DENSE = True  # observations by the continuous extension (True) or by ending steps on them


def rhs(time, y, p, out):  # dy/dt
    raise NotImplementedError


def jac(time, y, p, J):  # df/dy
    raise NotImplementedError


def dtime(time, y, p, out):  # df/dt
    raise NotImplementedError


def lu_sparse(J, fac, g, rowmax):  # sparse LU of fac*I - J into g; False if a pivot is small
    raise NotImplementedError


def solve_sparse(g, b, x):  # b <- (fac*I - J)^-1 b with the factors in g
    raise NotImplementedError


# ---- SOLVER: the text from here on is compiled into every generated model module ----

# RODAS4 coefficients, named as in Hairer's rodas.f (1-based): A_ij and C_ij of the stages,
# the nodes T_i (rodas.f's C2..C6), D_i = gamma_i (rodas.f's D1..D4; D5 = D6 = 0), GAMMA, and
# H2j/H3j of the continuous extension. Module-level floats: numba compiles them as constants.
A21 = 1.544
A31 = 0.9466785280815826
A32 = 0.2557011698983284
A41 = 3.314825187068521
A42 = 2.896124015972201
A43 = 0.9986419139977817
A51 = 1.221224509226641
A52 = 6.019134481288629
A53 = 12.53708332932087
A54 = -0.687886036105895
A65 = 1.0  # row 6 of A is row 5 plus this: the method is stiffly accurate
C21 = -5.6688
C31 = -2.430093356833875
C32 = -0.2063599157091915
C41 = -0.1073529058151375
C42 = -9.594562251023355
C43 = -20.47028614809616
C51 = 7.496443313967647
C52 = -10.24680431464352
C53 = -33.99990352819905
C54 = 11.7089089320616
C61 = 8.083246795921522
C62 = -7.981132988064893
C63 = -31.52159432874371
C64 = 16.31930543123136
C65 = -6.058818238834054
T2 = 0.386
T3 = 0.21
T4 = 0.63
T5 = 1.0
T6 = 1.0
D1 = 0.25
D2 = -0.1043
D3 = 0.1035
D4 = -0.0362
GAMMA = 0.25
H21 = 10.12623508344586
H22 = -7.487995877610167
H23 = -34.80091861555747
H24 = -7.992771707568823
H25 = 1.025137723295662
H31 = -0.6762803392801253
H32 = 6.087714651680015
H33 = 16.43084320892478
H34 = 24.76722511418386
H35 = -6.594389125716872


@inline
def error_norm(v, y, ynew, ypeak, rtol, atol):
    """Weighted RMS norm of the error estimate ``v``: scale ``atol + rtol * max(|y|, |y_new|, peak)``."""
    s = 0.0
    n = v.shape[0]
    for k in range(n):
        sc = atol + rtol * max(abs(y[k]), abs(ynew[k]), ypeak[k])
        e = v[k] / sc
        s += e * e
    return math.sqrt(s / n)


@device
def dense_lu(G, piv):
    """LU with partial pivoting of G in place (rows exchanged whole); False if singular."""
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
            lk = G[r, k] * inv
            if lk != 0.0:
                G[r, k] = lk
                for c in range(k + 1, n):
                    G[r, c] -= lk * G[k, c]
            else:
                G[r, k] = 0.0
    return True


@device
def dense_lu_solve(G, piv, b):
    """b <- G^-1 b with the factors of :func:`dense_lu`."""
    n = G.shape[0]
    for k in range(n):  # P G = L U: permute b first
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


@inline
def initial_step(t, y, p, f0, yi, fi, span, hmax, ypeak, rtol, atol):
    """First step size (Hairer, Norsett & Wanner, *Solving ODEs I*, sec. II.4); f0 = f(t, y) given."""
    n = y.shape[0]
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
    return min(100.0 * h0, h1, hmax)


@inline
def write_dense(out, kobs, nobs, tobs, told, h, t, y, ynew, K1, K2, K3, K4, K5, dn2, dn3):
    """States at the output times in (told, t] from the continuous extension
    y(told + th h) = y (1 - th) + th (y_new + (1 - th)(d2 + th d3)); returns the next output index."""
    n = y.shape[0]
    for k in range(n):
        dn2[k] = H21 * K1[k] + H22 * K2[k] + H23 * K3[k] + H24 * K4[k] + H25 * K5[k]
        dn3[k] = H31 * K1[k] + H32 * K2[k] + H33 * K3[k] + H34 * K4[k] + H35 * K5[k]
    while kobs < nobs and tobs[kobs] <= t:
        th = (tobs[kobs] - told) / h
        th1 = 1.0 - th
        for k in range(n):
            out[kobs, k] = y[k] * th1 + th * (ynew[k] + th1 * (dn2[k] + th * dn3[k]))
        kobs += 1
    return kobs


@inline
def write_state(out, kobs, nobs, tobs, t, y, upto_end):
    """The current state at every output time <= t (all remaining ones if ``upto_end``); returns the next index."""
    n = y.shape[0]
    while kobs < nobs and (upto_end or tobs[kobs] <= t):
        for c in range(n):
            out[kobs, c] = y[c]
        kobs += 1
    return kobs


@inline
def finish(stats, steps, nrej, nfev, code):
    stats[0] += steps
    stats[1] += nrej
    stats[2] += nfev
    return code


@device
def segment(y, p, t0, t1, tobs, out, rtol, atol, max_steps, hmax, stats, ypeak, peakmask):
    """Integrate one subject from t0 to t1 (y in place); write the states at tobs (in (t0, t1]) to out.

    Returns 0 on success, 1 if max_steps was reached, 2 if the step size underflowed.
    stats: [steps, rejected, rhs evaluations] (accumulated). ypeak: peakmask x the largest
    magnitude of each state so far (updated; it enters the error scale); peakmask: 0 for a
    state scaled by its current value only, f > 0 for an absorption state under
    ``error_scale="peak"`` (f = the engine's absorption_rtol/rtol).
    """
    n = N_STATES
    J = np.empty((N_STATES, N_STATES))
    G = np.empty((N_STATES, N_STATES))
    piv = np.empty(N_STATES, np.int64)
    K1 = np.empty(N_STATES)
    K2 = np.empty(N_STATES)
    K3 = np.empty(N_STATES)
    K4 = np.empty(N_STATES)
    K5 = np.empty(N_STATES)
    K6 = np.empty(N_STATES)
    f0 = np.empty(N_STATES)
    fi = np.empty(N_STATES)
    yi = np.empty(N_STATES)
    ynew = np.empty(N_STATES)
    dfdt = np.empty(N_STATES)
    dn2 = np.empty(N_STATES)
    dn3 = np.empty(N_STATES)
    g = np.empty(NNZ_LU)
    ws = np.empty(N_STATES)
    for k in range(n):
        dfdt[k] = 0.0
    nobs = tobs.shape[0]
    kobs = 0
    t = t0
    span = t1 - t0
    if span <= 0.0:
        write_state(out, 0, nobs, tobs, t, y, True)
        return 0
    rhs(t, y, p, f0)
    h = initial_step(t, y, p, f0, yi, fi, span, hmax, ypeak, rtol, atol)
    nfev = 2
    steps = 0
    nrej = 0
    need_jac = True
    last_rejected = False
    hmin_rel = 1e-14
    while True:
        if DENSE:
            target = t1
        else:
            target = tobs[kobs] if kobs < nobs else t1
            if target > t1:
                target = t1
        hit = False
        h_wanted = h
        if t + 1.05 * h >= target:  # stretch the step onto the target rather than leave a sliver
            h = target - t
            hit = True
        if h <= hmin_rel * max(abs(t), 1.0):
            if not hit:
                return finish(stats, steps, nrej, nfev, 2)
            t = target  # already at the target (coinciding or nearly coinciding times)
            kobs = write_state(out, kobs, nobs, tobs, t, y, False)
            if t >= t1:
                write_state(out, kobs, nobs, tobs, t, y, True)
                return finish(stats, steps, nrej, nfev, 0)
            h = h_wanted
            continue
        if steps >= max_steps:
            return finish(stats, steps, nrej, nfev, 1)
        steps += 1
        if need_jac:
            jac(t, y, p, J)
            if NONAUTONOMOUS:
                dtime(t, y, p, dfdt)
            need_jac = False
        fac = 1.0 / (h * GAMMA)
        sparse = lu_sparse(J, fac, g, ws)
        ok = sparse
        if not sparse:  # a small pivot in the fixed order: dense LU with partial pivoting
            for r in range(n):
                for c in range(n):
                    G[r, c] = -J[r, c]
                G[r, r] += fac
            ok = dense_lu(G, piv)
        err = 1e10
        if ok:
            # the six stages (rodas.f), each solved with the factored G, then y_new
            hinv = 1.0 / h
            # stage 1: G K1 = f(t, y) + h D1 df/dt
            for k in range(n):
                K1[k] = f0[k]
            if NONAUTONOMOUS:  # a compile-time constant: the branch is pruned
                for k in range(n):
                    K1[k] += (D1 * h) * dfdt[k]
            if sparse:
                solve_sparse(g, K1, ws)
            else:
                dense_lu_solve(G, piv, K1)
            # stage 2
            for k in range(n):
                yi[k] = y[k] + A21 * K1[k]
            rhs(t + T2 * h, yi, p, fi)
            for k in range(n):
                K2[k] = fi[k] + (C21 * hinv) * K1[k]
            if NONAUTONOMOUS:
                for k in range(n):
                    K2[k] += (D2 * h) * dfdt[k]
            if sparse:
                solve_sparse(g, K2, ws)
            else:
                dense_lu_solve(G, piv, K2)
            # stage 3
            for k in range(n):
                yi[k] = y[k] + A31 * K1[k] + A32 * K2[k]
            rhs(t + T3 * h, yi, p, fi)
            for k in range(n):
                K3[k] = fi[k] + (C31 * hinv) * K1[k] + (C32 * hinv) * K2[k]
            if NONAUTONOMOUS:
                for k in range(n):
                    K3[k] += (D3 * h) * dfdt[k]
            if sparse:
                solve_sparse(g, K3, ws)
            else:
                dense_lu_solve(G, piv, K3)
            # stage 4
            for k in range(n):
                yi[k] = y[k] + A41 * K1[k] + A42 * K2[k] + A43 * K3[k]
            rhs(t + T4 * h, yi, p, fi)
            for k in range(n):
                K4[k] = fi[k] + (C41 * hinv) * K1[k] + (C42 * hinv) * K2[k] + (C43 * hinv) * K3[k]
            if NONAUTONOMOUS:
                for k in range(n):
                    K4[k] += (D4 * h) * dfdt[k]
            if sparse:
                solve_sparse(g, K4, ws)
            else:
                dense_lu_solve(G, piv, K4)
            # stage 5 (D5 = 0)
            for k in range(n):
                yi[k] = y[k] + A51 * K1[k] + A52 * K2[k] + A53 * K3[k] + A54 * K4[k]
            rhs(t + T5 * h, yi, p, fi)
            for k in range(n):
                K5[k] = fi[k] + (C51 * hinv) * K1[k] + (C52 * hinv) * K2[k] + (C53 * hinv) * K3[k] + (C54 * hinv) * K4[k]
            if sparse:
                solve_sparse(g, K5, ws)
            else:
                dense_lu_solve(G, piv, K5)
            # stage 6 (D6 = 0); its argument is y_new - K6
            for k in range(n):
                yi[k] = y[k] + A51 * K1[k] + A52 * K2[k] + A53 * K3[k] + A54 * K4[k] + A65 * K5[k]
            rhs(t + T6 * h, yi, p, fi)
            for k in range(n):
                K6[k] = (fi[k] + (C61 * hinv) * K1[k] + (C62 * hinv) * K2[k] + (C63 * hinv) * K3[k] + (C64 * hinv) * K4[k]
                         + (C65 * hinv) * K5[k])
            if sparse:
                solve_sparse(g, K6, ws)
            else:
                dense_lu_solve(G, piv, K6)
            # y_new = y + sum_j A_6j K_j + K6 (stiffly accurate); K6 is the error estimate
            for k in range(n):
                ynew[k] = y[k] + A51 * K1[k] + A52 * K2[k] + A53 * K3[k] + A54 * K4[k] + K5[k] + K6[k]
            nfev += 5
            err = error_norm(K6, y, ynew, ypeak, rtol, atol)
            if not math.isfinite(err):
                err = 1e10
        if err <= 1.0:  # accept
            told = t
            t = target if hit else t + h
            if DENSE and kobs < nobs and tobs[kobs] <= t:
                kobs = write_dense(out, kobs, nobs, tobs, told, h, t, y, ynew, K1, K2, K3, K4, K5, dn2, dn3)
            for k in range(n):
                y[k] = ynew[k]
                v = abs(y[k]) * peakmask[k]  # error_scale "peak": peakmask = the state's peak factor (0: none)
                if v > ypeak[k]:
                    ypeak[k] = v
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
                kobs = write_state(out, kobs, nobs, tobs, t, y, False)
                if t >= t1:
                    write_state(out, kobs, nobs, tobs, t, y, True)
                    return finish(stats, steps, nrej, nfev, 0)
        else:  # reject
            nrej += 1
            fac = max(0.1, 0.9 * err ** -0.25) if err < 1e10 else 0.1
            h = h * min(fac, 0.9)
            last_rejected = True
