"""Plots of simulation results."""

from __future__ import annotations

import os
import tempfile


def _save(fig, path: str) -> None:
    """Write atomically: nothing half-written if saving fails."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=os.path.splitext(path)[1] or ".png", dir=d)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
        _default_mode(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _default_mode(path: str) -> None:
    """mkstemp files are 0600; give the final file the usual mode (0666 minus the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def plot_simulation(result, path: str | None = None, title: str | None = None):
    """Three stacked panels: platelets (with dose marks), TPO, drug concentration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_drug = "drug_concentration" in result.outputs
    n = 3 if has_drug else 2
    fig, axes = plt.subplots(n, 1, figsize=(8, 2.6 * n), sharex=True)
    t = result.time
    ax = axes[0]
    ax.plot(t, result.outputs["platelets"], color="C3", lw=2)
    ax.axhline(50, color="grey", ls=":", lw=1)
    ax.set_ylabel("platelets (10$^9$/L)")
    for td, _drug, amount, unit in result.doses:
        ax.axvline(td, color="C0", alpha=0.15, lw=1)
    ax.set_title(title or f"{result.drug or 'no drug'} — {result.regimen} — {result.subject.population}")
    axes[1].plot(t, result.outputs["tpo"], color="C2")
    axes[1].set_ylabel("TPO (pg/mL)")
    if has_drug:
        axes[2].plot(t, result.outputs["drug_concentration"], color="C0")
        axes[2].set_ylabel(f"{result.drug} ({result.units['drug_concentration']})")
        axes[2].set_yscale("symlog", linthresh=1e-3)
    axes[-1].set_xlabel("time (days)")
    fig.tight_layout()
    if path:
        _save(fig, path)
    return fig


def plot_dataset(result, path: str | None = None, max_panels: int = 12):
    """One panel per ID (up to ``max_panels``): the predicted ``dv_output`` over time, the DV
    points (open markers: BLQ) and the dose times."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = list(result.subjects)[:max_panels]
    ncol = min(3, len(ids))
    nrow = -(-len(ids) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.8 * nrow), squeeze=False, sharex=True)
    name = result.dv_output
    for ax, sid in zip(axes.flat, ids):
        res = result.subjects[sid]
        ax.plot(res.time, res.outputs[name], color="C3", lw=1.5)
        for td, *_ in res.doses:
            ax.axvline(td, color="C0", alpha=0.12, lw=1)
        pts = [(o["time_days"], o["dv"], bool(o["blq"])) for o in result.observations[sid] if o["dv"] is not None and not o["mdv"]]
        for blq in (False, True):  # filled: measured; open: below the limit of quantification
            sel = [(t, dv) for t, dv, b in pts if b is blq]
            if sel:
                ax.scatter(*zip(*sel), s=14, zorder=3, edgecolors="k", facecolors="none" if blq else "k")
        ax.set_title(f"ID {sid}", fontsize=9)
        ax.set_ylabel(f"{name} ({res.units[name]})", fontsize=8)
    for ax in list(axes.flat)[len(ids):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("time (days)")
    more = f" (first {len(ids)} of {len(result.subjects)} IDs)" if len(result.subjects) > len(ids) else ""
    fig.suptitle(f"{next(iter(result.subjects.values())).drug}: event dataset, model and DV{more}")
    fig.tight_layout()
    if path:
        _save(fig, path)
    return fig


def plot_patient_fit(fit, path: str | None = None, n: int = 200):
    """One patient's counts and the fitted model: individual prediction (MAP) and the 90% band of
    the posterior (true count), doses marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    p = fit.problem
    t_end = max(float(p.t_obs.max()), 1.0)
    t = np.linspace(0.0, t_end, int(t_end * 4) + 1)
    Z, NR = fit.draw(n, np.random.default_rng(1))
    sims = [s for s in p.simulate_many(Z, NR, t) if s is not None]
    best = p.simulate(fit.best.z, fit.best.non_responder, t)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    if sims:
        lo, hi = np.percentile(np.array(sims), [5, 95], axis=0)
        ax.fill_between(t, lo, hi, color="C3", alpha=0.2, label="posterior 90%")
    ax.plot(t, best, color="C3", lw=2, label="individual prediction (MAP)")
    ax.scatter(p.t_obs, np.exp(p.log_dv), color="k", s=16, zorder=3, label="observed")
    for d in p.record.doses:
        ax.axvline(d.time, color="C0", alpha=0.15, lw=1)
    ax.set_xlabel("time (days)")
    ax.set_ylabel("platelets (10$^9$/L)")
    ax.set_title(f"ID {p.record.id}: {p.drug.name}, Bayesian fit")
    ax.legend(fontsize=8)
    fig.tight_layout()
    if path:
        _save(fig, path)
    return fig


def plot_forecast(fc, path: str | None = None):
    """One panel per candidate regimen: the history, the forecast median and 90% band of measured
    counts, the target range; the recommended regimen is marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(fc.regimens)
    ncol = min(3, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.8 * nrow), squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, names):
        r = fc.regimens[name]
        ax.axhspan(*fc.target, color="C2", alpha=0.12)
        ax.fill_between(r["time_days"], r["p5"], r["p95"], color="C3", alpha=0.25)
        ax.plot(r["time_days"], r["median"], color="C3", lw=1.5)
        ax.scatter(fc.history["time_days"], fc.history["observed"], s=10, color="k", zorder=3)
        ax.set_title(f"{'* ' if name == fc.recommended else ''}{name}: P(in target) {r['p_in_target']:.2f}", fontsize=8)
        ax.set_yscale("log")
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("time (days)")
    fig.suptitle(f"forecast from day {fc.start_day:g}, {fc.draws} posterior draws; * recommended")
    fig.tight_layout()
    if path:
        _save(fig, path)
    return fig
