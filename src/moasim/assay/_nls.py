"""Weighted nonlinear least squares for log-logistic curves (the engine of :mod:`.dose_response`).

Internal parameters per curve are ``q = (bottom, top, ln ec50, hill, ln s)``; a linear design
maps one global vector ``theta`` to every group's ``q`` so that independent, shared-parameter
and parallel-line (relative potency) fits are one least-squares problem.

Covariance of ``theta`` (``s^2 = RSS / df``)::

    gauss-newton   s^2 (J^T W J)^-1                     R's nls, Prism, scipy curve_fit
    hessian        s^2 (H / 2)^-1,  H = Hessian of RSS  R's drc (vcov.drc -> vcCont)

``H / 2 = J^T W J + sum_i w_i r_i d^2 f_i``; the two agree when the residuals are small or the
curve is nearly linear in its parameters (Bates & Watts 1988, sec. 2.3; Seber & Wild 1989,
sec. 5.1). At a least-squares optimum the Hessian transforms as a tensor, so the Hessian SEs of
the reported parameters do not depend on the internal parameterisation (ln ec50 here, ec50 in
drc): they equal drc's up to drc's finite-difference error.

References
----------
Bates DM, Watts DG (1988) Nonlinear Regression Analysis and Its Applications. Wiley.
Seber GAF, Wild CJ (1989) Nonlinear Regression. Wiley.
Golub G, Pereyra V (2003) Separable nonlinear least squares: the variable projection method
and its applications. Inverse Problems 19:R1-R26.
Ritz C, Baty F, Streibig JC, Gerhard D (2015) Dose-response analysis using R. PLoS One 10:e0146021.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

_ALL = ("bottom", "top", "ec50", "hill", "asymmetry")
SE_METHODS: tuple[str, ...] = ("gauss-newton", "hessian")
# |ln asymmetry| is bounded by ASYM_CLIP (s in [e^-30, e^30]). At +ASYM_CLIP the 5PL is its
# s -> inf limit, the Gompertz curve exp(-ln2 (ec50/x)^hill), to within 1e-13 relative.
ASYM_CLIP = 30.0
_CLIP_TOL = 1e-6  # ln s within this of the clip counts as on it (trf keeps iterates strictly inside)
_LN_LN2 = math.log(math.log(2.0))
_U_CAP = 1e250  # |hill (ln ec50 - ln x)| cap: the curve is on a plateau long before, s * cap stays finite


def _exp(v: float) -> float:
    """exp that overflows to inf instead of raising (degenerate fits, unbounded intervals)."""
    with np.errstate(over="ignore"):
        return float(np.exp(v))


def _free_names(model: str) -> tuple[str, ...]:
    # internal kinds: '3pl' = 4PL with fixed bottom, '5pl0' = 5PL with fixed bottom
    return {"3pl": ("top", "ec50", "hill"), "4pl": ("bottom", "top", "ec50", "hill"), "5pl": _ALL,
            "5pl0": ("top", "ec50", "hill", "asymmetry")}[model]


# ---------------------------------------------------------------------------------------
# The curve and its Jacobian in internal parameters q = (bottom, top, ln ec50, hill, ln s)
# ---------------------------------------------------------------------------------------


def _curve(q: np.ndarray, lnx: np.ndarray, want_jac: bool = False):
    """Curve value (and d f / d q) at ``lnx = ln x`` (``-inf`` for zero dose).

    With ``u = hill (ln ec50 - ln x)``, ``c = 2**(1/s) - 1`` and ``L = ln(1 + c e^u)``
    (computed as ``logaddexp(0, ln c + u)``), ``f = bottom + (top - bottom) exp(-s L)``.
    For ``ln s >= ASYM_CLIP`` the curve is its ``s -> inf`` limit, the Gompertz form
    ``exp(-ln2 e^u)`` (:func:`_gompertz_fraction`), which does not depend on ``s``.

    Every operation is finite for finite parameters; the only floating-point event is
    underflow of ``exp`` of a large negative number to 0, which is the plateau the curve
    tends to (so only underflow is silenced).
    """
    with np.errstate(under="ignore"):
        return _curve_impl(np.asarray(q, dtype=float), lnx, want_jac)


def _ln_c(s: float) -> float:
    """``ln(2**(1/s) - 1)`` without overflow (``0`` for ``s = 1``)."""
    a = math.log(2.0) / s
    return a + math.log1p(-math.exp(-a)) if a > 1.0 else math.log(math.expm1(a))


def _gompertz_fraction(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``G = exp(-ln2 e^u)`` (the ``s -> inf`` limit of ``(1 + (2**(1/s) - 1) e^u)**-s``) and
    ``dG/du = -G ln2 e^u``.

    ``ln2 e^u`` is evaluated as ``exp(min(u + ln ln2, 700))``: beyond the cap ``G`` underflows
    to exactly 0 either way, so the cap changes nothing but avoids an overflow to ``inf``.
    """
    w = np.exp(np.minimum(u + _LN_LN2, 700.0))
    G = np.exp(-w)
    return G, -G * w


def _curve_impl(q: np.ndarray, lnx: np.ndarray, want_jac: bool):
    b, t, lne, h, lns = (float(v) for v in q)
    zero = np.isneginf(lnx)
    d = np.where(zero, 0.0, lne - np.where(zero, 0.0, lnx))  # ln ec50 - ln x (0 at zero dose, filled below)
    with np.errstate(over="ignore"):  # |hill| so large that u overflows: the step limit, capped below
        u = np.clip(h * d, -_U_CAP, _U_CAP)
    gompertz = lns >= ASYM_CLIP
    if gompertz:
        G, dG_du = _gompertz_fraction(u)
    else:
        s = math.exp(max(lns, -ASYM_CLIP))
        v = _ln_c(s) + u
        L = np.logaddexp(0.0, v)
        G = np.exp(-s * L)  # fraction of the way from bottom to top
        sig = np.exp(v - L)  # c e^u / (1 + c e^u), in (0, 1]
        dG_du = -s * G * sig
    if h != 0.0 and zero.any():  # zero dose: u = +-inf, the plateau the curve starts from
        G = np.where(zero, 0.0 if h > 0 else 1.0, G)
        dG_du = np.where(zero, 0.0, dG_du)
    f = b + (t - b) * G
    if not want_jac:
        return f
    J = np.empty((lnx.size, 5))
    J[:, 0] = 1.0 - G
    J[:, 1] = G
    J[:, 2] = (t - b) * dG_du * h
    J[:, 3] = (t - b) * dG_du * d
    if gompertz or lns <= -ASYM_CLIP:
        # beyond the clip the curve does not depend on ln s: the column is 0 (the parameter is
        # held at its bound by the optimiser, see _lsq, and treated as fixed there)
        J[:, 4] = 0.0
    else:
        # d/d ln s: s * dG/ds, with dG/ds = -G (L + s sig dlnc/ds), dlnc/ds = -2**(1/s) ln2 / (s^2 c)
        a = math.log(2.0) / s
        dlnc_ds = -(a / s) / -math.expm1(-a)
        J[:, 4] = (t - b) * s * (-G * (L + s * sig * dlnc_ds))
        J[zero, 4] = 0.0
    return f, J


# ---------------------------------------------------------------------------------------
# Joint (multi-group) least squares with a linear parameter design
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Design:
    """Maps the global parameter vector theta to each group's internal curve parameters.

    ``q_g = base_g + A_g @ theta``; A_g is 5 x P. ``names`` labels theta's columns.
    """

    A: tuple[np.ndarray, ...]
    base: tuple[np.ndarray, ...]
    names: tuple[str, ...]

    def row_of(self, k: int) -> int:
        """The internal parameter (0 bottom, 1 top, 2 ln ec50, 3 hill, 4 ln s) column k drives."""
        return int(next(np.flatnonzero(A[:, k])[0] for A in self.A if np.any(A[:, k])))

    def groups_of(self, k: int) -> tuple[int, ...]:
        """Groups whose curve depends on theta[k]."""
        return tuple(g for g, A in enumerate(self.A) if np.any(A[:, k]))


def _build_design(model: str, n_groups: int, shared: Sequence[str], ref: int, fixed_bottom: float) -> _Design:
    free = _free_names(model)
    cols: list[str] = []
    A = [np.zeros((5, 0)) for _ in range(n_groups)]

    def add(col: str, rows_by_group: dict[int, int]) -> None:
        cols.append(col)
        for g in range(n_groups):
            v = np.zeros((5, 1))
            if g in rows_by_group:
                v[rows_by_group[g], 0] = 1.0
            A[g] = np.hstack([A[g], v])

    for j, name in enumerate(_ALL):
        if name not in free:
            continue
        if name in shared or n_groups == 1:
            add(name, {g: j for g in range(n_groups)})
        elif name == "ec50":  # ln ec50_g = ln ec50_ref + delta_g  (delta_g = -ln potency)
            add(f"ec50[{ref}]", {g: j for g in range(n_groups)})
            for g in range(n_groups):
                if g != ref:
                    add(f"delta[{g}]", {g: j})
        else:
            for g in range(n_groups):
                add(f"{name}[{g}]", {g: j})
    base = []
    for _ in range(n_groups):
        b0 = np.zeros(5)
        if "bottom" not in free:
            b0[0] = fixed_bottom
        base.append(b0)
    return _Design(tuple(A), tuple(base), tuple(cols))


def _log_dose(x: np.ndarray) -> np.ndarray:
    """ln x with zero dose as -inf (no warning)."""
    return np.log(np.where(x > 0, x, 1.0)) + np.where(x > 0, 0.0, -np.inf)


@dataclass(frozen=True, slots=True)
class _Data:
    lnx: tuple[np.ndarray, ...]
    y: tuple[np.ndarray, ...]
    sw: tuple[np.ndarray, ...]  # sqrt(weights)

    @property
    def n(self) -> int:
        return int(sum(a.size for a in self.y))

    @classmethod
    def of(cls, xs, ys, ws) -> _Data:
        return cls(tuple(_log_dose(x) for x in xs), tuple(ys), tuple(np.sqrt(w) for w in ws))


def _residuals(theta, design: _Design, data: _Data):
    return np.concatenate([sw * (_curve(bg + Ag @ theta, lnx) - y)
                           for Ag, bg, lnx, y, sw in zip(design.A, design.base, data.lnx, data.y, data.sw)])


def _jacobian(theta, design: _Design, data: _Data):
    blocks = []
    for Ag, bg, lnx, sw in zip(design.A, design.base, data.lnx, data.sw):
        _, J = _curve(bg + Ag @ theta, lnx, want_jac=True)
        blocks.append(sw[:, None] * (J @ Ag))
    return np.vstack(blocks)


def _asym_columns(design: _Design) -> tuple[int, ...]:
    """Columns of theta that drive ln asymmetry (5PL only)."""
    return tuple(k for k in range(len(design.names)) if design.row_of(k) == 4)


def _at_clip(theta: np.ndarray, design: _Design) -> tuple[int, ...]:
    """Asymmetry columns of theta on (or beyond) their clip ``|ln s| = ASYM_CLIP``."""
    return tuple(k for k in _asym_columns(design) if abs(theta[k]) >= ASYM_CLIP - _CLIP_TOL)


def _onto_clip(theta: np.ndarray, design: _Design) -> np.ndarray:
    """theta with every ln asymmetry beyond its clip put on it (the curve is the same there)."""
    out = theta.copy()
    for k in _asym_columns(design):
        out[k] = min(max(out[k], -ASYM_CLIP), ASYM_CLIP)
    return out


def _lsq(theta0: np.ndarray, design: _Design, data: _Data, fixed: dict[int, float] | None = None, max_nfev: int = 400):
    """Minimise the weighted RSS over theta (some coordinates optionally held fixed).

    A free ln asymmetry is bounded by its clip ``[-ASYM_CLIP, ASYM_CLIP]`` (the trust-region
    method keeps iterates strictly inside, where the Jacobian column is the curve's derivative):
    on the bound, a gradient pushing outward is that of an active constraint, not a failure to
    converge. :func:`_settle_asymmetry` then holds an asymmetry on its clip fixed there.
    """
    fixed = fixed or {}
    free = np.array([i for i in range(theta0.size) if i not in fixed], dtype=int)
    full = theta0.astype(float).copy()
    for i, v in fixed.items():
        full[i] = v

    def expand(z):
        th = full.copy()
        th[free] = z
        return th

    def fun(z):
        return _residuals(expand(z), design, data)

    def jac(z):
        return _jacobian(expand(z), design, data)[:, free]

    # ln asymmetry is bounded by its clip: beyond it the curve no longer depends on it
    asym = np.isin(free, _asym_columns(design))
    lb = np.where(asym, -ASYM_CLIP, -np.inf)
    ub = np.where(asym, ASYM_CLIP, np.inf)
    z0 = np.clip(full[free], lb, ub)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            res = optimize.least_squares(fun, z0, jac=jac, method="trf", x_scale="jac", bounds=(lb, ub),
                                         xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=max_nfev)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            return expand(full[free]), np.inf, False
    rss = float(res.fun @ res.fun)
    theta = _onto_clip(expand(res.x), design)
    if not np.isfinite(rss):
        return theta, np.inf, False
    return theta, rss, bool(res.status > 0)


def _settle_asymmetry(theta: np.ndarray, rss: float, ok: bool, design: _Design, data: _Data,
                      runaway: float = math.log(10.0), max_nfev: int = 1000):
    """Put a ln asymmetry that runs toward its clip on the clip, and hold it fixed there.

    The 5PL least-squares problem can have no minimum: the RSS keeps falling as ``s -> inf``
    (the Gompertz limit) or ``s -> 0``, so the optimiser stops somewhere on a plateau of ``ln s``
    with a small, non-zero gradient that it cannot follow (it stalls). For every asymmetry
    beyond ``runaway`` (``|ln s|``), the fit with ``ln s`` at the clip on that side (the others
    refitted) is taken when its RSS is no higher: the likelihood is still improving toward the
    boundary. Parameters on the clip are then held fixed there and the others polished, so
    ``ok`` is the convergence of the remaining parameters.

    Returns ``(theta, rss, ok, at_clip)``, ``at_clip`` the asymmetry columns on their clip.
    """
    for k in _asym_columns(design):
        v = float(theta[k])
        if abs(v) >= ASYM_CLIP - _CLIP_TOL or abs(v) <= runaway:
            continue
        bound = math.copysign(ASYM_CLIP, v)
        start = theta.copy()
        start[k] = bound
        th2, rss2, ok2 = _lsq(start, design, data, fixed={k: bound}, max_nfev=max_nfev)
        if rss2 <= rss * (1 + 1e-9) + 1e-300:
            theta, rss, ok = th2, rss2, ok2
    clipped = _at_clip(theta, design)
    if not clipped:
        return theta, rss, ok, ()
    fixed = {k: math.copysign(ASYM_CLIP, theta[k]) for k in clipped}
    th2, rss2, ok2 = _lsq(theta, design, data, fixed=fixed, max_nfev=max_nfev)
    if rss2 <= rss * (1 + 1e-12) + 1e-300:
        theta, rss, ok = th2, rss2, ok2
    else:
        theta = theta.copy()
        for k, v in fixed.items():
            theta[k] = v
    return theta, rss, ok, clipped


def _best_fit(design: _Design, data: _Data, starts: list[np.ndarray]):
    """Multi-start: a short run from every start, then the best one polished to convergence."""
    best = (None, np.inf, False)
    for th0 in starts:
        th, rss, ok = _lsq(th0, design, data, max_nfev=40)
        if rss < best[1]:
            best = (th, rss, ok)
    if best[0] is None:
        return best
    th, rss, ok = _lsq(best[0], design, data, max_nfev=1000)
    return (th, rss, ok) if rss <= best[1] else best


# ---------------------------------------------------------------------------------------
# Variable projection: bottom and top enter the curve linearly
# ---------------------------------------------------------------------------------------


def _linear_columns(design: _Design) -> np.ndarray:
    """Columns of theta that drive bottom or top (the curve is linear in them)."""
    return np.array([k for k in range(len(design.names)) if design.row_of(k) in (0, 1)], dtype=int)


def _fraction(q: np.ndarray, lnx: np.ndarray) -> np.ndarray:
    """``G`` of :func:`_curve` (the fraction of the way from bottom to top) for a stack of
    internal parameter vectors ``q`` (M x 5) at once: M x n (Gompertz limit for ``ln s >= ASYM_CLIP``)."""
    lne, h, lns = q[:, 2:3], q[:, 3:4], q[:, 4:5]
    with np.errstate(under="ignore"):  # exp(-large) -> 0: a plateau (see _curve)
        s = np.exp(np.clip(lns, -ASYM_CLIP, ASYM_CLIP))
        a = np.log(2.0) / s
        lnc = np.where(a > 1.0, a + np.log1p(-np.exp(-np.maximum(a, 1.0))), np.log(np.expm1(np.minimum(a, 1.0))))
        zero1 = np.isneginf(lnx)
        zero = zero1[None, :]
        d = np.where(zero, 0.0, lne - np.where(zero1, 0.0, lnx)[None, :])
        with np.errstate(over="ignore"):  # u overflows only for a step (|hill| huge): capped
            u = np.clip(h * d, -_U_CAP, _U_CAP)
        G = np.where(lns >= ASYM_CLIP, _gompertz_fraction(u)[0], np.exp(-s * np.logaddexp(0.0, lnc + u)))
        # zero dose: u = +-inf (hill > 0: the bottom, hill < 0: the top; hill = 0: u = 0)
        return np.where(zero & (h > 0), 0.0, np.where(zero & (h < 0), 1.0, G))


def _project_linear(thetas: np.ndarray, design: _Design, data: _Data, lin: np.ndarray):
    """Each row of ``thetas`` with its linear (bottom/top) columns at their least-squares optimum,
    and the RSS of each result (M x P, M).

    bottom and top enter the curve linearly, so for fixed nonlinear parameters one linear
    least-squares solve gives their optimum exactly (variable projection; Golub & Pereyra 2003).
    """
    thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
    rs, Xs = [], []
    with np.errstate(all="ignore"):
        for Ag, bg, lnx, y, sw in zip(design.A, design.base, data.lnx, data.y, data.sw):
            Q = bg[None, :] + thetas @ Ag.T
            G = _fraction(Q, lnx)
            rs.append(sw * (Q[:, 0:1] + (Q[:, 1:2] - Q[:, 0:1]) * G - y))
            Xs.append(sw[None, :, None] * ((1.0 - G)[:, :, None] * Ag[0, lin] + G[:, :, None] * Ag[1, lin]))
        r = np.concatenate(rs, axis=1)
        X = np.concatenate(Xs, axis=1)
        good = np.all(np.isfinite(r), axis=1) & np.all(np.isfinite(X), axis=(1, 2))
        out = thetas.copy()
        rss = np.full(thetas.shape[0], np.inf)
        if not good.any():
            return out, rss
        # normal equations with a tiny ridge: beta need not be exact, the RSS below is that of
        # the parameters returned, so it is always an attainable value (an upper bound)
        Xg, rg = X[good], r[good]
        XtX = np.einsum("mnl,mnk->mlk", Xg, Xg)
        ridge = 1e-12 * np.trace(XtX, axis1=1, axis2=2)[:, None, None] * np.eye(lin.size) + 1e-300
        try:
            beta = np.linalg.solve(XtX + ridge, np.einsum("mnl,mn->ml", Xg, rg)[..., None])[..., 0]
        except np.linalg.LinAlgError:
            return out, rss
        res = rg - np.einsum("mnl,ml->mn", Xg, beta)
        sub = out[good]
        sub[:, lin] -= beta
        out[good] = sub
        rss[good] = np.einsum("mn,mn->m", res, res)
    rss[~np.isfinite(rss)] = np.inf
    return out, rss


# ---------------------------------------------------------------------------------------
# Covariance
# ---------------------------------------------------------------------------------------


def scaled_pinv(info: np.ndarray, rcond: float = 1e-13) -> np.ndarray:
    """Pseudo-inverse of a symmetric information matrix, taken on its correlation scale.

    The asymptotes carry the response's unit and ec50/hill do not, so with responses of
    1e6-1e8 (luminescence counts) the raw matrix spans > 1e13 and pinv's cut-off dropped the
    asymptotes' directions (standard errors ~1e-9). Scaling rows and columns by the square
    root of the diagonal makes the result independent of the response unit."""
    d = np.sqrt(np.abs(np.diag(info)))
    d[d == 0] = 1.0
    return np.linalg.pinv(info / np.outer(d, d), rcond=rcond) / np.outer(d, d)


def _half_rss_hessian(theta: np.ndarray, design: _Design, data: _Data, cols: np.ndarray | None = None) -> np.ndarray:
    """Hessian of RSS/2 in theta (restricted to ``cols``): central differences of the analytic gradient ``J^T r``."""
    cols = np.arange(theta.size) if cols is None else np.asarray(cols, dtype=int)
    H = np.empty((cols.size, cols.size))
    with np.errstate(all="ignore"):
        for i, j in enumerate(cols):
            h = 6e-6 * max(1.0, abs(theta[j]))
            tp, tm = theta.copy(), theta.copy()
            tp[j] += h
            tm[j] -= h
            gp = _jacobian(tp, design, data)[:, cols].T @ _residuals(tp, design, data)
            gm = _jacobian(tm, design, data)[:, cols].T @ _residuals(tm, design, data)
            H[:, i] = (gp - gm) / (tp[j] - tm[j])
    return 0.5 * (H + H.T)


def _cov_theta(theta, design, data, rss, df, method: str = "gauss-newton", fixed: Sequence[int] = ()):
    """(J, covariance of theta): ``s^2 (J^T W J)^-1`` (Gauss-Newton) or ``s^2 (H/2)^-1`` (Hessian).

    Columns in ``fixed`` (an asymmetry on its clip) are treated as known: their rows and
    columns of the covariance are 0 and the others' covariance is conditional on them.
    """
    J = _jacobian(theta, design, data)
    P = J.shape[1]
    cols = np.array([k for k in range(P) if k not in set(fixed)], dtype=int)
    s2 = rss / df
    cov = np.zeros((P, P))
    try:
        with np.errstate(all="ignore"):
            Jc = J[:, cols]
            info = Jc.T @ Jc if method == "gauss-newton" else _half_rss_hessian(theta, design, data, cols)
            if not np.all(np.isfinite(info)):
                raise np.linalg.LinAlgError("non-finite information matrix")
            cov[np.ix_(cols, cols)] = s2 * scaled_pinv(info)
    except np.linalg.LinAlgError:
        cov = np.full((P, P), np.nan)
    return J, cov
