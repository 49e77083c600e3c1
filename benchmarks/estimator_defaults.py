"""Benchmark: the defaults of ``StackedDenoisingAutoencoderClassifier`` against the former ones.

Protocol (fixed for every row): an SdA with two hidden layers of 500 units, masking noise
ν = 0.25 on every layer, 3 pretraining epochs per layer and at most 30 fine-tuning epochs, trained
on the first 10,000 MNIST training images and tested on the 10,000 test images, ``random_state=0``.
Everything else is the estimator's default:

* ``former`` — the former defaults: pretraining lr 0.01, fine-tuning lr 0.1, early stopping
  (patience 10, 10 % of the training images held out);
* ``former-no-early-stopping`` and ``former-finetune-lr-0.5`` — one setting changed each;
* ``current`` — the estimator's defaults as they are now (read from its signature): the values
  the paper-budget grid selected most often (see the class docstring);
* ``current-no-early-stopping`` — the same without early stopping;
* ``logistic regression`` — the simplest baseline: scikit-learn's multinomial logistic
  regression on the raw pixels, same training images.

One torch thread. Prints a Markdown table (test error ± 95 % interval, fine-tuning epochs run,
CPU seconds of fit and predict, which do not depend on other load on the machine) and appends one
JSON line to ``benchmarks/results/estimator_defaults.jsonl``.

    DAEKIT_DATA=/work/data OMP_NUM_THREADS=1 python benchmarks/estimator_defaults.py
"""

from __future__ import annotations

import argparse
import inspect
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from _report import append_result, machine_info
from daekit.datasets import load_mnist
from daekit.estimators import StackedDenoisingAutoencoderClassifier as SdA

PROTOCOL = dict(
    hidden_layer_sizes=(500, 500),
    noise_levels=0.25,
    pretrain_epochs=3,
    finetune_epochs=30,
    random_state=0,
    device="cpu",
)
FORMER_DEFAULTS = dict(
    pretrain_learning_rate=0.01,
    finetune_learning_rate=0.1,
    early_stopping=True,
    patience=10,
    validation_fraction=0.1,
    batch_size=20,
)
ROWS = {  # name -> settings that replace the current defaults
    "former": FORMER_DEFAULTS,
    "former-no-early-stopping": {**FORMER_DEFAULTS, "early_stopping": False},
    "former-finetune-lr-0.5": {**FORMER_DEFAULTS, "finetune_learning_rate": 0.5},
    "current": {},
    "current-no-early-stopping": {"early_stopping": False},
}
SHOWN = ("pretrain_learning_rate", "finetune_learning_rate", "early_stopping", "patience")


def current_defaults() -> dict:
    """The estimator's defaults, from its ``__init__`` signature."""
    return {k: p.default for k, p in inspect.signature(SdA.__init__).parameters.items() if k != "self"}


def ci95(error: float, n: int) -> float:
    return 1.96 * float(np.sqrt(error * (1 - error) / n))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train-size", type=int, default=10_000)
    p.add_argument("--rows", default=",".join(ROWS), help="comma-separated subset of " + ", ".join(ROWS))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    x_train, y_train, x_test, y_test = load_mnist(download=False)
    x, y = x_train[: args.train_size], y_train[: args.train_size]
    results = []
    for name in [r.strip() for r in args.rows.split(",")]:
        params = {**current_defaults(), **ROWS[name], **PROTOCOL}
        t0 = time.process_time()
        clf = SdA(**params).fit(x, y)
        error = float(np.mean(clf.predict(x_test) != y_test))
        results.append(
            {
                "row": name,
                "test_error": error,
                "ci95": ci95(error, len(y_test)),
                "finetune_epochs_run": clf.n_iter_,
                "cpu_seconds": time.process_time() - t0,
                **{k: params[k] for k in SHOWN},
            }
        )
        print(results[-1], flush=True)
    t0 = time.process_time()
    error = float(np.mean(LogisticRegression(max_iter=1000).fit(x, y).predict(x_test) != y_test))
    results.append(
        {
            "row": "logistic regression",
            "test_error": error,
            "ci95": ci95(error, len(y_test)),
            "cpu_seconds": time.process_time() - t0,
        }
    )

    print("\n| setting | pretraining lr | fine-tuning lr | early stopping | test error | epochs run | CPU s |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        es = "—" if "early_stopping" not in r else (f"yes (patience {r['patience']})" if r["early_stopping"] else "no")
        print(
            f"| {r['row']} | {r.get('pretrain_learning_rate', '—')} | {r.get('finetune_learning_rate', '—')} | {es} "
            f"| {100 * r['test_error']:.2f} % ± {100 * r['ci95']:.2f} | {r.get('finetune_epochs_run', '—')} "
            f"| {r['cpu_seconds']:.0f} |"
        )
    append_result(
        "estimator_defaults",
        {"protocol": {**PROTOCOL, "train_size": args.train_size}, "machine": machine_info(), "results": results},
    )


if __name__ == "__main__":
    main()
