"""Bone layer API: simulate() dispatch, CLI JSON, stop/sequencing, fracture link, bad input."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from moasim.errors import DosingError, SpecError
from moasim.library.bone import BoneRegimen, BoneSimulationResult, BoneSubject, fracture_relative_risk, run_bone, simulate_bone
from moasim.library.bone._metrics import MONTH
from moasim.simulation import SimulationResult, simulate
from moasim.validate import load_targets


def test_simulate_dispatches_to_bone_with_design_outputs():
    r = simulate("romosozumab", "210 mg", every="1 month", route="sc", days=60, population="postmenopausal_osteoporosis")
    assert isinstance(r, SimulationResult)
    for k in ("bmd_lumbar_spine", "bmd_total_hip", "bmd_femoral_neck", "p1np", "ctx"):
        assert r.units[k] == "%" and r.outputs[k][0] == 0.0
        assert not r.outputs[k].flags.writeable
    assert r.units["drug_concentration"] == "ng/mL" and "sclerostin" in r.outputs
    assert [d[1:] for d in r.doses] == [("romosozumab", 210.0, "mg")] * 2
    assert r.subject.population == "postmenopausal_osteoporosis"
    d = r.to_json_dict()
    assert d["population"] == "postmenopausal_osteoporosis" and set(d["outputs"]) == set(r.outputs)
    assert r.summary()["peak_p1np"] > 0


def test_bone_result_pickles():
    # a module-level class: results go to worker processes and to disk like any other result
    r = simulate("romosozumab", "210 mg", every="1 month", route="sc", days=60, population="postmenopausal_osteoporosis")
    back = pickle.loads(pickle.dumps(r))
    assert type(back) is BoneSimulationResult and isinstance(back, SimulationResult)
    assert back.to_json_dict() == r.to_json_dict() and back.summary_lines() == r.summary_lines()
    assert not back.outputs["p1np"].flags.writeable and not back.time.flags.writeable
    with pytest.raises(TypeError):
        back.outputs["p1np"] = None  # still a read-only mapping
    assert back.model.structure_key == r.model.structure_key


def test_cli_simulate_json(capsys):
    from moasim.cli.main import main

    code = main(["simulate", "--drug", "romosozumab", "--dose", "210 mg", "--every", "1 month", "--route", "sc", "--days", "90",
                 "--population", "postmenopausal_osteoporosis", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code in (0, None)
    assert out["units"]["bmd_lumbar_spine"] == "%" and len(out["time_days"]) == len(out["outputs"]["p1np"])


def test_placebo_population_path_is_flat():
    r = simulate(None, days=30, population="postmenopausal_osteoporosis")
    assert np.max(np.abs(r.outputs["bmd_lumbar_spine"])) < 1e-12 and r.doses == ()


def test_stop_washes_out_and_sequencing_with_denosumab_keeps_more_bone():
    stop = [BoneRegimen(drug="romosozumab", dose="210 mg", every="1 month", count=12)]
    seq = stop + [BoneRegimen(drug="denosumab", dose="60 mg", every="6 months", start=12 * MONTH)]
    t = np.linspace(0, 24 * MONTH, 731)
    a, b = run_bone(stop, t_out=t), run_bone(seq, t_out=t)
    i12, i18 = np.searchsorted(t, 12 * MONTH), np.searchsorted(t, 18 * MONTH)
    c = a.outputs["romosozumab_concentration"]
    assert c[i18] < 1e-3 * c[:i12].max()  # washed out 6 months after the last dose
    assert abs(a.outputs["p1np"][-1]) < 10 and abs(a.outputs["wnt_activity"][-1] - 1) < 0.1  # markers back near baseline
    assert a.outputs["bmd_lumbar_spine"][-1] <= a.outputs["bmd_lumbar_spine"][i12] + 1e-9  # no further gain off drug
    assert b.outputs["bmd_lumbar_spine"][-1] > a.outputs["bmd_lumbar_spine"][-1]  # antiresorptive follow-on adds bone
    assert b.outputs["ctx"][i12:].min() < a.outputs["ctx"][i12:].min() - 30  # through RANKL neutralisation


def test_alendronate_comparator_and_romosozumab_then_alendronate():
    t = np.array([0.0, 12 * MONTH])
    aln = run_bone([BoneRegimen(drug="alendronate", dose="70 mg", every="1 week")], t_out=t)
    assert aln.regimen.startswith("alendronate 70 mg oral every 1 week")
    # EC50_aln is fitted to this target (McClung 2014 open-label arm, R2), so it is met to the fit's precision
    # (0.05 points), well inside the target's own tolerance
    published = load_targets()["alendronate_ls_bmd_12m"]["value"]
    assert aln.outputs["bmd_lumbar_spine"][-1] == pytest.approx(published, abs=0.05)
    assert aln.outputs["ctx"][-1] < -20 and "drug_concentration" not in aln.outputs
    romo = [BoneRegimen(drug="romosozumab", dose="210 mg", every="1 month", count=12)]
    t24 = np.array([0.0, 12 * MONTH, 24 * MONTH])
    stop = run_bone(romo, t_out=t24)
    seq = run_bone(romo + [BoneRegimen(drug="alendronate", dose="70 mg", every="1 week", start=12 * MONTH)], t_out=t24)
    assert seq.outputs["bmd_lumbar_spine"][-1] > stop.outputs["bmd_lumbar_spine"][-1] + 1.0
    assert seq.outputs["bmd_total_hip"][-1] > stop.outputs["bmd_total_hip"][-1]


def test_fracture_link_matches_marshall_gradient():
    bmd0 = 1.064 - 2.5 * 0.106  # NHANES young-female LS mean/SD at T = -2.5
    expected = 2.3 ** (-(bmd0 * 0.10) / 0.142)
    assert fracture_relative_risk(10.0, "vertebral") == pytest.approx(expected, rel=1e-12)
    assert fracture_relative_risk(0.0, "hip") == 1.0
    assert fracture_relative_risk(-5.0, "hip") > 1.0
    r = simulate_bone("romosozumab", "210 mg", every="1 month", days=90)
    assert np.all(np.diff(r.outputs["vertebral_fracture_rr"][10:]) <= 1e-12)  # falls while LS BMD rises


@pytest.mark.parametrize("kw, err, match", [
    (dict(drug="teriparatide", dose="20 ug", route="oral"), DosingError, "route of teriparatide"),
    (dict(drug="alendronate", dose="70 mg", route="sc"), DosingError, "route of alendronate"),
    (dict(drug="romosozumab"), DosingError, "dose"),
    (dict(drug="romosozumab", dose="210 mL"), DosingError, "unit of dose"),
    (dict(drug="romosozumab", dose="210 mg", route="oral"), DosingError, "route of romosozumab"),
    (dict(drug="romosozumab", dose="210 mg", days=-1), SpecError, "days"),
    # the bone model has no ITP or marrow-failure patients and no titration rule: refused, not ignored
    (dict(drug="romosozumab", dose="210 mg", population="itp"), SpecError, "Invalid population: got 'itp'"),
    (dict(drug="denosumab", dose="60 mg", population="aplastic"), SpecError, "Invalid population: got 'aplastic'"),
    (dict(drug="romosozumab", dose="210 mg", titration="label"), SpecError, "Invalid titration"),
    (dict(drug="romiplostim", dose="1 ug/kg"), SpecError, "platelet-layer drug"),
])
def test_bad_input_is_refused_with_one_clear_line(kw, err, match):
    with pytest.raises(err, match=match):
        simulate_bone(**kw)


def test_a_bone_drug_without_a_population_is_the_typical_postmenopausal_woman():
    """moasim.simulate picks the drug's layer's typical subject (it used to label it 'healthy')."""
    from moasim import simulate

    r = simulate("romosozumab", "210 mg", days=60, samples_per_day=1)
    ref = simulate_bone("romosozumab", "210 mg", days=60, population="postmenopausal_osteoporosis")
    assert "[postmenopausal_osteoporosis]" in r.regimen
    assert np.array_equal(r.outputs["bmd_lumbar_spine"], ref.outputs["bmd_lumbar_spine"])


def test_bone_subject_population_validation():
    with pytest.raises(SpecError, match="population"):
        BoneSubject(population="martian")
    assert BoneSubject().female


def test_sbml_export_reproduces_engine_trajectory():
    import roadrunner

    from moasim.library.bone import bone_sbml

    rr = roadrunner.RoadRunner(bone_sbml())
    rr.integrator.relative_tolerance, rr.integrator.absolute_tolerance = 1e-10, 1e-12
    rr.setValue("DEPOT_rsz", 210_000 * 0.81)  # one 210 mg SC dose at t = 0 (F = 0.81)
    res = rr.simulate(0, 60, 61, ["time", "BMD_LS", "OCA"])
    ref = run_bone([BoneRegimen(drug="romosozumab", dose="210 mg")], days=60)
    assert np.allclose(100 * (res["BMD_LS"] - 1), ref.outputs["bmd_lumbar_spine"], atol=1e-5)
    assert np.allclose(100 * (res["OCA"] - 1), ref.outputs["ctx"], atol=1e-4)


@pytest.mark.parametrize("drug", ["romosozumab", "denosumab"])
def test_listed_weight_based_dose_unit_is_the_flat_dose_at_the_subjects_weight(drug):
    """`moasim drugs` lists mg/kg for the antibodies (phase 1 doses were weight-based): 3 mg/kg in a
    70 kg woman is the same dose as 210 mg."""
    from moasim.cli._drugs import bone_entries

    assert "mg/kg" in bone_entries()[drug]["dose_units"]
    subject = BoneSubject(weight_kg=70.0)
    per_kg = run_bone([BoneRegimen(drug=drug, dose="3 mg/kg")], days=60, subject=subject)
    flat = run_bone([BoneRegimen(drug=drug, dose="210 mg")], days=60, subject=subject)
    np.testing.assert_allclose(per_kg.outputs["drug_concentration"], flat.outputs["drug_concentration"], rtol=1e-9)


def _cli_ls_12m(dose: str, every: str, capsys) -> float:
    """12-month lumbar-spine % change of the typical woman, as a user gets it from the CLI."""
    import json

    from moasim.cli.main import main

    main(["simulate", "--drug", "romosozumab", "--dose", dose, "--every", every, "--route", "sc", "--days", "365",
          "--population", "postmenopausal_osteoporosis", "--json"])
    return float(json.loads(capsys.readouterr().out)["outputs"]["bmd_lumbar_spine"][-1])


@pytest.mark.reference
def test_cli_dose_arms_are_graded_as_in_the_phase2_trial(capsys):
    """McClung 2014's 210 mg monthly arm (LS +11.3%, tolerance of the targets file): the CLI's
    210 mg lies in its window; 70 mg monthly and both every-3-months arms lie clearly below it
    (under the window's lower edge), 140 mg monthly in between: a graded exposure-response."""
    from moasim.validate import load_targets

    arm = load_targets()["romosozumab_ls_bmd_12m_phase2"]
    lower, upper = arm["value"] - arm["tolerance"]["abs"], arm["value"] + arm["tolerance"]["abs"]
    ls = {(d, e): _cli_ls_12m(d, e, capsys) for d, e in (("70 mg", "1 month"), ("140 mg", "1 month"), ("210 mg", "1 month"),
                                                        ("140 mg", "3 months"), ("210 mg", "3 months"))}
    assert lower <= ls[("210 mg", "1 month")] <= upper
    assert 0 < ls[("70 mg", "1 month")] < lower
    assert ls[("70 mg", "1 month")] < ls[("140 mg", "1 month")] < ls[("210 mg", "1 month")]
    for d in ("140 mg", "210 mg"):
        assert 0 < ls[(d, "3 months")] < min(lower, ls[(d, "1 month")]), d
