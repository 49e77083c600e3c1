"""The benchmark of Larochelle et al. (2007), regenerated: MNIST variations, rectangles, convex sets.

Larochelle, Erhan, Courville, Bergstra & Bengio, *An Empirical Evaluation of Deep Architectures
on Problems with Many Factors of Variation* (ICML 2007) — the benchmark on which Vincent et al.
(2008, 2010) evaluate stacked denoising autoencoders. The original files are not redistributed
here; :func:`load_variant` regenerates each data set deterministically from a seed, following
the published recipes, and caches it.

====================  ========================================================  ========================
name                  recipe                                                    train / valid / test
====================  ========================================================  ========================
mnist-basic           MNIST digits drawn without replacement from the 70k pool  10 000 / 2 000 / 50 000
mnist-rot             digit rotated by an angle uniform in [0, 2π)              10 000 / 2 000 / 50 000
mnist-back-rand       background pixels uniform in [0, 1] behind the digit      10 000 / 2 000 / 50 000
mnist-back-image      background: 28×28 patch of a grayscale photograph         10 000 / 2 000 / 50 000
mnist-rot-back-image  rotated digit on a photograph patch                       10 000 / 2 000 / 50 000
rectangles            white rectangle outline; label 1: taller than wide        1 000 / 200 / 50 000
rectangles-images     rectangle of one photograph's patch on another's          10 000 / 2 000 / 50 000
convex                convex white region (1) vs union of 2–4 convex sets (0)   6 500 / 1 500 / 50 000
mnist                 plain MNIST: valid = last 10k of the training file        50 000 / 10 000 / 10 000
====================  ========================================================  ========================

Choices where the published recipe is not specific (fixed; changing one changes
:data:`RECIPE_VERSION`):

* **Pixels** are stored as 8-bit values (0…255) and returned as float32 ``value / 255`` in
  [0, 1], as the original intensities (the digits are 8-bit already; rotated digits,
  backgrounds and photograph patches are rounded to the nearest of the 256 levels).
* **MNIST pool**: the 70 000 digits of the MNIST training and test files together; each
  variant draws its digits without replacement, independently of the other variants, and
  the three splits of a variant never share a digit. Classes are balanced exactly within each
  split (1 000 / 200 / 5 000 of each digit at full size; with other sizes, counts differ by at
  most one, the extra examples going to randomly chosen classes). The index of each digit
  in the pool (0–59 999: training file, 60 000–69 999: test file) is kept in
  ``extras["mnist_index_<split>"]``.
* **Rotation** (mnist-rot, mnist-rot-back-image): counter-clockwise as displayed, about the
  image centre (13.5, 13.5), by an angle uniform in [0, 2π) (``extras["angle_<split>"]``, in
  radians), with bilinear interpolation and zero outside the image — the same as
  ``scipy.ndimage.rotate(img, degrees(angle), reshape=False, order=1, mode="grid-constant")``,
  done for the whole batch at once by inverse mapping.
* **Digit over background** (back-rand, back-image, rot-back-image): ``max(digit,
  background)`` pixel-wise, so the white strokes stay white and their anti-aliased edges
  blend into the background instead of leaving a dark halo.
* **mnist-back-rand**: each background pixel uniform in [0, 1], independently.
* **Photographs**: 14 photographs bundled with scikit-image, split into disjoint pools, 8 for
  train/valid and 6 for test; patches with pixel std < 0.05 are rejected. See
  :mod:`daekit.datasets.photos`.
* **Rectangles and convex sets**: see :mod:`daekit.datasets.shapes` (sides uniform in
  {4, …, 28} with |height − width| ≥ 3; label 1 = taller than wide; convex label 1 = convex;
  half-planes keep the side of a random anchor point; the non-convex class is tilted towards
  fewer white pixels so both classes have ≈ 275 white pixels on average).

Determinism and cache: the data of ``(name, random_state, sizes)`` is a fixed function of those
three (and of MNIST and the bundled photographs), bit for bit on a given platform and numpy
version. (Across platforms, vectorized ``sin``/``cos`` may differ in the last bit, which can move
a rare rotated pixel by one 8-bit level or a convex-set boundary pixel, and so change the
digest; the distribution is the same.) It is cached as one compressed ``.npz`` in
``data_home(root)/variants/`` whose name holds the name, seed, sizes and recipe version; the
file also stores its metadata and the SHA-256 of its arrays. A cached file is used only if it
reads back completely and its arrays hash to the stored digest and its metadata match the
request; a damaged file (truncated, bit-flipped, wrong digest) is reported with a
:class:`CacheWarning` and regenerated. Files are written atomically.
"""

from __future__ import annotations

import os
import sys
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np

from .mnist import data_home, load_mnist
from .variant_cache import SPLITS, CacheWarning, content_hash, read_cache, write_cache
from .variant_recipes import (
    VARIANTS,
    MnistPool,
    VariantSpec,
    draw_mnist_indices,
    quantize,
    rotate_images,
)

__all__ = [
    "CacheWarning",
    "RECIPE_VERSION",
    "SPLITS",
    "VARIANTS",
    "VariantData",
    "VariantSpec",
    "cache_path",
    "content_hash",
    "generate_variant",
    "list_variants",
    "load_variant",
    "rotate_images",
]

#: Bump when any recipe changes: cached files of other versions are then ignored.
RECIPE_VERSION = 1
_CACHE_SUBDIR = "variants"

PathLike = Union[str, "os.PathLike[str]"]
Progress = Callable[[int], None] | None
Sizes = tuple[int, int, int]


@dataclass
class VariantData:
    """Train / valid / test arrays of one data set: float32 pixels in [0, 1] (n, 784), int64 labels.

    ``sha256`` is the digest of the stored (8-bit) arrays; ``path`` the cache file (None when not
    cached); ``status`` says where the data came from: ``"loaded"`` (valid cache file),
    ``"generated"`` (no cache file yet, now written), ``"regenerated"`` (the cache file was
    damaged or stale and has been replaced), ``"uncached"`` (``cache=False``, or plain MNIST).
    ``extras`` holds per-example provenance (e.g. ``mnist_index_train``, ``angle_test``).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    class_names: tuple[str, ...]
    random_state: int
    sizes: Sizes
    sha256: str
    path: Path | None = None
    status: str = "uncached"
    extras: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __getitem__(self, key: str) -> np.ndarray:
        if key in ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test"):
            return getattr(self, key)
        raise KeyError(key)

    def split(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of ``"train"``, ``"valid"`` or ``"test"``."""
        if which not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {which!r}")
        return getattr(self, f"x_{which}"), getattr(self, f"y_{which}")

    def as_dict(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test")}


def list_variants(include_mnist: bool = True) -> list[str]:
    """Names accepted by :func:`load_variant` (``"mnist"`` last)."""
    return [n for n in VARIANTS if include_mnist or n != "mnist"]


def _spec(name: str) -> VariantSpec:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(VARIANTS)}") from None


def _check_sizes(spec: VariantSpec, sizes: Sequence[int] | None) -> Sizes:
    if sizes is None:
        return spec.sizes
    sizes = tuple(sizes)
    if len(sizes) != 3 or not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0 for s in sizes
    ):
        raise ValueError(f"sizes must be three non-negative integers (train, valid, test), got {sizes!r}")
    return tuple(int(s) for s in sizes)  # type: ignore[return-value]


def _check_seed(random_state) -> int:
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ValueError(f"random_state must be a non-negative integer, got {random_state!r}")
    return int(random_state)


# ------------------------------------------------------------------------------ generation


def generate_variant(
    name: str,
    random_state: int = 0,
    sizes: Sequence[int] | None = None,
    root: PathLike | None = None,
    progress: Progress = None,
    download: bool = True,
) -> dict[str, np.ndarray]:
    """Generate a data set without touching the cache: a dict of the stored arrays
    (``x_<split>`` uint8 (n, 784), ``y_<split>`` int64, and ``<extra>_<split>`` provenance).
    ``progress(k)`` is called as examples are finished. Not for ``"mnist"``."""
    spec = _spec(name)
    if spec.generator is None:
        raise ValueError(f"{name!r} is not generated; use load_variant({name!r})")
    sizes = _check_sizes(spec, sizes)
    seed = _check_seed(random_state)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    pool = MnistPool.load(root, download) if spec.uses_mnist else None
    if pool is not None:
        plans: list = draw_mnist_indices(rng, pool.y, sizes)
    else:
        plans = list(sizes)
    arrays: dict[str, np.ndarray] = {}
    for split, plan in zip(SPLITS, plans):
        x, y, extras = spec.generator(rng, plan, split, pool, progress)
        arrays[f"x_{split}"] = quantize(x)
        arrays[f"y_{split}"] = np.asarray(y, dtype=np.int64)
        for key, value in extras.items():
            arrays[f"{key}_{split}"] = np.asarray(value)
    return arrays


# ----------------------------------------------------------------------------------- cache


def cache_path(
    name: str, random_state: int = 0, sizes: Sequence[int] | None = None, root: PathLike | None = None
) -> Path:
    """Where :func:`load_variant` caches ``(name, random_state, sizes)``."""
    spec = _spec(name)
    sizes = _check_sizes(spec, sizes)
    seed = _check_seed(random_state)
    tag = "-".join(str(s) for s in sizes)
    return data_home(root) / _CACHE_SUBDIR / f"{name}_seed{seed}_{tag}_v{RECIPE_VERSION}.npz"


def _meta(name: str, seed: int, sizes: Sizes) -> dict:
    return {
        "name": name,
        "random_state": seed,
        "sizes": list(sizes),
        "recipe_version": RECIPE_VERSION,
        "format": "daekit-variant",
    }


def _progress_callback(progress, name: str, total: int):
    """(callback, close) for ``progress``: False/None, True (tqdm bar) or a callable."""
    if not progress:
        return None, lambda: None
    if callable(progress):
        return progress, lambda: None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None, lambda: None
    bar = tqdm(total=total, desc=name, unit="img", file=sys.stderr, dynamic_ncols=True, leave=True, disable=None)
    return bar.update, bar.close


def load_variant(
    name: str,
    root: PathLike | None = None,
    random_state: int = 0,
    sizes: Sequence[int] | None = None,
    *,
    cache: bool = True,
    force: bool = False,
    download: bool = True,
    progress: Union[bool, Callable[[int], None]] = False,
) -> VariantData:
    """Load one data set of the Larochelle et al. (2007) benchmark, generating and caching it if needed.

    Parameters
    ----------
    name : str
        One of :data:`VARIANTS` (see the module docstring), e.g. ``"mnist-rot"`` or ``"convex"``;
        ``"mnist"`` gives plain MNIST split 50k / 10k / 10k (never cached).
    root : path, optional
        Data folder (``$DAEKIT_DATA`` or ``~/.cache/daekit`` by default, see
        :func:`~daekit.datasets.data_home`): MNIST is read from there and the cache lives in its
        ``variants/`` folder.
    random_state : int, default 0
        Seed; the same seed (and sizes) always gives the same data.
    sizes : (n_train, n_valid, n_test), optional
        Sizes of the three splits (default: the benchmark's, see :data:`VARIANTS`); part of the
        cache key. For ``"mnist"``, takes the first examples of each split.
    cache : bool, default True
        Read and write the cache; False generates in memory only.
    force : bool, default False
        Regenerate even if a valid cache file exists.
    download : bool, default True
        Download MNIST if it is missing (the mnist-* variants need it).
    progress : bool or callable, default False
        True shows a tqdm progress bar on stderr while generating; a callable gets the number of
        examples finished at each step.

    Returns
    -------
    VariantData
        ``x_train, y_train, x_valid, y_valid, x_test, y_test`` (float32 (n, 784) in [0, 1] and
        int64 labels), plus ``sha256``, ``path``, ``status`` and ``extras``.

    Raises
    ------
    ValueError
        Unknown name, bad sizes or seed.
    daekit.datasets.DatasetNotFoundError
        MNIST is needed and not available.
    daekit.datasets.photos.PhotoUnavailableError
        A photograph of the pool is not bundled with the installed scikit-image.
    """
    spec = _spec(name)
    sizes_t = _check_sizes(spec, sizes)
    seed = _check_seed(random_state)
    if spec.generator is None:
        return _load_plain_mnist(spec, root, seed, sizes_t, sizes is not None, download)

    meta = _meta(name, seed, sizes_t)
    path = cache_path(name, seed, sizes_t, root)
    status = "uncached"
    arrays: dict[str, np.ndarray] | None = None
    digest = ""
    if cache:
        status = "generated"
        if path.exists() and not force:
            arrays, digest, problem = read_cache(path, meta, sizes_t)
            if arrays is None:
                warnings.warn(
                    f"cached data set {path} is damaged or stale ({problem}); regenerating it",
                    CacheWarning,
                    stacklevel=2,
                )
                status = "regenerated"
            else:
                status = "loaded"
        elif path.exists():
            status = "regenerated"
    if arrays is None:
        callback, close = _progress_callback(progress, name, sum(sizes_t))
        try:
            arrays = generate_variant(name, seed, sizes_t, root, callback, download)
        finally:
            close()
        digest = content_hash(arrays)
        if cache:
            write_cache(path, arrays, meta, digest)
    return _to_data(spec, arrays, seed, sizes_t, digest, path if cache else None, status)


def _to_data(
    spec: VariantSpec,
    arrays: dict[str, np.ndarray],
    seed: int,
    sizes: Sizes,
    digest: str,
    path: Path | None,
    status: str,
) -> VariantData:
    xs = {s: arrays[f"x_{s}"].astype(np.float32) / np.float32(255.0) for s in SPLITS}
    extras = {k: v for k, v in arrays.items() if not (k[:2] in ("x_", "y_") and k[2:] in SPLITS)}
    return VariantData(
        spec.name,
        xs["train"],
        arrays["y_train"],
        xs["valid"],
        arrays["y_valid"],
        xs["test"],
        arrays["y_test"],
        spec.n_classes,
        spec.class_names,
        seed,
        sizes,
        digest,
        path,
        status,
        extras,
    )


def _load_plain_mnist(spec: VariantSpec, root, seed: int, sizes: Sizes, truncate: bool, download: bool) -> VariantData:
    x_tr, y_tr, x_te, y_te = load_mnist(root, download=download, verbose=True)
    parts = {"train": (x_tr[:50_000], y_tr[:50_000]), "valid": (x_tr[50_000:], y_tr[50_000:]), "test": (x_te, y_te)}
    if truncate:
        parts = {s: (x[:n], y[:n]) for (s, (x, y)), n in zip(parts.items(), sizes)}
    sizes = tuple(len(parts[s][1]) for s in SPLITS)  # type: ignore[assignment]
    arrays = {}
    for s in SPLITS:
        arrays[f"x_{s}"] = quantize(parts[s][0])
        arrays[f"y_{s}"] = parts[s][1].astype(np.int64)
    digest = content_hash(arrays)
    return VariantData(
        spec.name,
        parts["train"][0],
        arrays["y_train"],
        parts["valid"][0],
        arrays["y_valid"],
        parts["test"][0],
        arrays["y_test"],
        spec.n_classes,
        spec.class_names,
        seed,
        sizes,
        digest,
        None,
        "uncached",
        {},
    )
