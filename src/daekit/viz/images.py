"""Image figures: filter tiles, rows of images (clean / corrupted / reconstructed), sample grids
and the animation of a sampler's chain.

Images are rows of a matrix (N, h·w); :func:`image_shape` guesses (h, w) for square images.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..utils.atomic import atomic_path
from .style import new_figure, render_rgb, save_figure, style

__all__ = [
    "image_shape",
    "tile_images",
    "plot_filters",
    "plot_image_rows",
    "show_samples",
    "plot_samples",
    "write_animation",
]


def image_shape(n_features: int) -> tuple[int, int]:
    """The (height, width) of a square image with ``n_features`` pixels, else (1, n_features)."""
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else (1, n_features)


def tile_images(
    images: np.ndarray,
    shape: tuple[int, int] | None = None,
    n_cols: int | None = None,
    scale_each: bool = True,
    pad: int = 1,
) -> np.ndarray:
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
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = img.reshape(
            h, w
        )
    return out


def plot_filters(
    weights: np.ndarray,
    path: str | os.PathLike,
    n_filters: int = 100,
    shape: tuple[int, int] | None = None,
    title: str | None = None,
) -> Path:
    """Draw the first ``n_filters`` rows of ``weights`` (n_hidden, n_visible), one tile each."""
    tiles = tile_images(np.asarray(weights)[:n_filters], shape)
    fig = new_figure(6, 6 * tiles.shape[0] / tiles.shape[1])
    with style():
        ax = fig.add_subplot()
        ax.imshow(tiles)
        ax.set_axis_off()
        if title:
            ax.set_title(title)
    return save_figure(fig, path)


def plot_image_rows(
    rows: Sequence[np.ndarray],
    labels: Sequence[str],
    path: str | os.PathLike,
    shape: tuple[int, int] | None = None,
    title: str | None = None,
) -> Path:
    """A grid with one row per array in ``rows`` (e.g. clean / corrupted / reconstructed)."""
    if len(rows) != len(labels):
        raise ValueError("rows and labels must have the same length")
    n = min(len(r) for r in rows)
    fig = new_figure(n * 0.7, len(rows) * 0.9)
    with style():
        axes = np.atleast_1d(fig.subplots(len(rows), 1))
        for ax, row, label in zip(axes, rows, labels):
            ax.imshow(tile_images(np.asarray(row)[:n], shape, n_cols=n, scale_each=False), vmin=0, vmax=1)
            ax.set_ylabel(label, rotation=0, ha="right", va="center")
            ax.set_xticks([])
            ax.set_yticks([])
        if title:
            axes[0].set_title(title)
    return save_figure(fig, path)


def show_samples(ax: Any, x: np.ndarray, clip: bool) -> None:
    """Draw samples ``x`` (N, d) on ``ax``: a scatter plot for d = 2, else a grid of images,
    clipped to [0, 1] with ``clip`` (pixel intensities), else each scaled on its own."""
    x = np.asarray(x)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty 2-D array (N, d), got shape {x.shape}")
    if x.shape[1] == 2:
        ax.scatter(x[:, 0], x[:, 1], s=4, alpha=0.6)
        ax.set_aspect("equal")
        return
    shape = image_shape(x.shape[1])
    if clip:
        ax.imshow(tile_images(np.clip(x, 0, 1), shape, scale_each=False), vmin=0, vmax=1)
    else:
        ax.imshow(tile_images(x, shape))
    ax.set_axis_off()


def plot_samples(x: np.ndarray, path: str | os.PathLike, clip: bool, title: str | None = None) -> Path:
    """One figure of samples ``x`` (N, d) (see :func:`show_samples`), written to ``path``."""
    fig = new_figure(6, 6)
    with style():
        ax = fig.add_subplot()
        show_samples(ax, x, clip)
        if title:
            ax.set_title(title, fontsize=7)
    return save_figure(fig, path)


def write_animation(frames: np.ndarray, path: str | os.PathLike, clip: bool, title: str, fps: int = 10) -> Path:
    """Animate ``frames`` (T, N, d) — a sampler's trajectory — as a looping GIF at ``path``,
    written atomically. Scatter frames (d = 2) share the limits of the last frame's bulk."""
    from PIL import Image

    frames = np.asarray(frames)
    if frames.ndim != 3 or len(frames) == 0:
        raise ValueError(f"frames must be a non-empty (T, N, d) array, got shape {frames.shape}")
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"path must name a .gif file, got {str(path)!r}")
    limits = None
    if frames.shape[2] == 2:
        lo, hi = np.percentile(frames[-1], [0.5, 99.5], axis=0)
        pad = 0.2 * (hi - lo) + 1e-3
        limits = (lo - pad, hi + pad)
    fig = new_figure(4, 4)
    images = []
    with style():
        ax = fig.add_subplot()
        for i, frame in enumerate(frames):
            ax.clear()
            show_samples(ax, frame, clip)
            if limits is not None:
                ax.set_xlim(limits[0][0], limits[1][0])
                ax.set_ylim(limits[0][1], limits[1][1])
            ax.set_title(f"{title}: frame {i + 1}/{len(frames)}", fontsize=8)
            images.append(Image.fromarray(render_rgb(fig, tight=False)).quantize(colors=128))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=1000 // fps, loop=0)
    return path
