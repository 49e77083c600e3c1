"""Tests for daekit.datasets (MNIST loader, digits) and daekit.utils.atomic.

No internet: downloads are served by a loopback HTTP server.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import logging
import os
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from daekit.datasets import (
    MNIST_FILES,
    DatasetError,
    DatasetNotFoundError,
    data_home,
    load_digits,
    load_mnist,
)
from daekit.datasets import digits as digits_mod
from daekit.datasets import mnist as mnist_mod
from daekit.utils import atomic

N_TRAIN, N_TEST = 5, 3


# ----------------------------------------------------------------- helpers


def idx_bytes(arr: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX."""
    assert arr.dtype == np.uint8
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.tobytes()


def fake_arrays():
    rng = np.random.default_rng(0)
    xtr = rng.integers(0, 256, size=(N_TRAIN, 28, 28), dtype=np.uint8)
    xtr[0, 0, 0], xtr[0, 0, 1] = 0, 255
    ytr = np.array([0, 9, 3, 3, 7], dtype=np.uint8)
    xte = rng.integers(0, 256, size=(N_TEST, 28, 28), dtype=np.uint8)
    yte = np.array([1, 2, 8], dtype=np.uint8)
    return dict(zip(MNIST_FILES, (xtr, ytr, xte, yte)))


def write_fake(folder: Path, names=MNIST_FILES) -> dict:
    """Write fake MNIST gz files; return {name: md5 of decompressed content}."""
    folder.mkdir(parents=True, exist_ok=True)
    md5s = {}
    for name, arr in fake_arrays().items():
        raw = idx_bytes(arr)
        md5s[name] = hashlib.md5(raw).hexdigest()
        if name in names:
            (folder / name).write_bytes(gzip.compress(raw))
    return md5s


def check_fake(result):
    x_train, y_train, x_test, y_test = result
    ref = fake_arrays()
    assert x_train.shape == (N_TRAIN, 784) and x_test.shape == (N_TEST, 784)
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    expected = ref[MNIST_FILES[0]].reshape(N_TRAIN, -1).astype(np.float32) / 255
    np.testing.assert_array_equal(x_train, expected)
    np.testing.assert_array_equal(y_train, ref[MNIST_FILES[1]])
    np.testing.assert_array_equal(y_test, ref[MNIST_FILES[3]])


def listing(folder: Path):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/'srv' on a loopback port; yield (folder, base_url)."""
    root = tmp_path / "srv"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def dead_url():
    """A loopback URL on a port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def fake_md5s(monkeypatch):
    """Point RESOURCES at the fake files' content MD5s."""
    md5s = {n: hashlib.md5(idx_bytes(a)).hexdigest() for n, a in fake_arrays().items()}
    for name, digest in md5s.items():
        monkeypatch.setitem(mnist_mod.RESOURCES, name, digest)
    return md5s


# ------------------------------------------------------------------ paths


def test_data_home(monkeypatch, tmp_path):
    assert data_home(tmp_path) == tmp_path
    monkeypatch.setenv("DAEKIT_DATA", str(tmp_path / "env"))
    assert data_home() == tmp_path / "env"
    assert data_home(tmp_path / "x") == tmp_path / "x"  # explicit root wins
    monkeypatch.delenv("DAEKIT_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_home() == tmp_path / "home" / ".cache" / "daekit"


def test_load_local_root_is_file_folder(tmp_path):
    write_fake(tmp_path / "direct")
    check_fake(load_mnist(tmp_path / "direct", download=False))


def test_load_local_root_holds_mnist_subdir(tmp_path):
    write_fake(tmp_path / "mnist")
    check_fake(load_mnist(str(tmp_path), download=False))


def test_load_local_via_env(tmp_path, monkeypatch):
    write_fake(tmp_path / "mnist")
    monkeypatch.setenv("DAEKIT_DATA", str(tmp_path))
    check_fake(load_mnist(download=False))


# -------------------------------------------------------------- validation


def _corrupt(tmp_path, name, raw):
    write_fake(tmp_path)
    (tmp_path / name).write_bytes(gzip.compress(raw))
    return tmp_path


def test_wrong_magic(tmp_path):
    raw = idx_bytes(fake_arrays()[MNIST_FILES[1]])
    raw = b"\x00\x00\x07\x01" + raw[4:]  # invalid type code
    _corrupt(tmp_path, MNIST_FILES[1], raw)
    with pytest.raises(ValueError, match=MNIST_FILES[1]):
        load_mnist(tmp_path, download=False)


def test_truncated_payload(tmp_path):
    raw = idx_bytes(fake_arrays()[MNIST_FILES[2]])[:-10]
    _corrupt(tmp_path, MNIST_FILES[2], raw)
    with pytest.raises(ValueError, match=f"{MNIST_FILES[2]}.*truncated"):
        load_mnist(tmp_path, download=False)


def test_wrong_image_dims(tmp_path):
    raw = idx_bytes(np.zeros((N_TRAIN, 27, 28), np.uint8))
    _corrupt(tmp_path, MNIST_FILES[0], raw)
    with pytest.raises(ValueError, match=MNIST_FILES[0]):
        load_mnist(tmp_path, download=False)


def test_label_count_mismatch(tmp_path):
    raw = idx_bytes(np.zeros(N_TRAIN + 1, np.uint8))
    _corrupt(tmp_path, MNIST_FILES[1], raw)
    with pytest.raises(ValueError, match=MNIST_FILES[1]):
        load_mnist(tmp_path, download=False)


def test_corrupt_local_gzip(tmp_path):
    write_fake(tmp_path)
    path = tmp_path / MNIST_FILES[0]
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DatasetError, match=MNIST_FILES[0]):
        load_mnist(tmp_path, download=False)


# ---------------------------------------------------------------- download


def test_download_good(server, tmp_path, fake_md5s, capsys, caplog):
    srv, url = server
    write_fake(srv)
    target = tmp_path / "data"
    with caplog.at_level(logging.INFO, logger="daekit"):
        check_fake(load_mnist(target, mirrors=[url], verbose=True))
    folder = target / "mnist"
    assert listing(folder) == sorted(MNIST_FILES)  # nothing else, no temp files
    for name in MNIST_FILES:
        assert (folder / name).read_bytes() == (srv / name).read_bytes()
    downloads = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert [m.split()[0] for m in downloads] == ["downloaded"] * 4
    assert sorted(m.split()[1].rsplit("/", 1)[1] for m in downloads) == sorted(MNIST_FILES)
    assert capsys.readouterr().err == ""  # a log record, not a print
    # Second call uses the local files (server content gone).
    for name in MNIST_FILES:
        (srv / name).unlink()
    check_fake(load_mnist(target, mirrors=[url]))


def test_download_only_missing(server, tmp_path, fake_md5s):
    srv, url = server
    write_fake(srv, names=MNIST_FILES[2:])
    write_fake(tmp_path / "mnist", names=MNIST_FILES[:2])
    check_fake(load_mnist(tmp_path, mirrors=[url], verbose=False))
    assert listing(tmp_path / "mnist") == sorted(MNIST_FILES)


def test_download_wrong_checksum(server, tmp_path, fake_md5s, monkeypatch):
    srv, url = server
    write_fake(srv)
    monkeypatch.setitem(mnist_mod.RESOURCES, MNIST_FILES[0], "0" * 32)
    target = tmp_path / "data"
    with pytest.raises(DatasetError, match=f"checksum.*{MNIST_FILES[0]}"):
        load_mnist(target, mirrors=[url], verbose=False)
    assert listing(target / "mnist") == []


def test_download_truncated_gzip(server, tmp_path, fake_md5s):
    srv, url = server
    write_fake(srv)
    gz = srv / MNIST_FILES[1]
    gz.write_bytes(gz.read_bytes()[:-12])
    target = tmp_path / "data"
    with pytest.raises(DatasetError, match=MNIST_FILES[1]):
        load_mnist(target, mirrors=[url], verbose=False)
    # The first file downloaded fine; the corrupt one (and its temp) is gone.
    assert listing(target / "mnist") == [MNIST_FILES[0]]


def test_download_falls_back_to_next_mirror(server, tmp_path, fake_md5s, dead_url):
    srv, url = server
    write_fake(srv / "good")
    mirrors = [dead_url, url + "missing/", url + "good"]  # refused, 404, good
    check_fake(load_mnist(tmp_path, mirrors=mirrors, verbose=False))
    assert listing(tmp_path / "mnist") == sorted(MNIST_FILES)


def test_download_all_mirrors_fail(server, tmp_path, fake_md5s, dead_url):
    _, url = server
    mirrors = [dead_url, url + "missing/"]
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(tmp_path, mirrors=mirrors, verbose=False)
    msg = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert dead_url in msg and url + "missing/" in msg
    assert MNIST_FILES[0] in msg and "DAEKIT_DATA" in msg
    assert listing(tmp_path / "mnist") == []


def test_offline_error_message(tmp_path):
    target = tmp_path / "nowhere"
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(target, download=False)
    msg = str(info.value)
    assert str(target / "mnist") in msg
    assert all(name in msg for name in MNIST_FILES)
    assert "DAEKIT_DATA" in msg
    assert not target.exists()  # download=False creates nothing


# --------------------------------------------------------------- real data


def _real_mnist_folder():
    env = os.environ.get("DAEKIT_DATA")
    if not env:
        return None
    for folder in (Path(env) / "mnist", Path(env)):
        if all((folder / f).is_file() for f in MNIST_FILES):
            return folder
    return None


def test_real_mnist():
    folder = _real_mnist_folder()
    if folder is None:
        pytest.skip("real MNIST not found under $DAEKIT_DATA")
    for name in MNIST_FILES:
        with gzip.open(folder / name, "rb") as fh:
            assert hashlib.md5(fh.read()).hexdigest() == mnist_mod.RESOURCES[name], name
    x_train, y_train, x_test, y_test = load_mnist(download=False)
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert 0.0 <= x_test.min() and x_test.max() <= 1.0
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))


# ------------------------------------------------------------------ digits


def test_load_digits():
    x, y = load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


def test_load_digits_split():
    a = digits_mod.load_digits_split(test_fraction=0.2, random_state=0)
    b = digits_mod.load_digits_split(test_fraction=0.2, random_state=0)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    x_train, y_train, x_test, y_test = a
    assert len(x_train) + len(x_test) == 1797 and len(x_test) == 360
    # stratified: class proportions nearly equal in both parts
    ptr = np.bincount(y_train, minlength=10) / len(y_train)
    pte = np.bincount(y_test, minlength=10) / len(y_test)
    assert np.abs(ptr - pte).max() < 0.01
    with pytest.raises(ValueError):
        digits_mod.load_digits_split(test_fraction=1.0)


# ------------------------------------------------------------------ atomic


def test_atomic_write_bytes(tmp_path):
    path = tmp_path / "f.bin"
    atomic.atomic_write_bytes(path, b"one")
    atomic.atomic_write_bytes(path, b"two")
    assert path.read_bytes() == b"two"
    assert listing(tmp_path) == ["f.bin"]


def test_atomic_path_cleans_up_on_error(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(path) as tmp:
            assert tmp.parent == tmp_path and tmp.exists()
            tmp.write_bytes(b"partial")
            raise RuntimeError("boom")
    assert path.read_bytes() == b"old"
    assert listing(tmp_path) == ["f.bin"]
