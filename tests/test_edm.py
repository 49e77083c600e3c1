"""EDM preconditioning, loss, weight average and the denoiser samplers (daekit.models.edm, daekit.sampling.edm)."""

import math

import pytest
import torch

from daekit.models.edm import (
    EDMDenoiser,
    EDMLoss,
    WeightAverage,
    denoiser_score,
    preconditioning,
    sample_training_sigmas,
)
from daekit.models.registry import load_model, save_model
from daekit.models.unet import UNet
from daekit.sampling.edm import (
    denoiser_annealed_langevin,
    denoiser_chain,
    draw_denoiser_samples,
    edm_sigma_steps,
    heun_sampler,
    stochastic_heun_sampler,
)


def _randomized_unet(seed=0, channels=1):
    torch.manual_seed(seed)
    net = UNet(channels, channels=8, channel_mult=(1, 2), blocks_per_level=1, embed_features=8)
    with torch.no_grad():  # a non-zero output layer, so F(x, c) is not identically zero
        net.conv_out.weight.normal_(0, 0.3)
        net.conv_out.bias.normal_(0, 0.3)
    return net


def test_preconditioning_coefficients():
    sigma = torch.exp(torch.randn(100, dtype=torch.float64))
    sd = 0.37
    c_skip, c_out, c_in, c_noise = preconditioning(sigma, sd)
    var = sigma**2 + sd**2
    torch.testing.assert_close(c_skip, sd**2 / var)
    torch.testing.assert_close(c_out, sigma * sd / var.sqrt())
    torch.testing.assert_close(c_in * var.sqrt(), torch.ones_like(sigma))
    torch.testing.assert_close(c_noise, sigma.log() / 4)
    # unit-variance training target: c_skip² σ_d² + c_out²/σ² … the EDM identity c_out² = σ² c_skip
    torch.testing.assert_close(c_out**2, sigma**2 * c_skip)


def test_denoiser_is_identity_as_sigma_goes_to_zero():
    D = EDMDenoiser(_randomized_unet(), sigma_data=0.5)
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        errors = [float((D(x, s) - x).abs().max()) for s in (1e-1, 1e-3, 1e-6)]
    assert errors[0] > 1e-2  # the network does act at a moderate σ
    assert errors[2] < 1e-5 and errors[0] > errors[1] > errors[2]


def test_optimal_gaussian_denoiser_score_is_gaussian_score():
    g = torch.Generator().manual_seed(1)
    mu, s2 = torch.randn(6, generator=g, dtype=torch.float64), 0.7
    x = torch.randn(50, 6, generator=g, dtype=torch.float64) * 2
    for sigma in (0.05, 0.5, 3.0):

        def optimal(v, sig):  # E[x | x̃] for x ~ N(μ, s²I), x̃ = x + σε
            return mu + s2 / (s2 + sig**2) * (v - mu)

        expected = -(x - mu) / (s2 + sigma**2)  # ∇ log N(x; μ, (s² + σ²) I)
        torch.testing.assert_close(denoiser_score(optimal, x, sigma), expected)


def _point_set_denoiser(points):
    """The optimal denoiser of the empirical distribution of ``points``: the softmax-weighted mean."""
    flat = points.reshape(len(points), -1)

    def D(x, sigma):
        v = x.reshape(len(x), -1).to(flat)
        logits = -(v[:, None, :] - flat[None]).square().sum(-1) / (2 * float(sigma) ** 2)
        return (torch.softmax(logits, dim=1) @ flat).reshape(x.shape).to(x.dtype)

    return D


POINTS = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]], [[[1.0, 1.0], [0.0, 0.0]]], [[[0.5, 0.0], [0.0, 1.0]]]])


def _nearest(samples):
    d = (samples.reshape(len(samples), 1, -1) - POINTS.reshape(1, len(POINTS), -1)).norm(dim=-1)
    return d.min(1)


def test_edm_sigma_steps():
    s = edm_sigma_steps(18)
    assert len(s) == 19 and s[-1] == 0 and math.isclose(float(s[0]), 80) and math.isclose(float(s[-2]), 0.002)
    assert bool((s[:-1] > s[1:]).all())


def test_ode_sampler_ends_on_the_points():
    D = _point_set_denoiser(POINTS)
    z = torch.randn(64, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    out = heun_sampler(D, z)
    dist, _ = _nearest(out)
    assert float(dist.max()) < 1e-3


def test_annealed_langevin_visits_every_point():
    D = _point_set_denoiser(POINTS)
    g = torch.Generator().manual_seed(0)
    x0 = 5.0 * torch.randn(300, 1, 2, 2, generator=g)
    out = denoiser_annealed_langevin(D, x0, generator=g)
    dist, which = _nearest(out)
    assert float(dist.max()) < 1e-2
    counts = torch.bincount(which, minlength=len(POINTS))
    assert bool((counts >= 50).all()), counts  # each of the three points gets a fair share of 300 draws


def test_chain_ends_on_the_points():
    D = _point_set_denoiser(POINTS)
    g = torch.Generator().manual_seed(0)
    out = denoiser_chain(D, torch.rand(30, 1, 2, 2, generator=g), sigma=0.2, n_steps=20, generator=g)
    assert float(_nearest(out)[0].max()) < 1e-2


@pytest.mark.parametrize("method", ["ode", "stochastic", "annealed", "chain"])
def test_samplers_are_reproducible_under_a_generator(method):
    D = EDMDenoiser(_randomized_unet(), 0.5)
    kw = (
        {"n_steps": 3}
        if method in ("ode", "stochastic")
        else {"steps_per_level": 2, "sigmas": [1.0, 0.1]}
        if method == "annealed"
        else {"n_steps": 3}
    )
    a = draw_denoiser_samples(D, method, 5, (1, 8, 8), torch.Generator().manual_seed(3), batch_size=3, **kw)
    b = draw_denoiser_samples(D, method, 5, (1, 8, 8), torch.Generator().manual_seed(3), batch_size=3, **kw)
    c = draw_denoiser_samples(D, method, 5, (1, 8, 8), torch.Generator().manual_seed(4), batch_size=3, **kw)
    assert a.shape == (5, 1, 8, 8)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)


def test_stochastic_sampler_differs_from_ode_on_the_same_latents():
    D = _point_set_denoiser(POINTS)
    z = torch.randn(32, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    ode = heun_sampler(D, z)
    sde = stochastic_heun_sampler(D, z, generator=torch.Generator().manual_seed(1))
    assert not torch.allclose(ode, sde)
    assert float(_nearest(sde)[0].max()) < 1e-2


def test_clamped_pixels_never_move():
    D = EDMDenoiser(_randomized_unet(), 0.5)
    g = torch.Generator().manual_seed(0)
    mask = torch.zeros(1, 8, 8, dtype=torch.bool)
    mask[:, :4] = True
    observed = torch.rand(3, 1, 8, 8, generator=g)
    z = torch.randn(3, 1, 8, 8, generator=g)
    outs = [
        heun_sampler(D, z, 4, mask=mask, observed=observed),
        stochastic_heun_sampler(D, z, 4, mask=mask, observed=observed, generator=g),
        denoiser_annealed_langevin(D, z, [1.0, 0.1], steps_per_level=3, generator=g, mask=mask, observed=observed),
        denoiser_chain(D, z, 0.3, 4, generator=g, mask=mask, observed=observed),
    ]
    for out in outs:
        full = mask.expand_as(out)
        assert torch.equal(out[full], observed[full])
        assert not torch.equal(out[~full], z[~full])


def test_heun_rejects_mask_without_observed():
    with pytest.raises(ValueError, match="observed"):
        heun_sampler(lambda x, s: x, torch.randn(2, 1, 2, 2), 2, mask=torch.ones(1, 2, 2, dtype=torch.bool))


def test_edm_loss_matches_the_formula():
    D = EDMDenoiser(_randomized_unet(), 0.4)
    x = torch.rand(6, 1, 8, 8)
    loss = EDMLoss()(D, (x,), torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    sigma = sample_training_sigmas(6, g)
    eps = torch.randn(x.shape, generator=g)
    s = sigma.reshape(-1, 1, 1, 1)
    weight = (s**2 + 0.16) / (s * 0.4) ** 2
    torch.testing.assert_close(loss, (weight * (D(x + s * eps, sigma) - x) ** 2).mean())


def test_training_sigmas_are_log_normal():
    s = sample_training_sigmas(200_000, torch.Generator().manual_seed(0))
    assert abs(float(s.log().mean()) + 1.2) < 0.01 and abs(float(s.log().std()) - 1.2) < 0.01


def test_weight_average_follows_the_ema_formula():
    model = torch.nn.Linear(3, 2)
    ema = WeightAverage(model, halflife_images=10.0, rampup=None)
    w0 = model.weight.detach().clone()
    ema.update(model, 5)  # the first update copies the weights
    torch.testing.assert_close(ema.averaged.module.weight, w0)
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model, 5)
    beta = 0.5 ** (5 / 10)
    torch.testing.assert_close(ema.averaged.module.weight, beta * w0 + (1 - beta) * (w0 + 1))
    model.train()
    model(torch.zeros(4, 3)).sum().backward()  # a training forward pass updates the average too
    assert ema.images == 14
    with torch.no_grad():
        model.eval()(torch.zeros(4, 3))  # an evaluation pass does not
    assert ema.images == 14
    ema.detach()


def test_denoiser_save_load_round_trip(tmp_path):
    D = EDMDenoiser(_randomized_unet(2), 0.3)
    save_model(tmp_path / "m", D)
    E = load_model(tmp_path / "m")
    assert isinstance(E, EDMDenoiser) and E.sigma_data == 0.3
    x = torch.rand(2, 1, 8, 8)
    torch.testing.assert_close(D(x, 0.7), E(x, 0.7))


def test_denoiser_rejects_bad_sigma():
    D = EDMDenoiser(_randomized_unet(), 0.5)
    with pytest.raises(ValueError, match="sigma"):
        D(torch.rand(2, 1, 8, 8), torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="sigma"):
        D(torch.rand(2, 1, 8, 8), torch.ones(3))
    with pytest.raises(TypeError, match="net"):
        EDMDenoiser(lambda x, c: x)


def test_the_mlp_score_network_becomes_a_denoiser_the_same_way(tmp_path):
    from daekit import TrainConfig, fit
    from daekit.models.score_networks import NoiseConditionalScoreNet

    torch.manual_seed(0)
    D = EDMDenoiser(NoiseConditionalScoreNet(6, (16,)), sigma_data=0.5, condition="score_network")
    x = torch.randn(64, 6) * 0.5
    history = fit(D, EDMLoss(), x, config=TrainConfig(epochs=2, batch_size=16, lr=1e-2, optimizer="adam", verbose=0))
    assert all(math.isfinite(v) for v in history.train_loss)
    save_model(tmp_path / "mlp", D)
    E = load_model(tmp_path / "mlp")
    assert E.config.condition == "score_network"
    with torch.no_grad():
        torch.testing.assert_close(E(x[:3], 0.2), D(x[:3], 0.2))
        assert (D(x[:3], 1e-7) - x[:3]).abs().max() < 1e-4  # the identity as σ → 0 holds for this F too
    with pytest.raises(ValueError, match="condition"):
        EDMDenoiser(NoiseConditionalScoreNet(6, (16,)), condition="log")
