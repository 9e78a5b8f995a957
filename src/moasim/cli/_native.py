"""Keep native libraries off stdout.

SUNDIALS (inside libroadrunner) and other C libraries print warnings with ``printf`` to
file descriptor 1, below Python's ``sys.stdout``. A command's stdout must hold only its own
output (one JSON document with ``--json``), so while a command runs, descriptor 1 points to a
temporary file and ``sys.stdout`` to a duplicate of the real stdout. Whatever the native code
printed is then logged, line by line, to the ``moasim.native`` logger at DEBUG level: silent
by default, on stderr with ``--verbose``. Forked worker processes inherit the redirection.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile

__all__ = ["native_output_to_log"]

log = logging.getLogger("moasim.native")

#: At most this many captured lines are logged one by one; the rest are counted.
MAX_LOGGED_LINES = 200


@contextlib.contextmanager
def native_output_to_log():
    """Redirect descriptor 1 to a temporary file for the block; log what landed there."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no real stdout (captured by a test harness): nothing to guard
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    capture = tempfile.TemporaryFile(mode="w+b")
    os.dup2(capture.fileno(), fd)
    old_stdout = sys.stdout
    sys.stdout = io.TextIOWrapper(os.fdopen(os.dup(saved), "wb", buffering=0), encoding=old_stdout.encoding or "utf-8",
                                  errors=getattr(old_stdout, "errors", None) or "strict", line_buffering=True, write_through=True)
    try:
        yield
    finally:
        try:
            sys.stdout.flush()
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sys.stdout.close()
        sys.stdout = old_stdout
        os.dup2(saved, fd)
        os.close(saved)
        _log_captured(capture)


def _log_captured(capture) -> None:
    capture.seek(0)
    lines = capture.read().decode("utf-8", "replace").splitlines()
    capture.close()
    for line in lines[:MAX_LOGGED_LINES]:
        log.debug(line)
    if len(lines) > MAX_LOGGED_LINES:
        log.debug("... %d more lines from native libraries", len(lines) - MAX_LOGGED_LINES)
