"""``daekit sda``: a stacked denoising autoencoder classifier (SdA) run into a folder.

Settings come from the defaults, then an optional TOML file (``--config FILE.toml``, whose keys are
the flag names with dashes or underscores, e.g. ``pretrain-epochs = 15`` or
``layers = [1000, 1000, 1000]``), then the flags given on the command line.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, packaged as tomli (a dependency there)
    import tomli as tomllib

from . import CLIError
from ._args import add_nproc_flag, launch_with_torchrun, print_result

# flag name (argparse dest) -> (default, help)
_SETTINGS: dict[str, tuple[Any, str]] = {
    "data": (
        "mnist",
        "mnist (train on the first 50k, validate on the last 10k), digits, or FILE.npz "
        "(x_train, y_train, x_test, y_test, optional x_valid, y_valid)",
    ),
    "layers": ([1000, 1000, 1000], "hidden layer sizes, comma-separated (default 1000,1000,1000)"),
    "noise": ([0.1, 0.2, 0.3], "noise level per layer, or one for all; 0 gives SAA (default 0.1,0.2,0.3)"),
    "corruption": (["masking"], "corruption kind per layer, or one for all: masking, saltpepper, gaussian, none"),
    "pretrain_epochs": (15, "pretraining epochs per layer (default 15)"),
    "finetune_epochs": (100, "maximum fine-tuning epochs (default 100)"),
    "batch_size": (20, "minibatch size (default 20)"),
    "pretrain_lr": (0.01, "pretraining learning rate (default 0.01)"),
    "finetune_lr": (0.1, "fine-tuning learning rate (default 0.1)"),
    "optimizer": ("sgd", "sgd or adam (default sgd)"),
    "patience": (10, "fine-tuning epochs without a better validation error before stopping (default 10)"),
    "no_early_stopping": (False, "run all fine-tuning epochs"),
    "no_pretrain": (False, "no pretraining: fine-tune the same network from random initialization"),
    "untied": (False, "give each pretraining decoder its own weights"),
    "reconstruction": ("auto", "first layer's loss: auto, bernoulli (cross-entropy) or gaussian (squared error)"),
    "train_size": (None, "train on the first N training examples (e.g. 10000)"),
    "valid_size": (None, "validate on the last N examples of the training file (default 10000 for MNIST)"),
    "seed": (0, "random seed (default 0)"),
    "device": ("auto", "auto, cpu, cuda or cuda:N"),
    "precision": (
        "float32",
        "precision of the training steps' matrix products: float32 or bfloat16 (float32 weights and updates)",
    ),
    "threads": (None, "torch CPU threads for this process (default: torch's choice)"),
    "out": (None, "run folder, e.g. runs/NAME"),
    "resume": (False, "continue the run in --out from its newest checkpoints"),
    "quiet": (False, "no progress output"),
}
_BOOLEAN = {"no_early_stopping", "no_pretrain", "untied", "resume", "quiet"}
#: The StackedConfig field each setting sets, where the flag's short name differs; the field's own
#: name is accepted too, as a flag (``--hidden-layer-sizes``, ``--no-tied-weights``) and a TOML key.
FIELD_NAMES = {
    "layers": "hidden_layer_sizes",
    "noise": "noise_levels",
    "pretrain_lr": "pretrain_learning_rate",
    "finetune_lr": "finetune_learning_rate",
    "untied": "no_tied_weights",
}
_BY_FIELD_NAME = {field: key for key, field in FIELD_NAMES.items()}


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _int(value: Any, minimum: int) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, str):
        value = int(value.strip())
    if not isinstance(value, int) or value < minimum:
        raise ValueError
    return value


def _float(value: Any, positive: bool) -> float:
    if isinstance(value, bool):
        raise ValueError
    value = float(value.strip() if isinstance(value, str) else value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError
    return value


def _items(value: Any) -> list:
    if isinstance(value, str):
        items = [t.strip() for t in value.split(",")]
        if any(t == "" for t in items):
            raise ValueError
        return items
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _coercer(key: str) -> tuple[Callable[[Any], Any], str]:
    """The function turning a flag string or a TOML value into the setting, and what it expects."""
    if key == "layers":
        return (lambda v: [_int(t, 1) for t in _items(v)] or _raise()), "comma-separated integers >= 1"
    if key == "noise":
        return (lambda v: [_float(t, False) for t in _items(v)] or _raise()), "comma-separated numbers >= 0"
    if key == "corruption":
        return (lambda v: [str(t) for t in _items(v)] or _raise()), "comma-separated corruption kinds"
    if key in ("pretrain_epochs", "finetune_epochs", "seed"):
        return (lambda v: _int(v, 0)), "an integer >= 0"
    if key in ("batch_size", "patience", "threads", "train_size"):
        return (lambda v: _int(v, 1)), "an integer >= 1"
    if key == "valid_size":
        return (lambda v: _int(v, 0)), "an integer >= 0"
    if key in ("pretrain_lr", "finetune_lr"):
        return (lambda v: _float(v, True)), "a number > 0"
    if key == "optimizer":
        return (lambda v: v if v in ("sgd", "adam") else _raise()), "sgd or adam"
    if key == "precision":
        return (lambda v: v if v in ("float32", "bfloat16") else _raise()), "float32 or bfloat16"
    if key == "reconstruction":
        return (lambda v: v if v in ("auto", "bernoulli", "gaussian") else _raise()), "auto, bernoulli or gaussian"
    if key in _BOOLEAN:
        return (lambda v: v if isinstance(v, bool) else _raise()), "true or false"
    return (lambda v: v if isinstance(v, str) and v else _raise()), "a non-empty string"


def _raise():
    raise ValueError


def _coerce(key: str, value: Any, where: str) -> Any:
    fn, expected = _coercer(key)
    try:
        return fn(value)
    except (ValueError, TypeError):
        raise CLIError(f"{where}: expected {expected}, got {value!r}") from None


def _read_toml(path: str) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise CLIError(f"--config: file {path} does not exist")
    try:
        raw = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CLIError(f"--config {path}: invalid TOML: {exc}") from None
    settings = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        name = _BY_FIELD_NAME.get(name, name)
        if name not in _SETTINGS:
            raise CLIError(f"--config {path}: unknown key {key!r} (keys are the flag names, e.g. 'pretrain-epochs')")
        settings[name] = _coerce(name, value, f"--config {path}: {key}")
    return settings


def resolve_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults, then the TOML file, then the flags given; every value checked."""
    settings = {key: default for key, (default, _) in _SETTINGS.items()}
    if getattr(args, "config", None):
        settings.update(_read_toml(args.config))
    for key in _SETTINGS:
        if hasattr(args, key):
            settings[key] = _coerce(key, getattr(args, key), _flag(key))
    if not settings["out"]:
        raise CLIError("--out is required (the run folder, e.g. runs/NAME)")
    n = len(settings["layers"])
    for key in ("noise", "corruption"):
        if len(settings[key]) not in (1, n):
            raise CLIError(
                f"{_flag(key)} must have one value, or one per layer of --layers ({n}), "
                f"got {len(settings[key])}: {settings[key]}"
            )
    return settings


def stacked_config(settings: dict[str, Any]):
    """The :class:`daekit.stacked.StackedConfig` of resolved settings."""
    from ..stacked import StackedConfig

    noise, corruption = settings["noise"], settings["corruption"]
    return StackedConfig(
        hidden_layer_sizes=tuple(settings["layers"]),
        corruption=corruption[0] if len(corruption) == 1 else tuple(corruption),
        noise_levels=noise[0] if len(noise) == 1 else tuple(noise),
        tied_weights=not settings["untied"],
        reconstruction=settings["reconstruction"],
        pretrain=not settings["no_pretrain"],
        pretrain_epochs=settings["pretrain_epochs"],
        pretrain_learning_rate=settings["pretrain_lr"],
        finetune_epochs=settings["finetune_epochs"],
        finetune_learning_rate=settings["finetune_lr"],
        batch_size=settings["batch_size"],
        optimizer=settings["optimizer"],
        early_stopping=not settings["no_early_stopping"],
        patience=settings["patience"],
        seed=settings["seed"],
        device=settings["device"],
        precision=settings["precision"],
        verbose=0 if settings["quiet"] else 1,
    )


def run(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    config = stacked_config(settings)
    launched = launch_with_torchrun(args)
    if launched is not None:
        return launched
    if settings["threads"]:
        import torch

        torch.set_num_threads(settings["threads"])
    from ..datasets import DatasetError, DatasetNotFoundError
    from ..runs.stacked import load_splits, run_stacked

    try:
        splits = load_splits(settings["data"], settings["train_size"], settings["valid_size"])
    except (DatasetNotFoundError, DatasetError) as exc:  # their messages span several lines
        raise CLIError(" ".join(line.strip() for line in str(exc).splitlines())) from None
    result = run_stacked(
        config,
        splits,
        settings["out"],
        train_size=settings["train_size"],
        valid_size=settings["valid_size"],
        resume=settings["resume"],
    )
    if "rank" in result:  # a torchrun worker other than rank 0: rank 0 reports
        return 0
    shown = {k: v for k, v in result.items() if not isinstance(v, (dict, list))}
    print_result(settings["out"], shown)
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sda",
        help="stacked denoising autoencoder classifier (pretrain layer by layer, then fine-tune)",
        description="Greedy layer-wise denoising pretraining, then supervised fine-tuning with early stopping "
        "(Vincent et al. 2008). Writes config.json, metrics.jsonl, checkpoints/ (resumable), model/, "
        "filters.png and result.json to --out. Settings: defaults < --config FILE.toml < flags.",
        argument_default=argparse.SUPPRESS,
    )
    p.add_argument("--config", metavar="FILE.toml", help="TOML file whose keys are these flags' names")
    for key, (_, help_text) in _SETTINGS.items():
        flags = [_flag(key)] + ([_flag(FIELD_NAMES[key])] if key in FIELD_NAMES else [])
        if key in _BOOLEAN:
            p.add_argument(*flags, dest=key, action="store_true", help=help_text)
        else:
            p.add_argument(*flags, dest=key, metavar=key.split("_")[-1].upper(), help=help_text)
    add_nproc_flag(p)
    p.set_defaults(func=run)
