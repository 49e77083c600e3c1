"""CD-1 training-step throughput of daekit's RBM (the DBN-3 baseline) against the matrix-multiply ceiling.

For the two layer shapes of DBN-3 and the papers' RBM minibatch (10) and a larger one, in one run,
four measured in turn for --rounds rounds (the order rotating from round to round):
  ceiling   the five matrix products of one CD-1 step alone (P(h|v0), P(v|h), P(h|v1), the two
            outer products of the weight statistics), preallocated outputs: the same five shapes
            as a tied DAE step (``train_step.py``);
  daekit    ``daekit.rbm_training.train_rbm`` (centred CD-1, momentum, weight decay; one epoch after a
            warm-up epoch, including its end-of-epoch free energy of the data), whose step is
            ``cd_momentum_step``;
  unfused   the same epoch with the update written term by term: ``cd_statistics`` then the
            momentum update (the readable definition of the step), and the same free energy;
  sklearn   scikit-learn's ``BernoulliRBM.fit`` for one epoch (persistent CD, no momentum).

    python benchmarks/rbm_step.py [--quick] [--threads N]

Ratios are taken within each round and the table gives their median over rounds with the range.
Prints a table and appends one JSON line to benchmarks/results/rbm_step.jsonl.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from _report import append_result, machine_info, round_ratios, timed_rounds
from daekit.models.rbm import RBM, RBMConfig, cd_statistics
from daekit.rbm_training import train_rbm
from train_step import ceiling_seconds_per_step, load_inputs


def daekit_seconds_per_step(data: torch.Tensor, batch: int, n_hidden: int, steps: int) -> float:
    """``train_rbm`` for two epochs; the second epoch's seconds per step."""
    _, history = train_rbm(data[: steps * batch], n_hidden, RBMConfig(epochs=2, batch_size=batch, device="cpu"))
    return history.records[-1]["seconds"] / steps


def unfused_seconds_per_step(data: torch.Tensor, batch: int, n_hidden: int, steps: int) -> float:
    """One epoch of centred CD-1 with momentum and weight decay, written term by term."""
    x = data[: steps * batch]
    rbm = RBM(x.shape[1], n_hidden, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    mu, lam = x.mean(0), torch.full((n_hidden,), 0.5)
    velocity = [torch.zeros_like(p) for p in (rbm.weight, rbm.hidden_bias, rbm.visible_bias)]
    t0 = time.perf_counter()
    with torch.no_grad():
        for idx in torch.randperm(len(x), generator=torch.Generator().manual_seed(2)).split(batch):
            v0 = x[idx]
            dw, db, dc, h0, vk = cd_statistics(rbm, v0, 1, gen, visible_offset=mu, hidden_offset=lam)
            dw = dw - 2e-4 * rbm.weight
            for vel, grad in zip(velocity, (dw, db, dc)):
                vel.mul_(0.5).add_(grad, alpha=0.05)
            step_w, step_b, step_c = velocity
            rbm.weight.add_(step_w)
            rbm.hidden_bias.add_(step_b - step_w @ mu)
            rbm.visible_bias.add_(step_c - lam @ step_w)
            lam.mul_(0.99).add_(h0.mean(0), alpha=0.01)
            float(((vk - v0) ** 2).sum())
        float(torch.cat([rbm.free_energy(c) for c in x.split(4096)]).mean())  # train_rbm's end-of-epoch record
    return (time.perf_counter() - t0) / steps


def sklearn_seconds_per_step(data: torch.Tensor, batch: int, n_hidden: int, steps: int) -> float:
    from sklearn.neural_network import BernoulliRBM

    x = data[: steps * batch].numpy().astype(np.float32)
    rbm = BernoulliRBM(n_components=n_hidden, batch_size=batch, n_iter=1, learning_rate=0.05, random_state=0)
    t0 = time.perf_counter()
    rbm.fit(x)
    return (time.perf_counter() - t0) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and (unless --rounds) 2 rounds")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per cell (default 5)")
    parser.add_argument("--batches", default="10,100")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    rounds = args.rounds or (2 if args.quick else 5)
    rows = []
    for n_in, n_hidden in [(784, 1000), (1000, 1000)]:
        for batch in [int(b) for b in args.batches.split(",")]:
            steps = max(3000 // batch, 10) // (4 if args.quick else 1)
            data = load_inputs(steps * batch, n_in).clamp(0, 1)
            timers = {
                "ceiling": lambda: ceiling_seconds_per_step(batch, n_in, n_hidden, steps),
                "daekit": lambda: daekit_seconds_per_step(data, batch, n_hidden, steps),
                "unfused": lambda: unfused_seconds_per_step(data, batch, n_hidden, steps),
                "sklearn": lambda: sklearn_seconds_per_step(data, batch, n_hidden, steps),
            }
            seconds = timed_rounds(timers, rounds)
            row = {
                "layer": f"{n_in}->{n_hidden}",
                "batch": batch,
                "rounds": rounds,
                **{f"{k}_examples_per_s": batch / statistics.median(v) for k, v in seconds.items()},
            }
            for key, (slower, faster) in {
                "daekit_fraction_of_ceiling": ("ceiling", "daekit"),
                "daekit_over_unfused": ("unfused", "daekit"),
                "daekit_over_sklearn": ("sklearn", "daekit"),
            }.items():
                row[key], row[f"{key}_range"] = round_ratios(seconds[slower], seconds[faster])
            row["seconds_per_step"] = seconds
            rows.append(row)
            print(
                f"{row['layer']:>10} batch {batch:>4}: ceiling {row['ceiling_examples_per_s']:8.0f}/s  "
                f"daekit {row['daekit_examples_per_s']:8.0f}/s ({row['daekit_fraction_of_ceiling']:.0%})  "
                f"daekit/unfused {row['daekit_over_unfused']:.2f}x  daekit/sklearn {row['daekit_over_sklearn']:.2f}x",
                flush=True,
            )
    machine = machine_info()
    print(
        "\n| layer | batch | ceiling ex/s | daekit ex/s | daekit / ceiling (range) | daekit / unfused (range) "
        "| daekit / sklearn (range) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        (lo, hi), (ulo, uhi), (slo, shi) = (
            r["daekit_fraction_of_ceiling_range"],
            r["daekit_over_unfused_range"],
            r["daekit_over_sklearn_range"],
        )
        print(
            f"| {r['layer']} | {r['batch']} | {r['ceiling_examples_per_s']:.0f} | {r['daekit_examples_per_s']:.0f} | "
            f"{r['daekit_fraction_of_ceiling']:.0%} ({lo:.0%}–{hi:.0%}) | {r['daekit_over_unfused']:.2f}x "
            f"({ulo:.2f}–{uhi:.2f}) | {r['daekit_over_sklearn']:.2f}x ({slo:.2f}–{shi:.2f}) |"
        )
    print(f"\nmachine: {machine}")
    append_result("rbm_step", {"quick": args.quick, "machine": machine, "rows": rows})


if __name__ == "__main__":
    main()
