"""The models: the denoising autoencoder (:mod:`.dae`), the stacked feed-forward classifier
(:mod:`.stacked`), the score networks (:mod:`.score_networks`), the RBM (:mod:`.rbm`), and the
registry that saves and rebuilds them (:mod:`.registry`).

Every model module is imported here, so each model class is registered with
:func:`~daekit.models.registry.register_model` as soon as ``daekit`` is imported and
:func:`~daekit.models.registry.load_model` rebuilds any saved model in a fresh process.
"""

from . import dae, rbm, registry, score_networks, stacked  # noqa: F401  (fills the model registry)
