"""Speed of the U-Net denoiser: training through daekit against a plain PyTorch loop, and the
ODE sampler against the bare forward pass.

1. Training. The same EDM-preconditioned :class:`daekit.models.unet.UNet`, batch and data (random
   28×28 images), --steps optimizer steps each way, timed in turn for --rounds rounds:
     plain   the textbook loop: contiguous tensors, ``torch.optim.Adam`` (for-each kernel), the
             EDM loss written inline, no weight average, in float32 (``--plain-precision bfloat16``
             wraps its forward pass in bfloat16 autocast, for the same-precision ratio);
     daekit  :func:`daekit.runs.denoiser.train_denoiser` — ``daekit.fit`` on ``EDMLoss`` with the
             model in channels-last format, fused Adam and the weight average updated every step
             (``--precision bfloat16`` adds autocast; it pays only where bfloat16 is native).
   Both are warmed up first; the ratio daekit/plain images/s is taken within each round.
2. Sampling. :func:`daekit.sampling.edm.heun_sampler` (``--sample-steps`` steps = 2n − 1 network
   evaluations) on a batch of --sample-batch against that many bare ``model(x, σ)`` calls under
   ``torch.no_grad()``: seconds per evaluation, and their ratio.

    python benchmarks/unet_speed.py [--threads 1] [--channels 32 --blocks 2] [--quick]

Prints a table and appends one JSON line to benchmarks/results/unet_speed.jsonl.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from _report import append_result, machine_info, round_ratios, timed_rounds
from daekit.models.edm import EDMDenoiser
from daekit.models.unet import UNet
from daekit.numerics.precision import bfloat16_is_native
from daekit.runs.denoiser import train_denoiser
from daekit.sampling.edm import heun_sampler


def make_model(args: argparse.Namespace, seed: int = 0) -> EDMDenoiser:
    torch.manual_seed(seed)
    return EDMDenoiser(UNet(1, args.channels, tuple(args.channel_mult), args.blocks), sigma_data=0.31)


def plain_loop(args: argparse.Namespace, x: torch.Tensor) -> float:
    """Seconds for ``args.steps`` steps of the textbook loop."""
    model = make_model(args)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    sd = model.sigma_data
    t0 = time.perf_counter()
    for step in range(args.steps):
        xb = x[step * args.batch : (step + 1) * args.batch]
        sigma = torch.exp(torch.randn(len(xb), generator=g) * 1.2 - 1.2)
        s = sigma[:, None, None, None]
        noisy = xb + s * torch.randn(xb.shape, generator=g)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.plain_precision == "bfloat16"):
            denoised = model(noisy, sigma)
        loss = ((s**2 + sd**2) / (s * sd) ** 2 * (denoised.float() - xb) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def daekit_loop(args: argparse.Namespace, x: torch.Tensor) -> float:
    """Seconds for ``args.steps`` steps of :func:`train_denoiser` (one epoch over steps·batch images)."""
    model = make_model(args)
    t0 = time.perf_counter()
    train_denoiser(
        model,
        x[: args.steps * args.batch].numpy(),
        epochs=1,
        batch_size=args.batch,
        lr=1e-3,
        precision=args.precision,
        verbose=0,
    )
    return time.perf_counter() - t0


def sampling(args: argparse.Namespace) -> dict:
    model = make_model(args).eval().to(memory_format=torch.channels_last)
    with torch.no_grad():  # a trained network's output is not zero: give the last layer weights
        model.net.conv_out.weight.normal_(0, 0.01)
    z = torch.randn(args.sample_batch, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    evals = 2 * args.sample_steps - 1
    sigma = torch.full((args.sample_batch,), 1.0)

    def bare() -> float:
        t0 = time.perf_counter()
        with torch.no_grad():
            for _ in range(evals):
                model(z, sigma)
        return time.perf_counter() - t0

    def sampler() -> float:
        t0 = time.perf_counter()
        heun_sampler(model, z, args.sample_steps)
        return time.perf_counter() - t0

    bare(), sampler()  # warm-up
    seconds = timed_rounds({"bare": bare, "sampler": sampler}, args.rounds)
    ratio, span = round_ratios(seconds["bare"], seconds["sampler"])
    per_eval = {k: statistics.median(v) / evals for k, v in seconds.items()}
    return {
        "evaluations": evals,
        "batch": args.sample_batch,
        "seconds_per_eval": per_eval,
        "images_per_second_forward": {k: args.sample_batch / v for k, v in per_eval.items()},
        "sampler_over_bare": ratio,
        "sampler_over_bare_range": span,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--channel-mult", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2, 2])
    p.add_argument("--blocks", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--precision", default="float32", choices=["float32", "bfloat16"], help="daekit's precision")
    p.add_argument("--plain-precision", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--sample-steps", type=int, default=6)
    p.add_argument("--sample-batch", type=int, default=128)
    p.add_argument("--quick", action="store_true", help="2 steps, 1 round, 2 sampler steps")
    args = p.parse_args()
    if args.quick:
        args.steps, args.rounds, args.sample_steps = 2, 1, 2
    torch.set_num_threads(args.threads)
    x = torch.rand(args.steps * args.batch, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    n_params = sum(q.numel() for q in make_model(args).parameters())
    plain_loop(args, x[: 2 * args.batch]) if args.steps >= 2 else None  # warm-up
    seconds = timed_rounds({"plain": lambda: plain_loop(args, x), "daekit": lambda: daekit_loop(args, x)}, args.rounds)
    ratio, span = round_ratios(seconds["plain"], seconds["daekit"])  # daekit speed-up = plain time / daekit time
    images = args.steps * args.batch
    train = {k: images / statistics.median(v) for k, v in seconds.items()}
    sample = sampling(args)
    record = {
        "machine": machine_info(bfloat16_native=bfloat16_is_native("cpu")),
        "parameters": n_params,
        "config": {k: v for k, v in vars(args).items()},
        "train_images_per_second": train,
        "train_speedup": ratio,
        "train_speedup_range": span,
        "sampling": sample,
    }
    print(
        f"U-Net {n_params:,} parameters, batch {args.batch}, {args.threads} thread(s), "
        f"daekit {args.precision}, plain loop {args.plain_precision}:"
    )
    print(
        f"  training images/s: plain loop {train['plain']:.1f}, daekit {train['daekit']:.1f} "
        f"(daekit/plain {ratio:.2f}, range {span[0]:.2f}-{span[1]:.2f}, {args.rounds} rounds)"
    )
    print(
        f"  sampling: {sample['evaluations']} evaluations of batch {args.sample_batch}: bare forward "
        f"{sample['images_per_second_forward']['bare']:.0f} images/s, Heun sampler "
        f"{sample['images_per_second_forward']['sampler']:.0f} images/s per evaluation "
        f"(sampler/bare {sample['sampler_over_bare']:.2f})"
    )
    append_result("unet_speed", record)


if __name__ == "__main__":
    main()
