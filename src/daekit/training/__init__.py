"""Training: the one loop (:mod:`.loop`), its settings (:mod:`.config`), and its collaborators —
the steps of an epoch (:mod:`.steps`) and their precision (:mod:`.precision`), learning-rate
schedules (:mod:`.schedules`), validation (:mod:`.validation`), early stopping
(:mod:`.early_stopping`), per-epoch checkpoints and resume (:mod:`.checkpointing`, on the folder
format of :mod:`.checkpoints`), epoch records and progress (:mod:`.epoch_log`), minibatches and
out-of-core data (:mod:`.batching`) and data-parallel ranks (:mod:`.distributed`)."""
