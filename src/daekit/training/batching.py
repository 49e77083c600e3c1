"""Training data as minibatches: tensors already on the device, or arrays larger than memory.

In memory, a batch is one index into a tensor that already lives on the device (no per-example
DataLoader). Out of core (a ``.npy`` file or an ``np.memmap``), rows are read in chunks with
ordinary file reads — not through the memory map, whose touched pages would count as resident
memory — the chunk order is shuffled and rows are shuffled within each chunk, so memory stays
flat however large the file is.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["OutOfCoreArray", "is_out_of_core", "epoch_batches", "as_tensors", "DEFAULT_CHUNK_ROWS"]

DEFAULT_CHUNK_ROWS = 16384


class OutOfCoreArray:
    """A 2-D C-ordered array in a ``.npy`` file (or behind an ``np.memmap``), read by rows.

    Parameters
    ----------
    source : path to a ``.npy`` file, or an ``np.memmap`` opened on one.
    chunk_rows : rows read at a time during training.
    """

    def __init__(self, source: str | os.PathLike | np.memmap, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        if isinstance(source, np.memmap):
            if source.filename is None or not source.flags.c_contiguous:
                raise ValueError("an out-of-core array must be a C-contiguous np.memmap opened on a file")
            self.path, self.offset = Path(source.filename), int(source.offset)
            self.shape, self.dtype = tuple(source.shape), source.dtype
            if self.offset + source.nbytes != os.path.getsize(self.path):
                raise ValueError(
                    "pass a memmap of a whole file (np.load(path, mmap_mode='r')), not a slice of one; "
                    "use OutOfCoreArray(path).rows(start, stop) for a range of rows"
                )
        else:
            self.path = Path(source)
            with open(self.path, "rb") as f:
                version = np.lib.format.read_magic(f)
                read_header = (
                    np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                )
                shape, fortran, dtype = read_header(f)
                self.offset = f.tell()
            if fortran:
                raise ValueError(f"{self.path}: Fortran-ordered arrays are not supported out of core")
            self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        if len(self.shape) < 1 or self.shape[0] == 0:
            raise ValueError(f"{self.path}: expected a non-empty array, got shape {self.shape}")
        self.row_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize
        expected = self.offset + self.shape[0] * self.row_bytes
        if os.path.getsize(self.path) < expected:
            raise ValueError(f"{self.path} is truncated: {os.path.getsize(self.path)} bytes, expected {expected}")
        self.chunk_rows = int(chunk_rows)

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, start: int, stop: int) -> OutOfCoreArray:
        """The rows [start, stop) as another out-of-core array (no data is read)."""
        start, stop, _ = slice(start, stop).indices(self.shape[0])
        if stop <= start:
            raise ValueError(f"empty row range [{start}, {stop})")
        view = object.__new__(OutOfCoreArray)
        view.__dict__.update(self.__dict__)
        view.offset = self.offset + start * self.row_bytes
        view.shape = (stop - start, *self.shape[1:])
        return view

    def min_max(self) -> tuple[float, float]:
        """Smallest and largest value, read chunk by chunk."""
        lo, hi = math.inf, -math.inf
        for start in range(0, len(self), self.chunk_rows):
            rows = self.read_rows(start, min(start + self.chunk_rows, len(self)))
            lo, hi = min(lo, float(rows.min())), max(hi, float(rows.max()))
        return lo, hi

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) as a new in-memory array."""
        out = np.empty((stop - start, *self.shape[1:]), dtype=self.dtype)
        view = out.reshape(-1).view(np.uint8).data
        with open(self.path, "rb", buffering=0) as f:
            f.seek(self.offset + start * self.row_bytes)
            got = 0
            while got < len(view):
                n = f.readinto(view[got:])
                if not n:
                    raise ValueError(f"{self.path}: unexpected end of file")
                got += n
        return out


def is_out_of_core(item: Any) -> bool:
    return isinstance(item, (OutOfCoreArray, np.memmap))


Shard = Callable[[int], tuple[int, int]]


def _take(data: Sequence[Tensor], idx: Tensor, shard: Shard | None) -> tuple[tuple[Tensor, ...], int, tuple[int, int]]:
    start, stop = shard(len(idx)) if shard is not None else (0, len(idx))
    idx_local = idx[start:stop] if shard is not None else idx
    return tuple(t[idx_local] for t in data), len(idx), (start, stop)


def _in_memory_batches(
    data: Sequence[Tensor], batch_size: int, generator: torch.Generator, shard: Shard | None
) -> Iterator[tuple[tuple[Tensor, ...], int, tuple[int, int]]]:
    n = len(data[0])
    perm = torch.randperm(n, generator=generator).to(data[0].device)
    for start in range(0, n, batch_size):
        yield _take(data, perm[start : start + batch_size], shard)


def _chunked_batches(
    data: Sequence[Any],
    batch_size: int,
    generator: torch.Generator,
    device: torch.device,
    dtype: torch.dtype,
    shard: Shard | None,
) -> Iterator[tuple[tuple[Tensor, ...], int, tuple[int, int]]]:
    n = len(data[0])
    chunk_rows = min(next(d.chunk_rows for d in data if isinstance(d, OutOfCoreArray)), n)
    chunk_rows = max(batch_size, chunk_rows // batch_size * batch_size)  # whole batches per chunk

    def load(c: int) -> list[Tensor]:
        start, stop = c * chunk_rows, min((c + 1) * chunk_rows, n)
        chunk = []
        for d in data:
            t = torch.as_tensor(d.read_rows(start, stop) if isinstance(d, OutOfCoreArray) else d[start:stop])
            chunk.append(t.to(device, dtype) if t.is_floating_point() else t.to(device))
        return chunk

    order = torch.randperm(math.ceil(n / chunk_rows), generator=generator).tolist()
    # the next chunk is read in a background thread while this one trains (file reads release the GIL)
    with ThreadPoolExecutor(max_workers=1) as reader:
        pending = reader.submit(load, order[0])
        for i in range(len(order)):
            chunk = pending.result()
            if i + 1 < len(order):
                pending = reader.submit(load, order[i + 1])
            size = len(chunk[0])
            perm = torch.randperm(size, generator=generator).to(device)
            for b in range(0, size, batch_size):
                yield _take(chunk, perm[b : b + batch_size], shard)


def epoch_batches(
    data: Sequence[Any],
    batch_size: int,
    generator: torch.Generator,
    device: torch.device,
    dtype: torch.dtype,
    shard: Shard | None = None,
) -> Iterator[tuple[tuple[Tensor, ...], int, tuple[int, int]]]:
    """The minibatches of one epoch in a random order drawn from ``generator``.

    Yields ``(batch, global_size, (start, stop))``: with ``shard`` (global size -> this process's
    row range), ``batch`` holds only this process's rows [start, stop) of the global batch.
    """
    if any(isinstance(d, OutOfCoreArray) for d in data):
        return _chunked_batches(data, batch_size, generator, device, dtype, shard)
    return _in_memory_batches(data, batch_size, generator, shard)


def as_tensors(data: Any, device: torch.device | str = "cpu", dtype: torch.dtype | None = None) -> tuple[Tensor, ...]:
    """Turn an array, a tensor or a tuple of them into a tuple of tensors on ``device``.

    Floating arrays become ``dtype`` (default float32); integer arrays (labels) stay integers.
    A ``np.memmap`` or :class:`~daekit.training.batching.OutOfCoreArray` stays on disk (read in chunks).
    All members must have the same length.
    """
    items = data if isinstance(data, (tuple, list)) else (data,)
    out: list[Any] = []  # tensors, and OutOfCoreArray for data that stays on disk
    for item in items:
        if is_out_of_core(item):
            out.append(item if isinstance(item, OutOfCoreArray) else OutOfCoreArray(item))
            continue
        t = item if isinstance(item, Tensor) else torch.as_tensor(np.asarray(item))
        if t.is_floating_point():
            t = t.to(dtype or torch.float32)
        out.append(t.to(device))
    lengths = {len(t) for t in out}
    if len(lengths) != 1:
        raise ValueError(f"all arrays of a data tuple must have the same length, got {sorted(lengths)}")
    return tuple(out)
