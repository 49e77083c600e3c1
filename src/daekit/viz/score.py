"""Score-field figures: a learned score s_θ(x) beside the exact ∇ log q(x) on a 2-D grid.

Drawn in the house style (:mod:`daekit.viz.style`) and written atomically as a 128-colour PNG.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from .style import COLORS, new_figure, save_figure, style

__all__ = ["plot_score_field", "score_grid"]

ScoreFn = Callable[[Tensor], Tensor]


def score_grid(extent: Sequence[float], n: int) -> tuple[np.ndarray, np.ndarray, Tensor]:
    """An n×n grid over ``extent`` = (xmin, xmax, ymin, ymax): the meshgrid arrays X, Y and the
    points as a float32 tensor (n², 2), row-major in y."""
    xmin, xmax, ymin, ymax = (float(v) for v in extent)
    xs, ys = np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n)
    X, Y = np.meshgrid(xs, ys)
    pts = torch.as_tensor(np.stack([X.ravel(), Y.ravel()], axis=1), dtype=torch.float32)
    return X, Y, pts


def _evaluate(fn: Callable[[Tensor], Tensor], pts: Tensor) -> np.ndarray:
    """``fn(pts)`` as float64 numpy, an ``nn.Module`` evaluated in eval mode and given its mode back."""
    was_training = isinstance(fn, nn.Module) and fn.training
    if isinstance(fn, nn.Module):
        fn.eval()
    try:
        with torch.no_grad():
            out = fn(pts)
    finally:
        if isinstance(fn, nn.Module):
            fn.train(was_training)
    return out.detach().to(torch.float64).cpu().numpy()


def plot_score_field(
    score_fn: ScoreFn,
    true_score_fn: ScoreFn | None,
    density_fn: Callable[[Tensor], Tensor] | None,
    path: str | os.PathLike,
    extent: Sequence[float] = (-3.0, 3.0, -3.0, 3.0),
    n_arrows: int = 21,
    resolution: int = 120,
    log_density: bool = True,
    title: str | None = None,
    labels: tuple[str, str] = ("exact ∇ log q", "learned s_θ"),
    dpi: int = 100,
) -> Path:
    """Draw the score field(s) as arrows over the density and save a PNG at ``path``.

    Parameters
    ----------
    score_fn : callable (N, 2) -> (N, 2)
        The learned score s_θ (an ``nn.Module`` is evaluated in eval mode, then restored).
    true_score_fn : callable or None
        The exact score ∇ log q; when given it gets its own panel, left of the learned one.
    density_fn : callable (N, 2) -> (N,) or None
        The density q(x) drawn as the background (log scale when ``log_density``, clipped at
        e⁻¹² of its maximum).
    path : str or PathLike
        Output PNG; its folder is created if needed. Written atomically.
    extent : (xmin, xmax, ymin, ymax)
    n_arrows, resolution : int
        Arrows per side of the grid; background pixels per side.

    Arrows point along the score; their lengths grow as log(1 + ‖s‖/m), m the median norm of the
    reference field (the exact score when given), capped at its 98th percentile, with one scale
    for both panels — so that the small scores near the modes stay visible beside the large ones
    far from the data.
    """
    if len(extent) != 4 or not (extent[0] < extent[1] and extent[2] < extent[3]):
        raise ValueError(f"extent must be (xmin, xmax, ymin, ymax) with min < max, got {tuple(extent)!r}")
    path = Path(path)
    Xa, Ya, pts = score_grid(extent, n_arrows)
    learned = _evaluate(score_fn, pts)
    if learned.shape != (len(pts), 2):
        raise ValueError(f"score_fn must map (N, 2) to (N, 2), got {learned.shape}")
    fields = [(labels[1], learned)]
    exact = None
    if true_score_fn is not None:
        exact = _evaluate(true_score_fn, pts)
        fields.insert(0, (labels[0], exact))
    reference = exact if exact is not None else learned
    ref_norm = np.linalg.norm(reference, axis=1)
    unit = float(np.median(ref_norm)) or 1.0
    top = float(np.log1p(np.percentile(ref_norm, 98) / unit)) or 1.0
    spacing = min((extent[1] - extent[0]), (extent[3] - extent[2])) / max(n_arrows - 1, 1)

    background = None
    if density_fn is not None:
        Xb, Yb, pts_b = score_grid(extent, resolution)
        dens = _evaluate(density_fn, pts_b).reshape(resolution, resolution)
        if log_density:
            with np.errstate(divide="ignore"):
                dens = np.log(np.maximum(dens, 1e-300))
            dens = np.maximum(dens, dens.max() - 12.0)
        background = dens

    fig = new_figure(4.6 * len(fields), 4.6)
    with style():
        axes = fig.subplots(1, len(fields), squeeze=False)[0]
        for ax, (label, field) in zip(axes, fields):
            if background is not None:
                ax.imshow(
                    background,
                    extent=tuple(extent),
                    origin="lower",
                    cmap=COLORS["density"],
                    aspect="equal",
                    interpolation="bilinear",
                )
            norm = np.linalg.norm(field, axis=1, keepdims=True)
            length = np.minimum(np.log1p(norm / unit), top) / top * 0.95 * spacing
            arrows = field / np.maximum(norm, 1e-300) * length
            ax.quiver(
                Xa.ravel(),
                Ya.ravel(),
                arrows[:, 0],
                arrows[:, 1],
                color=COLORS["learned"] if field is learned else COLORS["reference"],
                angles="xy",
                scale_units="xy",
                scale=1.0,
                width=0.004,
                headwidth=3.5,
                headlength=4,
                headaxislength=3.5,
            )
            ax.set_xlim(extent[0], extent[1])
            ax.set_ylim(extent[2], extent[3])
            ax.set_aspect("equal")
            ax.set_title(label)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return save_figure(fig, path, dpi=dpi, colors=128)
