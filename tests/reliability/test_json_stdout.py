"""stdout holds only the command's own output: one JSON document with --json, for a trial of
every drug (issue 10: an avatrombopag trial printed 7,700 CVODE warnings before its JSON)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

import moasim
from moasim.library.drugs import DRUGS

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def _cli(*argv, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "moasim.cli.main", *argv], capture_output=True, text=True, cwd=cwd, timeout=600)


def _one_json(stdout: str) -> dict:
    doc, end = json.JSONDecoder().raw_decode(stdout)
    assert stdout[end:].strip() == "", f"more than one JSON document on stdout: {stdout[end:end + 200]!r}"
    return doc


def test_trial_of_every_platelet_drug_prints_only_json(tmp_path):
    # the case (ITP, baseline <= 30, 8 days, daily visits, daily oral dosing) with every drug as an arm
    arms = [{"name": "avatrombopag 20 mg", "drug": "avatrombopag", "dose": "20 mg", "every": "1 day"},
            {"name": "eltrombopag 50 mg", "drug": "eltrombopag", "dose": "50 mg", "every": "1 day"},
            {"name": "hetrombopag 7.5 mg", "drug": "hetrombopag", "dose": "7.5 mg", "every": "1 day"},
            {"name": "romiplostim 3 ug/kg", "drug": "romiplostim", "dose": "3 ug/kg", "every": "1 week"},
            {"name": "rhTPO 1 ug/kg", "drug": "tpo", "dose": "1 ug/kg", "every": "1 day"},
            {"name": "placebo", "drug": "none"}]
    # drugs added to the registry later: one daily arm at one unit of their first dose unit
    arms += [{"name": f"{n} daily", "drug": n, "dose": f"1 {d.dose_units[0]}", "every": "1 day"}
             for n, d in DRUGS.items() if n not in {a["drug"] for a in arms}]
    assert {a["drug"] for a in arms} - {"none"} == set(DRUGS)
    spec = {"name": "every-drug", "population": {"kind": "itp", "baseline_platelets": {"max": 30}}, "duration": "8 days",
            "visits": "daily", "arms": arms, "endpoints": [{"name": "r", "kind": "responder", "threshold": 50, "at": "8 days"}]}
    f = tmp_path / "spec.yaml"
    f.write_text(yaml.safe_dump(spec))
    p = _cli("trial", str(f), "--n", "3", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    doc = _one_json(p.stdout)
    assert set(doc["arms"]) == {a["name"] for a in arms}
    assert "t + h = t" not in p.stderr, "the solver's step collapse is fixed, not only hidden"


def test_bone_trial_prints_only_json(tmp_path):
    p = _cli("trial", os.path.join(EXAMPLES, "romosozumab_bone_trial.yaml"), "--n", "2", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "ls_bmd_12m" in next(iter(_one_json(p.stdout)["arms"].values()))["endpoints"]


@pytest.mark.parametrize("argv", [
    ["simulate", "--drug", "avatrombopag", "--dose", "20 mg", "--every", "1 day", "--days", "8", "--population", "itp", "--json"],
    ["simulate", "--drug", "romosozumab", "--dose", "210 mg", "--every", "1 month", "--days", "60", "--json"],
    ["drugs", "--json"],
])
def test_other_commands_print_only_json(argv, tmp_path):
    p = _cli(*argv, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    _one_json(p.stdout)


def test_native_writes_to_stdout_go_to_the_log_not_stdout(tmp_path):
    """Whatever a C library writes to descriptor 1 during a command is logged (shown with --verbose)."""
    code = ("import os, sys\n"
            "from moasim.cli import main as m\n"
            "def noisy(args):\n"
            "    os.write(1, b'[WARNING] native noise\\n')\n"
            "    print('{\"ok\": true}')\n"
            "    return 0\n"
            "m._COMMAND_MODULES = ()\n"
            "p = m.build_parser\n"
            "def build():\n"
            "    parser = p()\n"
            "    parser.set_defaults(func=noisy)\n"
            "    return parser\n"
            "m.build_parser = build\n"
            "sys.exit(m.main(sys.argv[1:]))\n")
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert quiet.returncode == 0 and quiet.stdout == '{"ok": true}\n' and "native noise" not in quiet.stderr
    loud = subprocess.run([sys.executable, "-c", code, "--verbose"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert loud.stdout == '{"ok": true}\n' and "native noise" in loud.stderr


def test_daily_oral_dosing_has_no_cvode_step_collapse(capfd):
    """The cause: libroadrunner re-derived the absolute tolerance from the current state at
    every restart (atol x 1e-32 for a drained transit compartment). Now atol is a vector."""
    r = moasim.simulate("avatrombopag", "20 mg", every="1 day", days=4, population="itp", rtol=1e-6, atol=1e-9)
    out, err = capfd.readouterr()
    assert "t + h = t" not in out + err and "CVode" not in out + err
    ref = moasim.simulate("avatrombopag", "20 mg", every="1 day", days=4, population="itp", engine="scipy")
    np.testing.assert_allclose(r.outputs["drug_concentration"], ref.outputs["drug_concentration"], rtol=1e-4, atol=1e-3)
