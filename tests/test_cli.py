import json
import logging
import subprocess
import sys

import pytest

from daekit.cli import CLIError, main


def test_train_on_digits_writes_the_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", "--hidden", "16", "--epochs", "2", "--quiet", "--out", str(out)]) == 0
    for name in (
        "filters.png",
        "reconstructions.png",
        "metrics.jsonl",
        "result.json",
        "config.json",
        "model/model.safetensors",
        "model/config.json",
    ):
        assert (out / name).exists(), name
    result = json.loads((out / "result.json").read_text())
    assert result["data"] == "digits" and 0 <= result["probe_test_error"] < 0.5
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2
    assert str(out / "filters.png") in capsys.readouterr().out
    # resume with the same settings is a no-op; with other settings it is refused
    assert (
        main(["train", "--data", "digits", "--hidden", "16", "--epochs", "2", "--quiet", "--resume", "--out", str(out)])
        == 0
    )
    assert (
        main(["train", "--data", "digits", "--hidden", "17", "--epochs", "2", "--quiet", "--resume", "--out", str(out)])
        == 2
    )


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["train", "--out", "x", "--epochs", "0"], "--epochs"),
        (["train", "--out", "x", "--lr", "nan"], "--lr"),
        (["train", "--out", "x", "--corruption", "blur:0.2"], "corruption"),
        (["train", "--out", "x", "--corruption", "masking:1.5"], "fraction"),
        (["train", "--out", "x", "--data", "missing.npy"], "missing.npy"),
        (["train", "--epochs", "2"], "--out"),
        (["frobnicate"], "invalid choice"),
    ],
)
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
    assert (
        main(
            ["train", "--data", "digits", "--hidden", "9", "--epochs", "1", "--quiet", "--no-probe", "--out", str(out)]
        )
        == 0
    )
    png = tmp_path / "f.png"
    assert main(["viz", "filters", str(out), "--out", str(png), "--n", "9"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["viz", "filters", str(tmp_path / "nothing")]) == 2
    monkeypatch.setenv("DAEKIT_DATA", str(tmp_path / "data"))
    grid = tmp_path / "rect.png"
    assert main(["viz", "dataset", "rectangles", "--out", str(grid)]) == 0
    assert grid.stat().st_size > 1000


def _train(out, *flags):
    return main(
        [
            "train",
            "--data",
            "digits",
            "--hidden",
            "8",
            "--lr",
            "2",
            "--batch-size",
            "50",
            "--valid-size",
            "300",
            "--no-probe",
            "--out",
            str(out),
            *flags,
        ]
    )


def test_train_early_stopping_stops_patience_epochs_after_the_best_validation_loss(tmp_path):
    assert _train(tmp_path / "es", "--epochs", "60", "--early-stopping", "--quiet") == 0
    assert json.loads((tmp_path / "es" / "config.json").read_text())["early_stopping"] is True
    valid = [json.loads(line)["valid_loss"] for line in (tmp_path / "es" / "metrics.jsonl").read_text().splitlines()]
    best = valid.index(min(valid)) + 1
    assert len(valid) < 60 and len(valid) == best + 10  # TrainConfig's patience
    assert _train(tmp_path / "all", "--epochs", str(len(valid) + 2), "--quiet") == 0
    assert len((tmp_path / "all" / "metrics.jsonl").read_text().splitlines()) == len(valid) + 2
    assert json.loads((tmp_path / "all" / "config.json").read_text())["early_stopping"] is False


def test_train_early_stopping_needs_held_out_examples(tmp_path, capsys):
    assert _train(tmp_path / "r", "--epochs", "2", "--early-stopping", "--valid-size", "0") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "valid_size" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "flags,env,shown",
    [
        ([], None, True),
        (["-q"], None, False),
        (["--quiet"], None, False),
        ([], "WARNING", False),
        (["-q"], "debug", True),
    ],
)
def test_cli_logs_the_librarys_epoch_lines_to_stderr_at_info(tmp_path, capsys, monkeypatch, flags, env, shown):
    if env is None:
        monkeypatch.delenv("DAEKIT_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("DAEKIT_LOG_LEVEL", env)
    assert (
        main(
            [
                *flags,
                "train",
                "--data",
                "digits",
                "--hidden",
                "4",
                "--epochs",
                "2",
                "--no-probe",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert ("[train] epoch 2/2 train_loss" in captured.err) is shown
    assert "[train] epoch" not in captured.out  # logs never go to stdout, where the command prints its result
    assert logging.getLogger("daekit").handlers == []  # the CLI's handler is gone after main


def test_unknown_log_level_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DAEKIT_LOG_LEVEL", "LOUD")
    assert main(["train", "--data", "digits", "--epochs", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "DAEKIT_LOG_LEVEL" in err and "'LOUD'" in err
    assert not (tmp_path / "r").exists()


def test_sda_config_files_parse_with_tomli_on_python_3_10(monkeypatch, tmp_path):
    import importlib
    import types

    import tomllib

    import daekit.cli.sda_cmd as sda_cmd

    parsed = []
    fake_tomli = types.ModuleType("tomli")  # tomli is tomllib's API, packaged for Python < 3.11
    fake_tomli.loads = lambda text: parsed.append(text) or tomllib.loads(text)
    fake_tomli.TOMLDecodeError = tomllib.TOMLDecodeError
    monkeypatch.setitem(sys.modules, "tomli", fake_tomli)
    monkeypatch.setattr(sys, "version_info", (3, 10, 14, "final", 0))
    config = tmp_path / "sda.toml"
    config.write_text("pretrain-epochs = 3\n")
    try:
        assert importlib.reload(sda_cmd).tomllib is fake_tomli
        assert sda_cmd._read_toml(str(config)) == {"pretrain_epochs": 3} and parsed == ["pretrain-epochs = 3\n"]
        config.write_text("pretrain-epochs = = 3\n")
        with pytest.raises(CLIError, match="invalid TOML"):
            sda_cmd._read_toml(str(config))
    finally:
        monkeypatch.undo()
        assert importlib.reload(sda_cmd).tomllib is tomllib
