import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from daekit import DAE, DenoisingObjective, Masking, NonFiniteLossError, TrainConfig, fit
from daekit.training.checkpoints import latest_checkpoint
from daekit.training.schedules import lr_at

WORKER = Path(__file__).with_name("resume_worker.py")


def run_worker(run_dir, epochs, *extra):
    return subprocess.Popen([sys.executable, str(WORKER), str(run_dir), str(epochs), *extra])


def final_weights(run_dir):
    return load_file(str(latest_checkpoint(Path(run_dir) / "checkpoints", "train") / "model.safetensors"))


def test_killed_and_resumed_run_equals_uninterrupted_run(tmp_path):
    epochs = 6
    full = tmp_path / "full"
    assert run_worker(full, epochs).wait(timeout=300) == 0

    killed = tmp_path / "killed"
    proc = run_worker(killed, epochs)
    deadline = time.time() + 240
    while time.time() < deadline:
        ckpt = latest_checkpoint(killed / "checkpoints", "train")
        if ckpt is not None and int(ckpt.name.split("-")[1]) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed_from = int(latest_checkpoint(killed / "checkpoints", "train").name.split("-")[1])
    assert resumed_from < epochs, "the worker finished before it could be killed"
    assert run_worker(killed, epochs, "--resume").wait(timeout=300) == 0

    a, b = final_weights(full), final_weights(killed)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    lines = [json.loads(line) for line in (killed / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == list(range(1, epochs + 1))
    assert not [p for p in (killed / "checkpoints").iterdir() if p.name.startswith(".tmp")]


def small_problem(seed=0):
    x = torch.rand(400, 20, generator=torch.Generator().manual_seed(seed))
    return DAE(20, 8, generator=torch.Generator().manual_seed(seed)), x


def test_same_seed_same_weights_and_loss_decreases():
    results = []
    for _ in range(2):
        m, x = small_problem()
        h = fit(m, DenoisingObjective(Masking(0.2)), x, TrainConfig(epochs=3, batch_size=10, seed=3, verbose=0))
        results.append(m.W.detach().clone())
    assert torch.equal(results[0], results[1])
    assert h.train_loss[-1] < h.train_loss[0]


def test_nan_loss_stops_with_clear_error_and_keeps_last_good_checkpoint(tmp_path):
    m, x = small_problem()

    class ExplodesInEpoch3:
        calls = 0

        def __call__(self, model, batch, generator):
            self.calls += 1
            loss = model.loss(batch[0], batch[0])
            return loss * float("nan") if self.calls > 2 * 40 else loss

    with pytest.raises(NonFiniteLossError, match=r"epoch 3.*train-0002"):
        fit(m, ExplodesInEpoch3(), x, TrainConfig(epochs=5, batch_size=10, verbose=0), run_dir=tmp_path)
    ckpt = latest_checkpoint(tmp_path / "checkpoints", "train")
    assert ckpt.name == "train-0002"
    assert all(torch.isfinite(t).all() for t in load_file(str(ckpt / "model.safetensors")).values())


def test_early_stopping_restores_best_epoch():
    m, x = small_problem()
    scores = iter([0.5, 0.3, 0.4, 0.45, 0.6, 0.7, 0.8])
    snapshots = {}

    def metric(model, valid):
        return next(scores)

    def remember(record, model):
        snapshots[record["epoch"]] = model.W.detach().clone()

    h = fit(
        m,
        DenoisingObjective(Masking(0.2)),
        x[:300],
        TrainConfig(epochs=7, batch_size=10, early_stopping=True, patience=3, verbose=0),
        valid_metric=metric,
        callbacks=[remember],
        valid=x[300:],
    )
    assert h.best_epoch == 2 and h.stopped_early and len(h.records) == 5
    assert torch.equal(m.W.detach(), snapshots[2])


def test_resume_of_a_finished_phase_returns_immediately(tmp_path):
    m, x = small_problem()
    cfg = TrainConfig(epochs=2, batch_size=50, verbose=0)
    fit(m, DenoisingObjective(Masking(0.2)), x, cfg, run_dir=tmp_path)
    m2, _ = small_problem(seed=5)
    h = fit(m2, DenoisingObjective(Masking(0.2)), x, cfg, run_dir=tmp_path, resume=True)
    assert len(h.records) == 2
    assert torch.equal(m.W.detach(), m2.W.detach())


@pytest.mark.parametrize(
    "kw,name",
    [
        ({"epochs": -1}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"momentum": 1.0}, "momentum"),
    ],
)
def test_bad_train_config(kw, name):
    with pytest.raises(ValueError, match=name):
        TrainConfig(**kw)


def test_mismatched_lengths_rejected():
    m, x = small_problem()
    with pytest.raises(ValueError, match="same length"):
        fit(m, DenoisingObjective(Masking(0.2)), (x, torch.zeros(3)), TrainConfig(epochs=1, verbose=0))


def test_fused_and_autograd_training_agree():
    weights = []
    for fused in (True, False):
        m, x = small_problem()
        m.double()
        fit(
            m,
            DenoisingObjective(Masking(0.2)),
            x.double(),
            TrainConfig(epochs=2, batch_size=10, seed=3, verbose=0, fused=fused),
        )
        weights.append(m.W.detach().clone())
    torch.testing.assert_close(weights[0], weights[1], rtol=1e-9, atol=1e-9)


def test_learning_rate_schedules():
    cfg = TrainConfig(epochs=5, lr=0.1, lr_schedule="cosine", lr_final_fraction=0.1)
    lrs = [lr_at(cfg, e) for e in range(5)]
    assert lrs[0] == pytest.approx(0.1) and lrs[-1] == pytest.approx(0.01)
    assert all(a > b for a, b in zip(lrs, lrs[1:]))
    assert lr_at(TrainConfig(epochs=3, lr=0.2, lr_schedule="linear", lr_final_fraction=0.0), 1) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="exp")
    m, x = small_problem()
    h = fit(
        m,
        DenoisingObjective(Masking(0.2)),
        x,
        TrainConfig(epochs=3, batch_size=50, lr=0.1, lr_schedule="linear", lr_final_fraction=0.5, verbose=0),
    )
    assert [r["lr"] for r in h.records] == pytest.approx([0.1, 0.075, 0.05])
