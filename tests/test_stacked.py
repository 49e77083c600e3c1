"""Stacked denoising autoencoders: layer-wise pretraining, fine-tuning, resume, CLI, metrics."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from daekit.cli import main
from daekit.corruption import Identity, Masking
from daekit.datasets import load_digits_split
from daekit.metrics import classification_error, error_interval
from daekit.models.registry import load_model, save_model
from daekit.models.stacked import StackedNetwork
from daekit.objectives.classification import ClassificationObjective
from daekit.stacked import (
    StackedConfig,
    classification_error_metric,
    classification_metrics,
    encode_dataset,
    pipeline,
    pretrain_layers,
    train_stacked,
)
from daekit.training.checkpoints import latest_checkpoint


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks run far faster on one thread on a shared machine; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def digits():
    x_train, y_train, x_test, y_test = load_digits_split()
    return x_train[:-240], y_train[:-240], x_train[-240:], y_train[-240:], x_test, y_test


def small_config(**kw):
    base = dict(
        hidden_layer_sizes=(32, 16),
        noise_levels=(0.2, 0.3),
        pretrain_epochs=2,
        finetune_epochs=3,
        pretrain_learning_rate=0.05,
        batch_size=20,
        seed=3,
        device="cpu",
    )
    return StackedConfig(**{**base, **kw})


def final_weights(path):
    return load_file(str(Path(path) / "model" / "model.safetensors"))


# ------------------------------------------------------------------ layer-wise pretraining


def test_layer_k_is_trained_on_the_clean_encodings_of_the_layers_below(monkeypatch, digits):
    x = torch.as_tensor(digits[0][:300])
    seen = {}
    real_fit = pipeline.fit

    def spy(model, objective, data, config=None, **kw):
        seen[kw["phase"]] = (data.clone(), objective.corruption, kw.get("valid"))
        return real_fit(model, objective, data, config, **kw)

    monkeypatch.setattr(pipeline, "fit", spy)
    config = small_config(hidden_layer_sizes=(24, 12, 6), noise_levels=(0.1, 0.2, 0.3))
    daes, histories, _ = pretrain_layers(x, config)

    assert list(seen) == ["pretrain-1", "pretrain-2", "pretrain-3"]
    assert torch.equal(seen["pretrain-1"][0], x)
    # a manual forward pass through the trained, clean (uncorrupted) encoders
    with torch.no_grad():
        h1 = torch.sigmoid(x @ daes[0].W.T + daes[0].b)
        h2 = torch.sigmoid(h1 @ daes[1].W.T + daes[1].b)
    torch.testing.assert_close(seen["pretrain-2"][0], h1, rtol=0, atol=1e-6)
    torch.testing.assert_close(seen["pretrain-3"][0], h2, rtol=0, atol=1e-6)
    # each layer brings its own corruption, used only on the input of the layer being trained
    assert [seen[f"pretrain-{k}"][1] for k in (1, 2, 3)] == [Masking(0.1), Masking(0.2), Masking(0.3)]
    assert all(v[2] is None for v in seen.values())
    assert [d.config.n_hidden for d in daes] == [24, 12, 6] and [d.config.n_visible for d in daes] == [64, 24, 12]
    assert [len(h.records) for h in histories] == [2, 2, 2]


def test_encoded_data_is_computed_once_per_layer_not_per_minibatch(monkeypatch, digits):
    calls = []
    real = pipeline.encode_dataset
    monkeypatch.setattr(pipeline, "encode_dataset", lambda *a, **k: calls.append(1) or real(*a, **k))
    pretrain_layers(
        torch.as_tensor(digits[0][:200]),
        small_config(hidden_layer_sizes=(16, 8, 4), noise_levels=0.1, pretrain_epochs=3),
    )
    assert len(calls) == 2  # after layers 1 and 2; layer 3's output is not needed


def test_encode_dataset_is_clean_chunked_and_gradient_free(digits):
    from daekit.models.dae import DAE

    dae = DAE(64, 10, generator=torch.Generator().manual_seed(0))
    x = torch.as_tensor(digits[0][:1001])
    h = encode_dataset(dae, x, chunk_size=100)
    assert not h.requires_grad and h.shape == (1001, 10)
    torch.testing.assert_close(h, dae.encode(x).detach())


def test_noise_zero_is_saa_and_corruption_kinds_are_per_layer():
    config = StackedConfig(
        hidden_layer_sizes=(5, 5, 5), corruption=("masking", "gaussian", "saltpepper"), noise_levels=(0.0, 0.5, 0.25)
    )
    assert isinstance(config.layer_corruption(0), Identity)
    assert config.layer_corruption(1).spec == "gaussian:0.5"
    assert config.layer_corruption(2).spec == "saltpepper:0.25"
    assert all(isinstance(StackedConfig(noise_levels=0).layer_corruption(k), Identity) for k in range(3))


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(noise_levels=(0.1, 0.2)), "noise_levels"),
        (dict(hidden_layer_sizes=(10, 0, 10)), "hidden_layer_sizes"),
        (dict(hidden_layer_sizes=()), "hidden_layer_sizes"),
        (dict(noise_levels=-0.1), "noise_levels"),
        (dict(noise_levels=1.5), "noise_levels"),
        (dict(corruption="blur"), "corruption"),
        (dict(corruption=("masking", "masking")), "corruption"),
        (dict(pretrain_learning_rate=0.0), "pretrain_learning_rate"),
        (dict(batch_size=0), "batch_size"),
        (dict(optimizer="lbfgs"), "optimizer"),
    ],
)
def test_bad_config_values_raise_value_error_naming_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        StackedConfig(**kwargs)


# ------------------------------------------------------------------ the network and fine-tuning


def test_network_starts_from_the_pretrained_encoders_and_round_trips(tmp_path, digits):
    x = torch.as_tensor(digits[0][:200])
    daes, _, _ = pretrain_layers(x, small_config())
    net = StackedNetwork.from_pretrained(daes, n_classes=10)
    for layer, dae in zip(net.hidden, daes):
        assert torch.equal(layer.weight, dae.W) and torch.equal(layer.bias, dae.b)
    assert torch.count_nonzero(net.output.weight) == 0
    save_model(tmp_path / "m", net)
    again = load_model(tmp_path / "m")
    assert isinstance(again, StackedNetwork) and again.config == net.config
    with torch.no_grad():
        torch.testing.assert_close(again(x), net(x), rtol=0, atol=0)
        assert torch.equal(net.features(x), net.features(x))  # deterministic: no corruption at inference


def test_finetuning_keeps_the_best_validation_parameters(digits):
    x, y, xv, yv = (torch.as_tensor(a) for a in digits[:4])
    result = train_stacked(x, y, xv, yv, small_config(finetune_epochs=6, finetune_learning_rate=0.5))
    h = result.finetune_history
    assert [r["phase"] for r in h.records] == ["finetune"] * len(h.records)
    assert h.best_score == min(h.valid_score)
    assert classification_error_metric(result.network, (xv, yv)) == pytest.approx(h.best_score, abs=1e-7)
    assert set(result.phase_seconds) == {"pretrain-1", "pretrain-2", "finetune"}


def test_fused_finetuning_step_equals_autograd_and_sgd():
    g = torch.Generator().manual_seed(5)
    net = StackedNetwork(7, [6, 5, 4], 3, generator=g).double()
    with torch.no_grad():  # a non-zero output layer, so every delta is exercised
        net.output.weight.normal_(generator=g)
        net.output.bias.normal_(generator=g)
    ref = StackedNetwork(7, [6, 5, 4], 3).double()
    ref.load_state_dict(net.state_dict())
    opt = torch.optim.SGD(ref.parameters(), lr=0.3)
    for _step in range(3):
        x = torch.rand(9, 7, generator=g, dtype=torch.float64)
        y = torch.randint(0, 3, (9,), generator=g)
        fused_loss = net.fused_sgd_step(x, y, 0.3)
        ref_loss = torch.nn.functional.cross_entropy(ref(x), y)
        opt.zero_grad()
        ref_loss.backward()
        opt.step()
        assert float(fused_loss) == pytest.approx(float(ref_loss.detach()), abs=1e-12)
    for name, value in ref.state_dict().items():
        assert torch.allclose(net.state_dict()[name], value, rtol=0, atol=1e-12), name


def test_fused_and_autograd_finetuning_give_the_same_history(digits):
    from daekit.training.config import TrainConfig
    from daekit.training.loop import fit

    x, y, xv, yv = (torch.as_tensor(a) for a in digits[:4])
    runs = []
    for fused in (True, False):
        net = StackedNetwork(64, [20, 10], 10, generator=torch.Generator().manual_seed(0))
        h = fit(
            net,
            ClassificationObjective(),
            (x, y),
            TrainConfig(epochs=2, batch_size=16, lr=0.2, seed=1, verbose=0, fused=fused),
            valid_metric=classification_metrics,
            valid=(xv, yv),
        )
        runs.append((h.train_loss, h.valid_loss, h.valid_score))
    assert runs[0][2] == runs[1][2]
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-5)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-5)


def test_classification_metrics_give_the_error_and_the_cross_entropy():
    net = StackedNetwork(4, [3], 2, generator=torch.Generator().manual_seed(0))
    x, y = torch.rand(10, 4), torch.tensor([0, 1] * 5)
    out = classification_metrics(net, (x, y), chunk_size=3)
    logits = net(x).detach()
    assert out["score"] == pytest.approx(float((logits.argmax(1) != y).float().mean()))
    assert out["loss"] == pytest.approx(float(torch.nn.functional.cross_entropy(logits, y)), rel=1e-6)


def test_without_pretraining_the_same_network_starts_from_random_init(monkeypatch, digits):
    x, y = torch.as_tensor(digits[0][:200]), torch.as_tensor(digits[1][:200])
    phases = []
    real_fit = pipeline.fit
    monkeypatch.setattr(pipeline, "fit", lambda *a, **k: phases.append(k["phase"]) or real_fit(*a, **k))
    a = train_stacked(x, y, config=small_config(pretrain=False, finetune_epochs=1))
    b = train_stacked(x, y, config=small_config(pretrain=False, finetune_epochs=1))
    assert phases == ["finetune", "finetune"] and a.encoders == [] and a.pretrain_histories == []
    assert a.network.config.hidden_layer_sizes == [32, 16]
    for p, q in zip(a.network.parameters(), b.network.parameters()):
        assert torch.equal(p, q)


def test_small_sda_beats_chance_on_a_2k_mnist_subset():
    from daekit.datasets import DatasetNotFoundError, load_mnist

    try:
        x, y, _, _ = load_mnist(download=False, verbose=False)
    except (DatasetNotFoundError, FileNotFoundError):
        pytest.skip("MNIST is not available (set DAEKIT_DATA)")
    config = StackedConfig(
        hidden_layer_sizes=(100,),
        noise_levels=0.25,
        pretrain_epochs=2,
        finetune_epochs=5,
        pretrain_learning_rate=0.05,
        seed=0,
        device="cpu",
    )
    result = train_stacked(x[:2000], y[:2000], x[-1000:], y[-1000:], config)
    error = classification_error_metric(result.network, (torch.as_tensor(x[-1000:]), torch.as_tensor(y[-1000:])))
    assert error < 0.3  # chance is 0.9
    assert result.pretrain_histories[0].train_loss[-1] < result.pretrain_histories[0].train_loss[0]


# ------------------------------------------------------------------ resume


class Interrupt(BaseException):
    pass


def interrupt_at(phase, epoch):
    def callback(record, model):
        if record["phase"] == phase and record["epoch"] == epoch:
            raise Interrupt

    return callback


@pytest.mark.parametrize("phase,epoch", [("pretrain-1", 2), ("pretrain-2", 1), ("finetune", 2)])
def test_interrupted_run_resumes_to_identical_weights(tmp_path, digits, phase, epoch):
    """Interrupted after the last epoch of layer 1 (between layers), inside layer 2, and during
    fine-tuning; the resumed run ends with the weights of an uninterrupted one."""
    x, y, xv, yv = digits[:4]
    config = small_config(finetune_epochs=4)
    full = train_stacked(x, y, xv, yv, config, run_dir=tmp_path / "full")
    with pytest.raises(Interrupt):
        train_stacked(x, y, xv, yv, config, run_dir=tmp_path / "cut", callbacks=[interrupt_at(phase, epoch)])
    assert latest_checkpoint(tmp_path / "cut" / "checkpoints", phase).name == f"{phase}-{epoch:04d}"
    resumed = train_stacked(x, y, xv, yv, config, run_dir=tmp_path / "cut", resume=True)
    for (name, p), q in zip(full.network.state_dict().items(), resumed.network.state_dict().values()):
        assert torch.equal(p, q), name
    assert resumed.finetune_history.records[-1]["train_loss"] == full.finetune_history.records[-1]["train_loss"]
    lines = [json.loads(s) for s in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in lines].count("pretrain-1") == 2 and len(lines) == 2 + 2 + 4


def sda_argv(out, *extra):
    return [
        "sda",
        "--data",
        str(out.parent / "data.npz"),
        "--layers",
        "96,48",
        "--noise",
        "0.2,0.3",
        "--pretrain-epochs",
        "4",
        "--finetune-epochs",
        "8",
        "--batch-size",
        "4",
        "--pretrain-lr",
        "0.02",
        "--seed",
        "5",
        "--device",
        "cpu",
        "--quiet",
        "--out",
        str(out),
        *extra,
    ]


def start_cli(argv):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "daekit", *argv, "--threads", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when(proc, out, phase, epoch, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ckpt = latest_checkpoint(out / "checkpoints", phase)
        if ckpt is not None and int(ckpt.name.rsplit("-", 1)[1]) >= epoch:
            break
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.005)
    else:
        pytest.fail(f"no checkpoint of {phase} appeared")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_cli_run_killed_twice_with_sigkill_resumes_to_identical_weights(tmp_path, digits):
    x, y, xv, yv, xt, yt = digits
    np.savez(tmp_path / "data.npz", x_train=x, y_train=y, x_valid=xv, y_valid=yv, x_test=xt, y_test=yt)
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert main(sda_argv(full, "--threads", "1")) == 0
    proc = start_cli(sda_argv(killed))
    kill_when(proc, killed, "pretrain-1", 1)  # during layer 1 (or between layers)
    assert not (killed / "result.json").exists()
    proc = start_cli(sda_argv(killed, "--resume"))
    kill_when(proc, killed, "finetune", 2)  # during fine-tuning
    assert latest_checkpoint(killed / "checkpoints", "finetune").name < "finetune-0008"
    assert not (killed / "result.json").exists()
    assert start_cli(sda_argv(killed, "--resume")).wait(timeout=300) == 0
    a, b = final_weights(full), final_weights(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ra, rb = (json.loads((p / "result.json").read_text()) for p in (full, killed))
    assert ra["test_error"] == rb["test_error"] and rb["resumed"] is True
    lines = (killed / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 4 + 4 + ra["finetune_epochs_run"]
    assert not [p for p in (killed / "checkpoints").iterdir() if p.name.startswith((".tmp", ".old"))]


# ------------------------------------------------------------------ CLI


def test_cli_writes_the_run_folder_and_reads_a_toml_config(tmp_path, capsys):
    cfg = tmp_path / "sda.toml"
    cfg.write_text(
        'data = "digits"\nlayers = [20, 10]\nnoise = "0.1,0.2"\npretrain-epochs = 1\n'
        "finetune_epochs = 50\nbatch-size = 50\nseed = 1\nquiet = true\n"
    )
    out = tmp_path / "run"
    assert main(["sda", "--config", str(cfg), "--finetune-epochs", "2", "--device", "cpu", "--out", str(out)]) == 0
    for name in (
        "config.json",
        "metrics.jsonl",
        "result.json",
        "filters.png",
        "filters_finetuned.png",
        "model/model.safetensors",
        "checkpoints/pretrain-1-0001",
        "checkpoints/pretrain-2-0001",
        "checkpoints/finetune-0002",
    ):
        assert (out / name).exists(), name
    config = json.loads((out / "config.json").read_text())
    assert config["hidden_layer_sizes"] == [20, 10] and config["noise_levels"] == [0.1, 0.2]
    assert config["finetune_epochs"] == 2 and config["pretrain_epochs"] == 1 and config["batch_size"] == 50
    assert config["data"] == "digits" and config["n_train"] + config["n_valid"] == 1437
    result = json.loads((out / "result.json").read_text())
    for key in ("valid_error", "valid_error_ci95", "test_error", "test_error_ci95", "peak_rss_mb", "phase_seconds"):
        assert key in result, key
    assert result["test_error_ci95"] == pytest.approx(error_interval(result["test_error"], 360))
    assert set(result["phase_seconds"]) == {"pretrain-1", "pretrain-2", "finetune"}
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1 + 1 + 2
    assert isinstance(load_model(out / "model"), StackedNetwork)
    assert "result.json" in capsys.readouterr().out
    # the same folder again: refused without --resume, a no-op with it, refused with other settings
    argv = ["sda", "--config", str(cfg), "--finetune-epochs", "2", "--device", "cpu", "--out", str(out)]
    assert main(argv) == 2
    assert main([*argv, "--resume"]) == 0
    assert main([*argv[:-2], "--seed", "2", "--out", str(out), "--resume"]) == 2
    assert "seed" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["--layers", "100,0"], "--layers"),
        (["--layers", "10,10,10", "--noise", "0.1,0.2"], "--noise"),
        (["--noise", "0.1,x"], "--noise"),
        (["--noise", "1.5", "--data", "digits"], "noise_levels"),
        (["--pretrain-epochs", "-1"], "--pretrain-epochs"),
        (["--finetune-lr", "0"], "--finetune-lr"),
        (["--corruption", "blur"], "corruption"),
        (["--config", "missing.toml"], "missing.toml"),
        (["--frobnicate"], "unrecognized"),
    ],
)
def test_bad_cli_flags_give_exit_2_and_a_one_line_error(argv, fragment, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["sda", "--out", "x", *argv])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err
    assert not (tmp_path / "x").exists()


def test_missing_out_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["sda", "--layers", "5"]) == 2
    assert "--out" in capsys.readouterr().err


def test_bad_toml_key_in_a_subprocess(tmp_path):
    (tmp_path / "bad.toml").write_text("layers = [10, 10]\nnoise = [0.1, 0.2]\nbogus = 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "daekit", "sda", "--config", "bad.toml", "--out", "x"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "bogus" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------ metrics


def test_classification_error_and_its_95_percent_interval():
    error, half = classification_error([0, 1, 2, 3] * 25, [0, 1, 2, 0] * 25)
    assert error == 0.25 and half == pytest.approx(1.96 * math.sqrt(0.25 * 0.75 / 100))
    assert classification_error(np.array(["a", "b"]), np.array(["a", "b"])) == (0.0, 0.0)
    assert error_interval(0.5, 10000) == pytest.approx(0.0098)
    assert error_interval(1.0, 3) == 0.0
    for bad in ((0.5, 0), (1.5, 10), (float("nan"), 10)):
        with pytest.raises(ValueError):
            error_interval(*bad)
    with pytest.raises(ValueError, match="same length"):
        classification_error([1, 2], [1])
    with pytest.raises(ValueError, match="at least one"):
        classification_error([], [])
