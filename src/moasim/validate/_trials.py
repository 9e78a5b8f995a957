"""Population calibration targets: the example trials (examples/*.yaml, shipped in the
package as data), judged on the model's EXPECTED value, never on one lucky seed.

Each trial runs ``REPLICATES`` replicate trials of its own n (seed: the example's, or the
``--seed`` of ``moasim validate``) and the estimate is their mean, so the Monte-Carlo
standard error (``mc_se``, printed beside the estimate) is small against the tolerance:
for a proportion, sqrt(p(1 - p)/(n x REPLICATES)); for a median, the replicate spread.
"""

from __future__ import annotations

import math
from importlib import resources

from ..trials import parse_trial_spec, run_trial
from ._tolerance import within

__all__ = ["CHECKS", "REPLICATES", "set_seed"]

#: replicate trials pooled per population target (n = 300 each: mc_se <= 0.015 for a proportion)
REPLICATES = 4

_cache: dict[tuple[str, int | None], dict] = {}
_seed: list[int | None] = [None]


def set_seed(seed: int | None) -> None:
    """Seed of the population trials (None: each example trial's own seed)."""
    _seed[0] = seed


def _trial(name: str) -> dict:
    """Per arm and endpoint: (estimate, Monte-Carlo SE) of a packaged example trial (run once per process and seed)."""
    key = (name, _seed[0])
    if key not in _cache:
        import yaml

        text = resources.files("moasim.validate").joinpath("trials", name).read_text()
        spec = parse_trial_spec(yaml.safe_load(text)).with_run_options(seed=_seed[0], replicates=REPLICATES)
        res = run_trial(spec, progress=False, engine="batched")
        out = {}
        for a, d in res.arms.items():
            out[a] = {}
            for e, v in d["endpoints"].items():
                est, (lo, hi) = v["estimate"], v["ci95"]
                ep = next(x for x in spec.endpoints if x.name == e)
                if ep.kind in ("responder", "ever_responder", "responder_in_k_of_visits") and 0 <= est <= 1:
                    se = math.sqrt(max(est * (1 - est), 1e-12) / (spec.n * spec.replicates))
                else:  # replicate spread (2.5-97.5 percentiles ~ +-1.96 SD) over sqrt(R)
                    se = (hi - lo) / 3.92 / math.sqrt(spec.replicates) if math.isfinite(hi - lo) else float("nan")
                out[a][e] = (est, se)
        _cache[key] = out
    return _cache[key]


def _est(r: dict, arm: str, ep: str) -> float:
    return r[arm][ep][0]


def _se(values) -> float:
    """The largest Monte-Carlo SE among the values a target compares."""
    return float(max(values))


def _by_regimen(t, name: str, drug: str, endpoint: str, note: str):
    """A fixed-dose target with one published value per regimen (arm ``placebo`` or ``"<drug> <regimen>"``)."""
    r = _trial(name)
    arm = {k: ("placebo" if k == "placebo" else f"{drug} {k}") for k in t["regimen"]}
    model = {k: _est(r, arm[k], endpoint) for k in t["regimen"]}
    ok = all(within(model[k], pub, t["tolerance"]) for k, pub in t["regimen"].items())
    se = _se(r[arm[k]][endpoint][1] for k in t["regimen"])
    return model, ok, f"examples/{name}: {REPLICATES} x 300/arm, {note}", se


def _elt_day43(t):
    return _by_regimen(t, "eltrombopag_bussel2007.yaml", "eltrombopag", "responder_d43", "fixed dose 6 weeks, baseline < 30")


def _het_w6(t):
    v, se = _trial("hetrombopag_phase1.yaml")["hetrombopag 5 mg"]["responder_w6"]
    return v, within(v, t["value"], t["tolerance"]), f"examples/hetrombopag_phase1.yaml: {REPLICATES} x 300, 5 mg start, titrated", se


def _het_ttr(t):
    v, se = _trial("hetrombopag_phase1.yaml")["hetrombopag 5 mg"]["time_to_response"]
    return v, within(v, t["value"], t["tolerance"]), "Kaplan-Meier median, weekly visits (mean of the replicate medians)", se


def _het_fip(t):
    return _by_regimen(t, "hetrombopag_first_in_patient.yaml", "hetrombopag", "responder_d28", "14 days fixed dose, day 28")


def _ava_d28(t):
    return _by_regimen(t, "avatrombopag_bussel2014.yaml", "avatrombopag", "responder_d28",
                       "fixed dose 28 days, >= 50 and >= 20 above baseline")


#: Population targets covered but known to fail in expectation (pinned by the tests).
KNOWN_FAILING = {
    "eltrombopag_itp_day43_responders": (
        "expected value (4 x 300/arm) misses 50 and 75 mg: the model's 30 -> 50 mg step is far too shallow "
        "(Bussel 2007 median day-43 counts 26 -> 128): the dose each patient needs to reach 50 spreads with a log-SD of "
        "1.4 (fluctuation, IIV, splenectomy, PK covariates), while Bussel's step needs about 0.7 or less "
        "(tools/itp_dose_response.py --dose-needed; issue 11)"),
}

CHECKS = {
    "eltrombopag_itp_day43_responders": _elt_day43,
    "hetrombopag_phase1_week6": _het_w6,
    "hetrombopag_phase1_time_to_response": _het_ttr,
    "hetrombopag_first_in_patient_day28": _het_fip,
    "avatrombopag_itp_day28_responders": _ava_d28,
}
