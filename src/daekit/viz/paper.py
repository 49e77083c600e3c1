"""Published numbers beside measured ones: one panel of paired bars with 95% error bars per data set."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .style import COLORS, new_figure, save_figure, style

__all__ = ["ComparisonPanel", "plot_paper_comparison"]


@dataclass(frozen=True)
class ComparisonPanel:
    """One data set: per model (``labels``) the published value and ours with their interval
    half-widths (NaN marks a value ours lacks)."""

    title: str
    labels: Sequence[str]
    paper: Sequence[float]
    paper_err: Sequence[float]
    ours: Sequence[float]
    ours_err: Sequence[float]


def plot_paper_comparison(
    panels: Sequence[ComparisonPanel],
    path: str | os.PathLike,
    title: str,
    ylabel: str = "test error (%)",
    max_cols: int = 3,
    dpi: int = 90,
) -> Path:
    """A grid of at most ``max_cols`` panels per row: the paper's bars (grey) beside ours (blue)."""
    n = max(1, len(panels))
    cols = min(max_cols, n)
    rows = math.ceil(n / cols)
    fig = new_figure(3.4 * cols, 2.6 * rows)
    with style():
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, panel in zip(axes.flat, panels):
            xs = np.arange(len(panel.labels))
            ax.bar(
                xs - 0.2,
                panel.paper,
                0.4,
                yerr=panel.paper_err,
                color=COLORS["paper"],
                edgecolor=COLORS["edge"],
                capsize=2,
                label="paper",
            )
            ax.bar(xs + 0.2, panel.ours, 0.4, yerr=panel.ours_err, color=COLORS["ours"], capsize=2, label="ours")
            ax.set_xticks(xs)
            ax.set_xticklabels(panel.labels)
            ax.set_title(panel.title)
            ax.set_ylabel(ylabel)
        for ax in list(axes.flat)[len(panels) :]:
            ax.axis("off")
        if panels:
            axes.flat[0].legend(loc="upper left")
        fig.suptitle(title.replace("\n", " ") if cols > 1 else title)
        fig.tight_layout()
    return save_figure(fig, path, dpi=dpi)
