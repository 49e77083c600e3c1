"""Figures as PNG (and GIF) files, all in one style (:mod:`daekit.viz.style`).

* :mod:`~daekit.viz.style` — the house style, :func:`new_figure`, atomic :func:`save_figure`.
* :mod:`~daekit.viz.images` — filter tiles, image rows, sample grids, chain animations.
* :mod:`~daekit.viz.score` — a learned score field beside the exact one.
* :mod:`~daekit.viz.datasets` — example grids of the benchmark data sets.
* :mod:`~daekit.viz.paper` — the paper-vs-daekit error bars of a reproduced table.

Only matplotlib's object-oriented API is used (``matplotlib.figure.Figure`` on an Agg canvas):
importing this package selects no backend and leaves pyplot untouched.
"""

from .datasets import plot_variant_grid, variant_grid
from .images import image_shape, plot_filters, plot_image_rows, plot_samples, show_samples, tile_images, write_animation
from .paper import plot_paper_comparison
from .score import plot_score_field, score_grid
from .style import COLORS, STYLE, new_figure, save_figure, save_image, style

__all__ = [
    "COLORS",
    "STYLE",
    "style",
    "new_figure",
    "save_figure",
    "save_image",
    "image_shape",
    "tile_images",
    "plot_filters",
    "plot_image_rows",
    "show_samples",
    "plot_samples",
    "write_animation",
    "plot_score_field",
    "score_grid",
    "plot_variant_grid",
    "variant_grid",
    "plot_paper_comparison",
]
