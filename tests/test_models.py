import os
import stat

import pytest
import torch

from daekit.models.dae import DAE, DAEConfig
from daekit.models.registry import load_model, save_model


def test_tied_weights_are_one_parameter_and_gradients_reach_it():
    m = DAE(6, 4)
    names = [n for n, _ in m.named_parameters()]
    assert names == ["W", "b", "c"]
    assert m.decoder_weight.data_ptr() == m.W.data_ptr()
    x = torch.rand(3, 6)
    m.loss(x, x).backward()
    # d loss/dW gets both the encoder and the decoder contribution: compare with an untied copy
    u = DAE(6, 4, tied_weights=False)
    with torch.no_grad():
        u.W.copy_(m.W), u.W_prime.copy_(m.W.t()), u.b.copy_(m.b), u.c.copy_(m.c)
    u.loss(x, x).backward()
    torch.testing.assert_close(m.W.grad, u.W.grad + u.W_prime.grad.t())


def test_untied_has_its_own_decoder():
    m = DAE(6, 4, tied_weights=False)
    assert m.W_prime.shape == (6, 4)
    assert m.W_prime.data_ptr() != m.W.data_ptr()


def test_cross_entropy_matches_hand_computation():
    m = DAE(3, 2).double()
    with torch.no_grad():
        m.W.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.3, 0.0, -1.0]]))
        m.b.copy_(torch.tensor([0.1, -0.2]))
        m.c.copy_(torch.tensor([0.0, 0.5, -0.5]))
    x = torch.tensor([[1.0, 0.0, 0.5]], dtype=torch.float64)
    xt = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    h = torch.sigmoid(m.W @ xt[0] + m.b)
    z = torch.sigmoid(m.W.t() @ h + m.c)
    expected = -(x[0] * torch.log(z) + (1 - x[0]) * torch.log(1 - z)).sum()
    torch.testing.assert_close(m.loss(x, xt), expected)


def test_gaussian_reconstruction_is_squared_error():
    m = DAE(5, 3, reconstruction="gaussian").double()
    x, xt = torch.rand(4, 5, dtype=torch.float64), torch.rand(4, 5, dtype=torch.float64)
    r = m.W.t() @ torch.sigmoid(m.W @ xt.t() + m.b[:, None]) + m.c[:, None]
    torch.testing.assert_close(m.loss(x, xt), ((x - r.t()) ** 2).sum(1).mean())
    torch.testing.assert_close(m.reconstruct(xt), r.t())


def test_init_range_follows_the_papers():
    m = DAE(784, 500, generator=torch.Generator().manual_seed(0))
    bound = 4 * (6 / (784 + 500)) ** 0.5
    assert m.W.abs().max() <= bound and m.W.abs().max() > 0.95 * bound
    t = DAE(784, 500, activation="tanh")
    assert t.W.abs().max() <= bound / 4


def test_images_are_flattened():
    m = DAE(16, 3)
    x = torch.rand(2, 1, 4, 4)
    assert m.reconstruct(x).shape == x.shape
    assert m.encode(x).shape == (2, 3)


@pytest.mark.parametrize(
    "kw,name",
    [
        ({"n_hidden": 0}, "n_hidden"),
        ({"activation": "swish"}, "activation"),
        ({"reconstruction": "poisson"}, "reconstruction"),
    ],
)
def test_bad_config(kw, name):
    args = {"n_visible": 4, "n_hidden": 2, **kw}
    with pytest.raises(ValueError, match=name):
        DAEConfig(**args)


def test_save_and_load_roundtrip(tmp_path):
    m = DAE(10, 4, tied_weights=False, reconstruction="gaussian")
    save_model(tmp_path / "m", m)
    m2 = load_model(tmp_path / "m")
    assert m2.config == m.config
    x = torch.rand(3, 10)
    torch.testing.assert_close(m(x), m2(x))
    assert not any(p.name.startswith(".tmp") for p in tmp_path.iterdir())
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_model(tmp_path)


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600)])
def test_saved_model_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        save_model(tmp_path / "m", DAE(6, 3))
    finally:
        os.umask(old)
    files = sorted((tmp_path / "m").iterdir())
    assert [f.name for f in files] == ["SHA256SUMS", "config.json", "model.safetensors"]
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: mode for f in files}


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("reconstruction", ["bernoulli", "gaussian"])
def test_fused_sgd_step_equals_autograd_and_sgd(tied, reconstruction):
    import copy

    m = DAE(
        30, 12, tied_weights=tied, reconstruction=reconstruction, generator=torch.Generator().manual_seed(0)
    ).double()
    ref = copy.deepcopy(m)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(7, 30, generator=g, dtype=torch.float64)
    xt = x * (torch.rand(7, 30, generator=g, dtype=torch.float64) > 0.3)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    ref_loss = ref.loss(x, xt)
    ref_loss.backward()
    opt.step()
    loss = m.fused_sgd_step(x, xt, 0.1)
    torch.testing.assert_close(loss, ref_loss.detach(), rtol=1e-12, atol=1e-12)
    for (name, p), q in zip(m.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12, msg=name)
