"""Run by tests/test_train.py in a subprocess: train a small DAE into a run folder.

usage: python resume_worker.py RUN_DIR EPOCHS [--resume]
"""

import sys

import torch

from daekit import DAE, DenoisingObjective, Masking, TrainConfig, fit
from daekit.datasets import Split

torch.set_num_threads(1)
run_dir, epochs, resume = sys.argv[1], int(sys.argv[2]), "--resume" in sys.argv
x = torch.rand(3000, 64, generator=torch.Generator().manual_seed(0))
model = DAE(64, 32, generator=torch.Generator().manual_seed(1))
fit(
    model,
    DenoisingObjective(Masking(0.3)),
    Split("uniform", x[:2500], x_valid=x[2500:]),
    TrainConfig(epochs=epochs, batch_size=5, lr=0.05, momentum=0.5, seed=7, verbose=0),
    run_dir=run_dir,
    resume=resume,
)
