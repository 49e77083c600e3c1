"""sampler_for: which sampler fits which model, and the plan it returns draws what the sampler draws."""

import pytest
import torch

from daekit import DAE
from daekit.corruption import Gaussian, SaltPepper
from daekit.models.score_networks import NoiseConditionalScoreNet, ScoreNet
from daekit.sampling import (
    annealed_langevin,
    collect_chain_samples,
    dae_chain,
    langevin,
    n_features,
    sampler_for,
    starting_points,
)
from daekit.score import geometric_sigmas, reconstruction_score


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def dae(d=6):
    return DAE(d, 5, reconstruction="bernoulli", generator=gen(0))


def test_auto_picks_the_sampler_of_each_model():
    assert sampler_for(dae(), corruption="saltpepper:0.3").method == "chain"
    assert sampler_for(ScoreNet(2, (8,), generator=gen(0)), sigma=0.1).method == "langevin"
    assert sampler_for(NoiseConditionalScoreNet(2, hidden=(8,), generator=gen(0))).method == "annealed"
    with pytest.raises(ValueError, match="no sampler for a Linear"):
        sampler_for(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="method must be one of"):
        sampler_for(dae(), "gibbs")


def test_the_chain_plan_draws_what_dae_chain_draws():
    model, x0 = dae(), torch.rand(4, 6, generator=gen(1))
    plan = sampler_for(model, "chain", corruption=SaltPepper(0.3), steps=7, report_mean=False)
    expected = dae_chain(model, SaltPepper(0.3), x0, 7, True, gen(2))
    torch.testing.assert_close(plan.draw(x0, gen(2)), expected, rtol=0, atol=0)
    assert plan.total_steps == 7 and "7 steps" in plan.description and "saltpepper" in plan.description
    traj = plan.draw(x0, gen(2), return_all=True, every=3)
    assert traj.shape == (1 + 3, 4, 6)  # x0, steps 3, 6 and the last


def test_langevin_on_a_dae_uses_its_reconstruction_score_at_the_gaussian_sigma():
    model, x0 = DAE(3, 4, reconstruction="gaussian", generator=gen(0)), torch.randn(5, 3, generator=gen(1))
    plan = sampler_for(model, "langevin", corruption=Gaussian(0.5), steps=4)
    expected = langevin(lambda x: reconstruction_score(model, x, 0.5), x0, 0.2 * 0.25, 4, gen(3))
    torch.testing.assert_close(plan.draw(x0, gen(3)), expected)
    assert "sigma=0.5" in plan.description
    with pytest.raises(ValueError, match="give sigma"):
        sampler_for(model, "langevin", corruption="masking:0.3")
    assert sampler_for(model, "langevin", corruption="masking:0.3", sigma=0.2).method == "langevin"


def test_annealed_plan_uses_the_levels_given_or_song_and_ermons():
    net, x0 = NoiseConditionalScoreNet(2, hidden=(8,), generator=gen(0)), torch.rand(3, 2, generator=gen(1))
    plan = sampler_for(net, sigmas=[1.0, 0.1], steps=3, eps=1e-3, final_denoise=True)
    expected = annealed_langevin(net, [1.0, 0.1], x0, 1e-3, 3, gen(4), final_denoise=True)
    torch.testing.assert_close(plan.draw(x0, gen(4)), expected)
    assert plan.total_steps == 2 * 3 + 1
    default = sampler_for(net, steps=1)
    assert default.total_steps == len(geometric_sigmas(1.0, 0.01, 10)) and "1..0.01" in default.description
    # Langevin at one level: its smallest training level by default
    one = sampler_for(net, "langevin", sigmas=[1.0, 0.1], steps=2)
    assert "sigma=0.1" in one.description


def test_a_method_that_does_not_fit_the_model_is_refused():
    net = ScoreNet(2, (8,), generator=gen(0))
    with pytest.raises(ValueError, match="noise-conditional"):
        sampler_for(net, "annealed")
    with pytest.raises(ValueError, match="chain.*needs a DAE"):
        sampler_for(net, "chain", corruption="gaussian:0.1")
    with pytest.raises(ValueError, match="corruption"):
        sampler_for(dae(), "chain")
    with pytest.raises(ValueError, match="sigma"):
        sampler_for(net, "langevin")


def test_collect_gathers_n_draws_in_batches_or_parallel_chains():
    net = ScoreNet(2, (8,), generator=gen(0))
    plan = sampler_for(net, sigma=0.1, steps=2)
    calls = []

    def start(n, generator):
        calls.append(n)
        return starting_points("uniform", n, 2, generator)

    samples, description = plan.collect(25, start, gen(5), batch_size=10)
    assert samples.shape == (25, 2) and calls == [10, 10, 5] and description == plan.description

    model, calls = dae(), []

    def start_dae(n, generator):
        calls.append(n)
        return torch.rand(n, 6, generator=generator)

    chain = sampler_for(model, corruption="saltpepper:0.2", steps=1)
    samples, description = chain.collect(12, start_dae, gen(6), chains=4, burn_in=3, thin=2)
    g = gen(6)
    expected = collect_chain_samples(
        model, SaltPepper(0.2), torch.rand(4, 6, generator=g), 12, burn_in=3, thin=2, generator=g, return_mean=True
    )
    assert calls == [4] and "4 parallel chains" in description
    torch.testing.assert_close(samples, expected, rtol=0, atol=0)


def test_starting_points_and_n_features():
    assert torch.equal(starting_points("zeros", 3, 4), torch.zeros(3, 4))
    u = starting_points("uniform", 100, 2, gen(0))
    assert u.shape == (100, 2) and 0 <= float(u.min()) and float(u.max()) <= 1
    with pytest.raises(ValueError, match="init"):
        starting_points("normal", 3, 4)
    d = starting_points("data", 5, 64, gen(0), data="digits")
    assert d.shape == (5, 64) and d.dtype == torch.float32
    with pytest.raises(ValueError, match="features"):
        starting_points("data", 5, 10, gen(0), data="digits")
    assert n_features(dae(7)) == 7 and n_features(ScoreNet(3, (4,), generator=gen(0))) == 3
    with pytest.raises(TypeError, match="model"):
        n_features(torch.nn.Linear(2, 2))
