"""Mixed precision: bfloat16 matrix products with float32 parameters and updates."""

import copy
import json
import warnings

import numpy as np
import pytest
import torch

from daekit import DAE, DenoisingObjective, Masking, TrainConfig, fit
from daekit.cli import main
from daekit.estimators import DenoisingAutoencoder, StackedDenoisingAutoencoderClassifier
from daekit.models.stacked import StackedNetwork
from daekit.numerics.precision import (
    LOW_PRECISION_MIN_INNER,
    add_matmul_,
    bfloat16_is_native,
    compute_dtype,
    matmul_into,
)
from daekit.stacked import StackedConfig

BF16 = torch.bfloat16


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def test_matmul_into_rounds_the_operands_and_keeps_the_output_precision():
    g = torch.Generator().manual_seed(0)
    a, w, bias = torch.randn(5, 7, generator=g), torch.randn(3, 7, generator=g), torch.randn(3, generator=g)
    out = torch.empty(5, 3)
    matmul_into(out, a, w.t(), bias)  # same precision: one addmm
    torch.testing.assert_close(out, torch.addmm(bias, a, w.t()), rtol=0, atol=0)
    matmul_into(out, a, w.to(BF16).t(), bias)
    assert out.dtype == torch.float32
    expected = bias + torch.mm(a.to(BF16), w.to(BF16).t()).float()
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    assert _rel(out, torch.addmm(bias, a, w.t())) > 1e-4  # the rounding is real
    matmul_into(out, a, w.to(BF16).t())
    torch.testing.assert_close(out, torch.mm(a.to(BF16), w.to(BF16).t()).float(), rtol=0, atol=0)


@pytest.mark.parametrize("inner", [LOW_PRECISION_MIN_INNER - 1, LOW_PRECISION_MIN_INNER, 200])
def test_add_matmul_accumulates_a_low_precision_product_into_float32(inner):
    g = torch.Generator().manual_seed(1)
    target, a, b = (
        torch.randn(4, 6, generator=g),
        torch.randn(inner, 4, generator=g),
        torch.randn(inner, 6, generator=g),
    )
    exact = target.clone().addmm_(a.t(), b, alpha=-0.5)
    same = add_matmul_(target.clone(), a.t(), b, -0.5)
    torch.testing.assert_close(same, exact, rtol=0, atol=0)
    low = add_matmul_(target.clone(), a.t(), b, -0.5, BF16)
    assert low.dtype == torch.float32
    if inner < LOW_PRECISION_MIN_INNER:  # a short product stays one float32 addmm_
        torch.testing.assert_close(low, exact, rtol=0, atol=0)
    else:
        rounded = target - 0.5 * torch.mm(a.t().to(BF16), b.to(BF16)).float()
        torch.testing.assert_close(low, rounded, rtol=0, atol=0)
        assert _rel(low - target, exact - target) > 1e-4


def test_compute_dtype_names():
    assert compute_dtype("float32") is None and compute_dtype("bfloat16") is BF16
    with pytest.raises(ValueError, match="precision"):
        compute_dtype("float16")
    assert isinstance(bfloat16_is_native("cpu"), bool)


def _dae_step_pair(tied, reconstruction, compute):
    """(exact float64 step, the step in float32 with products in ``compute``) from one start."""
    m = DAE(40, 24, tied_weights=tied, reconstruction=reconstruction, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # biases away from their zero start, so that every term counts
        m.b.normal_(generator=g)
        m.c.normal_(generator=g)
    x = torch.rand(32, 40, generator=g)
    xt = x * (torch.rand(32, 40, generator=g) > 0.3)
    exact = copy.deepcopy(m).double()
    start = {k: v.detach().double().clone() for k, v in m.state_dict().items()}
    exact_loss = exact.fused_sgd_step(x.double(), xt.double(), 0.5)
    loss = m.fused_sgd_step(x, xt, 0.5, compute)
    steps = {
        k: (
            dict(m.named_parameters())[k].detach().double() - start[k],
            dict(exact.named_parameters())[k].detach() - start[k],
        )
        for k in start
    }
    return loss, exact_loss, steps, m


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("reconstruction", ["bernoulli", "gaussian"])
def test_bfloat16_dae_step_is_the_exact_step_to_bfloat16_accuracy(tied, reconstruction):
    loss, exact_loss, steps, m = _dae_step_pair(tied, reconstruction, BF16)
    assert all(p.dtype == torch.float32 for p in m.parameters())
    assert float(loss) == pytest.approx(float(exact_loss), rel=2e-2)
    for name, (step, exact_step) in steps.items():
        # bfloat16 keeps 8 significant bits (relative rounding 2^-9); the update inherits ~that
        assert 1e-4 < _rel(step, exact_step) < 3e-2, name


def test_compute_dtype_of_the_weights_themselves_is_the_plain_step():
    m = DAE(20, 8, generator=torch.Generator().manual_seed(0)).double()
    ref = copy.deepcopy(m)
    x = torch.rand(6, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    assert m.fused_sgd_step(x, x, 0.3, torch.float64) == ref.fused_sgd_step(x, x, 0.3)
    for p, q in zip(m.parameters(), ref.parameters()):
        assert torch.equal(p, q)


def test_bfloat16_stacked_step_is_the_exact_step_to_bfloat16_accuracy():
    net = StackedNetwork(30, [24, 16], 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # away from the zero start of the output layer and the biases
        for p in [net.output.weight, *(layer.bias for layer in [*net.hidden, net.output])]:
            p.normal_(generator=torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(4)
    x, y = torch.rand(32, 30, generator=g), torch.randint(0, 5, (32,), generator=g)
    exact = copy.deepcopy(net).double()
    start = {k: v.detach().double().clone() for k, v in net.named_parameters()}
    exact_loss = exact.fused_sgd_step(x.double(), y, 0.5)
    loss = net.fused_sgd_step(x, y, 0.5, BF16)
    assert float(loss) == pytest.approx(float(exact_loss), rel=2e-2)
    exact_params = dict(exact.named_parameters())
    for name, p in net.named_parameters():
        assert p.dtype == torch.float32
        step, exact_step = p.detach().double() - start[name], exact_params[name].detach() - start[name]
        assert _rel(step, exact_step) < 3e-2, name
    # the hidden weights' updates went through bfloat16 products
    assert (
        _rel(
            net.hidden[0].weight.detach().double() - start["hidden.0.weight"],
            exact_params["hidden.0.weight"].detach() - start["hidden.0.weight"],
        )
        > 1e-4
    )


def _train(precision, optimizer, fused=True):
    x = torch.rand(400, 30, generator=torch.Generator().manual_seed(5))
    m = DAE(30, 16, generator=torch.Generator().manual_seed(6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no native bfloat16 on this CPU: emulated
        history = fit(
            m,
            DenoisingObjective(Masking(0.2)),
            x,
            TrainConfig(
                epochs=4,
                batch_size=40,
                lr=0.3 if optimizer == "sgd" else 1e-2,
                optimizer=optimizer,
                seed=7,
                verbose=0,
                fused=fused,
                precision=precision,
            ),
        )
    return m, history.train_loss


@pytest.mark.parametrize("optimizer,fused", [("sgd", True), ("sgd", False), ("adam", True)])
def test_fit_in_bfloat16_trains_like_float32(optimizer, fused):
    """The hand-written step (sgd, fused) and the autocast path (sgd unfused, adam)."""
    m32, loss32 = _train("float32", optimizer, fused)
    m16, loss16 = _train("bfloat16", optimizer, fused)
    assert m16.W.dtype == torch.float32
    assert loss16[-1] < loss16[0]
    assert loss16 == pytest.approx(loss32, rel=2e-2)
    assert loss16 != loss32  # the products really ran in bfloat16


def test_fit_warns_where_bfloat16_is_emulated(monkeypatch):
    monkeypatch.setattr("daekit.training.precision.bfloat16_is_native", lambda device: False)
    with pytest.warns(RuntimeWarning, match="emulated"):
        fit(
            DAE(8, 4),
            DenoisingObjective(Masking(0.2)),
            torch.rand(20, 8),
            TrainConfig(epochs=1, batch_size=10, verbose=0, precision="bfloat16"),
        )
    monkeypatch.setattr("daekit.training.precision.bfloat16_is_native", lambda device: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fit(
            DAE(8, 4),
            DenoisingObjective(Masking(0.2)),
            torch.rand(20, 8),
            TrainConfig(epochs=1, batch_size=10, verbose=0, precision="bfloat16"),
        )


def test_bad_precision_is_rejected_everywhere(tmp_path, capsys):
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="float16")
    with pytest.raises(ValueError, match="precision"):
        StackedConfig(precision="half")
    X = np.random.default_rng(0).random((30, 8)).astype(np.float32)
    with pytest.raises(ValueError, match="precision"):
        DenoisingAutoencoder(n_components=4, precision="half").fit(X)
    with pytest.raises(ValueError, match="precision"):
        StackedDenoisingAutoencoderClassifier(hidden_layer_sizes=(4,), noise_levels=0.1, precision="half").fit(
            X, np.arange(30) % 2
        )
    out = tmp_path / "sda"
    assert main(["sda", "--data", "digits", "--precision", "half", "--out", str(out)]) == 2
    assert "--precision" in capsys.readouterr().err and not out.exists()


def test_cli_train_in_bfloat16_records_it(tmp_path):
    out = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert (
            main(
                [
                    "train",
                    "--data",
                    "digits",
                    "--hidden",
                    "16",
                    "--epochs",
                    "1",
                    "--precision",
                    "bfloat16",
                    "--no-probe",
                    "--quiet",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
    assert json.loads((out / "config.json").read_text())["precision"] == "bfloat16"
    from daekit.models.registry import load_model

    assert load_model(out / "model").W.dtype == torch.float32


def test_estimator_in_bfloat16_fits_float32_parameters():
    X = np.random.default_rng(1).random((200, 12)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dae = DenoisingAutoencoder(
            n_components=6, max_epochs=3, batch_size=50, precision="bfloat16", random_state=0
        ).fit(X)
    assert dae.components_.dtype == np.float32 and np.isfinite(dae.loss_curve_).all()
    assert dae.loss_curve_[-1] < dae.loss_curve_[0]


def test_sda_run_records_precision_and_resumes_a_run_from_before_it(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "sda",
        "--data",
        "digits",
        "--layers",
        "12",
        "--noise",
        "0.1",
        "--pretrain-epochs",
        "1",
        "--finetune-epochs",
        "1",
        "--batch-size",
        "50",
        "--device",
        "cpu",
        "--quiet",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    saved = out / "config.json"
    config = json.loads(saved.read_text())
    assert config["precision"] == "float32"
    # a run folder written before precision existed resumes with the default, not with another value
    del config["precision"]
    saved.write_text(json.dumps(config))
    assert main([*argv, "--resume"]) == 0
    saved.write_text(json.dumps(config))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert main([*argv, "--precision", "bfloat16", "--resume"]) == 2
    assert "precision" in capsys.readouterr().err


def test_train_run_resumes_a_run_from_before_precision_but_not_with_another(tmp_path):
    out = tmp_path / "run"
    argv = ["train", "--data", "digits", "--hidden", "8", "--epochs", "1", "--no-probe", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    saved = out / "config.json"
    config = json.loads(saved.read_text())
    del config["precision"]
    saved.write_text(json.dumps(config))
    assert main([*argv, "--resume"]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert main([*argv, "--precision", "bfloat16", "--resume"]) == 2
