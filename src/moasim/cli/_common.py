"""Helpers shared by CLI commands: JSON printing and atomic file output."""

from __future__ import annotations

import json
import os
import sys
import tempfile

from .._files import check_writable
from ..errors import SpecError, invalid_value


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")


def check_seed(value: int | None, field: str = "--seed") -> int | None:
    """A seed flag: None (not given) or an integer >= 0 (numpy's SeedSequence raises a traceback on a negative one)."""
    if value is not None and value < 0:
        raise SpecError(invalid_value(field, value, "an integer >= 0"))
    return value


def check_out_path(path: str, allowed: tuple[str, ...], field: str) -> str:
    """Validate an output path's extension and directory before any work is done."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in allowed:
        raise SpecError(invalid_value(field, path, "a file ending in " + " or ".join(allowed)))
    if os.path.isdir(path):
        raise SpecError(invalid_value(field, path, "a file path (this is a directory)"))
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise SpecError(invalid_value(field, path, "a path in an existing directory"))
    check_writable(d, field, path)
    return path


def write_atomic(path: str, writer) -> None:
    """Call ``writer(tmp_path)`` then rename: nothing half-written on failure."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=os.path.splitext(path)[1], dir=d)
    os.close(fd)
    try:
        writer(tmp)
        from ..report.plots import _default_mode

        _default_mode(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
