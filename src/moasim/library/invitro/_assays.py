"""Simulated assays with realistic readouts and explicit-seed noise, analysed by :mod:`moasim.assay`.

- **Proliferation** (seeds 003/004): 1e4 cells/well in a 96-well plate, 72 h with a
  10-point dilution series in triplicate, vehicle (DMSO) and rhTPO 100 ng/mL controls,
  medium-only blanks; read by CellTiter-Glo luminescence (RLU ~ ATP ~ viable cells). The
  EC50 is ESTIMATED by the same 4PL fitter used for real plates
  (:func:`moasim.assay.fit_4pl`) on % of the rhTPO response.
- **Differentiation**: CD34+ cells 10-14 days with drug; flow events for CD41, CD61,
  CD42b and propidium iodide (DNA content), gated with thresholds from an isotype
  control (:func:`moasim.assay.positivity_thresholds`, :func:`moasim.assay.megakaryocyte_panel`)
  and a 2N-64N mixture fit on CD41+ events (:func:`moasim.assay.fit_ploidy`).
- **Signalling**: western-blot band intensities (phospho and total, per lane and time)
  with loading and detection noise; densitometry gives phospho/total ratios.

Noise model (assumptions, tag A): CellTiter-Glo RLU = blank + 50 RLU/cell x cells x
lognormal(CV 8%: seeding, pipetting, edge) + N(0, 150 RLU); flow fluorescence lognormal;
blot bands lognormal (CV 12%) with lane loading CV 8%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ...errors import SpecError, invalid_value
from .. import receptor_params as rp
from ..drugs import InVitroDefaults, get_drug
from ._build import MIN_PER_DAY, ploidy_fractions, simulate_culture
from ._network import PLOIDY
from ..._frozen import read_only


__all__ = ["ProliferationAssay", "DifferentiationAssay", "SignalingAssay", "run_proliferation_assay",
           "run_differentiation_assay", "run_signaling_assay", "plate_layout", "default_concentrations",
           "TPO_CONTROL_NG_ML", "SIGNALING_TARGETS"]

#: rhTPO positive control (seed 003: "recombinant human TPO"; Xie 2018: 100 ng/mL = maximal response)
TPO_CONTROL_NG_ML = 100.0
CELLS_PER_WELL = 1.0e4
RLU_PER_CELL = 50.0
BLANK_RLU = 800.0
SD_ADD_RLU = 150.0
CV_WELL = 0.08

SIGNALING_TARGETS = {"JAK2": "pJAK2", "STAT5": "pSTAT5", "STAT3": "pSTAT3", "AKT": "pAKT", "ERK": "pERK"}


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecError(invalid_value("seed", seed, "an integer >= 0 or a numpy Generator"))
    return np.random.default_rng(int(seed))


def _defaults(drug: str) -> InVitroDefaults:
    """The drug's in-vitro assay defaults (its registry entry, ``Drug.invitro``)."""
    return get_drug(rp.ligand(drug).name).invitro


def _default_nM(value: float | None) -> float:
    """A default concentration (nM); None: the rhTPO positive-control concentration."""
    return rp.ligand("tpo").nM(TPO_CONTROL_NG_ML, "ng/mL") if value is None else value


def default_concentrations(drug: str, cells: str, n: int = 10, dilution: float = math.sqrt(10.0), top_nM: float | None = None) -> np.ndarray:
    """Dilution series (nM, high to low) an experimenter would pick: top ~300x the expected EC50.

    The expectation is the published (or, for TPO/romiplostim, typical) EC50, not the model's.
    """
    if top_nM is None:
        expect = _defaults(drug).expected_ec50_nM
        if rp.cell(cells).name == "CD34+":
            expect *= 6.0
        top_nM = 10 ** math.ceil(math.log10(expect * 300.0))
    if not (math.isfinite(top_nM) and top_nM > 0):
        raise SpecError(invalid_value("top concentration", top_nM, "a finite number > 0 nM"))
    if not (math.isfinite(dilution) and dilution > 1):
        raise SpecError(invalid_value("dilution factor", dilution, "a number > 1"))
    if not (isinstance(n, (int, np.integer)) and 4 <= n <= 10):
        raise SpecError(invalid_value("number of concentrations", n, "an integer in 4..10 (columns 2-11 of a 96-well plate)"))
    return top_nM / dilution ** np.arange(n)


def plate_layout(concentrations_nM: Sequence[float], drug: str) -> pd.DataFrame:
    """96-well layout: rows B-D drug triplicates (cols 2-11, high to low), row E vehicle (cols 2-6)
    and rhTPO 100 ng/mL (cols 7-11), rows F-G cols 2-11 medium-only blanks; edge wells unused."""
    tpo_nM = rp.ligand("tpo").nM(TPO_CONTROL_NG_ML, "ng/mL")
    rows = []
    for r in "ABCDEFGH":
        for c in range(1, 13):
            well = f"{r}{c}"
            role, d, conc = "empty", "", 0.0
            if r in "BCD" and 2 <= c <= 1 + len(concentrations_nM):
                role, d, conc = "sample", rp.ligand(drug).name, float(concentrations_nM[c - 2])
            elif r == "E" and 2 <= c <= 6:
                role, d = "vehicle", "vehicle"
            elif r == "E" and 7 <= c <= 11:
                role, d, conc = "positive", "tpo", tpo_nM
            elif r in "FG" and 2 <= c <= 11:
                role = "blank"
            rows.append({"well": well, "row": r, "column": c, "role": role, "drug": d, "concentration_nM": conc})
    return pd.DataFrame(rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProliferationAssay:
    """A simulated 72 h CellTiter-Glo plate and its 4PL analysis."""

    drug: str
    cells: str
    seed: int | None
    plate: pd.DataFrame = field(repr=False)  # well, row, column, role, drug, concentration_nM, rlu
    fit: object = field(repr=False)  # moasim.assay.CurveFit on % of the rhTPO response
    ec50_nM: float
    ci95: tuple[float, float]

    def to_dict(self) -> dict:
        f = self.fit
        return {"drug": self.drug, "cells": self.cells, "ec50_nM": float(self.ec50_nM), "ci95": [float(c) for c in self.ci95],
                "fit": {**f.to_dict(), "response": "% of rhTPO 100 ng/mL response (blank-subtracted RLU)",
                        "concentration_unit": "nM", "seed": self.seed}}

    def plot(self, path: str | None = None):
        from ...assay import plot_dose_response

        fig = plot_dose_response(self.fit, None, unit="nM")
        ax = fig.axes[0]
        ax.set_ylabel("% of rhTPO response (CellTiter-Glo)")
        ax.set_title(f"{self.drug} on {self.cells}, 72 h: EC50 {self.ec50_nM:.3g} nM (95% CI {self.ci95[0]:.3g}-{self.ci95[1]:.3g})")
        fig.tight_layout()
        if path:
            fig.savefig(path, dpi=120)
        return fig


def _viable_72h(drugs: Mapping[str, float], cells: str, days: float) -> float:
    return float(simulate_culture(drugs, cells, t_out=np.array([0.0, days])).outputs["V"][-1])


def run_proliferation_assay(drug: str, cells: str = "32D-MPL", *, seed: int | np.random.Generator | None = 0,
                            concentrations_nM: Sequence[float] | None = None, top_nM: float | None = None,
                            dilution: float = math.sqrt(10.0), n_conc: int = 10, days: float = 3.0,
                            with_tpo_nM: float = 0.0) -> ProliferationAssay:
    """Simulate a 96-well proliferation plate read by CellTiter-Glo and fit a 4PL to it.

    Parameters
    ----------
    drug : str
        Test article: ``tpo`` or any drug of the catalogue (:data:`moasim.library.drugs.DRUGS`).
    cells : str
        ``32D-MPL`` or ``CD34+``.
    seed : int or Generator
        Noise seed (explicit; the same seed gives the same plate).
    concentrations_nM : sequence, optional
        Dilution series (nM); default :func:`default_concentrations`.
    with_tpo_nM : float
        Background TPO in every well (combination experiments); 0 by default.

    Returns
    -------
    ProliferationAssay
        The plate (RLU per well) and the 4PL fit of % rhTPO response vs concentration
        (vehicle wells enter as zero dose); ``ec50_nM`` with its profile-likelihood 95% CI.
    """
    from ...assay import fit_4pl

    name = rp.ligand(drug).name
    cname = rp.cell(cells).name
    conc = np.asarray(concentrations_nM if concentrations_nM is not None else default_concentrations(name, cname, n_conc, dilution, top_nM), float)
    if conc.ndim != 1 or not (4 <= conc.size <= 10) or np.any(~np.isfinite(conc)) or np.any(conc <= 0):
        raise SpecError(invalid_value("concentrations", list(conc), "4-10 finite concentrations > 0 nM"))
    if not (math.isfinite(days) and 1 <= days <= 7):
        raise SpecError(invalid_value("assay duration", days, "1..7 days (72 h in seed 003)"))
    if not (math.isfinite(with_tpo_nM) and with_tpo_nM >= 0):
        raise SpecError(invalid_value("background TPO", with_tpo_nM, "a finite concentration >= 0 nM"))
    rng = _rng(seed)
    layout = plate_layout(conc, name)
    base = {"tpo": with_tpo_nM} if with_tpo_nM > 0 else {}
    cache: dict[tuple, float] = {}

    def viable(role: str, c: float) -> float:
        key = (role, c)
        if key not in cache:
            if role == "sample":
                d = dict(base)
                d[name] = d.get(name, 0.0) + c
            elif role == "positive":
                d = {"tpo": c}
            else:
                d = dict(base)
            cache[key] = _viable_72h(d, cname, days)
        return cache[key]

    rlu = np.zeros(len(layout))
    for i, row in enumerate(layout.itertuples()):
        if row.role == "empty":
            rlu[i] = np.nan
            continue
        cells_in = 0.0 if row.role == "blank" else CELLS_PER_WELL * viable(row.role, row.concentration_nM)
        signal = RLU_PER_CELL * cells_in * rng.lognormal(-0.5 * CV_WELL**2, CV_WELL)
        rlu[i] = max(BLANK_RLU + signal + rng.normal(0.0, SD_ADD_RLU), 0.0)
    plate = layout.assign(rlu=rlu)
    # --- analysis, as for a real plate: blank-subtract, normalise to vehicle (0%) and rhTPO (100%)
    blank = plate.loc[plate.role == "blank", "rlu"].mean()
    veh = plate.loc[plate.role == "vehicle", "rlu"].mean() - blank
    pos = plate.loc[plate.role == "positive", "rlu"].mean() - blank
    if not pos > veh:
        raise SpecError(invalid_value("rhTPO control window", f"{pos:.0f} vs vehicle {veh:.0f} RLU", "positive control above vehicle"))
    use = plate[plate.role.isin(["sample", "vehicle"])]
    pct = 100.0 * (use.rlu.to_numpy() - blank - veh) / (pos - veh)
    x = np.where(use.role.to_numpy() == "sample", use.concentration_nM.to_numpy(), 0.0)
    plate = plate.assign(percent_of_tpo=np.where(plate.role.isin(["sample", "vehicle", "positive"]),
                                                 100.0 * (plate.rlu - blank - veh) / (pos - veh), np.nan))
    fit = fit_4pl(x, pct, label=f"{name} {cname}")
    ec50 = float(fit.estimates["ec50"])
    ci = tuple(float(v) for v in fit.ci95["ec50"])
    return ProliferationAssay(drug=name, cells=cname, seed=seed if isinstance(seed, int) else None, plate=plate, fit=fit,
                              ec50_nM=ec50, ci95=ci)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- differentiation
FLOW_CHANNELS = ("FSC-A", "SSC-A", "FL1-A", "FL2-A", "FL4-A", "FL3-A")
FLOW_MARKERS = ("", "", "CD41", "CD61", "CD42b", "PI")
PI_2N = 20000.0  # PI fluorescence of a 2N nucleus (linear scale)
PI_CV = 0.05


@dataclass(frozen=True, slots=True, kw_only=True)
class DifferentiationAssay:
    """A simulated CD34+ -> megakaryocyte culture read by flow cytometry."""

    drug: str
    concentration_nM: float
    cells: str
    days: float
    seed: int | None
    model_fractions: Mapping[str, float]  # deterministic model: CD41+, CD42b+ (of all cells), ploidy (of CD41+)
    panel: object = field(repr=False)  # moasim.assay.MarkerPanel
    ploidy: object = field(repr=False)  # moasim.assay.PloidyResult (CD41+ events)
    sample: object = field(repr=False)  # moasim.assay.FlowSample
    culture: object = field(repr=False)

    @property
    def percent_cd41(self) -> float:
        return float(self.panel.percent_positive["CD41+"])

    @property
    def ploidy_fractions(self) -> dict[str, float]:
        return dict(self.ploidy.fractions)

    def to_dict(self) -> dict:
        return {"drug": self.drug, "concentration_nM": self.concentration_nM, "cells": self.cells, "days": self.days,
                "seed": self.seed, "markers_percent": {k: round(float(v), 2) for k, v in self.panel.percent_positive.items()},
                "ploidy_fractions_cd41": {k: round(float(v), 4) for k, v in self.ploidy.fractions.items()},
                "mean_ploidy": self.ploidy.to_dict()["mean_ploidy"],
                "model": {k: round(float(v), 4) for k, v in self.model_fractions.items()}}

    def plot(self, path: str | None = None):
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        edges, counts = self.ploidy.log2_histogram
        a1.stairs(counts, edges, fill=True, alpha=0.6)
        for i, k in enumerate(PLOIDY):
            a1.axvline(math.log2(self.ploidy.mu_2n * 2**i), color="0.6", lw=0.6, ls=":")
            a1.text(math.log2(self.ploidy.mu_2n * 2**i), max(counts) * 0.95, f"{k}N", ha="center", fontsize=8)
        a1.set_xlabel("log2 PI fluorescence (CD41+ events)")
        a1.set_ylabel("events")
        a1.set_title("DNA content")
        fr = self.ploidy.fractions
        a2.bar(list(fr), [100 * v for v in fr.values()], color="C1")
        a2.set_ylabel("% of CD41+ cells")
        a2.set_title(f"CD41+ {self.percent_cd41:.1f}%, CD42b+ {self.panel.percent_positive['CD42b+']:.1f}%")
        fig.suptitle(f"{self.drug} {self.concentration_nM:g} nM, {self.cells}, day {self.days:g}")
        fig.tight_layout()
        if path:
            fig.savefig(path, dpi=120)
        return fig


def _events(rng, n, cd41, cd61, cd42, ploidy_n, g2=0.0):
    """Flow events of one population: lognormal marker intensities, PI at ploidy (G2 fraction doubles)."""
    fsc = rng.lognormal(math.log(4e4 * (ploidy_n / 2) ** 0.35), 0.2, n)
    ssc = rng.lognormal(math.log(2e4 * (ploidy_n / 2) ** 0.3), 0.25, n)

    def mk(mu):
        return rng.lognormal(math.log(mu), 0.45, n)

    dna = np.full(n, float(ploidy_n))
    if g2 > 0:
        dna = np.where(rng.random(n) < g2, 2 * dna, dna)
    pi = PI_2N * dna / 2 * rng.normal(1.0, PI_CV, n)
    return np.column_stack([fsc, ssc, mk(cd41), mk(cd61), mk(cd42), pi])


def _flow_sample(events: np.ndarray, source: str):
    from ...assay import FlowSample

    ev = np.array(events, float)
    ev.setflags(write=False)
    return FlowSample(channels=FLOW_CHANNELS, markers=FLOW_MARKERS, events=ev, metadata=MappingProxyType({"$CYT": "simulated"}),
                      version="3.1", source=source)


def run_differentiation_assay(drug: str = "tpo", concentration_nM: float | None = None, cells: str = "CD34+", *,
                              days: float = 14.0, seed: int | np.random.Generator | None = 0, n_events: int = 20000,
                              parameters: Mapping[str, float] | None = None) -> DifferentiationAssay:
    """Simulate a CD34+ megakaryocyte differentiation culture and analyse it like flow data.

    Parameters
    ----------
    drug, concentration_nM
        Agonist and its concentration (default: the drug's ``invitro.differentiation_nM``,
        about 10x its CD34+ EC50; rhTPO 100 ng/mL).
    days : float
        Culture length (10-14 days in seed 003).
    parameters : mapping, optional
        Model overrides, e.g. ``{"FMEKI": 0.7}`` for partial MEK inhibition (PD98059).
    """
    from ...assay.flow import fit_ploidy, megakaryocyte_panel, positivity_thresholds

    name = rp.ligand(drug).name
    if concentration_nM is None:
        concentration_nM = _default_nM(_defaults(name).differentiation_nM)
    if not (math.isfinite(concentration_nM) and concentration_nM >= 0):
        raise SpecError(invalid_value("concentration", concentration_nM, "a finite number >= 0 nM"))
    if not (math.isfinite(days) and 1 <= days <= 21):
        raise SpecError(invalid_value("culture days", days, "a number of days in 1..21"))
    if not (isinstance(n_events, (int, np.integer)) and 1000 <= n_events <= 10**6):
        raise SpecError(invalid_value("n_events", n_events, "an integer in 1000..1000000"))
    rng = _rng(seed)
    res = simulate_culture({name: concentration_nM}, cells, kind="differentiation", t_out=np.linspace(0, days, int(days) + 1),
                           parameters=parameters)
    o = res.outputs
    pops = {"P": float(o["P"][-1])}
    for k in PLOIDY:
        for m in "IM":
            pops[f"MK{k}{m}"] = float(o[f"MK{k}{m}"][-1])
    total = sum(pops.values())
    frac = {k: v / total for k, v in pops.items()}
    counts = rng.multinomial(n_events, [frac[k] for k in pops])
    blocks = []
    for (k, _), n in zip(pops.items(), counts):
        if n == 0:
            continue
        if k == "P":
            blocks.append(_events(rng, n, 150, 120, 100, 2, g2=0.2))  # cycling CD34+/CD41- cells
        else:
            ploidy_n = int(k[2:-1])
            mature = k.endswith("M")
            blocks.append(_events(rng, n, 9000, 7000, 6000 if mature else 130, ploidy_n, g2=0.12 if ploidy_n == 2 else 0.0))
    ev = np.vstack(blocks)
    ev = ev[rng.permutation(len(ev))]
    sample = _flow_sample(ev, f"simulated {name} {concentration_nM:g} nM day {days:g}")
    iso = _flow_sample(_events(rng, 5000, 150, 120, 100, 2, g2=0.2), "simulated isotype control")
    thr = positivity_thresholds(iso, ["CD41", "CD61", "CD42b"], quantile=0.99)
    panel = megakaryocyte_panel(sample, thr)
    cd41 = sample.column("CD41") >= thr["CD41"]
    ploidy = fit_ploidy(sample, "PI", within=cd41, mu_2n=PI_2N)
    mk_tot = total - pops["P"]
    model = {"CD41+": mk_tot / total, "CD42b+": sum(v for k, v in pops.items() if k.endswith("M")) / total}
    model.update({f"{k}N": v for k, v in ploidy_fractions(res).items()})
    return DifferentiationAssay(drug=name, concentration_nM=float(concentration_nM), cells=rp.cell(cells).name, days=float(days),
                                seed=seed if isinstance(seed, int) else None, model_fractions=MappingProxyType(model),
                                panel=panel, ploidy=ploidy, sample=sample, culture=res)


# ------------------------------------------------------------------------------------------- signalling
@dataclass(frozen=True, slots=True, kw_only=True)
class SignalingAssay:
    """Simulated western blots: band intensities per lane (time) and target, and densitometry ratios."""

    drug: str
    concentration_nM: float
    cells: str
    seed: int | None
    bands: pd.DataFrame = field(repr=False)  # lane, time_min, target, phospho, total, ratio, ratio_norm
    model_time_min: np.ndarray = field(repr=False)
    model: Mapping[str, np.ndarray] = field(repr=False)  # deterministic phospho/total time courses

    def peak_minutes(self) -> dict[str, float]:
        """Time of the maximum of each deterministic phospho/total course (min)."""
        return {t: float(self.model_time_min[int(np.argmax(v))]) for t, v in self.model.items()}

    def to_dict(self) -> dict:
        out = {"drug": self.drug, "concentration_nM": self.concentration_nM, "cells": self.cells, "seed": self.seed,
               "peak_min": self.peak_minutes(), "blot": {}}
        for tgt, g in self.bands.groupby("target", sort=False):
            out["blot"][tgt] = {"time_min": g.time_min.tolist(), "phospho_total": [round(v, 4) for v in g.ratio],
                                "fold_over_0": [round(v, 3) for v in g.ratio_norm]}
        return out

    def plot(self, path: str | None = None):
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        for i, (tgt, v) in enumerate(self.model.items()):
            ax.plot(self.model_time_min, v, color=f"C{i}", label=f"p{tgt}/{tgt} (model)")
            g = self.bands[self.bands.target == tgt]
            ax.scatter(g.time_min, g.ratio, color=f"C{i}", s=18)
        ax.set_xscale("symlog", linthresh=5)
        ax.set_xlabel("time after stimulation (min)")
        ax.set_ylabel("phospho / total")
        ax.set_title(f"{self.drug} {self.concentration_nM:g} nM on {self.cells}: western blot densitometry")
        ax.legend(fontsize=8, frameon=False)
        fig.tight_layout()
        if path:
            fig.savefig(path, dpi=120)
        return fig


def run_signaling_assay(drug: str = "tpo", concentration_nM: float | None = None, cells: str = "32D-MPL", *,
                        times_min: Sequence[float] = (0, 5, 15, 30, 60, 120), seed: int | np.random.Generator | None = 0,
                        band_cv: float = 0.12, loading_cv: float = 0.08) -> SignalingAssay:
    """Simulate a stimulation time course read by western blot (phospho and total bands).

    Densitometry as in the lab: ratio = (phospho - background)/(total - background), and
    fold over the unstimulated lane.
    """
    name = rp.ligand(drug).name
    if concentration_nM is None:
        concentration_nM = _default_nM(_defaults(name).signaling_nM)
    t = np.asarray(times_min, float)
    if t.ndim != 1 or t.size == 0 or np.any(~np.isfinite(t)) or np.any(t < 0) or np.any(t > 72 * 60):
        raise SpecError(invalid_value("times", list(t), "times in 0..4320 min"))
    rng = _rng(seed)
    grid = np.unique(np.concatenate([np.linspace(0, max(120.0, t.max()), 241), t]))
    res = simulate_culture({name: float(concentration_nM)}, cells, t_out=grid / MIN_PER_DAY)
    model = {tgt: np.asarray(res.outputs[out]) for tgt, out in SIGNALING_TARGETS.items()}
    rows = []
    bg = 200.0
    for lane, tm in enumerate(np.sort(t)):
        load = rng.lognormal(-0.5 * loading_cv**2, loading_cv)
        j = int(np.searchsorted(grid, tm))
        for tgt, course in model.items():
            total = bg + 1e4 * load * rng.lognormal(-0.5 * band_cv**2, band_cv)
            phos = bg + 1e4 * load * course[j] * rng.lognormal(-0.5 * band_cv**2, band_cv)
            rows.append({"lane": lane + 1, "time_min": float(tm), "target": tgt, "phospho": phos, "total": total,
                         "ratio": (phos - bg) / (total - bg)})
    bands = pd.DataFrame(rows)
    first = bands[bands.lane == 1].set_index("target").ratio
    bands["ratio_norm"] = bands.ratio / bands.target.map(first)
    for v in model.values():
        v.setflags(write=False)
    return SignalingAssay(drug=name, concentration_nM=float(concentration_nM), cells=rp.cell(cells).name,
                          seed=seed if isinstance(seed, int) else None, bands=bands, model_time_min=read_only(grid, float),
                          model=MappingProxyType(model))
