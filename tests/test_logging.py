"""Library output goes through ``logging`` and progress bars appear only on a terminal."""

import ast
import io
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from daekit import DAE, DenoisingObjective, Masking, TrainConfig, fit
from daekit.sampling import dae_chain

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "daekit"
LIBRARY_FILES = sorted(p for p in PACKAGE.rglob("*.py") if "cli" not in p.relative_to(PACKAGE).parts)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _calls(tree: ast.AST, name: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if (isinstance(f, ast.Name) and f.id == name) or (isinstance(f, ast.Attribute) and f.attr == name):
                yield node


def test_library_code_never_prints():
    assert len(LIBRARY_FILES) > 20
    found = [
        f"{p.relative_to(PACKAGE)}:{call.lineno}"
        for p in LIBRARY_FILES
        for call in _calls(ast.parse(p.read_text()), "print")
    ]
    assert found == []


def test_every_progress_bar_is_off_when_stderr_is_not_a_terminal():
    """Each tqdm(...) passes disable=None (tqdm: off unless the stream is a TTY), possibly as one
    branch of ``None if shown else True``."""

    def terminal_only(expr: ast.expr) -> bool:
        none = lambda e: isinstance(e, ast.Constant) and e.value is None  # noqa: E731
        return none(expr) or (isinstance(expr, ast.IfExp) and (none(expr.body) or none(expr.orelse)))

    bars = [(p, call) for p in LIBRARY_FILES for call in _calls(ast.parse(p.read_text()), "tqdm")]
    assert len(bars) >= 4
    wrong = [
        f"{p.relative_to(PACKAGE)}:{call.lineno}"
        for p, call in bars
        if not any(k.arg == "disable" and terminal_only(k.value) for k in call.keywords)
    ]
    assert wrong == []


def _fit(verbose: int):
    x = np.random.default_rng(0).random((60, 5), dtype=np.float32)
    return fit(
        DAE(5, 3),
        DenoisingObjective(Masking(0.25)),
        x,
        TrainConfig(epochs=2, batch_size=10, verbose=verbose, device="cpu"),
        valid=x[:20],
    )


@pytest.mark.parametrize("stream,bar", [(io.StringIO, False), (_Terminal, True)])
def test_fit_logs_one_record_per_epoch_and_shows_a_bar_only_on_a_terminal(caplog, capsys, monkeypatch, stream, bar):
    err = stream()
    monkeypatch.setattr(sys, "stderr", err)
    with caplog.at_level(logging.INFO, logger="daekit"):
        _fit(verbose=1)
    epochs = [r for r in caplog.records if "train_loss" in r.getMessage()]
    assert [r.getMessage().split()[:3] for r in epochs] == [["[train]", "epoch", "1/2"], ["[train]", "epoch", "2/2"]]
    assert all(r.levelno == logging.INFO and r.name.startswith("daekit.") for r in epochs)
    assert ("batch" in err.getvalue()) is bar  # tqdm's bar: "train: ... batch/s"
    assert "train_loss" not in err.getvalue() and capsys.readouterr().out == ""


def test_fit_is_silent_when_not_verbose(caplog, monkeypatch):
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    with caplog.at_level(logging.DEBUG, logger="daekit"):
        _fit(verbose=0)
    assert caplog.records == [] and err.getvalue() == ""


@pytest.mark.parametrize("stream,bar", [(io.StringIO, False), (_Terminal, True)])
def test_sampling_progress_bar_only_on_a_terminal(monkeypatch, stream, bar):
    err = stream()
    monkeypatch.setattr(sys, "stderr", err)
    x0 = torch.rand(4, 5, generator=torch.Generator().manual_seed(0))
    dae_chain(DAE(5, 3), Masking(0.25), x0, 5, generator=torch.Generator().manual_seed(1), progress=True)
    assert ("chain" in err.getvalue()) is bar
