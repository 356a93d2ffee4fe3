"""Multi-hot vectors in CSR form (pipeline/features/multihot.py), the representation
registry (pipeline/features/__init__.py) and the validation split (pipeline/split.py)."""
import numpy as np
import pytest

from pipeline import features
from pipeline.datasets import Split
from pipeline.errors import PipelineError
from pipeline.features import multihot, ngrams
from pipeline.features import sequences as padded_sequences
from pipeline.features.multihot import MultiHot, _sorted_unique, multi_hot
from pipeline.split import check_sizes, split_rows, training_subset


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
    # labels are class numbers, kept as given (no float32 cast any more)
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
    # the module-level function Featurize's readers use gives the same object
    module_back = multihot.from_arrays(arrays, "train", np.int64(7))
    assert module_back.num_words == 7 and type(module_back.num_words) is int
    np.testing.assert_array_equal(module_back.indptr, data.indptr)
    np.testing.assert_array_equal(module_back.indices, data.indices)


def test_multiclass_labels_are_kept_as_class_numbers():
    values, offsets = as_flat([[1, 4], [1, 5], [1, 6], [1, 4, 6]])
    labels = np.array([0, 2, 1, 2], dtype=np.int16)
    data = multi_hot(values, offsets, labels, 8)
    assert data.labels.dtype == np.int16
    np.testing.assert_array_equal(data.labels, [0, 2, 1, 2])
    np.testing.assert_array_equal(data.take([3, 1]).labels, [2, 2])


# ------------------------------------------------------------ build from a dataset Split

def test_build_from_a_split_equals_multi_hot_of_its_arrays():
    rng = np.random.default_rng(11)
    sequences = random_sequences(rng, 30, 20)
    values, offsets = as_flat(sequences)
    labels = rng.integers(0, 2, size=30).astype(np.int16)
    names = np.asarray([f"{k}_7.txt" for k in range(30)])
    split = Split(values, offsets, labels, names)
    built = multihot.build(split, 20)
    assert isinstance(built, MultiHot) and built.rows == split.rows == 30
    np.testing.assert_array_equal(built.to_dense(np.float64), vectorize_sequences(sequences, 20))
    np.testing.assert_array_equal(built.labels, labels)
    assert built.labels.dtype == np.int16
    # the Split survives the arrays of Encode's sequences.npz
    again = Split.from_arrays(split.to_arrays("test"), "test")
    np.testing.assert_array_equal(multihot.build(again, 20).to_dense(), built.to_dense())
    np.testing.assert_array_equal(again.names, names)


def test_representation_registry():
    assert features.get("multihot") is multihot
    assert features.get("sequences") is padded_sequences
    assert multihot.PARAMETERS == {} and multihot.check({}) is None
    assert features.get("ngrams") is ngrams
    # multihot reads no parameter of its own: all of them are the sequences' and n-grams'
    found = features.all_parameters()
    assert found == {**padded_sequences.PARAMETERS, **ngrams.PARAMETERS}
    assert sorted(found) == ["maxlen", "min_df", "ngram_range", "padding", "punctuation",
                             "truncating"]
    with pytest.raises(PipelineError, match="unknown representation 'bag'.*multihot"):
        features.get("bag")


# ---------------------------------------------------- padded sequences (features/sequences.py)

@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
@pytest.mark.parametrize("maxlen", [1, 5, 12, 80])
def test_pad_equals_keras_pad_sequences(padding, truncating, maxlen):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(maxlen)
    docs = random_sequences(rng, 25, 40, max_length=20)
    docs[3] = []
    values, offsets = as_flat(docs)
    got = padded_sequences.pad(values, offsets, maxlen, padding, truncating)
    expected = keras.utils.pad_sequences(docs, maxlen=maxlen, padding=padding,
                                         truncating=truncating, value=0)
    assert got.dtype == np.int32 and got.shape == (25, maxlen)
    np.testing.assert_array_equal(got, expected)


def test_pad_by_hand():
    values, offsets = as_flat([[1, 5, 6, 7], [1, 2], []])
    assert padded_sequences.pad(values, offsets, 3).tolist() == [[5, 6, 7], [0, 1, 2], [0, 0, 0]]
    assert padded_sequences.pad(values, offsets, 3, "post", "post").tolist() == \
        [[1, 5, 6], [1, 2, 0], [0, 0, 0]]
    assert padded_sequences.pad(np.zeros(0, np.int32), np.zeros(1, np.int64), 4).shape == (0, 4)


def test_padded_build_take_and_arrays():
    values, offsets = as_flat([[1, 5, 6, 7], [1, 2], [1, 9, 9]])
    split = Split(values, offsets, np.array([1, 0, 2], np.int16), np.array(["a", "b", "c"]))
    params = {"maxlen": 3, "padding": "pre", "truncating": "post"}
    padded_sequences.check(params)
    padded = features.get("sequences").build(split, 10, **params)
    assert padded.rows == 3
    assert padded.matrix.tolist() == [[1, 5, 6], [0, 1, 2], [1, 9, 9]]
    assert padded.labels.dtype == np.int16
    part = padded.take(np.array([2, 0]))
    assert part.matrix.tolist() == [[1, 9, 9], [1, 5, 6]] and part.labels.tolist() == [2, 1]
    arrays = padded.to_arrays("train")
    assert set(arrays) == {"train_padded", "train_labels"}
    back = padded_sequences.from_arrays(arrays, "train", 10, **params)
    np.testing.assert_array_equal(back.matrix, padded.matrix)
    np.testing.assert_array_equal(back.labels, padded.labels)


@pytest.mark.parametrize("params, message", [
    ({"maxlen": 0, "padding": "pre", "truncating": "pre"}, "maxlen must be between 1"),
    ({"maxlen": 10, "padding": "middle", "truncating": "pre"}, "padding must be pre or post"),
    ({"maxlen": 10, "padding": "pre", "truncating": "both"}, "truncating must be pre or post"),
])
def test_padded_parameters_are_checked(params, message):
    with pytest.raises(PipelineError, match=message):
        padded_sequences.check(params)


def test_padded_batches():
    tf = pytest.importorskip("tensorflow")
    values, offsets = as_flat([[1, 5], [1, 6, 7], [1], [1, 4, 4, 4]])
    labels = np.array([1, 0, 1, 0], np.int16)
    padded = padded_sequences.build(Split(values, offsets, labels, np.array(list("abcd"))), 8,
                             maxlen=3, padding="pre", truncating="pre")
    xs, ys = [], []
    for x, y in padded.batches(3):
        assert y.dtype == tf.float32
        xs.append(x.numpy())
        ys.append(y.numpy())
    np.testing.assert_array_equal(np.concatenate(xs), padded.matrix)
    np.testing.assert_array_equal(np.concatenate(ys), labels)
    shuffled = np.concatenate([x.numpy() for x, _ in padded.batches(4, "int32", shuffle_seed=3)])
    assert sorted(map(tuple, shuffled.tolist())) == sorted(map(tuple, padded.matrix.tolist()))


@pytest.mark.parametrize("seed", range(4))
def test_sorted_unique_equals_np_unique(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 50, size=int(rng.integers(0, 300)))
    np.testing.assert_array_equal(_sorted_unique(values), np.unique(values))
    assert _sorted_unique(np.zeros(0, np.int64)).size == 0


# ------------------------------------------------------------ split_rows: pipeline/split.py

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


def test_training_subset_is_the_first_rows_and_nested():
    train, val = split_rows(100, 30, seed=3)
    split = {"train_rows": train, "val_rows": val}
    np.testing.assert_array_equal(training_subset(split, 0), train)  # 0 = all
    small, large = training_subset(split, 10), training_subset(split, 40)
    np.testing.assert_array_equal(small, train[:10])
    np.testing.assert_array_equal(large, train[:40])
    assert set(small.tolist()) <= set(large.tolist())  # nested, for learning curves
    np.testing.assert_array_equal(training_subset(split, 70), train)
    with pytest.raises(PipelineError, match=r"left after validation \(70\), got 71"):
        training_subset(split, 71)


def test_check_sizes_names_the_parameter():
    check_sizes(100, 30, 70)
    with pytest.raises(PipelineError, match=r"validation_size must be smaller than the number "
                                            r"of training documents \(100\), got 100"):
        check_sizes(100, 100)
    with pytest.raises(PipelineError, match="train_size must be at most"):
        check_sizes(100, 30, 71)