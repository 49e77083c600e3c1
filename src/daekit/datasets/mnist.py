"""MNIST loader: local lookup and verified download from mirrors (the IDX format: :mod:`.idx`)."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import os
import shutil
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Union

import numpy as np

from daekit.utils.atomic import atomic_path

from .idx import DatasetError, DatasetNotFoundError, load_idx_images, load_idx_labels

logger = logging.getLogger(__name__)

__all__ = [
    "MIRRORS",
    "MNIST_FILES",
    "RESOURCES",
    "data_home",
    "load_mnist",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Base URLs tried in order; each file is fetched from ``mirror + file_name``.
MIRRORS: list[str] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]

#: File name -> MD5 of the *decompressed* content. The gzip bytes themselves
#: are not checked because recompressed copies of MNIST are common.
RESOURCES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}

#: The four files, in the order train images, train labels, test images, test labels.
MNIST_FILES: tuple[str, str, str, str] = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

ENV_VAR = "DAEKIT_DATA"
_SUBDIR = "mnist"
_CHUNK = 1 << 20


class _NetworkError(Exception):
    """Internal: fetching one URL failed; try the next mirror."""


def data_home(root: PathLike | None = None) -> Path:
    """Return the daekit data folder.

    Parameters
    ----------
    root : str or os.PathLike, optional
        Explicit folder. If ``None``, ``$DAEKIT_DATA`` is used when set and
        non-empty, otherwise ``~/.cache/daekit``.

    Returns
    -------
    pathlib.Path
        The folder (``~`` expanded); it is not created. MNIST files live in
        ``data_home(root) / "mnist"``.
    """
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "daekit"


# ---------------------------------------------------------------------- download


def _gunzip_md5(path: Path, name: str) -> str:
    md5 = hashlib.md5()
    try:
        with gzip.open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                md5.update(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DatasetError(f"downloaded {name} is not a valid gzip file (corrupt or truncated: {exc})") from exc
    return md5.hexdigest()


def _fetch(url: str, dest: Path, timeout: float) -> int:
    """Stream ``url`` into ``dest``; network failures become ``_NetworkError``."""
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "daekit"})
        with urllib.request.urlopen(req, timeout=timeout) as resp, open(dest, "wb") as out:
            shutil.copyfileobj(resp, out, _CHUNK)
            return out.tell()
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise _NetworkError(str(exc)) from exc


def _download(name: str, folder: Path, mirrors: Sequence[str], timeout: float, verbose: bool) -> None:
    """Download ``name`` into ``folder`` from the first mirror that answers."""
    dest = folder / name
    expected = RESOURCES.get(name)
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror if mirror.endswith("/") else mirror + "/"
        url += name
        try:
            with atomic_path(dest) as tmp:
                size = _fetch(url, tmp, timeout)
                digest = _gunzip_md5(tmp, name)
                if expected is not None and digest != expected.lower():
                    raise DatasetError(
                        f"checksum mismatch for {name} downloaded from {url}: "
                        f"MD5 of decompressed content is {digest}, expected {expected}"
                    )
        except _NetworkError as exc:
            failures.append(f"{url} ({exc})")
            if verbose:
                logger.warning("failed to download %s: %s", url, exc)
            continue
        if verbose:
            logger.info("downloaded %s (%.1f MB)", url, size / 1e6)
        break
    else:
        tried = "\n  ".join(failures) if failures else "(no mirrors given)"
        raise DatasetNotFoundError(
            f"could not download {name} into {folder}; mirrors tried:\n  {tried}\n" + _offline_help()
        )


def _offline_help() -> str:
    return (
        f"To use a local copy, put {', '.join(MNIST_FILES)} in a folder "
        f"'<dir>/{_SUBDIR}/' and set the environment variable {ENV_VAR}=<dir> "
        f"(or pass root=<dir> to load_mnist)."
    )


# -------------------------------------------------------------------------- main


def _resolve_folder(root: PathLike | None) -> tuple[Path, list[str]]:
    """Pick the folder holding (or to receive) the MNIST files.

    Both ``<home>/mnist/`` and ``<home>/`` itself are accepted; a folder with
    all four files wins, then one with some of them, else ``<home>/mnist/``.
    Also returns the searched folders as strings, for error messages.
    """
    home = data_home(root).absolute()
    candidates = [home / _SUBDIR, home]
    searched = [str(c) for c in candidates]
    for pred in (all, any):
        for folder in candidates:
            if pred((folder / f).is_file() for f in MNIST_FILES):
                return folder, searched
    return candidates[0], searched


def load_mnist(
    root: PathLike | None = None,
    download: bool = True,
    verbose: bool = True,
    mirrors: Sequence[str] | None = None,
    timeout: float = 30.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load MNIST, downloading the four IDX ``.gz`` files if needed.

    Parameters
    ----------
    root : str or os.PathLike, optional
        Folder holding the files, or holding an ``mnist/`` folder with them.
        Defaults to :func:`data_home` (``$DAEKIT_DATA`` or ``~/.cache/daekit``).
    download : bool, default True
        Download missing files. Each download goes to a temporary file in the
        target folder, the MD5 of its decompressed content is checked against
        :data:`RESOURCES`, and only then is it moved into place.
    verbose : bool, default True
        Log one line per downloaded file (logger ``daekit.datasets.mnist``, level INFO).
    mirrors : sequence of str, optional
        Base URLs to try in order; defaults to :data:`MIRRORS`.
    timeout : float, default 30.0
        Socket timeout in seconds for each request.

    Returns
    -------
    x_train : numpy.ndarray
        ``float32`` array of shape ``(60000, 784)`` with values in ``[0, 1]``.
    y_train : numpy.ndarray
        ``int64`` labels of shape ``(60000,)``.
    x_test : numpy.ndarray
        ``float32`` array of shape ``(10000, 784)``.
    y_test : numpy.ndarray
        ``int64`` labels of shape ``(10000,)``.

    Fresh, writable arrays are returned on every call (no cache).

    Raises
    ------
    DatasetNotFoundError
        (a :class:`FileNotFoundError`) if files are missing and
        ``download=False`` or every mirror failed.
    DatasetError
        (a :class:`ValueError`) if a downloaded file fails its checksum or is
        not valid gzip (nothing is left on disk), or a local file is not a
        valid MNIST IDX file.
    """
    folder, searched = _resolve_folder(root)
    missing = [f for f in MNIST_FILES if not (folder / f).is_file()]
    if missing:
        if not download:
            raise DatasetNotFoundError(
                f"MNIST files not found in {folder}: missing {', '.join(missing)} "
                f"(looked for {', '.join(MNIST_FILES)} in {' and '.join(searched)}; "
                f"download=False).\n" + _offline_help()
            )
        folder.mkdir(parents=True, exist_ok=True)
        for name in missing:
            _download(name, folder, MIRRORS if mirrors is None else mirrors, timeout, verbose)

    paths = [folder / f for f in MNIST_FILES]
    x_train = load_idx_images(paths[0])
    y_train = load_idx_labels(paths[1], x_train.shape[0])
    x_test = load_idx_images(paths[2])
    y_test = load_idx_labels(paths[3], x_test.shape[0])
    return x_train, y_train, x_test, y_test
