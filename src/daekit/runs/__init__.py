"""Run folders and the runs of the commands that write them.

* :mod:`~daekit.runs.folder` — :class:`RunFolder`: config, metrics, checkpoints, figures, the lock
  against two writers and the one resume rule (:func:`check_resume`).
* :mod:`~daekit.runs.dae` — the DAE run of ``daekit train`` and ``daekit demo``.
* :mod:`~daekit.runs.stacked` — the stacked run of ``daekit sda``.
* :mod:`~daekit.runs.score` — the score-matching run of ``daekit score train``.
"""
