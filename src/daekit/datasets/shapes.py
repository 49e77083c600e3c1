"""Geometric-shape generators of the Larochelle et al. (2007) benchmark: rectangles and convex sets.

All generators are vectorized numpy over a batch of examples and draw everything from the
``numpy.random.Generator`` they are given, so a seed fixes the data. Images are 28×28, pixel
(r, c) has its centre at integer coordinates (row r, column c), values in [0, 1].

Rectangles (``rectangles``, ``rectangles-images``)
    Height and width are integers drawn uniformly from {4, …, 28}; pairs whose difference is
    below 3 pixels are rejected (so the label is never ambiguous), as in the original recipe.
    The top-left corner is uniform among the positions where the whole rectangle fits. Label 1
    = taller than wide (height > width), 0 = wider than tall. Both classes are generated in
    equal numbers: the unordered pair of sides is drawn as above, then assigned to
    (height, width) according to the label, which gives exactly the class-conditional
    distribution of the rejection recipe (it is symmetric in height and width).
    ``rectangles``: the one-pixel outline of the rectangle has value 1, everything else 0.
    ``rectangles-images``: the filled rectangle (outline included) shows a patch of one
    photograph and the rest of the image a patch of a different photograph (see
    :mod:`daekit.datasets.photos`).

Convex sets (``convex``)
    A *convex set* is the set of pixels whose centres lie in the intersection of k random
    half-planes. Each half-plane is bounded by a line through a point uniform in the image
    square [-0.5, 27.5]² with an orientation uniform in [0, 2π); the side kept is the one
    containing an *anchor* point drawn uniformly in the image square once per set (choice:
    the original says only "location and orientation chosen uniformly at random"; keeping the
    anchor's side makes the intersection never empty in the continuum, so that more
    half-planes give smaller sets and the geometric parameter controls the size, as the
    original parameters suggest). k is geometric on {1, 2, …}.

    * class 1, convex: k ~ Geometric(0.195), rejected if fewer than 19 pixels;
    * class 0, non-convex: the union of m ~ Uniform{2, 3, 4} convex sets, each with
      k ~ Geometric(0.07) and at least 10 pixels (each component redrawn until it has), kept
      only if the union is *not* convex (below).

    *Convex* (:func:`is_digitally_convex`, used for both classes): the set equals the set of
    pixel centres inside the convex hull of its pixel centres (digital convexity, the discrete
    version of "the segment between any two points of the set stays in the set" that the
    original tests pairwise), and it has no empty row or column between its first and last
    row or column — so a set split in two by a gap is never called convex, even when its
    hull happens to hold no extra pixel centre. Pixel sets cut from a convex region satisfy
    the first condition by construction; the rare thin slivers that skip a row fail the
    second and are redrawn, so every class-1 example passes the test and every class-0
    example fails it.

    Matching the mean number of white pixels: with the half-planes above, non-convex unions
    of 2–4 components have more white pixels than single convex sets (about 353 vs 275 of
    784 on average). The original balanced the two classes by tuning its parameters; here
    the published parameters are kept and each non-convex candidate is instead accepted with
    probability exp(-λ·n_white), λ = :data:`NONCONVEX_TILT` = 0.002 (calibrated once on
    6·10⁴ unions against 4·10⁴ convex sets, then fixed), which brings the expected number of
    white pixels of the non-convex class to that of the convex class (≈ 275).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .convexity import is_digitally_convex
from .photos import PATCH, sample_patches

__all__ = [
    "CONVEX_P",
    "CONVEX_MIN_PIXELS",
    "NONCONVEX_P",
    "NONCONVEX_MIN_PIXELS",
    "NONCONVEX_TILT",
    "RECT_MIN_SIDE",
    "RECT_MIN_DIFF",
    "balanced_labels",
    "convex_sets",
    "make_convex",
    "make_rectangles",
    "make_rectangles_images",
    "nonconvex_sets",
    "rectangle_params",
]

SIDE = PATCH  # 28
RECT_MIN_SIDE = 4
RECT_MIN_DIFF = 3
CONVEX_P = 0.195
CONVEX_MIN_PIXELS = 19
NONCONVEX_P = 0.07
NONCONVEX_MIN_PIXELS = 10
NONCONVEX_TILT = 0.002

Progress = Callable[[int], None] | None


def _tick(progress: Progress, k: int) -> None:
    if progress is not None and k:
        progress(int(k))


def balanced_labels(rng: np.random.Generator, n: int, n_classes: int) -> np.ndarray:
    """``n`` labels in random order, each class ``n // n_classes`` times; the remaining
    ``n % n_classes`` labels go to distinct classes drawn at random."""
    counts = np.full(n_classes, n // n_classes, dtype=np.int64)
    counts[rng.choice(n_classes, size=n % n_classes, replace=False)] += 1
    labels = np.repeat(np.arange(n_classes, dtype=np.int64), counts)
    return labels[rng.permutation(n)]


# ------------------------------------------------------------------------------- rectangles


def rectangle_params(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """(top, left, height, width) int64 rows, one per label (1 = taller than wide)."""
    labels = np.asarray(labels)
    n = labels.size
    a = np.empty(n, dtype=np.int64)
    b = np.empty(n, dtype=np.int64)
    todo = np.arange(n)
    while todo.size:
        a_new = rng.integers(RECT_MIN_SIDE, SIDE + 1, size=todo.size)
        b_new = rng.integers(RECT_MIN_SIDE, SIDE + 1, size=todo.size)
        ok = np.abs(a_new - b_new) >= RECT_MIN_DIFF
        a[todo[ok]], b[todo[ok]] = a_new[ok], b_new[ok]
        todo = todo[~ok]
    long_, short = np.maximum(a, b), np.minimum(a, b)
    tall = labels == 1
    h = np.where(tall, long_, short)
    w = np.where(tall, short, long_)
    top = rng.integers(0, SIDE - h + 1)
    left = rng.integers(0, SIDE - w + 1)
    return np.stack([top, left, h, w], axis=1)


def _rect_masks(params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(filled, outline) boolean masks of shape (n, 28, 28) for (top, left, h, w) rows."""
    top, left, h, w = (params[:, i, None, None] for i in range(4))
    r = np.arange(SIDE)[None, :, None]
    c = np.arange(SIDE)[None, None, :]
    filled = (r >= top) & (r < top + h) & (c >= left) & (c < left + w)
    inner = (r > top) & (r < top + h - 1) & (c > left) & (c < left + w - 1)
    return filled, filled & ~inner


def make_rectangles(
    rng: np.random.Generator, n: int, split: str = "train", progress: Progress = None
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """``rectangles``: white (1) one-pixel outlines on black; label 1 = taller than wide."""
    y = balanced_labels(rng, n, 2)
    params = rectangle_params(rng, y)
    _, outline = _rect_masks(params)
    _tick(progress, n)
    return outline.reshape(n, SIDE * SIDE).astype(np.float32), y, {"rect": params}


def make_rectangles_images(
    rng: np.random.Generator, n: int, split: str = "train", progress: Progress = None
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """``rectangles-images``: the filled rectangle shows a patch of one photograph, the rest of the
    image a patch of another photograph (photographs of ``split``'s pool)."""
    from .photos import photo_pool

    photos = photo_pool(split)
    y = balanced_labels(rng, n, 2)
    params = rectangle_params(rng, y)
    inside_photo = rng.integers(0, len(photos), size=n)
    outside_photo = (inside_photo + rng.integers(1, len(photos), size=n)) % len(photos)
    inside, _ = sample_patches(rng, photos, n, inside_photo)
    outside, _ = sample_patches(rng, photos, n, outside_photo)
    filled, _ = _rect_masks(params)
    x = np.where(filled, inside, outside).reshape(n, SIDE * SIDE)
    _tick(progress, n)
    return x, y, {"rect": params, "photo_inside": inside_photo, "photo_outside": outside_photo}


# ------------------------------------------------------------------------------- convex sets

_ROWS = np.arange(SIDE, dtype=np.float64)
_COLS = np.arange(SIDE)


def _convex_candidates(rng: np.random.Generator, m: int, p: float, min_pixels: int) -> np.ndarray:
    """Random convex sets (see module docstring) with at least ``min_pixels`` pixels, out of ``m``
    candidates: boolean masks (≤ m, 28, 28).

    A convex region meets each pixel row in an interval, so the region is tracked as per-row
    bounds lo[r] ≤ c ≤ hi[r]. A half-plane A·r + B·c ≥ O gives, on every row, c ≥ (O − A·r)/B
    when B > 0 and −c ≥ (O − A·r)/|B| when B < 0: the same value (O − A·r)/|B| raises either lo
    or −hi, so both are kept as running maxima in one array. Candidates are processed sorted
    by their number of half-planes, so the ones still receiving half-planes at step j are a
    prefix of the batch; only the accepted ones are rasterized.
    """
    k = rng.geometric(p, size=m)
    anchor = rng.uniform(-0.5, SIDE - 0.5, size=(m, 2))
    order = np.argsort(-k, kind="stable")
    k_sorted = k[order]
    anchor = anchor[order]
    bounds = np.full((m, 2, SIDE), -np.inf)  # [:, 0] = lo, [:, 1] = -hi
    for j in range(int(k_sorted.max(initial=0))):
        nj = int(np.count_nonzero(k_sorted > j))
        point = rng.uniform(-0.5, SIDE - 0.5, size=(nj, 2))
        theta = rng.uniform(0.0, 2.0 * np.pi, size=nj)
        a, b = np.cos(theta), np.sin(theta)  # normal (row, column) components
        o = a * point[:, 0] + b * point[:, 1]
        side = np.where(a * anchor[:nj, 0] + b * anchor[:nj, 1] - o >= 0, 1.0, -1.0)
        a, b, o = a * side, b * side, o * side
        scale = 1.0 / np.maximum(np.abs(b), 1e-12)
        value = (o * scale)[:, None] - (a * scale)[:, None] * _ROWS
        rows = np.arange(nj)
        slot = (b < 0).astype(np.intp)
        current = bounds[rows, slot]
        np.maximum(current, value, out=current)
        bounds[rows, slot] = current
    inverse = np.empty_like(order)
    inverse[order] = np.arange(m)
    bounds = bounds[inverse]
    first = np.ceil(np.maximum(bounds[:, 0], 0.0))
    last = np.floor(np.minimum(-bounds[:, 1], SIDE - 1.0))
    counts = np.clip(last - first + 1, 0, None).sum(axis=1)
    keep = counts >= min_pixels
    first, last = first[keep], last[keep]
    return (_COLS >= first[:, :, None]) & (_COLS <= last[:, :, None])


def _collect(n: int, make_batch: Callable[[int], np.ndarray], rate: float, progress: Progress) -> np.ndarray:
    """Call ``make_batch(size)`` (returning accepted masks) until ``n`` masks are collected."""
    out = np.empty((n, SIDE, SIDE), dtype=bool)
    done = 0
    while done < n:
        need = n - done
        batch = make_batch(max(64, int(need / rate * 1.1) + 16))
        take = min(need, len(batch))
        out[done : done + take] = batch[:take]
        done += take
        _tick(progress, take)
    return out


def convex_sets(
    rng: np.random.Generator,
    n: int,
    p: float = CONVEX_P,
    min_pixels: int = CONVEX_MIN_PIXELS,
    check: bool = True,
    progress: Progress = None,
) -> np.ndarray:
    """``n`` convex sets with at least ``min_pixels`` pixels, boolean (n, 28, 28)."""

    def batch(size: int) -> np.ndarray:
        masks = _convex_candidates(rng, size, p, min_pixels)
        if check:
            masks = masks[is_digitally_convex(masks)]
        return masks

    return _collect(n, batch, 0.85, progress)


def nonconvex_sets(
    rng: np.random.Generator,
    n: int,
    p: float = NONCONVEX_P,
    min_pixels: int = NONCONVEX_MIN_PIXELS,
    tilt: float = NONCONVEX_TILT,
    progress: Progress = None,
) -> np.ndarray:
    """``n`` non-convex unions of 2–4 convex sets, boolean (n, 28, 28) (see module docstring)."""

    def batch(size: int) -> np.ndarray:
        m = rng.integers(2, 5, size=size)
        comps = convex_sets(rng, int(m.sum()), p, min_pixels, check=False)
        starts = np.concatenate([[0], np.cumsum(m)[:-1]])
        unions = comps[starts]
        for t in (1, 2, 3):
            more = np.flatnonzero(m > t)
            unions[more] |= comps[starts[more] + t]
        counts = unions.sum(axis=(1, 2))
        keep = rng.random(size) < np.exp(-tilt * counts)
        unions = unions[keep]
        return unions[~is_digitally_convex(unions)]

    return _collect(n, batch, 0.4, progress)


def make_convex(
    rng: np.random.Generator, n: int, split: str = "train", progress: Progress = None
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """``convex``: white (1) convex region (label 1) or non-convex union (label 0) on black."""
    y = balanced_labels(rng, n, 2)
    x = np.empty((n, SIDE, SIDE), dtype=bool)
    x[y == 1] = convex_sets(rng, int(np.count_nonzero(y == 1)), progress=progress)
    x[y == 0] = nonconvex_sets(rng, int(np.count_nonzero(y == 0)), progress=progress)
    return x.reshape(n, SIDE * SIDE).astype(np.float32), y, {}
