"""The README's lab-data commands run as written on the shipped ``examples/lab/`` files.

Each ``moasim fit``/``flow``/``blot`` command in the README section "Lab data, in-vitro
assays, bone" is shlex-split and run through :func:`moasim.cli.main.main` in a temporary
directory holding a copy of ``examples/lab/`` (so relative paths resolve as from the
repository root and outputs land in the temporary directory). The results are checked
against the true values ``examples/lab/make_examples.py`` generated the files with.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

from moasim.cli.main import main

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
LAB = REPO / "examples" / "lab"
LAB_COMMANDS = ("fit", "flow", "blot")
EXAMPLE_FILES = ("ctg.csv", "mk.fcs", "gates.yaml", "blot.tif", "make_examples.py")


def _lab_section() -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"^## Lab data.*?(?=^## )", text, flags=re.S | re.M)
    assert m, "README has no '## Lab data' section"
    return m.group(0)


def readme_lab_commands() -> dict[str, list[str]]:
    """Lab command -> argv (without the leading ``moasim``), from the section's bash blocks."""
    out: dict[str, list[str]] = {}
    for block in re.findall(r"```bash\n(.*?)```", _lab_section(), flags=re.S):
        for line in re.sub(r"\\\n", " ", block).splitlines():  # join continuation lines
            argv = shlex.split(line, comments=True)
            if len(argv) > 1 and argv[0] == "moasim" and argv[1] in LAB_COMMANDS:
                assert argv[1] not in out, f"README names `moasim {argv[1]}` twice; extend this test"
                out[argv[1]] = argv[1:]
    return out


COMMANDS = readme_lab_commands()


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


@pytest.fixture
def in_lab_copy(tmp_path, monkeypatch):
    """cwd = a fresh directory with examples/lab/ copied in (as the repository root would have)."""
    shutil.copytree(LAB, tmp_path / "examples" / "lab", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(argv, capsys) -> str:
    rc = main(list(argv))
    cap = capsys.readouterr()
    assert rc == 0, f"moasim {shlex.join(argv)} exited {rc}: {cap.err}"
    assert cap.err == ""
    return cap.out


def _run_json(argv, capsys) -> dict:
    out = _run(argv if "--json" in argv else [*argv, "--json"], capsys)
    assert out.count("\n") == 1
    return json.loads(out)


def _assert_plot(argv, cwd: Path) -> None:
    png = cwd / _option(argv, "--plot")
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"


# ----------------------------------------------------------------------------- files


def test_example_files_exist_and_are_small():
    for name in EXAMPLE_FILES:
        f = LAB / name
        assert f.is_file(), f"examples/lab/{name} missing"
        assert 0 < f.stat().st_size < 200_000, f"examples/lab/{name}: {f.stat().st_size} bytes"


def test_readme_lab_commands_found_and_name_shipped_files():
    assert set(COMMANDS) == set(LAB_COMMANDS)
    for cmd, argv in COMMANDS.items():
        paths = [a for a in argv if a.startswith("examples/lab/")]
        assert paths, f"README `moasim {cmd}` names no examples/lab/ input"
        for p in paths:
            assert (REPO / p).is_file(), f"README `moasim {cmd}` names {p}, which does not exist"
    # --vehicle is a lane label: it needs --lane-labels (the bug the README once had)
    blot = COMMANDS["blot"]
    if "--vehicle" in blot:
        assert _option(blot, "--vehicle") in _option(blot, "--lane-labels").split(",")


def test_make_examples_reproduces_the_shipped_files(tmp_path, lab_script):
    import tifffile

    from moasim.assay.flow import read_fcs

    mk = lab_script("make_examples.py")
    mk.make_all(tmp_path)
    assert (tmp_path / "ctg.csv").read_text(encoding="utf-8") == (LAB / "ctg.csv").read_text(encoding="utf-8")
    new, old = read_fcs(tmp_path / "mk.fcs"), read_fcs(LAB / "mk.fcs")
    assert new.channels == old.channels and new.markers == old.markers
    np.testing.assert_array_equal(new.events, old.events)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "blot.tif"), tifffile.imread(LAB / "blot.tif"))


# ----------------------------------------------------------------------------- the README commands


def test_readme_fit_recovers_generating_ec50s(in_lab_copy, capsys, lab_script):
    mk = lab_script("make_examples.py")
    argv = COMMANDS["fit"]
    obj = _run_json(argv, capsys)
    _assert_plot(argv, in_lab_copy)
    groups = obj["groups"]
    assert set(groups) == set(mk.CTG_COMPOUNDS)
    for compound, (ec50, _) in mk.CTG_COMPOUNDS.items():
        g = groups[compound]
        lo, hi = g["ci95"]["ec50"]
        assert lo < ec50 < hi, (compound, ec50, lo, hi)
        assert g["estimates"]["ec50"] == pytest.approx(ec50, rel=0.15)
        assert g["n"] == (mk.CTG_POINTS + 1) * mk.CTG_REPLICATES
        assert g["outliers"] == []
    ref, test = list(mk.CTG_COMPOUNDS)
    rp = obj["relative_potency"][test]
    assert rp["reference"] == ref
    true_rp = mk.CTG_COMPOUNDS[ref][0] / mk.CTG_COMPOUNDS[test][0]
    assert rp["ci95"][0] < true_rp < rp["ci95"][1]
    assert obj["parallelism"]["p_value"] > 0.05  # generated with common plateaus and slope


def test_readme_flow_gates_panel_and_ploidy_match_generation(in_lab_copy, capsys, lab_script):
    mk = lab_script("make_examples.py")
    truth = mk.FLOW_TRUTH
    argv = COMMANDS["flow"]
    out = _run(argv, capsys)
    _assert_plot(argv, in_lab_copy)
    assert f"FCS 3.1, {mk.N_EVENTS} events, {len(mk.FLOW_CHANNELS)} channels" in out
    assert "marker positivity" in out and "ploidy (PI" in out

    obj = _run_json(argv, capsys)
    assert obj["version"] == "3.1" and obj["n_events"] == mk.N_EVENTS
    assert obj["channels"] == list(mk.FLOW_CHANNELS)
    _, labels = mk.flow_events()
    pops = obj["gates"]["populations"]
    n_debris = int((labels["kind"] == "debris").sum())
    n_single = int((labels["kind"] == "single").sum())
    # cells: debris removed (a few small cells lost too); singlets: doublets removed
    assert pops["cells"]["count"] == pytest.approx(mk.N_EVENTS - n_debris, rel=0.02)
    assert pops["singlets"]["count"] == pytest.approx(n_single, rel=0.02)
    # the MK (CD41+) gate: the generated CD41+ fraction of single cells
    realised = labels["cd41"][labels["kind"] == "single"].mean()
    assert abs(realised - truth["cd41_fraction"]) < 0.02
    assert pops["MK"]["percent_of_parent"] / 100 == pytest.approx(realised, abs=0.02)
    q = {k: v["count"] for k, v in pops.items() if k.startswith("maturity:")}
    assert q["maturity:CD41+CD42b+"] + q["maturity:CD41+CD42b-"] == pops["MK"]["count"]
    assert sum(q.values()) == pops["singlets"]["count"]
    # marker panel within MK: CD61 and CD42b positivity as generated
    panel = obj["panel"]
    assert panel["n_events"] == pops["MK"]["count"]
    pct = panel["percent_positive"]
    assert pct["CD41+"] == pytest.approx(100.0)
    assert pct["CD61+"] / 100 == pytest.approx(truth["cd61_given_cd41"], abs=0.02)
    assert pct["CD42b+"] / 100 == pytest.approx(truth["cd42b_given_cd41"], abs=0.04)
    # ploidy of the MK gate: the generating 2N..64N fractions, 2N position and CV
    pl = obj["ploidy"]
    assert pl["mu_2n"] == pytest.approx(truth["pi_2n"], rel=0.02)
    assert pl["cv"] == pytest.approx(truth["pi_cv"], abs=0.01)
    for cls, frac in truth["mk_ploidy"].items():
        assert pl["fractions"][cls] == pytest.approx(frac, abs=0.03), cls


def test_readme_blot_fold_change_matches_generation(in_lab_copy, capsys, lab_script):
    mk = lab_script("make_examples.py")
    argv = COMMANDS["blot"]
    out = _run(argv, capsys)
    _assert_plot(argv, in_lab_copy)
    assert "fold_change" in out

    obj = _run_json(argv, capsys)
    (image,) = obj["images"]
    assert image["n_lanes"] == len(mk.BLOT_LANES)
    truth = mk.blot_truth()
    targets = _option(argv, "--bands").split(",")
    assert len(image["bands"]) == len(mk.BLOT_LANES) * len(targets)
    for b in image["bands"]:
        assert b["lane_label"] == mk.BLOT_LANES[b["lane"] - 1]
        assert b["intensity"] == pytest.approx(truth[(b["lane"] - 1, b["target"])], rel=0.08), (b["lane"], b["target"])
    norm = obj["normalised"]
    assert [r["lane_label"] for r in norm] == list(mk.BLOT_LANES)
    assert norm[mk.BLOT_LANES.index(_option(argv, "--vehicle"))]["fold_change"] == pytest.approx(1.0)
    np.testing.assert_allclose([r["fold_change"] for r in norm], mk.blot_truth_fold_change(), rtol=0.08)
