"""Lusutrombopag, added as one drug module (issue 12's proof of the drug registry).

Published values (Mulpleta label via Lexicomp, R): tmax 6-8 h, half-life ~27 h, median time to
the maximum platelet count 12 days (range 5-35) after 3 mg once daily for 7 days. The drug has
no label titration rule, so titration is refused with the one-line error (exit 2).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from moasim.cli.main import main
from moasim.simulation import simulate


def test_pk_tmax_and_half_life_within_the_label():
    r = simulate("lusutrombopag", "3 mg", days=10, population="healthy", samples_per_day=24)
    t, c = np.asarray(r.time), np.asarray(r.outputs["drug_concentration"])
    assert 6.0 <= 24 * t[np.argmax(c)] <= 8.0  # label: tmax 6-8 h
    late = (t > 4) & (t < 9)
    half_life_h = 24 * np.log(2) / -np.polyfit(t[late], np.log(c[late]), 1)[0]
    assert half_life_h == pytest.approx(27.0, rel=0.05)  # label: ~27 h


def test_a_7_day_course_raises_platelets_with_the_labelled_timing():
    """3 mg x 7 days in a healthy subject: a rise, peaking within the label's 5-35 days (median 12)."""
    s = simulate("lusutrombopag", "3 mg", every="1 day", count=7, days=35, population="healthy").summary()
    assert s["peak_fold"] > 1.1
    assert 5.0 <= s["peak_day"] <= 35.0


def _run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_drugs_and_simulate(capsys):
    code, out, _ = _run(["drugs", "--json"], capsys)
    d = json.loads(out)["drugs"]["lusutrombopag"]
    assert code == 0 and d["binding_site"] == "transmembrane" and d["routes"] == ["oral"]
    assert all(p["tag"] != "U" for p in d["parameters"].values())
    code, out, _ = _run(["simulate", "--drug", "lusutrombopag", "--dose", "3 mg", "--every", "1 day", "--days", "14", "--json"], capsys)
    assert code == 0 and max(json.loads(out)["outputs"]["drug_concentration"]) > 0


def test_cli_label_titration_is_refused_in_one_line(capsys):
    code, out, err = _run(["simulate", "--drug", "lusutrombopag", "--population", "itp", "--titration", "label"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Invalid titration for lusutrombopag" in err and "Traceback" not in err


def test_cli_trial(tmp_path, capsys):
    spec = tmp_path / "lus.yaml"
    spec.write_text("name: lusutrombopag-itp\npopulation: {kind: itp, baseline_platelets: {min: 3, max: 30}}\n"
                    "duration: 21 days\nvisits: weekly\nn: 4\nseed: 7\n"
                    "arms:\n  - {name: lusutrombopag 3 mg, drug: lusutrombopag, dose: 3 mg, every: 1 day}\n"
                    "endpoints:\n  - {name: responder_d14, kind: responder, threshold: 50, at: 14 days}\n")
    code, out, _ = _run(["trial", str(spec), "--workers", "1", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["arms"]["lusutrombopag 3 mg"]["n"] == 4


def test_cli_invitro_proliferation(capsys):
    code, out, _ = _run(["invitro", "proliferation", "--drug", "lusutrombopag", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["ec50_nM"] > 0
