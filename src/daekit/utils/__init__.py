"""Low-level helpers shared by every layer: parameter checks (:mod:`.validation`), atomic file
writes (:mod:`.atomic`), devices and generators (:mod:`.runtime`), tensor shapes (:mod:`.tensors`)."""
