"""Multi-hot vectors in CSR form and the validation split: pipeline/features.py."""
import numpy as np
import pytest

from pipeline.features import MultiHot, multi_hot, split_rows


def vectorize_sequences(sequences, dimension):
    """The book's function (Deep Learning with Python, 3.4), verbatim but for the name."""
    results = np.zeros((len(sequences), dimension))
    for i, sequence in enumerate(sequences):
        for j in sequence:
            results[i, j] = 1.
    return results


def random_sequences(rng, rows, num_words, max_length=60):
    """Keras-like sequences: start 1, words in [2, num_words), repeats, some empty."""
    sequences = []
    for _ in range(rows):
        length = int(rng.integers(0, max_length))
        body = rng.integers(2, num_words, size=length).tolist()
        sequences.append(([1] if rng.random() < 0.9 else []) + body)
    return sequences


def as_flat(sequences):
    values = np.asarray([v for s in sequences for v in s], dtype=np.int32)
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in sequences], out=offsets[1:])
    return values, offsets


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
    np.testing.assert_array_equal(result.labels, labels.astype(np.float32))
    assert result.labels.dtype == np.float32
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
    back = MultiHot.from_arrays(data.to_arrays("train"), "train", 7)
    np.testing.assert_array_equal(back.to_dense(), data.to_dense())
    np.testing.assert_array_equal(back.labels, data.labels)


# ----------------------------------------------------------------------- split_rows

@pytest.mark.parametrize("num_rows,validation_size", [(100, 30), (25000, 10000), (2, 1)])
def test_split_is_disjoint_and_covering(num_rows, validation_size):
    train, val = split_rows(num_rows, validation_size, seed=42)
    assert len(val) == validation_size and len(train) == num_rows - validation_size
    assert not set(train.tolist()) & set(val.tolist())
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(num_rows))


def test_split_is_deterministic_per_seed():
    first = split_rows(1000, 300, seed=7)
    second = split_rows(1000, 300, seed=7)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    other = split_rows(1000, 300, seed=8)
    assert set(other[1].tolist()) != set(first[1].tolist())


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_split_is_shuffled_over_a_positives_first_archive(seed):
    # like the archive: all positive reviews first, then all negative ones
    labels = np.repeat([1, 0], 500)
    train, val = split_rows(len(labels), 200, seed)
    assert not np.array_equal(np.sort(val), np.arange(200))
    # both classes in both parts, in roughly the archive's 50/50 proportion
    assert 0.35 < labels[val].mean() < 0.65
    assert 0.35 < labels[train].mean() < 0.65
    # and not merely a sorted selection: the order is shuffled too
    assert not np.array_equal(train, np.sort(train))
