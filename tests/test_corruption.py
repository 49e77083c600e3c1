import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from daekit.corruption import Compose, Gaussian, Identity, Masking, SaltPepper, make_corruption


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 20), d=st.integers(1, 300), nu=st.floats(0, 1), seed=st.integers(0, 2**31 - 1))
def test_masking_zeroes_exactly_round_nu_d_per_row(n, d, nu, seed):
    x = torch.rand(n, d, generator=gen(seed)) + 0.5  # no zeros before corruption
    xt = Masking(nu)(x, gen(seed + 1))
    zeros = (xt == 0).sum(dim=1)
    assert torch.all(zeros == round(nu * d))
    kept = xt != 0
    assert torch.equal(xt[kept], x[kept])  # untouched components keep their value


def test_masking_works_on_images_and_does_not_modify_input():
    x = torch.rand(4, 1, 28, 28) + 0.1
    before = x.clone()
    xt = Masking(0.25)(x, gen())
    assert xt.shape == x.shape
    assert torch.equal(x, before)
    assert torch.all((xt == 0).reshape(4, -1).sum(1) == 196)


def test_masking_is_uniform_over_components():
    x = torch.ones(20000, 10)
    freq = (Masking(0.3)(x, gen()) == 0).float().mean(0)
    assert torch.allclose(freq, torch.full((10,), 0.3), atol=0.015)


def test_masking_with_tied_keys_still_zeroes_exactly_k(monkeypatch):
    import numpy as np

    from daekit import corruption

    def tied_keys(n, d, generator):  # every key equal: the k-th smallest is tied in every row
        return np.zeros((n, d), dtype=np.int32)

    monkeypatch.setattr(corruption, "_int_keys", tied_keys)
    x = torch.rand(7, 50) + 0.5
    xt = Masking(0.3)(x, gen())
    assert torch.all((xt == 0).sum(dim=1) == 15)


def test_masking_keeps_the_gradient_path_to_a_leaf_input():
    x = (torch.rand(3, 40) + 0.5).requires_grad_()
    xt = Masking(0.25)(x, gen())
    xt.sum().backward()
    assert torch.equal(x.grad, (xt != 0).float())


def test_bernoulli_masking_fraction():
    x = torch.ones(2000, 500)
    frac = (Masking(0.3, exact=False)(x, gen()) == 0).float().mean().item()
    assert abs(frac - 0.3) < 0.005
    counts = (Masking(0.3, exact=False)(x[:50], gen(1)) == 0).sum(1)
    assert counts.unique().numel() > 1  # not a fixed count


def test_same_seed_same_corruption():
    x = torch.rand(8, 50)
    for c in (Masking(0.4), SaltPepper(0.2), Gaussian(0.5), Masking(0.4, exact=False)):
        assert torch.equal(c(x, gen(3)), c(x, gen(3)))
        assert not torch.equal(c(x, gen(3)), c(x, gen(4)))


def test_salt_pepper_statistics():
    x = torch.full((4000, 100), 0.5)
    xt = SaltPepper(0.2)(x, gen())
    changed = xt != 0.5
    assert torch.all(changed.sum(1) == 20)
    assert set(xt[changed].unique().tolist()) == {0.0, 1.0}
    assert abs((xt[changed] == 1).float().mean().item() - 0.5) < 0.01
    lo_hi = SaltPepper(0.5, low=-1, high=2)(x, gen())
    assert set(lo_hi[lo_hi != 0.5].unique().tolist()) == {-1.0, 2.0}


def test_gaussian_moments_and_score_target():
    x = torch.zeros(200000, 2, dtype=torch.float64)
    sigma = 0.7
    c = Gaussian(sigma)
    xt = c(x, gen())
    assert abs(xt.mean().item()) < 0.005
    assert abs(xt.std().item() - sigma) < 0.005
    assert xt.dtype == torch.float64
    torch.testing.assert_close(c.score_target(x, xt), (x - xt) / sigma**2)


def test_compose_and_callables():
    x = torch.rand(5, 40) + 0.5
    comp = Compose([Masking(0.5), lambda t, g: t * 2])
    xt = comp(x, gen())
    assert torch.all((xt == 0).sum(1) == 20)
    assert torch.allclose(xt[xt != 0], 2 * x[xt != 0])
    with pytest.raises(TypeError, match=r"corruptions\[0\]"):
        Compose([3])


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, math.inf])
def test_bad_fractions_raise_naming_the_parameter(bad):
    with pytest.raises(ValueError, match="fraction"):
        Masking(bad)
    with pytest.raises(ValueError, match="fraction"):
        SaltPepper(bad)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_bad_sigma(bad):
    with pytest.raises(ValueError, match="sigma"):
        Gaussian(bad)


def test_make_corruption_specs():
    assert make_corruption("masking:0.25") == Masking(0.25)
    assert make_corruption("masking", 0.1) == Masking(0.1)
    assert make_corruption("masking:0.3:bernoulli") == Masking(0.3, exact=False)
    assert make_corruption("gaussian:0.5") == Gaussian(0.5)
    assert isinstance(make_corruption("none"), Identity)
    assert isinstance(make_corruption("masking:0.2+gaussian:0.1"), Compose)
    for c in (Masking(0.25), Gaussian(0.5), SaltPepper(0.1)):
        assert make_corruption(c.spec) == c
    with pytest.raises(ValueError, match="corruption"):
        make_corruption("blur:0.3")
    with pytest.raises(ValueError, match="needs a level"):
        make_corruption("gaussian")
