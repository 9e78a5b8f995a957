"""Checks of the ``in_vitro`` calibration targets (simulated assays analysed like real data).

EC50 targets: a 96-well 72 h CellTiter-Glo plate is simulated with noise (fixed seed
:data:`SEED`), normalised to vehicle and rhTPO 100 ng/mL, and fitted by the lab 4PL fitter
(:func:`moasim.assay.fit_4pl`); the estimated EC50 is compared with the published one.
The additivity target is checked by the definitions in
:mod:`moasim.library.invitro._pharmacology`.
"""

from __future__ import annotations

from typing import Callable

from ._tolerance import within

__all__ = ["CHECKS", "SEED"]

#: Noise seed of the simulated plates used for validation (chosen before looking at results).
SEED = 0


def _ec50(drug: str, cells: str):
    def check(t):
        from ..library.invitro import run_proliferation_assay

        a = run_proliferation_assay(drug, cells, seed=SEED)
        lo, hi = a.ci95
        note = (f"4PL fit of a simulated 72 h {cells} CellTiter-Glo plate (seed {SEED}, triplicates, 10 points); "
                f"95% CI {lo:.3g}-{hi:.3g} nM; top {a.fit.estimates['top']:.0f}% of rhTPO")
        return round(a.ec50_nM, 4), within(a.ec50_nM, t["value"], t["tolerance"]), note

    return check


def _additivity(t):
    from ..library.invitro._pharmacology import combination_response, tpo_binding_change

    het_bind = tpo_binding_change("hetrombopag")
    rom_bind = tpo_binding_change("romiplostim")
    comb = combination_response("hetrombopag", 0.1)
    model = {"tpo_binding_change_hetrombopag_10xKA": round(het_bind, 4), "tpo_binding_change_romiplostim_10xKA": round(rom_bind, 4),
             "response_tpo_submax": round(comb["tpo"], 3), "response_hetrombopag": round(comb["drug"], 3),
             "response_both": round(comb["both"], 3), "hetrombopag_added_fraction": round(comb["added_fraction"], 3)}
    gain = comb["both"] - max(comb["tpo"], comb["drug"])
    model["combination_gain_over_best_single"] = round(gain, 3)
    ok = abs(het_bind) <= 0.10 and rom_bind <= -0.80 and gain >= 0.05 and 0.1 <= comb["tpo"] <= 0.5
    note = ("pass: 4 degC 125I-TPO (0.05 nM) competition in 32D-MPL - romiplostim at 10xKA cuts TPO binding >= 80% "
            "(same site), hetrombopag at 10xKA changes it <= 10% (TM site); 72 h response with TPO at ~EC25 (0.2 pM) + "
            "hetrombopag 0.1 nM (~EC25) exceeds the larger single-agent response by >= 5 points of the rhTPO maximum")
    return model, ok, note


CHECKS: dict[str, Callable] = {
    "ec50_32d_mpl_hetrombopag": _ec50("hetrombopag", "32D-MPL"),
    "ec50_32d_mpl_eltrombopag": _ec50("eltrombopag", "32D-MPL"),
    "ec50_cd34_hetrombopag": _ec50("hetrombopag", "CD34+"),
    "ec50_cd34_eltrombopag": _ec50("eltrombopag", "CD34+"),
    "additivity_hetrombopag_tpo": _additivity,
}
