"""Ablation behind the outlier detector's defaults on one-class MNIST (Ruff et al. 2018 protocol):
a tied DAE trained with ``daekit.fit`` (Adam 1e-3, batch 64) on one digit, scored on the test set
by the squared distance to the reconstruction mean of the clean image ("clean") and averaged
over 5 masking draws ("draws"), beside PCA with 32 components. Each config is a dict of
h (hidden units, 32), tied, act (sigmoid), rec (gaussian), corr (masking:0.25), ep (30 epochs).

    python benchmarks/outliers_mnist_ablation.py 8,9 "[dict(), dict(rec='bernoulli')]"

Prints one line per digit and config (the log of the run quoted in BENCHMARKS.md is
results/outliers_mnist_ablation.log).
"""

import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score

import daekit.corruption as C
from daekit import DAE, DenoisingObjective, TrainConfig, fit
from daekit.datasets.mnist import load_mnist

xtr, ytr, xte, yte = load_mnist(download=False, verbose=False)
digits = [int(a) for a in sys.argv[1].split(",")]
configs = eval(sys.argv[2])
for dg in digits:
    x = xtr[ytr == dg]
    lab = (yte == dg).astype(int)
    p = PCA(32, random_state=0).fit(x)
    r = p.inverse_transform(p.transform(xte))
    print(dg, "pca", round(roc_auc_score(lab, -((xte - r) ** 2).sum(1)) * 100, 1), flush=True)
    for cfg in configs:
        t = time.time()
        m = DAE(
            784,
            cfg.get("h", 32),
            cfg.get("tied", True),
            cfg.get("act", "sigmoid"),
            cfg.get("rec", "gaussian"),
            generator=torch.Generator().manual_seed(0),
        )
        corr = C.make_corruption(cfg.get("corr", "masking:0.25"))
        fit(
            m,
            DenoisingObjective(corr),
            x,
            TrainConfig(
                epochs=cfg.get("ep", 30),
                batch_size=cfg.get("bs", 64),
                lr=cfg.get("lr", 1e-3),
                optimizer="adam",
                seed=0,
                verbose=0,
                device="cpu",
            ),
        )
        m.eval()
        with torch.no_grad():
            xt = torch.tensor(xte)
            rr = m.reconstruct(xt)
            se = ((xt - rr) ** 2).sum(1).numpy()
            g = torch.Generator().manual_seed(1)
            avg = np.mean([((xt - m.reconstruct(corr(xt, g))) ** 2).sum(1).numpy() for _ in range(5)], 0)
        print(
            dg,
            cfg,
            "clean",
            round(roc_auc_score(lab, -se) * 100, 1),
            "draws",
            round(roc_auc_score(lab, -avg) * 100, 1),
            f"{time.time() - t:.1f}s",
            flush=True,
        )
