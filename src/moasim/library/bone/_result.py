"""The result of the bone layer: :class:`moasim.simulation.SimulationResult` with bone summaries and plots."""

from __future__ import annotations

import numpy as np

from ..._simulation_result import SimulationResult

__all__ = ["BoneSimulationResult"]


class BoneSimulationResult(SimulationResult):
    """A :class:`moasim.simulation.SimulationResult` whose ``summary``/``plot`` know bone outputs.

    What :func:`moasim.library.bone.run_bone` (and so ``simulate`` for a bone drug) returns.
    """

    def summary(self) -> dict[str, float]:
        """Month-12 (or final) BMD changes, P1NP peak, CTX nadir, drug Cmax."""
        t, o = self.time, self.outputs
        ip, ic = int(np.argmax(o["p1np"])), int(np.argmin(o["ctx"]))
        out = {f"final_{k}": float(o[k][-1]) for k in ("bmd_lumbar_spine", "bmd_total_hip", "bmd_femoral_neck", "p1np", "ctx")}
        out.update(peak_p1np=float(o["p1np"][ip]), peak_p1np_day=float(t[ip]), nadir_ctx=float(o["ctx"][ic]), nadir_ctx_day=float(t[ic]),
                   final_day=float(t[-1]))
        if "drug_concentration" in o:
            out["cmax_ng_per_mL"] = float(np.max(o["drug_concentration"]))
        return out

    def summary_units(self) -> dict[str, str]:
        """Unit of each :meth:`summary` value (BMD, P1NP, CTX: % change from baseline)."""
        out = {k: self.units.get(k.removeprefix("final_").removeprefix("peak_").removeprefix("nadir_"), "%")
               for k in self.summary() if not k.endswith("_day") and k != "cmax_ng_per_mL"}
        out.update({k: "day" for k in ("peak_p1np_day", "nadir_ctx_day", "final_day")})
        if "drug_concentration" in self.outputs:
            out["cmax_ng_per_mL"] = "ng/mL"
        return out

    def summary_lines(self) -> list[str]:
        """:meth:`summary` as text lines, every number with its unit (``moasim simulate``)."""
        s = self.summary()

        def pct(v: float) -> str:
            return f"{v:+.1f}%"

        day = f"day {s['final_day']:g}"
        lines = [
            f"BMD change from baseline at {day}: lumbar spine {pct(s['final_bmd_lumbar_spine'])}, "
            f"total hip {pct(s['final_bmd_total_hip'])}, femoral neck {pct(s['final_bmd_femoral_neck'])}",
            f"P1NP change from baseline: peak {pct(s['peak_p1np'])} on day {s['peak_p1np_day']:g}, {pct(s['final_p1np'])} at {day}",
            f"CTX change from baseline: nadir {pct(s['nadir_ctx'])} on day {s['nadir_ctx_day']:g}, {pct(s['final_ctx'])} at {day}",
        ]
        if "cmax_ng_per_mL" in s and self.doses:
            c = s["cmax_ng_per_mL"]
            text = f"{c / 1000.0:.3g} ug/mL ({c:.0f} ng/mL)" if c >= 1000 else f"{c:.3g} ng/mL" if c >= 1 else f"{c * 1000:.3g} pg/mL"
            lines.append(f"{self.drug or 'drug'} serum Cmax {text}{self._under_sampled_note()}")
        elif "alendronate_bone_surface" in self.outputs and self.doses:
            a = float(self.outputs["alendronate_bone_surface"][-1])
            amount = f"{a:.0f}" if abs(a) >= 100 else f"{a:.3g}"
            lines.append(f"alendronate on bone surfaces: {amount} ug at {day} (no modelled serum concentration)")
        return lines

    def _under_sampled_note(self) -> str:
        """A warning when the highest sample is a lone spike (a short-lived peak, e.g. teriparatide's
        1-hour half-life, between output samples): the sampled maximum then underestimates Cmax."""
        c = np.asarray(self.outputs["drug_concentration"])
        i = int(np.argmax(c))
        around = [c[j] for j in (i - 1, i + 1) if 0 <= j < len(c)]
        if around and c[i] > 1.25 * max(around):
            return " (the highest output sample; the peak falls between samples: sample more often for Cmax)"
        return ""

    def plot(self, path: str | None = None, title: str | None = None):
        """BMD, turnover markers and drug concentration over time (matplotlib figure; saved if ``path``)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(3, 1, figsize=(7, 8), sharex=True)
        t, o = self.time, self.outputs
        for k in ("bmd_lumbar_spine", "bmd_total_hip", "bmd_femoral_neck"):
            ax[0].plot(t, o[k], label=k)
        ax[0].set_ylabel("BMD, % change")
        for k in ("p1np", "ctx"):
            ax[1].plot(t, o[k], label=k.upper())
        ax[1].set_ylabel("marker, % change")
        if "drug_concentration" in o:
            ax[2].plot(t, o["drug_concentration"])
            ax[2].set_ylabel(f"{self.drug or 'drug'}, ng/mL")
        else:
            ax[2].plot(t, o["alendronate_bone_surface"])
            ax[2].set_ylabel("alendronate on bone surfaces, ug")
        ax[2].set_xlabel("day")
        for a in ax[:2]:
            a.legend(fontsize=8)
        fig.suptitle(title or f"{self.regimen}")
        if path:
            from ...report.plots import _save  # atomic write

            _save(fig, path)
        return fig
