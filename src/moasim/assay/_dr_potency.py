"""Relative potency, parallelism and nested-model comparison of dose-response curves.

Relative potency of a test article against a reference is ``ec50_reference / ec50_test`` in
the parallel model: bottom, top, hill (and asymmetry) shared, one EC50 per group (Finney 1978,
parallel-line assay). Its 95% interval is the profile-likelihood one of the log EC50 ratio
(:mod:`._dr_intervals`). The parallel model is tested against separate curves, and nested
curve models (3PL < 4PL < 5PL) against each other, by the extra-sum-of-squares F-test and AIC.

References
----------
Finney DJ (1978) Statistical Method in Biological Assay, 3rd ed. Griffin (parallel-line potency).
Motulsky H, Christopoulos A (2004) Fitting Models to Biological Data Using Linear and Nonlinear
Regression. Oxford University Press (extra-sum-of-squares F-test).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..errors import FitError, SpecError, invalid_value
from ._dr_fit_curve import fit_curve
from ._dr_intervals import _delta_scan, _loglik, _profile, _profile_notes, _t95
from ._dr_joint import _fit_groups, _JointFit
from ._dr_models import _Group, _Options
from ._dr_results import CurveFit, ModelComparison, RelativePotency
from ._nls import _exp

__all__ = ["compare_models"]


# ---------------------------------------------------------------------------------------
# Nested models: F-test and AIC
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _NestedFit:
    """One side of a nested-model comparison: its name, weighted RSS, residual df and AIC."""

    name: str
    rss: float
    df: int
    aic: float


def _f_test(reduced: _NestedFit, full: _NestedFit) -> ModelComparison:
    """Extra-sum-of-squares F-test of ``reduced`` (fewer parameters) against ``full``."""
    dn = reduced.df - full.df
    F = ((reduced.rss - full.rss) / dn) / (full.rss / full.df) if full.rss > 0 else np.inf
    F = max(F, 0.0)
    p = float(stats.f.sf(F, dn, full.df))
    return ModelComparison(reduced=reduced.name, full=full.name, f_statistic=float(F), df_num=dn, df_den=full.df,
                           p_value=p, aic_reduced=float(reduced.aic), aic_full=float(full.aic))


def compare_models(reduced: CurveFit, full: CurveFit) -> ModelComparison:
    """Extra-sum-of-squares F-test and AIC for nested fits of the same data (3PL < 4PL < 5PL).

    Raises
    ------
    SpecError
        The fits are of different data, or ``reduced`` has no fewer parameters than ``full``.
    FitError
        Either fit has no curve (status ``'no_dose_response'`` or ``'not_identifiable'``).
    """
    if reduced.n != full.n or not np.array_equal(reduced.response, full.response):
        raise SpecError(invalid_value("model comparison", "fits of different data", "two fits of the same observations"))
    if full.df >= reduced.df:
        raise SpecError(invalid_value("model comparison", f"{reduced.model} vs {full.model}", "a reduced model with fewer parameters first"))
    if reduced.curve is None or full.curve is None:
        raise FitError(invalid_value("model comparison", f"statuses {reduced.status!r}, {full.status!r}", "two fitted curves"))
    return _f_test(_NestedFit(reduced.model, reduced.rss, reduced.df, reduced.aic),
                   _NestedFit(full.model, full.rss, full.df, full.aic))


def _parallelism(fit: _JointFit, groups: Sequence[_Group], curves: Sequence[CurveFit], o: _Options) -> ModelComparison | None:
    """Parallel model (shared shape) vs separate curves: F-test and AIC."""
    cm = o.curve
    independent = all(c.df == c.n - len(c.parameters) for c in curves)
    if independent:
        rss_sep = sum(c.rss for c in curves)
    else:
        rss_sep = sum(fit_curve(grp.x, grp.y, model=cm.name, fix_bottom=cm.fixed_bottom, weights=grp.w, outlier_alpha=None,
                                profile=False, no_effect_alpha=None).rss for grp in groups)
    n = fit.data.n
    p_sep = len(groups) * len(cm.free)
    df_sep = n - p_sep
    k_par = len(fit.design.names) + 1
    aic_par = -2 * _loglik(fit.rss, n, fit.weights) + 2 * k_par
    aic_sep = -2 * _loglik(rss_sep, n, fit.weights) + 2 * (p_sep + 1)
    if df_sep <= 0:
        return None
    return _f_test(_NestedFit("parallel", fit.rss, fit.df, aic_par), _NestedFit("separate", rss_sep, df_sep, aic_sep))


# ---------------------------------------------------------------------------------------
# Relative potency
# ---------------------------------------------------------------------------------------


def _no_potency(ref: str, test: str, note: str) -> RelativePotency:
    """A relative potency that cannot be estimated: NaN throughout, the reason in ``notes``."""
    nan2 = (math.nan, math.nan)
    return RelativePotency(reference=ref, test=test, estimate=math.nan, se_log=math.nan, ci95=nan2, ci95_wald=nan2,
                           ec50_ratio=math.nan, notes=(note,))


def _potency(fit: _JointFit, s: int, grp: _Group, ref: _Group, profile: bool) -> RelativePotency:
    """Potency of group ``s`` (``grp``) of the parallel ``fit`` against its EC50 reference ``ref``."""
    tq = _t95(fit.df)
    k = fit.design.names.index(f"delta[{s}]")
    d, se_d = fit.theta[k], math.sqrt(max(fit.cov[k, k], 0.0))
    notes: tuple[str, ...] = ()
    lo_open = hi_open = False
    if profile:
        pi = _profile(fit, k, se_d, _delta_scan(grp.x, ref.x))
        lo, hi = pi.lower, pi.upper
        lo_open, hi_open = pi.lower_open, pi.upper_open
        notes = _profile_notes(pi, "relative potency")
    else:
        lo, hi = d - tq * se_d, d + tq * se_d
    if fit.at_clip:
        side = "Gompertz limit" if fit.theta[fit.at_clip[0]] > 0 else "asymmetry -> 0"
        notes += (f"5PL asymmetry of the parallel model at its boundary ({side}): the SE and Wald interval "
                  f"of the log potency are conditional on this limit"
                  + ("; ci95 is the profile-likelihood interval, over all asymmetries" if profile else ""),)
    # potency = ec50_ref / ec50_test = exp(-delta): the interval flips
    return RelativePotency(reference=ref.label, test=grp.label, estimate=_exp(-d), se_log=se_d,
                           ci95=(_exp(-hi), _exp(-lo)), ci_open=(hi_open, lo_open),
                           ci95_wald=(_exp(-d - tq * se_d), _exp(-d + tq * se_d)), ec50_ratio=_exp(d), notes=notes)


def _missing_potency(ref_lab: str, lab: str, ref_ok: bool, curves: Mapping[str, CurveFit]) -> RelativePotency:
    """The NaN potency of ``lab`` when it or the reference has no EC50 estimate."""
    if not ref_ok:
        return _no_potency(ref_lab, lab, f"no relative potency: the reference group {ref_lab!r} has no EC50 estimate "
                                         f"(status {curves[ref_lab].status})")
    return _no_potency(ref_lab, lab, f"no relative potency: group {lab!r} has no EC50 estimate "
                                     f"(status {curves[lab].status})")


def _relative_potency(groups: Sequence[_Group], ref: int, curves: Mapping[str, CurveFit], o: _Options):
    """Relative potencies vs ``groups[ref]`` and the parallelism F-test, over the groups with an EC50.

    Returns
    -------
    (dict, ModelComparison | None, tuple)
        Test label -> :class:`RelativePotency`; the parallelism test; notes on the analysis.
    """
    labels = [grp.label for grp in groups]
    ok = [i for i, lab in enumerate(labels) if curves[lab].status == "ok"]
    sub = [groups[i] for i in ok]
    ref_lab = labels[ref]
    notes = []
    if len(sub) < len(groups) and len(sub) >= 2:
        notes.append("relative potency and the parallelism test use only the groups with an EC50 estimate: "
                     + ", ".join(repr(g.label) for g in sub))
    fits = {}
    fit = None
    if len(sub) >= 2:
        ref_s = ok.index(ref) if ref in ok else 0
        shape = tuple(n for n in o.curve.free if n != "ec50")
        fit = _fit_groups(o.curve, sub, shape, ref_s)
        if ref in ok:
            for s, grp in enumerate(sub):
                if s != ref_s:
                    fits[grp.label] = _potency(fit, s, grp, groups[ref], o.profile)
    out = {lab: fits[lab] if lab in fits else _missing_potency(ref_lab, lab, ref in ok, curves)
           for i, lab in enumerate(labels) if i != ref}
    parallel = _parallelism(fit, sub, [curves[g.label] for g in sub], o) if fit is not None else None
    return out, parallel, tuple(notes)
