"""The models: the denoising autoencoder (:mod:`.dae`), the stacked feed-forward classifier
(:mod:`.stacked`), the score networks (:mod:`.score_networks`), the RBM (:mod:`.rbm`), and the
registry that saves and rebuilds them (:mod:`.registry`); the convolutional U-Net (:mod:`.unet`), the
EDM-preconditioned denoiser around any network (:mod:`.edm`), and the small MNIST classifier of the
sample-quality metrics (:mod:`.mnist_classifier`).

Every model module is imported here, so each model class is registered with
:func:`~daekit.models.registry.register_model` as soon as ``daekit`` is imported and
:func:`~daekit.models.registry.load_model` rebuilds any saved model in a fresh process.
"""

from . import dae, edm, mnist_classifier, rbm, registry, score_networks, stacked, unet  # noqa: F401  (fills the model registry)
