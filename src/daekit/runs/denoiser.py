"""Training a U-Net denoiser on image data, and the run-folder work of ``daekit score train
--model unet``, ``daekit sample`` (for a denoiser) and ``daekit evaluate-samples FILE.npy``.

:func:`train_denoiser` runs :func:`daekit.fit` on :class:`~daekit.models.edm.EDMLoss` with Adam (fused
kernel), the model in channels-last memory format, optional bfloat16 autocast
(``precision="bfloat16"``), a wall-clock budget (``minutes``) and a
:class:`~daekit.models.edm.WeightAverage` of the weights, whose averaged model is what gets sampled.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor

from ..models.edm import EDMDenoiser, EDMLoss, WeightAverage
from ..models.registry import load_model, save_model
from ..models.unet import UNet
from ..numerics.precision import compute_dtype
from ..training.config import History, TrainConfig
from ..training.loop import fit
from ..utils.atomic import atomic_path, write_json

logger = logging.getLogger(__name__)

__all__ = [
    "evaluate_sample_file",
    "mnist_images",
    "sample_denoiser_run",
    "save_samples",
    "train_denoiser",
    "train_mnist_unet_run",
]


def mnist_images(n_train: int = 50_000) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST from the local data folder: (x_train, y_train, x_test, y_test), images as float32
    (N, 784) in [0, 1]; ``FileNotFoundError`` naming DAEKIT_DATA when it is not there."""
    from ..datasets import DatasetError, DatasetNotFoundError, load_mnist

    try:
        x_train, y_train, x_test, y_test = load_mnist(download=False, verbose=False)
    except (DatasetNotFoundError, DatasetError) as exc:
        raise FileNotFoundError(str(exc).splitlines()[0] + " (set DAEKIT_DATA to a folder holding mnist/)") from None
    return (np.asarray(x_train, np.float32), np.asarray(y_train), np.asarray(x_test, np.float32), np.asarray(y_test))


def _training_memory_format(precision: str, device: str) -> torch.memory_format:
    """Channels-last weights, except under bfloat16 autocast on a CPU, where oneDNN's channels-last
    convolution backward ran at 0.68x the contiguous one (benchmarks/unet_speed.py, BENCHMARKS.md §11)."""
    if precision == "bfloat16" and torch.device(device).type == "cpu":
        return torch.contiguous_format
    return torch.channels_last


def _sampling_memory_format(device: str = "cpu") -> torch.memory_format:
    """Contiguous weights on a CPU, where a channels-last forward pass of the MNIST U-Net ran at
    0.84x (float32) and 0.67x (bfloat16) the contiguous one (BENCHMARKS.md §11); channels-last elsewhere."""
    return torch.contiguous_format if torch.device(device).type == "cpu" else torch.channels_last


def train_denoiser(
    model: EDMDenoiser,
    images: Any,
    *,
    epochs: int = 1000,
    minutes: float | None = None,
    batch_size: int = 128,
    lr: float = 1e-3,
    precision: str = "float32",
    seed: int = 0,
    ema_halflife_images: float = 50_000.0,
    device: str = "cpu",
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
    verbose: int = 1,
) -> tuple[EDMDenoiser, History]:
    """Train ``model`` on ``images`` (N, C, H, W) with :class:`~daekit.models.edm.EDMLoss` through
    :func:`daekit.fit`; returns (the weight-averaged copy for sampling, the history). ``epochs``
    caps the passes, ``minutes`` the wall-clock time. With ``run_dir`` the average is saved to
    ``run_dir/ema`` after every epoch and restored by ``resume``."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if x.dim() != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(x.shape)}")
    # Module.to takes memory_format at run time; torch's typed overloads omit it
    model.to(memory_format=_training_memory_format(precision, device))  # type: ignore[call-overload]
    ema = WeightAverage(model, halflife_images=ema_halflife_images)
    ema_dir = Path(run_dir) / "ema" if run_dir is not None else None
    if resume and ema_dir is not None and (ema_dir / "model.safetensors").is_file():
        ema.averaged.module.load_state_dict(load_model(ema_dir).state_dict())
        ema.images = int(json.loads((ema_dir / "config.json").read_text()).get("images", 0))

    def save_average(record: dict[str, Any], _model: torch.nn.Module) -> None:
        record["images"] = ema.images  # images seen so far (in the returned history)
        if ema_dir is not None:
            save_model(ema_dir, ema.averaged.module, images=ema.images, epoch=record["epoch"])

    config = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        optimizer="adam",
        seed=seed,
        device=device,
        verbose=verbose,
        precision=precision,
        max_minutes=minutes,
    )
    try:
        history = fit(model, EDMLoss(), (x,), config=config, run_dir=run_dir, resume=resume, callbacks=[save_average])
    finally:
        ema.detach()
    averaged = cast(EDMDenoiser, ema.module().cpu())  # a copy of the EDMDenoiser ``model``
    return averaged, history


def train_mnist_unet_run(
    out: str | os.PathLike,
    *,
    minutes: float | None,
    epochs: int,
    channels: int = 32,
    channel_mult: Sequence[int] = (1, 2, 2),
    blocks_per_level: int = 2,
    batch_size: int = 128,
    lr: float = 1e-3,
    precision: str = "float32",
    seed: int = 0,
    n_train: int = 50_000,
    ema_halflife_images: float = 50_000.0,
    device: str = "cpu",
    verbose: int = 1,
) -> dict[str, Any]:
    """``daekit score train --data mnist --model unet``: train an EDM-preconditioned
    :class:`~daekit.models.unet.UNet` on the first ``n_train`` MNIST training images and write the run
    folder ``out`` (config.json, metrics.jsonl, checkpoints/, ema/, model/ = the averaged
    denoiser, result.json). Returns result.json's content."""
    x_train = mnist_images()[0][:n_train].reshape(-1, 1, 28, 28)
    sigma_data = float(x_train.std())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = EDMDenoiser(UNet(1, channels, tuple(channel_mult), blocks_per_level), sigma_data=sigma_data)
    n_params = sum(p.numel() for p in model.parameters())
    write_json(
        out / "config.json",
        {
            "command": "score train",
            "data": "mnist",
            "data_used": "mnist",
            "model": "unet",
            "n_train": len(x_train),
            "image_shape": [1, 28, 28],
            "sigma_data": sigma_data,
            "channels": channels,
            "channel_mult": list(channel_mult),
            "blocks_per_level": blocks_per_level,
            "parameters": n_params,
            "batch_size": batch_size,
            "lr": lr,
            "precision": precision,
            "minutes": minutes,
            "epochs": epochs,
            "ema_halflife_images": ema_halflife_images,
            "seed": seed,
            "threads": torch.get_num_threads(),
        },
    )
    t0 = time.perf_counter()
    averaged, history = train_denoiser(
        model,
        x_train,
        epochs=epochs,
        minutes=minutes,
        batch_size=batch_size,
        lr=lr,
        precision=precision,
        seed=seed,
        ema_halflife_images=ema_halflife_images,
        device=device,
        run_dir=out,
        verbose=verbose,
    )
    seconds = time.perf_counter() - t0
    save_model(out / "model", averaged, data="mnist", image_shape=[1, 28, 28])
    images_seen = history.records[-1].get("images") if history.records else 0
    result = {
        "train_seconds": seconds,
        "epochs_run": len(history.records),
        "final_train_loss": history.train_loss[-1] if history.records else None,
        "epoch_seconds": [r["seconds"] for r in history.records],
        "parameters": n_params,
        "images_seen": images_seen,
        "images_per_second": images_seen / seconds if images_seen else None,
    }
    write_json(out / "result.json", result)
    return result


def save_samples(path: str | os.PathLike, samples: Tensor | np.ndarray) -> Path:
    """Write ``samples`` to a ``.npy`` file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(samples, dtype=np.float32))
    return path


def sample_denoiser_run(
    run: str | os.PathLike,
    method: str,
    n: int,
    seed: int = 0,
    batch_size: int = 500,
    progress: bool = False,
    precision: str = "float32",
    **options: Any,
) -> tuple[Tensor, float]:
    """``n`` samples from the denoiser in ``run/model`` with ``method`` (see
    :func:`daekit.sampling.edm.draw_denoiser_samples`), clipped to [0, 1] when the run's data is
    MNIST; returns (samples (n, C, H, W), seconds). ``precision="bfloat16"`` runs the network's
    convolutions under bfloat16 autocast; the sampler's own updates stay float32."""
    from ..sampling.edm import draw_denoiser_samples

    run = Path(run)
    model = load_model(run / "model")
    if not isinstance(model, EDMDenoiser):
        raise TypeError(f"{run} holds a {type(model).__name__}, not a denoiser (EDMDenoiser)")
    config = json.loads((run / "config.json").read_text()) if (run / "config.json").is_file() else {}
    net_config: Any = model.net.config  # the wrapped network's own config class
    shape = config.get("image_shape") or [net_config.in_channels, 28, 28]
    dtype = compute_dtype(precision)
    # Module.to takes memory_format at run time; torch's typed overloads omit it
    model.to(memory_format=_sampling_memory_format())  # type: ignore[call-overload]
    t0 = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype is not None):
        samples = draw_denoiser_samples(
            model, method, n, shape, torch.Generator().manual_seed(seed), batch_size, progress=progress, **options
        )
    seconds = time.perf_counter() - t0
    if config.get("data") == "mnist":
        samples = samples.clamp(0, 1)
    return samples, seconds


def evaluate_sample_file(
    path: str | os.PathLike, n_ref: int = 10_000, parzen: bool = True, reference: bool = False
) -> dict[str, Any]:
    """Every metric of :func:`daekit.metrics.sample_quality.evaluate_mnist_samples` for the samples in the
    ``.npy`` file ``path`` (validated first), with the cached classifier (trained once if absent);
    with ``reference`` also the held-out rows (:func:`daekit.metrics.sample_quality.reference_rows`)."""
    from ..metrics.mnist_classifier import classifier_test_accuracy, get_mnist_classifier
    from ..metrics.sample_quality import (
        check_mnist_samples,
        evaluate_mnist_samples,
        reference_rows,
    )

    path = Path(path)
    if path.suffix != ".npy" or not path.is_file():
        raise ValueError(f"samples must be an existing .npy file, got {str(path)!r}")
    try:
        samples = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{path} is not a readable .npy array ({exc})") from None
    samples = check_mnist_samples(samples)
    x_train, _, x_test, _ = mnist_images()
    classifier = get_mnist_classifier()
    result = evaluate_mnist_samples(samples, classifier, x_train, x_test, n_ref=n_ref, parzen=parzen)
    result["classifier_test_accuracy"] = classifier_test_accuracy()
    if reference:
        result["reference"] = reference_rows(classifier, x_train, x_test, n=n_ref, parzen=parzen)
    return result
