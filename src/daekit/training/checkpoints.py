"""Training checkpoints: ``{phase}-{epoch:04d}`` folders holding the model files of
:mod:`daekit.models.registry` plus ``trainer.pt`` (optimizer and RNG state, history), each
written atomically, so a folder with the final name is always complete."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..models.registry import write_model_files
from ..utils.atomic import atomic_directory

__all__ = ["save_checkpoint_dir", "latest_checkpoint", "prune_checkpoints"]


def save_checkpoint_dir(path: str | os.PathLike, model: nn.Module, extra_config: dict[str, Any] | None = None,
                        trainer_state: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint folder at ``path`` atomically (assembled elsewhere, then renamed).

    An existing folder at ``path`` is replaced only once the new one is complete.
    """
    with atomic_directory(path) as tmp:
        write_model_files(tmp, model, extra_config)
        if trainer_state is not None:
            torch.save(trainer_state, tmp / "trainer.pt")
    return Path(path)

_CKPT_RE = re.compile(r"^(?P<phase>.+)-(?P<epoch>\d{4,})$")


def latest_checkpoint(directory: str | os.PathLike, phase: str) -> Path | None:
    """The complete checkpoint folder of ``phase`` with the highest epoch, or None."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    best: tuple[int, Path] | None = None
    for p in directory.iterdir():
        m = _CKPT_RE.match(p.name)
        if m and m["phase"] == phase and p.is_dir() and (p / "model.safetensors").is_file():
            epoch = int(m["epoch"])
            if best is None or epoch > best[0]:
                best = (epoch, p)
    return None if best is None else best[1]


def prune_checkpoints(directory: str | os.PathLike, phase: str, keep: int = 1) -> None:
    """Delete all but the ``keep`` newest checkpoints of ``phase`` (and stale temporary folders)."""
    directory = Path(directory)
    found = []
    for p in directory.iterdir():
        m = _CKPT_RE.match(p.name)
        if m and m["phase"] == phase:
            found.append((int(m["epoch"]), p))
        elif p.name.startswith((".tmp-", ".old-")) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
    for _, p in sorted(found)[:-keep] if keep > 0 else sorted(found):
        shutil.rmtree(p, ignore_errors=True)
