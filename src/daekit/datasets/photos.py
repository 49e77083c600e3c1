"""The photograph pool behind the image backgrounds of the Larochelle et al. (2007) variants.

Larochelle et al. took 28×28 patches from 20 photographs downloaded from the internet; those
photographs were never published, so daekit uses the photographs that ship inside
scikit-image (``skimage.data``, bundled with the package, nothing downloaded). Each photograph
is converted to grayscale in [0, 1] (``rgb2gray`` for colour ones, ``/255`` for 8-bit ones) and,
if its shorter side is above :data:`MAX_SIDE` pixels, shrunk (anti-aliased) so that it is
:data:`MAX_SIDE`: a 28×28 patch then covers about a ninth of the picture's width, so patches
show edges and texture rather than flat areas.

The pool is split into two disjoint sets of photographs:

* :data:`TRAIN_PHOTOS` (8, used for the train and validation splits): camera, astronaut,
  chelsea, coffee, rocket, brick, grass, moon;
* :data:`TEST_PHOTOS` (6, used for the test split): coins, gravel, clock, motorcycle (left view
  of ``stereo_motorcycle``), page, text.

so test backgrounds come from photographs no training example has seen.

Patches whose pixel standard deviation is below :data:`MIN_PATCH_STD` (0.05 on the [0, 1]
scale, i.e. variance below 0.0025) are rejected, as in the original recipe ("patches with low
pixel variance were rejected"); a rejected patch is redrawn at a new position in the *same*
photograph, so every photograph of a pool provides the same expected number of patches.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "MAX_SIDE",
    "MIN_PATCH_STD",
    "PATCH",
    "PHOTO_SPLITS",
    "PhotoUnavailableError",
    "TEST_PHOTOS",
    "TRAIN_PHOTOS",
    "load_photo",
    "photo_pool",
    "sample_patches",
]

PATCH = 28
MAX_SIDE = 256
MIN_PATCH_STD = 0.05

TRAIN_PHOTOS: tuple[str, ...] = ("camera", "astronaut", "chelsea", "coffee", "rocket", "brick", "grass", "moon")
TEST_PHOTOS: tuple[str, ...] = ("coins", "gravel", "clock", "motorcycle", "page", "text")
PHOTO_SPLITS: dict[str, tuple[str, ...]] = {"train": TRAIN_PHOTOS, "valid": TRAIN_PHOTOS, "test": TEST_PHOTOS}

# name -> (skimage.data function, picks the image out of what the function returns)
_SOURCES: dict[str, tuple[str, Callable]] = {
    "motorcycle": ("stereo_motorcycle", lambda out: out[0]),
}


class PhotoUnavailableError(RuntimeError):
    """A photograph of the pool cannot be loaded: scikit-image (the ``images`` extra) is missing or
    lacks it."""


@functools.cache
def load_photo(name: str) -> np.ndarray:
    """One photograph of the pool: a read-only float32 (H, W) array in [0, 1], shorter side ≤ 256.

    Raises :class:`PhotoUnavailableError` if scikit-image does not bundle it (some
    ``skimage.data`` images need a download through ``pooch``; daekit never downloads).
    """
    func_name, pick = _SOURCES.get(name, (name, lambda out: out))
    try:
        import skimage.data
        from skimage.color import rgb2gray
        from skimage.transform import rescale
    except ImportError as exc:
        raise PhotoUnavailableError(
            "the image-background datasets take their photographs from scikit-image, an optional "
            f"dependency: pip install 'daekit[images]' ({exc})"
        ) from exc
    func = getattr(skimage.data, func_name, None)
    if func is None:
        raise PhotoUnavailableError(
            f"photograph {name!r}: skimage.data has no {func_name!r} in scikit-image "
            f"{_skimage_version()}; the image-background variants need scikit-image's bundled photographs"
        )
    try:
        img = pick(func())
    except Exception as exc:  # ModuleNotFoundError (pooch), download errors, missing files
        raise PhotoUnavailableError(
            f"photograph {name!r} (skimage.data.{func_name}) could not be loaded from the installed "
            f"scikit-image {_skimage_version()}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}. "
            "daekit only uses photographs bundled with scikit-image and never downloads them; "
            "reinstall scikit-image (pip install --force-reinstall scikit-image) to restore its data files"
        ) from exc
    img = np.asarray(img)
    if img.ndim == 3:
        gray = rgb2gray(img[..., :3])
    elif img.ndim == 2:
        gray = img.astype(np.float64) / (255.0 if img.dtype == np.uint8 else 1.0)
    else:  # pragma: no cover - all pool images are 2-D or RGB
        raise PhotoUnavailableError(f"photograph {name!r} has unexpected shape {img.shape}")
    scale = MAX_SIDE / min(gray.shape)
    if scale < 1:
        gray = rescale(gray, scale, anti_aliasing=True, order=1, mode="reflect")
    out = np.ascontiguousarray(np.clip(gray, 0.0, 1.0), dtype=np.float32)
    out.setflags(write=False)
    return out


def _skimage_version() -> str:
    try:
        import skimage

        return skimage.__version__  # type: ignore[attr-defined]  # skimage's __init__.pyi omits __version__
    except ImportError:  # pragma: no cover
        return "(not installed)"


def photo_pool(split: str) -> tuple[np.ndarray, ...]:
    """The photographs used for ``split`` ("train", "valid" or "test"), as float32 arrays."""
    if split not in PHOTO_SPLITS:
        raise ValueError(f"split must be one of {sorted(PHOTO_SPLITS)}, got {split!r}")
    return tuple(load_photo(n) for n in PHOTO_SPLITS[split])


def sample_patches(
    rng: np.random.Generator,
    photos: Sequence[np.ndarray],
    n: int,
    photo_index: np.ndarray | None = None,
    min_std: float = MIN_PATCH_STD,
    max_rounds: int = 10_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` 28×28 patches with pixel std ≥ ``min_std`` from ``photos``.

    Each patch comes from ``photos[photo_index[i]]`` (drawn uniformly when ``photo_index`` is
    None) at a uniform random position; a patch below ``min_std`` is redrawn at a new position
    in the same photograph. Vectorized: one gather per round, only the rejected patches are
    redrawn in the next round.

    Returns ``(patches, photo_index)``: float32 (n, 28, 28) in [0, 1] and int64 (n,).
    """
    if photo_index is None:
        photo_index = rng.integers(0, len(photos), size=n)
    photo_index = np.asarray(photo_index, dtype=np.int64)
    out = np.empty((n, PATCH, PATCH), dtype=np.float32)
    offs = np.arange(PATCH)
    for p, photo in enumerate(photos):
        todo = np.flatnonzero(photo_index == p)
        h, w = photo.shape
        rounds = 0
        while todo.size:
            if rounds == max_rounds:  # pragma: no cover - every pool photograph has textured patches
                raise RuntimeError(f"photograph {p}: could not find patches with pixel std >= {min_std}")
            rounds += 1
            r = rng.integers(0, h - PATCH + 1, size=todo.size)
            c = rng.integers(0, w - PATCH + 1, size=todo.size)
            patches = photo[(r[:, None] + offs)[:, :, None], (c[:, None] + offs)[:, None, :]]
            ok = patches.reshape(todo.size, -1).std(axis=1) >= min_std
            out[todo[ok]] = patches[ok]
            todo = todo[~ok]
    return out, photo_index
