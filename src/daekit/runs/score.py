"""The score-matching run of ``daekit score train``: fit a score network to a toy 2-D density in a
:class:`~daekit.runs.folder.RunFolder` and measure it against the exact score.

The network (:class:`~daekit.models.score_networks.ScoreNet`, or a
:class:`~daekit.models.score_networks.NoiseConditionalScoreNet` for ``objective="annealed"``) is
trained with :func:`daekit.training.schedules.fit_in_phases` on samples of a
:mod:`daekit.datasets.toy` density with one of the objectives of :mod:`daekit.score`. All target
the smoothed density q_σ = q * N(0, σ²I): DSM directly, ISM and ESM on noisy samples x̃ = x + σε
(ESM against the exact ∇ log q_σ), the annealed objective over σ-levels from ``sigma_max`` down to
``sigma``.

The folder receives ``config.json`` (the settings, with ``sigma``/``sigmas`` for ``daekit sample``),
``metrics.jsonl``, ``checkpoints/``, ``model/``, ``result.json`` (relative Fisher divergence
E‖s − ∇log q_σ‖²/E‖∇log q_σ‖² on fresh samples of q_σ, wall time) and ``score_field.png``.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from ..utils.validation import check_choice, check_positive, check_positive_int
from .folder import RunFolder

__all__ = ["OBJECTIVES", "ScoreRunConfig", "train_score_run", "toy_extent"]

OBJECTIVES = ("dsm", "ism", "esm", "annealed")


@dataclass
class ScoreRunConfig:
    """Settings of one score-matching run (the flags of ``daekit score train``, same names with
    dashes); validated on creation. ``RESUMABLE`` names the fields a resumed run may change."""

    RESUMABLE: ClassVar[frozenset[str]] = frozenset({"verbose", "device"})

    data: str = "8gaussians"
    objective: str = "dsm"
    sigma: float = 0.1
    epochs: int = 50
    seed: int = 0
    n_train: int = 20000
    n_eval: int = 20000
    batch_size: int = 512
    lr: float = 3e-3
    hidden: tuple[int, ...] = (128, 128)
    activation: str = "silu"
    fourier_features: int = 64
    fourier_scale: float = 1.0
    trace: str = "exact"
    n_probes: int = 1
    sigma_max: float = 1.0
    levels: int = 10
    device: str = "cpu"
    verbose: int = 1

    def __post_init__(self) -> None:
        from ..datasets.toy import TOY_DENSITIES
        from ..models.score_networks import SCORE_ACTIVATIONS

        check_choice(self.data, "data", sorted(TOY_DENSITIES))
        check_choice(self.objective, "objective", OBJECTIVES)
        check_choice(self.activation, "activation", sorted(SCORE_ACTIVATIONS))
        check_choice(self.trace, "trace", ("exact", "hutchinson"))
        for name in ("sigma", "lr", "fourier_scale", "sigma_max"):
            check_positive(getattr(self, name), name)
        for name in ("epochs", "n_train", "n_eval", "batch_size", "n_probes", "levels"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.seed, "seed", allow_zero=True)
        check_positive_int(self.fourier_features, "fourier_features", allow_zero=True)
        self.hidden = tuple(self.hidden)
        if not self.hidden:
            raise ValueError("hidden must name at least one layer width, e.g. 128,128")
        for width in self.hidden:
            check_positive_int(width, "hidden")
        if self.objective == "annealed" and self.sigma_max < self.sigma:
            raise ValueError(f"sigma_max ({self.sigma_max}) must be >= sigma ({self.sigma}) for objective annealed")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hidden": list(self.hidden)}


def toy_extent(density) -> tuple[float, float, float, float]:
    """A square (x0, x1, y0, y1) holding every mixture component of ``density`` with a 3σ margin."""
    means = density.means.numpy()
    spread = float(density.covs.diagonal(dim1=1, dim2=2).max().sqrt())
    lo = means.min(axis=0) - 3 * spread - 0.75
    hi = means.max(axis=0) + 3 * spread + 0.75
    cx, cy = (lo + hi) / 2
    half = float(max(hi - lo)) / 2
    return (cx - half, cx + half, cy - half, cy + half)


def train_score_run(
    config: ScoreRunConfig, out: str | os.PathLike, *, resume: bool = False, overwrite: bool = False
) -> dict[str, Any]:
    """Train as ``config`` says into the run folder ``out``; returns result.json's content.

    A fresh run refuses a folder that holds one unless ``overwrite``; ``resume`` continues phase by
    phase when the configuration equals the saved one outside ``ScoreRunConfig.RESUMABLE``.
    """
    import torch

    from ..datasets.toy import make_toy
    from ..models.registry import save_model
    from ..models.score_networks import NoiseConditionalScoreNet, ScoreNet
    from ..score import (
        ScoreObjective,
        fisher_divergence,
        geometric_sigmas,
        relative_fisher_divergence,
    )
    from ..training.schedules import fit_in_phases, lr_phases
    from ..utils.runtime import resolve_device
    from ..viz import plot_score_field

    t_start = time.perf_counter()
    device = resolve_device(config.device)
    density = make_toy(config.data)
    smoothed = density.smoothed(config.sigma)
    sigmas = (
        geometric_sigmas(config.sigma_max, config.sigma, config.levels).tolist()
        if config.objective == "annealed"
        else None
    )
    resolved = {
        **config.to_dict(),
        "command": "score train",
        "sigmas": sigmas,
        "device": str(device),
        "lr_phases": [[name, e, rate] for name, e, rate in lr_phases(config.epochs, config.lr)],
    }
    with RunFolder(out) as run:
        run.start(
            resolved,
            resume=resume,
            resumable=ScoreRunConfig.RESUMABLE,
            defaults=ScoreRunConfig().to_dict(),
            overwrite=overwrite,
        )
        x_train = density.sample(config.n_train, torch.Generator().manual_seed(config.seed), dtype=torch.float32)
        init = torch.Generator().manual_seed(config.seed + 1)
        model: ScoreNet | NoiseConditionalScoreNet
        if config.objective == "annealed":
            model = NoiseConditionalScoreNet(
                2,
                config.hidden,
                config.activation,
                fourier_features=config.fourier_features,
                fourier_scale=config.fourier_scale,
                generator=init,
            )
            objective = ScoreObjective("annealed", sigmas=sigmas)
        else:
            model = ScoreNet(
                2,
                config.hidden,
                config.activation,
                output_scale=1.0 / config.sigma,
                fourier_features=config.fourier_features,
                fourier_scale=config.fourier_scale,
                generator=init,
            )
            objective = ScoreObjective(
                config.objective, config.sigma, true_score=smoothed.score, trace=config.trace, n_probes=config.n_probes
            )

        t_train = time.perf_counter()
        losses = fit_in_phases(
            model,
            objective,
            x_train,
            config.epochs,
            config.lr,
            config.batch_size,
            config.seed,
            device=str(device),
            run=run,
            verbose=config.verbose,
            resume=resume,
        )
        train_seconds = time.perf_counter() - t_train
        model.eval()
        model.cpu()
        save_model(run.model_path, model, data=config.data)

        # the model is a NoiseConditionalScoreNet exactly when the objective is "annealed"
        score_fn = model.at(config.sigma) if isinstance(model, NoiseConditionalScoreNet) else model
        x_eval = smoothed.sample(config.n_eval, torch.Generator().manual_seed(config.seed + 2), dtype=torch.float32)
        rel = relative_fisher_divergence(score_fn, smoothed.score, x_eval)
        fisher = fisher_divergence(score_fn, smoothed.score, x_eval)
        plot_score_field(
            score_fn,
            smoothed.score,
            smoothed.prob,
            run.figure("score_field.png"),
            extent=toy_extent(density),
            title=f"{config.data}, σ = {config.sigma:g}, {config.objective.upper()}: "
            f"relative Fisher divergence {rel:.3g}",
            labels=("exact ∇ log q_σ", f"learned s_θ ({config.objective})"),
        )
        result = {
            "data": config.data,
            "objective": config.objective,
            "sigma": config.sigma,
            "relative_fisher_divergence": rel,
            "fisher_divergence": fisher,
            "n_eval": config.n_eval,
            "epochs": len(losses),
            "final_train_loss": losses[-1] if losses else None,
            "train_seconds": train_seconds,
            "total_seconds": time.perf_counter() - t_start,
        }
        run.write_result(result)
    return result
