"""Plotting flow-cytometry results: a two-marker density plot and the ploidy histogram with its fit."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import numpy as np

from ._flow_ploidy import PLOIDY_CLASSES, PloidyResult
from ._flow_sample import FlowSample

__all__ = ["plot_flow"]


def plot_flow(sample: FlowSample, path: str | os.PathLike | None = None, *, x: str | None = None, y: str | None = None,
              thresholds: Mapping[str, float] | None = None, ploidy: PloidyResult | None = None, within=None):
    """Density plot of two markers with positivity lines, and the ploidy histogram with its fit.

    Parameters
    ----------
    sample
        The events, on the scale to show (e.g. after :func:`~moasim.assay.flow.transform`).
    path
        Image file to write; ``None``: do not save.
    x, y
        Channels or markers of the density plot (default the first two channels).
    thresholds
        Positivity cut-offs drawn as lines where they name ``x`` or ``y``.
    ploidy
        A :func:`~moasim.assay.flow.fit_ploidy` result: adds its log2 DNA-content histogram.
    within
        Boolean mask of the events to show (default all).

    Returns
    -------
    matplotlib.figure.Figure
        The figure (closed after saving when ``path`` is given).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    ncol = 1 + (ploidy is not None)
    fig, axes = plt.subplots(1, ncol, figsize=(5.2 * ncol, 4.4), squeeze=False)
    _draw_density(axes[0, 0], sample, x, y, thresholds, within)
    if ploidy is not None:
        _draw_ploidy(axes[0, 1], ploidy)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def _draw_density(ax, sample: FlowSample, x: str | None, y: str | None, thresholds, within) -> None:
    """Hexbin density of ``y`` against ``x`` with the cut-offs of ``thresholds`` as red lines."""
    xs = x or sample.channels[0]
    ys = y or sample.channels[min(1, len(sample.channels) - 1)]
    m = np.ones(sample.n_events, dtype=bool) if within is None else np.asarray(within, dtype=bool)
    ax.hexbin(sample.column(xs)[m], sample.column(ys)[m], gridsize=80, bins="log", cmap="viridis", mincnt=1)
    ax.set_xlabel(xs + (f" ({sample.transforms.get(sample.channels[sample.index(xs)], 'linear')})"))
    ax.set_ylabel(ys + (f" ({sample.transforms.get(sample.channels[sample.index(ys)], 'linear')})"))
    if thresholds:
        if xs in thresholds:
            ax.axvline(thresholds[xs], color="r", lw=1)
        if ys in thresholds:
            ax.axhline(thresholds[ys], color="r", lw=1)
    ax.set_title(f"{os.path.basename(sample.source) or 'sample'}: {int(m.sum())} events")


def _draw_ploidy(a2, ploidy: PloidyResult) -> None:
    """The log2 DNA-content histogram (classes equally spaced), the fitted density and class labels."""
    ledges, lhist = ploidy.log2_histogram
    width = ledges[1] - ledges[0]
    a2.bar(ledges[:-1], lhist, width=width, align="edge", color="0.7")
    grid = np.linspace(ledges[0], ledges[-1], 800)
    dens = ploidy.density(2.0**grid) * 2.0**grid * math.log(2)  # density per log2 unit
    a2.plot(grid, dens * ploidy.n_events * width, color="C3")
    top = max(lhist.max(), 1)
    for k, c in enumerate(PLOIDY_CLASSES[: len(ploidy.fractions)]):
        t = math.log2(ploidy.mu_2n) + k
        if ledges[0] <= t <= ledges[-1]:
            a2.text(t, top * 1.02, f"{c}\n{100 * ploidy.fractions[c]:.1f}%", ha="center", va="bottom", fontsize=7)
    a2.set_ylim(0, top * 1.2)
    a2.set_xlabel(f"log2 {ploidy.channel} (DNA content)")
    a2.set_ylabel("events")
    a2.set_title(f"ploidy fit, CV {100 * ploidy.cv:.1f}%")
