"""``moasim`` command line: a thin front-end over the public API.

Each command lives in its own module exposing ``register(subparsers)``; the module
adds its parser and sets ``func`` (a callable taking the parsed args and returning an
exit code). Expected user errors (:class:`moasim.errors.MoasimError`) print one line to
stderr and exit 2; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import MoasimError

# Command modules, in the order they appear in ``moasim --help``.
_COMMAND_MODULES = (
    "moasim.cli._drugs",
    "moasim.cli._simulate",
    "moasim.cli._trial",
    "moasim.cli._validate",
    "moasim.cli._export",
    "moasim.cli._assay",
    "moasim.cli._invitro",
)


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with a single line (the house template)."""

    def error(self, message: str) -> None:  # pragma: no cover - exercised via CLI tests
        sys.stderr.write(f"moasim: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="moasim", description="Executable drug mechanisms of action (TPO-RA, thrombopoiesis).")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"moasim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except MoasimError as exc:
        sys.stderr.write(f"moasim: error: {exc}\n")
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
