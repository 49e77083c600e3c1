"""The ``daekit`` command line: thin subcommands that parse, call the library and print.

Each subcommand lives in its own module with ``add_parser(subparsers)``; the parser it adds
sets ``func`` (args -> exit code). Errors in user input, a run folder in use and a diverged
training (``NonFiniteLossError``, a FloatingPointError) are one line on stderr and exit 2
(set DAEKIT_DEBUG=1 for the traceback). The library's log records (loggers ``daekit.*``) go to
stderr at level INFO; ``--quiet``/``-q`` (before the subcommand, or a subcommand's own
``--quiet``) shows warnings only, and ``DAEKIT_LOG_LEVEL`` (DEBUG, INFO, WARNING, ERROR) sets the
level outright.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence

from tqdm.contrib.logging import logging_redirect_tqdm

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

COMMAND_MODULES = [
    "demo_cmd",
    "train_cmd",
    "sda_cmd",
    "score_cmd",
    "sample_cmd",
    "datasets_cmd",
    "viz_cmd",
    "reproduce_cmd",
    "outliers_cmd",
    "impute_cmd",
]


class CLIError(Exception):
    """A user error: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and a pointer to --help), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(prog="daekit", description="Denoising autoencoders end to end.")
    parser.add_argument("--version", action="version", version=f"daekit {__version__}")
    parser.add_argument(
        "-q",
        "--quiet",
        dest="log_quiet",
        action="store_true",
        help="log warnings only (DAEKIT_LOG_LEVEL=LEVEL sets the level outright)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").add_parser(subparsers)
    return parser


@contextlib.contextmanager
def cli_logging(quiet: bool) -> Iterator[None]:
    """While open, the ``daekit`` loggers' records go to stderr (through tqdm, so that they do not
    break a progress bar) at ``$DAEKIT_LOG_LEVEL`` when set, else WARNING when ``quiet``, else
    INFO; on exit the logger is as before."""
    name = os.environ.get("DAEKIT_LOG_LEVEL", "").strip().upper() or ("WARNING" if quiet else "INFO")
    if name not in LOG_LEVELS:
        raise CLIError(f"DAEKIT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {name!r}")
    logger = logging.getLogger("daekit")
    handler, level = logging.StreamHandler(sys.stderr), logger.level
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(name)
    try:
        with logging_redirect_tqdm([logger]):
            yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with cli_logging(args.log_quiet or bool(getattr(args, "quiet", False))):
            return int(args.func(args) or 0)
    except (CLIError, ValueError, TypeError, FileNotFoundError, FloatingPointError) as exc:
        if os.environ.get("DAEKIT_DEBUG"):
            raise
        print(f"daekit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
