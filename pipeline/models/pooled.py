"""``pooled``: a learned word embedding averaged over each document's words.

Embedding(num_words, embedding_dim, mask_zero=True) -> GlobalAveragePooling1D -> the
classifier head. The padding (index 0) is masked, so a document's vector is the mean
of its own words' vectors whatever its length; with ``embedding_dim + 1`` weights in
the head it overfits far less than Flatten's ``maxlen x embedding_dim``. Scored with
Keras by ``predict`` (no numpy twin).
"""
from . import embedding

REPRESENTATION = "sequences"
SHARED = embedding.SHARED
DEFAULTS = embedding.DEFAULTS
PARAMETERS = {"embedding_dim": embedding.PARAMETERS["embedding_dim"]}

export = None
check = embedding.check


def describe(params):
    return (f"pooled embedding {params['embedding_dim']}d (masked average) on "
            f"{params['maxlen']} words, {params['optimizer']} lr {params['learning_rate']:g}")


def build(params, num_words, num_classes, fast=False):
    return embedding.classifier(params, num_words, num_classes, params["embedding_dim"],
                                name="pooled", pooled=True)


def portable(model, params, num_words, num_classes):
    return model
