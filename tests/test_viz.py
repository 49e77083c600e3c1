"""Figures: one style, object-oriented matplotlib only, no backend switched at import, atomic files."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from daekit.viz import (
    STYLE,
    new_figure,
    plot_filters,
    plot_image_rows,
    plot_samples,
    save_figure,
    style,
    tile_images,
    write_animation,
)
from daekit.viz.paper import ComparisonPanel, plot_paper_comparison


def test_importing_and_drawing_switch_no_backend_and_load_no_pyplot(tmp_path):
    code = (
        "import sys, matplotlib, numpy as np; before = matplotlib.rcParams._get_backend_or_none(); "
        "import daekit, daekit.cli; from daekit.viz import plot_samples, write_animation; "
        "assert matplotlib.rcParams._get_backend_or_none() == before, before; "
        f"plot_samples(np.random.rand(9, 16), r'{tmp_path / 'a.png'}', clip=True); "
        f"write_animation(np.random.rand(3, 9, 2), r'{tmp_path / 'a.gif'}', clip=False, title='t'); "
        "assert 'matplotlib.pyplot' not in sys.modules; print('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_the_house_style_sets_the_fonts_of_the_artists():
    fig = new_figure(2, 2)
    with style():
        ax = fig.add_subplot()
        title = ax.set_title("t")
        label = ax.set_xlabel("x")
    assert title.get_fontsize() == STYLE["axes.titlesize"] and label.get_fontsize() == STYLE["axes.labelsize"]


def test_a_failed_save_leaves_no_file_and_no_temporary(tmp_path):
    fig = new_figure(2, 2)
    fig.add_subplot().plot([0, 1])

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    fig.savefig = broken
    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(fig, tmp_path / "f.png")
    assert list(tmp_path.iterdir()) == []


def test_figures_are_written_as_png_with_nothing_else_left(tmp_path):
    rng = np.random.default_rng(0)
    plot_filters(rng.normal(size=(9, 16)), tmp_path / "filters.png", title="W")
    plot_image_rows([rng.random((5, 16)), rng.random((5, 16))], ["clean", "noisy"], tmp_path / "rows.png")
    plot_samples(rng.random((20, 2)), tmp_path / "scatter.png", clip=False, title="2-D")
    save_figure(new_figure(2, 2), tmp_path / "quantized.png", colors=16)
    panel = ComparisonPanel("mnist", ["A", "B"], [1.0, 2.0], [0.1, 0.2], [1.5, np.nan], [0.1, 0.0])
    plot_paper_comparison([panel], tmp_path / "table.png", "paper vs ours")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["filters.png", "quantized.png", "rows.png", "scatter.png", "table.png"]
    for name in names:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(tmp_path / "quantized.png").mode == "P"
    with pytest.raises(ValueError, match="same length"):
        plot_image_rows([rng.random((5, 16))], ["a", "b"], tmp_path / "bad.png")


def test_write_animation_has_one_frame_per_state(tmp_path):
    frames = np.random.default_rng(1).random((4, 16, 64))
    path = write_animation(frames, tmp_path / "chain.gif", clip=True, title="chain")
    gif = Image.open(path)
    assert gif.format == "GIF" and gif.n_frames == 4
    with pytest.raises(ValueError, match=".gif"):
        write_animation(frames, tmp_path / "chain.mp4", clip=True, title="chain")
    with pytest.raises(ValueError, match="frames"):
        write_animation(frames[0], tmp_path / "x.gif", clip=True, title="chain")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chain.gif"]


def test_tile_images_places_each_image_and_scales_each_tile():
    images = np.arange(2 * 4, dtype=float).reshape(2, 4)
    tiles = tile_images(images, (2, 2), n_cols=2, pad=1)
    assert tiles.shape == (4, 7)
    np.testing.assert_allclose(tiles[1:3, 1:3], [[0, 1 / 3], [2 / 3, 1]])
    np.testing.assert_allclose(tile_images(images, (2, 2), n_cols=2, scale_each=False)[1:3, 4:6], [[4, 5], [6, 7]])
    with pytest.raises(ValueError, match="shape"):
        tile_images(images, (3, 3))
