"""Tests of daekit.score, daekit.models.score_networks, daekit.datasets.toy, daekit.viz.score and the
``daekit score`` command: the identities of Vincent (2011) and Hyvärinen (2005) in float64 on
random parameters and data, exact scores of the toy densities, and the plumbing.

Statistical checks use fixed seeds and a tolerance of a few standard errors computed from the
same draws, so they are deterministic and not flaky.
"""

from __future__ import annotations

import argparse
import json
import math
import os

import pytest
import torch

from daekit.datasets.toy import TOY_DENSITIES, GaussianMixture, make_toy
from daekit.models.dae import DAE
from daekit.models.registry import load_model, save_model
from daekit.models.score_networks import NoiseConditionalScoreNet, ScoreNet
from daekit.score import (
    ScoreObjective,
    annealed_dsm_loss,
    dae_loss,
    dae_score_fn,
    divergence,
    dsm_loss,
    energy,
    esm_loss,
    esm_parzen_loss,
    fisher_divergence,
    geometric_sigmas,
    ism_loss,
    parzen_score,
    reconstruction_score,
    relative_fisher_divergence,
    score,
)

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_dae(
    n_visible: int,
    n_hidden: int,
    seed: int,
    tied: bool = True,
    activation: str = "sigmoid",
    reconstruction: str = "gaussian",
) -> DAE:
    """A float64 DAE with random N(0, 1) W, b, c (not the small initial values)."""
    g = gen(seed)
    model = DAE(
        n_visible, n_hidden, tied_weights=tied, activation=activation, reconstruction=reconstruction, generator=g
    ).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=F64))
    return model


def random_net(d: int, seed: int, hidden=(16, 16)) -> ScoreNet:
    return ScoreNet(d, hidden, "softplus", generator=gen(seed)).double()


# --------------------------------------------------------------------------- energy model
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_energy_gradient_is_closed_form_score(seed):
    model = random_dae(5, 7, seed)
    sigma = 0.3 + 0.2 * seed
    x = torch.randn(20, 5, generator=gen(100 + seed), dtype=F64).requires_grad_(True)
    (grad,) = torch.autograd.grad(-energy(model, x, sigma).sum(), x)
    closed = score(model, x.detach(), sigma)
    torch.testing.assert_close(closed, grad, rtol=1e-6, atol=0.0)
    assert energy(model, x, sigma).shape == (20,)


def test_energy_value_matches_formula():
    model = random_dae(3, 4, 7)
    x = torch.randn(6, 3, generator=gen(1), dtype=F64)
    sigma = 0.7
    expected = -(x @ model.c - 0.5 * (x * x).sum(1) + torch.log1p(torch.exp(x @ model.W.T + model.b)).sum(1)) / sigma**2
    torch.testing.assert_close(energy(model, x, sigma), expected, rtol=1e-12, atol=1e-12)


def test_energy_score_equals_reconstruction_score_for_linear_decoder():
    model = random_dae(4, 6, 3)
    x = torch.randn(10, 4, generator=gen(2), dtype=F64)
    torch.testing.assert_close(score(model, x, 0.5), reconstruction_score(model, x, 0.5), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(dae_score_fn(model, 0.5)(x), dae_score_fn(model, 0.5, "reconstruction")(x))


def test_energy_and_score_reject_untied_or_non_sigmoid():
    x = torch.randn(3, 4, dtype=F64)
    untied = random_dae(4, 5, 0, tied=False)
    for fn in (energy, score):
        with pytest.raises(ValueError, match="tied"):
            fn(untied, x, 0.5)
    with pytest.raises(ValueError, match="sigmoid"):
        score(random_dae(4, 5, 0, activation="tanh"), x, 0.5)
    with pytest.raises(ValueError, match="tied"):
        dae_score_fn(untied, 0.5)
    with pytest.raises(TypeError):
        score(ScoreNet(4), x, 0.5)
    with pytest.raises(ValueError, match="sigma"):
        score(random_dae(4, 5, 0), x, 0.0)
    # the reconstruction score works for any DAE
    assert reconstruction_score(untied, x, 0.5).shape == x.shape


# --------------------------------------------------------------------------- Proposition 2
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_dsm_equals_dae_over_two_sigma_to_the_fourth(seed):
    """J_DSM(θ) = J_DAE(θ)/(2σ⁴) for the tied sigmoid DAE with a linear decoder (Vincent 2011,
    Proposition 2), same x and the same noise draws on both sides, several θ."""
    model = random_dae(4, 9, seed)
    sigma = [0.1, 0.3, 1.0, 2.5][seed]
    x = torch.randn(200, 4, generator=gen(10 + seed), dtype=F64)
    eps = torch.randn(200, 4, generator=gen(20 + seed), dtype=F64)
    j_dsm = dsm_loss(dae_score_fn(model, sigma), x, sigma, noise=eps)
    j_dae = dae_loss(model, x, sigma, noise=eps)
    torch.testing.assert_close(j_dsm, j_dae / (2 * sigma**4), rtol=1e-10, atol=0.0)
    # and J_DAE is the DAE's own squared-error loss at x̃ = x + σε
    torch.testing.assert_close(j_dae, model.loss(x, x + sigma * eps), rtol=1e-12, atol=0.0)


def test_dsm_generator_draws_are_reproducible():
    net = random_net(2, 0)
    x = torch.randn(64, 2, generator=gen(0), dtype=F64)
    a = dsm_loss(net, x, 0.2, generator=gen(5))
    b = dsm_loss(net, x, 0.2, generator=gen(5))
    eps = torch.randn(x.shape, generator=gen(5), dtype=F64)
    assert a == b
    torch.testing.assert_close(a, dsm_loss(net, x, 0.2, noise=eps))


# --------------------------------------------------------------------------- Proposition 1
def test_esm_parzen_minus_dsm_is_the_same_constant_for_every_theta():
    """J_ESM,σ(θ) − J_DSM(θ) does not depend on θ (Vincent 2011, Proposition 1).

    Both sides use the same draws x̃ = xᵢ + σε. Per draw, the difference of differences between
    θ₁ and θ₂ is ⟨s₁(x̃) − s₂(x̃), (x − x̃)/σ² − ∇log q_σ(x̃)⟩, whose expectation is zero; we
    require its sample mean to be within 4 standard errors of zero, while J_DSM itself moves by
    tens of standard errors between the θ's.
    """
    data = torch.randn(15, 2, generator=gen(0), dtype=F64) * 1.5
    sigma = 0.4
    x = data.repeat(2000, 1)  # 30 000 draws of q_σ, each data point equally often
    eps = torch.randn(x.shape, generator=gen(1), dtype=F64)
    x_tilde = x + sigma * eps
    t_dsm = -eps / sigma
    t_parzen = parzen_score(x_tilde, data, sigma)
    nets = [ScoreNet(2, (32,), output_scale=k, generator=gen(s)).double() for s, k in ((1, 3.0), (2, 10.0), (3, 1.0))]
    deltas, j_dsm, outs = [], [], []
    for net in nets:
        jp = esm_parzen_loss(net, data, sigma, x=x, noise=eps)
        jd = dsm_loss(net, x, sigma, noise=eps)
        deltas.append(float((jp - jd).detach()))
        j_dsm.append(float(jd.detach()))
        with torch.no_grad():
            outs.append(net(x_tilde))
    for i in (1, 2):
        per_draw = ((outs[0] - outs[i]) * (t_dsm - t_parzen)).sum(1)
        se = float(per_draw.std() / math.sqrt(len(per_draw)))
        assert abs(deltas[0] - deltas[i]) <= 4 * se
        assert abs(j_dsm[0] - j_dsm[i]) > 20 * se  # the test has teeth: J_DSM itself moves
    # the constant itself: ½E‖∇log q_σ‖² − ½E‖(x − x̃)/σ²‖², within sampling error
    const = 0.5 * float(((t_parzen**2).sum(1) - (t_dsm**2).sum(1)).mean())
    assert abs(deltas[0] - const) <= 4 * float(((outs[0] * (t_dsm - t_parzen)).sum(1)).std() / math.sqrt(len(x)))


def test_esm_parzen_equals_posterior_averaged_dsm_exactly():
    """The exact form of Proposition 1 for fixed x̃: averaging the DSM term over the posterior
    p(xᵢ | x̃) ∝ N(x̃; xᵢ, σ²I) leaves J_ESM,σ minus a θ-free constant (a variance identity)."""
    data = torch.randn(12, 3, generator=gen(4), dtype=F64)
    sigma = 0.6
    x_tilde = data[torch.arange(40) % 12] + sigma * torch.randn(40, 3, generator=gen(5), dtype=F64)
    logits = -((x_tilde[:, None, :] - data[None]) ** 2).sum(-1) / (2 * sigma**2)
    w = torch.softmax(logits, dim=1)  # (40, 12)
    targets = (data[None] - x_tilde[:, None, :]) / sigma**2  # (40, 12, 3)
    t_parzen = parzen_score(x_tilde, data, sigma)
    consts = []
    for seed in (0, 1, 2):
        net = random_net(3, seed)
        with torch.no_grad():
            s = net(x_tilde)
        j_esm = 0.5 * ((s - t_parzen) ** 2).sum(1).mean()
        j_post = (w * 0.5 * ((s[:, None, :] - targets) ** 2).sum(-1)).sum(1).mean()
        consts.append(float(j_esm - j_post))
    assert max(consts) - min(consts) < 1e-9 * max(1.0, abs(consts[0]))


# --------------------------------------------------------------------------- Parzen score
def test_parzen_score_equals_autograd_of_logsumexp():
    data = torch.randn(7, 3, generator=gen(0), dtype=F64)
    sigma = 0.35
    y = torch.randn(5, 3, generator=gen(1), dtype=F64).requires_grad_(True)
    n, d = data.shape
    log_q = (
        torch.logsumexp(-((y[:, None, :] - data[None]) ** 2).sum(-1) / (2 * sigma**2), dim=1)
        - math.log(n)
        - 0.5 * d * math.log(2 * math.pi * sigma**2)
    )
    (grad,) = torch.autograd.grad(log_q.sum(), y)
    torch.testing.assert_close(parzen_score(y.detach(), data, sigma), grad, rtol=1e-10, atol=1e-10)


def test_parzen_score_is_chunk_invariant_and_stable_for_tiny_sigma():
    data = torch.randn(50, 2, generator=gen(0), dtype=F64)
    y = torch.randn(9, 2, generator=gen(1), dtype=F64)
    torch.testing.assert_close(
        parzen_score(y, data, 0.3, chunk_size=7), parzen_score(y, data, 0.3), rtol=1e-12, atol=1e-12
    )
    # σ so small that exp(−‖·‖²/2σ²) underflows: the softmax is one-hot on the nearest point
    tiny = 1e-3
    s = parzen_score(y, data, tiny, chunk_size=8)
    nearest = data[torch.cdist(y, data).argmin(1)]
    assert torch.isfinite(s).all()
    torch.testing.assert_close(s, (nearest - y) / tiny**2, rtol=1e-9, atol=1e-6)
    # float32 gives the same answer as float64 at a moderate σ
    torch.testing.assert_close(
        parzen_score(y.float(), data.float(), 0.3), parzen_score(y, data, 0.3).float(), rtol=1e-4, atol=1e-4
    )


# --------------------------------------------------------------------------- ISM, Hutchinson
def test_ism_of_a_linear_score_is_the_closed_form():
    A = torch.tensor([[-1.0, 0.4, 0.0], [0.2, -0.5, 0.1], [0.0, 0.3, -2.0]], dtype=F64)
    b = torch.tensor([0.1, -0.2, 0.3], dtype=F64)
    x = torch.randn(30, 3, generator=gen(0), dtype=F64)
    lin = lambda z: z @ A.T + b  # noqa: E731
    expected = (0.5 * ((x @ A.T + b) ** 2).sum(1) + torch.trace(A)).mean()
    torch.testing.assert_close(ism_loss(lin, x), expected, rtol=1e-12, atol=1e-12)
    # with a diagonal Jacobian every Rademacher probe gives the exact trace (v_i² = 1)
    D = torch.diag(torch.tensor([-1.0, 0.5, -3.0], dtype=F64))
    diag = lambda z: z @ D + b  # noqa: E731
    expected = (0.5 * ((x @ D + b) ** 2).sum(1) + torch.trace(D)).mean()
    torch.testing.assert_close(ism_loss(diag, x, "hutchinson", 3, gen(0)), expected, rtol=1e-12, atol=1e-12)


def test_hutchinson_trace_is_unbiased():
    """The mean over many Rademacher probes matches the exact trace, within 5 standard errors
    (each row of the batch gets its own probe, so one backward pass gives P·N estimates)."""
    net = random_net(5, 3, hidden=(24, 24))
    x = torch.randn(4, 5, generator=gen(1), dtype=F64) * 2
    _, exact = divergence(net, x, "exact")
    jac = torch.stack([torch.autograd.functional.jacobian(net, xi[None])[0, :, 0] for xi in x])
    torch.testing.assert_close(exact.detach(), torch.diagonal(jac, dim1=1, dim2=2).sum(1), rtol=1e-10, atol=1e-10)
    P = 4000
    _, est = divergence(net, x.repeat(P, 1), "hutchinson", generator=gen(2), create_graph=False)
    est = est.reshape(P, len(x))
    se = est.std(0) / math.sqrt(P)
    assert (se > 0).all()
    assert ((est.mean(0) - exact.detach()).abs() <= 5 * se).all()
    # and n_probes averages: with many probes per call the estimate is close to exact
    _, avg = divergence(net, x, "hutchinson", n_probes=400, generator=gen(3))
    assert ((avg - exact).abs() <= 5 * est.std(0) / math.sqrt(400)).all()


def test_ism_hutchinson_matches_exact_on_average_and_is_trainable():
    net = random_net(3, 0)
    x = torch.randn(8, 3, generator=gen(0), dtype=F64)
    exact = ism_loss(net, x)
    hutch = ism_loss(net, x.repeat(2000, 1), "hutchinson", generator=gen(1))
    assert abs(float((hutch - exact).detach())) < 0.05 * abs(float(exact.detach())) + 0.05
    exact.backward()  # create_graph=True: the divergence term reaches the parameters
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert net.net[0].weight.grad.abs().sum() > 0
    # under no_grad it still evaluates (the divergence needs autograd internally)
    with torch.no_grad():
        torch.testing.assert_close(ism_loss(net, x), exact.detach())


def test_esm_minus_ism_is_the_same_constant_for_every_theta():
    """J_ESM(θ) − J_ISM(θ) = ½E‖∇log q‖² for every θ (Hyvärinen 2005), on samples of a
    correlated Gaussian with its exact score; within 4 standard errors of the same samples."""
    q = GaussianMixture([[0.5, -1.0]], covs=[[[1.0, 0.6], [0.6, 0.8]]])
    x = q.sample(40000, gen(0), dtype=F64)
    t = q.score(x)
    rows = []
    for seed in (0, 1, 2):
        net = random_net(2, seed)
        j_esm = float(esm_loss(net, x, q.score).detach())
        j_ism = float(ism_loss(net, x).detach())
        s, div = divergence(net, x, create_graph=False)
        rows.append((j_esm - j_ism, s, div))
    const = 0.5 * float((t**2).sum(1).mean())
    for delta, s, div in rows:
        per = -(s * t).sum(1) - div  # J_ESM − J_ISM − ½‖t‖², per sample; mean zero in expectation
        assert abs(delta - const) <= 4 * float(per.std()) / math.sqrt(len(x))
    for i in (1, 2):
        per = -((rows[0][1] - rows[i][1]) * t).sum(1) - (rows[0][2] - rows[i][2])
        assert abs(rows[0][0] - rows[i][0]) <= 4 * float(per.std()) / math.sqrt(len(x))


# --------------------------------------------------------------------------- DSM vs ESM minimizer
def test_dsm_and_esm_share_the_minimizer_on_a_gaussian():
    """A linear score s(x) = Ax + β fitted by DSM on samples of N(μ, Σ) (a few L-BFGS steps on
    dsm_loss) is the score of N(μ, Σ + σ²I): A = −(Σ + σ²I)⁻¹, β = (Σ + σ²I)⁻¹μ; ESM on the same
    x̃ with the exact smoothed score gives the same answer."""
    mu = torch.tensor([1.0, -0.5], dtype=F64)
    cov = torch.tensor([[1.0, 0.3], [0.3, 0.5]], dtype=F64)
    sigma = 0.5
    q = GaussianMixture(mu[None], covs=cov[None])
    x = q.sample(100_000, gen(0), dtype=F64)
    eps = torch.randn(x.shape, generator=gen(1), dtype=F64)
    prec = torch.linalg.inv(cov + sigma**2 * torch.eye(2, dtype=F64))
    A_true, beta_true = -prec, prec @ mu

    def fit_linear(loss_of):
        A = torch.zeros(2, 2, dtype=F64, requires_grad=True)
        beta = torch.zeros(2, dtype=F64, requires_grad=True)
        opt = torch.optim.LBFGS(
            [A, beta], lr=1.0, max_iter=100, tolerance_grad=1e-12, tolerance_change=1e-14, line_search_fn="strong_wolfe"
        )

        def closure():
            opt.zero_grad()
            loss = loss_of(lambda z: z @ A.T + beta)
            loss.backward()
            return loss

        opt.step(closure)
        return A.detach(), beta.detach()

    A_dsm, b_dsm = fit_linear(lambda s: dsm_loss(s, x, sigma, noise=eps))
    x_tilde = x + sigma * eps
    A_esm, b_esm = fit_linear(lambda s: esm_loss(s, x_tilde, q.smoothed(sigma).score))
    # ESM with the exact target recovers the smoothed score to optimizer precision
    torch.testing.assert_close(A_esm, A_true, rtol=0, atol=1e-6)
    torch.testing.assert_close(b_esm, beta_true, rtol=0, atol=1e-6)
    # DSM: least squares on noisy targets; standard error ≈ 0.006 here
    torch.testing.assert_close(A_dsm, A_true, rtol=0, atol=0.03)
    torch.testing.assert_close(b_dsm, beta_true, rtol=0, atol=0.03)
    # the empirical DSM minimizer is the least-squares solution of the normal equations
    design = torch.cat([x_tilde, torch.ones(len(x), 1, dtype=F64)], 1)
    sol = torch.linalg.lstsq(design, -eps / sigma).solution
    torch.testing.assert_close(A_dsm, sol[:2].T, rtol=0, atol=1e-6)
    torch.testing.assert_close(b_dsm, sol[2], rtol=0, atol=1e-6)


# --------------------------------------------------------------------------- annealed DSM, NCSN
def test_annealed_dsm_is_sigma_squared_weighted_dsm():
    net = NoiseConditionalScoreNet(2, (16,), generator=gen(0)).double()
    x = torch.randn(40, 2, generator=gen(1), dtype=F64)
    sigmas = geometric_sigmas(1.0, 0.1, 4)
    idx = torch.randint(0, 4, (40,), generator=gen(2))
    eps = torch.randn(40, 2, generator=gen(3), dtype=F64)
    loss = annealed_dsm_loss(net, x, sigmas, noise=eps, sigma_indices=idx)
    sig = sigmas[idx]
    x_tilde = x + sig[:, None] * eps
    per = sig**2 * 0.5 * ((net(x_tilde, sig) - (x - x_tilde) / sig[:, None] ** 2) ** 2).sum(1)
    torch.testing.assert_close(loss, per.mean(), rtol=1e-10, atol=0)
    # a single level reduces to σ²·J_DSM
    one = annealed_dsm_loss(net, x, [0.3], noise=eps)
    torch.testing.assert_close(one, 0.09 * dsm_loss(net.at(0.3), x, 0.3, noise=eps), rtol=1e-10, atol=0)
    # drawn with a generator: reproducible
    assert annealed_dsm_loss(net, x, sigmas, gen(7)) == annealed_dsm_loss(net, x, sigmas, gen(7))


def test_noise_conditional_net_divides_by_sigma():
    net = NoiseConditionalScoreNet(3, (8,), n_frequencies=2, generator=gen(0)).double()
    x = torch.randn(5, 3, generator=gen(1), dtype=F64)
    s = torch.full((5,), 0.25, dtype=F64)
    raw = net.net(torch.cat([x, net.embed(s)], 1))
    torch.testing.assert_close(net(x, 0.25), raw / 0.25)
    torch.testing.assert_close(net(x, s), net.at(0.25)(x))
    with pytest.raises(ValueError):
        net(x, torch.ones(4, dtype=F64))
    with pytest.raises(ValueError):
        net(x, -1.0)
    sig = geometric_sigmas(1.0, 0.01, 3)
    torch.testing.assert_close(sig, torch.tensor([1.0, 0.1, 0.01], dtype=F64))


# --------------------------------------------------------------------------- networks
def test_score_networks_shapes_seeds_and_checkpoints(tmp_path):
    a = ScoreNet(2, (16, 16), "silu", output_scale=10.0, fourier_features=8, generator=gen(0))
    b = ScoreNet(2, (16, 16), "silu", output_scale=10.0, fourier_features=8, generator=gen(0))
    x = torch.randn(6, 2, generator=gen(1))
    torch.testing.assert_close(a(x), b(x))
    assert a(x).shape == (6, 2)
    img = ScoreNet(12, (8,))
    assert img(torch.randn(3, 3, 4)).shape == (3, 3, 4)
    save_model(tmp_path / "net", a)
    torch.testing.assert_close(load_model(tmp_path / "net")(x), a(x))
    n = NoiseConditionalScoreNet(2, (8, 8), "tanh", n_frequencies=3, fourier_features=4, generator=gen(0))
    save_model(tmp_path / "ncsn", n)
    torch.testing.assert_close(load_model(tmp_path / "ncsn")(x, 0.3), n(x, 0.3))
    with pytest.raises(ValueError):
        ScoreNet(2, activation="nope")
    with pytest.raises(ValueError):
        ScoreNet(2, hidden=(0,))


# --------------------------------------------------------------------------- metrics
def test_fisher_divergences():
    q = make_toy("8gaussians").smoothed(0.3)
    x = q.sample(500, gen(0))
    assert fisher_divergence(q.score, q.score, x) == 0.0
    assert relative_fisher_divergence(lambda z: torch.zeros_like(z), q.score, x) == pytest.approx(1.0)
    half = lambda z: 0.5 * q.score(z)  # noqa: E731
    assert relative_fisher_divergence(half, q.score, x) == pytest.approx(0.25, rel=1e-6)
    t = q.score(x)
    assert fisher_divergence(half, t, x, batch_size=7) == pytest.approx(float((0.25 * t**2).sum(1).mean()), rel=1e-5)


def test_score_objective_trains_a_score_net_with_fit():
    from daekit.training.config import TrainConfig
    from daekit.training.loop import fit

    q = GaussianMixture([[0.0, 0.0]], stds=[[1.0, 0.5]])
    sigma = 0.3
    qs = q.smoothed(sigma)
    x = q.sample(2048, gen(0))
    x_eval = qs.sample(2000, gen(1))
    results = {}
    for kind in ("dsm", "ism", "esm"):
        net = ScoreNet(2, (32,), "softplus", generator=gen(2))
        before = relative_fisher_divergence(net, qs.score, x_eval)
        objective = ScoreObjective(kind, sigma, true_score=qs.score)
        fit(
            net,
            objective,
            (x,),
            valid=(x[:256],),
            config=TrainConfig(epochs=4, batch_size=256, lr=1e-2, optimizer="adam", verbose=0, device="cpu"),
        )
        results[kind] = (before, relative_fisher_divergence(net, qs.score, x_eval))
    for before, after in results.values():
        assert after < 0.2 < before
    with pytest.raises(ValueError):
        ScoreObjective("esm", 0.1)
    with pytest.raises(ValueError):
        ScoreObjective("dsm")


def test_dae_objective_trains_the_tied_dae_energy_toward_the_smoothed_score():
    from daekit.training.config import TrainConfig
    from daekit.training.loop import fit

    q = make_toy("8gaussians")
    sigma = 1.0
    qs = q.smoothed(sigma)
    x = q.sample(4000, gen(0))
    model = DAE(2, 32, tied_weights=True, activation="sigmoid", reconstruction="gaussian", generator=gen(1))
    x_eval = qs.sample(2000, gen(2))
    before = relative_fisher_divergence(dae_score_fn(model, sigma), qs.score, x_eval)
    fit(
        model,
        ScoreObjective("dae", sigma),
        (x,),
        config=TrainConfig(epochs=8, batch_size=256, lr=3e-2, optimizer="adam", verbose=0, device="cpu"),
    )
    after = relative_fisher_divergence(dae_score_fn(model, sigma), qs.score, x_eval)
    assert after < 0.25 < before


# --------------------------------------------------------------------------- toy densities
@pytest.mark.parametrize("kind", ["iso", "diag", "full"])
def test_gmm_score_equals_autograd_of_log_prob(kind):
    means = torch.randn(4, 3, generator=gen(0), dtype=F64)
    if kind == "iso":
        q = GaussianMixture(means, stds=[0.5, 1.0, 0.7, 0.3], weights=[1, 2, 3, 4])
    elif kind == "diag":
        q = GaussianMixture(means, stds=torch.rand(4, 3, generator=gen(1), dtype=F64) + 0.2)
    else:
        L = torch.randn(4, 3, 3, generator=gen(2), dtype=F64)
        q = GaussianMixture(means, covs=L @ L.transpose(1, 2) + 0.3 * torch.eye(3, dtype=F64), weights=[4, 3, 2, 1])
    x = (torch.randn(50, 3, generator=gen(3), dtype=F64) * 2).requires_grad_(True)
    (grad,) = torch.autograd.grad(q.log_prob(x).sum(), x)
    torch.testing.assert_close(q.score(x.detach()), grad, rtol=1e-9, atol=1e-10)
    # log_prob against torch.distributions
    comps = torch.distributions.MultivariateNormal(q.means, covariance_matrix=q.covs)
    mix = torch.distributions.MixtureSameFamily(torch.distributions.Categorical(q.weights), comps)
    torch.testing.assert_close(q.log_prob(x.detach()), mix.log_prob(x.detach()), rtol=1e-10, atol=1e-10)


def test_gmm_score_far_from_the_modes_is_finite():
    q = make_toy("8gaussians")
    far = torch.tensor([[50.0, -40.0], [0.0, 0.0]], dtype=F64)
    s = q.score(far)
    assert torch.isfinite(s).all() and torch.isfinite(q.log_prob(far)).all()


def test_gmm_smoothed_is_the_convolution():
    """q_σ(y) = E_ε[q(y − σε)] (Monte Carlo over ε), and its moments are those of x + σε."""
    q = GaussianMixture(
        [[0.0, 0.0], [2.0, 1.0]], covs=[[[0.3, 0.1], [0.1, 0.2]], [[0.1, 0.0], [0.0, 0.4]]], weights=[0.3, 0.7]
    )
    sigma = 0.5
    qs = q.smoothed(sigma)
    y = torch.tensor([[0.0, 0.0], [1.0, 0.5], [2.5, 1.5], [-1.0, 1.0]], dtype=F64)
    eps = torch.randn(200_000, 2, generator=gen(0), dtype=F64)
    mc = torch.stack([q.prob(yi[None] - sigma * eps) for yi in y])  # (4, M)
    est, se = mc.mean(1), mc.std(1) / math.sqrt(eps.shape[0])
    assert ((qs.prob(y) - est).abs() <= 5 * se).all()
    torch.testing.assert_close(qs.covariance(), q.covariance() + sigma**2 * torch.eye(2, dtype=F64))
    samples = q.sample(200_000, gen(1), dtype=F64) + sigma * torch.randn(200_000, 2, generator=gen(2), dtype=F64)
    torch.testing.assert_close(samples.mean(0), qs.mean(), rtol=0, atol=0.01)
    torch.testing.assert_close(torch.cov(samples.T), qs.covariance(), rtol=0, atol=0.02)
    iso = make_toy("25gaussians").smoothed(0.1)
    assert iso.covariance_type == "diag"
    torch.testing.assert_close(iso.covs[0], (0.05**2 + 0.1**2) * torch.eye(2, dtype=F64))


def test_gmm_sampling_and_validation():
    q = make_toy("two-moons-gmm")
    a, b = q.sample(1000, gen(0)), q.sample(1000, gen(0))
    assert a.dtype == torch.get_default_dtype() and torch.equal(a, b)
    big = q.sample(100_000, gen(1), dtype=F64)
    torch.testing.assert_close(big.mean(0), q.mean(), rtol=0, atol=0.02)
    with pytest.raises(ValueError):
        GaussianMixture([[0.0, 0.0]])  # neither stds nor covs
    with pytest.raises(ValueError):
        GaussianMixture([[0.0, 0.0]], stds=-1.0)
    with pytest.raises(ValueError):
        GaussianMixture([[0.0, 0.0]], covs=[[[1.0, 2.0], [2.0, 1.0]]])  # not positive definite
    with pytest.raises(ValueError):
        q.score(torch.zeros(3, 5))


def test_toy_presets():
    assert set(TOY_DENSITIES) == {"8gaussians", "25gaussians", "two-moons-gmm"}
    eight = make_toy("8gaussians")
    assert eight.n_components == 8 and eight.dim == 2
    torch.testing.assert_close(eight.means.norm(dim=1), torch.full((8,), 2.0, dtype=F64))
    grid = make_toy("25gaussians")
    assert grid.n_components == 25 and float(grid.means.abs().max()) == 4.0
    moons = make_toy("two-moons-gmm")
    assert moons.n_components == 32
    assert make_toy("8gaussians", std=0.1).covs[0, 0, 0] == pytest.approx(0.01)
    with pytest.raises(ValueError, match="toy density"):
        make_toy("9gaussians")


# --------------------------------------------------------------------------- figure, CLI
def test_plot_score_field_writes_a_png_atomically(tmp_path):
    from daekit.viz import plot_score_field

    q = make_toy("8gaussians").smoothed(0.2)
    net = ScoreNet(2, (8,), generator=gen(0))
    net.train()
    path = plot_score_field(
        net,
        q.score,
        q.prob,
        tmp_path / "sub" / "field.png",
        extent=(-3, 3, -3, 3),
        n_arrows=9,
        resolution=40,
        title="test",
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert net.training  # mode restored
    assert sorted(p.name for p in path.parent.iterdir()) == ["field.png"]
    plot_score_field(net, None, None, tmp_path / "alone.png", n_arrows=5)
    with pytest.raises(ValueError):
        plot_score_field(net, None, None, tmp_path / "bad.png", extent=(1, 0, 0, 1))
    assert not (tmp_path / "bad.png").exists()


def _score_parser():
    from daekit.cli import score_cmd

    parser = argparse.ArgumentParser(prog="daekit")
    score_cmd.add_parser(parser.add_subparsers(dest="command"))
    return parser, score_cmd


@pytest.mark.parametrize("objective", ["dsm", "ism", "annealed"])
def test_cli_score_train_writes_its_files(tmp_path, objective):
    parser, score_cmd = _score_parser()
    out = tmp_path / "run"
    args = parser.parse_args(
        [
            "score",
            "train",
            "--data",
            "8gaussians",
            "--objective",
            objective,
            "--sigma",
            "0.2",
            "--epochs",
            "2",
            "--n-train",
            "1024",
            "--n-eval",
            "1000",
            "--hidden",
            "16,16",
            "--fourier-features",
            "8",
            "--out",
            str(out),
            "--seed",
            "3",
            "--quiet",
        ]
    )
    assert args.func(args) == 0
    for name in ("config.json", "metrics.jsonl", "result.json", "score_field.png", "model"):
        assert (out / name).exists(), name
    result = json.loads((out / "result.json").read_text())
    assert 0 <= result["relative_fisher_divergence"] < 10 and result["train_seconds"] > 0
    config = json.loads((out / "config.json").read_text())
    assert config["sigma"] == 0.2 and (config["sigmas"] is not None) == (objective == "annealed")
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 2 and {ln["phase"] for ln in lines} == {"train", "decay2"}
    model = load_model(out / "model")
    assert type(model).__name__ == ("NoiseConditionalScoreNet" if objective == "annealed" else "ScoreNet")
    if objective == "dsm":  # a second run into the same folder needs --overwrite
        with pytest.raises(ValueError, match="overwrite"):
            args.func(args)
        args.overwrite, args.epochs = True, 1
        assert args.func(args) == 0
        lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        assert [ln["phase"] for ln in lines] == ["train"]


def test_cli_score_train_rejects_bad_arguments_without_writing(tmp_path, capsys):
    parser, score_cmd = _score_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["score", "train", "--out", str(tmp_path / "a"), "--sigma", "-1"])
    with pytest.raises(SystemExit):
        parser.parse_args(["score", "train", "--out", str(tmp_path / "a"), "--data", "nope"])
    args = parser.parse_args(
        [
            "score",
            "train",
            "--out",
            str(tmp_path / "b"),
            "--objective",
            "annealed",
            "--sigma",
            "2.0",
            "--sigma-max",
            "1.0",
        ]
    )
    with pytest.raises(ValueError, match="sigma_max"):
        args.func(args)
    assert not os.path.exists(tmp_path / "a") and not os.path.exists(tmp_path / "b")


@pytest.mark.parametrize("objective", ["dsm", "annealed"])
def test_viz_score_field_redraws_a_score_run(tmp_path, objective):
    from daekit.cli import main

    out = tmp_path / "run"
    assert (
        main(
            [
                "score",
                "train",
                "--data",
                "8gaussians",
                "--objective",
                objective,
                "--sigma",
                "0.2",
                "--epochs",
                "1",
                "--n-train",
                "512",
                "--n-eval",
                "200",
                "--hidden",
                "8",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    png = tmp_path / "field.png"
    assert main(["viz", "score-field", str(out), "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["viz", "score-field", str(tmp_path)]) == 2
