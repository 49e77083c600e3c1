"""BENCHMARKS.md names commands that exist: every results table follows, within its section, a
command that produced it, and every command the report quotes is one the code accepts — a
``daekit`` subcommand with flags that ``daekit.cli.build_parser()`` parses, or a
``python benchmarks/X.py`` script that exists and defines the flags given."""

from __future__ import annotations

import ast
import contextlib
import io
import re
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "BENCHMARKS.md"

_HEADING = re.compile(r"^#{1,6} ")
_TABLE_RULE = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass
class Section:
    heading: str
    lines: list[str]


def sections(text: str) -> list[Section]:
    """The report cut at every heading (any level); text before the first heading is one section."""
    out = [Section("(top)", [])]
    for line in text.splitlines():
        if _HEADING.match(line):
            out.append(Section(line.strip(), []))
        else:
            out[-1].lines.append(line)
    return out


def table_starts(lines: list[str]) -> list[int]:
    """Indices of the header lines of the Markdown tables in ``lines``."""
    return [
        i
        for i in range(len(lines) - 1)
        if lines[i].lstrip().startswith("|")
        and _TABLE_RULE.match(lines[i + 1].strip())
        and (i == 0 or not lines[i - 1].lstrip().startswith("|"))
    ]


def _quoted(text: str) -> list[str]:
    """The code spans of ``text`` and the lines of its fenced code blocks."""
    spans, fenced, inside = [], [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            inside = not inside
        elif inside:
            fenced.append(line.strip())
        else:
            spans.extend(_CODE_SPAN.findall(line))
    return spans + fenced


def commands(text: str) -> list[list[str]]:
    """The commands quoted in ``text`` (code spans and fenced blocks), as argument lists without leading
    environment assignments: those run by ``daekit``, ``python benchmarks/X.py``,
    ``python -m daekit`` or ``torchrun``."""
    found = []
    for span in _quoted(text):
        try:
            argv = shlex.split(span, comments=True)
        except ValueError:
            continue
        while argv and _ENV.match(argv[0]):
            argv = argv[1:]
        if argv and (
            argv[0] == "daekit"
            or argv[0] == "torchrun"
            or (
                argv[0] in ("python", "python3")
                and len(argv) > 1
                and (argv[1].startswith("benchmarks/") or argv[1:3] == ["-m", "daekit"])
            )
        ):
            found.append(argv)
    return found


@cache
def _daekit_parser():
    from daekit.cli import build_parser

    return build_parser()


@cache
def _script_flags(path: Path) -> frozenset[str]:
    """Every option string given to an ``add_argument`` call in the script at ``path``."""
    flags = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            flags.update(
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.startswith("-")
            )
    return frozenset(flags | {"-h", "--help"})


def _check_daekit(args: list[str]) -> str | None:
    parser = _daekit_parser()
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    if not args or args[0] not in subcommands:
        return f"no daekit subcommand {args[0] if args else '(none)'!r} (have: {', '.join(subcommands)})"
    if len(args) == 1:  # the subcommand named in prose
        return None
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            parser.parse_args(args)
    except SystemExit:
        return f"daekit rejects it: {stderr.getvalue().strip()}"
    return None


def _check_script(args: list[str]) -> str | None:
    path = ROOT / args[0]
    if not path.is_file():
        return f"no script {args[0]}"
    flags = _script_flags(path)
    unknown = [a for a in args[1:] if a.startswith("-") and not re.match(r"^-\d", a) and a.split("=")[0] not in flags]
    return f"{args[0]} defines no {', '.join(unknown)}" if unknown else None


def command_problem(argv: list[str]) -> str | None:
    """Why the command ``argv`` does not exist in this checkout, or None if it does."""
    if argv[0] == "daekit":
        return _check_daekit(argv[1:])
    if argv[0] == "torchrun":
        rest = argv[1:]
        if "-m" in rest and rest[rest.index("-m") + 1 : rest.index("-m") + 2] == ["daekit"]:
            return _check_daekit(rest[rest.index("-m") + 2 :])
        scripts = [i for i, a in enumerate(rest) if a.startswith("benchmarks/")]
        return _check_script(rest[scripts[0] :]) if scripts else "torchrun runs neither daekit nor a benchmark"
    if argv[1:3] == ["-m", "daekit"]:
        return _check_daekit(argv[3:])
    return _check_script(argv[1:])


def report_problems(text: str) -> list[str]:
    """One line for each table not preceded in its section by a command, and for each quoted
    command that does not exist."""
    problems = []
    for section in sections(text):
        for start in table_starts(section.lines):
            if not commands("\n".join(section.lines[:start])):
                problems.append(f"{section.heading}: table {section.lines[start].strip()[:60]!r} follows no command")
    for argv in commands(text):
        if (problem := command_problem(argv)) is not None:
            problems.append(f"`{shlex.join(argv)}`: {problem}")
    return problems


# ------------------------------------------------------------------------------------- tests
def test_every_table_follows_a_command_that_exists():
    text = REPORT.read_text()
    assert len([i for s in sections(text) for i in table_starts(s.lines)]) >= 10
    assert len(commands(text)) >= 10
    assert report_problems(text) == []


def test_a_renamed_or_missing_command_is_reported():
    good = (
        "## A\n\n`daekit reproduce vincent2010 --budget paper --datasets rectangles --threads 1`\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "## B\n\n`DAEKIT_DATA=/data python benchmarks/train_step.py --threads 1 --rounds 5`\n\n"
        "| a |\n|---|\n| 1 |\n"
    )
    assert report_problems(good) == []
    for broken, reason in [
        (good.replace("daekit reproduce", "daekit reproduction"), "no daekit subcommand 'reproduction'"),
        (good.replace("--budget paper", "--budjet paper"), "daekit rejects it"),
        (good.replace("--budget paper", "--budget huge"), "daekit rejects it"),
        (good.replace("train_step.py", "train_steps.py"), "no script benchmarks/train_steps.py"),
        (good.replace("--rounds 5", "--round-count 5"), "defines no --round-count"),
        (
            good.replace("`DAEKIT_DATA=/data python benchmarks/train_step.py --threads 1 --rounds 5`", "no command"),
            "follows no command",
        ),
    ]:
        problems = report_problems(broken)
        assert len(problems) == 1 and reason in problems[0], (reason, problems)


def test_a_command_in_another_section_does_not_count_for_a_table():
    text = "## A\n\n`python benchmarks/train_step.py`\n\n### A.1\n\n| a |\n|---|\n| 1 |\n"
    assert report_problems(text) == ["### A.1: table '| a |' follows no command"]


def test_commands_are_found_behind_environment_and_launchers():
    text = (
        "`OMP_NUM_THREADS=1 DAEKIT_DATA=/d daekit train --help-me` `daekit.fit` `torchrun --nproc_per_node=2 -m "
        "daekit train --data mnist` `python -m daekit demo` `python setup.py`"
    )
    found = commands(text)
    assert found == [
        ["daekit", "train", "--help-me"],
        ["torchrun", "--nproc_per_node=2", "-m", "daekit", "train", "--data", "mnist"],
        ["python", "-m", "daekit", "demo"],
    ]
    assert "daekit rejects it" in command_problem(found[0])


def test_paper_cells_add_up_to_the_committed_table():
    """benchmarks/paper_cells.py reads the committed cells: its per-row seconds are the seconds
    column of table.md, and a cell whose selected point is not among its trials is an error."""
    import sys

    import pytest

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import paper_cells

    folder = ROOT / "benchmarks" / "results" / "vincent2010_paper"
    table = paper_cells.rows(paper_cells.read_cells(folder / "cells"))
    assert len(table) == 36
    in_table_md = {
        line.split("|")[1].strip(): int(line.split("|")[-2])
        for line in (folder / "table.md").read_text().splitlines()
        if line.count("|") == 9 and "paper |" in line
    }
    per_row: dict[str, float] = {}
    for r in table:
        per_row[r["label"]] = per_row.get(r["label"], 0.0) + r["seconds"]
    assert {label: round(s) for label, s in per_row.items()} == in_table_md
    rect_sda = next(r for r in table if r["dataset"] == "rectangles" and r["model"] == "SdA-3")
    assert rect_sda["gap"] == pytest.approx(rect_sda["test"] - rect_sda["valid"]) and rect_sda["valid"] == 1.0
    with pytest.raises(ValueError, match="no trial matches"):
        paper_cells.selected_valid_error({"dataset": "d", "model": "m", "selected": {"a": 1}, "trials": []})
