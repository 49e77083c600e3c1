import math

import numpy as np
import pytest
import torch

from daekit import SwapNoise, make_corruption


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_swapped_values_come_from_the_same_column_of_another_row():
    n, d = 50, 7
    # every entry unique, and its column and row recoverable from the value
    x = (torch.arange(n).unsqueeze(1) * 100 + torch.arange(d)).double()
    xt = SwapNoise(0.5)(x, gen(3))
    changed = xt != x
    assert changed.any()
    rows, cols = torch.nonzero(changed, as_tuple=True)
    src_rows = (xt[rows, cols] // 100).long()
    src_cols = (xt[rows, cols] % 100).long()
    assert torch.equal(src_cols, cols)  # the same column
    assert torch.all(src_rows != rows)  # of another row
    assert torch.all((src_rows >= 0) & (src_rows < n))


@pytest.mark.parametrize("p", [0.1, 0.4])
def test_swap_rate_is_p_within_tolerance(p):
    n, d = 400, 50
    x = torch.randn(n, d, generator=gen(1))  # continuous: a swap always changes the value
    rate = float((SwapNoise(p)(x, gen(2)) != x).double().mean())
    se = math.sqrt(p * (1 - p) / (n * d))
    assert abs(rate - p) < 5 * se


def test_donor_row_is_uniform_over_the_other_rows():
    n = 5
    x = torch.arange(n).double().unsqueeze(1).repeat(1, 4000)  # row i holds i everywhere
    xt = SwapNoise(1.0)(x, gen(4))
    counts = np.array([[(xt[i] == j).sum().item() for j in range(n)] for i in range(n)])
    assert np.all(np.diag(counts) == 0)
    off = counts[~np.eye(n, dtype=bool)]
    assert np.all(np.abs(off - 1000) < 5 * math.sqrt(4000 * 0.25 * 0.75))


def test_same_seed_same_draw_input_untouched_and_single_row_unchanged():
    x = torch.rand(30, 6, generator=gen())
    before = x.clone()
    assert torch.equal(SwapNoise(0.3)(x, gen(9)), SwapNoise(0.3)(x, gen(9)))
    assert torch.equal(x, before)
    one = torch.rand(1, 6)
    assert torch.equal(SwapNoise(0.9)(one, gen()), one)
    assert torch.equal(SwapNoise(0.0)(x, gen()), x)


def test_works_on_images_and_through_make_corruption():
    x = torch.rand(8, 1, 5, 5)
    xt = make_corruption("swap:0.2")(x, gen())
    assert xt.shape == x.shape
    assert make_corruption("swap:0.2") == SwapNoise(0.2)
    assert SwapNoise(0.2).spec == "swap:0.2"
    with pytest.raises(ValueError, match="fraction"):
        SwapNoise(1.5)
