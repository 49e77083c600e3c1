"""Atomic writes: a file or a folder is assembled under a temporary name next to its destination
and renamed into place, so a reader sees the old version or the complete new one, never a part."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["atomic_path", "atomic_write_bytes", "write_json", "atomic_directory"]


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` on success.

    The temporary file is created in the same directory as ``path`` (so the
    final :func:`os.replace` is atomic on POSIX and Windows) and is initially
    empty. The caller writes to it however it likes (``open``, ``torch.save``,
    ``np.save`` with an explicit file object, ...). When the ``with`` block
    exits normally the temporary file replaces ``path``; if the block raises,
    the temporary file is removed and ``path`` is left untouched.

    Parameters
    ----------
    path : str or os.PathLike
        Final destination. Its parent directory must exist.

    Yields
    ------
    pathlib.Path
        Path of the temporary file to write to.

    Examples
    --------
    >>> with atomic_path("weights.pt") as tmp:  # doctest: +SKIP
    ...     torch.save(state, tmp)
    """
    target = Path(path)
    tmp = _create_temp(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _create_temp(target: Path) -> Path:
    """Create an empty, uniquely named file next to ``target``.

    Unlike :func:`tempfile.mkstemp` (mode 0600) the file is created with mode
    0666 filtered by the process umask, so the final file gets the same
    permissions as one created with plain ``open(path, "wb")``.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file next to {target}")


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Atomically write ``data`` to ``path``.

    Readers see either the old file or the complete new one, never a partial
    write; on failure no temporary file is left behind.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file. Its parent directory must exist.
    data : bytes
        Content to write.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def write_json(path: PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


@contextlib.contextmanager
def atomic_directory(path: PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder next to ``path``; on success its files are fsynced and it
    replaces ``path`` (an existing folder there is replaced only once the new one is complete).
    If the block raises, the temporary folder is removed and ``path`` is left untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-{path.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        if path.exists():
            old = path.parent / f".old-{path.name}-{uuid.uuid4().hex[:8]}"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
