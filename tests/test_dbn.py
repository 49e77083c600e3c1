"""daekit's RBM (CD-k, momentum, weight decay, centring) and the DBN built from it (issue 5)."""

import numpy as np
import pytest
import torch

from daekit.dbn import RBM_KINDS, network_from_rbms, pretrain_rbms, train_dbn
from daekit.models.rbm import RBM, RBMConfig, cd_momentum_step, cd_statistics
from daekit.rbm_training import train_rbm, visible_bias_init
from daekit.stacked import StackedConfig


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _tiny_rbm():
    rbm = RBM(3, 2)
    with torch.no_grad():
        rbm.weight.copy_(torch.tensor([[0.5, -1.0, 0.25], [-0.3, 0.8, 1.2]]))
        rbm.hidden_bias.copy_(torch.tensor([0.1, -0.2]))
        rbm.visible_bias.copy_(torch.tensor([-0.5, 0.3, 0.0]))
    return rbm


def _hand_cd1(rbm, v0, seed, mu=(0.0, 0.0, 0.0), lam=(0.0, 0.0)):
    """CD-1 written out with loops in float64, drawing the hidden sample the way cd_statistics
    does (torch.bernoulli from a generator seeded alike)."""
    w = rbm.weight.double().numpy()
    b, c = rbm.hidden_bias.double().numpy(), rbm.visible_bias.double().numpy()
    n, n_hid, n_vis = len(v0), w.shape[0], w.shape[1]
    h0 = np.array(
        [[_sigmoid(b[j] + sum(w[j, i] * v0[e, i] for i in range(n_vis))) for j in range(n_hid)] for e in range(n)]
    )
    h_sample = (
        torch.bernoulli(torch.tensor(h0, dtype=torch.float32), generator=torch.Generator().manual_seed(seed))
        .double()
        .numpy()
    )
    v1 = np.array(
        [[_sigmoid(c[i] + sum(w[j, i] * h_sample[e, j] for j in range(n_hid))) for i in range(n_vis)] for e in range(n)]
    )
    h1 = np.array(
        [[_sigmoid(b[j] + sum(w[j, i] * v1[e, i] for i in range(n_vis))) for j in range(n_hid)] for e in range(n)]
    )
    dw = np.zeros_like(w)
    for e in range(n):
        for j in range(n_hid):
            for i in range(n_vis):
                dw[j, i] += ((h0[e, j] - lam[j]) * (v0[e, i] - mu[i]) - (h1[e, j] - lam[j]) * (v1[e, i] - mu[i])) / n
    return dw, (h0 - h1).mean(0), (v0 - v1).mean(0), v1


@pytest.mark.parametrize("centred", [False, True])
def test_cd1_statistics_match_a_hand_computation(centred):
    rbm = _tiny_rbm()
    v0 = np.array([[1.0, 0.0, 1.0], [0.2, 0.9, 0.5], [0.0, 1.0, 0.0], [0.7, 0.7, 0.1]])
    mu, lam = ((0.5, 0.6, 0.4), (0.3, 0.7)) if centred else ((0.0, 0.0, 0.0), (0.0, 0.0))
    offsets = {"visible_offset": torch.tensor(mu), "hidden_offset": torch.tensor(lam)} if centred else {}
    dw, db, dc, h0, v1 = cd_statistics(
        rbm, torch.tensor(v0, dtype=torch.float32), 1, torch.Generator().manual_seed(11), **offsets
    )
    want = _hand_cd1(rbm, v0, 11, mu, lam)
    for got, expected in zip((dw, db, dc, v1), want):
        np.testing.assert_allclose(got.double().numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        h0.numpy(), _sigmoid(v0 @ rbm.weight.double().numpy().T + rbm.hidden_bias.double().numpy()), rtol=1e-5
    )


def test_centred_weight_statistics_differ_by_the_offset_terms():
    # <(h−λ)(v−μ)ᵀ>_data − <…>_k = dW − λ dcᵀ − db μᵀ: the same model, other coordinates
    rng = np.random.default_rng(0)
    rbm = RBM(7, 5, init_std=0.5, generator=torch.Generator().manual_seed(0))
    v0 = torch.from_numpy(rng.random((16, 7)).astype(np.float32))
    mu, lam = v0.mean(0), torch.full((5,), 0.4)
    dw, db, dc, _, _ = cd_statistics(rbm, v0, 2, torch.Generator().manual_seed(3))
    dwc, dbc, dcc, _, _ = cd_statistics(
        rbm, v0, 2, torch.Generator().manual_seed(3), visible_offset=mu, hidden_offset=lam
    )
    torch.testing.assert_close(dbc, db)
    torch.testing.assert_close(dcc, dc)
    torch.testing.assert_close(dwc, dw - torch.outer(lam, dc) - torch.outer(db, mu), rtol=1e-5, atol=1e-6)


def _prototypes(n=400, seed=0):
    """Binary vectors near one of four 24-bit prototypes (5% of the bits flipped)."""
    rng = np.random.default_rng(seed)
    protos = rng.random((4, 24)) < 0.5
    x = protos[rng.integers(0, 4, n)] ^ (rng.random((n, 24)) < 0.05)
    return x.astype(np.float32)


def _reference_step(rbm, v0, velocity, lr, momentum, weight_decay, k, generator, mu, lam):
    """cd_statistics, then the momentum update written term by term (train_rbm before its step
    was fused)."""
    dw, db, dc, h0, vk = cd_statistics(rbm, v0, k, generator, visible_offset=mu, hidden_offset=lam)
    dw = dw - weight_decay * rbm.weight
    for vel, grad in zip(velocity, (dw, db, dc)):
        vel.mul_(momentum).add_(grad, alpha=lr)
    step_w, step_b, step_c = velocity
    with torch.no_grad():
        rbm.weight.add_(step_w)
        rbm.hidden_bias.add_(step_b - (0.0 if mu is None else step_w @ mu))
        rbm.visible_bias.add_(step_c - (0.0 if lam is None else lam @ step_w))
    return h0, vk


@pytest.mark.parametrize("centred, k, weight_decay", [(True, 1, 2e-4), (False, 1, 0.0), (True, 2, 1e-2)])
def test_the_fused_cd_step_equals_statistics_then_momentum_update_in_float64(centred, k, weight_decay):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 30, generator=gen, dtype=torch.float64)
    rbms = [RBM(30, 20, init_std=0.3, generator=torch.Generator().manual_seed(1)).double() for _ in range(2)]
    mu = x.mean(0) if centred else None
    lam = torch.rand(20, generator=gen, dtype=torch.float64) if centred else None
    velocities = [[torch.rand_like(p) * 0.01 for p in (r.weight, r.hidden_bias, r.visible_bias)] for r in rbms[:1]]
    velocities.append([v.clone() for v in velocities[0]])
    draws = [torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)]
    for step, momentum in enumerate((0.5, 0.5, 0.9, 0.9)):
        v0 = x[16 * step : 16 * (step + 1)] if step < 3 else x[:7]  # a short last batch too
        h_ref, vk_ref = _reference_step(rbms[0], v0, velocities[0], 0.05, momentum, weight_decay, k, draws[0], mu, lam)
        h0, vk = cd_momentum_step(
            rbms[1],
            v0,
            velocities[1],
            lr=0.05,
            momentum=momentum,
            weight_decay=weight_decay,
            k=k,
            generator=draws[1],
            visible_offset=mu,
            hidden_offset=lam,
        )
        torch.testing.assert_close(h0, h_ref, rtol=0, atol=1e-12)
        torch.testing.assert_close(vk, vk_ref, rtol=0, atol=1e-12)
    for name in ("weight", "hidden_bias", "visible_bias"):
        torch.testing.assert_close(getattr(rbms[1], name), getattr(rbms[0], name), rtol=0, atol=1e-12)
    for got, want in zip(velocities[1], velocities[0]):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    assert (
        float(
            (rbms[1].weight - RBM(30, 20, init_std=0.3, generator=torch.Generator().manual_seed(1)).double().weight)
            .abs()
            .max()
        )
        > 1e-3
    )  # the steps moved the weights


@pytest.mark.parametrize("centering", [True, False])
def test_training_lowers_reconstruction_error_and_free_energy_of_the_data(centering):
    x = _prototypes()
    noise = (np.random.default_rng(1).random((400, 24)) < 0.5).astype(np.float32)
    config = RBMConfig(epochs=20, learning_rate=0.05, batch_size=10, centering=centering, seed=0, device="cpu")
    rbm, history = train_rbm(x, 8, config)
    assert rbm.history is history and len(history.records) == 20
    errors = history.reconstruction_error
    assert errors[-1] < 0.5 * errors[0] and errors[-1] < 0.05
    assert rbm.reconstruction_error(torch.from_numpy(x)) < 0.05
    assert [r["momentum"] for r in history.records] == [0.5] * 5 + [0.9] * 15
    # the data's free energy falls relative to random vectors' (p(v) ∝ exp(−F(v)))
    start = RBM(24, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        start.visible_bias.copy_(visible_bias_init(torch.from_numpy(x)))

    def gap(model):
        with torch.no_grad():
            return float(
                model.free_energy(torch.from_numpy(noise)).mean() - model.free_energy(torch.from_numpy(x)).mean()
            )

    assert gap(rbm) > gap(start) + 5.0
    assert history.free_energy[-1] < history.free_energy[0]


def test_initialization_follows_the_practical_guide():
    x = np.zeros((50, 4), dtype=np.float32)
    x[:10, 0] = 1.0  # data means 0.2, 0, 1, 0.5
    x[:, 2] = 1.0
    x[::2, 3] = 1.0
    rbm, _ = train_rbm(x, 3, RBMConfig(epochs=0, seed=0, device="cpu"))
    np.testing.assert_allclose(
        rbm.visible_bias.numpy(), np.log([0.2 / 0.8, 1e-3 / (1 - 1e-3), (1 - 1e-3) / 1e-3, 1.0]), rtol=1e-4
    )
    assert torch.all(rbm.hidden_bias == 0)
    big = RBM(400, 250, generator=torch.Generator().manual_seed(0))
    assert abs(float(big.weight.std()) - 0.01) < 5e-4 and abs(float(big.weight.mean())) < 5e-4


def test_same_seed_same_rbm():
    x = _prototypes(120)
    config = RBMConfig(epochs=3, seed=4, device="cpu")
    a, ha = train_rbm(x, 6, config)
    b, hb = train_rbm(x, 6, config)
    c, _ = train_rbm(x, 6, RBMConfig(epochs=3, seed=5, device="cpu"))
    for name in ("weight", "hidden_bias", "visible_bias"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=0, atol=0)
    assert ha.reconstruction_error == hb.reconstruction_error
    assert not torch.equal(a.weight, c.weight)
    r1, _ = pretrain_rbms(x, (6, 4), epochs=2, seed=3)
    r2, _ = pretrain_rbms(x, (6, 4), epochs=2, seed=3)
    assert all(torch.equal(p.weight, q.weight) for p, q in zip(r1, r2))


@pytest.mark.parametrize(
    "changes,parameter",
    [
        ({"epochs": -1}, "epochs"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"k": 0}, "k"),
        ({"momentum": 1.0}, "momentum"),
        ({"final_momentum": -0.1}, "final_momentum"),
        ({"momentum_epochs": -2}, "momentum_epochs"),
        ({"weight_decay": -1e-4}, "weight_decay"),
        ({"init_std": -0.01}, "init_std"),
        ({"seed": -1}, "seed"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_rbm_settings_raise_naming_the_parameter(changes, parameter):
    with pytest.raises(ValueError, match=rf"^{parameter} "):
        RBMConfig(**changes)


def test_bad_arguments_raise_naming_the_parameter():
    x = _prototypes(20)
    with pytest.raises(TypeError, match="^centering "):
        RBMConfig(centering="yes")
    with pytest.raises(TypeError, match="^k "):
        RBMConfig(k=1.5)
    with pytest.raises(ValueError, match="^n_visible "):
        RBM(0, 3)
    with pytest.raises(ValueError, match="^n_hidden "):
        train_rbm(x, 0)
    with pytest.raises(ValueError, match=r"^x must lie in \[0, 1\]"):
        train_rbm(x - 0.5, 3)
    with pytest.raises(ValueError, match="^x must hold"):
        train_rbm(np.zeros((0, 4)), 3)
    with pytest.raises(TypeError, match="config"):
        train_rbm(x, 3, {"epochs": 2})
    with pytest.raises(ValueError, match="^rbm "):
        pretrain_rbms(x, (3,), rbm="torch")
    with pytest.raises(ValueError, match="rbm_options"):
        pretrain_rbms(x, (3,), rbm="sklearn", rbm_options={"centering": False})
    with pytest.raises(ValueError, match="rbm_options"):
        pretrain_rbms(x, (3,), rbm_options={"centring": False})
    with pytest.raises(ValueError, match="rbm_options"):
        pretrain_rbms(x, (3,), rbm_options={"epochs": 4})
    with pytest.raises(ValueError, match="^rbm "):
        train_dbn(x, np.zeros(20, dtype=np.int64), rbm="theano")
    with pytest.raises(TypeError, match="daekit RBM or a fitted scikit-learn"):
        network_from_rbms([object()], 2)
    assert RBM_KINDS[0] == "daekit"


def dense_bars(n, side=14, n_classes=4, seed=0):
    """Four classes of one bright bar (rows or columns) over a background uniform in [0, 1]:
    dense inputs (mean ≈ 0.6), like mnist-back-rand."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    x = rng.random((n, side, side)).astype(np.float32)
    for c in range(n_classes):
        start = 2 + 3 * c
        if c % 2 == 0:
            x[y == c, start : start + 3, :] = 1.0
        else:
            x[y == c, :, start : start + 3] = 1.0
    return x.reshape(n, -1), y


def test_dbn_learns_on_dense_backgrounds():
    # issue 5: with scikit-learn's BernoulliRBM the first RBM's units ended constant over such
    # inputs and the fine-tuned DBN-3 stayed at chance (72% error here); the default RBM must not
    x, y = dense_bars(900)
    config = StackedConfig(
        hidden_layer_sizes=(32, 32, 32),
        pretrain_epochs=3,
        finetune_epochs=20,
        finetune_learning_rate=0.3,
        patience=5,
        seed=0,
        device="cpu",
    )
    result = train_dbn(x[:600], y[:600], x[600:], y[600:], config, rbm_learning_rate=0.05)
    assert all(isinstance(r, RBM) for r in result.rbms)
    p = result.rbms[0].transform(x[:600])
    assert p.std(0).min() > 0.05  # no hidden unit constant over the data
    assert 0.05 < p.mean() < 0.95
    for rbm in result.rbms:
        errors = rbm.history.reconstruction_error
        assert len(errors) == 3 and errors[-1] < errors[0]
    with torch.no_grad():
        error = float((result.network(torch.from_numpy(x[600:])).argmax(1).numpy() != y[600:]).mean())
    assert error < 0.2  # chance: 0.75
