"""``embedding``: a learned word embedding on padded sequences (Deep Learning with Python 6.1).

Embedding(num_words, embedding_dim) -> Flatten -> the classifier head (Dense(1, sigmoid)
for two classes). Trained from scratch; it has no numpy twin, so ``predict`` scores
with Keras.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..ml import heads
from ..ml.training import TRAINING
from ..params import Integer, Param, Value, Values
from .base import Model

MAX_EMBEDDING_DIM = 4096
EMBEDDING_DIM = Param("embedding_dim", Integer(1, MAX_EMBEDDING_DIM), 100,
                      "Size of each learned word vector")
#: The notebook's training settings for the sequence models (Deep Learning with Python
#: 6.1.3: 10 epochs of batch 32), before [experiment]'s 20 epochs of 512.
SEQUENCE_DEFAULTS: dict[str, Value] = {"epochs": 10, "batch_size": 32}


def classifier(params: Values, num_words: int, num_classes: int, dim: int, *, name: str,
               pooled: bool = False, matrix: Any = None, trainable: bool = True) -> Any:
    """Embedding(num_words, dim) -> Flatten (or masked GlobalAveragePooling1D with
    ``pooled``) -> the head, compiled. ``matrix`` (num_words x dim) sets the embedding's
    weights; ``trainable=False`` freezes them. The models of this family share it."""
    import keras

    inputs = keras.Input(shape=(int(params["maxlen"]),), dtype="int32", name="indices")
    embedding = keras.layers.Embedding(num_words, dim, mask_zero=pooled, trainable=trainable,
                                       name="embedding")
    x = embedding(inputs)
    x = (keras.layers.GlobalAveragePooling1D(name="average") if pooled
         else keras.layers.Flatten(name="flatten"))(x)
    outputs = heads.output_layer(num_classes)(x)
    model = keras.Model(inputs, outputs, name=name)
    if matrix is not None:
        embedding.set_weights([matrix])
    return heads.compiled(model, params, num_classes)


class Embedding(Model):
    """A word embedding learned from scratch, flattened into the classifier head."""

    name = "embedding"
    representation = "sequences"
    parameters = (EMBEDDING_DIM, *TRAINING)
    defaults = SEQUENCE_DEFAULTS

    def sizes(self, params: Values, num_words: int, num_classes: int) -> tuple[int, int]:
        out = 1 if num_classes == 2 else num_classes
        dim, maxlen = int(params["embedding_dim"]), int(params["maxlen"])
        return (num_words * dim + maxlen * dim * out + out,
                int(params.get("batch_size", 1)) * maxlen * dim)

    def describe(self, params: Values) -> str:
        return (f"embedding {params['embedding_dim']}d on {params['maxlen']} words, "
                f"{params['optimizer']} lr {float(params['learning_rate']):g}")

    def build(self, params: Values, num_words: int, num_classes: int, *, fast: bool,
              extra: Mapping[str, Any]) -> Any:
        return classifier(params, num_words, num_classes, int(params["embedding_dim"]),
                          name="embedding")
