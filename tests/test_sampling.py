"""Samplers (DAE chain, Langevin, annealed Langevin), walkback training and the sampling CLI."""

import functools
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from daekit import DAE, DenoisingObjective, TrainConfig, fit
from daekit.corruption import Gaussian, Identity, Masking, SaltPepper
from daekit.datasets.toy import make_toy
from daekit.distributions import Gaussian as GaussianRecon
from daekit.models.registry import save_model
from daekit.models.score_networks import NoiseConditionalScoreNet
from daekit.objectives.walkback import WalkbackObjective
from daekit.sampling import (
    SAMPLERS,
    annealed_langevin,
    as_noise_conditional,
    collect_chain_samples,
    dae_chain,
    get_sampler,
    langevin,
)
from daekit.score import geometric_sigmas, reconstruction_score, score
from daekit.utils.atomic import write_json


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


class IdentityReconstruction(nn.Module):
    """A mock DAE whose reconstruction distribution has mean x (Gaussian, params = x)."""

    distribution = GaussianRecon

    def __init__(self):
        super().__init__()
        self.seen_training = []

    def forward(self, x):
        self.seen_training.append(self.training)
        return x.reshape(x.shape[0], -1)


def small_dae(n_visible=6, n_hidden=5, reconstruction="bernoulli", seed=0, tied=True):
    return DAE(n_visible, n_hidden, tied_weights=tied, reconstruction=reconstruction, generator=gen(seed))


# --------------------------------------------------------------------------- Langevin: exact answers
def test_langevin_recovers_a_1d_gaussian():
    mu, s = 1.5, 0.7
    x0 = torch.zeros(4000, 1, dtype=torch.float64)
    step = 0.01 * s**2
    out = langevin(lambda x: (mu - x) / s**2, x0, step, 2000, generator=gen(1))
    n = len(out)
    assert abs(float(out.mean()) - mu) < 4 * s / math.sqrt(n)
    # ULA's stationary variance is s²/(1 − ε/4s²): 0.25% above s² here
    var = float(out.var())
    assert abs(var / s**2 - 1) < 4 * math.sqrt(2 / n) + 0.003


def test_langevin_recovers_a_2d_gaussian_with_correlation():
    mu = torch.tensor([-1.0, 2.0], dtype=torch.float64)
    cov = torch.tensor([[1.0, 0.6], [0.6, 0.5]], dtype=torch.float64)
    prec = torch.linalg.inv(cov)
    lam = torch.linalg.eigvalsh(cov)  # 0.1 and 1.4
    step = 0.1 * float(lam.min())
    # the mean converges at rate ε/2λ_max per step: 2000 steps leave e^(-7) of the start
    x0 = torch.zeros(4000, 2, dtype=torch.float64)
    out = langevin(lambda x: (mu - x) @ prec, x0, step, 2000, generator=gen(2))
    n = len(out)
    assert torch.allclose(out.mean(0), mu, atol=4 * math.sqrt(float(lam.max()) / n))
    # ULA inflates the variance along eigenvalue λ by 1/(1 − ε/4λ): at most 2.6% here
    emp = torch.cov(out.t())
    assert torch.allclose(emp, cov, rtol=0.03 + 4 * math.sqrt(2 / n), atol=0.02), emp


def test_annealed_langevin_visits_every_mode_of_8gaussians_and_plain_langevin_does_not():
    gm = make_toy("8gaussians")
    x0 = torch.full((800, 2), 3.5, dtype=torch.float64)  # every chain starts in one corner
    sigmas = geometric_sigmas(3.0, 0.05, 10)
    out = annealed_langevin(
        lambda x, s: gm.smoothed(s).score(x),
        sigmas,
        x0,
        eps=3e-4,
        steps_per_level=60,
        generator=gen(4),
        final_denoise=True,
    )
    d2 = torch.cdist(out, gm.means)
    nearest = d2.argmin(1)
    assert float(d2.min(1).values.median()) < 0.1
    counts = torch.bincount(nearest, minlength=8)
    assert (counts > 0.05 * len(out)).all(), counts  # every mode, in roughly fair shares (12.5% each)
    plain = langevin(gm.smoothed(0.05).score, x0, 3e-4, 600, generator=gen(4))
    assert (torch.bincount(torch.cdist(plain, gm.means).argmin(1), minlength=8) > 0).sum() < 8


def test_annealed_with_one_level_is_langevin_and_the_adapter_ignores_sigma():
    score_fn = lambda x: -x  # noqa: E731
    x0 = torch.randn(50, 3, generator=gen(0))
    a = annealed_langevin(as_noise_conditional(score_fn), [0.3], x0, eps=0.05, steps_per_level=20, generator=gen(7))
    b = langevin(score_fn, x0, 0.05, 20, generator=gen(7))
    assert torch.equal(a, b)


def test_annealed_step_sizes_follow_song_and_ermon():
    seen = []

    def score_fn(x, sigma):
        seen.append(sigma)
        return torch.zeros_like(x)

    x0 = torch.zeros(20000, 1, dtype=torch.float64)
    sigmas = [1.0, 0.1]
    traj = annealed_langevin(score_fn, sigmas, x0, eps=2e-5, steps_per_level=1, generator=gen(0), return_all=True)
    assert seen == [1.0, 0.1] and traj.shape == (3, 20000, 1)
    # zero score: each step adds √αᵢ z with αᵢ = ε σᵢ²/σ_L² (2e-3 then 2e-5)
    assert abs(float(traj[1].var()) / 2e-3 - 1) < 0.05
    assert abs(float((traj[2] - traj[1]).var()) / 2e-5 - 1) < 0.05


# --------------------------------------------------------------------------- the DAE chain
def test_chain_with_identity_reconstruction_and_no_corruption_leaves_x_unchanged():
    model = IdentityReconstruction().train()
    x0 = torch.rand(5, 7, generator=gen(0))
    keep = x0.clone()
    out = dae_chain(model, Identity(), x0, 10, sample=False)
    assert torch.equal(out, x0) and torch.equal(x0, keep)
    traj = dae_chain(model, Identity(), x0, 10, sample=False, return_all=True)
    assert traj.shape == (11, 5, 7) and torch.equal(traj, x0.expand(11, 5, 7))
    # the model ran in eval mode, under no_grad, and got its training mode back
    assert model.seen_training and not any(model.seen_training) and model.training


def test_chain_draws_from_the_reconstruction_distribution():
    model = small_dae(16, 8).train()
    x0 = torch.rand(30, 16, generator=gen(0))
    out = dae_chain(model, SaltPepper(0.2), x0, 5, generator=gen(1))
    assert set(out.unique().tolist()) <= {0.0, 1.0}  # Bernoulli draws
    means = dae_chain(model, SaltPepper(0.2), x0, 5, generator=gen(1), return_mean=True)
    assert ((means > 0) & (means < 1)).all()
    assert model.training and all(p.grad is None for p in model.parameters())
    g = small_dae(16, 8, reconstruction="gaussian")
    out = dae_chain(g, Gaussian(0.3), x0, 3, generator=gen(1))
    assert out.shape == x0.shape and torch.isfinite(out).all()
    assert not torch.equal(out, dae_chain(g, Gaussian(0.3), x0, 3, sample=False, generator=gen(1)))


def test_collect_chain_samples_takes_thinned_states_after_burn_in():
    model = small_dae(8, 4)
    x0 = torch.rand(4, 8, generator=gen(0))
    s = collect_chain_samples(model, Masking(0.25), x0, 10, burn_in=3, thin=2, generator=gen(5))
    traj = dae_chain(model, Masking(0.25), x0, 8, generator=gen(5), return_all=True)
    # burn-in 3 -> 4 (a multiple of thin); states at steps 4, 6, 8 of each chain, the first 10 kept
    assert s.shape == (10, 8)
    assert torch.equal(s, torch.cat([traj[4], traj[6], traj[8]])[:10])


# --------------------------------------------------------------------------- clamping
def _mask(shape, seed=0):
    return torch.rand(shape, generator=gen(seed)) < 0.4


@pytest.mark.parametrize("which", ["chain", "langevin", "annealed"])
def test_clamped_components_never_move(which):
    x0 = torch.rand(12, 9, generator=gen(1))
    mask = _mask((12, 9))
    observed = torch.rand(12, 9, generator=gen(2))  # different from x0: set before the first step
    if which == "chain":
        traj = dae_chain(
            small_dae(9, 5), SaltPepper(0.3), x0, 6, generator=gen(3), return_all=True, mask=mask, observed=observed
        )
    elif which == "langevin":
        traj = langevin(lambda x: -x, x0, 0.1, 6, generator=gen(3), return_all=True, mask=mask, observed=observed)
    else:
        traj = annealed_langevin(
            lambda x, s: -x / (1 + s**2),
            [1.0, 0.5, 0.1],
            x0,
            0.01,
            2,
            generator=gen(3),
            return_all=True,
            mask=mask,
            observed=observed,
            final_denoise=True,
        )
    assert traj.shape[0] > 2
    for frame in traj:
        assert torch.equal(frame[mask], observed[mask])
    assert not torch.equal(traj[-1][~mask], traj[0][~mask])  # the free components do move


def test_clamp_defaults_to_x0_values_and_broadcasts_one_mask():
    x0 = torch.rand(10, 6, generator=gen(1))
    mask = torch.tensor([True, False, True, False, False, False])
    out = langevin(lambda x: -x, x0, 0.1, 5, generator=gen(2), mask=mask)
    assert torch.equal(out[:, mask], x0[:, mask]) and not torch.equal(out[:, ~mask], x0[:, ~mask])
    with pytest.raises(TypeError, match="bool"):
        langevin(lambda x: -x, x0, 0.1, 5, mask=mask.float())
    with pytest.raises(ValueError, match="broadcast"):
        langevin(lambda x: -x, x0, 0.1, 5, mask=torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        langevin(lambda x: -x, x0, 0.1, 5, observed=x0)


# --------------------------------------------------------------------------- reproducibility, registry
def test_all_samplers_are_reproducible_given_a_generator():
    dae = small_dae(6, 5, reconstruction="gaussian", tied=True)
    x0 = torch.rand(8, 6, generator=gen(0))
    ncsn = NoiseConditionalScoreNet(6, hidden=(16,), generator=gen(0))
    runs = {
        "chain": lambda g: dae_chain(dae, Gaussian(0.3), x0, 5, generator=g),
        "langevin-energy": lambda g: langevin(functools.partial(score, dae, sigma=0.3), x0, 0.01, 5, generator=g),
        "langevin-recon": lambda g: langevin(lambda x: reconstruction_score(dae, x, 0.3), x0, 0.01, 5, generator=g),
        "annealed": lambda g: annealed_langevin(ncsn, [1.0, 0.3], x0, 1e-3, 3, generator=g, final_denoise=True),
    }
    for name, run in runs.items():
        a, b, c = run(gen(11)), run(gen(11)), run(gen(12))
        assert torch.equal(a, b), name
        assert not torch.equal(a, c), name


def test_sampler_registry():
    import daekit.sampling.edm as edm_sampling  # registers the denoiser samplers

    assert set(SAMPLERS) == {
        "chain",
        "langevin",
        "annealed",
        "ode",
        "stochastic",
        "denoiser-annealed",
        "denoiser-chain",
    }
    assert get_sampler("ode") is edm_sampling.heun_sampler
    assert get_sampler("chain") is dae_chain and get_sampler("annealed") is annealed_langevin
    with pytest.raises(ValueError, match="sampler must be one of"):
        get_sampler("gibbs")


def test_bad_arguments_raise():
    x0 = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="step_size"):
        langevin(lambda x: x, x0, 0.0, 3)
    with pytest.raises(TypeError, match="n_steps"):
        langevin(lambda x: x, x0, 0.1, 2.5)
    with pytest.raises(ValueError, match="sigmas"):
        annealed_langevin(lambda x, s: x, [], x0, 0.1, 3)
    with pytest.raises(TypeError, match="distribution"):
        dae_chain(nn.Linear(2, 2), Identity(), x0, 3)
    with pytest.raises(TypeError, match="x0"):
        langevin(lambda x: x, np.zeros((3, 2)), 0.1, 3)
    with pytest.raises(ValueError, match="score_fn"):
        langevin(lambda x: x[:, :1], x0, 0.1, 3)


# --------------------------------------------------------------------------- walkback
def test_walkback_with_k1_equals_the_denoising_objective():
    x = (torch.rand(20, 10, generator=gen(0)) > 0.5).float()
    for corruption in (Masking(0.3), SaltPepper(0.2), Gaussian(0.4)):
        a, b = small_dae(10, 7), small_dae(10, 7)
        la = WalkbackObjective(corruption, k=1)(a, (x,), gen(3))
        lb = DenoisingObjective(corruption)(b, (x,), gen(3))
        assert torch.equal(la, lb)
        la.backward()
        lb.backward()
        for pa, pb in zip(a.parameters(), b.parameters()):
            assert torch.equal(pa.grad, pb.grad)


def test_walkback_k1_training_equals_denoising_training_and_k3_trains():
    x = (torch.rand(60, 12, generator=gen(0)) > 0.6).float().numpy()
    cfg = TrainConfig(epochs=3, batch_size=10, lr=0.1, verbose=0, seed=5)
    a, b = small_dae(12, 6), small_dae(12, 6)
    fit(a, WalkbackObjective(Masking(0.25), k=1), x, cfg)
    fit(b, DenoisingObjective(Masking(0.25)), x, cfg)
    # same draws, same steps; fit may run DenoisingObjective through the DAE's hand-written (fused)
    # SGD step, whose float rounding differs from autograd's in the last bits
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa, pb, rtol=0, atol=1e-5)
    c = small_dae(12, 6)
    hist = fit(
        c, WalkbackObjective(Masking(0.25), k=3), x, TrainConfig(epochs=5, batch_size=10, lr=0.1, verbose=0, seed=5)
    )
    assert hist.train_loss[-1] < hist.train_loss[0]


def test_walkback_averages_k_reconstructions_and_detaches_the_walk():
    model = small_dae(10, 7)
    x = (torch.rand(20, 10, generator=gen(0)) > 0.5).float()
    # reproduce the walk by hand
    g = gen(9)
    corruption = SaltPepper(0.3)
    cur, losses = x, []
    for j in range(3):
        params = model(corruption(cur, g))
        losses.append(model.distribution.loss(x, params).mean())
        if j < 2:
            cur = model.distribution.sample(params.detach(), g)
    expected = sum(losses) / 3
    got = WalkbackObjective(corruption, k=3)(model, (x,), gen(9))
    assert torch.allclose(got, expected)
    with pytest.raises(ValueError, match="k"):
        WalkbackObjective(corruption, k=0)


# --------------------------------------------------------------------------- CLI
def _dae_run(tmp_path, corruption="gaussian:0.3", n_visible=64):
    run = tmp_path / "run"
    save_model(run / "model", small_dae(n_visible, 16), data="digits")
    write_json(run / "config.json", {"corruption": corruption, "data_used": "digits"})
    return run


def test_cli_sample_chain_writes_a_grid_and_a_gif(tmp_path, capsys):
    from daekit.cli import main

    run = _dae_run(tmp_path)
    out, gif = tmp_path / "s.png", tmp_path / "chain.gif"
    argv = ["sample", str(run), "--method", "chain", "--n", "16", "--steps", "6", "--out", str(out), "--seed", "1"]
    assert main([*argv, "--animate", str(gif), "--quiet"]) == 0
    assert out.stat().st_size > 0 and gif.read_bytes()[:3] == b"GIF"
    assert (
        main(["sample", str(run), "--method", "langevin", "--n", "9", "--steps", "5", "--out", str(out), "--quiet"])
        == 0
    )
    assert str(out) in capsys.readouterr().out


def test_cli_sample_annealed_from_a_score_network_run(tmp_path):
    from daekit.cli import main

    run = tmp_path / "ncsn"
    save_model(run / "model", NoiseConditionalScoreNet(64, hidden=(16,), generator=gen(0)))
    write_json(run / "config.json", {"sigmas": [1.0, 0.1], "data_used": "digits"})
    out = tmp_path / "a.png"
    assert main(["sample", str(run), "--n", "4", "--steps", "3", "--out", str(out), "--quiet"]) == 0
    assert out.exists()


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["sample", "nowhere"], "nowhere"),
        (["sample", "RUN", "--method", "annealed"], "noise-conditional"),
        (["sample", "RUN", "--method", "langevin", "--corruption", "masking:0.3"], "give sigma"),
        (["sample", "RUN", "--animate", "x.mp4"], ".gif"),
        (["evaluate-samples", "RUN"], "--parzen"),
        (["evaluate-samples", "RUN", "--parzen"], "784"),
    ],
)
def test_cli_bad_input_gives_one_line_and_exit_2(argv, fragment, tmp_path, monkeypatch, capsys):
    from daekit.cli import main

    run = _dae_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    argv = [str(run) if a == "RUN" else a for a in argv]
    if argv[0] == "sample":
        argv += ["--out", "s.png"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err, err
    assert not (tmp_path / "s.png").exists()


def test_cli_bad_flag_in_a_fresh_process(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "daekit", "sample", str(tmp_path), "--method", "gibbs"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "invalid choice" in err and "Traceback" not in err


def test_cli_evaluate_samples_parzen_on_mnist(tmp_path, capsys, mnist_available):
    from daekit.cli import main

    run = _dae_run(tmp_path, corruption="saltpepper:0.3", n_visible=784)
    assert (
        main(
            [
                "evaluate-samples",
                str(run),
                "--parzen",
                "--n-samples",
                "200",
                "--n-test",
                "300",
                "--chains",
                "20",
                "--burn-in",
                "2",
                "--quiet",
                "--json",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "nats" in text and "200 samples" in text
    result = json.loads(text.strip().splitlines()[-1])
    assert math.isfinite(result["parzen_mean"]) and result["parzen_std_error"] > 0
