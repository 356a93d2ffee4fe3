"""Padded sequences: each document's indices padded or cut to ``maxlen``, as a matrix.

The semantics of ``keras.utils.pad_sequences(sequences, maxlen, padding=...,
truncating=..., value=0)``: ``pre`` (the default of both) pads with zeros in front
and cuts long documents at their start, keeping their last ``maxlen`` indices;
``post`` does either at the end. numpy is imported inside the functions.
"""
from __future__ import annotations

from dataclasses import dataclass

import luigi

from ..config import experiment_default
from ..errors import PipelineError

SIDES = ("pre", "post")
MAX_MAXLEN = 100_000

PARAMETERS = {
    "maxlen": experiment_default(luigi.IntParameter, "maxlen", 150,
                                 description="sequences: length every document is padded "
                                             "or cut to"),
    "padding": experiment_default(luigi.Parameter, "padding", "pre",
                                  description="sequences: pad short documents at the start "
                                              "(pre) or the end (post)"),
    "truncating": experiment_default(luigi.Parameter, "truncating", "pre",
                                     description="sequences: cut long documents at the start "
                                                 "(pre, keeps the end) or the end (post)"),
}


def check(params):
    if not 1 <= params["maxlen"] <= MAX_MAXLEN:
        raise PipelineError(f"maxlen must be between 1 and {MAX_MAXLEN}, got {params['maxlen']}")
    for name in ("padding", "truncating"):
        if params[name] not in SIDES:
            raise PipelineError(f"{name} must be pre or post, got {params[name]!r}")


def build(split, num_words, maxlen, padding, truncating):
    """A :class:`~pipeline.datasets.Split`'s documents as a :class:`Padded` matrix."""
    return Padded(pad(split.values, split.offsets, maxlen, padding, truncating),
                  split.labels)


def from_arrays(arrays, prefix, num_words, **params):
    return Padded(arrays[f"{prefix}_padded"], arrays[f"{prefix}_labels"])


def pad(values, offsets, maxlen, padding="pre", truncating="pre"):
    """Documents ``values[offsets[k]:offsets[k + 1]]`` as an int32 ``(documents, maxlen)``
    matrix, padded with 0 and cut as ``keras.utils.pad_sequences`` does."""
    import numpy as np

    lengths = np.diff(offsets)
    kept = np.minimum(lengths, maxlen)
    source = offsets[:-1] + (lengths - kept if truncating == "pre" else 0)
    column = maxlen - kept if padding == "pre" else np.zeros_like(kept)
    rows = np.repeat(np.arange(len(kept)), kept)
    within = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)
    padded = np.zeros((len(kept), maxlen), dtype=np.int32)
    padded[rows, np.repeat(column, kept) + within] = values[np.repeat(source, kept) + within]
    return padded


@dataclass
class Padded:
    """A padded index matrix with its labels."""

    matrix: "object"   # int32, (documents, maxlen)
    labels: "object"   # class numbers

    @property
    def rows(self):
        return len(self.matrix)

    def take(self, rows):
        return Padded(self.matrix[rows], self.labels[rows])

    def to_arrays(self, prefix):
        return {f"{prefix}_padded": self.matrix, f"{prefix}_labels": self.labels}

    def batches(self, batch_size, label_dtype="float32", shuffle_seed=None, cache=False):
        """A ``tf.data.Dataset`` of ``(indices, labels)`` batches, reshuffled each epoch
        with ``shuffle_seed``; built once with ``cache``."""
        import tensorflow as tf

        data = tf.data.Dataset.from_tensor_slices(
            (self.matrix, tf.constant(self.labels, dtype=label_dtype)))
        if shuffle_seed is not None:
            data = data.shuffle(self.rows, seed=shuffle_seed, reshuffle_each_iteration=True)
        data = data.batch(batch_size)
        return (data.cache() if cache else data).prefetch(2)
