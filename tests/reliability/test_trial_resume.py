"""Trial output folders: resume with any worker count or shard size to the identical answer;
no temp folders left; a failed start does not bind the folder (issue 10)."""

from __future__ import annotations

import glob
import json
import os
import tempfile

import pyarrow.parquet as pq
import pytest
import yaml

from moasim.cli.main import main
from moasim.trials import parse_trial_spec, run_trial
from moasim.trials._shards import existing_shards

SPEC = {
    "name": "resume", "population": {"kind": "itp"}, "duration": "3 weeks", "seed": 11,
    "arms": [{"name": "rom", "drug": "romiplostim", "titration": "label"}, {"name": "placebo", "drug": "none"}],
    "endpoints": [{"name": "ever", "kind": "ever_responder", "threshold": 50},
                  {"name": "r3", "kind": "responder", "threshold": 50, "at": "3 weeks"}],
}


def _rows(out_dir) -> int:
    return sum(pq.read_metadata(f).num_rows for f in glob.glob(os.path.join(out_dir, "shards", "*.parquet")))


def test_resume_with_other_worker_count_and_shard_size_matches_a_fresh_run(tmp_path):
    spec = parse_trial_spec(SPEC).with_run_options(n=12)
    fresh = run_trial(spec, out_dir=str(tmp_path / "fresh"), workers=1, progress=False, engine="roadrunner")
    mixed = tmp_path / "mixed"
    first = run_trial(spec, out_dir=str(mixed), workers=1, shard_size=4, progress=False, engine="roadrunner")
    # the case: the same --out with another worker count (another default shard size)
    second = run_trial(spec, out_dir=str(mixed), workers=2, shard_size=3, progress=False, engine="roadrunner")
    assert second.shards_run == 0 and second.shards_reused == first.shards_run
    assert _rows(mixed) == 2 * 12, "every subject exactly once"
    # drop two shards and resume with a third shard size: only the gaps are simulated
    files = sorted(glob.glob(str(mixed / "shards" / "*.parquet")))
    for f in files[1:3]:
        os.remove(f)
    third = run_trial(spec, out_dir=str(mixed), workers=1, shard_size=5, progress=False, engine="roadrunner")
    assert third.shards_run >= 2 and _rows(mixed) == 2 * 12
    for res in (first, second, third):
        assert res.to_json_dict()["arms"] == fresh.to_json_dict()["arms"]
        assert res.arms["rom"]["n"] == 12
    for (a, r), parts in existing_shards(str(mixed / "shards")).items():
        covered = sorted((s, s + c) for s, c, _ in parts)
        assert covered[0][0] == 0 and covered[-1][1] == 12
        assert all(x[1] == y[0] for x, y in zip(covered, covered[1:]))


def test_cli_resume_with_workers_1_then_2(tmp_path, capsys):
    """The issue's reproduction through the CLI: identical JSON arms and n to a fresh run."""
    f = tmp_path / "spec.yaml"
    f.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "mix"
    runs = []
    for argv in (["--workers", "1", "--out", str(out)], ["--workers", "2", "--out", str(out)], ["--workers", "2", "--out", str(tmp_path / "fresh")]):
        assert main(["trial", str(f), "--n", "8", "--json", *argv]) == 0
        runs.append(json.loads(capsys.readouterr().out))
    assert runs[0]["arms"] == runs[1]["arms"] == runs[2]["arms"]
    assert _rows(out) == 2 * 8


def test_overlapping_shard_files_are_refused(tmp_path):
    spec = parse_trial_spec(SPEC).with_run_options(n=6)
    out = tmp_path / "o"
    run_trial(spec, out_dir=str(out), workers=1, shard_size=3, progress=False, engine="roadrunner")
    src = glob.glob(str(out / "shards" / "arm000_rep00000_s0000000_*.parquet"))[0]
    os.link(src, out / "shards" / "arm000_rep00000_s0000001_n0000003.parquet")
    with pytest.raises(Exception, match="do not overlap"):
        run_trial(spec, out_dir=str(out), workers=1, progress=False, engine="roadrunner")


def test_another_trial_into_the_same_folder_is_refused(tmp_path, capsys):
    f = tmp_path / "spec.yaml"
    f.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "o"
    assert main(["trial", str(f), "--n", "4", "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    assert main(["trial", str(f), "--n", "5", "--out", str(out), "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "same trial" in err[0]


def test_a_failed_start_does_not_bind_the_folder(tmp_path, capsys, monkeypatch):
    """A trial that fails before any shard is written leaves no manifest that refuses the next spec."""
    import moasim.trials._run as run_mod

    f = tmp_path / "spec.yaml"
    f.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "o"

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_mod, "_execute", boom)
    assert main(["trial", str(f), "--n", "4", "--out", str(out)]) == 130
    capsys.readouterr()
    assert not out.exists(), "nothing left behind"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"spec_key": "another trial"}))  # a manifest beside no shard
    monkeypatch.undo()
    assert main(["trial", str(f), "--n", "3", "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["arms"]["rom"]["n"] == 3


def test_no_out_leaves_no_temp_folder_and_json_is_byte_identical(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None  # re-read TMPDIR
    try:
        f = tmp_path.parent / f"{tmp_path.name}.yaml"
        f.write_text(yaml.safe_dump(SPEC))
        outs = []
        for _ in range(2):
            assert main(["trial", str(f), "--n", "3", "--json"]) == 0
            outs.append(capsys.readouterr().out)
        assert outs[0] == outs[1]
        assert json.loads(outs[0])["out_dir"] is None
        assert not [p for p in os.listdir(tmp_path) if p.startswith("moasim-trial-")]
    finally:
        tempfile.tempdir = None


def test_out_in_a_folder_that_does_not_exist_yet(tmp_path, capsys):
    """The README's `--out runs/bussel` on a fresh clone: missing parents are created."""
    f = tmp_path / "spec.yaml"
    f.write_text(yaml.safe_dump(SPEC))
    out = tmp_path / "runs" / "bussel"
    assert main(["trial", str(f), "--n", "3", "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["out_dir"] == str(out) and (out / "manifest.json").exists()
