"""Training-step throughput of a tied sigmoid DAE against the matrix-multiply ceiling.

For each layer shape and batch size, in one run, the three measured in turn for --rounds rounds
(the order rotating from round to round):
  ceiling  the five matrix products of one step alone (two forward, three backward), timed with
           preallocated outputs: the speed no implementation can pass on this machine;
  daekit   ``daekit.fit`` on a DAE with masking noise (the public API: batching, corruption,
           loss accumulation, NaN check and all), examples/s from the epoch's wall time;
  plain    a plain PyTorch loop: autograd, torch.optim.SGD, Bernoulli masking by rand_like.

    python benchmarks/train_step.py [--quick] [--threads N]

A ratio is taken within each round (ceiling / daekit, plain / daekit: measurements a few seconds
apart see the same load from other jobs) and the table gives the median over the rounds with the
range; examples/s are medians too. On a shared machine this is far steadier than comparing the
best times of separate runs, whose load differs.

Prints a table and appends one JSON line to benchmarks/results/train_step.jsonl.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from _report import append_result, machine_info, round_ratios, timed_rounds
from daekit import DAE, DenoisingObjective, Masking, TrainConfig, fit


def ceiling_seconds_per_step(batch: int, n_in: int, n_hidden: int, steps: int) -> float:
    """Time of exactly the five products of one tied-DAE step, per step."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, n_in, generator=g)
    W = torch.rand(n_hidden, n_in, generator=g)
    h = torch.rand(batch, n_hidden, generator=g)
    dz = torch.rand(batch, n_in, generator=g)
    a_out, z_out, dh_out = torch.empty(batch, n_hidden), torch.empty(batch, n_in), torch.empty(batch, n_hidden)
    g1, g2 = torch.empty(n_hidden, n_in), torch.empty(n_hidden, n_in)
    Wt, ht = W.t(), h.t()
    for _ in range(max(steps // 10, 3)):
        torch.mm(x, Wt, out=a_out)
    t0 = time.perf_counter()
    for _ in range(steps):
        torch.mm(x, Wt, out=a_out)  # a = x̃ Wᵀ
        torch.mm(h, W, out=z_out)  # z = h W
        torch.mm(dz, Wt, out=dh_out)  # δh = δz Wᵀ
        torch.mm(ht, dz, out=g1)  # ∂W (decoder) = hᵀ δz
        torch.mm(ht, x, out=g2)  # ∂W (encoder) = δaᵀ x̃
    return (time.perf_counter() - t0) / steps


def daekit_seconds_per_step(data: torch.Tensor, batch: int, n_hidden: int, steps: int) -> float:
    """``daekit.fit`` for one epoch of ``steps`` batches (after a warm-up epoch), per step."""
    x = data[: steps * batch]
    model = DAE(x.shape[1], n_hidden, generator=torch.Generator().manual_seed(0))
    history = fit(
        model, DenoisingObjective(Masking(0.25)), x, TrainConfig(epochs=2, batch_size=batch, lr=0.01, seed=0, verbose=0)
    )
    return history.records[-1]["seconds"] / steps


def plain_seconds_per_step(data: torch.Tensor, batch: int, n_hidden: int, steps: int) -> float:
    """A plain PyTorch training loop for the same model (the straightforward way)."""
    x_all = data[: steps * batch]
    n_in = x_all.shape[1]
    bound = 4 * (6 / (n_in + n_hidden)) ** 0.5
    W = torch.nn.Parameter(torch.empty(n_hidden, n_in).uniform_(-bound, bound))
    b = torch.nn.Parameter(torch.zeros(n_hidden))
    c = torch.nn.Parameter(torch.zeros(n_in))
    opt = torch.optim.SGD([W, b, c], lr=0.01)

    def epoch() -> float:
        perm = torch.randperm(len(x_all))
        t0 = time.perf_counter()
        for i in range(0, len(x_all), batch):
            x = x_all[perm[i : i + batch]]
            x_tilde = x * (torch.rand_like(x) > 0.25)
            h = torch.sigmoid(F.linear(x_tilde, W, b))
            z = F.linear(h, W.t(), c)
            loss = F.binary_cross_entropy_with_logits(z, x, reduction="sum") / len(x)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return time.perf_counter() - t0

    epoch()
    return epoch() / steps


def load_inputs(n: int, n_in: int) -> torch.Tensor:
    if n_in == 784:
        try:
            from daekit.datasets import load_mnist

            x = torch.as_tensor(load_mnist(download=False, verbose=False)[0])
            return x.repeat(max(1, -(-n // len(x))), 1)[:n]
        except Exception:
            pass
    return torch.rand(n, n_in, generator=torch.Generator().manual_seed(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and (unless --rounds) 3 rounds")
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds per cell (default 7; ratios: median over rounds)"
    )
    parser.add_argument("--batches", default="1,20,128,512")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rounds = args.rounds or (3 if args.quick else 7)
    batches = [int(b) for b in args.batches.split(",")]
    shapes = [(784, 1000), (1000, 1000)]
    rows = []
    for n_in, n_hidden in shapes:
        for batch in batches:
            # about 0.5-2 s of work per measurement
            steps = {1: 3000, 20: 500, 128: 100, 512: 30}.get(batch, max(3000 // batch, 20))
            if args.quick:
                steps = max(steps // 4, 10)
            data = load_inputs(steps * batch, n_in)
            timers = {
                "ceiling": lambda: ceiling_seconds_per_step(batch, n_in, n_hidden, steps),
                "daekit": lambda: daekit_seconds_per_step(data, batch, n_hidden, steps),
                "plain": lambda: plain_seconds_per_step(data, batch, n_hidden, steps),
            }
            seconds = timed_rounds(timers, rounds)
            share, share_range = round_ratios(seconds["ceiling"], seconds["daekit"])
            speedup, speedup_range = round_ratios(seconds["plain"], seconds["daekit"])
            row = {
                "layer": f"{n_in}->{n_hidden}",
                "batch": batch,
                "rounds": rounds,
                **{f"{k}_examples_per_s": batch / statistics.median(v) for k, v in seconds.items()},
                "daekit_fraction_of_ceiling": share,
                "daekit_fraction_of_ceiling_range": share_range,
                "plain_fraction_of_ceiling": round_ratios(seconds["ceiling"], seconds["plain"])[0],
                "daekit_over_plain": speedup,
                "daekit_over_plain_range": speedup_range,
                "seconds_per_step": seconds,
            }
            rows.append(row)
            print(
                f"{row['layer']:>10} batch {batch:>4}: ceiling {row['ceiling_examples_per_s']:9.0f}/s  "
                f"daekit {row['daekit_examples_per_s']:9.0f}/s ({row['daekit_fraction_of_ceiling']:.0%})  "
                f"plain {row['plain_examples_per_s']:9.0f}/s ({row['plain_fraction_of_ceiling']:.0%})  "
                f"daekit/plain {row['daekit_over_plain']:.2f}x (medians of {rounds} rounds)",
                flush=True,
            )
    machine = machine_info()
    print(
        "\n| layer | batch | ceiling ex/s | daekit ex/s | daekit / ceiling (range) | plain / ceiling "
        "| daekit / plain (range) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        lo, hi = r["daekit_fraction_of_ceiling_range"]
        slo, shi = r["daekit_over_plain_range"]
        print(
            f"| {r['layer']} | {r['batch']} | {r['ceiling_examples_per_s']:.0f} | {r['daekit_examples_per_s']:.0f} | "
            f"{r['daekit_fraction_of_ceiling']:.0%} ({lo:.0%}–{hi:.0%}) | {r['plain_fraction_of_ceiling']:.0%} | "
            f"{r['daekit_over_plain']:.2f}x ({slo:.2f}–{shi:.2f}) |"
        )
    print(f"\nmachine: {machine}")
    append_result("train_step", {"quick": args.quick, "machine": machine, "rows": rows})


if __name__ == "__main__":
    main()
