"""``pooled``: a learned word embedding averaged over each document's words.

Embedding(num_words, embedding_dim, mask_zero=True) -> GlobalAveragePooling1D -> the
classifier head. The padding (index 0) is masked, so a document's vector is the mean
of its own words' vectors whatever its length; with ``embedding_dim + 1`` weights in
the head it overfits far less than Flatten's ``maxlen x embedding_dim``. Scored with
Keras by ``predict`` (no numpy twin).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..ml.training import TRAINING
from ..params import Values
from .base import Model
from .embedding import EMBEDDING_DIM, SEQUENCE_DEFAULTS, classifier


class Pooled(Model):
    """A word embedding learned from scratch, averaged (masked) into the head."""

    name = "pooled"
    representation = "sequences"
    parameters = (EMBEDDING_DIM, *TRAINING)
    defaults = SEQUENCE_DEFAULTS

    def describe(self, params: Values) -> str:
        return (f"pooled embedding {params['embedding_dim']}d (masked average) on "
                f"{params['maxlen']} words, {params['optimizer']} lr "
                f"{float(params['learning_rate']):g}")

    def build(self, params: Values, num_words: int, num_classes: int, *, fast: bool,
              extra: Mapping[str, Any]) -> Any:
        return classifier(params, num_words, num_classes, int(params["embedding_dim"]),
                          name="pooled", pooled=True)
