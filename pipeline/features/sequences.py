"""Padded sequences: each document's indices padded or cut to ``maxlen``, as a matrix.

The semantics of ``keras.utils.pad_sequences(sequences, maxlen, padding=...,
truncating=..., value=0)``: ``pre`` (the default of both) pads with zeros in front
and cuts long documents at their start, keeping their last ``maxlen`` indices;
``post`` does either at the end. numpy is imported inside the functions.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..ml.text import SPLITS, Split
from ..params import Choice, Integer, Param, Values
from .base import Arrays, Representation
from .multihot import known_counts

if TYPE_CHECKING:
    import numpy as np

SIDES = ("pre", "post")
MAX_MAXLEN = 100_000

MAXLEN = Param("maxlen", Integer(1, MAX_MAXLEN), 150,
               "Length every document is padded or cut to",
               "the longest IMDB review has about 2,500 words")
PADDING = Param("padding", Choice(SIDES), "pre",
                "Pad short documents at the start (pre) or the end (post)")
TRUNCATING = Param("truncating", Choice(SIDES), "pre",
                   "Cut long documents at the start (pre, keeps the end) or the end (post)")


def build(split: Split, params: Values) -> Padded:
    """A :class:`~pipeline.ml.text.Split`'s documents as a :class:`Padded` matrix."""
    return Padded(pad(split.values, split.offsets, int(params["maxlen"]),
                      str(params["padding"]), str(params["truncating"])), split.labels)


def pad(values: np.ndarray, offsets: np.ndarray, maxlen: int, padding: str = "pre",
        truncating: str = "pre") -> np.ndarray:
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

    matrix: np.ndarray   # int32, (documents, maxlen)
    labels: np.ndarray   # class numbers

    @property
    def rows(self) -> int:
        return len(self.matrix)

    def take(self, rows: np.ndarray) -> Padded:
        return Padded(self.matrix[rows], self.labels[rows])

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_padded": self.matrix, f"{prefix}_labels": self.labels}

    def batches(self, batch_size: int, label_dtype: str = "float32",
                shuffle_seed: int | None = None, cache: bool = False) -> Any:
        """A ``tf.data.Dataset`` of ``(indices, labels)`` batches, reshuffled each epoch
        with ``shuffle_seed``; built once with ``cache``."""
        import tensorflow as tf

        data = tf.data.Dataset.from_tensor_slices(
            (self.matrix, tf.constant(self.labels, dtype=label_dtype)))
        if shuffle_seed is not None:
            data = data.shuffle(self.rows, seed=shuffle_seed, reshuffle_each_iteration=True)
        data = data.batch(batch_size)
        return (data.cache() if cache else data).prefetch(2)


class PaddedSequences(Representation):
    """Each document's indices padded or cut to ``maxlen``, as Keras's pad_sequences."""

    name = "sequences"
    parameters = (MAXLEN, PADDING, TRUNCATING)

    def featurize(self, splits: Mapping[str, Split], num_words: int, params: Values,
                  texts: Mapping[str, list[str]] | None) -> Arrays:
        arrays: Arrays = {}
        for split in SPLITS:
            arrays.update(build(splits[split], params).to_arrays(split))
        return arrays

    def load(self, arrays: Mapping[str, Any], split: str, num_words: int,
             params: Values) -> Padded:
        return Padded(arrays[f"{split}_padded"], arrays[f"{split}_labels"])

    def encode(self, texts: Sequence[str], sequences: Split, num_words: int, params: Values,
               fitted: Mapping[str, Any]) -> tuple[Padded, Any]:
        return build(sequences, params), known_counts(sequences)
