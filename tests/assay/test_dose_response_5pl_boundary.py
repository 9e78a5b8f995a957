"""5PL asymmetry at its boundary: the Gompertz limit (asymmetry s -> infinity).

In moasim's 5PL, ``f = bottom + (top - bottom) (1 + (2**(1/s) - 1) (ec50/x)**hill)**-s``, the
limit s -> inf is the Gompertz curve ``bottom + (top - bottom) exp(-ln2 (ec50/x)**hill)``.
When that limit fits best, the least-squares problem has no minimum at a finite asymmetry: the
fit must say so (note, ``at_boundary``, ``converged`` false, asymmetry null), give the EC50
interval from the profile likelihood over *all* asymmetries, and leak no RuntimeWarning.

Data: generated here with numpy from a known Gompertz curve; and two public data sets on which
the 5PL runs to the Gompertz limit, as distributed with the R package drc (data/nasturtium.rda,
data/secalonic.rda):

* nasturtium: Racine-Poon A (1988) A Bayesian approach to nonlinear calibration problems.
  J Am Stat Assoc 83:650-656 (plant weight, mg, vs concentration, g/ha; 7 x 6 replicates).
* secalonic: Gong X, Zeng R, Luo S, Yong C, Zheng Q (2004) Two new secalonic acids from
  Aspergillus japonicus and their allelopathic effects on higher plants. Proc Int Symp
  Allelopathy Res Appl, 209-217 (root length, cm, vs dose, mM; means of three).

Interval claims are checked against an *independent* profile: for a fixed EC50, the best 5PL
(asymmetries from 0.01 to the Gompertz limit) over a grid of hill slopes of the fitted curve's
sign with bottom and top by numpy.linalg.lstsq, polished with scipy.optimize.least_squares, with
the curve written out here - never the code under test. The hill sign is that of the fit because
the fitter's 5PL keeps the orientation of its 4PL start: with the plateaus swapped and the hill's
sign flipped, a 5PL with ``s != 1`` is another curve (the mirror family), which neither the fit
nor its profile searches (on the generated data it does not fit better: first test).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from moasim.assay import fit_curve, fit_dose_response, plot_dose_response
from moasim.assay import _nls
from moasim.assay import _dr_joint
from moasim.assay._dr_models import _CurveModel, _Group
from moasim.cli.main import main

LN2 = math.log(2.0)
DOSES = np.r_[0.0, np.geomspace(0.01, 100, 9)]  # vehicle + 9 half-log doses
X = np.repeat(DOSES, 3)
BOTTOM, TOP, C, HILL = 10.0, 110.0, 1.0, 1.2  # y = bottom + (top - bottom) exp(-exp(hill (ln x - ln c)))
EC50_TRUE = C * LN2 ** (1.0 / HILL)  # exp(-exp(z)) = 1/2 at z = ln ln 2
SEED, SD = 1, 2.0

NASTURTIUM_CONC = np.repeat([0.0, 0.025, 0.075, 0.25, 0.75, 2.0, 4.0], 6)
NASTURTIUM_WEIGHT = np.array([
    920, 889, 866, 930, 992, 1017, 919, 878, 882, 854, 851, 850, 870, 825, 953, 834, 810, 875,
    880, 834, 795, 837, 834, 810, 693, 690, 722, 738, 563, 591, 429, 395, 435, 412, 273, 257,
    200, 244, 209, 225, 128, 221], dtype=float)
SECALONIC_DOSE = np.array([0.0, 0.01, 0.019, 0.038, 0.075, 0.15, 0.3])
SECALONIC_ROOTL = np.array([5.5, 5.7, 5.4, 4.6, 3.3, 0.7, 0.4])
PUBLIC = {"nasturtium": (NASTURTIUM_CONC, NASTURTIUM_WEIGHT), "secalonic": (SECALONIC_DOSE, SECALONIC_ROOTL)}


def _gompertz_data(seed=SEED, sd=SD, mirror=False):
    with np.errstate(divide="ignore"):
        G = np.exp(-np.exp(HILL * (np.log(X) - math.log(C))))  # 1 at zero dose
    return BOTTOM + (TOP - BOTTOM) * ((1.0 - G) if mirror else G) + np.random.default_rng(seed).normal(0, sd, X.size)


# ----------------------------------------------------------------------- independent 5PL


def _frac(x, ec50, hill, s):
    """Fraction of the way from bottom to top of the 5PL (``s = inf``: the Gompertz limit)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
        ln_r = hill * (math.log(ec50) - np.log(np.where(x > 0, x, 1.0)))  # ln (ec50/x)^hill
        ln_r = np.where(x > 0, ln_r, np.inf if hill > 0 else -np.inf)
        ln_r = np.clip(ln_r, -700.0, 700.0)
        if np.isinf(s):
            return np.exp(-LN2 * np.exp(ln_r))
        ln_c = math.log(math.expm1(LN2 / s)) if LN2 / s < 700 else LN2 / s
        return np.exp(-s * np.logaddexp(0.0, ln_c + ln_r))


def _best_rss(x, y, ec50=None, s_values=(math.inf, 1e4, 100.0, 10.0, 3.0, 1.0, 0.3, 0.1, 0.03, 0.01), free_s=True,
              hill_sign=0):
    """Least RSS of the 5PL with ``ec50`` fixed (``None``: free) and ``s`` restricted to
    ``s_values`` (``free_s``: then polished freely), hill of sign ``hill_sign`` (0: either);
    independent of moasim."""
    hills = np.r_[np.geomspace(0.05, 200, 60) if hill_sign >= 0 else [], -np.geomspace(0.05, 200, 60) if hill_sign <= 0 else []]
    ec50s = [ec50] if ec50 is not None else list(np.geomspace(x[x > 0].min(), x[x > 0].max(), 40))
    best, arg = np.inf, None
    for e in ec50s:
        for s in s_values:
            for h in hills:
                G = _frac(x, e, h, s)
                A = np.c_[1.0 - G, G]
                coef, *_ = np.linalg.lstsq(A, y, rcond=None)
                r = y - A @ coef
                if r @ r < best:
                    best, arg = float(r @ r), (coef[0], coef[1], e, h, s)
    b0, t0, e0, h0, s0 = arg
    fixed_e = ec50 is not None

    def resid(p, s):
        e = ec50 if fixed_e else math.exp(p[2])
        return p[0] + (p[1] - p[0]) * _frac(x, e, p[3], s) - y

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p0 = [b0, t0, math.log(e0), h0]
        try:
            if np.isinf(s0) or not free_s:
                res = optimize.least_squares(lambda p: resid(p, s0), p0, method="lm", max_nfev=5000)
            else:
                res = optimize.least_squares(lambda p: resid(p[:4], math.exp(min(max(p[4], -6.0), 40.0))),
                                             p0 + [math.log(s0)], method="lm", max_nfev=5000)
            best = min(best, float(res.fun @ res.fun))
        except (ValueError, OverflowError):
            pass
    return best


def _threshold(fit):
    """RSS - RSS_hat at the ends of the 95% profile interval: t(0.975, df)^2 s^2."""
    return stats.t.ppf(0.975, fit.df) ** 2 * fit.rss / fit.df


def _fit(x, y, **kw):
    """fit_curve(model='5pl') with every warning an error (no RuntimeWarning may leak)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_curve(x, y, model="5pl", **kw)
        d = fit.to_dict()
        fit.to_frame()
        fit.predict(np.geomspace(1e-4, 1e4, 41))
    return fit, d


def _assert_boundary(fit, d):
    assert fit.status == "ok" and fit.at_boundary == ("asymmetry",)
    assert fit.converged is False and d["converged"] is False and d["at_boundary"] == ["asymmetry"]
    assert math.isnan(fit.estimates["asymmetry"]) and math.isnan(fit.se["asymmetry"])
    assert all(map(math.isnan, fit.ci95["asymmetry"])) and all(map(math.isnan, fit.ci95_wald["asymmetry"]))
    assert d["estimates"]["asymmetry"] is None and d["se"]["asymmetry"] is None and d["ci95"]["asymmetry"] == [None, None]
    assert fit.curve["asymmetry"] == math.inf  # the limiting curve, used by predict
    note = [n for n in fit.notes if n.startswith("5PL asymmetry at its boundary (Gompertz limit)")]
    assert len(note) == 1 and "asymmetry not estimated" in note[0] and "profile-likelihood" in note[0]
    assert not any("optimiser stopped" in n for n in fit.notes)
    json.dumps(d, allow_nan=False)
    for k in ("bottom", "top", "ec50", "hill"):
        assert math.isfinite(fit.estimates[k])
    i = fit.parameters.index("asymmetry")
    assert np.all(np.isnan(fit.covariance[i])) and np.all(np.isfinite(np.delete(np.delete(fit.covariance, i, 0), i, 1)))


# ----------------------------------------------------------------------- generated data


def test_generated_data_run_to_the_gompertz_limit_independently():
    """The test data really are a boundary case: the RSS keeps falling as s grows."""
    y = _gompertz_data()
    rss = [_best_rss(X, y, s_values=(s,), free_s=False) for s in (1.0, 3.0, 10.0, 100.0, 1e4, math.inf)]
    assert all(a > b for a, b in zip(rss, rss[1:-1])) and rss[-1] <= rss[-2] * (1 + 1e-9)
    # and nothing with the plateaus the other way round does better
    assert _best_rss(X, y) >= rss[-1] * (1 - 1e-6)


def test_gompertz_limit_is_reported_as_a_boundary():
    y = _gompertz_data()
    fit, d = _fit(X, y)
    _assert_boundary(fit, d)
    # the reported curve is the least-squares Gompertz curve (fitted independently)
    assert fit.rss == pytest.approx(_best_rss(X, y, s_values=(math.inf,), free_s=False), rel=1e-7)
    e = fit.estimates
    grid = np.geomspace(1e-3, 1e3, 25)
    assert fit.predict(grid) == pytest.approx(e["bottom"] + (e["top"] - e["bottom"]) * _frac(grid, e["ec50"], e["hill"], math.inf),
                                              rel=1e-12, abs=1e-9)
    assert e["ec50"] == pytest.approx(EC50_TRUE, rel=0.05) and e["hill"] == pytest.approx(-HILL, rel=0.1)


def test_ec50_ci_is_the_profile_over_all_asymmetries():
    y = _gompertz_data()
    fit, _ = _fit(X, y)
    lo, hi = fit.ci95["ec50"]
    assert fit.ec50_ci_open == (False, False) and lo < EC50_TRUE < hi and lo < fit.estimates["ec50"] < hi
    thr = _threshold(fit)
    # at both ends the independent profile (asymmetry free, up to the limit) is at the threshold
    sign = int(np.sign(fit.estimates["hill"]))
    for end in (lo, hi):
        assert _best_rss(X, y, ec50=end, hill_sign=sign) - fit.rss == pytest.approx(thr, rel=0.02)
    assert _best_rss(X, y, ec50=EC50_TRUE, hill_sign=sign) - fit.rss < thr
    # the Wald interval is conditional on the limit: the note says so, and ci95 is not it
    assert fit.ci95["ec50"] != pytest.approx(fit.ci95_wald["ec50"], rel=1e-6)


@pytest.mark.parametrize("seed", [4, 5])
def test_other_noise_draws_at_the_limit_cover_the_truth(seed):
    y = _gompertz_data(seed=seed)
    fit, d = _fit(X, y)
    if fit.at_boundary:
        _assert_boundary(fit, d)
    lo, hi = fit.ci95["ec50"]
    assert lo < EC50_TRUE < hi


def test_mirror_gompertz_fits_without_warnings_and_honestly():
    """The mirror (rising) Gompertz: a finite asymmetry fits; whatever is reported is consistent."""
    fit, d = _fit(X, _gompertz_data(mirror=True))
    if fit.at_boundary:
        _assert_boundary(fit, d)
    else:
        assert fit.converged and math.isfinite(fit.estimates["asymmetry"]) and not any("boundary" in n for n in fit.notes)
    assert fit.ci95["ec50"][0] < EC50_TRUE < fit.ci95["ec50"][1]


def test_hessian_se_and_no_profile_at_the_limit():
    y = _gompertz_data()
    fit, d = _fit(X, y, se="hessian")
    _assert_boundary(fit, d)
    assert all(math.isfinite(fit.se[k]) and fit.se[k] > 0 for k in ("bottom", "top", "ec50", "hill"))
    wald, _ = _fit(X, y, profile=False)
    assert wald.at_boundary == ("asymmetry",) and wald.ci95["ec50"] == wald.ci95_wald["ec50"]
    assert any("conditional on this limit, so is the EC50 CI (Wald" in n for n in wald.notes)


# ----------------------------------------------------------------------- the optimiser at the clip


def test_refits_from_the_clip_converge_instead_of_stalling():
    """Started on or beyond the +30 clip of ln s, refits reach the same optimum with ~0 gradient."""
    y = _gompertz_data()
    design = _nls._build_design("5pl", 1, (), 0, 0.0)
    data = _nls._Data.of([X], [y], [np.ones_like(X)])
    _, rss_fixed, ok_fixed = _nls._lsq(np.array([9.0, 111.0, -0.3, -1.2, 30.0]), design, data, fixed={4: 30.0}, max_nfev=2000)
    assert ok_fixed
    for lns0 in (20.0, 29.0, 30.0, 35.0, 62.0):
        th, rss, ok = _nls._lsq(np.array([9.3, 110.6, math.log(0.73), -1.16, lns0]), design, data, max_nfev=1000)
        assert ok and th[4] == pytest.approx(30.0, abs=1e-6) and rss == pytest.approx(rss_fixed, rel=1e-9)
        J, r = _nls._jacobian(th, design, data), _nls._residuals(th, design, data)
        g = J.T @ r / (np.linalg.norm(J, axis=0) * np.linalg.norm(r) + 1e-300)  # cosine of residual and column
        assert np.all(np.abs(g[:4]) < 1e-6)
    jf = _dr_joint._fit_groups(_CurveModel("5pl", 0.0), [_Group(None, X, y, np.ones_like(X))], (), 0)
    assert jf.converged and jf.at_clip == (4,) and jf.theta[4] == 30.0
    assert np.all(jf.cov[4] == 0.0) and np.all(np.diag(jf.cov)[:4] > 0)


def test_curve_at_and_beyond_the_clip_is_the_gompertz_limit():
    lnx = _nls._log_dose(np.r_[0.0, np.geomspace(1e-3, 1e3, 13)])
    x = np.exp(lnx)
    for h in (-1.5, 2.0):
        ref = 1.0 + 4.0 * _frac(x, 0.7, h, math.inf)
        for lns in (30.0, 45.0, math.inf):
            f, J = _nls._curve(np.array([1.0, 5.0, math.log(0.7), h, lns]), lnx, want_jac=True)
            assert f == pytest.approx(ref, rel=1e-12, abs=1e-12) and np.all(J[:, 4] == 0.0)
        # continuous with the 5PL below the clip
        f20 = _nls._curve(np.array([1.0, 5.0, math.log(0.7), h, 20.0]), lnx)
        assert np.max(np.abs(f20 - ref)) < 1e-7
        G = _nls._fraction(np.array([[1.0, 5.0, math.log(0.7), h, 30.0], [1.0, 5.0, math.log(0.7), h, 20.0]]), lnx)
        assert (1.0 + 4.0 * G[0]) == pytest.approx(ref, rel=1e-12) and np.max(np.abs(1.0 + 4.0 * G[1] - ref)) < 1e-7


def test_curve_evaluation_raises_no_floating_point_error():
    """The cause is fixed, not hidden: only benign underflow (to a plateau) happens inside."""
    lnx = _nls._log_dose(np.r_[0.0, np.geomspace(1e-12, 1e12, 25)])
    with np.errstate(all="raise"):
        for lns in (-800.0, -40.0, -30.0, -5.0, 0.0, 5.0, 29.9, 30.0, 62.0, 800.0, math.inf):
            for h in (-1e300, -1e6, -3.0, 0.0, 0.5, 1e6, 1e300):
                for lne in (-50.0, 0.0, 50.0):
                    q = np.array([-2.0, 7.0, lne, h, lns])
                    f, J = _nls._curve(q, lnx, want_jac=True)
                    assert np.all(np.isfinite(f)) and np.all(np.isfinite(J))
                    assert np.all(np.isfinite(_nls._fraction(q[None, :], lnx)))


# ----------------------------------------------------------------------- joint fits and potency


def test_parallel_model_at_the_limit_notes_the_potency():
    y = _gompertz_data()
    # the test article: the same curve 3x less potent (concentrations x 3, same responses)
    df = pd.DataFrame({"compound": ["ref"] * X.size + ["test"] * X.size, "concentration": np.r_[X, 3.0 * X],
                       "response": np.r_[y, y]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fit_dose_response(df, group="compound", model="5pl")
        d = res.to_dict()
    for g in ("ref", "test"):
        _assert_boundary(res.groups[g], d["groups"][g])
    rp = res.relative_potency["test"]
    assert rp.estimate == pytest.approx(1.0 / 3.0, rel=1e-6) and rp.ci95[0] < 1.0 / 3.0 < rp.ci95[1]
    assert any("asymmetry of the parallel model at its boundary (Gompertz limit)" in n for n in rp.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shared = fit_dose_response(df, group="compound", model="5pl", shared=("asymmetry",))
    for g in ("ref", "test"):
        c = shared.groups[g]
        assert c.at_boundary == ("asymmetry",) and c.converged is False and math.isnan(c.estimates["asymmetry"])
        assert c.ci95["ec50"][0] < c.estimates["ec50"] < c.ci95["ec50"][1]


# ----------------------------------------------------------------------- public data sets


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_data_at_the_gompertz_limit(name):
    x, y = PUBLIC[name]
    fit, d = _fit(x, y)
    _assert_boundary(fit, d)
    # the reported curve is a least-squares Gompertz curve: polishing it independently changes nothing
    e = fit.estimates
    res = optimize.least_squares(lambda p: p[0] + (p[1] - p[0]) * _frac(x, math.exp(p[2]), p[3], math.inf) - y,
                                 [e["bottom"], e["top"], math.log(e["ec50"]), e["hill"]], method="lm")
    assert float(res.fun @ res.fun) == pytest.approx(fit.rss, rel=1e-8)
    lo, hi = fit.ci95["ec50"]
    assert lo < e["ec50"] < hi and not fit.ec50_ci_open[0]
    sign = int(np.sign(e["hill"]))
    assert _best_rss(x, y, ec50=lo, hill_sign=sign) - fit.rss == pytest.approx(_threshold(fit), rel=0.02)


def test_cli_at_the_limit_writes_nothing_to_stderr(tmp_path, capsys):
    x, y = PUBLIC["nasturtium"]
    f = tmp_path / "n.csv"
    pd.DataFrame({"concentration": x, "response": y}).to_csv(f, index=False)
    png, out = tmp_path / "n.png", tmp_path / "n_params.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rc = main(["fit", "dose-response", str(f), "--model", "5pl", "--json", "--plot", str(png), "--out", str(out),
                   "--compare", "4pl"])
    cap = capsys.readouterr()
    assert rc == 0 and cap.err == ""
    g = json.loads(cap.out)["groups"]["all"]
    assert g["estimates"]["asymmetry"] is None and g["converged"] is False and g["at_boundary"] == ["asymmetry"]
    assert any(n.startswith("5PL asymmetry at its boundary (Gompertz limit)") for n in g["notes"])
    assert png.read_bytes()[:4] == b"\x89PNG" and "asymmetry" in set(pd.read_csv(out)["parameter"])
    assert main(["fit", "dose-response", str(f), "--model", "5pl"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and "note: 5PL asymmetry at its boundary (Gompertz limit)" in cap.out


def test_plot_at_the_limit(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_curve(X, _gompertz_data(), model="5pl")
        plot_dose_response(fit, tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
