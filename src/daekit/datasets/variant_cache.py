"""The on-disk cache of a generated variant: one compressed ``.npz`` with its metadata and SHA-256.

A file is trusted only if it reads back completely, its metadata equal the request and its arrays
hash to the stored digest; files are written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..utils.atomic import atomic_path
from .photos import PATCH

__all__ = ["CacheWarning", "SPLITS", "content_hash", "read_cache", "write_cache"]

SPLITS = ("train", "valid", "test")
Sizes = tuple[int, int, int]


class CacheWarning(UserWarning):
    """A cached variant file was damaged or stale and is being regenerated."""


def content_hash(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the arrays in key order: name, dtype, shape and bytes of each."""
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def write_cache(path: Path, arrays: dict[str, np.ndarray], meta: dict, digest: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            # numpy's stubs type **kwds as if a key could be allow_pickle (bool); every key here names an array
            np.savez_compressed(
                fh,
                **arrays,  # type: ignore[arg-type]
                __meta__=np.array(json.dumps(meta, sort_keys=True)),
                __sha256__=np.array(digest),
            )
            fh.flush()
            os.fsync(fh.fileno())


def read_cache(path: Path, meta: dict, sizes: Sizes) -> tuple[dict[str, np.ndarray] | None, str, str]:
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
        if (
            x is None
            or y is None
            or x.dtype != np.uint8
            or x.shape != (n, PATCH * PATCH)
            or y.dtype != np.int64
            or y.shape != (n,)
        ):
            return None, "", f"unexpected arrays for split {split!r}"
    digest = content_hash(arrays)
    if digest != stored_digest:
        return None, "", f"content hash {digest[:12]}… differs from the stored {stored_digest[:12]}…"
    return arrays, digest, ""
