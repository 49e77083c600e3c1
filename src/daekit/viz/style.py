"""The one figure style of daekit, and how every figure is made and written.

Figures are :class:`matplotlib.figure.Figure` objects drawn on their own Agg canvas — no pyplot
state, no backend switched at import. :func:`new_figure` opens one in the house style
(:data:`STYLE`: font sizes, colours, grid, image colour map), :func:`save_figure` renders it in
the same style and writes the PNG atomically (a temporary name in the same folder, then
``os.replace``), so no half-written file is ever left behind. :func:`save_image` does the same
for a Pillow image.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import matplotlib
import numpy as np
from cycler import cycler
from matplotlib.figure import Figure

from ..utils.atomic import atomic_path

__all__ = ["COLORS", "STYLE", "style", "new_figure", "save_figure", "save_image", "render_rgb"]

#: Named colours: the model measured here, a reference (the paper, the exact score), a neutral.
COLORS = {
    "ours": "#2b6cb0",
    "learned": "#b2182b",
    "reference": "#222222",
    "paper": "#bbbbbb",
    "edge": "#555555",
    "density": "Blues",
}

#: The matplotlib settings of every daekit figure.
STYLE: dict[str, Any] = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "figure.titlesize": 10,
    "axes.prop_cycle": cycler(color=[COLORS["ours"], COLORS["learned"], "#2f855a", "#b7791f", "#6b46c1"]),
    "grid.alpha": 0.3,
    "image.cmap": "gray",
    "image.interpolation": "nearest",
    "lines.markersize": 3,
    "figure.dpi": 100,
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The house style (:data:`STYLE`) for the artists created and drawn inside the block."""
    with matplotlib.rc_context(cast(Any, STYLE)):
        yield


def new_figure(width: float, height: float) -> Figure:
    """An empty ``width`` × ``height`` inch figure in the house style, with its own Agg canvas.

    Create its axes and artists inside :func:`style` for the style's fonts to apply.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with style():
        fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def render_rgb(fig: Figure, dpi: int = 100, tight: bool = True) -> np.ndarray:
    """The figure rendered to an (H, W, 3) uint8 array; with ``tight`` cropped to its artists
    (else the full canvas, the same size for every frame of an animation)."""
    from PIL import Image

    buffer = io.BytesIO()
    with style():
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def save_image(image: Any, path: str | os.PathLike) -> Path:
    """Write a Pillow image as an optimized PNG at ``path`` atomically (folder created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", optimize=True)
    return path


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 100, colors: int | None = None) -> Path:
    """Render ``fig`` in the house style and write it as a PNG at ``path`` atomically.

    With ``colors`` the image is quantized to a palette of that many colours (a fraction of the
    size, indistinguishable for flat-coloured plots).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if colors is None:
        with atomic_path(path) as tmp, style():
            fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
        return path
    from PIL import Image

    return save_image(Image.fromarray(render_rgb(fig, dpi)).quantize(colors=colors), path)
