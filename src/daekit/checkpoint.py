"""Checkpoints: safetensors weights + a JSON config, written atomically.

A checkpoint is a folder holding ``model.safetensors``, ``config.json`` and, for a training
checkpoint, ``trainer.pt`` (optimizer and RNG state, history). The folder is assembled under a
temporary name and renamed into place, so an interrupted run never leaves a half-written
checkpoint: a folder with the final name is always complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import load_file, save
from torch import nn

from ._atomic import atomic_write_bytes

__all__ = [
    "register_model",
    "save_model",
    "load_model",
    "save_checkpoint_dir",
    "latest_checkpoint",
    "prune_checkpoints",
    "write_json",
]

MODEL_REGISTRY: dict[str, Callable[[dict[str, Any]], nn.Module]] = {}


def register_model(cls: type) -> type:
    """Class decorator: make ``cls`` loadable by :func:`load_model` (it needs ``from_config``)."""
    MODEL_REGISTRY[cls.__name__] = cls.from_config
    return cls


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def _model_config(model: nn.Module) -> dict[str, Any]:
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "to_dict"):
        raise TypeError(f"{type(model).__name__} has no .config with to_dict(); it cannot be checkpointed")
    return {"model_class": type(model).__name__, "model": config.to_dict()}


def _state_for_safetensors(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def save_checkpoint_dir(path: str | os.PathLike, model: nn.Module, extra_config: dict[str, Any] | None = None,
                        trainer_state: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint folder at ``path`` atomically (assembled elsewhere, then renamed).

    An existing folder at ``path`` is replaced only once the new one is complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-{path.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        # (safetensors' save_file creates the file with mode 0600; these bytes get the umask's mode)
        atomic_write_bytes(tmp / "model.safetensors", save(_state_for_safetensors(model)))
        write_json(tmp / "config.json", {**_model_config(model), **(extra_config or {})})
        if trainer_state is not None:
            torch.save(trainer_state, tmp / "trainer.pt")
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        if path.exists():
            old = path.parent / f".old-{path.name}-{uuid.uuid4().hex[:8]}"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def save_model(path: str | os.PathLike, model: nn.Module, **extra_config: Any) -> Path:
    """Save ``model`` (weights + config) to the folder ``path``; reload with :func:`load_model`."""
    return save_checkpoint_dir(path, model, extra_config or None)


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model saved by :func:`save_model` or a training checkpoint folder."""
    path = Path(path)
    config_file, weights_file = path / "config.json", path / "model.safetensors"
    for f in (config_file, weights_file):
        if not f.is_file():
            raise FileNotFoundError(f"{path} is not a daekit checkpoint: {f.name} is missing")
    config = json.loads(config_file.read_text())
    cls_name = config.get("model_class")
    if cls_name not in MODEL_REGISTRY:
        raise ValueError(f"{config_file}: unknown model_class {cls_name!r}; known: {sorted(MODEL_REGISTRY)}")
    model = MODEL_REGISTRY[cls_name](config["model"])
    model.load_state_dict(load_file(str(weights_file)))
    return model.to(device)


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
