"""Multi-hot vectors (the book's representation), stored compactly.

Row ``k`` has a 1 in column ``w`` when index ``w`` occurs in document ``k``. A
multi-hot matrix of 25,000 reviews x 10,000 words is 2 GB as the notebook's
float64, but only about 1.3 % of its cells are ones. We keep it in CSR form: for
review ``k``, the sorted column indices ``indices[indptr[k]:indptr[k + 1]]`` are
the words it contains (about 13 MB per split). Training feeds it to Keras as sparse
batches; :func:`to_dense` gives the notebook's matrix for small inputs. numpy is
imported inside the functions: the task classes import this module to learn its
parameters, and a no-op rerun must not pay for numpy.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..ml.text import OOV, SPLITS, START, Split
from ..params import Values
from .base import Arrays, Representation

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, DTypeLike


@dataclass
class MultiHot:
    """A CSR multi-hot matrix with its labels."""

    indptr: np.ndarray    # int64, len = rows + 1
    indices: np.ndarray   # int32, sorted within each row
    labels: np.ndarray    # class numbers
    num_words: int

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    def to_dense(self, dtype: DTypeLike = "float32") -> np.ndarray:
        import numpy as np

        dense = np.zeros((self.rows, self.num_words), dtype=dtype)
        row_ids = np.repeat(np.arange(self.rows), np.diff(self.indptr))
        dense[row_ids, self.indices] = 1
        return dense

    def take(self, rows: ArrayLike) -> MultiHot:
        """The sub-matrix of the given rows, in that order."""
        import numpy as np

        rows = np.asarray(rows, dtype=np.int64)
        lengths = np.diff(self.indptr)[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        starts = np.repeat(self.indptr[rows] - indptr[:-1], lengths)
        indices = self.indices[starts + np.arange(indptr[-1])]
        return MultiHot(indptr, indices, self.labels[rows], self.num_words)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_indptr": self.indptr, f"{prefix}_indices": self.indices,
                f"{prefix}_labels": self.labels}

    def batches(self, batch_size: int, label_dtype: str = "float32",
                shuffle_seed: int | None = None, cache: bool = False) -> Any:
        """A ``tf.data.Dataset`` of ``(SparseTensor, labels)`` batches built in-graph.

        The CSR matrix lives in a RaggedTensor; each batch gathers its rows and turns
        them into a SparseTensor of ones, so no dense matrix and no Python per batch.
        With ``shuffle_seed`` the rows are reshuffled each epoch, deterministically;
        with ``cache`` (data read unshuffled every epoch) the batches are built once.
        """
        import tensorflow as tf

        ragged = tf.RaggedTensor.from_row_splits(tf.constant(self.indices, dtype=tf.int64),
                                                 tf.constant(self.indptr, dtype=tf.int64))
        labels = tf.constant(self.labels, dtype=label_dtype)
        width = tf.constant(self.num_words, dtype=tf.int64)
        rows = tf.data.Dataset.range(self.rows)
        if shuffle_seed is not None:
            rows = rows.shuffle(self.rows, seed=shuffle_seed, reshuffle_each_iteration=True)

        def to_sparse(batch_rows: Any) -> tuple[Any, Any]:
            picked = tf.gather(ragged, batch_rows)
            cells = tf.stack([picked.value_rowids(), picked.flat_values], axis=1)
            shape = tf.stack([tf.size(batch_rows, out_type=tf.int64), width])
            ones = tf.ones_like(picked.flat_values, dtype=tf.float32)
            return tf.SparseTensor(cells, ones, shape), tf.gather(labels, batch_rows)

        batches = rows.batch(batch_size).map(to_sparse)
        return (batches.cache() if cache else batches).prefetch(2)

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any], prefix: str, num_words: int) -> MultiHot:
        return cls(arrays[f"{prefix}_indptr"], arrays[f"{prefix}_indices"],
                   arrays[f"{prefix}_labels"], int(num_words))


def multi_hot(values: np.ndarray, offsets: np.ndarray, labels: ArrayLike, num_words: int
              ) -> MultiHot:
    """Sequences ``values[offsets[k]:offsets[k + 1]]`` as a :class:`MultiHot`.

    Every index must be ``< num_words`` (the encoder guarantees it).
    """
    import numpy as np

    rows = len(offsets) - 1
    row_ids = np.repeat(np.arange(rows, dtype=np.int64), np.diff(offsets))
    cells = sorted_unique(row_ids * num_words + values.astype(np.int64))
    counts = np.bincount(cells // num_words, minlength=rows)
    indptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return MultiHot(indptr, (cells % num_words).astype(np.int32),
                    np.asarray(labels), num_words)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` for a 1-D integer array, by sort and mask.

    Same result, but numpy 2.4's ``np.unique`` takes 8 s on the 6 million cells of a
    split where this takes 0.1 s.
    """
    import numpy as np

    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def known_counts(sequences: Split) -> np.ndarray:
    """How many of each document's indices are vocabulary words (not START or OOV)."""
    import numpy as np

    known = (sequences.values != START) & (sequences.values != OOV)
    rows = np.repeat(np.arange(sequences.rows), np.diff(sequences.offsets))
    return np.bincount(rows[known], minlength=sequences.rows)


class MultiHotRepresentation(Representation):
    """The book's multi-hot vectors of the ``num_words`` index space, stored as CSR."""

    name = "multihot"

    def featurize(self, splits: Mapping[str, Split], num_words: int, params: Values,
                  texts: Mapping[str, list[str]] | None) -> Arrays:
        arrays: Arrays = {}
        for split in SPLITS:
            data = splits[split]
            arrays.update(multi_hot(data.values, data.offsets, data.labels,
                                    num_words).to_arrays(split))
        return arrays

    def load(self, arrays: Mapping[str, Any], split: str, num_words: int,
             params: Values) -> MultiHot:
        return MultiHot.from_arrays(arrays, split, num_words)

    def encode(self, texts: Sequence[str], sequences: Split, num_words: int, params: Values,
               fitted: Mapping[str, Any]) -> tuple[MultiHot, Any]:
        data = multi_hot(sequences.values, sequences.offsets, sequences.labels, num_words)
        return data, known_counts(sequences)
