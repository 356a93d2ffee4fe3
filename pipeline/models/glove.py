"""``glove``: the embedding model with its Embedding initialised from GloVe 6B vectors.

Embedding(num_words, glove_dim) -> Flatten -> the classifier head, as ``embedding``,
but the embedding's rows are the GloVe vectors of the vocabulary's words (zero for the
reserved indices and for words GloVe lacks) and frozen, as in Deep Learning with
Python 6.1.3; ``trainable`` fine-tunes them instead. The vectors come from the
DownloadVectors task (:mod:`pipeline.ml.glove`), so the tasks that train this model
require it and pass the matrix to :meth:`Glove.build`; its size follows the vectors
(``glove_dim``: 50 offline from the PyPI package, 50/100/200/300 from glove.6B.zip).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import PipelineError
from ..ml.glove import GLOVE_DIM
from ..ml.training import TRAINING
from ..params import Flag, Param, Values
from .base import Model
from .embedding import SEQUENCE_DEFAULTS, classifier

TRAINABLE = Param("trainable", Flag(), False,
                  "Fine-tune the pretrained vectors (default: frozen)")


class Glove(Model):
    """Frozen (or fine-tuned) GloVe vectors, flattened into the classifier head."""

    name = "glove"
    representation = "sequences"
    parameters = (GLOVE_DIM, TRAINABLE, *TRAINING)
    defaults = SEQUENCE_DEFAULTS
    pretrained = "glove_dim"

    def describe(self, params: Values) -> str:
        state = "fine-tuned" if params["trainable"] else "frozen"
        return (f"GloVe 6B {params['glove_dim']}d ({state}) on {params['maxlen']} words, "
                f"{params['optimizer']} lr {float(params['learning_rate']):g}")

    def build(self, params: Values, num_words: int, num_classes: int, *, fast: bool,
              extra: Mapping[str, Any]) -> Any:
        matrix = extra.get("embedding_matrix")
        dim = int(params["glove_dim"])
        if matrix is not None and matrix.shape != (num_words, dim):
            raise PipelineError(f"the GloVe matrix has shape {matrix.shape}, expected "
                                f"({num_words}, {dim}) for glove_dim {dim}")
        return classifier(params, num_words, num_classes, dim, name="glove", matrix=matrix,
                          trainable=bool(params["trainable"]))
