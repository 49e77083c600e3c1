"""Run folders and the runs of the commands that write them (:class:`RunFolder`, the DAE run of
``daekit train``/``demo``, the score-matching run of ``daekit score train``)."""

from .dae import DAERunConfig, train_dae_run
from .folder import RunFolder, RunFolderInUseError, check_resume

__all__ = ["RunFolder", "RunFolderInUseError", "check_resume", "DAERunConfig", "train_dae_run"]
