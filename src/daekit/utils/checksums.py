"""SHA-256 checksums of the binary files of a folder (weights, trainer state), stored beside them
in ``SHA256SUMS`` (the format of ``sha256sum``: ``<hex digest>  <file name>`` per line), so a
truncated or garbled file is detected before it is read. JSON files are left out: they are
human-editable and validated when parsed."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .atomic import atomic_write_bytes

__all__ = ["CHECKSUM_FILE", "sha256_file", "write_checksums", "checksum_problem", "verify_checksums"]

CHECKSUM_FILE = "SHA256SUMS"


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The hex SHA-256 digest of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_checksums(folder: str | os.PathLike) -> Path:
    """Write ``folder/SHA256SUMS`` with the digest of every regular non-JSON file in ``folder``."""
    folder = Path(folder)
    lines = [
        f"{sha256_file(p)}  {p.name}"
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != CHECKSUM_FILE and p.suffix != ".json"
    ]
    atomic_write_bytes(folder / CHECKSUM_FILE, ("\n".join(lines) + "\n").encode())
    return folder / CHECKSUM_FILE


def checksum_problem(folder: str | os.PathLike) -> str | None:
    """None when every file listed in ``folder/SHA256SUMS`` is present with its digest; otherwise
    a sentence naming the first bad file. A folder without ``SHA256SUMS`` (written before
    checksums were stored) is not checked."""
    folder = Path(folder)
    sums = folder / CHECKSUM_FILE
    if not sums.is_file():
        return None
    try:
        lines = sums.read_text().splitlines()
    except UnicodeDecodeError:
        return f"{sums} is garbled"
    for line in lines:
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or "/" in name:
            return f"{sums} is garbled"
        f = folder / name
        if not f.is_file():
            return f"{f} is missing"
        if sha256_file(f) != digest:
            return f"{f} is corrupt (its SHA-256 does not match {sums}; truncated or garbled)"
    return None


def verify_checksums(folder: str | os.PathLike) -> None:
    """Raise ValueError naming the bad file when :func:`checksum_problem` finds one."""
    problem = checksum_problem(folder)
    if problem is not None:
        raise ValueError(problem)
