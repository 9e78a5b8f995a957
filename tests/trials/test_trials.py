"""Virtual trials: spec validation, endpoints against hand computation, reproducibility,
resume from shards, and a real local Dask cluster."""

import json
import os

import numpy as np
import pytest
import yaml

from moasim.cli.main import main
from moasim.errors import SpecError
from moasim.trials import parse_trial_spec, run_trial
from moasim.trials._endpoints import km_median, subject_values, wilson

SPEC = {
    "name": "mini",
    "population": {"kind": "itp", "baseline_platelets": {"min": 5, "max": 30}},
    "duration": "4 weeks",
    "visits": "weekly",
    "arms": [
        {"name": "rom", "drug": "romiplostim", "route": "sc", "every": "1 week", "titration": "label"},
        {"name": "placebo", "drug": "none"},
    ],
    "endpoints": [
        {"name": "resp_w4", "kind": "responder", "threshold": 50, "at": "4 weeks"},
        {"name": "ever", "kind": "ever_responder", "threshold": 50},
        {"name": "ttr", "kind": "time_to_first_response", "threshold": 50, "statistic": "median"},
    ],
}


def _spec(**changes):
    d = json.loads(json.dumps(SPEC))
    d.update(changes)
    return parse_trial_spec(d)


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d.update(colour="red"), "Unknown key 'colour'"),
    # gave 0 for every endpoint, or for the endpoint, without a word
    (lambda d: d.update(visits="6 weeks"), "no longer than the duration"),
    (lambda d: d["endpoints"].append({"name": "k5", "kind": "responder_in_k_of_visits", "threshold": 50, "k": 5,
                                      "window": ["1 week", "4 weeks"]}), "at most the 4 visits"),
    (lambda d: d["endpoints"].append({"name": "kw", "kind": "responder_in_k_of_visits", "threshold": 50, "k": 1,
                                      "window": ["1 week", "10 weeks"]}), "within the trial duration"),
    (lambda d: d["arms"][0].update(dose="-1 ug/kg", titration=None) or d["arms"][0].pop("titration"), "dose"),
    (lambda d: d["arms"][0].update(every="2 mg"), "unit of arms[rom].every"),
    (lambda d: d.update(arms=[]), "arms"),
    (lambda d: d["arms"][1].update(dose="5 mg"), "placebo"),
    (lambda d: d["endpoints"][0].update(kind="magic"), "endpoint kind"),
    (lambda d: d["population"].update(east_asian=1.5), "population.east_asian"),
    (lambda d: d["arms"][0].update(drug="aspirin"), "Unknown drug"),
    (lambda d: d["arms"][0].update(drug=["romiplostim"]), "arms[rom].drug"),
    (lambda d: d["visits"] == d.update(visits="bimonthly"), "visits"),
    # keys another endpoint kind uses were accepted and ignored (a probe of the CLI)
    (lambda d: d["endpoints"].append({"name": "cw", "kind": "cumulative_weeks", "window": ["1 week", "4 weeks"]}),
     "endpoints[cw].window"),
    (lambda d: d["endpoints"][1].update(k=3), "endpoints[ever].k"),
    (lambda d: d["endpoints"][0].update(statistic="mean"), "endpoints[resp_w4].statistic"),
    (lambda d: d["endpoints"][2].update(statistic="proportion"), "endpoints[ttr].statistic"),
    (lambda d: d["endpoints"].append({"name": "rescue", "kind": "rescue_use", "threshold": 30}), "endpoints[rescue].threshold"),
    (lambda d: d.update(name=None), "Invalid name"),
    (lambda d: d["arms"][0].update(titration={"rule": "label", "increase_below": 300}), "arms[rom].titration"),
    (lambda d: d["arms"][0].update(titration={"rule": "label", "resume_below": 500}), "arms[rom].titration"),
    # a meal the model cannot apply (an SC drug; a meal without a modelled effect) and a
    # population that is not ITP were accepted and ignored
    (lambda d: d["arms"][0].update(food={"kind": "high_fat"}), "arms[rom].food.kind"),
    (lambda d: d["arms"].append({"name": "elt", "drug": "eltrombopag", "dose": "50 mg", "every": "1 day",
                                 "food": {"kind": "high_fat"}}), "arms[elt].food.kind"),
    (lambda d: d["population"].update(baseline_platelets={"min": 120, "max": 200}), "population.baseline_platelets.min"),
    (lambda d: d["arms"].append({"name": "one", "drug": "romiplostim", "dose": "3 ug/kg", "for": "4 weeks"}), "arms[one].for"),
])
def test_bad_specs_are_refused_with_one_line(mutate, needle, assert_refused):
    d = json.loads(json.dumps(SPEC))
    mutate(d)
    assert_refused(d, needle, needle.split("'")[0])


def test_endpoints_match_hand_computation():
    spec = _spec(endpoints=[
        {"name": "r", "kind": "responder", "threshold": 50, "at": "2 weeks"},
        {"name": "e", "kind": "ever_responder", "threshold": 50},
        {"name": "t", "kind": "time_to_first_response", "threshold": 50},
        {"name": "k", "kind": "responder_in_k_of_visits", "threshold": 50, "k": 2, "window": ["1 weeks", "3 weeks"]},
        {"name": "c", "kind": "cumulative_weeks", "threshold": 50, "statistic": "median"},
    ])
    visits = np.array(spec.visit_times)  # 0, 7, 14, 21, 28
    counts = np.array([[20, 60, 40, 55, 70],    # responder at w1, w3, w4
                       [20, 30, 50, 20, 20],    # only w2
                       [20, 10, 20, 30, 40]])   # never
    r, e, t, k, c = (subject_values(ep, visits, counts) for ep in spec.endpoints)
    np.testing.assert_array_equal(r[0], [0, 1, 0])
    np.testing.assert_array_equal(e[0], [1, 1, 0])
    np.testing.assert_array_equal(t[0], [1, 2, 4])      # weeks; the third is censored at week 4
    np.testing.assert_array_equal(t[1], [1, 1, 0])
    np.testing.assert_array_equal(k[0], [1, 0, 0])      # >= 2 of visits in weeks 1-3
    np.testing.assert_array_equal(c[0], [3, 1, 0])


def test_km_median_and_wilson_reference_values():
    # Kaplan-Meier: events at 1, 2, 3 with one censoring at 2 (after the event): S = 4/5, 3/5, then 3/5*1/2 -> median 3
    assert km_median(np.array([1, 2, 2, 3, 4.0]), np.array([1, 1, 0, 1, 0])) == 3.0
    assert km_median(np.array([1.0, 2.0]), np.array([0, 0])) == float("inf")
    lo, hi = wilson(22 / 37, 37)  # Mei 2022: 22/37 responders, exact CI 42.1-75.3% (Wilson is narrower)
    assert 0.42 < lo < 0.44 and 0.73 < hi < 0.75


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    spec = _spec().with_run_options(n=12, seed=5)
    out = tmp_path_factory.mktemp("ref")
    return spec, run_trial(spec, out_dir=str(out), workers=1, shard_size=12, progress=False), out


def test_results_do_not_depend_on_workers_or_shards(reference_run):
    spec, ref, _ = reference_run
    other = run_trial(spec, workers=2, shard_size=5, progress=False)
    assert other.arms == ref.arms
    assert ref.arms["placebo"]["endpoints"]["ever"]["estimate"] < ref.arms["rom"]["endpoints"]["ever"]["estimate"]


def test_resume_skips_finished_shards_and_gives_the_same_answer(reference_run, tmp_path):
    spec, ref, _ = reference_run
    out = tmp_path / "resume"
    first = run_trial(spec, out_dir=str(out), workers=1, shard_size=4, progress=False)
    shards = sorted((out / "shards").iterdir())
    assert first.shards_run == len(shards) == 6
    for f in shards[::2]:  # "killed halfway": half of the shards never finished
        f.unlink()
    again = run_trial(spec, out_dir=str(out), workers=1, shard_size=4, progress=False)
    assert again.shards_reused == 3 and again.shards_run == 3
    assert again.arms == ref.arms == first.arms
    with pytest.raises(SpecError, match="--out"):  # a different trial may not reuse the directory
        run_trial(spec.with_run_options(seed=6), out_dir=str(out), workers=1, progress=False)


def test_shards_of_other_model_code_are_not_resumed(reference_run, tmp_path, monkeypatch):
    """An interrupted run whose shards were written before a model change is refused, not mixed in."""
    import moasim.trials._run as run_mod

    spec, _, _ = reference_run
    out = tmp_path / "stale"
    run_trial(spec, out_dir=str(out), workers=1, shard_size=4, progress=False)
    monkeypatch.setattr(run_mod, "code_fingerprint", lambda: "changed-code")
    with pytest.raises(SpecError, match="same moasim model code"):
        run_trial(spec, out_dir=str(out), workers=1, shard_size=4, progress=False)


def test_code_fingerprint_follows_the_model_files(tmp_path, monkeypatch):
    """The fingerprint hashes the files under the model sub-packages: editing one changes it."""
    import moasim.trials._run as run_mod

    pkg = tmp_path / "moasim"
    for sub in run_mod.MODEL_CODE:
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "m.py").write_text(f"X = '{sub}'\n")
    (pkg / "trials" / "_run.py").write_text("")
    monkeypatch.setattr(run_mod, "__file__", str(pkg / "trials" / "_run.py"))
    run_mod.code_fingerprint.cache_clear()
    a = run_mod.code_fingerprint()
    run_mod.code_fingerprint.cache_clear()
    (pkg / "library" / "m.py").write_text("X = 'edited'\n")
    b = run_mod.code_fingerprint()
    run_mod.code_fingerprint.cache_clear()
    assert a != b and len(a) == 12


def test_batched_engine_gives_the_same_trial(reference_run, tmp_path):
    """The batched RODAS4 engine and per-subject CVODE agree on every subject's trajectory."""
    import pandas as pd

    spec, ref, out = reference_run
    b = run_trial(spec, out_dir=str(tmp_path / "b"), workers=1, shard_size=12, progress=False, engine="batched")
    assert b.arms == ref.arms
    x = pd.concat(pd.read_parquet(f) for f in sorted((out / "shards").iterdir()))
    y = pd.concat(pd.read_parquet(os.path.join(b.out_dir, "shards", f)) for f in sorted(os.listdir(os.path.join(b.out_dir, "shards"))))
    dx, dy = np.array(x["daily"].tolist()), np.array(y["daily"].tolist())
    assert np.max(np.abs(dx / dy - 1)) < 1e-4
    assert list(x["total_dose"]) == list(y["total_dose"])


def test_trial_on_a_real_local_dask_cluster(reference_run, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    spec, ref, _ = reference_run
    monkeypatch.chdir(tmp_path)  # a relative --out (as in the README) is resolved before the workers see it
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        res = run_trial(spec, scheduler=cluster.scheduler_address, shard_size=5, out_dir="runs/rel", progress=False)
    assert res.arms == ref.arms
    assert res.out_dir == str(tmp_path / "runs" / "rel") and len(list((tmp_path / "runs" / "rel" / "shards").iterdir())) >= 2


def test_cli_json_contract_and_report(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(SPEC))
    rep = tmp_path / "r.html"
    assert main(["trial", str(f), "--n", "6", "--seed", "1", "--workers", "1", "--report", str(rep), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d["arms"]) == {"rom", "placebo"}
    for arm in d["arms"].values():
        assert arm["n"] == 6
        for ep in arm["endpoints"].values():
            assert set(ep) == {"estimate", "ci95"} and len(ep["ci95"]) == 2
    assert d["seed"] == 1 and "moasim" in d["versions"]
    assert rep.stat().st_size > 10_000 and "<table>" in rep.read_text()


def test_packaged_trial_specs_are_the_examples():
    """validate and the embedded default run the same specs as examples/ (no silent drift)."""
    from importlib import resources
    from pathlib import Path

    ex = Path(__file__).resolve().parents[2] / "examples"
    pairs = [(resources.files("moasim.validate").joinpath("trials", n), ex / n)
             for n in ("eltrombopag_bussel2007.yaml", "hetrombopag_phase1.yaml", "hetrombopag_first_in_patient.yaml")]
    pairs.append((resources.files("moasim.trials").joinpath("default_trial.yaml"), ex / "romiplostim_24wk.yaml"))
    for packaged, example in pairs:
        assert packaged.read_text() == example.read_text(), example.name
        parse_trial_spec(yaml.safe_load(example.read_text()))


def test_relapse_and_rescue_endpoints_by_hand():
    spec = _spec(endpoints=[
        {"name": "rel", "kind": "relapse", "threshold": 50, "at": "2 weeks", "below": 40},
        {"name": "resc", "kind": "rescue_use"},
    ])
    visits = np.array(spec.visit_times)  # 0, 7, 14, 21, 28
    counts = np.array([[20, 40, 60, 30, 70],    # responder at w2, later 30 < 40: relapse
                       [20, 40, 60, 55, 45],    # responder at w2, never below 40
                       [20, 40, 45, 10, 10]])   # not a responder at w2: excluded
    rel, _ = subject_values(spec.endpoints[0], visits, counts)
    np.testing.assert_array_equal(rel[:2], [1, 0])
    assert np.isnan(rel[2])
    resc, _ = subject_values(spec.endpoints[1], visits, counts, np.array([True, False, False]))
    np.testing.assert_array_equal(resc, [1, 0, 0])


def test_withdrawal_stops_titrated_dosing_and_rescue_lifts_counts(tmp_path):
    spec = _spec(arms=[
        {"name": "rom 2 weeks", "drug": "romiplostim", "route": "sc", "titration": "label", "for": "2 weeks"},
        {"name": "placebo + rescue", "drug": "none", "rescue": {"below": 15}},
    ], endpoints=[{"name": "resc", "kind": "rescue_use"}, {"name": "ever", "kind": "ever_responder", "threshold": 50}],
        population={**SPEC["population"], "fluctuation": {"sd": 0}})  # no disease drift: untreated counts stay flat
    spec = spec.with_run_options(n=8, seed=3)
    res = run_trial(spec, out_dir=str(tmp_path / "o"), workers=1, progress=False)
    import pandas as pd

    df = pd.concat(pd.read_parquet(os.path.join(res.out_dir, "shards", f)) for f in os.listdir(os.path.join(res.out_dir, "shards")))
    rom = df[df["arm"] == "rom 2 weeks"]
    assert (rom["total_dose"] <= 2 * 2.0 + 1e-9).all()  # doses at days 0 and 7 only (label: 1 then <= 2 ug/kg)
    plc = df[df["arm"] == "placebo + rescue"]
    assert res.arms["placebo + rescue"]["endpoints"]["resc"]["estimate"] == plc["rescued"].mean() > 0
    daily = np.array(plc[plc["rescued"]]["daily"].tolist())
    assert np.all(daily.max(axis=1) > 1.5 * daily[:, 0])  # IVIG-like rescue raises the count
    untreated = np.array(plc[~plc["rescued"]]["daily"].tolist())
    if len(untreated):
        assert np.allclose(untreated, untreated[:, :1], rtol=1e-6)


def test_taper_steps_down_then_withdraws():
    """taper: from week 2, one level down every week, then no more doses (by hand on the rule)."""
    from moasim.dosing import TitrationController, get_rule
    from moasim.library.drugs import get_drug

    ctl = TitrationController(rule=get_rule("romiplostim"), drug=get_drug("romiplostim"), route="sc", params={"F_rom": 0.5},
                              weight_kg=70.0, t_end=56.0, taper_from=14.0, taper_every=7.0)
    for t in ctl.decision_times:
        ctl.decide(t, lambda name: 20.0)  # always < 50: the rule alone would keep going up
    doses = [d for _, d in ctl.history]
    assert doses == [1, 2, 1, 0, 0, 0, 0, 0]  # 1, +1 at w1, taper w2 -> 1, w3 -> 0 (level 0), w4 -> withdrawn
    spec = _spec(arms=[{"name": "rom", "drug": "romiplostim", "route": "sc", "titration": "label",
                        "taper": {"from": "2 weeks", "every": "1 week"}}])
    assert spec.arms[0].taper == (14.0, 7.0)


@pytest.mark.parametrize("kind,statistic", [("time_to_first_response", "median"), ("time_to_first_response", "mean"),
                                            ("percent_change", "median"), ("percent_change", "mean"), ("responder", None)])
def test_vectorised_bootstrap_equals_the_one_draw_at_a_time_loop(kind, statistic):
    """The bootstrap interval of one replicate (2,000 resamples evaluated at once) equals the
    plain loop over the same draws, resample by resample, with the scalar statistic; and the
    row-wise statistics equal the scalar ones (ties, censoring, never-reached KM medians)."""
    from types import SimpleNamespace

    from moasim.trials._endpoints import arm_statistic, arm_statistics, evaluate_endpoint

    def km_loop(times, events):  # the product-limit median written out, subject by subject (reference)
        order = np.lexsort((1 - events, times))
        at_risk, s = len(times), 1.0
        for ti, ei in zip(times[order], events[order]):
            if ei:
                s *= 1 - 1 / at_risk
                if s <= 0.5 + 1e-12:
                    return float(ti)
            at_risk -= 1
        return float("inf")

    def reference(v, e):  # the arm statistic from plain numpy, one arm at a time
        if kind == "time_to_first_response":
            return km_loop(v, e) if statistic == "median" else float(np.mean(v))
        if kind == "responder":
            return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
        return float(np.median(v)) if statistic == "median" else float(np.mean(v))

    ep = SimpleNamespace(kind=kind, statistic=statistic)
    rng = np.random.default_rng(11)
    for n in (1, 7, 40):
        for _ in range(20):
            if kind == "time_to_first_response":
                v = rng.integers(0, 6, n).astype(float) * 7.0
                e = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(float)
            elif kind == "responder":
                v, e = np.where(rng.random(n) < 0.2, np.nan, (rng.random(n) < 0.5).astype(float)), np.ones(n)
            else:
                v, e = rng.normal(5.0, 3.0, n), np.ones(n)
            rows = rng.integers(0, n, (30, n))
            np.testing.assert_array_equal(arm_statistics(ep, v[rows], e[rows]), [arm_statistic(ep, v[i], e[i]) for i in rows])
            np.testing.assert_array_equal([arm_statistic(ep, v[i], e[i]) for i in rows], [reference(v[i], e[i]) for i in rows])
            if kind == "responder":
                continue  # one replicate of a proportion: Wilson, no bootstrap
            got = evaluate_endpoint(ep, [(v, e)], seed=5)
            if n == 1:  # nothing to resample: no interval (a bootstrap gave [x, x])
                assert all(np.isnan(got["ci95"]))
                continue
            draws = np.random.default_rng(5)
            boots = [reference(v[i], e[i]) for i in (draws.integers(0, n, n) for _ in range(2000))]
            lo, hi = np.quantile(np.array(boots), [0.025, 0.975], method="inverted_cdf")
            assert got["ci95"] == [float(lo), float(hi)]


def test_dose_of_a_titrated_arm_is_its_start_dose():
    """A titrated arm's ``dose`` was dropped (the label start was used whatever it said); it is the
    rule's start, as ``moasim simulate --titration label --dose`` reads it, and a second start is refused."""
    arm = {"name": "rom", "drug": "romiplostim", "route": "sc", "every": "1 week", "titration": "label"}
    label = _spec(arms=[arm]).arms[0].titration
    five = _spec(arms=[{**arm, "dose": "5 ug/kg"}]).arms[0].titration
    assert label.start == 1.0 and five.start == 5.0 and five.levels == label.levels
    assert _spec(arms=[{**arm, "titration": {"rule": "label", "hold_above": 300}, "dose": "3 ug/kg"}]).arms[0].titration.start == 3.0
    with pytest.raises(SpecError, match="either dose"):
        _spec(arms=[{**arm, "titration": {"rule": "label", "start": "1 ug/kg"}, "dose": "5 ug/kg"}])
    with pytest.raises(SpecError, match="one of the levels"):
        _spec(arms=[{**arm, "dose": "0.3 ug/kg"}])
