"""Bone trials through the trial engine (issue 6): spec contract, refusals, endpoints against
published targets and independent computations, fracture events against closed forms."""

import json
import math
import numpy as np
import pytest
import yaml
from hypothesis import given, settings, strategies as st
from scipy.integrate import quad

from moasim.cli.main import main
from moasim.errors import SpecError
from moasim.library.bone.fracture import T_SCORE_REF, TREATMENT_SLOPE, baseline_rate, event_times
from moasim.trials import parse_trial_spec, run_trial
from moasim.trials._bone import arm_regimens
from moasim.trials._endpoints import evaluate_contrast
from moasim.validate import load_targets

BONE = {
    "name": "bone-mini",
    "population": {"kind": "postmenopausal_osteoporosis", "iiv": False, "measurement_error": False,
                   "baseline_t_score": {"mean": T_SCORE_REF, "sd": 0}},
    "duration": "12 months",
    "visits": "1 month",
    "arms": [
        {"name": "romo", "drug": "romosozumab", "dose": "210 mg", "every": "1 month", "route": "sc"},
        {"name": "placebo", "drug": "none"},
    ],
    "endpoints": [
        {"name": "ls12", "kind": "percent_change", "output": "bmd_lumbar_spine", "at": "12 months"},
        {"name": "p1np_w2_vs", "kind": "percent_change", "output": "p1np", "at": "2 weeks", "vs": "placebo"},
        {"name": "ctx12_vs", "kind": "percent_change", "output": "ctx", "at": "12 months", "vs": "placebo"},
        {"kind": "incidence", "event": "new_vertebral_fracture", "by": "12 months"},
    ],
}


def _bone(**changes) -> dict:
    d = json.loads(json.dumps(BONE))
    d.update(changes)
    return d


def test_design_md_bone_spec_parses():
    """The DESIGN.md bone trial: population kind, 210 mg every month SC, a named percent_change
    endpoint and an unnamed incidence endpoint."""
    spec = parse_trial_spec({
        "name": "romo", "population": {"kind": "postmenopausal_osteoporosis"}, "duration": "12 months",
        "arms": [{"name": "romosozumab", "drug": "romosozumab", "dose": "210 mg", "every": "1 month", "route": "sc"},
                 {"name": "placebo", "drug": "none"}],
        "endpoints": [{"name": "ls_bmd_12m", "kind": "percent_change", "output": "bmd_lumbar_spine", "at": "12 months", "statistic": "mean"},
                      {"kind": "incidence", "event": "new_vertebral_fracture", "by": "12 months"}],
    })
    assert spec.layer.name == "bone" and spec.visit_days == pytest.approx(365.25 / 12)
    assert [e.name for e in spec.endpoints] == ["ls_bmd_12m", "new_vertebral_fracture by 12 months"]
    assert spec.arms[0].every_days == pytest.approx(365.25 / 12) and spec.arms[0].dose == 210 and spec.arms[0].unit == "mg"


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d["population"].update(fracture_rates={"new_vertebral_fracture": 0.05}), "population.fracture_rates.new_vertebral_fracture"),
    (lambda d: d["population"].update(baseline_platelets={"min": 5}), "Unknown key 'baseline_platelets'"),
    (lambda d: d["endpoints"][0].update(output="bmd_wrist"), "Unknown output 'bmd_wrist'"),
    (lambda d: d["endpoints"][0].update(kind="responder"), "Unknown endpoint kind of a bone trial 'responder'"),
    (lambda d: d["endpoints"][0].update(at="13 months"), "endpoints[ls12].at"),
    (lambda d: d["endpoints"][1].update(vs="sham"), "Unknown reference arm 'sham'"),
    (lambda d: d["endpoints"][3].update(event="hip_fracture"), "population.fracture_rates.hip_fracture"),
    (lambda d: d["arms"][0].update(drug="eltrombopag"), "Unknown drug of a bone trial 'eltrombopag'"),
    (lambda d: d["arms"][0].update(titration="label"), "Unknown key 'titration'"),
    (lambda d: d["arms"][0].update(then={"drug": "denosumab", "dose": "60 mg"}), "arms[romo].then"),
    (lambda d: d["arms"][0].update(route="oral"), "route of romosozumab"),
    (lambda d: d["arms"][0].update(dose="210 mL"), "arms[romo].dose"),
    # one dose for a "treatment period": the period changed nothing (accepted and ignored before)
    (lambda d: d["arms"][0].pop("every") and d["arms"][0].update({"for": "12 months"}), "arms[romo].for"),
    # a T-score range the distribution does not reach: refused mid-run before
    (lambda d: d["population"].update(baseline_t_score={"mean": -2, "sd": 0.1, "min": 3, "max": 4}), "population.baseline_t_score"),
])
def test_bad_bone_specs_are_refused_with_one_line(mutate, needle, assert_refused):
    d = _bone()
    mutate(d)
    assert_refused(d, needle)


def test_batched_engine_is_refused_for_bone_trials(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(_bone()))
    assert main(["trial", str(f), "--engine", "batched", "--n", "2", "--out", str(tmp_path / "o")]) == 2
    assert "bone trial" in capsys.readouterr().err


@pytest.fixture(scope="module")
def typical_run():
    """Identical typical women (no IIV, no measurement error) on romosozumab or placebo."""
    return run_trial(parse_trial_spec(_bone(n=3)), workers=1, progress=False)


def test_typical_women_reproduce_the_published_targets(typical_run):
    romo, plac = typical_run.arms["romo"]["endpoints"], typical_run.arms["placebo"]["endpoints"]
    targets = load_targets()  # McClung 2014 NEJM 370:412; Evenity label 12.2 (P1NP peak at week 2, CTX at month 12)
    for endpoint, tid in (("ls12", "romosozumab_ls_bmd_12m_phase2"), ("p1np_w2_vs", "romosozumab_p1np_peak"),
                          ("ctx12_vs", "romosozumab_ctx_month12")):
        assert romo[endpoint]["estimate"] == pytest.approx(targets[tid]["value"], abs=targets[tid]["tolerance"]["abs"]), endpoint
    assert romo["ls12"]["ci95"][1] - romo["ls12"]["ci95"][0] == pytest.approx(0, abs=1e-9)  # identical women
    assert plac["ls12"]["estimate"] == pytest.approx(0, abs=1e-6)  # drug-free steady state
    assert plac["p1np_w2_vs"] == {"estimate": 0.0, "ci95": (0.0, 0.0)}


def test_event_times_follow_the_exponential_quantile_without_treatment():
    """Constant hazard: first event at -ln(1-u)/rate (closed form)."""
    t = np.arange(0, 731.0)
    rate = 0.0583 / 365.25
    for u in (0.001, 0.02, 0.05, 0.09):
        expected = -math.log1p(-u) / rate
        got = event_times(t, np.zeros_like(t), rate, "new_vertebral_fracture", u)
        assert (got == pytest.approx(expected, rel=1e-9)) if expected <= 730 else math.isnan(got)


def test_event_times_match_quadrature_of_the_treated_hazard():
    """Time-varying hazard rate*exp(b*dTH(t)) against scipy.integrate.quad (tight tolerance)."""
    t = np.linspace(0, 730, 730 * 8 + 1)
    th = 6.0 * (1 - np.exp(-t / 120.0))
    rate = 0.3 / 365.25
    b = TREATMENT_SLOPE["new_vertebral_fracture"]
    hazard = lambda s: rate * math.exp(b * 6.0 * (1 - math.exp(-s / 120.0)))  # noqa: E731
    for u in (0.03, 0.1, 0.18):
        got = event_times(t, th, rate, "new_vertebral_fracture", u)
        assert 0 < got < 730
        assert quad(hazard, 0, got, epsabs=1e-13, epsrel=1e-12)[0] == pytest.approx(-math.log1p(-u), rel=1e-5)


def test_treatment_slopes_reproduce_bouxsein_2019():
    """Bouxsein 2019 JBMR 34:632: 2% / 6% total-hip gain -> 28% / 66% fewer vertebral, 16% / 40% fewer hip fractures."""
    for event, (r2, r6) in {"new_vertebral_fracture": (0.72, 0.34), "hip_fracture": (0.84, 0.60)}.items():
        assert math.exp(2 * TREATMENT_SLOPE[event]) == pytest.approx(r2, abs=0.03)
        assert math.exp(6 * TREATMENT_SLOPE[event]) == pytest.approx(r6, abs=0.03)
    # Marshall 1996: 2.3-fold vertebral risk per age-adjusted SD (0.142 g/cm2) lower spine BMD
    sd_in_t = 0.142 / 0.106
    assert baseline_rate("new_vertebral_fracture", 1.0, T_SCORE_REF - sd_in_t) == pytest.approx(2.3)


@settings(max_examples=60, deadline=None)
@given(u1=st.floats(1e-4, 0.5), u2=st.floats(1e-4, 0.5), rate=st.floats(1e-4, 1e-2), gain=st.floats(0, 15))
def test_event_times_are_monotone(u1, u2, rate, gain):
    """Later quantile -> later (or no) event; larger BMD gain -> later (or no) event; never before day 0."""
    t = np.arange(0, 366.0)
    th = gain * t / 365.0
    lo, hi = sorted((u1, u2))
    a, b = (event_times(t, th, rate, "new_vertebral_fracture", u) for u in (lo, hi))
    assert math.isnan(b) or (a <= b + 1e-9 and a >= 0)
    untreated = event_times(t, np.zeros_like(t), rate, "new_vertebral_fracture", hi)
    assert math.isnan(untreated) or math.isnan(b) or b >= untreated - 1e-9


def test_katz_interval_of_a_risk_ratio_by_hand():
    """10/100 vs 20/100: RR 0.5, SE(log RR) = sqrt(1/10 - 1/100 + 1/20 - 1/100) -> [0.2467, 1.0134]."""
    ep = parse_trial_spec(_bone()).endpoints[3]
    arm = [(np.r_[np.ones(10), np.zeros(90)], np.ones(100))]
    ref = [(np.r_[np.ones(20), np.zeros(80)], np.ones(100))]
    r = evaluate_contrast(ep, arm, ref)
    se = math.sqrt(1 / 10 - 1 / 100 + 1 / 20 - 1 / 100)
    assert r["estimate"] == pytest.approx(0.5)
    assert r["ci95"] == pytest.approx([0.5 * math.exp(-1.959964 * se), 0.5 * math.exp(1.959964 * se)], rel=1e-6)


def test_risk_ratio_with_a_zero_count_contains_its_estimate():
    """0/20 vs 4/20: RR 0, its interval from 0 to the continuity-corrected Katz upper limit
    (0.5/20.5 vs 4.5/20.5: SE sqrt(1/0.5 - 1/20.5 + 1/4.5 - 1/20.5)); 4/20 vs 0/20: RR infinite;
    0/20 vs 0/20: no ratio and no interval (it printed 0 [0.008, 2.6] and nan [0.02, 48])."""
    ep = parse_trial_spec(_bone()).endpoints[3]
    zero, four = (np.zeros(20), np.ones(20)), (np.r_[np.ones(4), np.zeros(16)], np.ones(20))
    r = evaluate_contrast(ep, [zero], [four])
    se = math.sqrt(1 / 0.5 - 1 / 20.5 + 1 / 4.5 - 1 / 20.5)
    assert r["estimate"] == 0 and r["ci95"] == pytest.approx([0.0, (0.5 / 4.5) * math.exp(1.959964 * se)], rel=1e-9)
    r = evaluate_contrast(ep, [four], [zero])
    assert r["estimate"] == math.inf and r["ci95"][1] == math.inf and 0 < r["ci95"][0] < 9.0
    r = evaluate_contrast(ep, [zero], [zero])
    assert math.isnan(r["estimate"]) and all(math.isnan(x) for x in r["ci95"])


def test_sequence_starts_the_follow_on_when_the_first_treatment_ends():
    spec = parse_trial_spec(_bone(arms=[{"name": "seq", "drug": "romosozumab", "dose": "210 mg", "every": "1 month", "for": "6 months",
                                         "then": {"drug": "denosumab", "dose": "60 mg", "every": "6 months"}}],
                                   endpoints=BONE["endpoints"][:1]))
    romo, deno = arm_regimens(spec.arms[0])
    assert romo.count == 6 and romo.start == 0
    assert deno.drug == "denosumab" and deno.start == pytest.approx(6 * 365.25 / 12) and deno.count is None


def test_antiresorptive_follow_on_keeps_more_bone_than_stopping():
    """Mechanism check (Martin 2020: after romosozumab a follow-on antiresorptive is needed):
    at month 12, romosozumab x6 then denosumab beats romosozumab x6 then nothing, and both beat placebo."""
    arms = [{"name": "stop", "drug": "romosozumab", "dose": "210 mg", "every": "1 month", "for": "6 months"},
            {"name": "deno", "drug": "romosozumab", "dose": "210 mg", "every": "1 month", "for": "6 months",
             "then": {"drug": "denosumab", "dose": "60 mg", "every": "6 months"}},
            {"name": "placebo", "drug": "none"}]
    res = run_trial(parse_trial_spec(_bone(arms=arms, n=2, endpoints=BONE["endpoints"][:1])), workers=1, progress=False)
    ls = {a: v["endpoints"]["ls12"]["estimate"] for a, v in res.arms.items()}
    assert ls["deno"] > ls["stop"] + 1.0 > ls["placebo"] + 1.0


def test_population_results_do_not_depend_on_workers_or_shards(tmp_path):
    spec = parse_trial_spec(_bone(n=6, population={"kind": "postmenopausal_osteoporosis"}))
    a = run_trial(spec, workers=1, shard_size=2, progress=False, out_dir=str(tmp_path / "a"))
    b = run_trial(spec, workers=2, shard_size=3, progress=False, out_dir=str(tmp_path / "b"))
    assert a.arms == b.arms
    ls = a.arms["romo"]["endpoints"]["ls12"]
    assert ls["ci95"][0] < ls["estimate"] < ls["ci95"][1]  # IIV and DXA error spread the women


def test_cli_json_contract_report_and_plot(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(_bone()))
    rep, png = tmp_path / "r.html", tmp_path / "p.png"
    assert main(["trial", str(f), "--n", "2", "--workers", "1", "--report", str(rep), "--plot", str(png), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d["arms"]) == {"romo", "placebo"}
    for arm in d["arms"].values():
        assert arm["n"] == 2 and set(arm["endpoints"]) == {"ls12", "p1np_w2_vs", "ctx12_vs", "new_vertebral_fracture by 12 months"}
        for ep in arm["endpoints"].values():
            assert set(ep) == {"estimate", "ci95"} and len(ep["ci95"]) == 2
    page = rep.read_text()
    assert rep.stat().st_size > 10_000 and "BMD, marker and fracture courses" in page
    assert "difference in mean % change of ctx at day 365.25 vs placebo" in page  # what each estimate is
    assert png.stat().st_size > 10_000


@pytest.mark.slow
def test_placebo_vertebral_incidence_matches_the_closed_form():
    """2000 untreated women at the reference T-score: incidence by 12 months ~ 1 - exp(-0.0583)
    (Eudy 2015 hazard h0), within 3.5 binomial standard errors."""
    spec = parse_trial_spec(_bone(n=2000, arms=[{"name": "placebo", "drug": "none"}], endpoints=BONE["endpoints"][3:]))
    res = run_trial(spec, progress=False)
    p = 1 - math.exp(-0.0583)
    est = res.arms["placebo"]["endpoints"]["new_vertebral_fracture by 12 months"]["estimate"]
    assert abs(est - p) < 3.5 * math.sqrt(p * (1 - p) / 2000)


def test_dose_units_do_not_change_the_trial():
    """Unit invariance at the boundary: 210 mg == 210000 ug == 0.21 g, every 1 month == 30.4375 days."""
    results = []
    for dose, every in (("210 mg", "1 month"), ("210000 ug", "30.4375 days"), ("0.21 g", "4.348214285714286 weeks")):
        arms = [{"name": "romo", "drug": "romosozumab", "dose": dose, "every": every}]
        spec = parse_trial_spec(_bone(n=1, arms=arms, endpoints=BONE["endpoints"][:1]))
        results.append(run_trial(spec, workers=1, progress=False).arms["romo"]["endpoints"]["ls12"]["estimate"])
    assert results[1] == pytest.approx(results[0], rel=1e-9) and results[2] == pytest.approx(results[0], rel=1e-6)


def test_an_extra_endpoint_time_leaves_the_other_endpoints_unchanged(tmp_path):
    """Measurement errors were drawn by position in the time grid, so an endpoint at an off-visit
    time shifted every later visit's error (same seed, other estimates changed); they are keyed by time."""
    pop = {"kind": "postmenopausal_osteoporosis"}
    plain = run_trial(parse_trial_spec(_bone(n=6, population=pop)), workers=1, progress=False, out_dir=str(tmp_path / "a"))
    extra = _bone(n=6, population=pop)
    extra["endpoints"].append({"name": "ls45d", "kind": "percent_change", "output": "bmd_lumbar_spine", "at": "45 days"})
    more = run_trial(parse_trial_spec(extra), workers=1, progress=False, out_dir=str(tmp_path / "b"))
    for arm, res in plain.arms.items():
        for name, e in res["endpoints"].items():
            assert more.arms[arm]["endpoints"][name] == e, (arm, name)


def test_measured_change_is_zero_at_baseline_and_noisy_after():
    """The baseline scan defines the baseline (change exactly 0); later visits carry DXA error."""
    from moasim.trials._run import simulate_shard

    spec = parse_trial_spec(_bone(n=3, population={"kind": "postmenopausal_osteoporosis"}))
    df = simulate_shard(spec, 1, 0, 0, 3, None)  # placebo: the true change stays 0
    for visits in df["m_bmd_lumbar_spine"]:
        assert visits[0] == 0.0 and np.std(visits[1:]) > 0.3  # 1% precision error per scan
    # across women and visits the measured change has SD sqrt(2) x 1% (two scans)
    big = simulate_shard(parse_trial_spec(_bone(n=200, population={"kind": "postmenopausal_osteoporosis"})), 1, 0, 0, 200, None)
    last = np.array([v[-1] for v in big["m_bmd_lumbar_spine"]])
    assert np.std(last) == pytest.approx(math.sqrt(2), rel=0.15)


def test_interval_words_as_users_write_them():
    """``visits: monthly`` and ``every: monthly`` mean one month (pint's month, 365.25/12 days), as
    ``1 month`` does; ``weekly``/``daily`` keep their values; an unknown word names the allowed ones."""
    d = _bone(visits="monthly")
    d["arms"][0]["every"] = "monthly"
    words = parse_trial_spec(d)
    units = parse_trial_spec(_bone())
    assert words.visit_days == units.visit_days == pytest.approx(365.25 / 12)
    assert words.arms[0].every_days == units.arms[0].every_days
    assert parse_trial_spec(_bone(visits="weekly")).visit_days == 7.0
    with pytest.raises(SpecError, match=r"visits: got 'bimonthly'; allowed: daily \| weekly \| fortnightly \| monthly"):
        parse_trial_spec(_bone(visits="bimonthly"))
