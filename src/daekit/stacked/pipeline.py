"""Greedy layer-wise pretraining on the clean codes of the layers below, then supervised fine-tuning."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from ..datasets.split import Split
from ..models.dae import DAE
from ..models.stacked import StackedNetwork
from ..objectives.classification import ClassificationObjective
from ..objectives.denoising import DenoisingObjective
from ..training.batching import as_tensors
from ..training.config import History
from ..training.distributed import DistributedContext
from ..training.loop import fit
from ..utils.runtime import make_generator, resolve_device
from ..utils.validation import check_positive_int
from .classification import classification_metrics
from .config import _INIT_SEED, _NETWORK_INIT_SEED, StackedConfig

if TYPE_CHECKING:
    from ..runs.folder import RunFolder


@torch.no_grad()
def _chunked(fn: Callable[[Tensor], Tensor], x: Tensor, chunk_size: int) -> Tensor:
    return torch.cat([fn(x[i : i + chunk_size]) for i in range(0, len(x), chunk_size)]) if len(x) else fn(x)


def encode_dataset(encoder: DAE, x: Tensor, chunk_size: int = 4096) -> Tensor:
    """h = f_θ(x) of every row of ``x``, the clean (uncorrupted) encoding, computed once in chunks
    under ``torch.no_grad`` (the input of the next layer's pretraining)."""
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.parameters()).device
    h = _chunked(lambda t: encoder.encode(t.to(device)), x, chunk_size)
    encoder.train(was_training)
    return h


def _resolve_reconstruction(reconstruction: str, x: Tensor) -> str:
    if reconstruction != "auto":
        return reconstruction
    inside = len(x) == 0 or (float(x.min()) >= 0.0 and float(x.max()) <= 1.0)
    return "bernoulli" if inside else "gaussian"


def pretrain_layers(
    x: Any,
    config: StackedConfig,
    *,
    run: RunFolder | None = None,
    run_dir: str | None = None,
    resume: bool = False,
    callbacks: Sequence[Callable[[dict[str, Any], nn.Module], None]] = (),
    distributed: DistributedContext | None = None,
) -> tuple[list[DAE], list[History], dict[str, float]]:
    """Greedy layer-wise denoising pretraining (Vincent et al. 2010, Fig. 3).

    Layer k (1-based) is a :class:`~daekit.models.dae.DAE` trained by :func:`daekit.training.loop.fit` (phase
    ``"pretrain-k"``) on the clean encodings h_{k−1} = f_{k−1}(…f_1(x)) of the layers below,
    corrupted by layer k's own corruption process only while layer k trains. h_k is computed once
    after layer k finishes. Returns the trained DAEs, their histories and the seconds spent per
    phase (training plus encoding).
    """
    device = resolve_device(config.device)
    (h,) = as_tensors(x, device)
    h = h.reshape(len(h), -1)
    daes: list[DAE] = []
    histories: list[History] = []
    seconds: dict[str, float] = {}
    for k, n_hidden in enumerate(config.hidden_layer_sizes):
        t0 = time.perf_counter()
        phase = f"pretrain-{k + 1}"
        reconstruction = _resolve_reconstruction(config.reconstruction, h) if k == 0 else "bernoulli"
        dae = DAE(
            h.shape[1],
            n_hidden,
            tied_weights=config.tied_weights,
            reconstruction=reconstruction,
            generator=make_generator(config.seed + _INIT_SEED + k + 1),
        )
        objective = DenoisingObjective(config.layer_corruption(k))
        history = fit(
            dae,
            objective,
            h,
            config.pretrain_config(k),
            run=run,
            run_dir=run_dir,
            phase=phase,
            resume=resume,
            callbacks=callbacks,
            distributed=distributed,
        )
        daes.append(dae)
        histories.append(history)
        if k + 1 < config.n_layers:
            h = encode_dataset(dae, h, config.encode_chunk_size)
        seconds[phase] = time.perf_counter() - t0
    return daes, histories, seconds


def finetune(
    network: StackedNetwork,
    train: tuple[Any, Any],
    valid: tuple[Any, Any] | None,
    config: StackedConfig,
    *,
    run: RunFolder | None = None,
    run_dir: str | None = None,
    resume: bool = False,
    callbacks: Sequence[Callable[[dict[str, Any], nn.Module], None]] = (),
    distributed: DistributedContext | None = None,
) -> History:
    """Supervised fine-tuning of the whole stack on the cross-entropy (phase ``"finetune"``), with
    early stopping on the classification error of ``valid``; the best parameters are kept."""
    data = Split("finetune", *train, *(valid if valid is not None else (None, None)))
    return fit(
        network,
        ClassificationObjective(),
        data,
        config.finetune_config(valid is not None),
        run=run,
        run_dir=run_dir,
        phase="finetune",
        resume=resume,
        valid_metric=classification_metrics if valid is not None else None,
        callbacks=callbacks,
        distributed=distributed,
    )


@dataclass
class StackedResult:
    """What :func:`train_stacked` returns."""

    network: StackedNetwork
    encoders: list[DAE]
    pretrain_histories: list[History]
    finetune_history: History
    phase_seconds: dict[str, float]


def label_tensor(y: Any) -> Tensor:
    t = y if isinstance(y, Tensor) else torch.as_tensor(np.asarray(y))
    if t.is_floating_point() or t.dim() != 1:
        raise ValueError(
            f"labels must be a 1-D integer array 0..n_classes-1, got dtype {t.dtype} shape {tuple(t.shape)}"
        )
    return t.long()


def train_stacked(
    x: Any,
    y: Any,
    x_valid: Any = None,
    y_valid: Any = None,
    config: StackedConfig | None = None,
    *,
    n_classes: int | None = None,
    run: RunFolder | None = None,
    run_dir: str | None = None,
    resume: bool = False,
    callbacks: Sequence[Callable[[dict[str, Any], nn.Module], None]] = (),
    distributed: DistributedContext | None = None,
) -> StackedResult:
    """Train a stacked denoising autoencoder classifier (SdA; SAA with all noise levels 0; a plain
    deep network with ``pretrain=False``): :func:`pretrain_layers` on ``x`` then :func:`finetune`
    on ``(x, y)`` with early stopping on ``(x_valid, y_valid)``.

    ``y`` holds integer labels 0..n_classes−1. With ``run`` (a
    :class:`~daekit.runs.folder.RunFolder`) or ``run_dir`` (its path), every epoch of every phase is
    checkpointed there and ``resume=True`` continues a killed run to the same final weights.
    ``distributed`` is passed to :func:`daekit.training.loop.fit` (None: the torchrun job of the
    environment, if any).
    """
    config = config or StackedConfig()
    device = resolve_device(config.device)
    (x_t,) = as_tensors(x, device)
    x_t = x_t.reshape(len(x_t), -1)
    y_t = label_tensor(y).to(device)
    if len(x_t) != len(y_t):
        raise ValueError(f"x and y must have the same length, got {len(x_t)} and {len(y_t)}")
    if len(x_t) == 0:
        raise ValueError("x must hold at least one example")
    n_classes = int(y_t.max()) + 1 if n_classes is None else check_positive_int(n_classes, "n_classes")
    valid = None
    if x_valid is not None:
        (xv,) = as_tensors(x_valid, device)
        valid = (xv.reshape(len(xv), -1), label_tensor(y_valid).to(device))
        if valid[0].shape[1] != x_t.shape[1]:
            raise ValueError(f"x_valid has {valid[0].shape[1]} features, x has {x_t.shape[1]}")
    if int(y_t.min()) < 0 or int(y_t.max()) >= n_classes:
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    seconds: dict[str, float] = {}
    if config.pretrain:
        encoders, histories, seconds = pretrain_layers(
            x_t, config, run=run, run_dir=run_dir, resume=resume, callbacks=callbacks, distributed=distributed
        )
        network = StackedNetwork.from_pretrained(encoders, n_classes)
    else:
        encoders, histories = [], []
        network = StackedNetwork(
            x_t.shape[1],
            config.hidden_layer_sizes,
            n_classes,
            generator=make_generator(config.seed + _NETWORK_INIT_SEED),
        )
    t0 = time.perf_counter()
    history = finetune(
        network,
        (x_t, y_t),
        valid,
        config,
        run=run,
        run_dir=run_dir,
        resume=resume,
        callbacks=callbacks,
        distributed=distributed,
    )
    seconds["finetune"] = time.perf_counter() - t0
    network.eval()
    return StackedResult(network, encoders, histories, history, seconds)
