"""Data-parallel training with torch.distributed (gloo on CPU) through torchrun."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from safetensors.torch import load_file

from daekit.corruption import Masking, ShardedCorruption
from daekit.training.checkpoints import latest_checkpoint
from daekit.training.distributed import DistributedContext

WORKER = str(Path(__file__).with_name("ddp_worker.py"))
pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="needs gloo")


def torchrun(nproc, *args):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", WORKER, *args]
    env = {**os.environ, "DAEKIT_DIST_TIMEOUT": "30", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def weights(run_dir):
    return load_file(str(latest_checkpoint(Path(run_dir) / "checkpoints", "train") / "model.safetensors"))


def test_shards_cover_the_batch_and_sharded_corruption_matches_whole_batch():
    ctxs = [DistributedContext(r, 3) for r in range(3)]
    assert [c.shard(10) for c in ctxs] == [(0, 3), (3, 6), (6, 10)]
    x = torch.rand(10, 50) + 0.1
    whole = Masking(0.3)(x, torch.Generator().manual_seed(0))
    parts = [
        ShardedCorruption(Masking(0.3), a, b, 10)(x[a:b], torch.Generator().manual_seed(0))
        for a, b in (c.shard(10) for c in ctxs)
    ]
    assert torch.equal(torch.cat(parts), whole)


def test_two_processes_equal_one_process_with_double_batch(tmp_path):
    one = subprocess.run([sys.executable, WORKER, str(tmp_path / "one"), "16", "2"], timeout=300)
    assert one.returncode == 0
    two = torchrun(2, str(tmp_path / "two"), "8", "2")
    out, _ = two.communicate(timeout=300)
    assert two.returncode == 0, out
    a, b = weights(tmp_path / "one"), weights(tmp_path / "two")
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6)
    lines = (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]  # rank 0 alone wrote them


def test_a_dead_rank_stops_the_job_in_bounded_time_and_resume_finishes(tmp_path):
    run = tmp_path / "run"
    job = torchrun(2, str(run), "8", "40", "--slow")
    deadline = time.time() + 180
    while time.time() < deadline and latest_checkpoint(run / "checkpoints", "train") is None:
        time.sleep(0.1)
    assert latest_checkpoint(run / "checkpoints", "train") is not None
    os.kill(int((run / "pid-1").read_text()), signal.SIGKILL)
    killed_at = time.time()
    out, _ = job.communicate(timeout=120)
    assert job.returncode != 0
    assert time.time() - killed_at < 90, "the surviving rank hung"
    done = int(latest_checkpoint(run / "checkpoints", "train").name.split("-")[1])
    assert done < 40
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".tmp")]
    resumed = torchrun(2, str(run), "8", "40", "--resume")
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out
    assert latest_checkpoint(run / "checkpoints", "train").name == "train-0040"
    epochs = [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, 41))


def test_daekit_sda_and_train_with_nproc_2_run_under_torchrun(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DAEKIT_DIST_TIMEOUT": "60"}
    for argv in (
        [
            "sda",
            "--data",
            "digits",
            "--layers",
            "16,16",
            "--noise",
            "0.2",
            "--pretrain-epochs",
            "1",
            "--finetune-epochs",
            "2",
            "--out",
            str(tmp_path / "sda"),
            "--nproc",
            "2",
            "--quiet",
        ],
        [
            "train",
            "--data",
            "digits",
            "--hidden",
            "8",
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "dae"),
            "--nproc",
            "2",
            "--quiet",
            "--no-probe",
        ],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "daekit", *argv], env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = Path(argv[argv.index("--out") + 1])
        assert (out / "result.json").is_file() and (out / "model" / "model.safetensors").is_file()
        assert proc.stdout.count("wrote ") == 1  # rank 0 alone reports


def test_end_rank_process_flushes_and_exits_with_the_code():
    code = "from daekit.training.distributed import end_rank_process; print('flushed', end=''); end_rank_process(3)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (3, "flushed")
