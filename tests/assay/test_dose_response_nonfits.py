"""Dose-response designs without an estimable EC50, step-like fits and open profile intervals.

Every data set is generated here with numpy from a known 4PL (or a constant) on a fixed
design. Interval claims are checked against an *independent* profile: for a fixed EC50, the
best 4PL over a dense grid of hill slopes with bottom and top solved by linear least squares
(numpy.linalg.lstsq), polished with scipy.optimize.curve_fit - never the code under test.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats

from moasim.assay import fit_4pl, fit_curve, fit_dose_response, plot_dose_response
from moasim.cli.main import main

DOSES = np.r_[0.0, np.geomspace(0.01, 100, 9)]  # vehicle + 9 half-log doses (nM)
X = np.repeat(DOSES, 3)


def _f4(x, bottom, top, ec50, hill):
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return bottom + (top - bottom) / (1.0 + (ec50 / x) ** hill)


def _noisy(truth, seed, sd=15.0, x=X):
    return _f4(x, *truth) + np.random.default_rng(seed).normal(0, sd, x.size)


def _profile_rss(x, y, ec50, hills=np.geomspace(0.02, 1e4, 600)):
    """min RSS of a 4PL with the EC50 held at ``ec50`` (independent of moasim)."""
    lx = np.log(np.where(x > 0, x, 1.0))
    best, arg = np.inf, None
    for h in hills:  # hill > 0 suffices: bottom and top are free, so the sign is their order
        G = np.where(x > 0, special.expit(h * (lx - math.log(ec50))), 0.0)
        A = np.c_[1 - G, G]
        coef = np.linalg.lstsq(A, y, rcond=None)[0]
        r = y - A @ coef
        if r @ r < best:
            best, arg = float(r @ r), (coef[0], coef[1], h)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optimize.OptimizeWarning)
        try:
            p, _ = optimize.curve_fit(lambda xx, b, t, h: _f4(xx, b, t, ec50, h), x, y, p0=arg, maxfev=20000)
            best = min(best, float(np.sum((y - _f4(x, p[0], p[1], ec50, p[2])) ** 2)))
        except (RuntimeError, ValueError):
            pass
    return best


def _threshold(fit):
    """RSS - RSS_hat at the ends of the 95% profile interval: t(0.975, df)^2 s^2."""
    return stats.t.ppf(0.975, fit.df) ** 2 * fit.rss / fit.df


def _csv(tmp_path, parts):
    f = tmp_path / "dr.csv"
    pd.concat([pd.DataFrame({"compound": g, "concentration": x, "response": y}) for g, x, y in parts]).to_csv(f, index=False)
    return f


def _cli_json(argv, capsys):
    rc = main(argv)
    return rc, json.loads(capsys.readouterr().out)


# --------------------------------------------------------------------------- no dose-response


def test_all_equal_responses_get_no_ec50():
    for model in ("3pl", "4pl", "5pl"):
        fit = fit_curve(X, np.full(X.size, 500.0), model=model)
        assert fit.status == "no_dose_response"
        assert math.isnan(fit.estimates["ec50"]) and math.isnan(fit.se["ec50"]) and all(map(math.isnan, fit.ci95["ec50"]))
        assert fit.notes == ("no dose-response: all responses are equal (500); EC50 not estimated",)
        assert fit.curve is None and np.isnan(fit.predict([1.0, 10.0])).all()
        d = fit.to_dict()
        assert d["estimates"]["ec50"] is None and d["se"]["ec50"] is None and d["ci95"]["ec50"] == [None, None]


@pytest.mark.parametrize("truth", [(500.0, 500.0, 1.0, 1.0),     # flat with noise
                                   (100.0, 1000.0, 1e5, 1.2)])    # bottom plateau only: EC50 3 decades above
def test_no_dose_response_within_the_tested_range(truth):
    fit = fit_4pl(X, _noisy(truth, seed=0))
    assert fit.status == "no_dose_response"
    assert math.isnan(fit.estimates["ec50"])
    (note,) = fit.notes
    assert note.startswith("no dose-response between 0.01 and 100: the 4PL fits no better than a horizontal line")
    assert note.endswith("EC50 not estimated")
    # the F-test in the note, recomputed: 4PL (curve_fit) vs the mean
    y = _noisy(truth, seed=0)
    p, _ = optimize.curve_fit(_f4, X, y, p0=[y.min(), y.max(), 1.0, 1.0], maxfev=20000)
    rss1, rss0 = float(np.sum((y - _f4(X, *p)) ** 2)), float(np.sum((y - y.mean()) ** 2))
    F = ((rss0 - rss1) / 3) / (rss1 / (X.size - 4))
    assert stats.f.sf(F, 3, X.size - 4) >= 0.05


# --------------------------------------------------------------------------- design cannot determine a curve


@pytest.mark.parametrize("x, what", [(np.repeat([0.0, 10.0], 6), "a single positive concentration (10) besides zero-dose wells"),
                                     (np.full(8, 10.0), "a single positive concentration (10)")])
def test_single_dose_level_is_not_identifiable(x, what):
    y = np.where(x > 0, 900.0, 100.0) + np.random.default_rng(1).normal(0, 20, x.size)
    fit = fit_4pl(x, y)
    assert fit.status == "not_identifiable" and math.isnan(fit.estimates["ec50"])
    assert fit.notes == (f"not identifiable: {what}; a concentration-response curve needs at least 2 positive "
                         f"concentrations; EC50 not estimated",)


def test_fewer_concentrations_than_parameters_is_not_identifiable():
    x = np.repeat([0.0, 1.0, 10.0], 3)
    fit = fit_4pl(x, _noisy((100.0, 1000.0, 2.0, 1.0), seed=2, x=x))
    assert fit.status == "not_identifiable"
    assert fit.notes[0].startswith("not identifiable: 3 concentration levels cannot determine 4 free parameters")


# --------------------------------------------------------------------------- half curves: EC50 only bounded


def test_lower_half_of_the_curve_reports_ec50_above_the_highest_concentration():
    truth = (100.0, 1000.0, 1000.0, 1.0)  # EC50 ten times the highest dose
    fit = fit_4pl(X, _noisy(truth, seed=0))
    assert fit.status == "ec50_bound" and fit.ec50_bound == (100.0, None)
    assert math.isnan(fit.estimates["ec50"]) and math.isnan(fit.se["ec50"]) and all(map(math.isnan, fit.ci95["ec50"]))
    assert fit.notes[-1] == ("EC50 above the highest concentration (100): the curve reaches its half-maximal response only "
                             "by extrapolation; EC50 reported as a lower bound, no SE or CI")
    assert fit.curve["ec50"] > 100.0 and np.all(np.isfinite(fit.predict(DOSES)))
    d = fit.to_dict()
    assert d["estimates"]["ec50"] is None and d["ci95"]["ec50"] == [None, None] and d["ec50_bound"] == [100.0, None]
    assert math.isfinite(fit.estimates["bottom"])  # the observed plateau is still estimated


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_upper_plateau_only_reports_ec50_below_the_lowest_concentration(seed):
    truth = (100.0, 1000.0, 1e-4, 1.2)  # vehicle on the bottom, every dose on the top
    y = _noisy(truth, seed=seed)
    fit = fit_4pl(X, y)
    assert fit.status == "ec50_bound" and fit.ec50_bound == (None, 0.01)
    assert fit.notes[-1].startswith("EC50 below the lowest positive concentration (0.01)")
    assert fit.to_dict()["ec50_bound"] == [None, 0.01]
    # the data cannot tell an EC50 of 1e-3 or 1e-5 from the best fit: both lie in the 95% region
    assert _profile_rss(X, y, 1e-3) - fit.rss < _threshold(fit)
    assert _profile_rss(X, y, 1e-5) - fit.rss < _threshold(fit)


# --------------------------------------------------------------------------- profile likelihood, searched globally


def test_step_like_fit_profile_interval_spans_the_gap_between_doses():
    # |hill| = 15 with decade spacing: no dose inside the transition, which lies between 0.1 and 1
    x = np.repeat(np.r_[0.0, np.geomspace(0.01, 100, 5)], 3)
    y = _noisy((100.0, 1000.0, 0.3, 15.0), seed=40, sd=10.0, x=x)
    fit = fit_4pl(x, y)
    assert fit.status == "ok" and 0.1 < fit.estimates["ec50"] < 1.0
    lo, hi = fit.ci95["ec50"]
    assert 0.09 < lo <= 0.13 and 0.75 <= hi < 1.1, (lo, hi)
    assert fit.ec50_ci_open == (False, False)
    assert math.isnan(fit.se["ec50"]) and math.isnan(fit.se["hill"])
    assert any(n.startswith("step-like fit: no tested concentration lies within the 10-90% transition, so the EC50 is "
                            "located only between 0.1 and 1") for n in fit.notes)
    # independent profile: inside the reported interval the data do not exclude the EC50, outside they do
    thr = _threshold(fit)
    for e in np.geomspace(max(lo, 0.1) * 1.3, hi / 1.3, 4):
        assert _profile_rss(x, y, e) - fit.rss < thr, e
    for e in (lo / 1.5, hi * 1.5):
        assert _profile_rss(x, y, e) - fit.rss > thr, e


def test_open_profile_end_is_null_with_a_note():
    # EC50 40 with only a few doses above it and noisy data: the upper end is not closed by the data
    y = _noisy((100.0, 1000.0, 40.0, 1.0), seed=4, sd=60.0)
    fit = fit_4pl(X, y)
    assert fit.status == "ok" and 1.0 < fit.estimates["ec50"] < 100.0
    lo, hi = fit.ci95["ec50"]
    assert fit.ec50_ci_open == (False, True) and math.isinf(hi) and lo < fit.estimates["ec50"]
    assert fit.to_dict()["ci95"]["ec50"][1] is None and fit.to_dict()["ci95"]["ec50"][0] == pytest.approx(lo)
    assert ("EC50 profile-likelihood interval open above: the data exclude no value up to 13 decades above the estimate "
            "(upper bound null)") in fit.notes
    # independent profile: EC50s far above the data are not excluded, the lower end is where it is said to be
    thr = _threshold(fit)
    for factor in (1e2, 1e4):
        assert _profile_rss(X, y, fit.estimates["ec50"] * factor) - fit.rss < thr
    assert _profile_rss(X, y, lo) - fit.rss == pytest.approx(thr, rel=1e-3)


# --------------------------------------------------------------------------- groups, relative potency, command line


def _mixed_parts():
    good = ("good", X, _noisy((100.0, 1000.0, 1.0, 1.1), seed=3, sd=25.0))
    good2 = ("good2", X, _noisy((100.0, 1000.0, 4.0, 1.1), seed=5, sd=25.0))
    flat = ("flat", X, np.full(X.size, 500.0))
    single = ("single", np.repeat([0.0, 10.0], 6), np.r_[np.full(6, 100.0), np.full(6, 900.0)])
    return good, good2, flat, single


def test_groups_without_ec50_do_not_fail_the_others(tmp_path, capsys):
    good, good2, flat, single = _mixed_parts()
    f = _csv(tmp_path, [good, flat, single, good2])
    png = tmp_path / "fit.png"
    rc, obj = _cli_json(["fit", "dose-response", str(f), "--group", "compound", "--json", "--plot", str(png)], capsys)
    assert rc == 0 and png.read_bytes()[:4] == b"\x89PNG"
    g = obj["groups"]
    assert [g[k]["status"] for k in ("good", "flat", "single", "good2")] == ["ok", "no_dose_response", "not_identifiable", "ok"]
    for k in ("flat", "single"):
        assert g[k]["estimates"] == {"bottom": None, "top": None, "ec50": None, "hill": None}
        assert g[k]["ci95"]["ec50"] == [None, None] and len(g[k]["notes"]) == 1
    rp = obj["relative_potency"]
    assert rp["flat"]["estimate"] is None and rp["flat"]["ci95"] == [None, None]
    assert rp["flat"]["notes"] == ["no relative potency: group 'flat' has no EC50 estimate (status no_dose_response)"]
    assert rp["single"]["notes"] == ["no relative potency: group 'single' has no EC50 estimate (status not_identifiable)"]
    assert rp["good2"]["estimate"] == pytest.approx(0.25, rel=0.25) and rp["good2"]["notes"] == []
    assert obj["parallelism"]["df_num"] == 3  # good vs good2 only
    assert obj["notes"] == ["relative potency and the parallelism test use only the groups with an EC50 estimate: 'good', 'good2'"]


def test_reference_without_ec50_gives_null_potencies(tmp_path, capsys):
    good, good2, flat, _ = _mixed_parts()
    f = _csv(tmp_path, [good, flat, good2])
    rc, obj = _cli_json(["fit", "dose-response", str(f), "--group", "compound", "--reference", "flat", "--json"], capsys)
    assert rc == 0
    for k in ("good", "good2"):
        assert obj["relative_potency"][k]["estimate"] is None
        assert obj["relative_potency"][k]["notes"] == [
            "no relative potency: the reference group 'flat' has no EC50 estimate (status no_dose_response)"]
    assert obj["parallelism"]["df_num"] == 3  # still tested over the two groups with an EC50


def test_no_group_with_ec50_exits_1_and_still_writes_everything(tmp_path, capsys):
    _, _, flat, single = _mixed_parts()
    f = _csv(tmp_path, [flat, single])
    png, csv = tmp_path / "fit.png", tmp_path / "params.csv"
    rc, obj = _cli_json(["fit", "dose-response", str(f), "--group", "compound", "--json", "--plot", str(png), "--out", str(csv)],
                        capsys)
    assert rc == 1
    assert {k: v["status"] for k, v in obj["groups"].items()} == {"flat": "no_dose_response", "single": "not_identifiable"}
    assert obj["relative_potency"]["single"]["estimate"] is None and obj["parallelism"] is None
    assert png.exists() and set(pd.read_csv(csv)["status"]) == {"no_dose_response", "not_identifiable"}
    assert main(["fit", "dose-response", str(f), "--group", "compound"]) == 1
    out = capsys.readouterr().out
    assert "status: no_dose_response" in out and "note: no dose-response: all responses are equal (500)" in out


def test_bound_only_exits_1_and_reports_the_bound(tmp_path, capsys):
    f = _csv(tmp_path, [("half", X, _noisy((100.0, 1000.0, 1000.0, 1.0), seed=0))])
    rc, obj = _cli_json(["fit", "dose-response", str(f), "--group", "compound", "--json"], capsys)
    assert rc == 1
    g = obj["groups"]["half"]
    assert g["status"] == "ec50_bound" and g["ec50_bound"] == [100.0, None] and g["estimates"]["ec50"] is None
    assert main(["fit", "dose-response", str(f), "--group", "compound", "--unit", "nM"]) == 1
    assert "ec50              > 100            -" in capsys.readouterr().out


def test_compare_skips_groups_without_a_curve(tmp_path, capsys):
    good, _, flat, _ = _mixed_parts()
    f = _csv(tmp_path, [good, flat])
    rc, obj = _cli_json(["fit", "dose-response", str(f), "--group", "compound", "--compare", "5pl", "--json"], capsys)
    assert rc == 0 and obj["model_comparison"]["flat"] is None and obj["model_comparison"]["good"]["df_num"] == 1


def test_shared_fit_leaves_out_groups_without_dose_response():
    good, good2, flat, _ = _mixed_parts()
    frame = lambda parts: pd.concat([pd.DataFrame({"compound": g, "concentration": x, "response": y}) for g, x, y in parts])  # noqa: E731
    res = fit_dose_response(frame([good, flat, good2]), group="compound", shared=("bottom", "top"))
    ref = fit_dose_response(frame([good, good2]), group="compound", shared=("bottom", "top"))
    assert res.groups["flat"].status == "no_dose_response"
    for k in ("good", "good2"):
        assert res.groups[k].estimates["ec50"] == pytest.approx(ref.groups[k].estimates["ec50"], rel=1e-9)
        assert res.groups[k].ci95["ec50"] == pytest.approx(ref.groups[k].ci95["ec50"], rel=1e-6)
    assert res.relative_potency["flat"].notes and math.isnan(res.relative_potency["flat"].estimate)


def test_plot_draws_every_status(tmp_path):
    good, _, flat, single = _mixed_parts()
    half = ("half", X, _noisy((100.0, 1000.0, 1000.0, 1.0), seed=0))
    res = fit_dose_response(pd.concat([pd.DataFrame({"compound": g, "concentration": x, "response": y})
                                       for g, x, y in (good, flat, single, half)]), group="compound")
    fig = plot_dose_response(res, tmp_path / "p.png", unit="nM")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[1:] == ["flat: no dose-response", "single: not identifiable", "half: EC50 > 100 nM"]
