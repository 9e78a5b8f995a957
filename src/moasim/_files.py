"""Output locations: can moasim write there? Checked before any work starts."""

from __future__ import annotations

import tempfile

from .errors import SpecError, invalid_value

__all__ = ["check_writable"]


def check_writable(directory: str, field: str, given: object, allowed: str = "a path in a writable directory") -> None:
    """Raise the one-line :class:`SpecError` unless a file can be created in ``directory``.

    Tried, not guessed: root ignores permission bits, and read-only mounts such as /sys only
    say so when written to.
    """
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise SpecError(invalid_value(field, given, f"{allowed} ({exc.strerror or type(exc).__name__})")) from None
