"""Dose-response fitting against certified (NIST StRD) and independently computed values.

References used here, never numbers the fitter printed itself:

* NIST StRD nonlinear regression, Rat42 (3-parameter logistic) and Rat43 (4-parameter
  Richards curve), certified estimates and standard errors (tests/assay/data/*.dat).
* ``scipy.optimize.curve_fit`` (MINPACK Levenberg-Marquardt, finite-difference Jacobian,
  direct EC50 parameterisation) written out in this file for the 4PL/5PL; its standard errors
  are the Gauss-Newton ones of R's ``nls``.
* drc's Hessian standard errors (``vcov.drc``: ``(H / (2 s^2))^-1``), with ``H`` the Hessian of
  the RSS by central second differences at curve_fit's optimum.
* Seeded simulation: recovery of known parameters and 95% CI coverage.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from moasim.assay import compare_models, fit_4pl, fit_5pl, fit_curve, fit_dose_response, read_plate
from moasim.errors import DataError, FitError, MoasimError, SpecError

DATA = Path(__file__).parent / "data"


def _nist(name: str):
    """Certified values and data of a NIST StRD nonlinear-regression file."""
    lines = (DATA / f"{name}.dat").read_text().splitlines()
    cert = {}
    for ln in lines:
        parts = ln.split()
        if len(parts) == 6 and parts[0].startswith("b") and parts[1] == "=":
            cert[parts[0]] = (float(parts[4]), float(parts[5]))
        if ln.strip().startswith("Residual Standard Deviation:"):
            cert["sd"] = float(ln.split(":")[1])
    start = max(i for i, ln in enumerate(lines) if ln.strip().startswith("Data:") and ln.split()[1:] == ["y", "x"])
    d = np.array([[float(v) for v in ln.split()] for ln in lines[start + 1:] if ln.strip()])
    return cert, d[:, 1], d[:, 0]


def _rel(a, b):
    return abs(a - b) / abs(b)


# --------------------------------------------------------------------------- NIST StRD


@pytest.mark.reference
def test_nist_rat42_certified_as_3pl():
    # Rat42: y = b1 / (1 + exp(b2 - b3 x)); with x' = e^x this is the 3PL (bottom 0):
    # top = b1, hill = b3, b2 = hill ln(ec50).
    cert, x, y = _nist("Rat42")
    fit = fit_curve(np.exp(x), y, model="3pl", bottom=0.0, outlier_alpha=None)
    e, se = fit.estimates, fit.se
    assert _rel(e["top"], cert["b1"][0]) < 1e-6 and _rel(se["top"], cert["b1"][1]) < 1e-6
    assert _rel(e["hill"], cert["b3"][0]) < 1e-6 and _rel(se["hill"], cert["b3"][1]) < 1e-6
    assert _rel(e["hill"] * math.log(e["ec50"]), cert["b2"][0]) < 1e-6
    # SE of b2 = hill ln ec50 by the delta method from the reported covariance
    names = list(fit.parameters)
    g = np.zeros(len(names))
    g[names.index("hill")] = math.log(e["ec50"])
    g[names.index("ec50")] = e["hill"] / e["ec50"]
    assert _rel(math.sqrt(g @ fit.covariance @ g), cert["b2"][1]) < 1e-6
    assert _rel(fit.sigma, cert["sd"]) < 1e-8


@pytest.mark.reference
def test_nist_rat43_certified_as_5pl_fixed_bottom():
    # Rat43: y = b1 / (1 + exp(b2 - b3 x))^(1/b4); with x' = e^x this is our 5PL (bottom 0):
    # top = b1, hill = b3, asymmetry s = 1/b4, b2 = hill ln(ec50) + ln(2^(1/s) - 1).
    cert, x, y = _nist("Rat43")
    fit = fit_5pl(np.exp(x), y, fix_bottom=0.0, outlier_alpha=None)
    e, se = fit.estimates, fit.se
    s = e["asymmetry"]
    assert _rel(e["top"], cert["b1"][0]) < 1e-6 and _rel(se["top"], cert["b1"][1]) < 1e-6
    assert _rel(e["hill"], cert["b3"][0]) < 1e-6 and _rel(se["hill"], cert["b3"][1]) < 1e-6
    assert _rel(1 / s, cert["b4"][0]) < 1e-6 and _rel(se["asymmetry"] / s**2, cert["b4"][1]) < 1e-6
    assert _rel(e["hill"] * math.log(e["ec50"]) + math.log(2 ** (1 / s) - 1), cert["b2"][0]) < 1e-6
    assert _rel(fit.sigma, cert["sd"]) < 1e-8


# --------------------------------------------------------------------------- vs curve_fit


def _f4(x, bottom, top, ec50, hill):
    with np.errstate(divide="ignore"):
        return bottom + (top - bottom) / (1.0 + (ec50 / x) ** hill)


def _f5(x, bottom, top, ec50, hill, s):
    with np.errstate(divide="ignore"):
        return bottom + (top - bottom) / (1.0 + (2 ** (1 / s) - 1) * (ec50 / x) ** hill) ** s


def _plate(rng, truth, f=_f4, sd=0.03, reps=3, lo=1e-2, hi=1e2, levels=10):
    x = np.repeat(np.r_[0.0, np.geomspace(lo, hi, levels)], reps)
    y = f(x, *truth)
    return x, y + rng.normal(0, sd * abs(truth[1] - truth[0]), x.size)


def _curve_fit(f, x, y, p0, sigma=None):
    p, cov = optimize.curve_fit(f, x, y, p0=p0, sigma=sigma, xtol=1e-15, ftol=1e-15, gtol=1e-15, maxfev=100000)
    return p, np.sqrt(np.diag(cov))


@pytest.mark.reference
@pytest.mark.parametrize("truth", [(100.0, 1000.0, 1.3, 1.2), (800.0, 5000.0, 20.0, -0.8), (0.0, 1.0, 0.05, 2.5),
                                   (1e6, 1e8, 10.0, 1.0)])  # luminescence counts: the asymptotes' SEs were ~1e-9 here
def test_4pl_matches_curve_fit(truth):
    rng = np.random.default_rng(11)
    x, y = _plate(rng, truth)
    fit = fit_4pl(x, y)
    p, se = _curve_fit(_f4, x, y, truth)
    names = ("bottom", "top", "ec50", "hill")
    for i, k in enumerate(names):
        assert _rel(fit.estimates[k], p[i]) < 1e-4, k
        assert _rel(fit.se[k], se[i]) < 1e-4, k


@pytest.mark.reference
def test_weighted_4pl_matches_curve_fit():
    rng = np.random.default_rng(5)
    truth = (200.0, 3000.0, 4.0, 1.5)
    x = np.repeat(np.r_[0.0, np.geomspace(0.05, 200, 9)], 4)
    mu = _f4(x, *truth)
    y = mu + rng.normal(0, 0.05 * mu)  # CV 5%: weights 1/mu^2
    w = 1.0 / mu**2
    fit = fit_4pl(x, y, weights=w)
    p, se = _curve_fit(_f4, x, y, truth, sigma=1 / np.sqrt(w))
    for i, k in enumerate(("bottom", "top", "ec50", "hill")):
        assert _rel(fit.estimates[k], p[i]) < 1e-4 and _rel(fit.se[k], se[i]) < 1e-4, k


@pytest.mark.reference
def test_5pl_matches_curve_fit():
    rng = np.random.default_rng(3)
    truth = (50.0, 1500.0, 2.0, 1.4, 0.4)
    x, y = _plate(rng, truth, f=_f5, sd=0.015, reps=4, levels=12, lo=1e-3, hi=1e3)
    fit = fit_5pl(x, y)
    p, se = _curve_fit(_f5, x, y, truth)
    for i, k in enumerate(("bottom", "top", "ec50", "hill", "asymmetry")):
        assert _rel(fit.estimates[k], p[i]) < 1e-4 and _rel(fit.se[k], se[i]) < 1e-4, k


def _rss_hessian(f, x, y, p, w=None, rel=1e-4):
    """Hessian of sum w (y - f(x, *p))^2 by central second differences (independent of moasim)."""
    w = np.ones_like(y) if w is None else w
    S = lambda q: float(np.sum(w * (y - f(x, *q)) ** 2))  # noqa: E731
    k = len(p)
    h = rel * np.maximum(np.abs(p), 1e-3)
    H = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            e_i, e_j = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            H[i, j] = (S(p + e_i + e_j) - S(p + e_i - e_j) - S(p - e_i + e_j) + S(p - e_i - e_j)) / (4 * h[i] * h[j])
    return H


@pytest.mark.reference
@pytest.mark.parametrize("weighted", [False, True])
def test_hessian_se_is_drc_s_observed_information(weighted):
    # drc (vcov.drc -> vcCont): cov = (H / (2 s^2))^-1, H = Hessian of the RSS in (b, c, d, e),
    # s^2 = RSS / df. Computed here from curve_fit's optimum in the direct EC50 parameterisation.
    rng = np.random.default_rng(17)
    truth = (100.0, 1000.0, 1.3, 1.2)
    x = np.repeat(np.r_[0.0, np.geomspace(0.01, 100, 7)], 2)  # small, noisy: the two SEs differ
    mu = _f4(x, *truth)
    y = mu + rng.normal(0, 90.0, x.size)
    w = 1.0 / (0.5 + mu / 1000.0) ** 2 if weighted else None
    fit = fit_4pl(x, y, weights=w, se="hessian")
    gn = fit_4pl(x, y, weights=w)
    p, _ = _curve_fit(_f4, x, y, truth, sigma=None if w is None else 1 / np.sqrt(w))
    rss = float(np.sum((np.ones_like(y) if w is None else w) * (y - _f4(x, *p)) ** 2))
    s2 = rss / (x.size - 4)
    cov = np.linalg.inv(_rss_hessian(_f4, x, y, p, w) / (2 * s2))
    names = ("bottom", "top", "ec50", "hill")
    for i, k in enumerate(names):
        assert _rel(fit.se[k], math.sqrt(cov[i, i])) < 1e-5, k
        assert fit.estimates[k] == gn.estimates[k]  # the estimates do not depend on the SE method
    assert max(abs(fit.se[k] / gn.se[k] - 1) for k in names) > 1e-3  # and the two methods differ here
    assert fit.se_method == "hessian" and fit.to_dict()["se_method"] == "hessian"
    lo, hi = fit.ci95["hill"]
    assert _rel(hi - lo, 2 * stats.t.ppf(0.975, fit.df) * fit.se["hill"]) < 1e-12


def test_unknown_se_method_is_a_one_line_spec_error():
    with pytest.raises(SpecError) as ei:
        fit_4pl([0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6], se="sandwich")
    assert "\n" not in str(ei.value) and "hessian" in str(ei.value)


def test_ec50_profile_interval_ends_are_at_the_t_threshold():
    # Independent check of the profile interval: at each end, refit the other three
    # parameters with curve_fit holding EC50 fixed; RSS - RSS_hat must equal t^2 s^2.
    rng = np.random.default_rng(8)
    x, y = _plate(rng, (100.0, 1000.0, 1.3, 1.2), sd=0.05)
    fit = fit_4pl(x, y)
    s2 = fit.rss / fit.df
    tq = stats.t.ppf(0.975, fit.df)
    for end in fit.ci95["ec50"]:
        p, _ = optimize.curve_fit(lambda xx, b, t, h: _f4(xx, b, t, end, h), x, y, p0=[100, 1000, 1.2],
                                  xtol=1e-14, ftol=1e-14, maxfev=100000)
        rss = float(np.sum((y - _f4(x, p[0], p[1], end, p[2])) ** 2))
        assert _rel(rss - fit.rss, tq**2 * s2) < 1e-4
    lo, hi = fit.ci95["ec50"]
    assert lo < fit.estimates["ec50"] < hi


def test_zero_dose_wells_sit_on_the_right_plateau():
    rng = np.random.default_rng(4)
    for truth in [(100.0, 1000.0, 1.0, 1.0), (1000.0, 100.0, 1.0, -1.0)]:
        x, y = _plate(rng, truth, sd=0.01)
        fit = fit_4pl(x, y)
        zero_mean = y[x == 0].mean()
        assert abs(fit.predict(0.0) - zero_mean) < 0.05 * 900
        assert fit.predict(np.array([0.0]))[0] == pytest.approx(_f4(np.array([0.0]), *truth)[0], rel=0.05)


# --------------------------------------------------------------------------- groups, potency, comparison


def _two_compounds(rng, potency=4.0, hill_b=1.1, sd=0.03):
    rows = []
    for g, ec, h in (("ref", 10.0, 1.1), ("test", 10.0 / potency, hill_b)):
        x, y = _plate(rng, (1000.0, 9000.0, ec, h), sd=sd, reps=3, lo=0.01, hi=1000, levels=11)
        rows.append(pd.DataFrame({"compound": g, "conc_nM": x, "rlu": y}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.reference
def test_relative_potency_matches_independent_parallel_fit():
    rng = np.random.default_rng(21)
    df = _two_compounds(rng)
    res = fit_dose_response(df, concentration="conc_nM", response="rlu", group="compound")
    rp = res.relative_potency["test"]
    # independent: parallel model with curve_fit, log EC50 ratio as a parameter
    is_t = (df["compound"] == "test").to_numpy().astype(float)
    x = df["conc_nM"].to_numpy()

    def par(i, b, t, lne, d, h):
        xx = x[i.astype(int)]
        return _f4(xx, b, t, np.exp(lne + d * is_t[i.astype(int)]), h)

    idx = np.arange(x.size, dtype=float)
    p, cov = optimize.curve_fit(par, idx, df["rlu"].to_numpy(), p0=[1000, 9000, math.log(10), -1.0, 1.0],
                                xtol=1e-15, ftol=1e-15, gtol=1e-15, maxfev=100000)
    assert _rel(rp.estimate, math.exp(-p[3])) < 1e-4
    assert _rel(rp.se_log, math.sqrt(cov[3, 3])) < 1e-4
    lo, hi = rp.ci95
    assert lo < 4.0 < hi and lo < rp.estimate < hi
    # parallelism F-test from independently computed residual sums of squares
    rss_par = float(np.sum((df["rlu"].to_numpy() - par(idx, *p)) ** 2))
    rss_sep = 0.0
    for g in ("ref", "test"):
        sub = df[df["compound"] == g]
        pg, _ = optimize.curve_fit(_f4, sub["conc_nM"], sub["rlu"], p0=[1000, 9000, 5, 1], xtol=1e-15, ftol=1e-15, maxfev=100000)
        rss_sep += float(np.sum((sub["rlu"] - _f4(sub["conc_nM"].to_numpy(), *pg)) ** 2))
    n = len(df)
    F = ((rss_par - rss_sep) / 3) / (rss_sep / (n - 8))
    assert res.parallelism.df_num == 3 and res.parallelism.df_den == n - 8
    assert _rel(res.parallelism.f_statistic, F) < 1e-4
    assert _rel(res.parallelism.p_value, stats.f.sf(F, 3, n - 8)) < 1e-3


def test_parallelism_test_detects_different_slopes():
    rng = np.random.default_rng(22)
    df = _two_compounds(rng, hill_b=3.0, sd=0.02)
    res = fit_dose_response(df, concentration="conc_nM", response="rlu", group="compound")
    assert res.parallelism.p_value < 1e-3


def test_shared_parameters_joint_fit_matches_curve_fit():
    rng = np.random.default_rng(23)
    df = _two_compounds(rng, hill_b=1.6)
    res = fit_dose_response(df, concentration="conc_nM", response="rlu", group="compound", shared=("bottom", "top"))
    g = (df["compound"] == "test").to_numpy()
    x = df["conc_nM"].to_numpy()

    def joint(i, b, t, e1, h1, e2, h2):
        i = i.astype(int)
        return np.where(g[i], _f4(x[i], b, t, e2, h2), _f4(x[i], b, t, e1, h1))

    p, cov = optimize.curve_fit(joint, np.arange(x.size, dtype=float), df["rlu"].to_numpy(), p0=[1000, 9000, 10, 1, 2.5, 1.5],
                                xtol=1e-15, ftol=1e-15, gtol=1e-15, maxfev=100000)
    se = np.sqrt(np.diag(cov))
    r, t = res.groups["ref"], res.groups["test"]
    assert _rel(r.estimates["bottom"], p[0]) < 1e-4 and _rel(t.estimates["bottom"], p[0]) < 1e-4
    assert _rel(r.se["top"], se[1]) < 1e-4
    assert _rel(r.estimates["ec50"], p[2]) < 1e-4 and _rel(r.se["ec50"], se[2]) < 1e-4
    assert _rel(t.estimates["ec50"], p[4]) < 1e-4 and _rel(t.se["ec50"], se[4]) < 1e-4
    assert _rel(t.estimates["hill"], p[5]) < 1e-4 and _rel(t.se["hill"], se[5]) < 1e-4
    lo, hi = t.ci95["ec50"]
    assert lo < t.estimates["ec50"] < hi


def test_model_comparison_f_test_and_aic():
    rng = np.random.default_rng(9)
    x, y = _plate(rng, (50.0, 1500.0, 2.0, 1.4, 0.3), f=_f5, sd=0.01, reps=3, levels=12, lo=1e-3, hi=1e3)
    f4, f5 = fit_4pl(x, y), fit_5pl(x, y)
    cmp = compare_models(f4, f5)
    F = ((f4.rss - f5.rss) / 1) / (f5.rss / f5.df)
    assert cmp.f_statistic == pytest.approx(F, rel=1e-12)
    assert cmp.p_value < 0.01 and cmp.preferred_by_aic == "5pl"
    # AIC of a Gaussian NLS fit as R's AIC(nls): n log(2 pi RSS/n) + n + 2 (p + 1)
    n = x.size
    assert f4.aic == pytest.approx(n * math.log(2 * math.pi * f4.rss / n) + n + 2 * 5, rel=1e-12)
    with pytest.raises(SpecError):
        compare_models(f5, f4)


def test_outlier_flagged_and_excluded():
    rng = np.random.default_rng(12)
    x, y = _plate(rng, (100.0, 1000.0, 1.0, 1.0), sd=0.02)
    y_bad = y.copy()
    y_bad[14] += 600.0
    fit = fit_4pl(x, y_bad)
    assert list(np.flatnonzero(fit.outlier)) == [14]
    assert not fit_4pl(x, y).outlier.any()
    df = pd.DataFrame({"concentration": x, "response": y_bad})
    res = fit_dose_response(df, exclude_outliers=True)
    clean = fit_4pl(np.delete(x, 14), np.delete(y_bad, 14))
    assert res.groups["all"].estimates["ec50"] == pytest.approx(clean.estimates["ec50"], rel=1e-8)


# --------------------------------------------------------------------------- coverage study


def _coverage(n_sets: int, seed: int):
    rng = np.random.default_rng(seed)
    truth = dict(bottom=100.0, top=1000.0, ec50=1.3, hill=1.2)
    hit = dict.fromkeys(truth, 0)
    for _ in range(n_sets):
        x, y = _plate(rng, tuple(truth.values()), sd=0.05, reps=2, levels=9, lo=0.01, hi=100)
        fit = fit_4pl(x, y, outlier_alpha=None)
        for k, v in truth.items():
            lo, hi = fit.ci95[k]
            hit[k] += lo <= v <= hi
    return {k: h / n_sets for k, h in hit.items()}


@pytest.mark.slow
@pytest.mark.reference
def test_ci95_coverage_simulation():
    n = 400
    cov = _coverage(n, seed=2024)
    # 99.9% binomial acceptance region around 0.95
    lo, hi = stats.binom.ppf([0.0005, 0.9995], n, 0.95) / n
    for k, c in cov.items():
        assert lo <= c <= hi, (k, c, lo, hi)


def test_ci95_coverage_quick():
    n = 80
    cov = _coverage(n, seed=7)
    lo, hi = stats.binom.ppf([0.0005, 0.9995], n, 0.95) / n
    assert lo <= cov["ec50"] <= hi, cov


# --------------------------------------------------------------------------- tables and plates


def test_plate_layout_equals_tidy_table(tmp_path):
    rng = np.random.default_rng(31)
    conc = np.r_[0.0, np.geomspace(0.01, 100, 11)]
    grid = pd.DataFrame(index=list("ABCDEFGH"), columns=[str(i) for i in range(1, 13)], dtype=float)
    rows = []
    for r in "ABC":
        for j, c in enumerate(conc):
            v = _f4(np.array([c]), 100, 1000, 1.3, 1.2)[0] + rng.normal(0, 20)
            grid.loc[r, str(j + 1)] = v
            rows.append({"well": f"{r}{j + 1:02d}", "concentration": c, "response": v})
    grid.loc["H", "12"] = 99999.0  # an unmapped well (e.g. a blank) is ignored
    grid.index.name = "row"
    grid.to_csv(tmp_path / "plate.csv")
    tidy = pd.DataFrame(rows)
    tidy[["well", "concentration"]].to_csv(tmp_path / "map.csv", index=False)
    plate = read_plate(tmp_path / "plate.csv", tmp_path / "map.csv")
    assert len(plate) == 36
    a = fit_dose_response(plate)
    b = fit_dose_response(tidy)
    assert a.groups["all"].estimates["ec50"] == pytest.approx(b.groups["all"].estimates["ec50"], rel=1e-10)


def test_excel_input_and_to_frame(tmp_path):
    rng = np.random.default_rng(32)
    x, y = _plate(rng, (100.0, 1000.0, 1.3, 1.2))
    pd.DataFrame({"concentration": x, "response": y}).to_excel(tmp_path / "d.xlsx", index=False)
    res = fit_dose_response(tmp_path / "d.xlsx")
    tab = res.to_frame()
    assert set(tab["parameter"]) == {"bottom", "top", "ec50", "hill"}
    assert tab.loc[tab["parameter"] == "ec50", "ci_method"].item() == "profile"
    with pytest.raises(AttributeError):
        res.model = "5pl"  # immutable


@pytest.mark.parametrize(
    "frame, kw, err",
    [
        (pd.DataFrame({"concentration": [1, 2, 3, 4, 5], "response": [1, 2, 3, 4, 5]}), {"group": "cmpd"}, DataError),
        (pd.DataFrame({"concentration": [1, -2, 3, 4, 5], "response": [1, 2, 3, 4, 5]}), {}, DataError),
        (pd.DataFrame({"concentration": [1, np.inf, 3, 4, 5], "response": [1, 2, 3, 4, 5]}), {}, DataError),
        (pd.DataFrame({"concentration": [1, 2, 3, 4, 5], "response": [1, 2, "x", 4, 5]}), {}, DataError),
        (pd.DataFrame({"concentration": [1, 2, 3, 4, 5], "response": [1, 2, 3, 4, 5]}), {"model": "6pl"}, SpecError),
        (pd.DataFrame({"concentration": [1, 1, 2, 2], "response": [1, 2, 3, 4]}), {}, FitError),
        (pd.DataFrame({"concentration": [], "response": []}), {}, DataError),
    ],
)
def test_bad_input_raises_one_line_moasim_errors(frame, kw, err):
    with pytest.raises(err) as ei:
        fit_dose_response(frame, **kw)
    assert "\n" not in str(ei.value)


def test_malformed_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("concentration,response\n")
    (tmp_path / "bin.csv").write_bytes(b"\x00\xff\xfe\x89PNG\x00\x00")
    (tmp_path / "x.json").write_text("{}")
    for name in ("empty.csv", "header.csv", "bin.csv", "x.json", "missing.csv"):
        with pytest.raises(MoasimError):
            fit_dose_response(tmp_path / name)


def test_plate_grid_inside_reader_export(tmp_path):
    rng = np.random.default_rng(33)
    conc = np.r_[0.0, np.geomspace(0.01, 100, 11)]
    vals = {}
    lines = ["Plate reader export;;", "Date;2026-01-01;", "Gain;100;", "", ";" + ";".join(str(j) for j in range(1, 13))]
    for r in "ABCDEFGH":
        row = []
        for j in range(12):
            v = float(_f4(np.array([conc[j]]), 100, 1000, 1.3, 1.2)[0] + rng.normal(0, 20)) if r in "AB" else ""
            vals[f"{r}{j + 1}"] = v
            row.append(f"{v:.3f}" if v != "" else "")
        lines.append(r + ";" + ";".join(row))
    lines += ["", "End of plate;;"]
    (tmp_path / "export.csv").write_text("\n".join(lines))
    pmap = pd.DataFrame({"well": [f"{r}{j + 1}" for r in "AB" for j in range(12)], "concentration": list(conc) * 2})
    pmap.to_csv(tmp_path / "map.csv", index=False)
    plate = read_plate(tmp_path / "export.csv", tmp_path / "map.csv")
    assert len(plate) == 24
    np.testing.assert_allclose(plate["response"], [round(vals[w], 3) for w in plate["well"]])
    tidy = pd.DataFrame({"concentration": pmap["concentration"], "response": [round(vals[w], 3) for w in pmap["well"]]})
    a, b = fit_dose_response(plate), fit_dose_response(tidy)
    assert a.groups["all"].estimates["ec50"] == pytest.approx(b.groups["all"].estimates["ec50"], rel=1e-10)
    (tmp_path / "nogrid.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError):
        read_plate(tmp_path / "nogrid.csv", tmp_path / "map.csv")


@pytest.mark.slow
@pytest.mark.reference
def test_relative_potency_ci95_coverage_simulation():
    rng = np.random.default_rng(2025)
    n, hit = 200, 0
    for _ in range(n):
        parts = []
        for g, ec in (("ref", 10.0), ("test", 2.5)):  # true potency 4
            x = np.repeat(np.r_[0.0, np.geomspace(0.01, 1000, 11)], 2)
            parts.append(pd.DataFrame({"group": g, "concentration": x, "response": _f4(x, 1000, 9000, ec, 1.1) + rng.normal(0, 400, x.size)}))
        lo, hi = fit_dose_response(pd.concat(parts), group="group").relative_potency["test"].ci95
        hit += lo <= 4.0 <= hi
    lo_b, hi_b = stats.binom.ppf([0.0005, 0.9995], n, 0.95) / n
    assert lo_b <= hit / n <= hi_b, hit / n


def test_notes_flag_step_like_and_extrapolated_fits():
    rng = np.random.default_rng(40)
    x = np.repeat(np.r_[0.0, np.geomspace(0.01, 100, 5)], 3)  # factor 10 spacing
    steep = fit_4pl(x, _f4(x, 100, 1000, 0.3, 15.0) + rng.normal(0, 10, x.size))
    assert any("narrower than the dose spacing" in n for n in steep.notes)
    ok = fit_4pl(*_plate(rng, (100.0, 1000.0, 1.3, 1.2)))
    assert ok.notes == ()


@pytest.mark.parametrize("se", ["gauss-newton", "hessian"])
def test_standard_errors_do_not_depend_on_the_response_unit(se):
    """The same plate in other response units (x1e-2 ... x1e6): the same relative SEs."""
    rng = np.random.default_rng(5)
    x, y = _plate(rng, (1000.0, 1e5, 10.0, 1.0))
    ref = fit_4pl(x, y, se=se)
    for scale in (1e-2, 1e3, 1e6):
        fit = fit_4pl(x, y * scale, se=se)
        for k in ("bottom", "top"):
            assert _rel(fit.se[k], scale * ref.se[k]) < 1e-4, (scale, k)
        for k in ("ec50", "hill"):
            assert _rel(fit.se[k], ref.se[k]) < 1e-4, (scale, k)


def test_a_noise_free_step_keeps_its_ec50_interval_over_the_bracketing_doses():
    """Hill 50 and no noise: the EC50 can be anywhere between the two doses around the step, so
    its interval spans them (the profile alone gave a zero-width interval, [5.654, 5.654])."""
    x = np.repeat(np.r_[0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0], 3)
    fit = fit_4pl(x, _f4(x, 1000.0, 1e5, 5.654, 50.0))
    lo, hi = fit.ci95["ec50"]
    assert lo <= 3.0 and hi >= 10.0 and any("only between 3 and 10" in n for n in fit.notes)
