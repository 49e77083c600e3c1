"""Numerics shared by the models' hand-written steps and the training loop: matrix-product
precision (:mod:`.precision`) and reusable work arrays (:mod:`.scratch`)."""
