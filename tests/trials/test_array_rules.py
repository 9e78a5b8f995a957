"""Dosing and rescue rules over a whole shard (numpy, :mod:`moasim.dosing._array`) against the
reference: each subject's own controller objects and event lists (:class:`TitrationController`,
``RescueController``, :func:`regimen_events`), the semantics of ``moasim simulate`` and of the
libroadrunner engine. Both run through the same batched kernel, so every column of every
subject's shard row (counts at visits, daily counts, doses given, rescue times) must be equal."""

import functools
import glob
import os
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moasim.population import sample_subjects
from moasim.trials import load_trial_spec, parse_trial_spec
from moasim.trials._itp import _shard_batched

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")))
DEFAULT = str(resources.files("moasim.trials").joinpath("default_trial.yaml"))

#: every branch of the rules: taper then withdrawal, withdrawal ("for") with rescue, a fixed
#: regimen stopped early with rescue (doses and rescue at the same visits), oral doses with a meal (a
#: follow-up event after each dose), an IV bolus
BRANCHES = {
    "name": "rule branches",
    "population": {"kind": "itp", "baseline_platelets": {"min": 5, "max": 30}, "east_asian": 0.5},
    "duration": "10 weeks",
    "visits": "weekly",
    "arms": [
        {"name": "rom taper", "drug": "romiplostim", "route": "sc", "titration": "label", "taper": {"from": "5 weeks", "every": "1 week"}},
        {"name": "rom 6 weeks + rescue", "drug": "romiplostim", "route": "sc", "titration": "label", "for": "6 weeks",
         "rescue": {"below": 20}},
        {"name": "rom iv", "drug": "romiplostim", "route": "iv", "dose": "3 ug/kg", "every": "1 week", "for": "4 weeks",
         "rescue": {"below": 15}},
        {"name": "elt calcium", "drug": "eltrombopag", "titration": "label", "every": "1 day",
         "food": {"kind": "high_calcium", "after": "2 h"}, "rescue": {"below": 10}},
        {"name": "placebo + rescue", "drug": "none", "rescue": {"below": 25}},
    ],
    "endpoints": [{"name": "resc", "kind": "rescue_use"}],
}


def _specs():
    yield "default", load_trial_spec(DEFAULT)
    for path in EXAMPLES:
        spec = load_trial_spec(path)
        if getattr(spec.population, "kind", "itp") == "itp":
            yield os.path.basename(path), spec
    yield "branches", parse_trial_spec(BRANCHES)


def _equal(a, b) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return np.array_equal(np.asarray(a, float), np.asarray(b, float), equal_nan=True)
    return a == b or (a != a and b != b)


@pytest.mark.parametrize("name,spec", list(_specs()), ids=lambda x: x if isinstance(x, str) else "")
def test_rules_over_the_shard_equal_each_subjects_own_controllers(name, spec):
    spec = spec.with_run_options(seed=11)
    rescued = given = 0
    for a, arm in enumerate(spec.arms):
        draws = sample_subjects(spec.population, 12, np.random.SeedSequence(spec.seed, spawn_key=(0, a)),
                                (arm.drug,) if arm.drug else ())
        fast = _shard_batched(arm, spec, draws, None, array_rules=True)
        reference = _shard_batched(arm, spec, draws, None, array_rules=False)
        for i, (f, r) in enumerate(zip(fast, reference)):
            bad = [k for k in r if not _equal(f[k], r[k])]
            assert not bad, f"{name}, arm {arm.name}, subject {i}: {bad} differ"
        rescued += sum(r["rescued"] for r in reference)
        given += sum(len(r["dose_times"]) for r in reference)
    if name == "branches":  # the comparison saw rescues and doses, not only their absence
        assert rescued > 0 and given > 0


def test_the_label_rule_by_hand_for_three_subjects_at_once():
    """ArrayTitration alone on counts given by hand (Nplate label: +1 ug/kg below 50; -1 after two
    consecutive weeks above 200; hold above 400, resume one level lower below 200), the walk of
    tests/test_titration_units.py for three subjects at once; then a taper to withdrawal."""
    from moasim.dosing import ArrayTitration, get_rule
    from moasim.library.drugs import get_drug

    def rule_for(n, **kw):
        return ArrayTitration(rule=get_rule("romiplostim"), drug=get_drug("romiplostim"), route="sc", params=[{"F_rom": 0.5}] * n,
                              weight_kg=np.full(n, 70.0), east_asian=np.zeros(n, bool), **kw)

    counts = {7.0: [20, 500, 250], 14.0: [20, 300, 250], 21.0: [20, 150, 20], 28.0: [20, 20, 20], 35.0: [20, 20, 20]}
    ctl = rule_for(3, t_end=42.0)
    given = [ctl.decide(t, {"platelets": np.array(counts.get(t, [20, 20, 20]), float)}) for t in ctl.decision_times]
    doses = np.array([d for _, d in ctl.history])
    np.testing.assert_array_equal(doses[:, 0], [1, 2, 3, 4, 5, 6])  # always < 50: +1 every week
    np.testing.assert_array_equal(doses[:, 1], [1, 0, 0, 0, 1, 2])  # hold; resume at 0 ug/kg (no dose); then up
    np.testing.assert_array_equal(doses[:, 2], [1, 1, 0, 1, 2, 3])  # second week > 200: down to 0 ug/kg; then up
    np.testing.assert_array_equal(np.array(given)[:, 1], [1, -1, -1, -1, 1, 2])  # administrations: level index, -1 none

    taper = rule_for(1, t_end=56.0, taper_from=14.0, taper_every=7.0)
    for t in taper.decision_times:
        taper.decide(t, {"platelets": np.array([20.0])})  # < 50 throughout: the rule alone would go up
    assert [d[0] for _, d in taper.history] == [1, 2, 1, 0, 0, 0, 0, 0] and taper.withdrawn[0]


@functools.lru_cache(maxsize=None)
def _parameters(drug):
    from moasim.library.build import Subject, build_model

    return build_model((drug,), Subject(population="itp")).parameter_values


#: a count in every band of the label rules (romiplostim, eltrombopag, avatrombopag, hetrombopag),
#: on each threshold, and missing (NaN): every branch, with a chance to meet in sequences
_COUNT = st.sampled_from([10.0, 25.0, 30.0, 50.0, 120.0, 150.0, 200.0, 250.0, 400.0, 450.0, float("nan")])


@pytest.mark.parametrize("drug", ["romiplostim", "eltrombopag", "avatrombopag", "hetrombopag"])
@settings(max_examples=150, deadline=None)
@given(counts=st.lists(st.lists(_COUNT, min_size=4, max_size=4), min_size=10, max_size=10),
       east_asian=st.lists(st.booleans(), min_size=4, max_size=4),
       taper=st.one_of(st.none(), st.tuples(st.sampled_from([7.0, 14.0, 21.0, 35.0]), st.sampled_from([7.0, 14.0]))))
def test_array_titration_equals_one_controller_per_subject(drug, counts, east_asian, taper):
    """For any counts (thresholds hit exactly, NaN), East Asian start levels and tapers, the rule
    over four subjects at once gives each the dose history of her own TitrationController (the
    one-subject reference) and the administrations of those doses."""
    from moasim.dosing import ArrayTitration, TitrationController, get_rule
    from moasim.library.drugs import get_drug

    rule, d = get_rule(drug), get_drug(drug)
    route = "sc" if drug == "romiplostim" else "oral"
    params = _parameters(drug)
    t_end = 10.0 * rule.visit_days
    kw = dict(taper_from=taper[0], taper_every=taper[1]) if taper else {}
    many = ArrayTitration(rule=rule, drug=d, route=route, params=[params] * 4, weight_kg=np.full(4, 70.0),
                          east_asian=np.array(east_asian), t_end=t_end, **kw)
    ones = [TitrationController(rule=rule, drug=d, route=route, params=params, weight_kg=70.0, t_end=t_end,
                                east_asian=e, **kw) for e in east_asian]
    assert many.decision_times == ones[0].decision_times
    for t in many.decision_times:
        p = np.array(counts[int(t // rule.visit_days) % len(counts)])  # the count of the visit (read on visit days)
        given_ = many.decide(t, {"platelets": p})
        for i, one in enumerate(ones):
            events = one.decide(t, lambda name, i=i: float(p[i]))
            assert one.history[-1][1] == many.history[-1][1][i]
            assert (given_[i] >= 0) == bool(events)
            if events:  # her administration, moved to t, is the controller's events (meal, lag, dose record)
                ours = many.administration(int(given_[i]))[i]
                assert [(t + e.time, e.action, e.label, e.dose) for e in ours] == [(e.time, e.action, e.label, e.dose) for e in events]
