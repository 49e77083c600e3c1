import os
import sys

from .cli import main

code = main()
if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # a torchrun rank
    from .training.distributed import end_rank_process

    end_rank_process(code)
sys.exit(code)
