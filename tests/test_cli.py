import json
import subprocess
import sys

import pytest

from daekit.cli import main


def test_train_on_digits_writes_the_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", "--hidden", "16", "--epochs", "2", "--quiet", "--out", str(out)]) == 0
    for name in ("filters.png", "reconstructions.png", "metrics.jsonl", "result.json", "config.json",
                 "model/model.safetensors", "model/config.json"):
        assert (out / name).exists(), name
    result = json.loads((out / "result.json").read_text())
    assert result["data"] == "digits" and 0 <= result["probe_test_error"] < 0.5
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    assert str(out / "filters.png") in capsys.readouterr().out
    # resume with the same settings is a no-op; with other settings it is refused
    assert main(["train", "--data", "digits", "--hidden", "16", "--epochs", "2", "--quiet", "--resume", "--out", str(out)]) == 0
    assert main(["train", "--data", "digits", "--hidden", "17", "--epochs", "2", "--quiet", "--resume", "--out", str(out)]) == 2


@pytest.mark.parametrize("argv,fragment", [
    (["train", "--out", "x", "--epochs", "0"], "--epochs"),
    (["train", "--out", "x", "--lr", "nan"], "--lr"),
    (["train", "--out", "x", "--corruption", "blur:0.2"], "corruption"),
    (["train", "--out", "x", "--corruption", "masking:1.5"], "fraction"),
    (["train", "--out", "x", "--data", "missing.npy"], "missing.npy"),
    (["train", "--epochs", "2"], "--out"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_flags_give_one_line_error_and_exit_2(argv, fragment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "daekit", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and fragment in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_help_lists_subcommands():
    proc = subprocess.run([sys.executable, "-m", "daekit", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "train" in proc.stdout and "demo" in proc.stdout


def test_train_from_npy_file_reads_it_out_of_core(tmp_path):
    import numpy as np

    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).random((600, 16), dtype=np.float32))
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--hidden", "8", "--epochs", "2", "--quiet", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["n_train"] == 480 and config["n_valid"] == 120 and config["reconstruction"] == "bernoulli"
    assert (out / "filters.png").exists() and not (out / "reconstructions.png").exists()


def test_viz_filters_of_a_run_and_dataset_grid(tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", "--hidden", "9", "--epochs", "1", "--quiet", "--no-probe", "--out", str(out)]) == 0
    png = tmp_path / "f.png"
    assert main(["viz", "filters", str(out), "--out", str(png), "--n", "9"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["viz", "filters", str(tmp_path / "nothing")]) == 2
    monkeypatch.setenv("DAEKIT_DATA", str(tmp_path / "data"))
    grid = tmp_path / "rect.png"
    assert main(["viz", "dataset", "rectangles", "--out", str(grid)]) == 0
    assert grid.stat().st_size > 1000
