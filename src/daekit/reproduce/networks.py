"""SAA-3, SdA-3 and DBN-3: a grid of pretrained stacks, each fine-tuned at every learning rate of
the grid and selected on validation."""

from __future__ import annotations

import math
import time
from typing import Any

from .budget import Budget
from .data import ReproData
from .trials import TrialCache, errors, log, point_key, selection_key


def stacked_config(
    budget: Budget,
    width: int,
    epochs: int,
    noise: float,
    finetune_lr: float,
    device: str,
    verbose: int,
    n_train: int,
    resource: float = 1.0,
):
    """The :class:`~daekit.stacked.StackedConfig` of one grid point. ``resource`` in (0, 1]
    scales the pretraining epochs, the fine-tuning epoch cap and the patience (each at least 1;
    successive halving's early rungs, :mod:`daekit.reproduce.halving`); 1 is the budget itself."""
    from ..stacked import StackedConfig

    finetune_epochs, patience = budget.finetune_schedule(n_train)
    if resource != 1.0:
        epochs, finetune_epochs, patience = (
            max(1, math.ceil(v * resource)) for v in (epochs, finetune_epochs, patience)
        )
    return StackedConfig(
        hidden_layer_sizes=(width,) * budget.n_layers,
        corruption="masking",
        noise_levels=noise,
        tied_weights=True,
        reconstruction="bernoulli",
        pretrain=True,
        pretrain_epochs=epochs,
        pretrain_learning_rate=budget.pretrain_lr,
        finetune_epochs=finetune_epochs,
        finetune_learning_rate=finetune_lr,
        batch_size=budget.batch_size,
        optimizer="sgd",
        early_stopping=True,
        patience=patience,
        seed=budget.seed,
        device=device,
        verbose=max(0, verbose - 1),
    )


def _pretrained_network(model: str, data: ReproData, budget: Budget, config, rbm_lr: float):
    """The stack of ``model`` pretrained without labels (DAEs, or RBMs for DBN-3), as a
    classifier with a zero output layer; and the seconds per pretraining phase."""
    import torch

    from ..dbn import network_from_rbms, pretrain_rbms
    from ..models.stacked import StackedNetwork
    from ..stacked import pretrain_layers
    from ..utils.runtime import resolve_device

    if model == "DBN-3":
        rbms, seconds = pretrain_rbms(
            data.x_train,
            config.hidden_layer_sizes,
            epochs=config.pretrain_epochs,
            learning_rate=rbm_lr,
            batch_size=budget.rbm_batch_size,
            seed=config.seed,
            rbm=budget.rbm,
            device=str(resolve_device(config.device)),
            verbose=config.verbose,
        )
        return network_from_rbms(rbms, data.n_classes), seconds
    x = torch.as_tensor(data.x_train, device=resolve_device(config.device))
    encoders, _, seconds = pretrain_layers(x, config)
    return StackedNetwork.from_pretrained(encoders, data.n_classes), seconds


def _finetuned_record(base, data: ReproData, config, test: bool = True) -> dict[str, Any]:
    """Fine-tune a copy of the pretrained ``base`` with ``config`` and evaluate it. A learning
    rate that drives the loss to NaN/inf gives a record marked ``diverged`` with validation error
    1 (it can never be selected), instead of ending the whole grid."""
    import copy

    import torch

    from ..stacked import finetune
    from ..training.config import NonFiniteLossError

    device = next(base.parameters()).device
    network = copy.deepcopy(base)
    t0 = time.perf_counter()
    try:
        history = finetune(
            network,
            (torch.as_tensor(data.x_train, device=device), torch.as_tensor(data.y_train, device=device)),
            (torch.as_tensor(data.x_valid, device=device), torch.as_tensor(data.y_valid, device=device)),
            config,
        )
    except NonFiniteLossError as err:
        return {
            "valid_error": 1.0,
            "valid_loss": None,
            "test_error": None,
            "test_ci95": None,
            "diverged": str(err),
            "best_epoch": None,
            "finetune_epochs_run": None,
            "stopped_early": None,
            "finetune_seconds": time.perf_counter() - t0,
        }
    seconds = time.perf_counter() - t0
    network.eval()
    # the test error of every grid point is recorded for inspection; selection uses the
    # validation error only
    return {
        **evaluate_network(network, data, test),
        "best_epoch": history.best_epoch,
        "finetune_epochs_run": len(history.records),
        "stopped_early": bool(history.stopped_early),
        "finetune_seconds": seconds,
    }


def evaluate_network(network, data: ReproData, test: bool = True) -> dict[str, float | None]:
    """Validation error and cross-entropy, and (``test``) the test error with its 95% interval;
    successive halving's early rungs skip the test set, which selection never reads."""
    import torch

    from ..stacked import classification_metrics, predict_classes

    device = next(network.parameters()).device
    with torch.no_grad():
        # one pass over validation gives the error and the cross-entropy that breaks grid ties
        valid = classification_metrics(
            network, (torch.as_tensor(data.x_valid, device=device), torch.as_tensor(data.y_valid, device=device))
        )
        test_error, half = errors(data.y_test, predict_classes(network, data.x_test, device)) if test else (None, None)
    return {"valid_error": valid["score"], "valid_loss": valid["loss"], "test_error": test_error, "test_ci95": half}


def third_axis(model: str, budget: Budget) -> tuple[str, tuple[float, ...]]:
    """The third grid axis: ν for SdA-3 (0 for SAA-3), the RBM learning rate for DBN-3."""
    if model == "DBN-3":
        return "rbm_lr", budget.rbm_lrs
    return "noise", budget.noise_levels if model == "SdA-3" else (0.0,)


def network_stacks(model: str, budget: Budget) -> list[dict[str, Any]]:
    """The pretrained stacks of the grid of ``model``, in grid order: ``{"width", "pretrain_epochs",
    third axis}``; every fine-tuning learning rate of the grid starts from each of them."""
    name, values = third_axis(model, budget)
    return [
        {"width": w, "pretrain_epochs": e, name: v}
        for w in budget.widths
        for e in budget.pretrain_epochs
        for v in values
    ]


def stack_records(
    model: str,
    data: ReproData,
    budget: Budget,
    stack: dict[str, Any],
    lrs,
    cache: TrialCache,
    device: str,
    verbose: int,
    resource: float = 1.0,
) -> list[dict[str, Any]]:
    """The grid points of one pretrained ``stack`` (see :func:`network_stacks`) at the fine-tuning
    learning rates ``lrs``: each from ``cache`` or computed (the stack pretrained once, on the
    first point that is missing) and put there. A pure function of its arguments: seeds come
    from ``budget.seed`` only."""
    third_name = "rbm_lr" if model == "DBN-3" else "noise"
    value = stack[third_name]
    base, pretrain_seconds, records = None, {}, []
    for lr in lrs:
        params: dict[str, Any] = {**stack, "finetune_lr": lr}
        key = point_key(params, resource)
        record = cache.get(key)
        if record is None:
            config = stacked_config(
                budget,
                stack["width"],
                stack["pretrain_epochs"],
                value if model != "DBN-3" else 0.0,
                lr,
                device,
                verbose,
                len(data.x_train),
                resource,
            )
            shared = base is not None
            if base is None:
                base, pretrain_seconds = _pretrained_network(model, data, budget, config, value)
            result = _finetuned_record(base, data, config, test=resource == 1.0)
            finetune_seconds = result.pop("finetune_seconds")
            # the first fine-tuning of a stack carries its pretraining time, so the
            # seconds of the records add up to the work done
            phases = {} if shared else dict(pretrain_seconds)
            phases["finetune"] = finetune_seconds
            record = {
                "params": params,
                **result,
                "phase_seconds": {k: round(v, 3) for k, v in phases.items()},
                "pretraining_shared": shared,
                "seconds": sum(phases.values()),
            }
            if resource != 1.0:
                record["resource"] = resource
            cache.put(key, record)
        shown = " ".join(f"{k}={v:g}" for k, v in params.items())
        state = "diverged" if record.get("diverged") else f"best epoch {record['best_epoch']}"
        log(
            verbose,
            f"    {model} {shown}: valid {100 * record['valid_error']:.2f}% ({state}, {record['seconds']:.1f}s)",
        )
        records.append(record)
    return records


def select_network(model: str, dataset: str, trials: list[dict[str, Any]]) -> dict[str, Any]:
    """The body of a network cell: the grid point of lowest :func:`selection_key` among ``trials``."""
    from ..training.config import NonFiniteLossError

    best = min(trials, key=selection_key)
    if best.get("diverged"):
        raise NonFiniteLossError(f"{model} on {dataset}: fine-tuning diverged at every grid point")
    return {
        "selected": best["params"],
        "valid_error": best["valid_error"],
        "test_error": best["test_error"],
        "test_ci95": best["test_ci95"],
        "trials": trials,
        "noise": best["params"].get("noise") if model != "DBN-3" else None,
    }


def run_network(
    model: str, data: ReproData, budget: Budget, cache: TrialCache, device: str, verbose: int
) -> dict[str, Any]:
    trials = []
    for stack in network_stacks(model, budget):
        trials += stack_records(model, data, budget, stack, budget.finetune_lrs, cache, device, verbose)
    return select_network(model, data.name, trials)
