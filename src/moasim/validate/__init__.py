"""``moasim validate``: every calibration target the models cover, model vs published.

The targets are a copy of ``shared/reference/calibration_targets.yaml`` shipped with the
package (``calibration_targets.yaml`` here; a test checks the copy is current). Each
covered target has a check that simulates what the source study did
(:mod:`moasim.validate.metrics`) and compares with the published value and tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any, Callable

import numpy as np
import yaml

from ..library.build import Subject
from ..library.drugs import Food
from ..simulation import simulate
from . import metrics as mx

__all__ = ["load_targets", "run_validation", "TargetResult", "within", "known_failing"]


def load_targets() -> dict[str, dict]:
    """All calibration targets by id (with their group)."""
    text = resources.files(__package__).joinpath("calibration_targets.yaml").read_text()
    data = yaml.safe_load(text)
    out = {}
    for group, items in data.items():
        for t in items:
            out[t["id"]] = {**t, "group": group}
    return out


@dataclass(frozen=True, slots=True)
class TargetResult:
    id: str
    group: str
    model: Any
    published: Any
    tolerance: Any
    passed: bool
    note: str = ""
    role: str = ""  # calibration | prediction | identity | structural (targets file)
    mc_se: float | None = None  # Monte-Carlo SE of a population target's estimate (None: deterministic)

    def to_dict(self) -> dict:
        se = None if self.mc_se is None or not np.isfinite(self.mc_se) else round(float(self.mc_se), 4)
        return {"id": self.id, "group": self.group, "role": self.role, "model": _plain(self.model), "mc_se": se,
                "published": _plain(self.published), "tolerance": self.tolerance, "pass": bool(self.passed), "note": self.note}


def _plain(v):
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (np.floating, float)):
        return round(float(v), 4)
    return v


def within(value: float, published: float, tol: dict) -> bool:
    """Is ``value`` within the target's tolerance (range, fold, abs, rel)?"""
    if "range" in tol:
        lo, hi = tol["range"]
        return lo <= value <= hi
    if "fold" in tol:
        return published / tol["fold"] <= value <= published * tol["fold"]
    if "abs" in tol:
        return abs(value - published) <= tol["abs"]
    if "rel" in tol:
        return abs(value / published - 1) <= tol["rel"]
    raise ValueError(f"unknown tolerance {tol}")


# --------------------------------------------------------------------------- checks
# Each returns (model value, passed, note). `t` is the target record.

def _tpo_healthy(t):
    v = mx.tpo_steady("healthy")
    return v, within(v, t["value"], t["tolerance"]), "drug-free TPO after 1 year"


def _tpo_itp_ratio(t):
    v = mx.tpo_steady("itp") / mx.tpo_steady("healthy")
    return v, within(v, t["value"], t["tolerance"]), "typical ITP subject, platelets 18 x10^9/L"


def _tpo_amega(t):
    v = mx.tpo_steady("aplastic") / mx.tpo_steady("healthy")
    return v, within(v, t["value"], t["tolerance"]), "marrow failure, platelets 10 x10^9/L"


def _lifespan(t):
    v = mx.platelet_lifespan_days()
    return v, within(v, t["value"], t["tolerance"]), "count / release rate at steady state"


_ROM_SINGLE = [("1 ug/kg", "iv"), ("3 ug/kg", "iv"), ("10 ug/kg", "iv"), ("1 ug/kg", "sc"), ("2 ug/kg", "sc")]


def _rom_peak_day(t):
    days = {f"{d} {r}": mx.peak("romiplostim", d, r)["peak_day"] for d, r in _ROM_SINGLE}
    ok = all(within(v, t["value"], t["tolerance"]) for v in days.values())
    return days, ok, "single doses, healthy 70 kg"


def _rom_fold(t):
    v = mx.peak("romiplostim", "10 ug/kg", "iv")["peak_fold"]
    return v, within(v, t["value"], t["tolerance"]), "single IV dose, healthy"


def _rom_day28(t):
    r = simulate("romiplostim", "2 ug/kg", route="sc", days=28, samples_per_day=4)
    v = float(r.outputs["platelets"][-1] / r.outputs["platelets"][0])
    return round(v, 3), abs(v - 1) <= 0.2, "day-28 / baseline platelets after 2 ug/kg SC (pass: within 20%)"


def _rom_cmax(t):
    r = simulate("romiplostim", "1 ug/kg", route="sc", days=7, samples_per_day=48, subject=Subject(population="itp", east_asian=True, weight_kg=65.0))
    v = float(r.outputs["drug_concentration"].max() * 1000)  # ng/mL -> pg/mL
    return v, within(v, t["value"], t["tolerance"]), "typical ITP subject, 65 kg, serum (unbound) romiplostim"


def _elt_hv(t):
    model = {k: mx.eltrombopag_max_increase_pct(float(k.split()[0])) for k in t["regimen"]}
    ok = all(within(model[k], pub, t["tolerance"]) for k, pub in t["regimen"].items())
    return model, ok, "healthy men 75 kg, once daily x10 days, max % increase"


def _elt_ea(t):
    def auc_ss(ea: bool) -> float:
        r = simulate("eltrombopag", "50 mg", every="1 day", days=11, samples_per_day=96, subject=Subject(population="itp", east_asian=ea))
        m = (r.time >= 9) & (r.time <= 10)
        return mx.auc(r.time[m], r.outputs["drug_concentration"][m])

    v = auc_ss(True) / auc_ss(False)
    return v, within(v, t["value"], t["tolerance"]), "AUC0-24 at steady state (day 10), 50 mg daily, ITP"


def _elt_thalf(t):
    tt, c = mx.oral_single_dose_pk("eltrombopag", 50, subject=Subject(population="itp"))
    v = mx.terminal_half_life_h(tt, c, (24.0, 96.0))
    return v, within(v, t["value"], t["tolerance"]), "single 50 mg, typical ITP; log-linear 24-96 h"


def _het_tmax(t):
    vals = {}
    for dose in (5, 40):
        tt, c = mx.oral_single_dose_pk("hetrombopag", dose)
        vals[f"{dose} mg"] = float(tt[np.argmax(c)] * 24)
    ok = all(within(v, t["value"], t["tolerance"]) for v in vals.values())
    return vals, ok, "single fasting doses, healthy"


def _het_thalf(t):
    vals = {}
    for dose in (5, 10, 20, 40):
        tt, c = mx.oral_single_dose_pk("hetrombopag", dose)
        vals[f"{dose} mg"] = mx.terminal_half_life_h(tt, c, (24.0, 96.0))
    v = list(vals.values())
    ok = all(b > a for a, b in zip(v, v[1:])) and v[-1] / v[0] >= 2.0
    return vals, ok, "published 11.9 h (5 mg) -> 40.1 h (40 mg); pass: rises monotonically and >= 2-fold"


def _het_food(t):
    tt, c = mx.oral_single_dose_pk("hetrombopag", 7.5)
    tf, cf = mx.oral_single_dose_pk("hetrombopag", 7.5, food=Food(kind="high_fat"))
    v = mx.auc(tf, cf) / mx.auc(tt, c)
    return v, within(v, t["value"], t["tolerance"]), "single 7.5 mg, high-fat meal with the dose"


CHECKS: dict[str, Callable] = {
    "tpo_healthy": _tpo_healthy,
    "tpo_itp_ratio": _tpo_itp_ratio,
    "tpo_amegakaryocytic_ratio": _tpo_amega,
    "platelet_lifespan_healthy": _lifespan,
    "romiplostim_hv_peak_day": _rom_peak_day,
    "romiplostim_hv_10ugkg_iv_fold": _rom_fold,
    "romiplostim_hv_baseline_by_day28": _rom_day28,
    "romiplostim_chinese_itp_cmax_1ugkg": _rom_cmax,
    "eltrombopag_hv_max_increase": _elt_hv,
    "eltrombopag_east_asian_auc_ratio": _elt_ea,
    "eltrombopag_half_life_itp": _elt_thalf,
    "hetrombopag_tmax": _het_tmax,
    "hetrombopag_half_life_dose_dependence": _het_thalf,
    "hetrombopag_food_effect": _het_food,
}


#: Modules that contribute more checks (each defines ``CHECKS: dict[id, callable]`` with the
#: same signature as above). Add a module here when a layer covers new targets.
EXTRA_CHECK_MODULES: tuple[str, ...] = ("moasim.validate._bone", "moasim.validate._invitro", "moasim.validate._trials",)


def known_failing() -> dict[str, str]:
    """Targets that are covered but known to fail, with the reason (each check module's
    ``KNOWN_FAILING``; tests pin them, so a fixed failure must be unpinned)."""
    import importlib

    out: dict[str, str] = {}
    for name in EXTRA_CHECK_MODULES:
        out.update(getattr(importlib.import_module(name), "KNOWN_FAILING", {}))
    return out


def _all_checks() -> dict[str, Callable]:
    import importlib

    checks = dict(CHECKS)
    for name in EXTRA_CHECK_MODULES:
        checks.update(importlib.import_module(name).CHECKS)
    return checks


def run_validation(ids: list[str] | None = None, progress: bool = False, seed: int | None = None) -> tuple[list[TargetResult], list[str]]:
    """Run the covered checks; return (results, ids of targets not covered yet).

    ``seed`` seeds the population targets' replicate trials (None: each example trial's own
    seed); they are judged on the mean of the replicates, with its Monte-Carlo SE.
    """
    from . import _trials

    _trials.set_seed(seed)
    targets = load_targets()
    checks = _all_checks()
    wanted = ids or list(checks)
    results = []
    it = wanted
    if progress:
        from tqdm import tqdm

        it = tqdm(wanted, desc="validate", unit="target", leave=False)
    for tid in it:
        t = targets[tid]
        model, ok, note, *se = checks[tid](t)  # population checks also return their Monte-Carlo SE
        published = t.get("regimen", t.get("value"))
        results.append(TargetResult(tid, t["group"], model, published, t.get("tolerance", "qualitative"), bool(ok), note,
                                    t.get("role", ""), se[0] if se else None))
    not_covered = [k for k in targets if k not in checks]
    return results, not_covered
