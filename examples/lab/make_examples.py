"""Regenerate the synthetic lab-data examples in ``examples/lab/`` (deterministic).

Usage (from the repository root, in the project's environment)::

    python examples/lab/make_examples.py            # rewrites ctg.csv, mk.fcs, blot.tif here
    python examples/lab/make_examples.py OUT_DIR    # writes them to OUT_DIR instead

Every file is drawn from ``numpy.random.default_rng(SEED)`` with its own seed, so a rerun
gives the same numbers (the shipped files are what this script writes). The true values
each file was generated with are module constants below; the README's lab commands
should recover them (``tests/reliability/test_readme_lab_examples.py`` checks that they do).
``gates.yaml`` is not generated: it is the hand-written gating strategy for ``mk.fcs``.

Files
-----
ctg.csv
    CellTiter-Glo (72 h) proliferation of 32D-MPL cells with eltrombopag and hetrombopag:
    tidy table, columns ``compound``, ``concentration`` (nM), ``replicate`` (1-3),
    ``response`` (luminescence, RLU). Vehicle wells have concentration 0; 10-point 1:3
    dilution series; 4PL with the EC50s of Xie et al. 2018 (32D-MPL: hetrombopag 0.4 nM,
    eltrombopag 13.4 nM), common plateaus and Hill slope, 2 % multiplicative plus 2000 RLU
    additive noise, rounded to whole RLU.
mk.fcs
    FCS 3.1 list-mode file (FlowIO writer, float32, $PnR 262144), ``N_EVENTS`` events of a
    day-14 CD34+-derived megakaryocyte culture: debris, doublets and single cells;
    channels FSC-A, FSC-H, SSC-A, FL1-A (CD41), FL2-A (CD42b), FL3-A (PI, linear DNA
    content), FL4-A (CD61). Among single cells a fraction ``FLOW_TRUTH['cd41_fraction']``
    is CD41+ (megakaryocytes: CD61+ with probability ``cd61_given_cd41``, CD42b+ with
    ``cd42b_given_cd41``, ploidy 2N-64N with ``mk_ploidy``); the others are CD41- 2N/4N cells.
blot.tif
    16-bit grey-scale western-blot scan, dark bands on a light background (as film or a
    document scanner gives), 6 lanes (``BLOT_LANES``), two band rows: pSTAT5 (top) and
    GAPDH (bottom); a background gradient and Gaussian noise. Band amplitudes are
    ``BLOT_PSTAT5`` and ``BLOT_GAPDH`` (intensity units above background), so the true
    pSTAT5/GAPDH fold change vs the vehicle lane is :func:`blot_truth_fold_change`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- ctg.csv

CTG_SEED = 20180401
#: compound -> (true EC50 in nM, top concentration of the series in nM); reference first.
CTG_COMPOUNDS = {"eltrombopag": (13.4, 3000.0), "hetrombopag": (0.4, 100.0)}
CTG_BOTTOM = 3000.0  # RLU: vehicle (no cytokine) wells after 72 h
CTG_TOP = 120000.0  # RLU: maximal proliferation
CTG_HILL = 1.2
CTG_DILUTION = 3.0
CTG_POINTS = 10
CTG_REPLICATES = 3
CTG_CV = 0.02  # multiplicative noise (well-to-well CV)
CTG_SD = 2000.0  # additive noise, RLU (reader and pipetting)


def ctg_concentrations(top: float) -> np.ndarray:
    """The 1:3 serial dilution from ``top`` (nM), rounded to 4 significant digits, plus vehicle (0)."""
    series = top / CTG_DILUTION ** np.arange(CTG_POINTS)
    return np.r_[0.0, [float(f"{c:.4g}") for c in series[::-1]]]


def make_ctg(path: Path) -> None:
    rng = np.random.default_rng(CTG_SEED)
    lines = ["compound,concentration,replicate,response"]
    for compound, (ec50, top) in CTG_COMPOUNDS.items():
        for c in ctg_concentrations(top):
            mu = CTG_BOTTOM + (CTG_TOP - CTG_BOTTOM) / (1.0 + (ec50 / c) ** CTG_HILL) if c > 0 else CTG_BOTTOM
            for rep in range(1, CTG_REPLICATES + 1):
                y = mu * (1.0 + CTG_CV * rng.standard_normal()) + CTG_SD * rng.standard_normal()
                lines.append(f"{compound},{c:g},{rep},{max(0, round(y))}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- mk.fcs

FLOW_SEED = 14
N_EVENTS = 5000
FLOW_CHANNELS = ("FSC-A", "FSC-H", "SSC-A", "FL1-A", "FL2-A", "FL3-A", "FL4-A")
FLOW_MARKERS = ("", "", "", "CD41", "CD42b", "PI", "CD61")
PLOIDY = ("2N", "4N", "8N", "16N", "32N", "64N")
FLOW_TRUTH = {
    "debris_fraction": 0.06,
    "doublet_fraction": 0.04,
    "cd41_fraction": 0.40,  # of single cells
    "cd61_given_cd41": 0.97,
    "cd61_given_cd41_neg": 0.02,
    "cd42b_given_cd41": 0.55,
    "mk_ploidy": dict(zip(PLOIDY, (0.30, 0.28, 0.20, 0.12, 0.07, 0.03))),
    "other_ploidy": {"2N": 0.85, "4N": 0.15},
    "pi_2n": 6000.0,  # PI signal of a 2N nucleus (linear)
    "pi_cv": 0.05,
}
_TOP = 262143.0  # instrument top of scale ($PnR 262144)


def _single_cells(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Events (n x 7) of single cells and a CD41+ mask."""
    t = FLOW_TRUTH
    mk = rng.random(n) < t["cd41_fraction"]
    mk_k = rng.choice(len(PLOIDY), n, p=list(t["mk_ploidy"].values()))
    other_k = rng.choice(2, n, p=list(t["other_ploidy"].values()))
    k = np.where(mk, mk_k, other_k)
    pi = rng.normal(t["pi_2n"] * 2.0**k, t["pi_cv"] * t["pi_2n"] * 2.0**k)
    # megakaryocytes grow with ploidy (FSC) and granularity (SSC)
    fsc_a = np.where(mk, 55000.0 * 2.0 ** (0.25 * k), 50000.0) * rng.lognormal(0.0, 0.15, n)
    fsc_h = fsc_a * rng.normal(0.85, 0.04, n)
    ssc_a = np.where(mk, 45000.0, 25000.0) * rng.lognormal(0.0, 0.25, n)

    def marker(pos: np.ndarray, level: float) -> np.ndarray:
        return np.where(pos, level * rng.lognormal(0.0, 0.5, n), rng.normal(100.0, 150.0, n))

    cd41 = marker(mk, 15000.0)
    cd42b = marker(mk & (rng.random(n) < t["cd42b_given_cd41"]), 6000.0)
    cd61 = marker(np.where(mk, rng.random(n) < t["cd61_given_cd41"], rng.random(n) < t["cd61_given_cd41_neg"]), 12000.0)
    return np.column_stack([fsc_a, fsc_h, ssc_a, cd41, cd42b, pi, cd61]), mk


def flow_events() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The events of mk.fcs (float64, before float32 storage) and per-event truth labels."""
    rng = np.random.default_rng(FLOW_SEED)
    t = FLOW_TRUTH
    n_debris = int(round(t["debris_fraction"] * N_EVENTS))
    n_doublet = int(round(t["doublet_fraction"] * N_EVENTS))
    n_single = N_EVENTS - n_debris - n_doublet
    single, mk = _single_cells(rng, n_single)
    a, _ = _single_cells(rng, n_doublet)
    b, _ = _single_cells(rng, n_doublet)
    doublet = a + b  # areas (and fluorescence) add; the height of a pair is little more than one cell's
    doublet[:, 1] = np.maximum(a[:, 1], b[:, 1]) * rng.normal(1.1, 0.05, n_doublet)
    debris = np.column_stack([
        rng.uniform(1000, 25000, n_debris), rng.uniform(800, 20000, n_debris), rng.uniform(500, 15000, n_debris),
        rng.normal(100, 150, n_debris), rng.normal(100, 150, n_debris), rng.uniform(200, 5000, n_debris),
        rng.normal(100, 150, n_debris),
    ])
    events = np.vstack([single, doublet, debris])
    kind = np.r_[np.full(n_single, "single"), np.full(n_doublet, "doublet"), np.full(n_debris, "debris")]
    cd41 = np.r_[mk, np.zeros(n_doublet + n_debris, dtype=bool)]
    order = rng.permutation(N_EVENTS)  # acquisition order: interleaved
    events = np.clip(events[order], -_TOP, _TOP)
    return events, {"kind": kind[order], "cd41": cd41[order]}


def make_fcs(path: Path) -> None:
    import flowio

    events, _ = flow_events()
    meta = {"$CYT": "synthetic (moasim examples/lab/make_examples.py)", "$FIL": "mk.fcs",
            "$SRC": "CD34+ -> megakaryocyte culture, day 14 (synthetic)", "$DATE": "01-APR-2018"}
    with open(path, "wb") as fh:
        flowio.create_fcs(fh, events.astype(np.float32).ravel().tolist(), list(FLOW_CHANNELS),
                          opt_channel_names=list(FLOW_MARKERS), metadata_dict=meta)


# ----------------------------------------------------------------------------- blot.tif

BLOT_SEED = 5
BLOT_SHAPE = (160, 300)  # rows, columns (pixels)
BLOT_LANES = ("veh", "0.1nM", "1nM", "10nM", "100nM", "1uM")
BLOT_LANE_CENTRES = tuple(25 + 50 * i for i in range(6))
#: band amplitudes above background (intensity units) per lane: pSTAT5 rises with dose; GAPDH ~ constant
BLOT_PSTAT5 = (600.0, 900.0, 2400.0, 7000.0, 11000.0, 12000.0)
BLOT_GAPDH = (9000.0, 9600.0, 8500.0, 9200.0, 8800.0, 9400.0)
BLOT_ROWS = {"pSTAT5": (50.0, 3.0), "GAPDH": (115.0, 4.0)}  # band centre row, Gaussian SD (pixels)
BLOT_PAPER = 56000.0  # light background (16-bit units)
BLOT_NOISE = 60.0


def _bands() -> dict[tuple[int, str], np.ndarray]:
    """Each band's noise-free image (lane index, target): lane profile x Gaussian row profile."""
    h, w = BLOT_SHAPE
    y, x = np.mgrid[0:h, 0:w].astype(float)
    out = {}
    for i, cx in enumerate(BLOT_LANE_CENTRES):
        fx = np.exp(-((np.abs(x - cx) / 16.0) ** 3))  # lane ~30 px wide, soft edges
        for name, amps in (("pSTAT5", BLOT_PSTAT5), ("GAPDH", BLOT_GAPDH)):
            cy, sy = BLOT_ROWS[name]
            out[(i, name)] = amps[i] * fx * np.exp(-0.5 * ((y - cy) / sy) ** 2)
    return out


def blot_truth() -> dict[tuple[int, str], float]:
    """Exact integrated band intensities (lane index, target) of the bands in blot.tif (intensity x pixels)."""
    return {k: float(b.sum()) for k, b in _bands().items()}


def blot_truth_fold_change() -> np.ndarray:
    """True (pSTAT5/GAPDH) per lane divided by the vehicle lane's."""
    t = blot_truth()
    ratio = np.array([t[(i, "pSTAT5")] / t[(i, "GAPDH")] for i in range(len(BLOT_LANES))])
    return ratio / ratio[0]


def blot_pixels() -> np.ndarray:
    rng = np.random.default_rng(BLOT_SEED)
    h, w = BLOT_SHAPE
    y, x = np.mgrid[0:h, 0:w].astype(float)
    signal = sum(_bands().values())
    background = BLOT_PAPER - 8.0 * x - 10.0 * y  # uneven illumination / membrane
    img = background - signal + rng.normal(0.0, BLOT_NOISE, (h, w))
    return np.clip(np.round(img), 0, 65535).astype(np.uint16)


def make_blot(path: Path) -> None:
    import tifffile

    tifffile.imwrite(path, blot_pixels(), photometric="minisblack")


# ----------------------------------------------------------------------------- main


def make_all(out_dir: str | Path = HERE) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "ctg.csv", out / "mk.fcs", out / "blot.tif"]
    make_ctg(paths[0])
    make_fcs(paths[1])
    make_blot(paths[2])
    return paths


if __name__ == "__main__":
    for p in make_all(sys.argv[1] if len(sys.argv) > 1 else HERE):
        print(f"wrote {p} ({p.stat().st_size} bytes)")
