"""Multi-hot vectors in CSR form and their tf.data batches (pipeline/features/multihot.py)."""
import numpy as np
import pytest
from small_fits import as_flat, random_sequences

from pipeline import features
from pipeline.features.multihot import (
    MultiHot,
    MultiHotRepresentation,
    known_counts,
    multi_hot,
    sorted_unique,
)
from pipeline.ml.text import Split


def vectorize_sequences(sequences, dimension):
    """The book's function (Deep Learning with Python, 3.4), verbatim but for the name."""
    results = np.zeros((len(sequences), dimension))
    for i, sequence in enumerate(sequences):
        for j in sequence:
            results[i, j] = 1.
    return results




def learnable_data(seed, rows, num_words):
    """Multi-hot data whose label depends on the words."""
    rng = np.random.default_rng(seed)
    sequences = [[1] + rng.integers(2, num_words, size=int(rng.integers(3, 15))).tolist()
                 for _ in range(rows)]
    labels = [float(np.mean(s) > num_words / 2) for s in sequences]
    return multi_hot(*as_flat(sequences), labels, num_words)


@pytest.mark.parametrize("seed,rows,num_words", [(0, 50, 30), (1, 200, 1000), (2, 7, 5),
                                                 (3, 1, 10)])
def test_multi_hot_equals_the_books_loop(seed, rows, num_words):
    rng = np.random.default_rng(seed)
    sequences = random_sequences(rng, rows, num_words)
    values, offsets = as_flat(sequences)
    labels = rng.integers(0, 2, size=rows)
    result = multi_hot(values, offsets, labels, num_words)

    assert result.rows == rows and result.num_words == num_words
    np.testing.assert_array_equal(result.to_dense(np.float64),
                                  vectorize_sequences(sequences, num_words))
    # labels are class numbers, kept as given (no float32 cast)
    np.testing.assert_array_equal(result.labels, labels)
    assert result.labels.dtype == labels.dtype
    for k, sequence in enumerate(sequences):
        row = result.indices[result.indptr[k]:result.indptr[k + 1]]
        assert row.tolist() == sorted(set(sequence))  # sorted, no duplicates


def test_multi_hot_empty_rows_and_no_rows():
    sequences = [[], [1, 4, 4], [], []]
    values, offsets = as_flat(sequences)
    result = multi_hot(values, offsets, [0, 1, 0, 1], 6)
    np.testing.assert_array_equal(result.indptr, [0, 0, 2, 2, 2])
    np.testing.assert_array_equal(result.to_dense(), vectorize_sequences(sequences, 6))

    none = multi_hot(np.zeros(0, np.int32), np.zeros(1, np.int64), [], 6)
    assert none.rows == 0 and none.to_dense().shape == (0, 6)


def test_to_dense_dtype():
    values, offsets = as_flat([[1, 2], [3]])
    dense = multi_hot(values, offsets, [1, 0], 4).to_dense()
    assert dense.dtype == np.float32
    assert dense.tolist() == [[0, 1, 1, 0], [0, 0, 0, 1]]


def test_take_equals_dense_rows():
    rng = np.random.default_rng(5)
    sequences = random_sequences(rng, 40, 25)
    values, offsets = as_flat(sequences)
    labels = rng.integers(0, 2, size=40)
    data = multi_hot(values, offsets, labels, 25)
    dense = data.to_dense()
    for rows in (rng.permutation(40)[:17], [3, 3, 0, 39], [], np.arange(40)[::-1]):
        part = data.take(rows)
        rows = np.asarray(rows, dtype=np.int64)
        assert part.rows == len(rows)
        np.testing.assert_array_equal(part.to_dense(), dense[rows])
        np.testing.assert_array_equal(part.labels, data.labels[rows])
        assert part.num_words == 25


def test_arrays_round_trip():
    values, offsets = as_flat([[1, 5, 2], [1], [3, 3]])
    data = multi_hot(values, offsets, [1, 0, 1], 7)
    arrays = data.to_arrays("train")
    assert set(arrays) == {"train_indptr", "train_indices", "train_labels"}
    back = MultiHot.from_arrays(arrays, "train", 7)
    np.testing.assert_array_equal(back.to_dense(), data.to_dense())
    np.testing.assert_array_equal(back.labels, data.labels)
    # the representation's load, which the training tasks use, gives the same object,
    # with num_words a Python int even when it comes from an npz scalar
    loaded = features.get("multihot").load(arrays, "train", np.int64(7), {})
    assert loaded.num_words == 7 and type(loaded.num_words) is int
    np.testing.assert_array_equal(loaded.indptr, data.indptr)
    np.testing.assert_array_equal(loaded.indices, data.indices)


def test_multiclass_labels_are_kept_as_class_numbers():
    values, offsets = as_flat([[1, 4], [1, 5], [1, 6], [1, 4, 6]])
    labels = np.array([0, 2, 1, 2], dtype=np.int16)
    data = multi_hot(values, offsets, labels, 8)
    assert data.labels.dtype == np.int16
    np.testing.assert_array_equal(data.labels, [0, 2, 1, 2])
    np.testing.assert_array_equal(data.take([3, 1]).labels, [2, 2])


# ------------------------------------------------------------ the representation plug-in

def test_featurize_a_split_equals_multi_hot_of_its_arrays():
    rng = np.random.default_rng(11)
    sequences = random_sequences(rng, 30, 20)
    values, offsets = as_flat(sequences)
    labels = rng.integers(0, 2, size=30).astype(np.int16)
    names = np.asarray([f"{k}_7.txt" for k in range(30)])
    split = Split(values, offsets, labels, names)
    test = Split(*as_flat([[1, 4], [1, 19, 19]]), np.array([1, 0], np.int16),
                 np.array(["a", "b"]))
    representation = features.get("multihot")
    arrays = representation.featurize({"train": split, "test": test}, 20, {}, None)
    assert set(arrays) == {f"{s}_{k}" for s in ("train", "test")
                           for k in ("indptr", "indices", "labels")}
    built = representation.load(arrays, "train", 20, {})
    assert isinstance(built, MultiHot) and built.rows == split.rows == 30
    np.testing.assert_array_equal(built.to_dense(np.float64), vectorize_sequences(sequences, 20))
    np.testing.assert_array_equal(built.labels, labels)
    assert built.labels.dtype == np.int16
    assert representation.load(arrays, "test", 20, {}).to_dense().tolist() == \
        vectorize_sequences([[1, 4], [1, 19]], 20).tolist()
    # the Split survives the arrays of Encode's sequences.npz
    again = Split.from_arrays(split.to_arrays("test"), "test")
    encoded, _ = representation.encode([""] * 30, again, 20, {}, {})
    np.testing.assert_array_equal(encoded.to_dense(), built.to_dense())
    np.testing.assert_array_equal(again.names, names)


def test_encode_counts_the_known_words_of_each_document():
    # 1 starts a document, 2 is a word outside the vocabulary
    split = Split(*as_flat([[1, 5, 2, 5], [1, 2, 2], [1], [1, 4, 6, 7]]),
                  np.zeros(4, np.int16), np.array(list("abcd")))
    np.testing.assert_array_equal(known_counts(split), [2, 0, 0, 3])
    data, known = MultiHotRepresentation().encode(["x"] * 4, split, 8, {}, {})
    np.testing.assert_array_equal(known, [2, 0, 0, 3])
    assert data.to_dense().tolist() == vectorize_sequences(
        [[1, 5, 2], [1, 2], [1], [1, 4, 6, 7]], 8).tolist()


@pytest.mark.parametrize("seed", range(4))
def test_sorted_unique_equals_np_unique(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 50, size=int(rng.integers(0, 300)))
    np.testing.assert_array_equal(sorted_unique(values), np.unique(values))
    assert sorted_unique(np.zeros(0, np.int64)).size == 0


# --------------------------------------------------------------------------- batches

def test_batches_are_the_dense_rows():
    """MultiHot.batches: sparse rows, labels along, shuffled with a seed."""
    import tensorflow as tf

    data = learnable_data(2, 23, 17)
    dense = data.to_dense()
    seen_rows, seen_labels = [], []
    for x, y in data.batches(5):
        assert isinstance(x, tf.SparseTensor)
        assert y.dtype == tf.float32  # 0/1 floats for the sigmoid head by default
        seen_rows.append(tf.sparse.to_dense(tf.sparse.reorder(x)).numpy())
        seen_labels.append(y.numpy())
        assert len(y) == len(seen_rows[-1])
    assert [len(rows) for rows in seen_rows] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.concatenate(seen_rows), dense)
    np.testing.assert_array_equal(np.concatenate(seen_labels), data.labels)

    # with a seed the rows come shuffled (a permutation of the dense rows, labels along)
    xs, ys = [], []
    for x, y in data.batches(5, shuffle_seed=1):
        xs.append(tf.sparse.to_dense(tf.sparse.reorder(x)).numpy())
        ys.append(y.numpy())
    xs, ys = np.concatenate(xs), np.concatenate(ys)

    def canonical(rows, labels):
        table = np.column_stack([rows, labels])
        return table[np.lexsort(table.T[::-1])]

    np.testing.assert_array_equal(canonical(xs, ys), canonical(dense, data.labels))
    assert not np.array_equal(xs, dense)


def test_batches_of_class_numbers():
    """Labels for a softmax head: class numbers in the dtype asked for."""
    import tensorflow as tf

    values = np.array([1, 4, 1, 5, 1, 6, 1, 4, 6], dtype=np.int32)
    offsets = np.array([0, 2, 4, 6, 9], dtype=np.int64)
    data = multi_hot(values, offsets, np.array([0, 2, 1, 2], dtype=np.int16), 7)
    labels = []
    for _, y in data.batches(3, "int32"):
        assert y.dtype == tf.int32
        labels.extend(y.numpy().tolist())
    assert labels == [0, 2, 1, 2]
