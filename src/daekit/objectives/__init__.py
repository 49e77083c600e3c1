"""Training objectives: the contract (:mod:`.protocol`) and the objectives of the seeds —
denoising (:mod:`.denoising`), walkback (:mod:`.walkback`) and supervised classification
(:mod:`.classification`). Score-matching objectives live with the score models in
:mod:`daekit.score`."""
