"""One-layer DAE on full MNIST, the Theano tutorial's settings, and DAE features vs an RBM.

1. 500 hidden, tied, masking noise, 15 epochs, batch 20, SGD lr 0.1, at ν = 0 and ν = 0.3:
   final training cost (mean cross-entropy per example), wall time, and the two filter
   pictures side by side (docs/images/filters_nu0_vs_nu30.png).
2. Logistic regression on the 500 DAE features (ν = 0.25) of the 60k training images, test error
   on the 10k test images, beside scikit-learn's BernoulliRBM (500 units) in the same pipeline.

    python benchmarks/dae_mnist.py [--quick] [--threads N]

Prints a table and appends one JSON line to benchmarks/results/dae_mnist.jsonl.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import BernoulliRBM

from daekit import DenoisingAutoencoder
from daekit.datasets import load_mnist
from daekit.metrics import classification_error
from daekit.viz import new_figure, save_figure, style, tile_images

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k examples, 3 epochs")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    x_train, y_train, x_test, y_test = load_mnist(download=False)
    epochs = 15
    if args.quick:
        x_train, y_train, epochs = x_train[:10000], y_train[:10000], 3
    rows: dict[str, dict] = {}

    filters = {}
    for nu in (0.0, 0.3):
        dae = DenoisingAutoencoder(
            n_components=500,
            corruption="masking",
            noise_level=nu,
            max_epochs=epochs,
            batch_size=20,
            learning_rate=0.1,
            random_state=0,
            device="cpu",
        )
        t0 = time.perf_counter()
        dae.fit(x_train)
        seconds = time.perf_counter() - t0
        filters[nu] = dae.components_
        rows[f"dae nu={nu}"] = {"final_train_cost": dae.loss_curve_[-1], "seconds": seconds}
        print(f"DAE ν={nu}: final training cost {dae.loss_curve_[-1]:.2f} in {seconds:.0f} s", flush=True)

    fig = new_figure(10, 5.3)
    with style():
        for ax, nu in zip(fig.subplots(1, 2), (0.0, 0.3)):
            ax.imshow(tile_images(filters[nu][:100]))
            ax.set_title(f"ν = {nu:.0%} masking, {epochs} epochs")
            ax.set_axis_off()
    out = ROOT / "docs" / "images" / ("filters_nu0_vs_nu30.png" if not args.quick else "filters_quick.png")
    save_figure(fig, out)

    features = {}
    t0 = time.perf_counter()
    dae = DenoisingAutoencoder(
        n_components=500,
        noise_level=0.25,
        max_epochs=epochs,
        batch_size=20,
        learning_rate=0.1,
        random_state=0,
        device="cpu",
    ).fit(x_train)
    features["DAE (ν=0.25)"] = (dae.transform(x_train), dae.transform(x_test), time.perf_counter() - t0)
    t0 = time.perf_counter()
    rbm = BernoulliRBM(n_components=500, learning_rate=0.06, batch_size=10, n_iter=epochs, random_state=0).fit(x_train)
    features["BernoulliRBM"] = (rbm.transform(x_train), rbm.transform(x_test), time.perf_counter() - t0)
    for name, (f_train, f_test, seconds) in features.items():
        t0 = time.perf_counter()
        clf = LogisticRegression(max_iter=1000, C=10.0).fit(f_train, y_train)
        err, half = classification_error(y_test, clf.predict(f_test))
        rows[name] = {
            "test_error": err,
            "ci95": half,
            "feature_seconds": seconds,
            "logreg_seconds": time.perf_counter() - t0,
        }
        print(f"{name} + logistic regression: test error {100 * err:.2f} ± {100 * half:.2f} %", flush=True)

    print("\n| model | number | time |\n|---|---|---|")
    for name, r in rows.items():
        if "test_error" in r:
            print(
                f"| {name} + logistic regression | test error {100 * r['test_error']:.2f} ± {100 * r['ci95']:.2f} % | "
                f"{r['feature_seconds']:.0f} s features + {r['logreg_seconds']:.0f} s classifier |"
            )
        else:
            print(
                f"| {name}, {epochs} epochs | final training cost {r['final_train_cost']:.2f} | {r['seconds']:.0f} s |"
            )
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    with open(results / "dae_mnist.jsonl", "a") as f:
        f.write(
            json.dumps(
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "quick": args.quick,
                    "epochs": epochs,
                    "torch_threads": torch.get_num_threads(),
                    "rows": rows,
                }
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
