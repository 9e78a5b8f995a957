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
from ._native import native_output_to_log


def _configure_logging(verbose: bool) -> None:
    """moasim's loggers write to stderr: warnings always, details with --verbose."""
    import logging

    log = logging.getLogger("moasim")
    if not log.handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("moasim: %(name)s: %(message)s"))
        log.addHandler(h)
    log.setLevel(logging.DEBUG if verbose else logging.WARNING)
    log.propagate = False

# Command modules, in the order they appear in ``moasim --help``.
_COMMAND_MODULES = (
    "moasim.cli._drugs",
    "moasim.cli._simulate",
    "moasim.cli._trial",
    "moasim.cli._validate",
    "moasim.cli._export",
    "moasim.cli._assay",
    "moasim.cli._invitro",
    "moasim.cli._patient",
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
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr (solver messages of native libraries included)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for p in _all_subparsers(sub):  # --verbose also after the command: `moasim trial x.yaml -v`
        p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _all_subparsers(action) -> list[argparse.ArgumentParser]:
    out = []
    for p in dict.fromkeys(action.choices.values()):
        nested = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        out.extend(_all_subparsers(nested[0]) if nested else [p])
    return out


def _check_non_empty(args: argparse.Namespace) -> None:
    """Every text option or argument given is non-empty: ``--drug ""`` is bad input, not the default."""
    from ..limits import check_non_empty

    for dest, value in vars(args).items():
        name = dest if dest in ("spec", "file", "image", "files") else "--" + dest.replace("_", "-")
        for v in value if isinstance(value, list) else [value]:
            check_non_empty(v, name)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    _configure_logging(getattr(args, "verbose", False))
    try:
        _check_non_empty(args)
        with native_output_to_log():
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
