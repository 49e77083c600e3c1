"""Training checkpoints: ``{phase}-{epoch:04d}`` folders holding the model files of
:mod:`daekit.models.registry`, ``trainer.pt`` (optimizer and RNG state, history) and
``SHA256SUMS`` (:mod:`daekit.utils.checksums`), each written atomically, so a folder with the final
name is always complete, and one damaged afterwards (truncated, garbled) is detected on resume and
skipped for the newest good one (:func:`latest_good_checkpoint`)."""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..models.registry import read_weights, write_model_files
from ..utils.atomic import atomic_directory
from ..utils.checksums import checksum_problem, write_checksums

__all__ = [
    "save_checkpoint_dir",
    "latest_checkpoint",
    "latest_good_checkpoint",
    "load_checkpoint",
    "prune_checkpoints",
    "checkpoints_of",
]

logger = logging.getLogger(__name__)

_CKPT_RE = re.compile(r"^(?P<phase>.+)-(?P<epoch>\d{4,})$")


def save_checkpoint_dir(
    path: str | os.PathLike,
    model: nn.Module,
    extra_config: dict[str, Any] | None = None,
    trainer_state: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint folder at ``path`` atomically (assembled elsewhere, then renamed), with
    the SHA-256 of its files in ``SHA256SUMS``.

    An existing folder at ``path`` is replaced only once the new one is complete.
    """
    with atomic_directory(path) as tmp:
        write_model_files(tmp, model, extra_config)
        if trainer_state is not None:
            torch.save(trainer_state, tmp / "trainer.pt")
        write_checksums(tmp)
    return Path(path)


def checkpoints_of(directory: str | os.PathLike | None, phase: str) -> list[Path]:
    """The complete-looking checkpoint folders of ``phase`` in ``directory``, newest first."""
    if directory is None or not Path(directory).is_dir():
        return []
    found = []
    for p in Path(directory).iterdir():
        m = _CKPT_RE.match(p.name)
        if m and m["phase"] == phase and p.is_dir() and (p / "model.safetensors").is_file():
            found.append((int(m["epoch"]), p))
    return [p for _, p in sorted(found, reverse=True)]


def latest_checkpoint(directory: str | os.PathLike | None, phase: str) -> Path | None:
    """The checkpoint folder of ``phase`` with the highest epoch (not verified), or None."""
    found = checkpoints_of(directory, phase)
    return found[0] if found else None


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[dict, dict | None]:
    """``(weights, trainer_state)`` of the checkpoint folder ``path`` after checking its
    checksums; a damaged file raises ValueError naming it."""
    path = Path(path)
    problem = checksum_problem(path)
    if problem is not None:
        raise ValueError(problem)
    weights = read_weights(path / "model.safetensors", device)
    state = None
    if (path / "trainer.pt").is_file():
        try:
            state = torch.load(path / "trainer.pt", map_location="cpu", weights_only=True)
        except Exception as e:  # truncated zip, unpickling refused, ...
            raise ValueError(f"{path / 'trainer.pt'} cannot be read ({type(e).__name__}: {e})") from None
    return weights, state


def latest_good_checkpoint(
    directory: str | os.PathLike | None, phase: str, device: str | torch.device = "cpu", set_aside: bool = True
) -> tuple[Path, dict, dict | None] | None:
    """The newest checkpoint of ``phase`` that loads (checksums match, files parse) as
    ``(path, weights, trainer_state)``, or None when there is none.

    Each damaged newer checkpoint is logged as a warning naming it and, with ``set_aside`` (the
    process that writes the run), renamed ``<name>.corrupt`` (kept for inspection, no longer a
    checkpoint).
    """
    for path in checkpoints_of(directory, phase):
        try:
            weights, state = load_checkpoint(path, device)
        except (ValueError, OSError) as e:
            logger.warning("checkpoint %s is damaged (%s); falling back to the previous one", path, e)
            if set_aside:
                aside = path.with_name(path.name + ".corrupt")
                shutil.rmtree(aside, ignore_errors=True)
                os.replace(path, aside)
            continue
        return path, weights, state
    return None


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
