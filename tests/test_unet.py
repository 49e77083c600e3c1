"""The noise-conditional U-Net (daekit.models.unet) and its training through daekit.fit."""

import json

import numpy as np
import pytest
import torch

from daekit.models.edm import EDMDenoiser
from daekit.models.registry import load_model
from daekit.models.unet import UNet, UNetConfig
from daekit.runs.denoiser import train_denoiser


@pytest.mark.parametrize("shape,mult", [((1, 8, 8), (1, 2)), ((3, 7, 9), (1, 2, 2)), ((1, 28, 28), (1, 2, 2))])
def test_unet_keeps_the_image_shape(shape, mult):
    net = UNet(shape[0], channels=8, channel_mult=mult, blocks_per_level=1, embed_features=8)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        assert net(x, torch.tensor([0.1, -0.5])).shape == x.shape


def test_unet_reaches_7x7_for_28x28():
    net = UNet(1, channels=8, channel_mult=(1, 2, 2), blocks_per_level=1)
    sizes = []
    hooks = [m.register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[-2:]))) for m in net.mid]
    with torch.no_grad():
        net(torch.zeros(1, 1, 28, 28), torch.zeros(1))
    for h in hooks:
        h.remove()
    assert sizes == [(7, 7), (7, 7)]


def test_untrained_unet_outputs_zero_so_the_denoiser_is_c_skip_x():
    net = UNet(1, channels=8, channel_mult=(1, 2), blocks_per_level=1)
    D = EDMDenoiser(net, sigma_data=0.5)
    x = torch.rand(3, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(D(x, 2.0), x * 0.25 / (4 + 0.25))


def test_unet_output_depends_on_the_noise_level():
    torch.manual_seed(0)
    net = UNet(1, channels=8, channel_mult=(1, 2), blocks_per_level=1)
    for m in net.modules():  # the zero-initialized convolutions would hide the embedding's effect
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.normal_(m.weight, 0, 0.1)
    x = torch.randn(1, 1, 8, 8)
    with torch.no_grad():
        assert not torch.allclose(net(x, torch.tensor([-1.0])), net(x, torch.tensor([1.0])))


def test_unet_config_rejects_bad_values():
    with pytest.raises(ValueError, match="channel_mult"):
        UNetConfig(channel_mult=())
    with pytest.raises(ValueError, match="channels"):
        UNet(1, channels=0)
    with pytest.raises(ValueError, match="dropout"):
        UNet(1, dropout=1.5)
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        UNet(1, channels=8)(torch.zeros(2, 3, 8, 8), torch.zeros(2))


def test_training_step_runs_and_learns_on_tiny_images(tmp_path):
    g = torch.Generator().manual_seed(0)
    # two fixed 8×8 patterns: a denoiser can learn them quickly
    base = torch.zeros(2, 1, 8, 8)
    base[0, :, :4] = 1.0
    base[1, :, :, :4] = 1.0
    images = base[torch.randint(0, 2, (256,), generator=g)]
    torch.manual_seed(0)
    model = EDMDenoiser(UNet(1, channels=8, channel_mult=(1, 2), blocks_per_level=1, embed_features=8), 0.5)
    averaged, history = train_denoiser(
        model, images.numpy(), epochs=4, batch_size=32, lr=3e-3, ema_halflife_images=200, run_dir=tmp_path, verbose=0
    )
    losses = history.train_loss
    assert len(losses) == 4 and all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert history.records[-1]["images"] == 4 * 256
    # the average is a separate model of the same class, saved with the run, and differs from the last weights
    assert isinstance(averaged, EDMDenoiser)
    saved = load_model(tmp_path / "ema")
    x = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(saved(x, 0.5), averaged(x, 0.5))
        assert not torch.allclose(model.cpu()(x, 0.5), averaged(x, 0.5))
    assert json.loads((tmp_path / "ema" / "config.json").read_text())["images"] == 4 * 256


def test_training_stops_at_the_wall_clock_budget(tmp_path):
    images = torch.rand(64, 1, 8, 8).numpy()
    model = EDMDenoiser(UNet(1, channels=8, channel_mult=(1, 2), blocks_per_level=1, embed_features=8), 0.5)
    _, history = train_denoiser(model, images, epochs=1000, minutes=1e-6, batch_size=16, verbose=0)
    assert len(history.records) == 1 and history.records[0]["images"] == 16  # one step, then the budget is spent


def test_cli_train_sample_evaluate_on_mnist(tmp_path, monkeypatch, capsys, mnist_available):
    from daekit.cli import main
    from daekit.metrics.mnist_classifier import MNISTClassifier, save_classifier

    run = tmp_path / "run"
    assert (
        main(
            [
                "score",
                "train",
                "--data",
                "mnist",
                "--model",
                "unet",
                "--n-train",
                "256",
                "--epochs",
                "1",
                "--channels",
                "8",
                "--channel-mult",
                "1,2",
                "--blocks",
                "1",
                "--batch-size",
                "64",
                "--out",
                str(run),
                "--quiet",
            ]
        )
        == 0
    )
    for name in ("config.json", "metrics.jsonl", "checkpoints", "ema", "model", "result.json"):
        assert (run / name).exists(), name
    assert isinstance(load_model(run / "model"), EDMDenoiser)
    assert (
        main(["score", "train", "--data", "mnist", "--model", "unet", "--out", str(run), "--quiet"]) == 2
    )  # no overwrite
    samples = tmp_path / "s.npy"
    assert (
        main(["sample", str(run), "--method", "ode", "--steps", "2", "--n", "4", "--out", str(samples), "--quiet"]) == 0
    )
    x = np.load(samples)
    assert x.shape == (4, 1, 28, 28) and x.min() >= 0 and x.max() <= 1
    assert (
        main(
            [
                "sample",
                str(run),
                "--method",
                "chain",
                "--steps",
                "2",
                "--n",
                "3",
                "--out",
                str(tmp_path / "g.png"),
                "--quiet",
            ]
        )
        == 0
    )
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["sample", str(run), "--method", "langevin", "--n", "2", "--out", str(samples), "--quiet"]) == 2
    # evaluate-samples with a (tiny, untrained) classifier in a private cache
    monkeypatch.setenv("DAEKIT_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    save_classifier(tmp_path / "cache" / "classifiers" / "mnist-cnn", MNISTClassifier((4, 8), 16), test_accuracy=0.1)
    capsys.readouterr()
    assert main(["evaluate-samples", str(samples), "--n-test", "100", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n_samples"] == 4 and np.isfinite(result["parzen"]) and result["frechet"] >= 0
    assert 0 <= result["recognizable"] <= 1 and abs(sum(result["class_shares"]) - 1) < 1e-9


def test_sampling_under_bfloat16_stays_close_to_float32(tmp_path):
    from daekit.models.registry import save_model
    from daekit.runs.denoiser import sample_denoiser_run

    torch.manual_seed(0)
    model = EDMDenoiser(UNet(1, channels=8, channel_mult=(1, 2), blocks_per_level=1, embed_features=8), 0.5)
    with torch.no_grad():  # the zero-initialized output layer would make D = c_skip·x, blind to precision
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    save_model(tmp_path / "model", model)
    (tmp_path / "config.json").write_text(json.dumps({"image_shape": [1, 8, 8]}))
    full, _ = sample_denoiser_run(tmp_path, "ode", 6, seed=2, n_steps=4)
    low, _ = sample_denoiser_run(tmp_path, "ode", 6, seed=2, n_steps=4, precision="bfloat16")
    assert full.shape == low.shape == (6, 1, 8, 8) and full.dtype == low.dtype == torch.float32
    assert not torch.equal(full, low)  # the network did run in bfloat16
    torch.testing.assert_close(low, full, atol=0.05 * float(full.abs().max()), rtol=0)
    with pytest.raises(ValueError, match="precision"):
        sample_denoiser_run(tmp_path, "ode", 2, precision="float16")
