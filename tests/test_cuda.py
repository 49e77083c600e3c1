"""Runs only where CUDA is available: the same code on the GPU, data moved once."""

import pytest
import torch

from daekit import DAE, DenoisingObjective, Identity, Masking, TrainConfig, fit

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_fit_on_cuda_trains_and_matches_the_cpu_closely():
    x = torch.rand(2000, 64, generator=torch.Generator().manual_seed(0))
    losses = {}
    for device in ("cpu", "cuda"):
        model = DAE(64, 32, generator=torch.Generator().manual_seed(1))
        # no corruption: masking draws come from NumPy on the CPU and from torch on CUDA
        history = fit(
            model,
            DenoisingObjective(Identity()),
            x,
            TrainConfig(epochs=2, batch_size=50, lr=0.05, device=device, verbose=0),
        )
        assert next(model.parameters()).device.type == device
        losses[device] = history.train_loss
    assert losses["cuda"][-1] < losses["cuda"][0]
    assert losses["cuda"] == pytest.approx(losses["cpu"], rel=1e-3)


def test_auto_device_picks_cuda():
    model = DAE(16, 8)
    fit(
        model,
        DenoisingObjective(Masking(0.25)),
        torch.rand(100, 16),
        TrainConfig(epochs=1, batch_size=10, device="auto", verbose=0),
    )
    assert model.W.device.type == "cuda"


def test_bfloat16_products_on_cuda_train_like_float32_on_the_cpu():
    x = torch.rand(2000, 64, generator=torch.Generator().manual_seed(0))
    losses = {}
    for device, precision in (("cpu", "float32"), ("cuda", "bfloat16")):
        model = DAE(64, 32, generator=torch.Generator().manual_seed(1))
        history = fit(
            model,
            DenoisingObjective(Identity()),
            x,
            TrainConfig(epochs=2, batch_size=128, lr=0.05, device=device, verbose=0, precision=precision),
        )
        assert model.W.dtype == torch.float32
        losses[device] = history.train_loss
    assert losses["cuda"] == pytest.approx(losses["cpu"], rel=2e-2)
