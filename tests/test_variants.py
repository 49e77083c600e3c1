"""The regenerated Larochelle et al. (2007) benchmark: shapes, ranges, balance, determinism, cache
integrity, geometry of the shape sets, provenance of the MNIST variants, CLI and figures.

Everything runs on small sizes (a few hundred examples); the mnist-* tests are skipped when MNIST
is not available under $DAEKIT_DATA.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from daekit.datasets import data_home
from daekit.datasets import photos as photos_mod
from daekit.datasets.convexity import is_digitally_convex
from daekit.datasets.mnist import MNIST_FILES
from daekit.datasets.shapes import (
    CONVEX_MIN_PIXELS,
    RECT_MIN_DIFF,
    convex_sets,
    nonconvex_sets,
)
from daekit.datasets.variants import (
    VARIANTS,
    CacheWarning,
    cache_path,
    content_hash,
    list_variants,
    load_variant,
    rotate_images,
)

SMALL = (60, 20, 40)
SHAPE_SETS = ["rectangles", "rectangles-images", "convex"]
MNIST_SETS = ["mnist-basic", "mnist-rot", "mnist-back-rand", "mnist-back-image", "mnist-rot-back-image"]


def _mnist_folder() -> Path | None:
    home = data_home()
    for folder in (home / "mnist", home):
        if all((folder / f).is_file() for f in MNIST_FILES):
            return folder
    return None


@pytest.fixture
def root(tmp_path):
    """An empty data folder (the cache goes to its variants/)."""
    return tmp_path / "data"


@pytest.fixture
def mnist_root(tmp_path):
    """A fresh data folder whose mnist/ links to the real MNIST files, or skip."""
    folder = _mnist_folder()
    if folder is None:
        pytest.skip("MNIST not found; set DAEKIT_DATA to a folder holding mnist/")
    data = tmp_path / "data"
    data.mkdir()
    (data / "mnist").symlink_to(folder.resolve(), target_is_directory=True)
    return data


def _root_for(name, request):
    return request.getfixturevalue("mnist_root" if VARIANTS[name].uses_mnist else "root")


# ------------------------------------------------------------------------------ basics


@pytest.mark.parametrize("name", SHAPE_SETS + MNIST_SETS)
def test_shapes_range_and_balance(name, request):
    data = load_variant(name, root=_root_for(name, request), sizes=SMALL)
    assert data.status == "generated"
    spec = VARIANTS[name]
    for split, n in zip(("train", "valid", "test"), SMALL):
        x, y = data.split(split)
        assert x.shape == (n, 784) and x.dtype == np.float32
        assert y.shape == (n,) and y.dtype == np.int64
        assert x.min() >= 0.0 and x.max() <= 1.0
        np.testing.assert_allclose(x * 255, np.rint(x * 255), atol=1e-3)  # 8-bit levels
        counts = np.bincount(y, minlength=spec.n_classes)
        assert len(counts) == spec.n_classes
        assert counts.max() - counts.min() <= 1, counts
    assert len(data.class_names) == spec.n_classes
    assert data.x_train.std() > 0.05  # not blank


def test_default_sizes_match_the_benchmark():
    sizes = {n: VARIANTS[n].sizes for n in list_variants()}
    assert sizes["mnist-basic"] == sizes["mnist-rot-back-image"] == (10_000, 2_000, 50_000)
    assert sizes["rectangles"] == (1_000, 200, 50_000)
    assert sizes["rectangles-images"] == (10_000, 2_000, 50_000)
    assert sizes["convex"] == (6_500, 1_500, 50_000)
    assert sizes["mnist"] == (50_000, 10_000, 10_000)


@pytest.mark.parametrize(
    "bad",
    [
        dict(name="nope"),
        dict(name="convex", sizes=(1, 2)),
        dict(name="convex", sizes=(1, -2, 3)),
        dict(name="convex", random_state=-1),
        dict(name="convex", random_state=1.5),
    ],
)
def test_invalid_arguments(bad, root):
    with pytest.raises(ValueError):
        load_variant(root=root, **bad)


@pytest.mark.parametrize("name", SHAPE_SETS)
def test_empty_splits_are_allowed(name):
    data = load_variant(name, sizes=(6, 0, 3), cache=False)
    assert data.x_valid.shape == (0, 784) and data.y_valid.shape == (0,)
    assert data.x_test.shape == (3, 784)


# ------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("name", ["rectangles", "rectangles-images", "convex", "mnist-rot-back-image"])
def test_same_seed_same_data_other_seed_other_data(name, request):
    r = _root_for(name, request)
    a = load_variant(name, root=r, sizes=SMALL, random_state=3, cache=False)
    b = load_variant(name, root=r, sizes=SMALL, random_state=3, cache=False)
    c = load_variant(name, root=r, sizes=SMALL, random_state=4, cache=False)
    assert a.status == b.status == "uncached" and a.path is None
    assert a.sha256 == b.sha256
    for key, value in a.as_dict().items():
        np.testing.assert_array_equal(value, b[key])
    assert c.sha256 != a.sha256
    assert not np.array_equal(a.x_train, c.x_train)
    assert not (r / "variants").exists()  # cache=False writes nothing


def test_cache_roundtrip_and_key(root):
    first = load_variant("rectangles", root=root, sizes=SMALL, random_state=1)
    assert first.status == "generated" and first.path == cache_path("rectangles", 1, SMALL, root)
    assert first.path.is_file() and first.path.parent == root / "variants"
    second = load_variant("rectangles", root=root, sizes=SMALL, random_state=1)
    assert second.status == "loaded" and second.sha256 == first.sha256
    for key, value in first.as_dict().items():
        np.testing.assert_array_equal(value, second[key])
    for key, value in first.extras.items():
        np.testing.assert_array_equal(value, second.extras[key])
    # seed and sizes are part of the key
    assert cache_path("rectangles", 2, SMALL, root) != first.path
    assert cache_path("rectangles", 1, (61, 20, 40), root) != first.path
    forced = load_variant("rectangles", root=root, sizes=SMALL, random_state=1, force=True)
    assert forced.status == "regenerated" and forced.sha256 == first.sha256
    # no temporary files left behind
    assert sorted(p.name for p in (root / "variants").iterdir()) == [first.path.name]


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 64, 7):  # inside the compressed arrays
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _wrong_hash(path: Path) -> None:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["x_test"] = arrays["x_test"].copy()
    arrays["x_test"][0, :10] = 255 - arrays["x_test"][0, :10]  # content changed, stored digest kept
    np.savez_compressed(path, **arrays)


def _stale_meta(path: Path) -> None:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["__meta__"] = np.array('{"name": "rectangles", "recipe_version": 0}')
    np.savez_compressed(path, **arrays)


def _garbage(path: Path) -> None:
    path.write_bytes(b"not a zip file at all")


@pytest.mark.parametrize(
    "damage",
    [_truncate, _flip, _wrong_hash, _stale_meta, _garbage],
    ids=["truncated", "bit-flipped", "wrong-hash", "stale-metadata", "garbage"],
)
def test_damaged_cache_is_detected_and_regenerated(damage, root):
    original = load_variant("rectangles", root=root, sizes=SMALL)
    path = original.path
    damage(path)
    with pytest.warns(CacheWarning, match="damaged or stale"):
        again = load_variant("rectangles", root=root, sizes=SMALL)
    assert again.status == "regenerated"
    assert again.sha256 == original.sha256
    for key, value in original.as_dict().items():
        np.testing.assert_array_equal(value, again[key])
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        third = load_variant("rectangles", root=root, sizes=SMALL)
    assert third.status == "loaded" and third.sha256 == original.sha256
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None  # the rewritten file is a sound zip again


def test_content_hash_covers_every_array():
    arrays = {"x_train": np.zeros((2, 3), np.uint8), "y_train": np.zeros(2, np.int64)}
    base = content_hash(arrays)
    assert content_hash(dict(arrays)) == base
    assert content_hash({**arrays, "y_train": np.ones(2, np.int64)}) != base
    assert content_hash({**arrays, "x_train": np.zeros((3, 2), np.uint8)}) != base  # shape
    assert content_hash({**arrays, "extra": np.zeros(1)}) != base


# ---------------------------------------------------------------------------- geometry


def _hull_pixels(mask: np.ndarray) -> np.ndarray:
    """Pixel centres inside the convex hull of the white pixel centres (skimage), with the
    collinear case (where qhull gives up) done by hand."""
    from skimage.morphology import convex_hull_image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hull = convex_hull_image(mask, offset_coordinates=False)
    if hull.any():
        return hull
    pts = np.argwhere(mask)
    a, b = pts[0], pts[-1]
    grid = np.argwhere(np.ones_like(mask))
    d = b - a
    cross = d[0] * (grid[:, 1] - a[1]) - d[1] * (grid[:, 0] - a[0])
    t = (grid - a) @ d
    on = (cross == 0) & (t >= 0) & (t <= d @ d)
    return on.reshape(mask.shape)


def _is_convex_reference(mask: np.ndarray) -> bool:
    """Convex = equal to the pixel centres of its convex hull and in one 8-connected piece."""
    from skimage.measure import label

    return bool(np.array_equal(_hull_pixels(mask), mask) and label(mask, connectivity=2).max() == 1)


def test_convex_examples_are_convex_and_nonconvex_are_not():
    data = load_variant("convex", sizes=(150, 0, 150), cache=False)
    x = np.concatenate([data.x_train, data.x_test]).reshape(-1, 28, 28)
    y = np.concatenate([data.y_train, data.y_test])
    assert set(np.unique(x)) == {0.0, 1.0}
    masks = x > 0.5
    for mask, label_ in zip(masks, y):
        assert _is_convex_reference(mask) == bool(label_)
    assert masks[y == 1].sum(axis=(1, 2)).min() >= CONVEX_MIN_PIXELS
    np.testing.assert_array_equal(is_digitally_convex(masks), y == 1)


def test_convexity_test_agrees_with_skimage_on_random_sets():
    rng = np.random.default_rng(0)
    m = rng.integers(1, 4, size=300)
    comps = convex_sets(rng, int(m.sum()), p=0.2, min_pixels=1, check=False)
    unions = np.logical_or.reduceat(comps, np.concatenate([[0], np.cumsum(m)[:-1]]), axis=0)
    noise = rng.random((100, 28, 28)) < 0.01
    sets = np.concatenate([unions, noise])
    mine = is_digitally_convex(sets)
    assert 0.2 < mine.mean() < 0.8
    for mask, verdict in zip(sets, mine):
        assert verdict == _is_convex_reference(mask) or not mask.any()


def test_convex_classes_have_the_same_mean_number_of_white_pixels():
    rng = np.random.default_rng(5)
    convex = convex_sets(rng, 1500).sum(axis=(1, 2))
    nonconvex = nonconvex_sets(rng, 1500).sum(axis=(1, 2))
    assert abs(convex.mean() - nonconvex.mean()) < 0.08 * convex.mean(), (convex.mean(), nonconvex.mean())


def test_rectangle_labels_agree_with_the_drawn_outline():
    data = load_variant("rectangles", sizes=(300, 0, 100), cache=False)
    for split in ("train", "test"):
        x, y = data.split(split)
        params = data.extras[f"rect_{split}"]
        for img, label_, (top, left, h, w) in zip(x.reshape(-1, 28, 28), y, params):
            assert set(np.unique(img)) <= {0.0, 1.0}
            rows = np.flatnonzero(img.any(axis=1))
            cols = np.flatnonzero(img.any(axis=0))
            height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
            assert label_ == int(height > width)
            assert abs(height - width) >= RECT_MIN_DIFF
            assert (rows[0], cols[0], height, width) == (top, left, h, w)
            # an outline: the border of the bounding box is white, its inside black
            box = img[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            assert box[0].all() and box[-1].all() and box[:, 0].all() and box[:, -1].all()
            assert not box[1:-1, 1:-1].any()
            assert img.sum() == box.sum()


def test_rectangles_images_labels_and_photographs(root):
    data = load_variant("rectangles-images", root=root, sizes=SMALL)
    for split in ("train", "valid", "test"):
        x, y = data.split(split)
        params = data.extras[f"rect_{split}"]
        top, left, h, w = params.T
        np.testing.assert_array_equal(y, (h > w).astype(np.int64))
        assert (np.abs(h - w) >= RECT_MIN_DIFF).all()
        assert (top + h <= 28).all() and (left + w <= 28).all() and (top >= 0).all() and (left >= 0).all()
        inside, outside = data.extras[f"photo_inside_{split}"], data.extras[f"photo_outside_{split}"]
        assert (inside != outside).all()
        n_photos = len(photos_mod.PHOTO_SPLITS[split])
        assert inside.max() < n_photos and outside.max() < n_photos
        # textured photograph patches: no image is flat
        imgs = x.reshape(-1, 28, 28)
        assert (imgs.reshape(len(x), -1).std(axis=1) > 0.02).all()


# ----------------------------------------------------------------------- MNIST variants


def _mnist_pool(root):
    from daekit.datasets import load_mnist

    x_tr, y_tr, x_te, y_te = load_mnist(root, download=False, verbose=False)
    return np.concatenate([x_tr, x_te]), np.concatenate([y_tr, y_te])


def test_mnist_variants_use_mnist_digits(mnist_root):
    from scipy import ndimage

    pool_x, pool_y = _mnist_pool(mnist_root)
    basic = load_variant("mnist-basic", root=mnist_root, sizes=SMALL, cache=False)
    seen = []
    for split in ("train", "valid", "test"):
        x, y = basic.split(split)
        idx = basic.extras[f"mnist_index_{split}"]
        np.testing.assert_array_equal(x, pool_x[idx])
        np.testing.assert_array_equal(y, pool_y[idx])
        seen.append(idx)
    seen = np.concatenate(seen)
    assert len(np.unique(seen)) == len(seen)  # drawn without replacement, splits disjoint

    rand = load_variant("mnist-back-rand", root=mnist_root, sizes=SMALL, cache=False)
    digits = pool_x[rand.extras["mnist_index_train"]]
    np.testing.assert_array_equal(rand.y_train, pool_y[rand.extras["mnist_index_train"]])
    assert (rand.x_train >= digits).all()  # max(digit, background)
    assert (rand.x_train[digits == 1.0] == 1.0).all()
    background = rand.x_train[digits == 0]
    assert abs(background.mean() - 0.5) < 0.02 and background.min() < 0.02 and background.max() > 0.98

    rot = load_variant("mnist-rot", root=mnist_root, sizes=SMALL, cache=False)
    idx, angles = rot.extras["mnist_index_train"], rot.extras["angle_train"]
    assert angles.min() >= 0 and angles.max() < 2 * np.pi
    np.testing.assert_array_equal(rot.y_train, pool_y[idx])
    expected = np.stack(
        [
            ndimage.rotate(d.reshape(28, 28), np.degrees(a), reshape=False, order=1, mode="grid-constant")
            for d, a in zip(pool_x[idx], angles)
        ]
    )
    np.testing.assert_allclose(rot.x_train.reshape(-1, 28, 28), np.clip(expected, 0, 1), atol=0.5 / 255 + 1e-4)

    for name in ("mnist-back-image", "mnist-rot-back-image"):
        data = load_variant(name, root=mnist_root, sizes=SMALL, cache=False)
        for split in ("train", "test"):
            x, y = data.split(split)
            idx = data.extras[f"mnist_index_{split}"]
            np.testing.assert_array_equal(y, pool_y[idx])
            digits = pool_x[idx]
            if "rot" in name:
                digits = rotate_images(digits, data.extras[f"angle_{split}"])
            assert (x >= digits - 0.5 / 255 - 1e-6).all()
            # the background is a textured photograph patch, not noise: neighbouring pixels agree
            imgs = x.reshape(-1, 28, 28)
            assert np.abs(np.diff(imgs, axis=2)).mean() < 0.2
            assert (imgs.reshape(len(x), -1).std(axis=1) > 0.04).all()
            assert data.extras[f"photo_{split}"].max() < len(photos_mod.PHOTO_SPLITS[split])


def test_plain_mnist_split(mnist_root):
    from daekit.datasets import load_mnist

    data = load_variant("mnist", root=mnist_root)
    x_tr, y_tr, x_te, y_te = load_mnist(mnist_root, download=False, verbose=False)
    assert data.status == "uncached" and data.path is None
    assert (len(data.x_train), len(data.x_valid), len(data.x_test)) == (50_000, 10_000, 10_000)
    np.testing.assert_array_equal(data.x_valid, x_tr[50_000:])
    np.testing.assert_array_equal(data.y_test, y_te)
    assert not (mnist_root / "variants").exists()
    small = load_variant("mnist", root=mnist_root, sizes=(10, 5, 5))
    np.testing.assert_array_equal(small.x_valid, x_tr[50_000:50_005])


# ------------------------------------------------------------------------- photographs


def test_photo_pool_is_bundled_distinct_and_split():
    train, test = photos_mod.TRAIN_PHOTOS, photos_mod.TEST_PHOTOS
    assert len(set(train) | set(test)) >= 10
    assert not set(train) & set(test)
    loaded = [photos_mod.load_photo(n) for n in train + test]
    for img in loaded:
        assert img.dtype == np.float32 and img.ndim == 2 and min(img.shape) >= 28
        assert 0.0 <= img.min() and img.max() <= 1.0
    # distinct pictures (compare 64x64 thumbnails of the top-left corner)
    thumbs = np.stack([img[:64, :64].ravel() for img in loaded])
    dist = np.abs(thumbs[:, None] - thumbs[None]).mean(axis=2)
    assert (dist[~np.eye(len(loaded), dtype=bool)] > 0.02).all()
    rng = np.random.default_rng(0)
    patches, which = photos_mod.sample_patches(rng, photos_mod.photo_pool("test"), 200)
    assert patches.shape == (200, 28, 28)
    assert (patches.reshape(200, -1).std(axis=1) >= photos_mod.MIN_PATCH_STD).all()
    assert set(which) <= set(range(len(test)))


def test_missing_photograph_gives_a_clear_error(monkeypatch):
    import skimage.data

    def needs_download():
        raise ModuleNotFoundError(
            "The requested file is part of the scikit-image distribution, "
            "but requires the installation of an optional dependency, pooch."
        )

    photos_mod.load_photo.cache_clear()
    monkeypatch.setattr(skimage.data, "camera", needs_download)
    try:
        with pytest.raises(photos_mod.PhotoUnavailableError, match="camera.*never downloads"):
            photos_mod.load_photo("camera")
    finally:
        monkeypatch.undo()
        photos_mod.load_photo.cache_clear()


def test_without_scikit_image_the_error_names_the_images_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_skimage(name, *args, **kwargs):
        if name == "skimage" or name.startswith("skimage."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    photos_mod.load_photo.cache_clear()
    monkeypatch.setattr(builtins, "__import__", no_skimage)
    try:
        with pytest.raises(photos_mod.PhotoUnavailableError, match=r"pip install 'daekit\[images\]'"):
            photos_mod.load_photo("camera")
    finally:
        monkeypatch.undo()
        photos_mod.load_photo.cache_clear()


# -------------------------------------------------------------------------------- rotation


def test_rotate_images_matches_scipy():
    from scipy import ndimage

    rng = np.random.default_rng(1)
    imgs = rng.random((20, 28, 28)).astype(np.float32)
    angles = rng.uniform(0, 2 * np.pi, 20)
    out = rotate_images(imgs, angles)
    ref = np.stack(
        [ndimage.rotate(i, np.degrees(a), reshape=False, order=1, mode="grid-constant") for i, a in zip(imgs, angles)]
    )
    np.testing.assert_allclose(out, np.clip(ref, 0, 1), atol=1e-5)
    np.testing.assert_allclose(rotate_images(imgs, np.zeros(20)), imgs, atol=1e-6)
    dot = np.zeros((1, 28, 28), np.float32)
    dot[0, 5, 14] = 1.0  # above the centre -> quarter turn counter-clockwise -> left of it
    np.testing.assert_array_equal(np.argwhere(rotate_images(dot, [np.pi / 2])[0] > 0.5), [[13, 5]])


# ------------------------------------------------------------------------- CLI and figure


def test_cli_make_and_list(root, capsys):
    from daekit.cli import main

    assert main(["datasets", "make", "rectangles", "--root", str(root), "--sizes", "20,10,10", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "rectangles: generated" in out
    assert cache_path("rectangles", 0, (20, 10, 10), root).is_file()
    assert main(["datasets", "make", "rectangles", "--root", str(root), "--sizes", "20,10,10", "--quiet"]) == 0
    assert "rectangles: loaded" in capsys.readouterr().out
    assert main(["datasets", "list", "--root", str(root), "--sizes", "20,10,10"]) == 0
    listing = capsys.readouterr().out
    for name in list_variants():
        assert name in listing
    assert main(["datasets", "make", "rectangles", "--root", str(root), "--seed", "-1", "--quiet"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["datasets", "make", "no-such-set"])
    assert exc.value.code == 2


def test_cli_make_shows_a_progress_bar_on_a_terminal_only(root, monkeypatch):
    import io
    import sys

    from daekit.cli import main

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        assert main(["datasets", "make", "convex", "--root", str(root), "--sizes", "30,10,10", "--force"]) == 0
        assert ("convex" in stream.getvalue() and "50/50" in stream.getvalue()) is shown


def test_plot_variant_grid(tmp_path):
    from daekit.viz import plot_variant_grid, variant_grid

    data = load_variant("rectangles", sizes=(40, 0, 0), cache=False)
    tiles, labels = variant_grid(data, n_cols=10)
    assert labels == ["wide", "tall"] and tiles.shape == (2 * 29 + 1, 10 * 29 + 1)
    path = plot_variant_grid("rectangles", tmp_path / "grid.png", data=data)
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
