"""HTML report of a virtual trial: platelet bands per arm, response curves, endpoints, provenance."""

from __future__ import annotations

import base64
import html
import io
import json
import os

from .plots import _save


def _bands(ax, t, q, color: str, label: str) -> None:
    """Median line with 25-75% and 5-95% percentile bands (``q`` holds p5 ... p95)."""
    ax.fill_between(t, q["p5"], q["p95"], color=color, alpha=0.12, lw=0)
    ax.fill_between(t, q["p25"], q["p75"], color=color, alpha=0.25, lw=0)
    ax.plot(t, q["p50"], color=color, lw=2, label=label)


_BONE_PANELS = (("bmd_lumbar_spine", "lumbar spine BMD"), ("bmd_total_hip", "total hip BMD"), ("bmd_femoral_neck", "femoral neck BMD"),
                ("p1np", "serum P1NP"), ("ctx", "serum CTX"))


def bone_trial_figure(result):
    """Bone trial: median and 25-75 / 5-95 percentile bands of BMD (3 sites), P1NP and CTX
    (% change from baseline, true values) per arm, and cumulative fracture incidence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5), sharex=True)
    month = 365.25 / 12
    for i, (arm, b) in enumerate(result.bands.items()):
        t = np.array(b["time_days"]) / month
        c = f"C{i}"
        for ax, (o, label) in zip(axes.flat, _BONE_PANELS):
            q = b[o]
            _bands(ax, t, q, c, arm)
            ax.set_title(f"{label}, % change (median, 25-75%, 5-95%)", fontsize=9)
            ax.axhline(0, color="grey", lw=0.6)
        ax = axes.flat[5]
        for e, ls in zip(result.response_curves[arm], ("-", "--")):
            ax.plot(t, 100 * np.array(result.response_curves[arm][e]), color=c, ls=ls, lw=2, label=f"{arm}: {e.replace('_', ' ')}")
        ax.set_title("cumulative fracture incidence, %", fontsize=9)
    for ax in axes[1]:
        ax.set_xlabel("month")
    axes.flat[0].legend(fontsize=8)
    if any(result.response_curves[arm] for arm in result.bands):
        axes.flat[5].legend(fontsize=7)
    else:  # no fracture rate in the population (a men's trial without fracture_rates; hip fractures have no default)
        axes.flat[5].text(0.5, 0.5, "no fracture rate given:\nincidence not simulated\n(population.fracture_rates)",
                          ha="center", va="center", transform=axes.flat[5].transAxes, fontsize=9, color="grey")
    fig.suptitle(f"{result.spec.name}: n = {result.spec.n} per arm x {result.spec.replicates} replicate(s), seed {result.seed}")
    fig.tight_layout()
    return fig


def trial_figure(result):
    """Median and 5-95 / 25-75 percentile bands of platelets per arm, and response over time
    (bone trials: :func:`bone_trial_figure`)."""
    if result.spec.layer.name == "bone":
        return bone_trial_figure(result)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    thr = result.spec.endpoints[0].threshold
    for i, (arm, b) in enumerate(result.bands.items()):
        t = np.array(b["time_days"]) / 7.0
        c = f"C{i}"
        _bands(ax1, t, b, c, arm)
        v = np.array(result.spec.visit_times) / 7.0
        ax2.step(v, np.array(result.response_curves[arm]) * 100, where="post", color=c, lw=2, label=arm)
    ax1.axhline(thr, color="grey", ls=":", lw=1)
    ax1.set_yscale("log")
    ax1.set_xlabel("week")
    ax1.set_ylabel("platelets (10$^9$/L): median, 25-75%, 5-95%")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("week")
    ax2.set_ylabel(f"% with platelets >= {thr:g} at the visit")
    ax2.set_ylim(0, 100)
    ax2.legend(fontsize=8)
    fig.suptitle(f"{result.spec.name}: n = {result.spec.n} per arm x {result.spec.replicates} replicate(s), seed {result.seed}")
    fig.tight_layout()
    return fig


def render_trial_report(result, path: str) -> None:
    """Write a self-contained HTML report (figure embedded) atomically."""
    fig = trial_figure(result)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    img = base64.b64encode(buf.getvalue()).decode()
    from ..trials._endpoints import describe

    what = {e.name: describe(e) for e in result.spec.endpoints}
    rows = []
    for arm, a in result.arms.items():
        for ep, v in a["endpoints"].items():
            est, (lo, hi) = v["estimate"], v["ci95"]
            rows.append(f"<tr><td>{html.escape(arm)}</td><td>{a['n']}</td><td>{html.escape(ep)}</td><td>{html.escape(what[ep])}</td>"
                        f"<td>{est:.3g}</td><td>[{lo:.3g}, {hi:.3g}]</td></tr>")
    spec = html.escape(json.dumps(_spec_dict(result.spec), indent=2, default=str))
    doc = f"""<!doctype html><html><head><meta charset="utf-8"><title>moasim trial: {html.escape(result.spec.name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px}}pre{{background:#f6f6f6;padding:1em}}</style></head>
<body><h1>Virtual trial: {html.escape(result.spec.name)}</h1>
<img alt="{'BMD, marker and fracture courses' if result.spec.layer.name == "bone" else 'platelet bands and response curves'}" src="data:image/png;base64,{img}" style="max-width:100%">
<h2>Endpoints (estimate and 95% interval)</h2>
<table><tr><th>arm</th><th>n</th><th>endpoint</th><th>measure</th><th>estimate</th><th>95% interval</th></tr>{''.join(rows)}</table>
<p>Intervals: with replicates, 2.5-97.5 percentiles of replicate trials; otherwise Wilson (proportions) or a seeded bootstrap.</p>
<h2>Provenance</h2><p>seed {result.seed}; versions {html.escape(json.dumps(dict(result.versions)))}; shards run {result.shards_run}, reused {result.shards_reused}; output {html.escape(result.out_dir or 'not kept (no --out)')}</p>
<h2>Spec</h2><pre>{spec}</pre></body></html>"""
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, f".{os.path.basename(path)}.tmp")
    with open(tmp, "w") as fh:
        fh.write(doc)
    os.replace(tmp, path)


def _spec_dict(spec) -> dict:
    import dataclasses

    return dataclasses.asdict(spec)


__all__ = ["render_trial_report", "trial_figure", "bone_trial_figure", "_save"]
