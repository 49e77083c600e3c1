"""A complete DAE training run in a :class:`~daekit.runs.folder.RunFolder`: data, training,
evaluation, figures, result.json.

Used by ``daekit train`` and ``daekit demo``; the folder holds ``config.json`` (the resolved
settings), ``metrics.jsonl``, ``checkpoints/`` (resumable), ``model/`` (the final weights),
``filters.png``, ``reconstructions.png`` and ``result.json``.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np
import torch

from ..corruption import Corruption, make_corruption
from ..datasets.sources import load_dataset
from ..datasets.split import Split, hold_out
from ..models.dae import DAE
from ..models.registry import save_model
from ..numerics.precision import PRECISIONS
from ..objectives.denoising import DenoisingObjective
from ..training.batching import OutOfCoreArray
from ..training.config import NonFiniteLossError, TrainConfig
from ..training.distributed import init_from_env, rank_device
from ..training.loop import fit
from ..training.validation import evaluate_objective
from ..utils.runtime import peak_rss_mb, resolve_device
from ..utils.validation import check_choice, check_positive_int
from ..viz import image_shape, plot_filters, plot_image_rows
from .folder import RunFolder

__all__ = ["DAERunConfig", "train_dae_run"]


@dataclass
class DAERunConfig:
    """Settings of one DAE training run (the CLI's flags, same names with dashes).

    ``RESUMABLE`` names the fields a resumed run may change (:func:`~daekit.runs.folder.check_resume`).
    """

    RESUMABLE: ClassVar[frozenset[str]] = frozenset(
        {"epochs", "verbose", "device", "probe", "probe_size", "keep_checkpoints"}
    )

    data: str = "auto"
    hidden: int = 500
    corruption: str = "masking:0.25"
    epochs: int = 15
    batch_size: int = 20
    lr: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.0
    tied: bool = True
    activation: str = "sigmoid"
    reconstruction: str = "auto"
    valid_size: int = 10000
    early_stopping: bool = False
    seed: int = 0
    device: str = "auto"
    precision: str = "float32"
    probe: bool = True
    probe_size: int = 10000
    verbose: int = 1
    keep_checkpoints: int = 2

    def __post_init__(self) -> None:
        check_positive_int(self.hidden, "hidden")
        check_positive_int(self.keep_checkpoints, "keep_checkpoints")
        check_positive_int(self.valid_size, "valid_size", allow_zero=True)
        if self.early_stopping and self.valid_size == 0:
            raise ValueError("early_stopping needs held-out examples: valid_size must be > 0, got 0")
        make_corruption(self.corruption)
        check_choice(self.precision, "precision", PRECISIONS)


def _linear_probe(model: DAE, split, config: DAERunConfig, device: torch.device) -> dict[str, Any]:
    """Test error of a logistic regression on the hidden code of clean input (first
    ``probe_size`` training examples)."""
    from sklearn.linear_model import LogisticRegression

    def codes(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.cat(
                [model.encode(torch.as_tensor(x[i : i + 4096], device=device)).cpu() for i in range(0, len(x), 4096)]
            ).numpy()

    n = min(config.probe_size, len(split.x_train))
    clf = LogisticRegression(max_iter=500).fit(codes(split.x_train[:n]), split.y_train[:n])
    error = float(np.mean(clf.predict(codes(split.x_test)) != split.y_test))
    return {
        "probe_train_size": n,
        "probe_test_error": error,
        "probe_test_error_ci95": 1.96 * float(np.sqrt(error * (1 - error) / len(split.y_test))),
    }


def train_dae_run(
    config: DAERunConfig, out: str | os.PathLike, resume: bool = False, overwrite: bool = False
) -> dict[str, Any]:
    """Train a DAE as ``config`` says, writing everything into the run folder ``out``; returns
    result.json's content.

    A fresh run refuses a folder that already holds one (``overwrite`` replaces it); ``resume`` continues it from its newest
    good checkpoint when the configuration equals the saved one outside
    ``DAERunConfig.RESUMABLE``. A folder in use by another process is refused.
    """
    out = Path(out)
    ctx = init_from_env(resolve_device(config.device))  # a torchrun job: every rank trains, rank 0 alone writes
    t_start = time.perf_counter()
    split = load_dataset(config.data)  # bad data is refused before the folder is made
    run = RunFolder(out)
    if not ctx.is_main:
        return _train_dae_run(config, split, run, resume, overwrite, ctx, t_start)
    with run:
        return _train_dae_run(config, split, run, resume, overwrite, ctx, t_start)


def _train_dae_run(
    config: DAERunConfig, split, run: RunFolder, resume: bool, overwrite: bool, ctx, t_start: float
) -> dict[str, Any]:
    device = rank_device(resolve_device(config.device), ctx)
    x: OutOfCoreArray | np.ndarray
    if isinstance(split.x_train, np.memmap):  # a .npy file: train from disk in chunks
        x = OutOfCoreArray(split.x_train)
        lo, hi = x.min_max()
    else:
        x = np.asarray(split.x_train, dtype=np.float32)
        lo, hi = float(x.min()), float(x.max())
    if config.reconstruction == "auto":
        reconstruction = "bernoulli" if lo >= 0 and hi <= 1 else "gaussian"
    else:
        reconstruction = config.reconstruction
    data = hold_out(Split(split.name, x), config.valid_size, max_fraction=0.2)  # at most a fifth
    x_train, x_valid = data.x_train, data.x_valid
    n_valid = 0 if x_valid is None else len(x_valid)
    resolved = {
        **asdict(config),
        "data_used": split.name,
        "reconstruction": reconstruction,
        "n_train": len(x_train),
        "n_valid": n_valid,
    }
    resolved["world_size"] = ctx.world_size
    if ctx.is_main:
        run.start(
            resolved,
            resume=resume,
            resumable=DAERunConfig.RESUMABLE,
            defaults=asdict(DAERunConfig()),
            overwrite=overwrite,
        )
    ctx.barrier()  # rank 0 has checked the folder and the configuration

    model = DAE(
        x.shape[1],
        config.hidden,
        config.tied,
        config.activation,
        reconstruction,
        generator=torch.Generator().manual_seed(config.seed),
    )
    # a string spec always builds a Corruption (which has a spec), never a bare callable
    corruption = cast(Corruption, make_corruption(config.corruption))
    train_config = TrainConfig(
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        optimizer=config.optimizer,
        momentum=config.momentum,
        early_stopping=config.early_stopping,
        seed=config.seed,
        device=str(device),
        verbose=config.verbose,
        precision=config.precision,
        keep_checkpoints=config.keep_checkpoints,
    )
    t_train = time.perf_counter()
    try:
        history = fit(
            model,
            DenoisingObjective(corruption),
            data,
            train_config,
            run=run,
            phase="train",
            resume=resume,
            distributed=ctx,
        )
    except NonFiniteLossError:
        if ctx.is_main:  # the model holds the last good checkpoint's weights: it is the run's model
            save_model(run.model_path, model.eval(), data=split.name)
        raise
    train_seconds = time.perf_counter() - t_train
    if not ctx.is_main:
        return {"rank": ctx.rank, "train_seconds": train_seconds}
    model.eval()
    save_model(run.model_path, model, data=split.name)

    result: dict[str, Any] = {
        "data": split.name,
        "note": split.note,
        "epochs": len(history.records),
        "final_train_loss": history.train_loss[-1] if history.records else None,
        "train_seconds": train_seconds,
    }
    shape = image_shape(x.shape[1])
    plot_filters(
        model.W.detach().cpu().numpy(), run.figure("filters.png"), title=f"{split.name}: filters, {corruption.spec}"
    )
    if split.x_test is not None:
        x_test = torch.as_tensor(np.asarray(split.x_test[:2000], dtype=np.float32), device=device)
        result["test_loss_corrupted"] = evaluate_objective(
            model, DenoisingObjective(corruption), (x_test,), seed=config.seed
        )
        result["test_loss_clean"] = evaluate_objective(
            model, DenoisingObjective(make_corruption("none")), (x_test,), seed=0
        )
        clean = x_test[:12]
        corrupted = corruption(clean, torch.Generator(device=device).manual_seed(config.seed))
        with torch.no_grad():
            rec = model.reconstruct(corrupted)
        plot_image_rows(
            [t.cpu().numpy() for t in (clean, corrupted, rec)],
            ["clean", "corrupted", "reconstructed"],
            run.figure("reconstructions.png"),
            shape,
        )
        if config.probe and split.y_train is not None and split.y_test is not None:
            result.update(_linear_probe(model, split, config, device))
    result["total_seconds"] = time.perf_counter() - t_start
    result["peak_rss_mb"] = peak_rss_mb()
    run.write_result(result)
    return result
