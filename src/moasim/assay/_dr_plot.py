"""Plotting dose-response fits: data and fitted curves per group on a log concentration axis."""

from __future__ import annotations

import os

import numpy as np

from ._dr_results import CurveFit, DoseResponseResult

__all__ = ["plot_dose_response"]


def plot_dose_response(result: DoseResponseResult | CurveFit, path: str | os.PathLike | None = None, *, unit: str = ""):
    """Data and fitted curves per group on a log concentration axis.

    Zero-dose wells are drawn at one decade below the lowest positive concentration, on a
    separate "0" tick. A group with no dose-response gets a dashed line at its mean response,
    a group with no fitted curve its points only.

    Parameters
    ----------
    result
        A table fit (all groups) or one curve.
    path
        Image file to write (``.png``, ``.pdf``, ``.svg``); ``None``: do not save.
    unit
        Concentration unit for the axis and legend labels (e.g. ``'nM'``).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (closed after saving when ``path`` is given).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    curves = result.groups if isinstance(result, DoseResponseResult) else {result.group or "data": result}
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    pos = np.concatenate([c.concentration[c.concentration > 0] for c in curves.values()])
    lo, hi = (pos.min(), pos.max()) if pos.size else (1e-3, 1.0)
    x0 = lo / 10.0
    u = f" {unit}" if unit else ""
    for i, (lab, c) in enumerate(curves.items()):
        _draw_group(ax, lab, c, f"C{i}", x0, np.geomspace(lo / 3, hi * 3, 300), u)
    ax.set_xscale("log")
    if any((c.concentration == 0).any() for c in curves.values()):
        _zero_dose_axis(ax, x0, lo, hi)
    ax.set_xlabel(f"concentration{(' (' + unit + ')') if unit else ''}")
    ax.set_ylabel("response")
    ax.legend(fontsize=8, frameon=False)
    model = result.model if hasattr(result, "model") else ""
    ax.set_title(f"{model.upper()} fit")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig


def _draw_group(ax, lab: str, c: CurveFit, color: str, x0: float, grid: np.ndarray, u: str) -> None:
    """Points (outliers as crosses, zero dose at ``x0``) and the curve, or the reason for none."""
    xp = np.where(c.concentration > 0, c.concentration, x0)
    ax.scatter(xp[~c.outlier], c.response[~c.outlier], s=18, color=color, alpha=0.8)
    if c.outlier.any():
        ax.scatter(xp[c.outlier], c.response[c.outlier], s=40, marker="x", color=color)
    if c.status == "ok":
        ax.plot(grid, c.predict(grid), color=color, label=f"{lab}: EC50 {c.estimates['ec50']:.3g}{u}")
    elif c.status == "ec50_bound":
        b_lo, b_hi = c.ec50_bound
        text = f"EC50 > {b_lo:.3g}{u}" if b_lo is not None else f"EC50 < {b_hi:.3g}{u}"
        ax.plot(grid, c.predict(grid), color=color, ls="--", label=f"{lab}: {text}")
    elif c.status == "no_dose_response":
        ax.axhline(float(np.sum(c.weights * c.response) / np.sum(c.weights)), color=color, ls=":",
                   label=f"{lab}: no dose-response")
    else:
        ax.scatter([], [], color=color, label=f"{lab}: not identifiable")


def _zero_dose_axis(ax, x0: float, lo: float, hi: float) -> None:
    """Zero dose drawn at ``x0`` on its own "0" tick, set off by a dotted break line."""
    ax.axvline(np.sqrt(x0 * lo / 3), color="0.7", lw=0.8, ls=":")
    ticks = [t for t in ax.get_xticks() if lo / 3 <= t <= hi * 3]
    ax.set_xticks([x0, *ticks])
    ax.set_xticklabels(["0"] + [f"$10^{{{int(round(np.log10(t)))}}}$" for t in ticks])
    ax.set_xlim(x0 / 2, hi * 4)
