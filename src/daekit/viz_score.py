"""Score-field figures: a learned score s_θ(x) beside the exact ∇ log q(x) on a 2-D grid.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global backend switch) and
written atomically (a temporary name in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .utils.atomic import atomic_path

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
    was_training = getattr(fn, "training", None)
    if was_training:
        fn.eval()
    try:
        with torch.no_grad():
            out = fn(pts)
    finally:
        if was_training:
            fn.train(True)
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
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

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

    from matplotlib import colormaps

    cmap = colormaps["Blues"]
    fig = Figure(figsize=(4.6 * len(fields), 4.6))
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(fields), squeeze=False)[0]
    for ax, (label, field) in zip(axes, fields):
        if background is not None:
            ax.imshow(background, extent=tuple(extent), origin="lower", cmap=cmap, aspect="equal",
                      interpolation="bilinear")
        norm = np.linalg.norm(field, axis=1, keepdims=True)
        length = np.minimum(np.log1p(norm / unit), top) / top * 0.95 * spacing
        arrows = field / np.maximum(norm, 1e-300) * length
        ax.quiver(Xa.ravel(), Ya.ravel(), arrows[:, 0], arrows[:, 1], color="#b2182b" if field is learned else "#222222",
                  angles="xy", scale_units="xy", scale=1.0, width=0.004, headwidth=3.5, headlength=4, headaxislength=3.5)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_aspect("equal")
        ax.set_title(label, fontsize=10)
        ax.tick_params(labelsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.set_dpi(dpi)
    canvas.draw()
    from PIL import Image

    # A 128-colour palette PNG: a fraction of the size of the RGBA one, and indistinguishable here.
    image = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB").quantize(colors=128)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", optimize=True)
    return path
