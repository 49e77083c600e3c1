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

import hashlib
import json
import os
import sys
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._atomic import atomic_path
from .mnist import data_home, load_mnist
from .photos import PATCH, photo_pool, sample_patches
from .shapes import make_convex, make_rectangles, make_rectangles_images

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
SPLITS = ("train", "valid", "test")
_CACHE_SUBDIR = "variants"
_CHUNK = 8192

PathLike = Union[str, "os.PathLike[str]"]
Progress = Optional[Callable[[int], None]]
Sizes = Tuple[int, int, int]


class CacheWarning(UserWarning):
    """A cached variant file was damaged or stale and is being regenerated."""


@dataclass(frozen=True)
class VariantSpec:
    """One data set of the benchmark."""

    name: str
    sizes: Sizes
    n_classes: int
    class_names: Tuple[str, ...]
    description: str
    generator: Optional[Callable] = field(default=None, repr=False)  # (rng, n, split, pool, progress) -> (x, y, extras)
    uses_mnist: bool = False
    uses_photos: bool = False


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
    class_names: Tuple[str, ...]
    random_state: int
    sizes: Sizes
    sha256: str
    path: Optional[Path] = None
    status: str = "uncached"
    extras: Dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __getitem__(self, key: str) -> np.ndarray:
        if key in ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test"):
            return getattr(self, key)
        raise KeyError(key)

    def split(self, which: str) -> Tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of ``"train"``, ``"valid"`` or ``"test"``."""
        if which not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {which!r}")
        return getattr(self, f"x_{which}"), getattr(self, f"y_{which}")

    def as_dict(self) -> Dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test")}


# ----------------------------------------------------------------------------- rotation

_CENTRE = (PATCH - 1) / 2.0
_GRID_R, _GRID_C = np.meshgrid(np.arange(PATCH, dtype=np.float32) - _CENTRE,
                               np.arange(PATCH, dtype=np.float32) - _CENTRE, indexing="ij")


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
    base = (np.arange(n, dtype=np.int64)[:, None, None] * (side * side)
            + r0.astype(np.int64) * side + c0.astype(np.int64))
    top = (1 - fc) * np.take(flat, base) + fc * np.take(flat, base + 1)
    bottom = (1 - fc) * np.take(flat, base + side) + fc * np.take(flat, base + side + 1)
    out = (1 - fr) * top + fr * bottom
    return np.clip(out, 0.0, 1.0, out=out).reshape(shape)


# ------------------------------------------------------------------------ MNIST variants


class _MnistPool:
    """The 70 000 MNIST digits (uint8, read-only) and labels; the last one loaded is kept in memory
    (keyed by the files' paths, sizes and modification times) so that generating several variants
    in one process reads MNIST once."""

    _last: Optional[Tuple[tuple, "_MnistPool"]] = None

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x, self.y = x, y
        self.x.setflags(write=False)
        self.y.setflags(write=False)

    @classmethod
    def load(cls, root: Optional[PathLike], download: bool) -> "_MnistPool":
        key = cls._key(root)
        if key is not None and cls._last is not None and cls._last[0] == key:
            return cls._last[1]
        x_tr, y_tr, x_te, y_te = load_mnist(root, download=download, verbose=True)
        x = np.concatenate([_quantize(x_tr), _quantize(x_te)])
        del x_tr, x_te
        pool = cls(x, np.concatenate([y_tr, y_te]).astype(np.int64))
        key = cls._key(root)
        if key is not None:
            cls._last = (key, pool)
        return pool

    @staticmethod
    def _key(root: Optional[PathLike]) -> Optional[tuple]:
        from .mnist import MNIST_FILES, _resolve_folder

        folder, _ = _resolve_folder(root)
        try:
            stats = [os.stat(folder / f) for f in MNIST_FILES]
        except OSError:
            return None
        return (str(folder.resolve()),) + tuple((s.st_size, s.st_mtime_ns) for s in stats)


def _draw_mnist_indices(rng: np.random.Generator, labels: np.ndarray, sizes: Sizes) -> List[np.ndarray]:
    """Per split, indices into the pool: disjoint, class-balanced, shuffled."""
    counts = []
    for n in sizes:
        c = np.full(10, n // 10, dtype=np.int64)
        c[rng.choice(10, size=n % 10, replace=False)] += 1
        counts.append(c)
    counts = np.stack(counts)  # (3 splits, 10 classes)
    parts: List[List[np.ndarray]] = [[], [], []]
    for k in range(10):
        pool_k = np.flatnonzero(labels == k)
        need = int(counts[:, k].sum())
        if need > pool_k.size:
            raise ValueError(f"sizes {sizes} need {need} examples of digit {k}, MNIST has {pool_k.size}")
        chosen = pool_k[rng.permutation(pool_k.size)[:need]]
        bounds = np.concatenate([[0], np.cumsum(counts[:, k])])
        for s in range(3):
            parts[s].append(chosen[bounds[s]:bounds[s + 1]])
    out = []
    for s in range(3):
        idx = np.concatenate(parts[s])
        out.append(idx[rng.permutation(idx.size)])
    return out


def _mnist_generator(rotate: bool, background: Optional[str]):
    def generate(rng: np.random.Generator, index: np.ndarray, split: str, pool: _MnistPool,
                 progress: Progress) -> Tuple[np.ndarray, np.ndarray, Dict[str, np.ndarray]]:
        n = index.size
        extras: Dict[str, np.ndarray] = {"mnist_index": index.astype(np.int64)}
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


def _shape_generator(func):
    def generate(rng, n, split, pool, progress):
        return func(rng, n, split, progress=progress)

    return generate


_DIGITS = tuple(str(d) for d in range(10))

VARIANTS: Dict[str, VariantSpec] = {
    spec.name: spec
    for spec in [
        VariantSpec("mnist-basic", (10_000, 2_000, 50_000), 10, _DIGITS,
                    "MNIST digits drawn without replacement from the 70k pool",
                    _mnist_generator(False, None), uses_mnist=True),
        VariantSpec("mnist-rot", (10_000, 2_000, 50_000), 10, _DIGITS,
                    "digits rotated by an angle uniform in [0, 2pi)",
                    _mnist_generator(True, None), uses_mnist=True),
        VariantSpec("mnist-back-rand", (10_000, 2_000, 50_000), 10, _DIGITS,
                    "digits on uniform random noise, max(digit, noise)",
                    _mnist_generator(False, "rand"), uses_mnist=True),
        VariantSpec("mnist-back-image", (10_000, 2_000, 50_000), 10, _DIGITS,
                    "digits on a photograph patch, max(digit, patch)",
                    _mnist_generator(False, "image"), uses_mnist=True, uses_photos=True),
        VariantSpec("mnist-rot-back-image", (10_000, 2_000, 50_000), 10, _DIGITS,
                    "rotated digits on a photograph patch",
                    _mnist_generator(True, "image"), uses_mnist=True, uses_photos=True),
        VariantSpec("rectangles", (1_000, 200, 50_000), 2, ("wide", "tall"),
                    "white rectangle outline; label 1 = taller than wide",
                    _shape_generator(make_rectangles)),
        VariantSpec("rectangles-images", (10_000, 2_000, 50_000), 2, ("wide", "tall"),
                    "rectangle of one photograph patch on another; label 1 = taller than wide",
                    _shape_generator(make_rectangles_images), uses_photos=True),
        VariantSpec("convex", (6_500, 1_500, 50_000), 2, ("non-convex", "convex"),
                    "white convex region (1) or union of 2-4 convex sets (0)",
                    _shape_generator(make_convex)),
        VariantSpec("mnist", (50_000, 10_000, 10_000), 10, _DIGITS,
                    "plain MNIST: train 50k, valid = last 10k of the training file, test 10k",
                    None, uses_mnist=True),
    ]
}


def list_variants(include_mnist: bool = True) -> List[str]:
    """Names accepted by :func:`load_variant` (``"mnist"`` last)."""
    return [n for n in VARIANTS if include_mnist or n != "mnist"]


def _spec(name: str) -> VariantSpec:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(VARIANTS)}") from None


def _check_sizes(spec: VariantSpec, sizes: Optional[Sequence[int]]) -> Sizes:
    if sizes is None:
        return spec.sizes
    sizes = tuple(sizes)
    if len(sizes) != 3 or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0
                                  for s in sizes):
        raise ValueError(f"sizes must be three non-negative integers (train, valid, test), got {sizes!r}")
    return tuple(int(s) for s in sizes)  # type: ignore[return-value]


def _check_seed(random_state) -> int:
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ValueError(f"random_state must be a non-negative integer, got {random_state!r}")
    return int(random_state)


# ------------------------------------------------------------------------------ generation


def _quantize(x: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(x, 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)


def generate_variant(name: str, random_state: int = 0, sizes: Optional[Sequence[int]] = None,
                     root: Optional[PathLike] = None, progress: Progress = None,
                     download: bool = True) -> Dict[str, np.ndarray]:
    """Generate a data set without touching the cache: a dict of the stored arrays
    (``x_<split>`` uint8 (n, 784), ``y_<split>`` int64, and ``<extra>_<split>`` provenance).
    ``progress(k)`` is called as examples are finished. Not for ``"mnist"``."""
    spec = _spec(name)
    if spec.generator is None:
        raise ValueError(f"{name!r} is not generated; use load_variant({name!r})")
    sizes = _check_sizes(spec, sizes)
    seed = _check_seed(random_state)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    pool = _MnistPool.load(root, download) if spec.uses_mnist else None
    if pool is not None:
        plans: List = _draw_mnist_indices(rng, pool.y, sizes)
    else:
        plans = list(sizes)
    arrays: Dict[str, np.ndarray] = {}
    for split, plan in zip(SPLITS, plans):
        x, y, extras = spec.generator(rng, plan, split, pool, progress)
        arrays[f"x_{split}"] = _quantize(x)
        arrays[f"y_{split}"] = np.asarray(y, dtype=np.int64)
        for key, value in extras.items():
            arrays[f"{key}_{split}"] = np.asarray(value)
    return arrays


def content_hash(arrays: Dict[str, np.ndarray]) -> str:
    """SHA-256 over the arrays in key order: name, dtype, shape and bytes of each."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------------- cache


def cache_path(name: str, random_state: int = 0, sizes: Optional[Sequence[int]] = None,
               root: Optional[PathLike] = None) -> Path:
    """Where :func:`load_variant` caches ``(name, random_state, sizes)``."""
    spec = _spec(name)
    sizes = _check_sizes(spec, sizes)
    seed = _check_seed(random_state)
    tag = "-".join(str(s) for s in sizes)
    return data_home(root) / _CACHE_SUBDIR / f"{name}_seed{seed}_{tag}_v{RECIPE_VERSION}.npz"


def _meta(name: str, seed: int, sizes: Sizes) -> Dict:
    return {"name": name, "random_state": seed, "sizes": list(sizes), "recipe_version": RECIPE_VERSION,
            "format": "daekit-variant"}


def _write_cache(path: Path, arrays: Dict[str, np.ndarray], meta: Dict, digest: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays, __meta__=np.array(json.dumps(meta, sort_keys=True)),
                                __sha256__=np.array(digest))
            fh.flush()
            os.fsync(fh.fileno())


def _read_cache(path: Path, meta: Dict, sizes: Sizes) -> Tuple[Optional[Dict[str, np.ndarray]], str, str]:
    """(arrays, digest, problem): arrays None and a reason when the file cannot be trusted."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # truncated / corrupt zip, bad CRC, zlib errors, bad headers
        return None, "", f"unreadable ({type(exc).__name__}: {exc})"
    try:
        stored_meta = json.loads(str(arrays.pop("__meta__")))
        stored_digest = str(arrays.pop("__sha256__"))
    except Exception as exc:
        return None, "", f"no metadata ({type(exc).__name__}: {exc})"
    if stored_meta != meta:
        return None, "", f"metadata {stored_meta} do not match the request {meta}"
    for split, n in zip(SPLITS, sizes):
        x, y = arrays.get(f"x_{split}"), arrays.get(f"y_{split}")
        if x is None or y is None or x.dtype != np.uint8 or x.shape != (n, PATCH * PATCH) \
                or y.dtype != np.int64 or y.shape != (n,):
            return None, "", f"unexpected arrays for split {split!r}"
    digest = content_hash(arrays)
    if digest != stored_digest:
        return None, "", f"content hash {digest[:12]}… differs from the stored {stored_digest[:12]}…"
    return arrays, digest, ""


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


def load_variant(name: str, root: Optional[PathLike] = None, random_state: int = 0,
                 sizes: Optional[Sequence[int]] = None, *, cache: bool = True, force: bool = False,
                 download: bool = True, progress: Union[bool, Callable[[int], None]] = False) -> VariantData:
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
    arrays: Optional[Dict[str, np.ndarray]] = None
    digest = ""
    if cache:
        status = "generated"
        if path.exists() and not force:
            arrays, digest, problem = _read_cache(path, meta, sizes_t)
            if arrays is None:
                warnings.warn(f"cached data set {path} is damaged or stale ({problem}); regenerating it",
                              CacheWarning, stacklevel=2)
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
            _write_cache(path, arrays, meta, digest)
    return _to_data(spec, arrays, seed, sizes_t, digest, path if cache else None, status)


def _to_data(spec: VariantSpec, arrays: Dict[str, np.ndarray], seed: int, sizes: Sizes, digest: str,
             path: Optional[Path], status: str) -> VariantData:
    xs = {s: arrays[f"x_{s}"].astype(np.float32) / np.float32(255.0) for s in SPLITS}
    extras = {k: v for k, v in arrays.items() if not (k[:2] in ("x_", "y_") and k[2:] in SPLITS)}
    return VariantData(spec.name, xs["train"], arrays["y_train"], xs["valid"], arrays["y_valid"],
                       xs["test"], arrays["y_test"], spec.n_classes, spec.class_names, seed, sizes,
                       digest, path, status, extras)


def _load_plain_mnist(spec: VariantSpec, root, seed: int, sizes: Sizes, truncate: bool,
                      download: bool) -> VariantData:
    x_tr, y_tr, x_te, y_te = load_mnist(root, download=download, verbose=True)
    parts = {"train": (x_tr[:50_000], y_tr[:50_000]), "valid": (x_tr[50_000:], y_tr[50_000:]),
             "test": (x_te, y_te)}
    if truncate:
        parts = {s: (x[:n], y[:n]) for (s, (x, y)), n in zip(parts.items(), sizes)}
    sizes = tuple(len(parts[s][1]) for s in SPLITS)  # type: ignore[assignment]
    arrays = {}
    for s in SPLITS:
        arrays[f"x_{s}"] = _quantize(parts[s][0])
        arrays[f"y_{s}"] = parts[s][1].astype(np.int64)
    digest = content_hash(arrays)
    return VariantData(spec.name, parts["train"][0], arrays["y_train"], parts["valid"][0], arrays["y_valid"],
                       parts["test"][0], arrays["y_test"], spec.n_classes, spec.class_names, seed, sizes,
                       digest, None, "uncached", {})
