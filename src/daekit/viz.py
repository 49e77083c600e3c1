"""Figures as PNG files (matplotlib, Agg): filter tiles, image grids, training curves.

Every figure is written atomically (temporary name, then rename).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .utils.atomic import atomic_path  # noqa: E402

__all__ = ["tile_images", "plot_filters", "plot_image_rows", "plot_curves", "save_figure", "image_shape"]


def image_shape(n_features: int) -> tuple[int, int]:
    """The (height, width) of a square image with ``n_features`` pixels, else (1, n_features)."""
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else (1, n_features)


def tile_images(images: np.ndarray, shape: tuple[int, int] | None = None, n_cols: int | None = None,
                scale_each: bool = True, pad: int = 1) -> np.ndarray:
    """Tile rows of ``images`` (N, h·w) into one 2-D array, as in the papers' filter figures.

    With ``scale_each`` every tile is scaled to [0, 1] on its own (Theano tutorial's
    ``tile_raster_images``), which shows the pattern of each filter whatever its norm.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 2 or len(images) == 0:
        raise ValueError(f"images must be a non-empty 2-D array (N, n_features), got shape {images.shape}")
    h, w = shape or image_shape(images.shape[1])
    if h * w != images.shape[1]:
        raise ValueError(f"shape {(h, w)} does not match {images.shape[1]} features")
    n = len(images)
    n_cols = n_cols or math.ceil(math.sqrt(n))
    n_rows = math.ceil(n / n_cols)
    out = np.ones((n_rows * (h + pad) + pad, n_cols * (w + pad) + pad))
    for i, img in enumerate(images):
        if scale_each:
            lo, hi = img.min(), img.max()
            img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        r, c = divmod(i, n_cols)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = img.reshape(h, w)
    return out


def save_figure(fig: plt.Figure, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Save ``fig`` as PNG at ``path`` atomically and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def plot_filters(weights: np.ndarray, path: str | os.PathLike, n_filters: int = 100, shape: tuple[int, int] | None = None,
                 title: str | None = None) -> Path:
    """Draw the first ``n_filters`` rows of ``weights`` (n_hidden, n_visible), one tile each."""
    weights = np.asarray(weights)
    tiles = tile_images(weights[:n_filters], shape)
    fig, ax = plt.subplots(figsize=(6, 6 * tiles.shape[0] / tiles.shape[1]))
    ax.imshow(tiles, cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def plot_image_rows(rows: Sequence[np.ndarray], labels: Sequence[str], path: str | os.PathLike,
                    shape: tuple[int, int] | None = None, title: str | None = None) -> Path:
    """A grid with one row per array in ``rows`` (e.g. clean / corrupted / reconstructed)."""
    if len(rows) != len(labels):
        raise ValueError("rows and labels must have the same length")
    n = min(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), 1, figsize=(n * 0.7, len(rows) * 0.9))
    axes = np.atleast_1d(axes)
    for ax, row, label in zip(axes, rows, labels):
        ax.imshow(tile_images(np.asarray(row)[:n], shape, n_cols=n, scale_each=False), cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        axes[0].set_title(title)
    return save_figure(fig, path)


def plot_curves(curves: dict[str, Sequence[float]], path: str | os.PathLike, xlabel: str = "epoch",
                ylabel: str = "loss") -> Path:
    """Line plot of named curves (training and validation losses)."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, ys in curves.items():
        ax.plot(range(1, len(ys) + 1), ys, label=name, marker="o", ms=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)
