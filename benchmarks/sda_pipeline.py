"""SdA-3 pipeline: daekit against the same model written the straightforward way.

Both train layers 1000-1000-1000 with masking ν = (0.1, 0.2, 0.3), batch 20, SGD (pretraining
lr 0.05, fine-tuning lr 0.1), the same epochs, choose the fine-tuning epoch by validation error,
and report test error, wall time per phase and peak RSS, each in its own process.

  daekit  ``daekit.stacked.train_stacked``: each layer's input is encoded once after the layer
          below finishes; the DAE step is hand-written (fused); fine-tuning through ``fit``.
  plain   a plain PyTorch loop: the frozen lower layers are re-run on every minibatch, autograd
          and ``torch.optim.SGD`` everywhere.

Also: each of the three layers trained alone on its (precomputed) input, to check that stacked
pretraining costs no more than the sum of the single-layer trainings.

    python benchmarks/sda_pipeline.py [--quick] [--threads 1]

Prints a table and appends one JSON line to benchmarks/results/sda_pipeline.jsonl.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from daekit.utils.runtime import peak_rss_mb

RESULTS = Path(__file__).with_name("results")
LAYERS, NOISE = (1000, 1000, 1000), (0.1, 0.2, 0.3)


def load(train_size: int | None):
    from daekit.datasets import load_mnist

    x, y, x_test, y_test = load_mnist(download=False, verbose=False)
    n = train_size or 50000
    return (
        torch.as_tensor(x[:n]),
        torch.as_tensor(y[:n]),
        torch.as_tensor(x[50000:]),
        torch.as_tensor(y[50000:]),
        torch.as_tensor(x_test),
        torch.as_tensor(y_test),
    )


def error(net_fn, x, y) -> float:
    with torch.no_grad():
        pred = torch.cat([net_fn(x[i : i + 4096]).argmax(1) for i in range(0, len(x), 4096)])
    return float((pred != y).float().mean())


def run_daekit(args) -> dict:
    from daekit.stacked import StackedConfig, train_stacked

    x, y, xv, yv, xt, yt = load(args.train_size)
    config = StackedConfig(
        hidden_layer_sizes=LAYERS,
        noise_levels=NOISE,
        pretrain_epochs=args.pretrain_epochs,
        finetune_epochs=args.finetune_epochs,
        pretrain_learning_rate=0.05,
        finetune_learning_rate=0.1,
        batch_size=20,
        early_stopping=False,
        seed=0,
        device="cpu",
    )
    result = train_stacked(x, y, xv, yv, config, n_classes=10)
    seconds = result.phase_seconds
    return {
        "pretrain_s": sum(v for k, v in seconds.items() if k.startswith("pretrain")),
        "finetune_s": seconds["finetune"],
        "pretrain_layer_s": [seconds[f"pretrain-{k + 1}"] for k in range(3)],
        "test_error": error(result.network, xt, yt),
        "valid_error": error(result.network, xv, yv),
    }


def run_plain(args) -> dict:
    x, y, xv, yv, xt, yt = load(args.train_size)
    g = torch.Generator().manual_seed(0)
    sizes = [784, *LAYERS]
    layers = []
    t0 = time.perf_counter()
    for k in range(3):
        n_in, n_out = sizes[k], sizes[k + 1]
        bound = 4 * (6 / (n_in + n_out)) ** 0.5
        W = torch.nn.Parameter(torch.empty(n_out, n_in).uniform_(-bound, bound, generator=g))
        b, c = torch.nn.Parameter(torch.zeros(n_out)), torch.nn.Parameter(torch.zeros(n_in))
        opt = torch.optim.SGD([W, b, c], lr=0.05)
        for _ in range(args.pretrain_epochs):
            perm = torch.randperm(len(x))
            for i in range(0, len(x), 20):
                inp = x[perm[i : i + 20]]
                with torch.no_grad():  # the frozen layers below, again for every minibatch
                    for Wl, bl in layers:
                        inp = torch.sigmoid(F.linear(inp, Wl, bl))
                noisy = inp * (torch.rand_like(inp) > NOISE[k])
                z = F.linear(torch.sigmoid(F.linear(noisy, W, b)), W.t(), c)
                loss = F.binary_cross_entropy_with_logits(z, inp, reduction="sum") / len(inp)
                opt.zero_grad()
                loss.backward()
                opt.step()
        layers.append((W.detach(), b.detach()))
    pretrain_s = time.perf_counter() - t0
    net = torch.nn.Sequential(
        *[m for k in range(3) for m in (torch.nn.Linear(sizes[k], sizes[k + 1]), torch.nn.Sigmoid())],
        torch.nn.Linear(LAYERS[-1], 10),
    )
    with torch.no_grad():
        for k, (W, b) in enumerate(layers):
            net[2 * k].weight.copy_(W)
            net[2 * k].bias.copy_(b)
        net[-1].weight.zero_()
        net[-1].bias.zero_()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    best, best_state = float("inf"), None
    t0 = time.perf_counter()
    for _ in range(args.finetune_epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 20):
            idx = perm[i : i + 20]
            loss = F.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        v = error(net, xv, yv)
        if v < best:
            best, best_state = v, {k: t.clone() for k, t in net.state_dict().items()}
    finetune_s = time.perf_counter() - t0
    net.load_state_dict(best_state)
    return {"pretrain_s": pretrain_s, "finetune_s": finetune_s, "test_error": error(net, xt, yt), "valid_error": best}


def run_single_layers(args) -> dict:
    """Each layer alone, on its input precomputed (not timed): the sum is the floor for stacking."""
    from daekit import DAE, DenoisingObjective, Masking, TrainConfig, fit

    x = load(args.train_size)[0]
    seconds, inp = [], x
    for k, n_out in enumerate(LAYERS):
        dae = DAE(inp.shape[1], n_out, generator=torch.Generator().manual_seed(k))
        t0 = time.perf_counter()
        fit(
            dae,
            DenoisingObjective(Masking(NOISE[k])),
            inp,
            TrainConfig(epochs=args.pretrain_epochs, batch_size=20, lr=0.05, seed=k, verbose=0),
        )
        seconds.append(time.perf_counter() - t0)
        with torch.no_grad():
            inp = dae.encode(inp)
    return {"single_layer_s": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="10k training images, 2 pretraining and 3 fine-tuning epochs"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker", choices=["daekit", "plain", "single"], help=argparse.SUPPRESS)
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--pretrain-epochs", type=int, default=15)
    parser.add_argument("--finetune-epochs", type=int, default=30)
    args = parser.parse_args()
    if args.quick:
        args.train_size, args.pretrain_epochs, args.finetune_epochs = args.train_size or 10000, 2, 3
    torch.set_num_threads(args.threads)
    if args.worker:
        out = {"daekit": run_daekit, "plain": run_plain, "single": run_single_layers}[args.worker](args)
        out["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(out))
        return
    flags = [
        "--threads",
        str(args.threads),
        "--pretrain-epochs",
        str(args.pretrain_epochs),
        "--finetune-epochs",
        str(args.finetune_epochs),
    ] + (["--train-size", str(args.train_size)] if args.train_size else [])
    rows = {}
    for which in ("daekit", "plain", "single"):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, __file__, "--worker", which, *flags], check=True, capture_output=True, text=True
        ).stdout
        rows[which] = {**json.loads(out.strip().splitlines()[-1]), "wall_s": time.perf_counter() - t0}
        print(which, rows[which], flush=True)
    d, p, s = rows["daekit"], rows["plain"], rows["single"]
    n = args.train_size or 50000
    print(
        f"\nSdA-3 [1000,1000,1000] on {n} MNIST images, {args.pretrain_epochs} pretraining epochs per layer, "
        f"{args.finetune_epochs} fine-tuning epochs, batch 20, {args.threads} thread(s)"
    )
    print(
        "| pipeline | pretrain s | finetune s | total s | test error (%) | peak RSS (MB) |\n|---|---|---|---|---|---|"
    )
    for name, r in (("daekit", d), ("plain PyTorch", p)):
        print(
            f"| {name} | {r['pretrain_s']:.0f} | {r['finetune_s']:.0f} | {r['pretrain_s'] + r['finetune_s']:.0f} | "
            f"{100 * r['test_error']:.2f} | {r['peak_rss_mb']:.0f} |"
        )
    speedup = (p["pretrain_s"] + p["finetune_s"]) / (d["pretrain_s"] + d["finetune_s"])
    stack_ratio = d["pretrain_s"] / sum(s["single_layer_s"])
    print(
        f"\ndaekit speed-up over plain: {speedup:.2f}x (pretraining {p['pretrain_s'] / d['pretrain_s']:.2f}x, "
        f"fine-tuning {p['finetune_s'] / d['finetune_s']:.2f}x)"
    )
    print(
        f"stacked pretraining / sum of single-layer trainings: {stack_ratio:.2f} "
        f"({d['pretrain_s']:.0f} s vs {' + '.join(f'{v:.0f}' for v in s['single_layer_s'])} s)"
    )
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "sda_pipeline.jsonl", "a") as f:
        f.write(
            json.dumps(
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "args": vars(args),
                    "rows": rows,
                    "speedup": speedup,
                    "stack_ratio": stack_ratio,
                }
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
