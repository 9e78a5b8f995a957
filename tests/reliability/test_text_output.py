"""Text output of ``moasim validate`` and ``moasim simulate``: nothing cut, every value with its unit,
the food condition shown (text and JSON)."""

import json
import re

import pytest

import moasim.validate as validate
from moasim.cli.main import main

#: cheap targets covering a scalar, a per-dose dict, a published range and a known failure (per-site dict)
IDS = ["tpo_healthy", "hetrombopag_tmax", "romosozumab_monthly_trough", "romosozumab_japanese_12m"]
NUM = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


@pytest.fixture(scope="module")
def few_results():
    return validate.run_validation(IDS)


@pytest.fixture
def few_targets(monkeypatch, few_results):
    """``moasim validate`` runs only :data:`IDS` (results computed once per module)."""
    monkeypatch.setattr(validate, "run_validation", lambda ids=None, progress=False, seed=None: few_results)
    return few_results


def _blocks(out: str) -> dict[str, str]:
    """Target id -> its block of the text report, whitespace collapsed (undoes wrapping)."""
    blocks = {}
    for chunk in out.strip().split("\n\n"):
        m = re.match(r"(PASS|FAIL)\S*(?: \S+)*?\s+(\S+)\s+\[", chunk)
        if m:
            blocks[m.group(2)] = " ".join(chunk.split())
    return blocks


def _unit(tid: str) -> str:
    u = validate.load_targets()[tid].get("unit") or "percent"  # japanese_12m: BMD % change, no unit in its entry
    return "%" if u == "percent" else u


@pytest.mark.parametrize("columns", ["200", "60"])
def test_validate_text_is_complete_with_units(capsys, monkeypatch, few_targets, columns):
    monkeypatch.setenv("COLUMNS", columns)
    code = main(["validate"])
    out = capsys.readouterr().out
    results, _ = few_targets
    assert code == (1 if any(r.role == "calibration" and not r.passed for r in results) else 0)  # DESIGN.md
    assert max(len(line) for line in out.splitlines()) <= int(columns)  # wrapped to the terminal, never cut
    blocks = _blocks(out)
    assert set(blocks) == set(IDS), out
    for r in results:
        b, unit = blocks[r.id], _unit(r.id)
        assert f"[{r.role}]" in b and ("PASS" if r.passed else "FAIL") in b
        assert " ".join(r.note.split()) in b  # the note in full
        model = r.model if isinstance(r.model, dict) else {None: r.model}
        for k in model:  # every dose / site / month, each with its unit
            key = "" if k is None else re.escape(f"{k}:") + r"\s*"
            assert re.search(r"model:.*" + key + NUM + r"\s?" + re.escape(unit), b), (k, unit, b)
        published = r.published if isinstance(r.published, dict) else {None: r.published}
        for k in published:
            key = "" if k is None else re.escape(f"{k}:") + r"\s*"
            assert re.search(r"published:.*" + key + NUM + r"\s?" + re.escape(unit), b), (k, unit, b)
        assert "tolerance:" in b
    assert "(known failing)" in blocks["romosozumab_japanese_12m"]
    tail = " ".join(out.strip().split("\n\n")[-1].split())
    assert re.search(r"\d+/4 targets pass", tail) and "calibration" in tail and "prediction" in tail
    assert re.search(r"romosozumab_japanese_12m \(prediction; known failing\)", tail)


def test_validate_json_contract(capsys, few_targets):
    main(["validate", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert set(d) == {"targets", "calibration", "predictions", "passed", "total", "not_covered"} and d["total"] == len(IDS)
    assert set(d["targets"][0]) == {"id", "group", "role", "model", "mc_se", "published", "tolerance", "pass", "note"}


BONE = ["simulate", "--drug", "romosozumab", "--dose", "210 mg", "--every", "1 month", "--route", "sc", "--days", "90",
        "--population", "postmenopausal_osteoporosis"]
UNIT_AFTER = r"(?:%|\s(?:ug/mL|ng/mL|pg/mL|ug|x10\^9/L)\b|x baseline)"


def test_bone_simulate_text_has_units(capsys):
    assert main(BONE) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    body = lines[1:]
    assert body and any("ug/mL" in line for line in body) and any("BMD" in line for line in body)
    for line in body:
        text = re.sub(r"\bday " + NUM, "day", line)  # day numbers carry their unit in front
        for m in re.finditer(NUM, text):
            if re.fullmatch(r"\d", m.group()) and text[max(m.start() - 1, 0)] == "P":  # "P1NP"
                continue
            assert re.match(UNIT_AFTER, text[m.end():]), (m.group(), line)


def test_bone_simulate_json_summary_units(capsys):
    assert main(BONE + ["--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d["summary_units"]) == set(d["summary"]) and d["summary_units"]["final_bmd_lumbar_spine"] == "%"
    assert d["food"] is None


HET = ["simulate", "--drug", "hetrombopag", "--dose", "7.5 mg", "--days", "2"]


def test_food_shown_in_text(capsys):
    assert main(HET + ["--food", "high_fat"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\s+food: high_fat with each oral dose$", out, re.M), out
    assert re.search(r"baseline \d+ x10\^9/L", out)  # thrombopoiesis numbers with units too
    assert main(HET) == 0
    assert re.search(r"^\s+food: none", capsys.readouterr().out, re.M)


def test_food_shown_in_json(capsys):
    assert main(HET + ["--food", "high_fat", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["food"] == "high_fat" and d["food_applied"] is True
    assert {"time_days", "outputs", "units", "doses", "drug", "regimen", "summary"} <= set(d)  # existing keys kept
    assert main(HET + ["--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert "food" in d and d["food"] is None and d["food_applied"] is False


def test_food_not_applied_is_said(capsys):
    """A meal that the model does not apply (non-oral route, bone layer) is shown as not applied."""
    assert main(["simulate", "--drug", "romiplostim", "--dose", "1 ug/kg", "--days", "2", "--food", "high_fat"]) == 0
    assert "food: high_fat (not applied" in capsys.readouterr().out
    assert main(BONE + ["--food", "high_fat"]) == 0
    assert "food: high_fat (not applied" in capsys.readouterr().out
