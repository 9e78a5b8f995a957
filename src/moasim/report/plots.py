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
