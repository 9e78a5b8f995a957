"""Helpers shared by CLI commands: JSON printing and atomic file output."""

from __future__ import annotations

import json
import os
import sys
import tempfile

from ..errors import SpecError, invalid_value


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")


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
    _check_writable(d, field, path)
    return path


def check_out_dir(path: str, field: str) -> str:
    """Validate an output directory (existing or to be created) before any work is done."""
    full = os.path.abspath(path)
    if os.path.exists(full) and not os.path.isdir(full):
        raise SpecError(invalid_value(field, path, "a directory (this is an existing file)"))
    parent = full if os.path.isdir(full) else os.path.dirname(full)
    if not os.path.isdir(parent):
        raise SpecError(invalid_value(field, path, "a directory whose parent exists"))
    _check_writable(parent, field, path)
    return path


def _check_writable(d: str, field: str, path: str) -> None:
    """Can a file be created in directory ``d``? (Tried, not guessed: root ignores modes,
    and read-only mounts such as /sys only say so when written.)"""
    try:
        with tempfile.TemporaryFile(dir=d):
            pass
    except OSError as exc:
        raise SpecError(invalid_value(field, path, f"a path in a writable directory ({exc.strerror or type(exc).__name__})")) from None


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
