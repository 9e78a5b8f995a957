"""Men in the bone layer (issue 13 item 3): sex as a covariate, the typical man, men's trials.

Expected values are computed here from the published numbers (Modder 2011 sclerostin, Michelsen
2013 marker reference intervals, NHANES III reference weights) and from identities of the
model's structure, not taken from moasim's output.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from moasim.cli.main import main
from moasim.errors import SpecError
from moasim.library.bone import BoneRegimen, build_bone_model, run_bone, simulate_bone
from moasim.library.bone._simulate import BoneSubject
from moasim.library.bone.fracture import relative_risk
from moasim.trials import parse_trial_spec, run_trial

#: published values, as read (see moasim.library.bone.covariates for the sources)
SCLEROSTIN_MEN, SCLEROSTIN_WOMEN = 33.3, 23.7  # pmol/L, Modder 2011
CTX_MEN_75_79, CTX_PMW = (0.05, 0.58), (0.09, 1.05)  # ng/mL, 95% reference intervals, Michelsen 2013
P1NP_MEN_75_79, P1NP_PMW = (15.7, 68.1), (18.2, 102.3)
WEIGHT_MEN, WEIGHT_WOMEN = 76.0, 61.0  # kg, NHANES III reference weights
SITES = ("KLS_site", "KTH_site", "KFN_site")


def _centre(interval):
    """Geometric centre of a log-normal 95% interval."""
    return math.sqrt(interval[0] * interval[1])


def _expected_factors():
    turnover = math.sqrt(_centre(CTX_MEN_75_79) / _centre(CTX_PMW) * _centre(P1NP_MEN_75_79) / _centre(P1NP_PMW))
    return SCLEROSTIN_MEN / SCLEROSTIN_WOMEN, turnover


def test_a_man_is_the_woman_with_the_published_sex_ratios():
    scl, turnover = _expected_factors()
    man = BoneSubject(population="male_osteoporosis")
    assert man.female is False and man.weight_kg == pytest.approx(65.0 * WEIGHT_MEN / WEIGHT_WOMEN, abs=0.05)
    woman_pv = build_bone_model().parameter_values
    man_pv = simulate_bone(None, days=10, population="male_osteoporosis").parameters
    assert man_pv["KSYN_scl"] == pytest.approx(woman_pv["KSYN_scl"] * scl, rel=1e-4)
    for site in SITES:
        assert man_pv[site] == pytest.approx(woman_pv[site] * turnover, rel=1e-4)
    assert man_pv["WT"] == man.weight_kg
    # the baseline free sclerostin that Wnt is normalised to follows his production
    assert man_pv["SCL0_bone"] == pytest.approx(man_pv["KSYN_scl"] / man_pv["KDEG_scl"], rel=1e-12)


def test_a_mans_drug_free_course_is_flat():
    r = simulate_bone(None, days=3650, population="male_osteoporosis")
    for k in ("bmd_lumbar_spine", "bmd_total_hip", "bmd_femoral_neck", "p1np", "ctx"):
        assert np.max(np.abs(r.outputs[k])) < 1e-9, k


def test_a_mans_bmd_change_is_the_turnover_factor_times_that_of_a_woman_with_his_sclerostin_and_weight():
    """dBMD_x/dt = K_x*(OBA - OCA): the cell course depends on sclerostin and weight, not on K_x,
    so scaling every K_x by f scales each site's change by exactly f (structure of the model)."""
    scl, turnover = _expected_factors()
    reg = [BoneRegimen(drug="romosozumab", dose="210 mg", every="1 month")]
    t = np.linspace(0, 365, 366)
    man = run_bone(reg, subject=BoneSubject(population="male_osteoporosis"), t_out=t)
    ksyn = build_bone_model().parameter_values["KSYN_scl"] * round(scl, 4)
    woman = run_bone(reg, subject=BoneSubject(weight_kg=man.subject.weight_kg), t_out=t, parameters={"KSYN_scl": ksyn})
    for site in ("bmd_lumbar_spine", "bmd_total_hip", "bmd_femoral_neck"):
        np.testing.assert_allclose(man.outputs[site], woman.outputs[site] * round(turnover, 4), rtol=1e-5, atol=1e-7)
    for marker in ("p1np", "ctx"):  # cells do not depend on the site rates
        np.testing.assert_allclose(man.outputs[marker], woman.outputs[marker], rtol=1e-5, atol=1e-6)


def test_a_mans_pk_without_target_is_the_allometric_closed_form_at_his_weight(closed_form):
    """With no sclerostin the man's romosozumab PK is the woman's linear model at 81 kg."""
    pv = build_bone_model({"KSYN_scl": 0.0}).parameter_values
    man = BoneSubject(population="male_osteoporosis")
    t = np.linspace(0, 90, 361)
    r = run_bone([BoneRegimen(drug="romosozumab", dose="210 mg")], subject=man, t_out=t, parameters={"KSYN_scl": 0.0})
    scl, sv = (man.weight_kg / 65.0) ** 0.865, (man.weight_kg / 65.0) ** 0.957  # Davda 2014 exponents
    ref = closed_form.oral(t, 210_000 * pv["F_rsz"], (pv["KA_rsz"], pv["CL_rsz"] * scl, pv["VC_rsz"] * sv, pv["Q_rsz"] * scl, pv["VP_rsz"] * sv))
    assert np.max(np.abs(r.outputs["romosozumab_concentration"][1:] / ref[1:] - 1)) < 1e-6


def test_a_mans_fracture_risk_uses_the_mens_bmd_reference():
    """RR = 2.3^(-BMD0*pct/100/0.142) with BMD0 = 1.057 + T*0.110 (young men, NHANES table)."""
    pct = np.array([0.0, 5.0, 10.0])
    expected = 2.3 ** (-(1.057 - 2.5 * 0.110) * pct / 100 / 0.142)
    np.testing.assert_allclose(relative_risk(pct, "vertebral", -2.5, female=False), expected, rtol=1e-12)
    r = simulate_bone("romosozumab", "210 mg", every="1 month", days=90, population="male_osteoporosis")
    ls = np.asarray(r.outputs["bmd_lumbar_spine"])
    np.testing.assert_allclose(r.outputs["vertebral_fracture_rr"], 2.3 ** (-(1.057 - 2.5 * 0.110) * ls / 100 / 0.142), rtol=1e-12)


def test_a_woman_in_a_mens_population_is_refused():
    with pytest.raises(SpecError, match="female"):
        BoneSubject(population="male_osteoporosis", female=True)


MEN = {
    "name": "men-mini",
    "population": {"kind": "male_osteoporosis", "iiv": False, "measurement_error": False},
    "duration": "6 months",
    "visits": "monthly",
    "n": 3,
    "seed": 1,
    "arms": [
        {"name": "romo", "drug": "romosozumab", "dose": "210 mg", "every": "1 month"},
        {"name": "tpt", "drug": "teriparatide", "dose": "20 ug", "every": "1 day"},
        {"name": "placebo", "drug": "none"},
    ],
    "endpoints": [{"name": "ls6", "kind": "percent_change", "output": "bmd_lumbar_spine", "at": "6 months"}],
}


def test_a_mens_trial_runs_the_typical_man_in_every_arm(tmp_path):
    import pandas as pd

    spec = parse_trial_spec(MEN)
    assert spec.population.female is False and spec.population.weight_median_kg == pytest.approx(81.0)
    res = run_trial(spec, workers=1, progress=False, out_dir=str(tmp_path / "men"))
    for arm, drug, dose, every in (("romo", "romosozumab", "210 mg", "1 month"), ("tpt", "teriparatide", "20 ug", "1 day")):
        typical = simulate_bone(drug, dose, every=every, days=200, samples_per_day=8, population="male_osteoporosis")
        expected = float(np.interp(6 * 365.25 / 12, typical.time, typical.outputs["bmd_lumbar_spine"]))
        assert res.arms[arm]["endpoints"]["ls6"]["estimate"] == pytest.approx(expected, abs=0.02), arm
    assert res.arms["placebo"]["endpoints"]["ls6"]["estimate"] == pytest.approx(0.0, abs=1e-9)
    table = pd.concat(pd.read_parquet(p) for p in (tmp_path / "men" / "shards").glob("*.parquet"))
    assert len(table) == 9 and not table["female"].any() and np.allclose(table["weight_kg"], 81.0)
    from moasim.report.trial_report import bone_trial_figure

    fracture_panel = bone_trial_figure(res).axes[5]  # no rate for men: the panel says so instead of an empty plot
    assert not fracture_panel.lines and any("no fracture rate" in t.get_text() for t in fracture_panel.texts)


def test_a_mens_trial_needs_its_own_fracture_rate_and_refuses_unknown_kinds(tmp_path, capsys):
    spec = json.loads(json.dumps(MEN))
    spec["endpoints"] = [{"kind": "incidence", "event": "new_vertebral_fracture", "by": "6 months"}]
    with pytest.raises(SpecError, match="population.fracture_rates.new_vertebral_fracture"):
        parse_trial_spec(spec)
    spec["population"]["fracture_rates"] = {"new_vertebral_fracture": "0.02 / year"}
    assert parse_trial_spec(spec).population.rates["new_vertebral_fracture"] == pytest.approx(0.02 / 365.25)
    spec["population"]["kind"] = "male"
    with pytest.raises(SpecError, match="population kind"):
        parse_trial_spec(spec)


def test_cli_simulates_the_typical_man(capsys):
    rc = main(["simulate", "--drug", "romosozumab", "--dose", "70 mg", "--every", "1 month", "--route", "sc", "--days", "30",
               "--population", "male_osteoporosis", "--json"])
    assert rc in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert out["population"] == "male_osteoporosis"
    man = simulate_bone("romosozumab", "70 mg", every="1 month", days=30, population="male_osteoporosis")
    assert out["outputs"]["bmd_lumbar_spine"][-1] == pytest.approx(float(man.outputs["bmd_lumbar_spine"][-1]), rel=1e-6)  # sampling grids differ


def test_sbml_export_of_the_mens_population_carries_his_parameters(tmp_path):
    import libsbml

    out = tmp_path / "man.xml"
    assert main(["export", "sbml", "--drug", "romosozumab", "--population", "male_osteoporosis", "-o", str(out)]) in (0, None)
    model = libsbml.readSBMLFromFile(str(out)).getModel()
    scl, turnover = _expected_factors()
    woman = build_bone_model().parameter_values
    assert model.getParameter("KSYN_scl").getValue() == pytest.approx(woman["KSYN_scl"] * scl, rel=1e-4)
    assert model.getParameter("KLS_site").getValue() == pytest.approx(woman["KLS_site"] * turnover, rel=1e-4)
    assert model.getParameter("WT").getValue() == pytest.approx(81.0)
