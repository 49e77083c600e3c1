"""Example grids of the benchmark data sets (one row per class) as small grayscale PNG files.

The grid is drawn pixel-exactly (each image pixel becomes ``zoom``×``zoom`` screen pixels, no
resampling) with Pillow (a dependency of matplotlib) and saved as an 8-bit grayscale PNG, which
keeps the files small enough for a README.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..datasets.variants import SPLITS, VariantData, load_variant
from .style import save_image

__all__ = ["plot_variant_grid", "variant_grid"]

_SIDE = 28

#: Label height in pixels of the pixel-exact grids.
LABEL_PIXELS = 11


def variant_grid(
    data: VariantData, split: str = "train", n_cols: int = 10, pad: int = 1
) -> tuple[np.ndarray, list[str]]:
    """The first ``n_cols`` examples of each class of ``split`` tiled into one float array in
    [0, 1] (rows = classes, ``pad``-pixel white separators; missing examples stay blank), and the
    row labels (class names)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if n_cols < 1:
        raise ValueError(f"n_cols must be positive, got {n_cols}")
    x, y = data.split(split)
    step = _SIDE + pad
    n_rows = len(data.class_names)
    out = np.ones((n_rows * step + pad, n_cols * step + pad), dtype=np.float32)
    for k in range(n_rows):
        examples = x[y == k][:n_cols].reshape(-1, _SIDE, _SIDE)
        for j, img in enumerate(examples):
            out[pad + k * step : pad + k * step + _SIDE, pad + j * step : pad + j * step + _SIDE] = img
        for j in range(len(examples), n_cols):  # blank (black) tile
            out[pad + k * step : pad + k * step + _SIDE, pad + j * step : pad + j * step + _SIDE] = 0.0
    return out, list(data.class_names)


def plot_variant_grid(
    name: str,
    path: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    random_state: int = 0,
    sizes: Sequence[int] | None = None,
    split: str = "train",
    n_cols: int = 10,
    zoom: int = 2,
    levels: int = 256,
    title: str | None = None,
    data: VariantData | None = None,
    cache: bool = True,
) -> Path:
    """Draw ``n_cols`` examples of each class of data set ``name`` (rows = classes, labelled with
    the class names, title on top) into the PNG file ``path``; returns the path.

    The data come from ``data`` if given, else from :func:`~daekit.datasets.variants.load_variant`
    (``root``, ``random_state``, ``sizes``, ``cache``: generated and cached on first use).
    ``zoom`` is the integer magnification; ``levels`` < 256 posterizes the gray values (smaller
    files for noisy images). The file is written atomically.
    """
    from PIL import Image, ImageDraw

    if zoom < 1 or not 2 <= levels <= 256:
        raise ValueError(f"zoom must be >= 1 and levels in [2, 256], got zoom={zoom}, levels={levels}")
    if data is None:
        data = load_variant(name, root=root, random_state=random_state, sizes=sizes, cache=cache)
    tiles, labels = variant_grid(data, split, n_cols)
    if levels < 256:
        tiles = np.round(tiles * (levels - 1)) / (levels - 1)
    pixels = np.rint(np.clip(tiles, 0, 1) * 255).astype(np.uint8)
    pixels = np.repeat(np.repeat(pixels, zoom, axis=0), zoom, axis=1)

    font = _font(LABEL_PIXELS)
    text = title if title is not None else f"{data.name} ({split})"
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    label_w = max(int(probe.textlength(lab, font=font)) for lab in labels) + 8
    title_h = 16
    height, width = pixels.shape
    canvas = Image.new("L", (label_w + width, title_h + height), color=255)
    canvas.paste(Image.fromarray(pixels, mode="L"), (label_w, title_h))
    draw = ImageDraw.Draw(canvas)
    draw.text((label_w, 1), text, fill=0, font=font)
    row_h = height / len(labels)
    for k, lab in enumerate(labels):
        draw.text((label_w - 4, title_h + row_h * (k + 0.5)), lab, fill=0, font=font, anchor="rm")

    return save_image(canvas, path)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed bitmap font
        return ImageFont.load_default()
