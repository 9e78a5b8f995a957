"""NONMEM-style event datasets (issue 16): event semantics against closed-form PK.

Independent truths: one- and two-compartment superposition written out here (Gibaldi &
Perrier, Pharmacokinetics 2nd ed., ch. 1-3: Bateman function, bi-exponential disposition,
zero-order input, and the geometric-series steady state sum_k e^(-lambda (t + k tau)) =
e^(-lambda t)/(1 - e^(-lambda tau))), with the model's own PK parameter values. The models
are solved at rtol 1e-10, so agreement is asked to 1e-6 relative.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moasim import simulate
from moasim.errors import DataError
from moasim.event_data import simulate_dataset
from moasim.library.build import Subject, build_model

TIGHT = dict(rtol=1e-10, atol=1e-12)
COLS = ["ID", "TIME", "EVID", "AMT", "CMT", "RATE", "II", "ADDL", "SS", "DV", "MDV"]


def frame(rows, cols=COLS, sort=True) -> pd.DataFrame:
    """Rows as a dataset (sorted by ID then TIME, as NONMEM wants them, unless ``sort`` is False)."""
    if sort:
        rows = sorted(rows, key=lambda r: (r[0], float(r[1])))
    return pd.DataFrame([dict(zip(cols, r)) for r in rows], columns=cols).astype(str)


def obs(times_h, id_=1):
    return [[id_, t, 0, 0, ".", 0, 0, 0, 0, ".", 1] for t in times_h]


def conc_at(res, times_h, sid=1):
    r = res.subjects[sid]
    t = np.asarray(r.time) * 24.0
    idx = [int(np.argmin(abs(t - x))) for x in times_h]
    assert np.allclose(t[idx], times_h, atol=1e-9)
    return np.asarray(r.outputs["drug_concentration"])[idx]


# ------------------------------------------------------------------ one compartment (lusutrombopag)
@pytest.fixture(scope="module")
def lus():
    p = build_model(("lusutrombopag",), Subject()).parameter_values  # model units: L, L/day, 1/day
    v, k, ka = p["V_lus"], p["CL_lus"] / p["V_lus"] / 24.0, p["KA_lus"] / 24.0  # per hour
    return v, k, ka


def bateman(t, dose_ug, v, k, ka):
    t = np.asarray(t, float)
    c = dose_ug / v * ka / (ka - k) * (np.exp(-k * t) - np.exp(-ka * t))
    return np.where(t >= 0, c, 0.0)


TIMES = [1.0, 5.5, 12.0, 23.0, 30.0, 71.0, 100.0, 150.0, 167.0, 200.0]


def test_addl_ii_oral_matches_superposition(lus):
    v, k, ka = lus
    res = simulate_dataset(frame([[1, 0, 1, 3, ".", 0, 24, 6, 0, ".", 1]] + obs(TIMES)), "lusutrombopag", **TIGHT)
    want = sum(bateman(np.array(TIMES) - 24.0 * j, 3000.0, v, k, ka) for j in range(7))
    assert np.allclose(conc_at(res, TIMES), want, rtol=1e-6)
    assert len(res.subjects[1].doses) == 7


def test_iv_bolus_and_infusion_into_central(lus):
    v, k, _ = lus
    t = np.array(TIMES)
    bolus = simulate_dataset(frame([[1, 0, 1, 3, "CENT_lus", 0, 0, 0, 0, ".", 1]] + obs(TIMES)), "lusutrombopag", **TIGHT)
    assert np.allclose(conc_at(bolus, TIMES), 3000.0 / v * np.exp(-k * t), rtol=1e-6)
    # 3 mg at 0.5 mg/h: 6 h zero-order input (CMT by number: 2 = CENT_lus)
    inf = simulate_dataset(frame([[1, 0, 1, 3, 2, 0.5, 0, 0, 0, ".", 1]] + obs(TIMES)), "lusutrombopag", **TIGHT)
    r, dur = 500.0, 6.0
    want = np.where(t <= dur, r / (k * v) * (1 - np.exp(-k * t)), r / (k * v) * (1 - np.exp(-k * dur)) * np.exp(-k * (t - dur)))
    assert np.allclose(conc_at(inf, TIMES), want, rtol=1e-6)


def test_ss1_oral_is_the_geometric_sum(lus):
    v, k, ka = lus
    tau = 24.0
    # SS=1 dose at 48 h (after an unrelated earlier dose, which SS=1 discards), no further doses
    rows = [[1, 0, 1, 9, ".", 0, 0, 0, 0, ".", 1], [1, 48, 1, 3, ".", 0, tau, 0, 1, ".", 1]] + obs([40.0, 48.0, 50.0, 60.0, 71.0, 100.0])
    res = simulate_dataset(frame(rows), "lusutrombopag", **TIGHT)

    def ss(s):  # every dose at 48 - k tau (k >= 0)
        return 3000.0 / v * ka / (ka - k) * (np.exp(-k * s) / (1 - np.exp(-k * tau)) - np.exp(-ka * s) / (1 - np.exp(-ka * tau)))

    got = conc_at(res, [50.0, 60.0, 71.0, 100.0])
    assert np.allclose(got[:3], ss(np.array([50.0, 60.0, 71.0]) - 48.0), rtol=1e-6)  # the interval after the SS dose
    # after the interval no more doses: the SS train decays (sum over doses at 48 - k tau, k >= 0)
    train = sum(bateman(100.0 - 48.0 + j * tau, 3000.0, v, k, ka) for j in range(400))
    assert got[3] == pytest.approx(train, rel=1e-6)
    # before the SS record, and at its time (an observation is taken before the events of its
    # time, as NONMEM reads an observation row placed before the dose row): the 9 mg single dose
    assert np.allclose(conc_at(res, [40.0, 48.0]), bateman(np.array([40.0, 48.0]), 9000.0, v, k, ka), rtol=1e-6)


def test_ss2_adds_the_steady_state_to_the_current_state(lus):
    v, k, ka = lus
    tau = 24.0
    rows = [[1, 0, 1, 9, ".", 0, 0, 0, 0, ".", 1], [1, 48, 1, 3, ".", 0, tau, 0, 2, ".", 1]] + obs([60.0])
    res = simulate_dataset(frame(rows), "lusutrombopag", **TIGHT)
    train = sum(bateman(60.0 - 48.0 + j * tau, 3000.0, v, k, ka) for j in range(400))
    assert conc_at(res, [60.0])[0] == pytest.approx(bateman(60.0, 9000.0, v, k, ka) + train, rel=1e-6)


def test_ss1_constant_infusion(lus):
    v, k, _ = lus
    cl = k * v  # L/h
    rows = [[1, 10, 1, 0, "CENT_lus", 0.2, 0, 0, 1, ".", 1]] + obs([5.0, 10.0, 20.0, 200.0])
    got = conc_at(simulate_dataset(frame(rows), "lusutrombopag", **TIGHT), [5.0, 10.0, 20.0, 200.0])
    assert got[0] == 0.0  # before the SS record: drug-free
    assert np.allclose(got[1:], 200.0 / cl, rtol=1e-6)  # Css = R/CL from the SS record on (infusion continues)


def test_resets_cancel_pending_doses(lus):
    v, k, ka = lus
    rows = [[1, 0, 1, 3, ".", 0, 24, 9, 0, ".", 1], [1, 60, 3, 0, ".", 0, 0, 0, 0, ".", 1]] + obs([59.0, 61.0, 100.0])
    got = conc_at(simulate_dataset(frame(rows), "lusutrombopag", **TIGHT), [59.0, 61.0, 100.0])
    assert got[0] == pytest.approx(sum(bateman(59.0 - 24 * j, 3000.0, v, k, ka) for j in range(3)), rel=1e-6)
    assert got[1] == 0.0 and got[2] == 0.0  # EVID 3: all states reset, the remaining ADDL doses cancelled
    rows = [[1, 0, 1, 3, ".", 0, 24, 9, 0, ".", 1], [1, 60, 4, 6, ".", 0, 0, 0, 0, ".", 1]] + obs([70.0])
    got = conc_at(simulate_dataset(frame(rows), "lusutrombopag", **TIGHT), [70.0])
    assert got[0] == pytest.approx(bateman(10.0, 6000.0, v, k, ka), rel=1e-6)  # EVID 4: reset, then this dose only


# ------------------------------------------------------------------ two compartments (eltrombopag, IV into CENT)
def _biexp(p):
    """Macro constants of the two-compartment model (per hour): unit-dose C(t) = A e^-al t + B e^-be t."""
    cl, v1, v2, q = p["CL_elt"] / 24, p["V2_elt"], p["V3_elt"], p["Q_elt"] / 24
    k10, k12, k21 = cl / v1, q / v1, q / v2
    s = k10 + k12 + k21
    al = (s + math.sqrt(s * s - 4 * k10 * k21)) / 2
    be = (s - math.sqrt(s * s - 4 * k10 * k21)) / 2
    a = (al - k21) / (v1 * (al - be))
    b = (k21 - be) / (v1 * (al - be))
    return a, al, b, be


def test_two_compartment_bolus_and_steady_state():
    a, al, b, be = _biexp(build_model(("eltrombopag",), Subject()).parameter_values)
    times = [0.5, 3.0, 11.0, 20.0]
    # SS=1 bolus 10 mg every 12 h into the central compartment (CMT 3), then the interval after it
    rows = [[1, 0, 1, 10, "CENT_elt", 0, 12, 0, 1, ".", 1]] + obs(times)
    got = conc_at(simulate_dataset(frame(rows), "eltrombopag", **TIGHT), times)
    tau = 12.0
    t = np.array(times)
    ss = 10000.0 * (a * np.exp(-al * t) / (1 - np.exp(-al * tau)) + b * np.exp(-be * t) / (1 - np.exp(-be * tau)))
    assert np.allclose(got, ss, rtol=1e-6)


# ------------------------------------------------------------------ the same regimen both ways
@pytest.mark.parametrize("drug,dose_mg", [("eltrombopag", 50.0), ("avatrombopag", 20.0)])
def test_dataset_equals_dose_every(drug, dose_mg):
    ref = simulate(drug, f"{dose_mg} mg", every="1 day", count=7, days=10, samples_per_day=4, population="itp")
    rows = [[1, 0, 1, dose_mg, ".", 0, 24, 6, 0, ".", 1]] + obs([240.0])
    res = simulate_dataset(frame(rows), drug, population="itp", days=10).subjects[1]
    assert np.array_equal(np.asarray(res.time), np.asarray(ref.time))
    for name in ("platelets", "drug_concentration", "tpo"):
        assert np.allclose(res.outputs[name], ref.outputs[name], rtol=1e-12, atol=0), name
    assert [d[0] for d in res.doses] == [d[0] for d in ref.doses]


# ------------------------------------------------------------------ properties
@settings(max_examples=12, deadline=None)
@given(amt=st.floats(0.1, 50.0), scale=st.sampled_from([("h", 1.0), ("min", 60.0), ("day", 1 / 24.0)]))
def test_dose_proportional_and_unit_invariant(amt, scale):
    unit, per_h = scale
    rows = [[1, 0, 1, amt, ".", 0, 24 * per_h, 2, 0, ".", 1]] + obs([t * per_h for t in (6.0, 30.0, 80.0)])
    got = conc_at(simulate_dataset(frame(rows), "lusutrombopag", time_unit=unit), [6.0, 30.0, 80.0])
    rows_ug = [[1, 0, 1, 1000.0, ".", 0, 24, 2, 0, ".", 1]] + obs([6.0, 30.0, 80.0])
    unit_dose = conc_at(simulate_dataset(frame(rows_ug), "lusutrombopag", amount_unit="ug"), [6.0, 30.0, 80.0])
    assert np.allclose(got, amt * unit_dose, rtol=1e-6)  # linear PK: concentration proportional to AMT (1 mg = 1000 ug)


def test_weight_based_amounts_use_wt():
    rows = [[1, 0, 1, 1, ".", 0, 0, 0, 0, ".", 1, 80], [1, 48, 0, 0, ".", 0, 0, 0, 0, ".", 1, 80]]
    res = simulate_dataset(frame(rows, COLS + ["WT"]), "romiplostim", route="sc", amount_unit="ug/kg")
    ref = simulate("romiplostim", "1 ug/kg", route="sc", days=2, samples_per_day=4, subject=Subject(weight_kg=80.0))
    assert np.allclose(res.subjects[1].outputs["drug_concentration"], ref.outputs["drug_concentration"], rtol=1e-10)


def test_several_ids_and_covariates():
    rows = [[1, 0, 1, 50, ".", 0, 24, 6, 0, ".", 1, 0], [1, 168, 0, 0, ".", 0, 0, 0, 0, 40, 0, 0],
            [2, 0, 1, 50, ".", 0, 24, 6, 0, ".", 1, 1], [2, 168, 0, 0, ".", 0, 0, 0, 0, 40, 0, 1]]
    res = simulate_dataset(frame(rows, COLS + ["EA"]), "eltrombopag", population="itp")
    c1, c2 = (np.max(res.subjects[i].outputs["drug_concentration"]) for i in (1, 2))
    assert c2 / c1 > 1.3  # East Asian: lower CL/F (Gibiansky 2011), higher exposure
    d = res.to_json_dict()
    assert set(d["subjects"]) == {"1", "2"} and d["id"] == 1
    assert d["observations"][0]["dv"] == 40.0 and d["observations"][0]["pred"] > 0


# ------------------------------------------------------------------ bad datasets: one line naming row and column
BAD = [
    (frame([[1, 0, 1, 3, ".", 0, 0, 0, 0, ".", 1]], ["ID", "TIM", "EVID", "AMT", "CMT", "RATE", "II", "ADDL", "SS", "DV", "MDV"]), "TIME"),
    (frame([[1, -1, 1, 3, ".", 0, 0, 0, 0, ".", 1]]), "data row 1, column TIME"),
    (frame([[1, 5, 1, 3, ".", 0, 0, 0, 0, ".", 1], [1, 2, 0, 0, ".", 0, 0, 0, 0, ".", 1]], sort=False), "data row 2, column TIME"),
    (frame([[1, 0, 1, 3, "LIVER", 0, 0, 0, 0, ".", 1]]), "data row 1, column CMT"),
    (frame([[1, 0, 1, "3mg", ".", 0, 0, 0, 0, ".", 1]]), "data row 1, column AMT"),
    (frame([[1, 0, 1, 3, ".", 0, 0, 0, 0, ".", 1], [2, 0, 0, 0, ".", 0, 0, 0, 0, ".", 1], [1, 5, 0, 0, ".", 0, 0, 0, 0, ".", 1]], sort=False),
     "data row 3, column ID"),
    (frame([[1, 0, 1, 3, "CENT_lus", -1, 0, 0, 0, ".", 1]]), "data row 1, column RATE"),
    (frame([[1, 0, 7, 3, ".", 0, 0, 0, 0, ".", 1]]), "data row 1, column EVID"),
    (frame([[1, 0, 1, 3, ".", 0, 0, 2, 0, ".", 1]]), "data row 1, column II"),
    (frame([[1, 0, 1, 3, ".", 0, 0.5, 2, 0, ".", 1]]), "data row 1, column II"),  # 0.5 h: accepted before; --every needs >= 1 h
    (frame([[1, 0, 1, 3, ".", 0, 0, 0, 3, ".", 1]]), "data row 1, column SS"),
    (frame([[1, 0, 1, 3, ".", 1, 0, 0, 0, ".", 1]]), "data row 1, column RATE"),  # infusion into the oral gut
]


@pytest.mark.parametrize("data,where", BAD)
def test_bad_datasets_are_refused_in_one_line(data, where):
    with pytest.raises(DataError) as e:
        simulate_dataset(data, "lusutrombopag")
    msg = str(e.value)
    assert where in msg and "\n" not in msg


@pytest.mark.parametrize("header", ["ID,TIME,AMT,DV,EVID,DV", "ID,TIME,AMT,dv,EVID,DV"])
def test_a_repeated_column_is_refused(tmp_path, header):
    """pandas renamed a second DV to DV.1 (the first was read) and the case-insensitive lookup
    kept the last of dv/DV: the record's counts were silently one of two columns."""
    path = tmp_path / "dup.csv"
    path.write_text(header + "\n1,0,3,.,1,.\n1,24,.,20,0,400\n")
    with pytest.raises(DataError) as e:
        simulate_dataset(str(path), "lusutrombopag")
    assert "column header" in str(e.value) and "DV" in str(e.value).upper()
    with pytest.raises(DataError):  # a data frame with both spellings, too
        simulate_dataset(pd.DataFrame([["1", "0", "3", ".", "1", "."], ["1", "24", ".", "20", "0", "400"]], columns=header.split(",")),
                         "lusutrombopag")


# ------------------------------------------------------------------ datasets out
def test_written_dataset_is_read_by_pharmpy_and_rereads_identically(tmp_path):
    pm = pytest.importorskip("pharmpy.modeling")
    from moasim.io.nonmem import dataset_frame

    ref = simulate("romiplostim", None, route="sc", days=56, population="itp", titration="label")  # doses after titration, ug/kg
    path = tmp_path / "out.csv"
    dataset_frame({7: ref}).to_csv(path, index=False)
    model = pm.create_basic_pk_model("iv", dataset_path=str(path))  # Pharmpy's NONMEM dataset reader
    assert pm.get_number_of_individuals(model) == 1
    assert pm.get_number_of_observations(model) == len(ref.time)
    doses = pm.get_doses(model)
    assert np.allclose(doses.index.get_level_values("TIME"), [d[0] * 24 for d in ref.doses])
    assert np.allclose(doses.to_numpy(), [a * ref.subject.weight_kg / 1000 for _, _, a, _ in ref.doses])  # ug/kg -> mg
    back = simulate_dataset(str(path), "romiplostim", route="sc", population="itp").subjects[7]
    t = np.asarray(back.time)
    idx = np.searchsorted(t, np.asarray(ref.time) - 1e-9)
    assert np.allclose(t[idx], ref.time, atol=1e-9)
    assert np.allclose(np.asarray(back.outputs["platelets"])[idx], ref.outputs["platelets"], rtol=1e-7)


def test_cli_dataset_json_and_one_line_errors(tmp_path, capsys):
    from moasim.cli.main import main

    path = tmp_path / "d.csv"
    frame([[1, 0, 1, 3, ".", 0, 24, 6, 0, ".", 1], [1, 48, 0, 0, ".", 0, 0, 0, 0, 260, 0],
           [2, 0, 1, 3, 2, 0, 0, 0, 0, ".", 1], [2, 24, 0, 0, ".", 0, 0, 0, 0, 250, 0]]).to_csv(path, index=False)
    assert main(["simulate", "--drug", "lusutrombopag", "--data", str(path), "--json"]) == 0
    import json

    d = json.loads(capsys.readouterr().out)
    assert set(d["subjects"]) == {"1", "2"} and {"time_days", "outputs", "units", "doses"} <= set(d)
    assert [o["dv"] for o in d["subjects"]["2"]["observations"]] == [250.0]
    bad = tmp_path / "bad.csv"
    frame([[1, 0, 1, "abc", ".", 0, 0, 0, 0, ".", 1]]).to_csv(bad, index=False)
    out = tmp_path / "never.csv"
    assert main(["simulate", "--drug", "lusutrombopag", "--data", str(bad), "--out", str(out), "--format", "nonmem"]) == 2
    err = capsys.readouterr().err.strip()
    assert "data row 1, column AMT" in err and "\n" not in err and not out.exists()
    assert main(["simulate", "--drug", "lusutrombopag", "--data", str(path), "--dose", "3 mg"]) == 2


def test_trial_datasets_out_are_read_by_pharmpy_and_resimulate_the_trial(tmp_path, capsys):
    """`moasim trial --out-format nonmem`: one dataset per arm with the doses after titration. With
    no IIV, fluctuation, assay error or non-response, a trial subject is the typical patient of her
    covariates and drug-free count, so re-reading her record (WT, SEX, SPLEN, CORT, PRIOR, PLT0
    and the administered doses) with the per-subject engine must give the trial's counts at every
    visit (batched RODAS4 in the trial, CVODE here: rtol 1e-4); Pharmpy reads the same file."""
    import pandas as pd

    from moasim.cli.main import main

    spec = tmp_path / "t.yaml"
    spec.write_text("""name: datasets-out
population: {kind: itp, baseline_platelets: {min: 3, max: 15}, splenectomy: 0, iiv: false, residual_sd: 0, fluctuation: {sd: 0}, non_responder: 0}
duration: 6 weeks
visits: weekly
n: 3
seed: 5
arms:
  - {name: romiplostim, drug: romiplostim, route: sc, every: 1 week, titration: label}
  - {name: placebo, drug: none}
endpoints:
  - {name: ever_responder, kind: ever_responder, threshold: 50}
""")
    out = tmp_path / "out"
    assert main(["trial", str(spec), "--out", str(out), "--out-format", "nonmem", "--engine", "batched"]) == 0
    capsys.readouterr()
    path = out / "nonmem" / "arm000.csv"
    d = pd.read_csv(path)
    doses = d[d["EVID"] == 1]
    assert doses["AMT"].nunique() > 1  # the label rule changed the dose (titration is in the record)
    back = simulate_dataset(str(path), "romiplostim", route="sc", population="itp")
    for sid, obs in back.observations.items():
        rows = d[(d["ID"] == sid) & (d["EVID"] == 0)]
        assert len(obs) == len(rows) == 7
        assert np.allclose([o["pred"] for o in obs], rows["PRED_PLT"].astype(float), rtol=1e-4)
        assert np.allclose(rows["DV"].astype(float), rows["PRED_PLT"].astype(float), rtol=1e-12)  # no assay error
    pm = pytest.importorskip("pharmpy.modeling")
    model = pm.create_basic_pk_model("iv", dataset_path=str(path))
    assert pm.get_number_of_individuals(model) == 3 and pm.get_number_of_observations(model) == 21
    assert np.allclose(pm.get_doses(model).to_numpy(), doses["AMT"])
    assert main(["trial", str(spec), "--out-format", "nonmem"]) == 2  # needs --out
    assert "--out-format" in capsys.readouterr().err


def test_cli_count_limits_the_doses_to_the_superposition_of_count(lus, capsys):
    """`moasim simulate --every 1 day --count 7`: seven 3 mg oral doses, then washout; the
    concentration is the Bateman superposition of exactly seven doses (closed form, 1e-6);
    --count is refused with --titration and with --data."""
    import json

    from moasim.cli.main import main

    v, k, ka = lus
    assert main(["simulate", "--drug", "lusutrombopag", "--dose", "3 mg", "--every", "1 day", "--count", "7", "--days", "12", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    t_h = np.asarray(d["time_days"]) * 24.0
    want = sum(bateman(t_h - 24.0 * j, 3000.0, v, k, ka) for j in range(7))
    assert len(d["doses"]) == 7
    assert np.allclose(d["outputs"]["drug_concentration"], want, rtol=1e-6, atol=1e-9 * want.max())
    assert main(["simulate", "--drug", "romiplostim", "--titration", "label", "--count", "3"]) == 2
    assert "--count" in capsys.readouterr().err
    assert main(["simulate", "--drug", "lusutrombopag", "--data", "x.csv", "--count", "3"]) == 2
    assert "--count" in capsys.readouterr().err
