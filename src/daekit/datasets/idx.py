"""IDX files (the format of the MNIST distribution): parsing with errors that name the file."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import Union

import numpy as np

__all__ = ["DatasetError", "DatasetNotFoundError", "read_idx", "load_idx_images", "load_idx_labels"]

PathLike = Union[str, "os.PathLike[str]"]

# IDX type code -> big-endian numpy dtype.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DatasetError(ValueError):
    """A dataset file is corrupt: bad checksum, broken gzip or malformed IDX.

    The message always names the offending file. Subclasses :class:`ValueError`.
    """


class DatasetNotFoundError(FileNotFoundError):
    """Dataset files are missing locally and could not be downloaded.

    The message names the missing files, the folder searched, the mirrors
    tried (if any) and how to point ``DAEKIT_DATA`` at a local copy.
    """


def _read_gzip(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: corrupt or truncated gzip file ({exc})") from exc


def read_idx(path: PathLike) -> np.ndarray:
    """Read a (gzip-compressed) IDX file.

    Parameters
    ----------
    path : str or os.PathLike
        File to read; decompressed if the name ends with ``.gz``.

    Returns
    -------
    numpy.ndarray
        Array with the file's dimensions, in native byte order.

    Raises
    ------
    DatasetError
        (a :class:`ValueError`) naming the file if the gzip stream is corrupt,
        the magic number is invalid, or the payload size does not match the
        header.
    """
    path = Path(path)
    if path.name.endswith(".gz"):
        data = _read_gzip(path)
    else:
        data = path.read_bytes()
    return _parse_idx(data, path)


def _parse_idx(data: bytes, path: Path) -> np.ndarray:
    if len(data) < 4:
        raise DatasetError(f"{path}: not an IDX file (only {len(data)} bytes)")
    zero1, zero2, type_code, ndim = data[0], data[1], data[2], data[3]
    magic = int.from_bytes(data[:4], "big")
    if zero1 != 0 or zero2 != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise DatasetError(f"{path}: bad IDX magic number 0x{magic:08x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        kind = "truncated" if actual < expected else "trailing bytes in"
        raise DatasetError(f"{path}: {kind} IDX payload: header dims {dims} need {expected} bytes, found {actual}")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=False)


def load_idx_images(path: Path) -> np.ndarray:
    arr = read_idx(path)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[1:] != (28, 28):
        raise DatasetError(f"{path}: expected uint8 images of shape (n, 28, 28), got {arr.dtype} {arr.shape}")
    x = arr.reshape(arr.shape[0], 28 * 28).astype(np.float32)
    x /= np.float32(255.0)
    return x


def load_idx_labels(path: Path, n_images: int) -> np.ndarray:
    arr = read_idx(path)
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise DatasetError(f"{path}: expected uint8 labels of shape (n,), got {arr.dtype} {arr.shape}")
    if arr.shape[0] != n_images:
        raise DatasetError(f"{path}: {arr.shape[0]} labels but the image file holds {n_images} images")
    if arr.size and arr.max() > 9:
        raise DatasetError(f"{path}: label {int(arr.max())} outside 0..9")
    return arr.astype(np.int64)
