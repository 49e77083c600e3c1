"""One run of the tiny reproduction grid of tests/test_grid.py, for the test of two concurrent runs
on one results folder: ``python grid_run_worker.py OUT ROOT RESULT.json GO``. It imports
everything, touches ``RESULT.json.ready``, waits for the file ``GO``, runs, and writes the grid
points it computed and found cached to ``RESULT.json``."""

import json
import sys
import time
from pathlib import Path

from daekit.reproduce import BUDGETS, reproduce_vincent2010

TINY = BUDGETS["small"].replace(
    name="tiny",
    widths=(8, 16),
    pretrain_epochs=(1,),
    noise_levels=(0.1, 0.4),
    finetune_epochs=3,
    patience=2,
    svm_C=(1.0, 10.0),
    svm_gamma=(1.0,),
)
SIZES = (200, 100, 300)

if __name__ == "__main__":
    out, root, result_path, go = sys.argv[1:5]
    Path(result_path + ".ready").touch()
    while not Path(go).exists():
        time.sleep(0.01)
    result = reproduce_vincent2010("rectangles", TINY, out, root=root, sizes=SIZES, verbose=0)
    Path(result_path).write_text(
        json.dumps({"computed": result["points"]["computed"], "cached": result["points"]["cached"]})
    )
