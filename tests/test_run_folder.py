"""The run folder: its lock (real processes), the one resume rule, and the CLI runs that use it."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daekit.cli import main
from daekit.runs.folder import RunFolder, RunFolderInUseError, check_resume, config_differences

SRC = str(Path(__file__).resolve().parents[1] / "src")
HOLDER = (
    "import sys, time; from daekit.runs.folder import RunFolder; r = RunFolder(sys.argv[1]).open(); "
    "print('locked', flush=True); time.sleep(60)"
)


def hold_lock(path):
    """A child process that opens ``path`` as a run folder and sleeps; returns once it holds the lock."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_process_is_refused_with_the_holders_pid(tmp_path):
    proc = hold_lock(tmp_path / "run")
    try:
        with pytest.raises(RunFolderInUseError, match=rf"in use by process {proc.pid}\b"):
            RunFolder(tmp_path / "run").open()
    finally:
        proc.kill()
        proc.wait()


def test_cli_train_on_a_folder_in_use_exits_2_naming_the_pid(tmp_path, capsys):
    proc = hold_lock(tmp_path / "run")
    try:
        t0 = time.perf_counter()
        code = main(
            [
                "train",
                "--data",
                "digits",
                "--hidden",
                "8",
                "--epochs",
                "1",
                "--quiet",
                "--no-probe",
                "--out",
                str(tmp_path / "run"),
            ]
        )
        assert time.perf_counter() - t0 < 30  # refused at once, not after training
    finally:
        proc.kill()
        proc.wait()
    err = capsys.readouterr().err
    assert code == 2 and f"in use by process {proc.pid}" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "config.json").exists()


def test_stale_lock_of_a_killed_process_is_taken_over(tmp_path, caplog):
    proc = hold_lock(tmp_path / "run")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (tmp_path / "run" / "run.lock").read_text().strip() == str(proc.pid)  # the dead holder's pid stays
    with caplog.at_level(logging.WARNING, logger="daekit.runs.folder"):
        with RunFolder(tmp_path / "run") as run:
            assert (tmp_path / "run" / "run.lock").read_text().strip() == str(os.getpid())
            run.write_result({"ok": 1})
    assert f"stale lock of process {proc.pid}" in caplog.text
    assert (tmp_path / "run" / "run.lock").read_text() == ""  # released
    with RunFolder(tmp_path / "run"):  # and free again
        pass


def test_same_process_cannot_open_a_folder_twice(tmp_path):
    with RunFolder(tmp_path):
        with pytest.raises(RunFolderInUseError, match=str(os.getpid())):
            RunFolder(tmp_path).open()


def test_writing_needs_the_lock(tmp_path):
    with pytest.raises(RuntimeError, match="not open"):
        RunFolder(tmp_path).write_result({})


def test_out_below_a_regular_file_is_a_value_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="out"):
        RunFolder(tmp_path / "file" / "run").open()
    with pytest.raises(ValueError, match="not a folder"):
        RunFolder(tmp_path / "file").open()


def test_resume_rule_lists_each_differing_field_on_one_line():
    saved = {"hidden": 16, "activation": "sigmoid", "momentum": 0.0, "epochs": 2, "sizes": [1, 2]}
    requested = {"hidden": 16, "activation": "tanh", "momentum": 0.5, "epochs": 5, "sizes": (1, 2), "new": 3}
    assert config_differences(saved, requested, resumable={"epochs"}, defaults={"new": 3}) == [
        "activation: saved 'sigmoid', requested 'tanh'",
        "momentum: saved 0.0, requested 0.5",
    ]
    with pytest.raises(ValueError) as e:
        check_resume(saved, requested, resumable={"epochs"})
    message = str(e.value)
    assert "\n" not in message
    assert "activation: saved 'sigmoid', requested 'tanh'" in message
    assert "new: saved (absent), requested 3" in message
    check_resume(saved, {**saved, "epochs": 9}, resumable={"epochs"})  # only a resumable field changed


def test_metrics_lines_of_one_phase_are_replaced_and_others_kept(tmp_path):
    with RunFolder(tmp_path) as run:
        run.write_metrics("a", [{"phase": "a", "epoch": 1}])
        run.write_metrics("b", [{"phase": "b", "epoch": 1}])
        run.write_metrics("a", [{"phase": "a", "epoch": 1}, {"phase": "a", "epoch": 2}])
        assert [(r["phase"], r["epoch"]) for r in run.metrics()] == [("b", 1), ("a", 1), ("a", 2)]


TRAIN = ["train", "--data", "digits", "--hidden", "8", "--epochs", "2", "--batch-size", "50", "--quiet", "--no-probe"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "dae"
    assert main([*TRAIN, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize(
    "flag,value,field",
    [("--activation", "tanh", "activation"), ("--momentum", "0.5", "momentum"), ("--valid-size", "50", "valid_size")],
)
def test_cli_resume_with_another_setting_is_refused(trained, capsys, flag, value, field):
    before = sorted(p.name for p in (trained / "checkpoints").iterdir())
    assert main([*TRAIN, flag, value, "--resume", "--out", str(trained)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{field}: saved " in err and f"requested {value}" in err.replace("'", "")
    assert sorted(p.name for p in (trained / "checkpoints").iterdir()) == before


def test_cli_fresh_run_into_a_used_folder_is_refused(trained, capsys):
    assert main([*TRAIN, "--out", str(trained)]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_cli_resume_with_more_epochs_continues_and_logs_each_epoch_once(tmp_path):
    out = tmp_path / "dae"
    assert main([*TRAIN, "--out", str(out)]) == 0
    args = [a if a != "2" else "3" for a in TRAIN]  # --epochs 3
    assert main([*args, "--resume", "--quiet", "--out", str(out)]) == 0
    lines = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2, 3]
    assert json.loads((out / "result.json").read_text())["epochs"] == 3
    assert json.loads((out / "config.json").read_text())["epochs"] == 3


def test_score_train_resumes_phase_by_phase_and_refuses_another_sigma(tmp_path, capsys):
    out = tmp_path / "score"
    argv = [
        "score",
        "train",
        "--sigma",
        "0.2",
        "--epochs",
        "4",
        "--n-train",
        "256",
        "--n-eval",
        "100",
        "--hidden",
        "8",
        "--fourier-features",
        "4",
        "--batch-size",
        "128",
        "--quiet",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    first = json.loads((out / "result.json").read_text())
    (out / "result.json").unlink()
    assert main([*argv, "--resume"]) == 0  # every phase finished: read back, not retrained
    again = json.loads((out / "result.json").read_text())
    assert again["relative_fisher_divergence"] == first["relative_fisher_divergence"]
    assert [(r["phase"], r["epoch"]) for r in RunFolder(out).metrics()] == [
        ("train", 1),
        ("train", 2),
        ("decay1", 1),
        ("decay2", 1),
    ]
    assert main([*argv, "--resume", "--sigma", "0.3"]) == 2
    assert "sigma: saved 0.2, requested 0.3" in capsys.readouterr().err
