"""Run by tests/test_distributed.py, alone or under torchrun: train a small DAE into a run folder.

usage: python ddp_worker.py RUN_DIR PER_RANK_BATCH EPOCHS [--resume] [--slow]
"""

import os
import sys
import time
from pathlib import Path

import torch

from daekit import DAE, DenoisingObjective, Masking, TrainConfig, fit

torch.set_num_threads(1)
run_dir, batch, epochs = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
run_dir.mkdir(parents=True, exist_ok=True)
(run_dir / f"pid-{os.environ.get('RANK', '0')}").write_text(str(os.getpid()))
x = torch.rand(480, 32, generator=torch.Generator().manual_seed(0))
model = DAE(32, 16, generator=torch.Generator().manual_seed(1))
slow = [lambda record, model: time.sleep(0.5)] if "--slow" in sys.argv else []
fit(
    model,
    DenoisingObjective(Masking(0.3)),
    x,
    TrainConfig(epochs=epochs, batch_size=batch, lr=0.1, seed=5, verbose=0, fused=False),
    run_dir=run_dir,
    resume="--resume" in sys.argv,
    callbacks=slow,
)
if "RANK" in os.environ:
    from daekit.training.distributed import end_rank_process

    end_rank_process(0)
