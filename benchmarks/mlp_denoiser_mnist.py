"""The MLP noise-conditional score network of §6 under the EDM preconditioning: is its noise-only
annealed Langevin a parameterization defect or a capacity limit?

§6 trains ``NoiseConditionalScoreNet`` [2048] with the annealed objective, where the network
predicts σ·s(x̃, σ) ≈ −ε directly. Here the same network is F inside
:class:`daekit.models.edm.EDMDenoiser` (``condition="score_network"``): D = c_skip·x + c_out·F(c_in·x),
trained with :class:`~daekit.models.edm.EDMLoss` through ``daekit.runs.denoiser.train_denoiser`` for
--minutes, then sampled with annealed Langevin (the U-Net's schedule: 10 levels 5 → 0.01, a final
D(x, σ_min)) and the stochastic EDM sampler, and scored with every sample-quality metric.

    DAEKIT_DATA=/path/with/mnist python benchmarks/mlp_denoiser_mnist.py [--minutes 10] [--n-samples 2000]

Prints one line per sampler and appends one JSON line to benchmarks/results/mlp_denoiser_mnist.jsonl.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import Tensor, nn

from _report import append_result, machine_info
from daekit.metrics.mnist_classifier import get_mnist_classifier
from daekit.metrics.sample_quality import evaluate_mnist_samples
from daekit.models.edm import EDMDenoiser
from daekit.models.score_networks import NoiseConditionalScoreNet
from daekit.runs.denoiser import mnist_images, train_denoiser
from daekit.sampling.edm import draw_denoiser_samples

METHODS = {"annealed": {"steps_per_level": 10}, "stochastic": {"n_steps": 18}}


class FlatImages(nn.Module):
    """F(x, σ) on (N, 1, 28, 28) images through an MLP on their 784 pixels."""

    def __init__(self, net: NoiseConditionalScoreNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor, sigma: Tensor) -> Tensor:
        return self.net(x.reshape(len(x), -1), sigma).reshape(x.shape)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--hidden", type=int, default=2048)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--n-samples", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    x_train, _, x_test, _ = mnist_images()
    images = x_train.reshape(-1, 1, 28, 28)
    torch.manual_seed(0)
    net = FlatImages(NoiseConditionalScoreNet(784, hidden=(args.hidden,), activation="silu"))
    model = EDMDenoiser(net, sigma_data=float(images.std()), condition="score_network")
    t0 = time.perf_counter()
    averaged, history = train_denoiser(
        model, images, minutes=args.minutes, batch_size=args.batch_size, lr=args.lr, verbose=0
    )
    train_minutes = (time.perf_counter() - t0) / 60
    averaged.eval()
    classifier = get_mnist_classifier()
    record: dict = {"machine": machine_info(), "args": vars(args), "train_minutes": train_minutes}
    record["images_seen"] = history.records[-1].get("images") if history.records else 0
    for method, options in METHODS.items():
        t0 = time.perf_counter()
        samples = draw_denoiser_samples(
            averaged, method, args.n_samples, (1, 28, 28), torch.Generator().manual_seed(1), **options
        ).clamp(0, 1)
        seconds = time.perf_counter() - t0
        metrics = evaluate_mnist_samples(samples.numpy().reshape(len(samples), -1), classifier, x_train, x_test)
        record[method] = {"seconds_per_1000": 1000 * seconds / args.n_samples, **metrics}
        print(
            f"{method}: Parzen {metrics['parzen']:.1f} ± {metrics['parzen_se']:.1f}, "
            f"Fréchet {metrics['frechet']:.1f} ± {metrics['frechet_se']:.1f}, "
            f"recognizable {100 * metrics['recognizable']:.1f} %, "
            f"max class dev. {100 * metrics['max_class_deviation']:.1f} pp, "
            f"train {train_minutes:.1f} min, {record['images_seen']} images",
            flush=True,
        )
    append_result("mlp_denoiser_mnist", record)
    print(json.dumps({k: v for k, v in record.items() if k != "machine"}, default=str)[:2000])


if __name__ == "__main__":
    main()
