"""CLI contracts of ``moasim fit dose-response`` (and flow/blot when present)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from moasim.cli.main import main


def _write_dr(path, seed=1):
    rng = np.random.default_rng(seed)
    rows = []
    for g, ec in (("eltrombopag", 30.0), ("romiplostim", 3.0)):
        for c in np.r_[0.0, np.geomspace(0.1, 1000, 9)]:
            for _ in range(3):
                mu = 1000 + 9000 / (1 + (ec / c) ** 1.1) if c > 0 else 1000.0
                rows.append({"compound": g, "concentration": c, "response": mu + rng.normal(0, 200)})
    pd.DataFrame(rows).to_csv(path, index=False)


def test_fit_dose_response_json_contract(tmp_path, capsys):
    f = tmp_path / "dr.csv"
    _write_dr(f)
    assert main(["fit", "dose-response", str(f), "--group", "compound", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    obj = json.loads(out)
    for g in ("eltrombopag", "romiplostim"):
        grp = obj["groups"][g]
        for key in ("bottom", "top", "ec50", "hill"):
            assert key in grp["estimates"] and key in grp["se"] and len(grp["ci95"][key]) == 2
    rp = obj["relative_potency"]["romiplostim"]
    assert rp["ci95"][0] < 10 < rp["ci95"][1]
    assert 20 < obj["groups"]["eltrombopag"]["estimates"]["ec50"] < 45  # file's unit (nM)


def test_fit_dose_response_5pl_human_plot_and_table(tmp_path, capsys):
    f = tmp_path / "dr.csv"
    _write_dr(f)
    png, csv = tmp_path / "curve.png", tmp_path / "params.csv"
    assert main(["fit", "dose-response", str(f), "--model", "5pl", "--group", "compound", "--plot", str(png), "--out", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "asymmetry" in out and "relative potency" in out
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert set(pd.read_csv(csv)["parameter"]) == {"bottom", "top", "ec50", "hill", "asymmetry"}


@pytest.mark.parametrize(
    "content, extra",
    [
        ("", []),
        ("concentration,response\n1,2\n", ["--model", "7pl"]),
        ("concentration,response\n-1,2\n2,3\n3,4\n4,5\n5,6\n", []),
        ("conc,resp\n1,2\n", []),
        ("concentration,response\n1,2\n2,3\n", []),
        ("\x00\x01\x02garbage\xff", []),
        # a non-finite held bottom: "no convergence" with exit 1, or numpy warnings (before)
        ("concentration,response\n0,1\n1,2\n2,3\n4,5\n8,6\n", ["--fix-bottom", "nan"]),
        ("concentration,response\n0,1\n1,2\n2,3\n4,5\n8,6\n", ["--fix-bottom", "inf"]),
        # a repeated header: pandas renamed the second 'response' to 'response.1' and the fit used the first
        ("concentration,response,response\n0,1,9\n1,2,8\n2,3,7\n4,5,5\n8,6,4\n", []),
    ],
)
def test_fit_dose_response_bad_input_one_line_exit_2(tmp_path, capsys, content, extra):
    f = tmp_path / "bad.csv"
    f.write_text(content, encoding="latin-1")
    png = tmp_path / "never.png"
    assert main(["fit", "dose-response", str(f), "--plot", str(png), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("moasim: error: ") and err.count("\n") == 1
    assert not png.exists()


def test_fit_dose_response_compare_models(tmp_path, capsys):
    f = tmp_path / "dr.csv"
    _write_dr(f)
    assert main(["fit", "dose-response", str(f), "--group", "compound", "--compare", "5pl", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    mc = obj["model_comparison"]["eltrombopag"]
    assert mc["reduced"] == "4pl" and mc["full"] == "5pl" and mc["df_num"] == 1
    assert main(["fit", "dose-response", str(f), "--compare", "4pl"]) == 2


def test_ungrouped_fit_of_a_grouped_table_says_so(tmp_path, capsys):
    """Two compounds in one table without --group: one pooled curve, and a note naming the
    column (it was silently ignored: EC50 2.6 between two compounds 30-fold apart)."""
    f = tmp_path / "dr.csv"
    _write_dr(f)
    assert main(["fit", "dose-response", str(f), "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert any("'compound'" in n and "--group compound" in n for n in notes), notes
    assert main(["fit", "dose-response", str(f), "--group", "compound", "--json"]) == 0
    assert not any("not used" in n for n in json.loads(capsys.readouterr().out)["notes"])


def test_repeated_header_in_an_excel_sheet_is_refused(tmp_path, capsys):
    f = tmp_path / "dup.xlsx"
    pd.DataFrame([[0, 1, 9], [1, 2, 8], [2, 3, 7], [4, 5, 5], [8, 6, 4]]).to_excel(
        f, header=["concentration", "response", "response"], index=False)
    assert main(["fit", "dose-response", str(f)]) == 2
    assert "response" in capsys.readouterr().err
