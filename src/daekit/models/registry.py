"""The model registry and model files: safetensors weights + a JSON config, written atomically.

A model folder holds ``model.safetensors`` and ``config.json`` (``model_class``, the model's own
config, and any extra keys); a training checkpoint (:mod:`daekit.training.checkpoints`) adds
``trainer.pt``. Every model class is registered with :func:`register_model` where it is defined,
and :mod:`daekit.models` imports every model module, so the registry is complete once
``daekit`` is imported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import torch
from safetensors.torch import load_file, save
from torch import nn

from ..utils.atomic import atomic_directory, atomic_write_bytes, write_json
from ..utils.checksums import verify_checksums, write_checksums

__all__ = [
    "MODEL_REGISTRY",
    "register_model",
    "model_config",
    "write_model_files",
    "save_model",
    "load_model",
    "read_weights",
]

MODEL_REGISTRY: dict[str, Callable[[dict[str, Any]], nn.Module]] = {}


class _ConfigurableModel(Protocol):
    """A model class with ``from_config(config)``, which builds the model from its config dict."""

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> nn.Module: ...


_Model = TypeVar("_Model", bound=_ConfigurableModel)


def register_model(cls: type[_Model]) -> type[_Model]:
    """Class decorator: make ``cls`` loadable by :func:`load_model` (it needs ``from_config``)."""
    MODEL_REGISTRY[cls.__name__] = cls.from_config
    return cls


def model_config(model: nn.Module) -> dict[str, Any]:
    """``{"model_class": name, "model": model.config.to_dict()}``, what :func:`load_model` rebuilds from."""
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "to_dict"):
        raise TypeError(f"{type(model).__name__} has no .config with to_dict(); it cannot be checkpointed")
    return {"model_class": type(model).__name__, "model": config.to_dict()}


def write_model_files(folder: str | os.PathLike, model: nn.Module, extra_config: dict[str, Any] | None = None) -> None:
    """Write ``model.safetensors`` and ``config.json`` of ``model`` into the existing ``folder``."""
    folder = Path(folder)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # safetensors' save_file creates the file with mode 0600; these bytes get the umask's mode
    atomic_write_bytes(folder / "model.safetensors", save(state))
    write_json(folder / "config.json", {**model_config(model), **(extra_config or {})})


def save_model(path: str | os.PathLike, model: nn.Module, **extra_config: Any) -> Path:
    """Save ``model`` (weights + config, with their SHA-256 in ``SHA256SUMS``) to the folder
    ``path`` atomically; reload with :func:`load_model`."""
    with atomic_directory(path) as tmp:
        write_model_files(tmp, model, extra_config or None)
        write_checksums(tmp)
    return Path(path)


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model saved by :func:`save_model` or a training checkpoint folder.

    A file whose SHA-256 does not match the folder's ``SHA256SUMS``, or that cannot be parsed,
    raises a ValueError naming it.
    """
    path = Path(path)
    config_file, weights_file = path / "config.json", path / "model.safetensors"
    for f in (config_file, weights_file):
        if not f.is_file():
            raise FileNotFoundError(f"{path} is not a daekit checkpoint: {f.name} is missing")
    verify_checksums(path)
    try:
        config = json.loads(config_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{config_file} is not valid JSON ({e})") from None
    cls_name = config.get("model_class")
    if cls_name not in MODEL_REGISTRY:
        raise ValueError(f"{config_file}: unknown model_class {cls_name!r}; known: {sorted(MODEL_REGISTRY)}")
    model = MODEL_REGISTRY[cls_name](config["model"])
    model.load_state_dict(read_weights(weights_file))
    return model.to(device)


def read_weights(weights_file: str | os.PathLike, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The tensors of a ``model.safetensors`` file; a file that cannot be parsed raises a
    ValueError naming it."""
    try:
        return load_file(str(weights_file), device=str(device))
    except Exception as e:  # safetensors raises its own SafetensorError for truncated/garbled files
        raise ValueError(f"{weights_file} cannot be read as safetensors ({type(e).__name__}: {e})") from None
