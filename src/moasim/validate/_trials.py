"""Population calibration targets: the example trials (examples/*.yaml, shipped in the
package as data) run with their own seed and n, compared with the published results."""

from __future__ import annotations

from importlib import resources

from ..trials import parse_trial_spec, run_trial

__all__ = ["CHECKS"]

_cache: dict[str, dict] = {}


def _trial(name: str) -> dict:
    """Endpoint estimates per arm of a packaged example trial (run once per process)."""
    if name not in _cache:
        import yaml

        text = resources.files("moasim.validate").joinpath("trials", name).read_text()
        res = run_trial(parse_trial_spec(yaml.safe_load(text)), progress=False)
        _cache[name] = {a: {e: v["estimate"] for e, v in d["endpoints"].items()} for a, d in res.arms.items()}
    return _cache[name]


def _within(v, pub, tol):
    from . import within

    return within(v, pub, tol)


def _elt_day43(t):
    r = _trial("eltrombopag_bussel2007.yaml")
    arm = {"placebo": "placebo", "30 mg": "eltrombopag 30 mg", "50 mg": "eltrombopag 50 mg", "75 mg": "eltrombopag 75 mg"}
    model = {k: r[arm[k]]["responder_d43"] for k in t["regimen"]}
    ok = all(_within(model[k], pub, t["tolerance"]) for k, pub in t["regimen"].items())
    return model, ok, "examples/eltrombopag_bussel2007.yaml: n=300/arm, fixed dose 6 weeks, baseline < 30"


def _het_w6(t):
    v = _trial("hetrombopag_phase1.yaml")["hetrombopag 5 mg"]["responder_w6"]
    return v, _within(v, t["value"], t["tolerance"]), "examples/hetrombopag_phase1.yaml: n=300, 5 mg start, titrated"


def _het_ttr(t):
    v = _trial("hetrombopag_phase1.yaml")["hetrombopag 5 mg"]["time_to_response"]
    return v, _within(v, t["value"], t["tolerance"]), "Kaplan-Meier median, weekly visits"


def _het_fip(t):
    r = _trial("hetrombopag_first_in_patient.yaml")
    model = {k: r[f"hetrombopag {k}"]["responder_d28"] for k in t["regimen"]}
    ok = all(_within(model[k], pub, t["tolerance"]) for k, pub in t["regimen"].items())
    return model, ok, "examples/hetrombopag_first_in_patient.yaml: n=300/arm, 14 days fixed dose, day 28"


CHECKS = {
    "eltrombopag_itp_day43_responders": _elt_day43,
    "hetrombopag_phase1_week6": _het_w6,
    "hetrombopag_phase1_time_to_response": _het_ttr,
    "hetrombopag_first_in_patient_day28": _het_fip,
}
