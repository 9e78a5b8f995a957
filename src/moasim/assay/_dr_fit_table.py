"""Fitting a dose-response table: :func:`fit_dose_response`.

A tidy table (one row per well) is split into groups (compound, cell line, ...); each group
gets a curve, fitted independently or, with ``shared`` parameters, in one joint least-squares
problem (:mod:`._dr_joint`). A group whose design or flat response rules out a curve gets a
status and notes instead (:mod:`._dr_status`) and does not fail the others. With two or more
groups with an EC50 the result also holds their relative potencies and the parallelism test
(:mod:`._dr_potency`). Reading the table is :func:`moasim.assay._io.read_table`.

References
----------
Ritz C, Baty F, Streibig JC, Gerhard D (2015) Dose-response analysis using R. PLoS One 10:e0146021.
Finney DJ (1978) Statistical Method in Biological Assay, 3rd ed. Griffin (parallel-line potency).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..errors import DataError, FitError, SpecError, invalid_value, unknown_name
from ._dr_fit_curve import _numerical_guard, fit_curve
from ._dr_intervals import _curve_result, _ec50_scan, _profile
from ._dr_joint import _fit_groups
from ._dr_models import _check_model, _check_se, _CurveModel, _Group, _kind, _Options
from ._dr_potency import _relative_potency
from ._dr_results import CurveFit, DoseResponseResult
from ._dr_status import _design_problem, _no_fit, _require_observations, _screen
from ._io import numeric_column, read_table, require_columns
from ._nls import _free_names

__all__ = ["fit_dose_response"]


@_numerical_guard
def fit_dose_response(data: pd.DataFrame | str | os.PathLike, *, concentration: str = "concentration",
                      response: str = "response", group: str | None = None, model: str = "4pl",
                      weights: str | None = None, shared: Sequence[str] = (), reference: str | None = None,
                      bottom: float = 0.0, fix_bottom: float | None = None, outlier_alpha: float | None = 0.05,
                      exclude_outliers: bool = False, profile: bool = True, se: str = "gauss-newton",
                      no_effect_alpha: float | None = 0.05) -> DoseResponseResult:
    """Fit dose-response curves per group, with relative potency and a parallelism test.

    Parameters
    ----------
    data
        Tidy table (DataFrame or CSV/TSV/Excel path): one row per well/replicate.
    concentration, response, group, weights
        Column names. ``group`` splits curves (compound, cell line...); ``weights`` holds
        per-row weights.
    model
        ``'3pl'``, ``'4pl'`` or ``'5pl'``.
    shared
        Parameters common to all groups (e.g. ``('bottom', 'top')``); the others are fitted per
        group in one joint least-squares problem. Empty: independent fits per group. Groups
        with no dose-response or a design that cannot determine a curve are left out of it.
    reference
        Reference group for relative potency (default: the first group in file order).
    bottom
        The fixed bottom of the 3PL.
    fix_bottom
        Hold ``bottom`` at this value (4PL -> 3PL; 5PL with fixed bottom).
    exclude_outliers
        Refit once without the flagged outliers; the refit curves hold only the kept rows.
    se
        Standard errors: ``'gauss-newton'`` (R's ``nls``) or ``'hessian'`` (R's ``drc``).
    no_effect_alpha
        Level of the per-group F-test against a horizontal line (``None``: off).

    Returns
    -------
    DoseResponseResult
        ``.groups[label]`` curve fits (each with a ``status``); ``.relative_potency[test]`` vs
        the reference from the parallel model; ``.parallelism`` F-test; ``.to_frame()`` long
        table; ``.to_dict()``. A group without an EC50 does not fail the others.

    Raises
    ------
    FitError
        A group has no more observations than free parameters.
    """
    model = _kind(_check_model(model), fix_bottom)
    se = _check_se(se)
    if fix_bottom is not None:
        bottom = float(fix_bottom)
    df_in = _table(data)
    require_columns(df_in, [concentration, response, group, weights])
    bad_shared = [s for s in shared if s not in _free_names(model)]
    if bad_shared:
        raise SpecError(unknown_name("shared parameter", bad_shared[0], _free_names(model)))
    x_all = numeric_column(df_in, concentration, minimum=0.0)
    y_all = numeric_column(df_in, response)
    w_all = numeric_column(df_in, weights) if weights else np.ones_like(x_all)
    if np.any(w_all <= 0):
        raise DataError(invalid_value("weights", float(w_all[w_all <= 0][0]), "numbers > 0", f"column {weights!r}"))
    labels = [str(v) for v in pd.unique(df_in[group].astype(str))] if group else ["all"]
    gcol = df_in[group].astype(str).to_numpy() if group else np.full(x_all.size, "all")
    if reference is not None and str(reference) not in labels:
        raise SpecError(unknown_name("reference group", str(reference), labels))
    ref = labels.index(str(reference)) if reference is not None else 0
    opts = _Options(curve=_CurveModel(model, bottom, se), shared=tuple(shared), outlier_alpha=outlier_alpha,
                    profile=profile, no_effect_alpha=no_effect_alpha)
    keep = np.ones(x_all.size, dtype=bool)
    for _ in range(2 if exclude_outliers else 1):
        groups = [_Group(g, x_all[(gcol == g) & keep], y_all[(gcol == g) & keep], w_all[(gcol == g) & keep]) for g in labels]
        curves = _fit_all(groups, ref, opts)
        if exclude_outliers and keep.all():
            flags = np.zeros(x_all.size, dtype=bool)
            for g, c in zip(labels, curves.values()):
                flags[np.flatnonzero(gcol == g)[c.outlier]] = True
            if not flags.any():
                break
            keep = ~flags
    potency, parallel, notes = {}, None, ()
    if len(labels) > 1:
        potency, parallel, notes = _relative_potency(groups, ref, curves, opts)
    if group is None:
        notes = (*notes, *_unused_labels(df_in, (concentration, response, weights)))
    return DoseResponseResult(model=model[:3], concentration_column=concentration, response_column=response,
                              group_column=group, reference=labels[ref] if len(labels) > 1 else None,
                              groups=MappingProxyType(curves), relative_potency=MappingProxyType(potency),
                              parallelism=parallel, shared=tuple(shared), notes=notes)


def _unused_labels(df: pd.DataFrame, used) -> tuple[str, ...]:
    """Notes for text columns that look like groups (2 to 50 distinct values) when no ``group``
    was given: their curves were pooled into one (e.g. two compounds 30-fold apart in potency)."""
    out = []
    for col in df.columns:
        if col in used or pd.api.types.is_numeric_dtype(df[col]):
            continue
        k = df[col].nunique(dropna=True)
        if 2 <= k <= 50:
            out.append(f"column {col!r} has {k} values and is not used: all rows were fitted as one curve "
                       f"(give group={col!r}, --group {col} on the command line, to fit each)")
    return tuple(out)


def _table(data) -> pd.DataFrame:
    """``data`` as a non-empty DataFrame (a path is read with :func:`~moasim.assay._io.read_table`)."""
    df_in = read_table(data) if isinstance(data, (str, os.PathLike)) else data
    if not isinstance(df_in, pd.DataFrame):
        raise DataError(invalid_value("data", type(df_in).__name__, "a pandas DataFrame or a CSV/TSV/Excel path"))
    if df_in.shape[0] == 0:
        raise DataError(invalid_value("data", "0 rows", "at least one observation"))
    return df_in


def _fit_all(groups: Sequence[_Group], ref: int, o: _Options) -> dict[str, CurveFit]:
    """One curve per group: independent fits, or one joint fit when ``o.shared`` is not empty."""
    if not o.shared:
        return {grp.label: _fit_one(grp, o) for grp in groups}
    # joint fit with shared parameters, over the groups that can carry a curve
    out: dict[str, CurveFit] = {}
    for grp in groups:
        blocked = _blocked(grp, o)
        if blocked is not None:
            out[grp.label] = blocked
    kept = [grp for grp in groups if grp.label not in out]
    if kept:
        out.update(_fit_shared(kept, next((i for i, grp in enumerate(kept) if grp.label == groups[ref].label), 0), o))
    return {grp.label: out[grp.label] for grp in groups}


def _fit_one(grp: _Group, o: _Options) -> CurveFit:
    """An independent fit of one group; a failed fit becomes a 'not_identifiable' result."""
    cm = o.curve
    _require_observations(grp.x, len(cm.free), f"group {grp.label!r}")
    try:
        return fit_curve(grp.x, grp.y, model=cm.name, fix_bottom=cm.fixed_bottom, weights=grp.w,
                         outlier_alpha=o.outlier_alpha, profile=o.profile, label=grp.label,
                         se=cm.se_method, no_effect_alpha=o.no_effect_alpha)
    except FitError as exc:  # one group's failure does not fail the others
        return _no_fit(cm, grp, "not_identifiable", [f"not identifiable: {exc}"])


def _blocked(grp: _Group, o: _Options) -> CurveFit | None:
    """The no-fit result of a group a shared fit must leave out (no design, no dose-response), else None."""
    cm = o.curve
    p_all = len(cm.free)
    blocked = _screen(cm, grp, len([n for n in cm.free if n not in o.shared]))
    if blocked is None and _design_problem(grp.x, p_all) is None and grp.x.size > p_all:
        try:  # F-test against a horizontal line on the group's own curve
            sep = fit_curve(grp.x, grp.y, model=cm.name, fix_bottom=cm.fixed_bottom, weights=grp.w, outlier_alpha=None,
                            profile=False, label=grp.label, se=cm.se_method, no_effect_alpha=o.no_effect_alpha)
            if sep.status == "no_dose_response":
                blocked = sep
        except FitError:
            pass
    return blocked


def _fit_shared(kept: Sequence[_Group], ref_k: int, o: _Options) -> dict[str, CurveFit]:
    """One joint fit of ``kept`` with ``o.shared`` parameters; EC50 intervals by profile likelihood."""
    fit = _fit_groups(o.curve, kept, o.shared, ref_k)

    def prof(g, se):
        if "ec50" in o.shared:
            k = fit.design.names.index("ec50")
            return _profile(fit, k, se, _ec50_scan([c.x for c in kept]))
        # re-parameterise with group g as the EC50 reference, then profile its coordinate
        f2 = _fit_groups(o.curve, kept, o.shared, g)
        k = f2.design.names.index(f"ec50[{g}]")
        return _profile(f2, k, se, _ec50_scan([kept[g].x]))

    return {grp.label: _curve_result(fit, i, grp, outlier_alpha=o.outlier_alpha, profile=prof if o.profile else None)
            for i, grp in enumerate(kept)}
