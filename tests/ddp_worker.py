"""Run by tests/test_distributed.py, alone or under torchrun: train a small DAE into a run folder.

usage: python ddp_worker.py RUN_DIR PER_RANK_BATCH EPOCHS [--resume] [--slow]
"""

import atexit
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from daekit import DAE, DenoisingObjective, Masking, TrainConfig, fit

torch.set_num_threads(1)
run_dir, batch, epochs = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
run_dir.mkdir(parents=True, exist_ok=True)
rank = os.environ.get("RANK", "0")
(run_dir / f"pid-{rank}").write_text(str(os.getpid()))
# Registered before fit joins the group, so it runs after daekit's own exit handler (LIFO).
atexit.register(lambda: (run_dir / f"group-alive-at-exit-{rank}").write_text(str(dist.is_initialized())))
x = torch.rand(480, 32, generator=torch.Generator().manual_seed(0))
model = DAE(32, 16, generator=torch.Generator().manual_seed(1))
slow = [lambda record, model: time.sleep(0.5)] if "--slow" in sys.argv else []
fit(model, DenoisingObjective(Masking(0.3)), x, None,
    TrainConfig(epochs=epochs, batch_size=batch, lr=0.1, seed=5, verbose=0, fused=False),
    run_dir=run_dir, resume="--resume" in sys.argv, callbacks=slow)
