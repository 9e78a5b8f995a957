"""CLI contract of ``moasim invitro``."""

import json

from moasim.cli.main import main


def test_proliferation_json_contract(capsys, tmp_path):
    png = tmp_path / "dr.png"
    assert main(["invitro", "proliferation", "--drug", "hetrombopag", "--cells", "32D-MPL", "--json", "--plot", str(png)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["drug"] == "hetrombopag" and out["cells"] == "32D-MPL"
    assert isinstance(out["ec50_nM"], float) and len(out["ci95"]) == 2
    assert out["ci95"][0] < out["ec50_nM"] < out["ci95"][1]
    assert {"estimates", "se", "ci95"} <= set(out["fit"])
    assert png.stat().st_size > 1000


def test_differentiation_and_signaling_json(capsys):
    assert main(["invitro", "differentiation", "--drug", "tpo", "--json", "--events", "5000"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["markers_percent"]["CD41+"] > 90 and set(d["ploidy_fractions_cd41"]) == {"2N", "4N", "8N", "16N", "32N", "64N"}
    assert main(["invitro", "signaling", "--drug", "eltrombopag", "--conc", "100 nM", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["concentration_nM"] == 100.0 and max(s["peak_min"].values()) <= 30


def test_bad_input_exits_2_with_one_line(capsys):
    assert main(["invitro", "proliferation", "--drug", "foo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Unknown drug 'foo'" in err
    assert main(["invitro", "differentiation", "--drug", "tpo", "--cells", "32D-MPL"]) == 2
    assert main(["invitro", "signaling", "--drug", "tpo", "--conc", "5 mg"]) == 2
    assert main(["invitro", "proliferation", "--drug", "tpo", "--plot", "out.txt"]) == 2
    assert "--plot" in capsys.readouterr().err
