"""The recipes of the MNIST variations (Larochelle et al. 2007): rotation, backgrounds, the digit pool.

Each generator is ``(rng, n, split, pool, progress) -> (x, y, extras)``; see
:mod:`daekit.datasets.variants` for the recipes and the choices they fix.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from .mnist import load_mnist
from .photos import PATCH, photo_pool, sample_patches
from .shapes import make_convex, make_rectangles, make_rectangles_images

__all__ = [
    "VARIANTS",
    "VariantSpec",
    "MnistPool",
    "draw_mnist_indices",
    "mnist_generator",
    "quantize",
    "rotate_images",
    "shape_generator",
]

_CHUNK = 8192
Progress = Callable[[int], None] | None
Sizes = tuple[int, int, int]
PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class VariantSpec:
    """One data set of the benchmark."""

    name: str
    sizes: Sizes
    n_classes: int
    class_names: tuple[str, ...]
    description: str
    generator: Callable | None = field(default=None, repr=False)  # (rng, n, split, pool, progress) -> (x, y, extras)
    uses_mnist: bool = False
    uses_photos: bool = False


def quantize(x: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(x, 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)


# ----------------------------------------------------------------------------- rotation

_CENTRE = (PATCH - 1) / 2.0
_GRID_R, _GRID_C = np.meshgrid(
    np.arange(PATCH, dtype=np.float32) - _CENTRE, np.arange(PATCH, dtype=np.float32) - _CENTRE, indexing="ij"
)


def rotate_images(images: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotate each 28×28 image counter-clockwise (as displayed) by ``angles`` (radians) about its
    centre; bilinear interpolation, zero outside. ``images`` (n, 28, 28) or (n, 784); returns
    float32 of the same shape. One vectorized gather for the whole batch (inverse mapping:
    each output pixel reads the source point rotated back by the angle)."""
    images = np.asarray(images, dtype=np.float32)
    shape = images.shape
    n = shape[0]
    imgs = images.reshape(n, PATCH, PATCH)
    angles = np.asarray(angles, dtype=np.float32).reshape(n, 1, 1)
    cos, sin = np.cos(angles), np.sin(angles)
    # output offset (dr, dc) from the centre; with y = -dr (up) and x = dc, the source point is
    # the output point rotated clockwise by the angle.
    src_r = _CENTRE + cos * _GRID_R + sin * _GRID_C + 1.0  # +1: one-pixel zero border below
    src_c = _CENTRE - sin * _GRID_R + cos * _GRID_C + 1.0
    side = PATCH + 2
    padded = np.zeros((n, side, side), dtype=np.float32)
    padded[:, 1:-1, 1:-1] = imgs
    src_r = np.clip(src_r, 0.0, side - 1.0)
    src_c = np.clip(src_c, 0.0, side - 1.0)
    r0 = np.minimum(np.floor(src_r), side - 2)
    c0 = np.minimum(np.floor(src_c), side - 2)
    fr = src_r - r0
    fc = src_c - c0
    flat = padded.ravel()
    base = (
        np.arange(n, dtype=np.int64)[:, None, None] * (side * side) + r0.astype(np.int64) * side + c0.astype(np.int64)
    )
    top = (1 - fc) * np.take(flat, base) + fc * np.take(flat, base + 1)
    bottom = (1 - fc) * np.take(flat, base + side) + fc * np.take(flat, base + side + 1)
    out = (1 - fr) * top + fr * bottom
    return np.clip(out, 0.0, 1.0, out=out).reshape(shape)


# ------------------------------------------------------------------------ MNIST variants


class MnistPool:
    """The 70 000 MNIST digits (uint8, read-only) and labels; the last one loaded is kept in memory
    (keyed by the files' paths, sizes and modification times) so that generating several variants
    in one process reads MNIST once."""

    _last: tuple[tuple, MnistPool] | None = None

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x, self.y = x, y
        self.x.setflags(write=False)
        self.y.setflags(write=False)

    @classmethod
    def load(cls, root: PathLike | None, download: bool) -> MnistPool:
        key = cls._key(root)
        if key is not None and cls._last is not None and cls._last[0] == key:
            return cls._last[1]
        x_tr, y_tr, x_te, y_te = load_mnist(root, download=download, verbose=True)
        x = np.concatenate([quantize(x_tr), quantize(x_te)])
        del x_tr, x_te
        pool = cls(x, np.concatenate([y_tr, y_te]).astype(np.int64))
        key = cls._key(root)
        if key is not None:
            cls._last = (key, pool)
        return pool

    @staticmethod
    def _key(root: PathLike | None) -> tuple | None:
        from .mnist import MNIST_FILES, _resolve_folder

        folder, _ = _resolve_folder(root)
        try:
            stats = [os.stat(folder / f) for f in MNIST_FILES]
        except OSError:
            return None
        return (str(folder.resolve()),) + tuple((s.st_size, s.st_mtime_ns) for s in stats)


def draw_mnist_indices(rng: np.random.Generator, labels: np.ndarray, sizes: Sizes) -> list[np.ndarray]:
    """Per split, indices into the pool: disjoint, class-balanced, shuffled."""
    per_split = []
    for n in sizes:
        c = np.full(10, n // 10, dtype=np.int64)
        c[rng.choice(10, size=n % 10, replace=False)] += 1
        per_split.append(c)
    counts = np.stack(per_split)  # (3 splits, 10 classes)
    parts: list[list[np.ndarray]] = [[], [], []]
    for k in range(10):
        pool_k = np.flatnonzero(labels == k)
        need = int(counts[:, k].sum())
        if need > pool_k.size:
            raise ValueError(f"sizes {sizes} need {need} examples of digit {k}, MNIST has {pool_k.size}")
        chosen = pool_k[rng.permutation(pool_k.size)[:need]]
        bounds = np.concatenate([[0], np.cumsum(counts[:, k])])
        for s in range(3):
            parts[s].append(chosen[bounds[s] : bounds[s + 1]])
    out = []
    for s in range(3):
        idx = np.concatenate(parts[s])
        out.append(idx[rng.permutation(idx.size)])
    return out


def mnist_generator(rotate: bool, background: str | None):
    def generate(
        rng: np.random.Generator, index: np.ndarray, split: str, pool: MnistPool, progress: Progress
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        n = index.size
        extras: dict[str, np.ndarray] = {"mnist_index": index.astype(np.int64)}
        if rotate:
            extras["angle"] = rng.uniform(0.0, 2.0 * np.pi, size=n).astype(np.float32)
        if background == "image":
            photos = photo_pool(split)
            extras["photo"] = rng.integers(0, len(photos), size=n)
        x = np.empty((n, PATCH * PATCH), dtype=np.float32)
        for s in range(0, n, _CHUNK):
            sl = slice(s, min(n, s + _CHUNK))
            m = sl.stop - sl.start
            digits = pool.x[index[sl]].astype(np.float32) / np.float32(255.0)
            if rotate:
                digits = rotate_images(digits, extras["angle"][sl])
            if background == "rand":
                digits = np.maximum(digits, rng.random((m, PATCH * PATCH), dtype=np.float32))
            elif background == "image":
                patches, _ = sample_patches(rng, photos, m, extras["photo"][sl])
                digits = np.maximum(digits, patches.reshape(m, -1))
            x[sl] = digits
            if progress is not None:
                progress(m)
        return x, pool.y[index], extras

    return generate


def shape_generator(func):
    def generate(rng, n, split, pool, progress):
        return func(rng, n, split, progress=progress)

    return generate


_DIGITS = tuple(str(d) for d in range(10))

VARIANTS: dict[str, VariantSpec] = {
    spec.name: spec
    for spec in [
        VariantSpec(
            "mnist-basic",
            (10_000, 2_000, 50_000),
            10,
            _DIGITS,
            "MNIST digits drawn without replacement from the 70k pool",
            mnist_generator(False, None),
            uses_mnist=True,
        ),
        VariantSpec(
            "mnist-rot",
            (10_000, 2_000, 50_000),
            10,
            _DIGITS,
            "digits rotated by an angle uniform in [0, 2pi)",
            mnist_generator(True, None),
            uses_mnist=True,
        ),
        VariantSpec(
            "mnist-back-rand",
            (10_000, 2_000, 50_000),
            10,
            _DIGITS,
            "digits on uniform random noise, max(digit, noise)",
            mnist_generator(False, "rand"),
            uses_mnist=True,
        ),
        VariantSpec(
            "mnist-back-image",
            (10_000, 2_000, 50_000),
            10,
            _DIGITS,
            "digits on a photograph patch, max(digit, patch)",
            mnist_generator(False, "image"),
            uses_mnist=True,
            uses_photos=True,
        ),
        VariantSpec(
            "mnist-rot-back-image",
            (10_000, 2_000, 50_000),
            10,
            _DIGITS,
            "rotated digits on a photograph patch",
            mnist_generator(True, "image"),
            uses_mnist=True,
            uses_photos=True,
        ),
        VariantSpec(
            "rectangles",
            (1_000, 200, 50_000),
            2,
            ("wide", "tall"),
            "white rectangle outline; label 1 = taller than wide",
            shape_generator(make_rectangles),
        ),
        VariantSpec(
            "rectangles-images",
            (10_000, 2_000, 50_000),
            2,
            ("wide", "tall"),
            "rectangle of one photograph patch on another; label 1 = taller than wide",
            shape_generator(make_rectangles_images),
            uses_photos=True,
        ),
        VariantSpec(
            "convex",
            (6_500, 1_500, 50_000),
            2,
            ("non-convex", "convex"),
            "white convex region (1) or union of 2-4 convex sets (0)",
            shape_generator(make_convex),
        ),
        VariantSpec(
            "mnist",
            (50_000, 10_000, 10_000),
            10,
            _DIGITS,
            "plain MNIST: train 50k, valid = last 10k of the training file, test 10k",
            None,
            uses_mnist=True,
        ),
    ]
}
