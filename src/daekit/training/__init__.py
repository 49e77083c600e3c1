"""Training: the one loop (:mod:`.loop`), its settings (:mod:`.config`), minibatches and
out-of-core data (:mod:`.batching`), data-parallel ranks (:mod:`.distributed`) and checkpoints
(:mod:`.checkpoints`)."""
