"""Corruption processes C(x̃ | x): draw a corrupted x̃ from a clean x.

Each process is a small object, separate from any model (Vincent et al. 2010, §3.2 and §4.2):
``x_tilde = corruption(x, generator)``. Every draw takes an explicit ``torch.Generator`` so that
the same seed gives the same corruption. The first dimension of ``x`` is the batch; all other
dimensions are flattened into the d components of one example, so flat (N, 784) batches and
(N, C, H, W) images are handled alike. The input is never modified.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .utils.validation import check_fraction, check_positive

__all__ = [
    "Corruption",
    "Masking",
    "Gaussian",
    "SaltPepper",
    "SwapNoise",
    "Compose",
    "Identity",
    "make_corruption",
    "ShardedCorruption",
]


def _rand(x: Tensor, shape: Sequence[int], generator: torch.Generator | None) -> Tensor:
    dtype = x.dtype if x.is_floating_point() else torch.float32
    return torch.rand(tuple(shape), generator=generator, device=x.device, dtype=dtype)


def _as_rows(x: Tensor) -> Tensor:
    """View ``x`` as (batch, d); a 1-D tensor is a single example."""
    return x.reshape(1, -1) if x.dim() == 1 else x.reshape(x.shape[0], -1)


def _int_keys(n: int, d: int, generator: torch.Generator | None) -> np.ndarray:
    """(n, d) independent uniform 31-bit integer keys drawn from ``generator``."""
    return torch.empty(n, d, dtype=torch.int32).random_(generator=generator).numpy()


def _random_subset(n: int, d: int, k: int, x: Tensor, generator: torch.Generator | None) -> Tensor:
    """Indices (n, k) of k distinct components per row, uniformly at random: the k smallest of d
    uniform keys per row. On the CPU an O(d) NumPy partition of integer keys, about twice as
    fast as torch's rand + topk there (ties, probability < d·2⁻³¹, are broken by position)."""
    if x.device.type == "cpu":
        keys = _int_keys(n, d, generator)
        return torch.from_numpy(np.argpartition(keys, k - 1, axis=1)[:, :k].astype(np.int64, copy=False))
    return _rand(x, (n, d), generator).topk(k, dim=1, largest=False, sorted=False).indices


def _keep_mask_cpu(n: int, d: int, k: int, generator: torch.Generator | None) -> np.ndarray:
    """Boolean (n, d), False at k components per row chosen uniformly at random: the k smallest
    of d uniform 31-bit keys, found by a partition for the k-th key and one comparison (cheaper
    than indices + scatter). A row whose k-th key is tied (probability < d·2⁻³¹) gets its k
    smallest by an index partition instead, so every row has exactly k zeros."""
    keys = _int_keys(n, d, generator)
    kth = np.partition(keys, k - 1, axis=1)[:, k - 1 : k]
    keep = keys > kth
    if np.count_nonzero(keep) != n * (d - k):
        tied = np.flatnonzero(keep.sum(axis=1) != d - k)
        fixed = np.ones((len(tied), d), dtype=bool)
        np.put_along_axis(fixed, np.argpartition(keys[tied], k - 1, axis=1)[:, :k], False, axis=1)
        keep[tied] = fixed
    return keep


_NUMPY_FLOATS = (torch.float32, torch.float64, torch.float16)


class Corruption:
    """Base class of corruption processes: ``__call__(x, generator=None) -> x_tilde``."""

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(vars(self).items(), key=str))))

    @property
    def spec(self) -> str:
        """A string that :func:`make_corruption` turns back into this process."""
        raise NotImplementedError


class Identity(Corruption):
    """No corruption: x̃ = x (the ordinary autoencoder, ν = 0)."""

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return x.clone()

    @property
    def spec(self) -> str:
        return "none"


class Masking(Corruption):
    """Masking noise (Vincent et al. 2010, §4.2): a fraction ν of the components set to 0.

    With ``exact=True`` (the paper's process) exactly round(ν·d) components of every example,
    chosen uniformly at random, are zeroed. With ``exact=False`` (the Theano tutorial's) each
    component is zeroed independently with probability ν.
    """

    def __init__(self, fraction: float, exact: bool = True) -> None:
        self.fraction = check_fraction(fraction, "fraction")
        self.exact = bool(exact)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if self.fraction == 0.0:
            return x.clone()
        rows = _as_rows(x)
        n, d = rows.shape
        if not self.exact:
            keep = _rand(x, (n, d), generator) >= self.fraction
            return (rows * keep).reshape(x.shape)
        k = round(self.fraction * d)
        if k == 0:
            return x.clone()
        if x.device.type == "cpu" and x.dtype in _NUMPY_FLOATS and not x.requires_grad:
            keep_np = _keep_mask_cpu(n, d, k, generator)
            x_tilde = np.multiply(rows.detach().numpy(), keep_np)  # NumPy's float×bool is ~3× torch's here
            return torch.from_numpy(x_tilde).reshape(x.shape)
        idx = _random_subset(n, d, k, x, generator)
        return rows.scatter(1, idx, 0.0).reshape(x.shape)

    @property
    def spec(self) -> str:
        return f"masking:{self.fraction}" + ("" if self.exact else ":bernoulli")


class SaltPepper(Corruption):
    """Salt-and-pepper noise (Vincent et al. 2010, §4.2).

    A fraction ν of the components (exactly round(ν·d) per example when ``exact=True``) is set
    to ``low`` or ``high`` with probability 1/2 each.
    """

    def __init__(self, fraction: float, low: float = 0.0, high: float = 1.0, exact: bool = True) -> None:
        self.fraction = check_fraction(fraction, "fraction")
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise ValueError(f"low and high must be finite with low < high, got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)
        self.exact = bool(exact)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        rows = _as_rows(x)
        n, d = rows.shape
        if self.exact:
            k = round(self.fraction * d)
            if k == 0:
                return x.clone()
            idx = _random_subset(n, d, k, x, generator)
            salt = _rand(x, (n, k), generator) < 0.5
            values = torch.where(salt, self.high, self.low).to(rows.dtype)
            return rows.scatter(1, idx, values).reshape(x.shape)
        u = _rand(x, (n, d), generator)
        salt = _rand(x, (n, d), generator) < 0.5
        values = torch.where(salt, self.high, self.low).to(rows.dtype)
        return torch.where(u < self.fraction, values, rows).reshape(x.shape)

    @property
    def spec(self) -> str:
        return f"saltpepper:{self.fraction}"


class Gaussian(Corruption):
    """Additive isotropic Gaussian noise: x̃ = x + ε, ε ~ N(0, σ²I) (Vincent 2011, §2)."""

    def __init__(self, sigma: float) -> None:
        self.sigma = check_positive(sigma, "sigma")

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x + self.sigma * noise

    def score_target(self, x: Tensor, x_tilde: Tensor) -> Tensor:
        """∂ log q_σ(x̃ | x) / ∂x̃ = (x − x̃)/σ², the target of denoising score matching."""
        return (x - x_tilde) / self.sigma**2

    @property
    def spec(self) -> str:
        return f"gaussian:{self.sigma}"


class SwapNoise(Corruption):
    """Swap noise: each component replaced, independently with probability p, by the same
    component of another row of the batch chosen uniformly at random (the corruption of the
    denoising autoencoder that won Kaggle's Porto Seguro competition, Jahrer 2018).

    Every corrupted value is one that its column holds in another row, so the marginal
    distribution of each column is preserved, whatever its type or scale (one-hot blocks are
    best swapped as whole columns of the source table, before encoding). A batch of one row
    has no other row and comes back unchanged.
    """

    def __init__(self, fraction: float) -> None:
        self.fraction = check_fraction(fraction, "fraction")

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        rows = _as_rows(x)
        n, d = rows.shape
        if n < 2 or self.fraction == 0.0:
            return x.clone()
        swap = _rand(x, (n, d), generator) < self.fraction
        # row i takes row (i + k) mod n with k uniform in 1..n-1: uniform over the other rows
        shift = torch.randint(1, n, (n, d), generator=generator, device=x.device)
        source = (torch.arange(n, device=x.device).unsqueeze(1) + shift) % n
        donors = torch.gather(rows, 0, source)
        return torch.where(swap, donors, rows).reshape(x.shape)

    @property
    def spec(self) -> str:
        return f"swap:{self.fraction}"


class Compose(Corruption):
    """Apply several corruption processes in order (any callable with the same signature)."""

    def __init__(self, corruptions: Sequence[Callable[..., Tensor]]) -> None:
        corruptions = list(corruptions)
        for i, c in enumerate(corruptions):
            if not callable(c):
                raise TypeError(f"corruptions[{i}] must be callable (x, generator) -> x_tilde, got {c!r}")
        self.corruptions = corruptions

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        for c in self.corruptions:
            x = c(x, generator)
        return x

    @property
    def spec(self) -> str:
        # only Corruption parts have a spec; a plain callable part raises AttributeError here
        return "+".join(c.spec for c in self.corruptions)  # type: ignore[attr-defined]


_KINDS = {
    "masking": Masking,
    "gaussian": Gaussian,
    "saltpepper": SaltPepper,
    "salt-pepper": SaltPepper,
    "swap": SwapNoise,
}


def make_corruption(spec: str | Corruption | Callable | None, level: float | None = None) -> Callable[..., Tensor]:
    """Build a corruption from a spec such as ``"masking:0.25"``, ``"gaussian:0.5"``,
    ``"saltpepper:0.1"``, ``"swap:0.15"``, ``"masking:0.3:bernoulli"``, ``"none"`` or ``"masking:0.2+gaussian:0.1"``.

    ``level`` supplies the noise level when the spec names only the kind (``"masking"``).
    A corruption object or any callable is returned unchanged.
    """
    if spec is None:
        return Identity()
    if not isinstance(spec, str):
        if callable(spec):
            return spec
        raise TypeError(f"corruption must be a string like 'masking:0.25' or a callable, got {spec!r}")
    if "+" in spec:
        return Compose([make_corruption(part, level) for part in spec.split("+")])
    kind, *rest = spec.strip().lower().split(":")
    if kind in ("none", "identity"):
        return Identity()
    if kind not in _KINDS:
        raise ValueError(f"corruption must be one of {sorted(set(_KINDS) | {'none'})} (as 'kind:level'), got {spec!r}")
    if rest:
        try:
            value = float(rest[0])
        except ValueError:
            raise ValueError(f"corruption level in {spec!r} must be a number") from None
    elif level is not None:
        value = float(level)
    else:
        raise ValueError(f"corruption {spec!r} needs a level, e.g. '{kind}:0.25'")
    if kind == "masking" and value == 0.0:
        return Identity()
    if kind == "masking" and len(rest) > 1:
        if rest[1] != "bernoulli":
            raise ValueError(f"unknown masking option {rest[1]!r} in {spec!r}; expected 'bernoulli'")
        return Masking(value, exact=False)
    return _KINDS[kind](value)


class ShardedCorruption:
    """Corrupt this rank's rows [start, stop) of a global batch of ``global_size`` rows exactly as a
    single process corrupting the whole global batch would: draw for the whole batch (other
    ranks' rows are placeholders; every corruption acts row by row) and keep this rank's rows."""

    def __init__(self, corruption: Callable[..., Tensor], start: int, stop: int, global_size: int) -> None:
        self.corruption, self.start, self.stop, self.global_size = corruption, start, stop, global_size

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        full = x.new_zeros((self.global_size, *x.shape[1:]))
        full[self.start : self.stop] = x
        return self.corruption(full, generator)[self.start : self.stop]
