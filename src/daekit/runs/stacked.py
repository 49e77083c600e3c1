"""``daekit sda``'s run: data splits by name, a resumable run folder, the test error and a report."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from torch import nn

from ..datasets.split import Split, hold_out
from ..stacked.classification import predict_classes
from ..stacked.config import StackedConfig
from ..stacked.pipeline import train_stacked
from ..training.distributed import init_from_env
from ..utils.runtime import peak_rss_mb, resolve_device
from ..utils.validation import check_positive_int
from .folder import RunFolder

#: Labelled training, validation and (optional) test arrays of one experiment.
DataSplits = Split


def load_splits(data: str, train_size: int | None = None, valid_size: int | None = None) -> Split:
    """The train / validation / test split of a data name (see :func:`daekit.datasets.sources.load_dataset`).

    The validation set is the *last* ``valid_size`` examples of the training file (default: MNIST's
    usual 10,000, i.e. train on the first 50k and validate on the last 10k; the ``x_valid`` arrays
    of an ``.npz`` when it has them; else the last sixth), and training uses the first
    ``train_size`` of the remaining examples (default all). The test set is left as it is.
    """
    from ..datasets.sources import load_dataset

    split = load_dataset(data)
    if split.y_train is None:
        raise ValueError(f"data {data!r} has no training labels (y_train); a classifier needs them")
    x, y = np.asarray(split.x_train, dtype=np.float32), np.asarray(split.y_train)
    x = x.reshape(len(x), -1)
    x_valid = y_valid = None
    if valid_size is None and data.endswith(".npz"):
        with np.load(data) as z:
            if "x_valid" in z and "y_valid" in z:
                x_valid = np.asarray(z["x_valid"], dtype=np.float32).reshape(len(z["x_valid"]), -1)
                y_valid = np.asarray(z["y_valid"])
    if x_valid is None:
        n_valid = valid_size if valid_size is not None else (10_000 if split.name == "mnist" else len(x) // 6)
        held = hold_out(Split(split.name, x, y), n_valid)
        x, y, x_valid, y_valid = held.x_train, held.y_train, held.x_valid, held.y_valid
    if train_size is not None:
        check_positive_int(train_size, "train_size")
        if train_size > len(x):
            raise ValueError(f"train_size={train_size} is larger than the {len(x)} training examples available")
        x, y = x[:train_size], y[:train_size]
    x_test = y_test = None
    if split.x_test is not None and split.y_test is not None:
        x_test = np.asarray(split.x_test, dtype=np.float32).reshape(len(split.x_test), -1)
        y_test = np.asarray(split.y_test)
    return Split(split.name, x, y, x_valid, y_valid, x_test, y_test, note=split.note)


def run_stacked(
    config: StackedConfig,
    data: str | Split,
    out: str | os.PathLike,
    *,
    train_size: int | None = None,
    valid_size: int | None = None,
    resume: bool = False,
    callbacks: Sequence[Callable[[dict[str, Any], nn.Module], None]] = (),
) -> dict[str, Any]:
    """A complete SdA / SAA experiment in the run folder ``out``; returns result.json's content.

    ``out`` receives ``config.json`` (the resolved settings, written atomically before training),
    ``metrics.jsonl`` (one line per epoch per phase), ``checkpoints/`` (after every epoch of every
    pretraining layer and of fine-tuning: a killed run continues with ``resume=True`` to the same
    weights), ``model/`` (the fine-tuned :class:`StackedNetwork`, for
    :func:`daekit.models.registry.load_model`), ``filters.png`` (first-layer filters after pretraining),
    ``filters_finetuned.png`` and ``result.json`` (validation and test error with 95% intervals,
    seconds per phase, peak RSS).
    """
    t_start = time.perf_counter()
    out = Path(out)
    ctx = init_from_env(resolve_device(config.device))  # under torchrun: all ranks train, rank 0 writes
    splits = data if isinstance(data, Split) else load_splits(data, train_size, valid_size)
    classes = np.unique(splits.y_train)
    if not np.issubdtype(classes.dtype, np.integer) or classes.min() < 0:
        raise ValueError(f"labels of {splits.name} must be integers >= 0")
    n_classes = 1 + max(
        [int(classes.max())] + [int(y.max()) for y in (splits.y_valid, splits.y_test) if y is not None and len(y)]
    )
    resolved = {
        "data": splits.name,
        "train_size": train_size,
        "valid_size": valid_size,
        "n_train": len(splits.x_train),
        "n_valid": 0 if splits.x_valid is None else len(splits.x_valid),
        "n_test": 0 if splits.x_test is None else len(splits.x_test),
        "n_features": int(splits.x_train.shape[1]),
        "n_classes": n_classes,
        **config.to_dict(),
    }
    run = RunFolder(out)
    with run if ctx.is_main else contextlib.nullcontext():
        if ctx.is_main:
            run.start(resolved, resume=resume, resumable=StackedConfig.RESUMABLE, defaults=StackedConfig().to_dict())
        ctx.barrier()  # rank 0 has checked the folder before any rank trains
        return _train_and_report(config, splits, resolved, run, resume, callbacks, ctx, n_classes, t_start)


def _train_and_report(
    config: StackedConfig,
    splits: Split,
    resolved: dict[str, Any],
    run: RunFolder,
    resume: bool,
    callbacks,
    ctx,
    n_classes: int,
    t_start: float,
) -> dict[str, Any]:
    from ..metrics import classification_error
    from ..models.registry import save_model

    result = train_stacked(
        splits.x_train,
        splits.y_train,
        splits.x_valid,
        splits.y_valid,
        config,
        n_classes=n_classes,
        run=run,
        resume=resume,
        callbacks=callbacks,
        distributed=ctx,
    )
    if not ctx.is_main:
        return {"rank": ctx.rank}
    network = result.network
    device = next(network.parameters()).device
    save_model(run.model_path, network, data=splits.name)

    report: dict[str, Any] = {
        "data": splits.name,
        "n_train": resolved["n_train"],
        "n_valid": resolved["n_valid"],
        "n_test": resolved["n_test"],
        "resumed": bool(resume),
    }
    t0 = time.perf_counter()
    for part in ("train", "valid", "test"):
        x, y = getattr(splits, f"x_{part}"), getattr(splits, f"y_{part}")
        if x is not None and len(x):
            error, half = classification_error(y, predict_classes(network, x, device, config.encode_chunk_size))
            report[f"{part}_error"], report[f"{part}_error_ci95"] = error, half
    evaluate_seconds = time.perf_counter() - t0
    history = result.finetune_history
    report.update(
        {
            "best_epoch": history.best_epoch,
            "finetune_epochs_run": len(history.records),
            "stopped_early": history.stopped_early,
            "pretrain_final_loss": [h.train_loss[-1] if h.records else None for h in result.pretrain_histories],
            # time spent training each phase, summed over its epochs (including epochs before a resume)
            "phase_seconds": {
                **{
                    f"pretrain-{k + 1}": sum(r["seconds"] for r in h.records)
                    for k, h in enumerate(result.pretrain_histories)
                },
                "finetune": sum(r["seconds"] for r in history.records),
            },
            # wall time of this process per phase (pretraining includes encoding the data for the next layer)
            "wall_seconds": {**result.phase_seconds, "evaluate": evaluate_seconds},
        }
    )
    from ..viz import plot_filters

    assert isinstance(config.noise_levels, tuple)  # StackedConfig.__post_init__ makes it one per layer
    if result.encoders:
        plot_filters(
            result.encoders[0].W.detach().cpu().numpy(),
            run.figure("filters.png"),
            title=f"layer 1 after pretraining ({config.corruptions[0]}, ν={config.noise_levels[0]:g})",
        )
    plot_filters(
        cast(nn.Linear, network.hidden[0]).weight.detach().cpu().numpy(),
        run.figure("filters_finetuned.png" if result.encoders else "filters.png"),
        title="layer 1 after fine-tuning",
    )
    report["total_seconds"] = time.perf_counter() - t_start
    report["peak_rss_mb"] = peak_rss_mb()
    run.write_result(report)
    return report
