"""Shared checks of the trial tests."""

import re

import pytest
import yaml

from moasim.cli.main import main
from moasim.errors import MoasimError
from moasim.trials import parse_trial_spec


@pytest.fixture
def assert_refused(tmp_path, capsys):
    """``assert_refused(spec_dict, needle)``: the parser raises a line containing ``needle``,
    and ``moasim trial`` on the spec exits 2 with one line on stderr and writes nothing."""

    def check(d: dict, needle: str, cli_needle: str | None = None) -> None:
        with pytest.raises(MoasimError, match=re.escape(needle)):
            parse_trial_spec(d)
        f = tmp_path / "bad.yaml"
        f.write_text(yaml.safe_dump(d))
        out = tmp_path / "out"
        assert main(["trial", str(f), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and (cli_needle or needle) in err[0]
        assert not out.exists()

    return check
