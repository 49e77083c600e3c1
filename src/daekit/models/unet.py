"""A small noise-conditional U-Net F(x, c_noise) for C×H×W images.

The network of the denoisers of :mod:`daekit.models.edm`: residual blocks with group normalization and
SiLU (Ho, Jain & Abbeel 2020; Karras et al. 2022, "EDM", Appendix B), each modulated by an
embedding of the noise level (a per-channel scale and shift after the first normalization), a
3×3 stride-2 convolution between levels and nearest-neighbour upsampling back, with the encoder's
output of each level concatenated into the decoder at that level. With the default
``channel_mult=(1, 2, 2)`` a 28×28 input is processed at 28×28, 14×14 and 7×7. Any H×W works:
a stride-2 convolution gives ⌈H/2⌉ and the upsampling returns to the skip's exact size.

``forward(x, c_noise)`` takes a batch (N, C, H, W) and one conditioning value per example (N,)
(the EDM preconditioning passes c_noise = ¼ ln σ) and returns (N, C, H, W). The last convolution
starts at zero, so an untrained network outputs F ≡ 0 (the preconditioned denoiser is then
c_skip(σ)·x). The model has a ``config`` and ``from_config`` and is registered with
:mod:`daekit.checkpoint`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils.validation import check_positive_int
from .registry import register_model

__all__ = ["NoiseEmbedding", "ResidualBlock", "UNet", "UNetConfig"]


def _groups(channels: int) -> int:
    """Group count of a GroupNorm over ``channels``: the largest of 32, 16, 8, 4, 2, 1 that
    divides it and leaves at least 4 channels per group when it can."""
    for g in (32, 16, 8, 4, 2):
        if channels % g == 0 and channels // g >= 4:
            return g
    return 1


class NoiseEmbedding(nn.Module):
    """c_noise ↦ an embedding vector: sinusoidal features of c_noise at geometric frequencies
    (Vaswani et al. 2017; Ho et al. 2020) followed by a two-layer SiLU MLP."""

    freqs: Tensor

    def __init__(self, n_features: int, n_out: int) -> None:
        super().__init__()
        half = n_features // 2
        # frequencies 1 … 1/1000^(…); c_noise = ¼ ln σ spans about −1.6 … 1.1 for σ in [0.002, 80]
        freqs = torch.exp(-math.log(1000.0) * torch.arange(half, dtype=torch.float32) / max(half, 1)) * 100.0
        self.register_buffer("freqs", freqs, persistent=False)
        self.mlp = nn.Sequential(nn.Linear(2 * half, n_out), nn.SiLU(), nn.Linear(n_out, n_out), nn.SiLU())

    def forward(self, c_noise: Tensor) -> Tensor:
        angles = c_noise.reshape(-1, 1).float() * self.freqs.reshape(1, -1)
        return self.mlp(torch.cat([torch.cos(angles), torch.sin(angles)], dim=1))


class ResidualBlock(nn.Module):
    """h = conv(SiLU(GN(conv(SiLU(GN(x))))·(1 + scale) + shift)) + skip(x), with (scale, shift) a
    linear function of the noise embedding; ``skip`` is a 1×1 convolution when the width changes."""

    def __init__(self, c_in: int, c_out: int, n_embed: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.affine = nn.Linear(n_embed, 2 * c_out)
        self.norm2 = nn.GroupNorm(_groups(c_out), c_out)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        nn.init.zeros_(self.conv2.weight)  # each block starts as its skip connection
        assert self.conv2.bias is not None  # Conv2d is built with bias=True
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.affine(emb)[:, :, None, None].chunk(2, dim=1)
        h = F.silu(torch.addcmul(shift, self.norm2(h), 1 + scale))
        return self.conv2(self.dropout(h)) + self.skip(x)


@dataclass
class UNetConfig:
    """Everything needed to rebuild a :class:`UNet`."""

    in_channels: int = 1
    channels: int = 32
    channel_mult: tuple[int, ...] = (1, 2, 2)
    blocks_per_level: int = 2
    embed_features: int = 64
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_positive_int(self.in_channels, "in_channels")
        check_positive_int(self.channels, "channels")
        try:
            self.channel_mult = tuple(int(m) for m in self.channel_mult)
        except (TypeError, ValueError):
            raise TypeError(
                f"channel_mult must be a sequence of positive integers, got {self.channel_mult!r}"
            ) from None
        if not self.channel_mult or any(m <= 0 for m in self.channel_mult):
            raise ValueError(
                f"channel_mult must be a non-empty sequence of positive integers, got {self.channel_mult!r}"
            )
        check_positive_int(self.blocks_per_level, "blocks_per_level")
        check_positive_int(self.embed_features, "embed_features")
        if self.embed_features < 2:
            raise ValueError(f"embed_features must be >= 2, got {self.embed_features}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channel_mult"] = list(self.channel_mult)
        return d


@register_model
class UNet(nn.Module):
    """F(x, c_noise): a noise-conditional U-Net on (N, C, H, W) images (see the module docstring).

    Parameters
    ----------
    in_channels : C, the image channels (input and output).
    channels : width of the first level; level i has ``channels * channel_mult[i]``.
    channel_mult : one factor per resolution level (len − 1 halvings of H and W).
    blocks_per_level : residual blocks per level in the encoder and in the decoder.
    embed_features : sinusoidal features of c_noise (the embedding MLP is 4·channels wide).
    dropout : dropout rate inside the residual blocks.
    """

    def __init__(
        self,
        in_channels: int = 1,
        channels: int = 32,
        channel_mult: Sequence[int] = (1, 2, 2),
        blocks_per_level: int = 2,
        embed_features: int = 64,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.config = UNetConfig(
            in_channels, channels, tuple(channel_mult), blocks_per_level, embed_features, float(dropout)
        )
        c = self.config
        n_embed = 4 * c.channels
        widths = [c.channels * m for m in c.channel_mult]
        self.embed = NoiseEmbedding(c.embed_features, n_embed)
        self.conv_in = nn.Conv2d(c.in_channels, widths[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        self.downsample = nn.ModuleList()
        width = widths[0]
        for i, w in enumerate(widths):
            blocks = nn.ModuleList()
            for _ in range(c.blocks_per_level):
                blocks.append(ResidualBlock(width, w, n_embed, c.dropout))
                width = w
            self.down_blocks.append(blocks)
            if i < len(widths) - 1:
                self.downsample.append(nn.Conv2d(w, w, 3, stride=2, padding=1))
        self.mid = nn.ModuleList([ResidualBlock(width, width, n_embed, c.dropout) for _ in range(2)])
        self.up_blocks = nn.ModuleList()
        for _, w in reversed(list(enumerate(widths))):
            blocks = nn.ModuleList()
            for j in range(c.blocks_per_level):
                blocks.append(ResidualBlock(width + (w if j == 0 else 0), w, n_embed, c.dropout))
                width = w
            self.up_blocks.append(blocks)
        self.norm_out = nn.GroupNorm(_groups(width), width)
        self.conv_out = nn.Conv2d(width, c.in_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        assert self.conv_out.bias is not None  # Conv2d is built with bias=True
        nn.init.zeros_(self.conv_out.bias)

    @classmethod
    def from_config(cls, config: UNetConfig | dict[str, Any]) -> UNet:
        if isinstance(config, dict):
            config = UNetConfig(**config)
        return cls(**config.to_dict())

    def forward(self, x: Tensor, c_noise: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"x must have shape (N, {self.config.in_channels}, H, W), got {tuple(x.shape)}")
        emb = self.embed(c_noise.reshape(-1).expand(x.shape[0]) if c_noise.numel() == 1 else c_noise)
        h = self.conv_in(x)
        skips = []
        for i, blocks in enumerate(self.down_blocks):
            for block in cast(nn.ModuleList, blocks):
                h = block(h, emb)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        for block in self.mid:
            h = block(h, emb)
        for blocks in self.up_blocks:
            skip = skips.pop()
            if h.shape[-2:] != skip.shape[-2:]:
                h = F.interpolate(h, size=skip.shape[-2:], mode="nearest")
            h = torch.cat([h, skip], dim=1)
            for block in cast(nn.ModuleList, blocks):
                h = block(h, emb)
        return self.conv_out(F.silu(self.norm_out(h)))

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"in_channels={c.in_channels}, channels={c.channels}, channel_mult={list(c.channel_mult)}, "
            f"blocks_per_level={c.blocks_per_level}"
        )
