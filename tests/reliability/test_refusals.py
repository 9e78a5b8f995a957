"""Bad or unusual input: one line on stderr, exit 2, no traceback, nothing written (issue 10).

Each case was a traceback, a hang, a huge allocation or a silent default before; the
`limits` module documents the bounds.
"""

from __future__ import annotations

import os
import time

import pytest
import yaml

import moasim
from moasim.cli.main import main
from moasim.errors import MoasimError
from moasim.limits import MAX_DAYS, MAX_SPEC_DEPTH, MAX_SUBJECTS_PER_ARM

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
ROM = os.path.join(EXAMPLES, "romiplostim_24wk.yaml")

TRIAL = {
    "name": "t", "population": {"kind": "itp"}, "duration": "2 weeks",
    "arms": [{"name": "elt", "drug": "eltrombopag", "dose": "50 mg", "every": "1 day"}, {"name": "placebo", "drug": "none"}],
    "endpoints": [{"name": "r", "kind": "responder", "threshold": 50, "at": "2 weeks"}],
}


def _spec(tmp_path, **changes) -> str:
    d = yaml.safe_load(yaml.safe_dump(TRIAL))
    for k, v in changes.items():
        if k.startswith("arm0_"):
            d["arms"][0][k[5:]] = v
        else:
            d[k] = v
    f = tmp_path / "spec.yaml"
    f.write_text(yaml.safe_dump(d))
    return str(f)


def refused(argv, capsys, tmp_path, needle: str) -> str:
    """Run the CLI in tmp_path; assert exit 2, one stderr line containing ``needle``, no new file."""
    before = set(os.listdir(tmp_path))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        t0 = time.monotonic()
        code = main(argv)
        elapsed = time.monotonic() - t0
    finally:
        os.chdir(cwd)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (argv, out, err)
    assert len(lines) == 1 and needle in lines[0], lines
    assert "Traceback" not in err and out == ""
    assert set(os.listdir(tmp_path)) == before, "a refused command wrote a file"
    assert elapsed < 30, f"refusal took {elapsed:.0f} s"
    return lines[0]


@pytest.mark.parametrize("argv,needle", [
    (["simulate", "--drug", "", "--dose", "3 mg", "--days", "7"], "--drug"),
    (["simulate", "--drug", "  ", "--dose", "3 mg", "--days", "7"], "--drug"),
    (["simulate", "--drug", "romiplostim", "--dose", "", "--days", "7"], "--dose"),
    (["simulate", "--drug", "eltrombopag", "--dose", "50 mg", "--every", "1 s", "--days", "7"], "interval >= 1 hour"),
    (["simulate", "--drug", "romiplostim", "--dose", "1e300 ug/kg", "--days", "7"], "100 mg/kg"),
    (["simulate", "--drug", "eltrombopag", "--dose", "1e30 mg", "--days", "7"], "10 g"),
    (["simulate", "--drug", "romosozumab", "--dose", "210 mg", "--every", "1 min"], "interval >= 1 hour"),
    (["simulate", "--drug", "romiplostim", "--dose", "3 ug/kg", "--days", "1e9"], "(0, 3650]"),
    (["simulate", "--drug", "romiplostim", "--dose", "3 ug/kg", "--out", "/sys/x.csv"], "writable"),
    (["simulate", "--drug", "romiplostim", "--dose", "3 ug/kg", "--out", "."], "--out"),
    (["export", "sbml", "--drug", "romiplostim", "-o", "/sys/x.xml"], "writable"),
    (["export", "sbml", "--drug", "eltrombopag", "--dose", "50 mg", "--every", "1 s", "-o", "x.xml"], "1 hour"),
    # accepted and ignored before (a probe of the CLI as a new user)
    (["export", "sbml", "--drug", "eltrombopag", "--every", "1 day", "-o", "x.xml"], "--every"),
    (["export", "sbml", "--drug", "eltrombopag", "--route", "oral", "-o", "x.xml"], "--route"),
    (["export", "sbml", "--drug", "eltrombopag", "--days", "10", "-o", "x.xml"], "--days"),
    (["export", "sbml", "--drug", "romosozumab", "--population", "itp", "-o", "x.xml"], "--population"),
    (["simulate", "--drug", "romiplostim", "--dose", "3 ug/kg", "--count", "3", "--days", "7"], "--count"),
    (["simulate", "--drug", "romiplostim", "--dose", "3 ug/kg", "--dv", "tpo", "--days", "7"], "--dv"),
    (["fit", "dose-response", os.path.join(EXAMPLES, "lab", "ctg.csv"), "--group", "compound", "--out", "/sys/x.csv"], "writable"),
    (["trial", ROM, "--out", "/sys/x"], "writable"),
    (["trial", ROM, "--n", "10000000000"], "subjects per arm"),
    (["trial", ROM, "--scheduler", "not-an-address"], "--scheduler"),
    (["trial", ROM, "--scheduler", "tcp://127.0.0.1:1"], "no answer"),
])
def test_cli_refuses(argv, needle, capsys, tmp_path):
    refused(argv, capsys, tmp_path, needle)


def test_trial_out_pointing_at_a_file(capsys, tmp_path):
    f = tmp_path / "results.txt"
    f.write_text("keep me")
    refused(["trial", ROM, "--out", str(f)], capsys, tmp_path, "existing file")
    assert f.read_text() == "keep me"


@pytest.mark.parametrize("change,needle", [
    ({"duration": "1e9 weeks"}, "(0, 3650]"),
    ({"n": 10_000_000_000}, "subjects per arm"),
    ({"n": MAX_SUBJECTS_PER_ARM, "replicates": 100}, "n x replicates x arms"),
    ({"arm0_every": "1 s"}, "interval >= 1 hour"),
    ({"arm0_dose": "1e300 mg"}, "10 g"),
    ({"arm0_drug": ""}, "arms[0].drug"),
    ({"name": " "}, "name"),
    ({"visits": "12 h"}, "whole number of days"),
])
def test_trial_spec_limits(change, needle, capsys, tmp_path):
    path = _spec(tmp_path, **change)
    os.rename(path, tmp_path.parent / f"{tmp_path.name}-spec.yaml")  # keep tmp_path itself empty
    refused(["trial", str(tmp_path.parent / f"{tmp_path.name}-spec.yaml"), "--out", "out"], capsys, tmp_path, needle)


def test_deeply_nested_yaml_is_refused_before_parsing(capsys, tmp_path):
    spec = tmp_path.parent / f"{tmp_path.name}-deep.yaml"
    spec.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    line = refused(["trial", str(spec)], capsys, tmp_path, f"nested at most {MAX_SPEC_DEPTH} levels")
    assert "line 1" in line


def test_oversized_spec_is_refused(capsys, tmp_path):
    spec = tmp_path.parent / f"{tmp_path.name}-big.yaml"
    spec.write_text("name: x\n" + "# pad\n" * 300_000)
    refused(["trial", str(spec)], capsys, tmp_path, "KiB")


def test_api_refuses_empty_drug_and_bare_number_dose():
    with pytest.raises(MoasimError, match="drug"):
        moasim.simulate("", "3 mg", days=7)
    with pytest.raises(MoasimError, match="a number with a unit"):
        moasim.simulate("romiplostim", 3.0, days=7)
    with pytest.raises(MoasimError, match=r"\(0, 3650\]"):
        moasim.simulate("romiplostim", "3 ug/kg", days=MAX_DAYS + 1)


def test_romosozumab_is_in_the_catalogue_and_in_allowed_lists(capsys):
    assert main(["drugs", "--json"]) == 0
    import json

    drugs = json.loads(capsys.readouterr().out)["drugs"]
    assert {"romiplostim", "eltrombopag", "hetrombopag", "avatrombopag", "tpo", "romosozumab", "denosumab", "alendronate"} <= set(drugs)
    assert drugs["romosozumab"]["parameters"]["F_rsz"]["source"]
    with pytest.raises(MoasimError, match="romosozumab"):
        moasim.simulate("no-such-drug", "3 mg", days=7)


def test_export_takes_json(capsys, tmp_path):
    out = tmp_path / "rom.xml"
    assert main(["export", "sbml", "--drug", "romiplostim", "--dose", "3 ug/kg", "--every", "1 week", "-o", str(out), "--json"]) == 0
    import json

    d = json.loads(capsys.readouterr().out)
    assert d["output"] == str(out) and d["dose_events"] == 4 and out.exists()


def test_run_trial_at_top_level_and_result_immutable():
    d = yaml.safe_load(yaml.safe_dump(TRIAL))
    d["n"] = 3
    res = moasim.run_trial(d, progress=False, workers=1)
    assert res.out_dir is None
    assert set(res.arms) == {"elt", "placebo"}
    with pytest.raises(TypeError):
        res.arms["elt"]["n"] = 5
    with pytest.raises(TypeError):
        res.arms["elt"]["endpoints"]["r"]["ci95"][0] = 0.0
    with pytest.raises(AttributeError):
        res.seed = 3
