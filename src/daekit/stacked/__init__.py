"""Stacked denoising autoencoders: greedy layer-wise pretraining, then supervised fine-tuning.

Vincent et al. (2008, §2.4; 2010, §3.5 and Fig. 3): layer k is a denoising autoencoder trained on
the *clean* output of the already-trained layers 1..k−1. The corruption q_D is applied only to the
input of the layer being trained, never when propagating representations upward. Once all layers
are trained, their encoders f_θ initialise the hidden layers of a feed-forward network topped by
a softmax output layer, and the whole network is fine-tuned by minibatch gradient descent on the
cross-entropy of the labels, with early stopping on a validation set (the best parameters are
kept). All noise levels 0 gives ordinary stacked autoencoders (SAA, Bengio et al. 2007);
``pretrain=False`` gives the same network from random initialization.

The frozen layers' output is computed once per layer, in chunks under ``torch.no_grad`` (never for
every minibatch). Every phase runs through the one training loop, :func:`daekit.training.loop.fit`, with
its own phase name (``"pretrain-1"``, ``"pretrain-2"``, …, ``"finetune"``) so that a run folder
holds a checkpoint after every epoch of every phase and a run killed at any point resumes to the
same final weights: a finished phase is restored from its last checkpoint and the encoded data of
the next layer is recomputed from the restored weights (deterministic).
"""

from __future__ import annotations

from .classification import classification_error_metric, classification_metrics, predict_classes
from .config import CORRUPTION_KINDS, StackedConfig, layer_corruption
from .pipeline import StackedResult, encode_dataset, finetune, label_tensor, pretrain_layers, train_stacked

__all__ = [
    "CORRUPTION_KINDS",
    "StackedConfig",
    "StackedResult",
    "classification_error_metric",
    "classification_metrics",
    "layer_corruption",
    "encode_dataset",
    "pretrain_layers",
    "finetune",
    "train_stacked",
    "label_tensor",
    "predict_classes",
]
