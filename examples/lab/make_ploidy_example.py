"""Regenerate ``examples/lab/ploidy.fcs``, a DNA-content (ploidy) example with known class fractions.

Usage (from the repository root, in the project's environment)::

    python examples/lab/make_ploidy_example.py            # rewrites ploidy.fcs here
    python examples/lab/make_ploidy_example.py OUT_DIR    # writes it to OUT_DIR instead

ploidy.fcs
    FCS 3.1 list-mode file written by FlowIO's writer (``flowio.create_fcs``, float32,
    $PnR 262144), independent of moasim's FCS reader. Channels FSC-A, SSC-A and FL3-A
    (marker ``PI``: propidium iodide, linear DNA content) of ``N_NUCLEI`` megakaryocyte
    nuclei plus ``N_DEBRIS`` debris events. The nuclei are split *exactly* (not by random
    draws) into the classes 2N..64N with the fractions ``PLOIDY_FRACTIONS``; a 2N nucleus
    gives ``PI_2N`` and a kN nucleus ``PI_2N * k / 2``, times Gaussian noise of coefficient of
    variation ``PI_CV``. Debris is uniform over ``DEBRIS_RANGE`` on the PI channel. Event order
    is shuffled. ``moasim flow examples/lab/ploidy.fcs --ploidy PI`` should recover the
    fractions (``tests/assay/test_fcs_files.py`` checks that it does, within 0.02).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

SEED = 20240607
PLOIDY = ("2N", "4N", "8N", "16N", "32N", "64N")
PLOIDY_FRACTIONS = dict(zip(PLOIDY, (0.22, 0.26, 0.24, 0.16, 0.08, 0.04)))
N_NUCLEI = 6000
N_DEBRIS = 300
PI_2N = 4000.0  # PI signal of a 2N nucleus; 64N at 128000, inside the 262144 scale
PI_CV = 0.045
DEBRIS_RANGE = (300.0, 200000.0)
CHANNELS = ("FSC-A", "SSC-A", "FL3-A")
MARKERS = ("", "", "PI")


def class_counts() -> dict[str, int]:
    """Nuclei per class: the fractions times N_NUCLEI (they are whole numbers)."""
    counts = {k: int(round(f * N_NUCLEI)) for k, f in PLOIDY_FRACTIONS.items()}
    assert sum(counts.values()) == N_NUCLEI
    return counts


def events() -> tuple[np.ndarray, np.ndarray]:
    """(events x 3 float64 before float32 storage, class label per event: 0..5 or -1 for debris)."""
    rng = np.random.default_rng(SEED)
    label = np.concatenate([np.full(n, k) for k, n in enumerate(class_counts().values())] + [np.full(N_DEBRIS, -1)])
    copies = np.where(label >= 0, 2.0 ** np.maximum(label, 0), np.nan)  # DNA content / 2N
    pi = PI_2N * copies * rng.normal(1.0, PI_CV, label.size)
    debris = label < 0
    pi[debris] = rng.uniform(*DEBRIS_RANGE, int(debris.sum()))
    fsc = np.where(debris, rng.uniform(2000, 20000, label.size), 50000.0 * np.nan_to_num(copies, nan=1.0) ** 0.25
                   * rng.lognormal(0.0, 0.12, label.size))
    ssc = np.where(debris, rng.uniform(1000, 15000, label.size), 30000.0 * rng.lognormal(0.0, 0.2, label.size))
    order = rng.permutation(label.size)
    return np.column_stack([fsc, ssc, pi])[order], label[order]


def make_ploidy_fcs(path: Path) -> None:
    import flowio

    ev, _ = events()
    meta = {"$CYT": "synthetic (moasim examples/lab/make_ploidy_example.py)", "$FIL": "ploidy.fcs",
            "$SRC": "megakaryocyte nuclei, PI DNA content (synthetic)", "$DATE": "07-JUN-2024"}
    with open(path, "wb") as fh:
        flowio.create_fcs(fh, ev.astype(np.float32).ravel().tolist(), list(CHANNELS), opt_channel_names=list(MARKERS),
                          metadata_dict=meta)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    out.mkdir(parents=True, exist_ok=True)
    make_ploidy_fcs(out / "ploidy.fcs")
    print(f"wrote {out / 'ploidy.fcs'}")
