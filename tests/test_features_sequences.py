"""Padded sequences (pipeline/features/sequences.py): Keras's pad_sequences in numpy,
the Padded matrix, its parameters and batches."""
import numpy as np
import pytest
from small_fits import as_flat, random_sequences

from pipeline import Featurize, features
from pipeline.errors import PipelineError
from pipeline.features import sequences as padded_sequences
from pipeline.features.sequences import MAXLEN, PADDING, TRUNCATING, Padded
from pipeline.ml.text import Split


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
    representation = features.get("sequences")
    assert representation.check(params) is None
    padded = padded_sequences.build(split, params)
    assert padded.rows == 3
    assert padded.matrix.tolist() == [[1, 5, 6], [0, 1, 2], [1, 9, 9]]
    assert padded.labels.dtype == np.int16
    part = padded.take(np.array([2, 0]))
    assert part.matrix.tolist() == [[1, 9, 9], [1, 5, 6]] and part.labels.tolist() == [2, 1]
    arrays = padded.to_arrays("train")
    assert set(arrays) == {"train_padded", "train_labels"}
    back = representation.load(arrays, "train", 10, params)
    np.testing.assert_array_equal(back.matrix, padded.matrix)
    np.testing.assert_array_equal(back.labels, padded.labels)
    # featurize: every split, as build gives it; encode: the same rows and the known words
    stored = representation.featurize({"train": split, "test": split}, 10, params, None)
    assert set(stored) == {"train_padded", "train_labels", "test_padded", "test_labels"}
    np.testing.assert_array_equal(stored["test_padded"], padded.matrix)
    encoded, known = representation.encode(["x"] * 3, split, 10, params, {})
    np.testing.assert_array_equal(encoded.matrix, padded.matrix)
    assert known.tolist() == [3, 0, 2]  # 2 is the unknown word, 1 the start


@pytest.mark.parametrize("name, value, message", [
    ("maxlen", 0, "maxlen must be an integer from 1 to 100,000, got 0 (the longest IMDB "
                  "review has about 2,500 words)"),
    ("maxlen", 100_001, "maxlen must be an integer from 1 to 100,000, got 100001"),
    ("padding", "middle", "unknown padding 'middle'; choose one of pre, post"),
    ("truncating", "both", "unknown truncating 'both'; choose one of pre, post"),
])
def test_padded_parameters_are_checked(name, value, message):
    declared = {param.name: param for param in features.get("sequences").parameters}
    assert declared == {"maxlen": MAXLEN, "padding": PADDING, "truncating": TRUNCATING}
    with pytest.raises(PipelineError) as error:
        declared[name].normalize(value)
    assert str(error.value).startswith(message)
    # and when the task that reads it is built, before any work
    with pytest.raises(PipelineError) as error:
        Featurize(representation="sequences", **{name: value})
    assert str(error.value).startswith(message)


def test_padded_batches():
    tf = pytest.importorskip("tensorflow")
    values, offsets = as_flat([[1, 5], [1, 6, 7], [1], [1, 4, 4, 4]])
    labels = np.array([1, 0, 1, 0], np.int16)
    padded = padded_sequences.build(Split(values, offsets, labels, np.array(list("abcd"))),
                                    {"maxlen": 3, "padding": "pre", "truncating": "pre"})
    assert isinstance(padded, Padded)
    xs, ys = [], []
    for x, y in padded.batches(3):
        assert y.dtype == tf.float32
        xs.append(x.numpy())
        ys.append(y.numpy())
    np.testing.assert_array_equal(np.concatenate(xs), padded.matrix)
    np.testing.assert_array_equal(np.concatenate(ys), labels)
    shuffled = np.concatenate([x.numpy() for x, _ in padded.batches(4, "int32", shuffle_seed=3)])
    assert sorted(map(tuple, shuffled.tolist())) == sorted(map(tuple, padded.matrix.tolist()))
