"""Word n-grams (pipeline/features/ngrams.py): tokens, n-grams and their vocabulary by
hand, new text encoded as the training text was, and the parameters' checks."""
import numpy as np
import pytest
from conftest import build, make_archive, pipeline_config

from pipeline import PipelineError, RunAll, features
from pipeline.features import ngrams
from pipeline.ml.text import Split, encode_texts, tokenize

NB = dict(num_words=40, validation_size=10, epochs=3, batch_size=8, model="nbsvm")
B = 1 << ngrams.BITS  # a bigram (a, b) is a * B + b


def splits_of(train_texts, train_labels, test_texts=()):
    """Split objects (labels, names; the sequences are unused with texts) and the texts."""
    def split(texts, labels):
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        return Split(np.zeros(0, np.int32), offsets, np.asarray(labels, np.int16),
                     np.asarray([str(i) for i in range(len(texts))]))
    return ({"train": split(train_texts, train_labels),
             "test": split(test_texts, [0] * len(test_texts))},
            {"train": list(train_texts), "test": list(test_texts)})


def rows_of(arrays, split, vocabulary):
    """Each row of a split as the set of its n-grams (as keys)."""
    indptr, indices = arrays[f"{split}_indptr"], arrays[f"{split}_indices"]
    return [{int(vocabulary[j]) for j in indices[indptr[k]:indptr[k + 1]]}
            for k in range(len(indptr) - 1)]


def encoded_split(texts, words):
    """New texts encoded with Encode's word list, as predict encodes them."""
    sequences = encode_texts(texts, words)
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in sequences], out=offsets[1:])
    return Split(np.asarray([v for s in sequences for v in s], np.int32), offsets,
                 np.zeros(len(texts), np.int16), np.asarray([str(i) for i in range(len(texts))]))


def test_tokenizer_keeps_punctuation_marks_as_tokens_only_when_asked():
    text = "Great, isn't it?!<br />Don’t miss_it"
    assert tokenize(text, punctuation=True) == ["great", ",", "isn't", "it", "?", "!",
                                                "don't", "miss", "it"]
    assert tokenize(text) == ["great", "isn't", "it", "don't", "miss", "it"]


def test_ngrams_by_hand():
    # tokens: a=1, b=2, c=3, "!"=4 in order of first appearance in training
    splits, texts = splits_of(["a b a", "b c!"], [1, 0], ["c b a d", ""])
    arrays = ngrams.build_splits(splits, 40, texts, ngram_range="1,2", min_df=1,
                                 punctuation="keep")
    assert list(arrays["vocabulary_words"]) == ["a", "b", "c", "!"]
    expected_train = [{1, 2, 1 * B + 2, 2 * B + 1}, {2, 3, 4, 2 * B + 3, 3 * B + 4}]
    vocabulary = arrays["vocabulary_keys"]
    assert sorted(vocabulary) == sorted(set().union(*expected_train))
    assert rows_of(arrays, "train", vocabulary) == expected_train
    # the test split: only known n-grams ("d" and n-grams with it are unknown; "c b" and
    # "b a" -- 2 * B + 1 is known, 3 * B + 2 is not)
    assert rows_of(arrays, "test", vocabulary) == [{1, 2, 3, 2 * B + 1}, set()]
    assert int(arrays["train_width"]) == int(arrays["test_width"]) == len(vocabulary)
    assert list(arrays["train_labels"]) == [1, 0]


def test_trigrams_min_df_and_dropped_punctuation_by_hand():
    splits, texts = splits_of(["a b c.", "a b c d", "x a b"], [1, 0, 1])
    arrays = ngrams.build_splits(splits, 40, texts, ngram_range="2,3", min_df=2,
                                 punctuation="drop")
    a, b, c = 1, 2, 3  # "." dropped; ids in order of first appearance
    # in at least two documents: "a b" (3), "b c" (2), "a b c" (2)
    assert sorted(arrays["vocabulary_keys"]) == sorted(
        [a * B + b, b * B + c, (a * B + b) * B + c])
    assert [len(row) for row in rows_of(arrays, "train", arrays["vocabulary_keys"])] == \
        [3, 3, 1]


def test_ngrams_of_encoded_indices_when_there_is_no_text():
    # Encode's sequences: 1 starts each document, 2 is an unknown word
    split = Split(np.array([1, 5, 6, 2, 5, 1, 6, 5], np.int32),
                  np.array([0, 5, 8], np.int64), np.array([1, 0], np.int16),
                  np.array(["0", "1"]))
    arrays = ngrams.build_splits({"train": split, "test": split}, 10, None,
                                 ngram_range="1,2", min_df=1, punctuation="keep")
    assert len(arrays["vocabulary_words"]) == 0
    # document 0: 5 6 ? 5 -> {5, 6, 5 6}; document 1: 6 5 -> {6, 5, 6 5}
    assert rows_of(arrays, "train", arrays["vocabulary_keys"]) == [
        {5, 6, 5 * B + 6}, {5, 6, 6 * B + 5}]


def test_min_df_no_n_gram_reaches_is_one_line():
    splits, texts = splits_of(["a b", "c d"], [1, 0])
    with pytest.raises(PipelineError) as error:
        ngrams.build_splits(splits, 40, texts, ngram_range="1,2", min_df=2,
                            punctuation="keep")
    assert str(error.value) == ("min_df 2 leaves no n-gram: none of ngram_range 1,2 is in "
                                "2 of the 2 training documents")
    with pytest.raises(PipelineError) as error:
        ngrams.build_splits(splits, 40, texts, ngram_range="1,2", min_df=3,
                            punctuation="keep")
    assert str(error.value) == "min_df 3 leaves no n-gram: there are only 2 training documents"


def test_new_text_is_encoded_as_training_was():
    splits, texts = splits_of(["Good film!", "bad film"], [1, 0])
    arrays = ngrams.build_splits(splits, 40, texts, ngram_range="1,2", min_df=1,
                                 punctuation="keep")
    vocabulary = {key: k for k, key in enumerate(arrays["vocabulary_keys"])}
    fitted = {k: v for k, v in arrays.items() if k.startswith("vocabulary_")}
    new = ["GOOD film !", "bad film?", "unseen"]
    # the n-grams are of words: Encode's sequences are not read
    data, known = ngrams.encode_texts(new, fitted, None, ngram_range="1,2",
                                      punctuation="keep")
    good, film, mark, bad = 1, 2, 3, 4
    expected = [{good, film, mark, good * B + film, film * B + mark}, {bad, film, bad * B + film},
                set()]
    assert [set(data.indices[data.indptr[k]:data.indptr[k + 1]]) for k in range(3)] == \
        [{vocabulary[key] for key in row} for row in expected]
    assert list(known) == [5, 3, 0]
    assert data.num_words == len(vocabulary)
    # the representation plug-in encodes the same way, with its parameters
    params = {"ngram_range": "1,2", "min_df": 1, "punctuation": "keep"}
    again, known_again = features.get("ngrams").encode(new, None, 40, params, fitted)
    np.testing.assert_array_equal(again.indptr, data.indptr)
    np.testing.assert_array_equal(again.indices, data.indices)
    assert list(known_again) == [5, 3, 0]


def test_new_text_as_encoded_indices_when_the_n_grams_are_of_indices():
    split = Split(np.array([1, 5, 6, 2, 5, 1, 6, 5], np.int32),
                  np.array([0, 5, 8], np.int64), np.array([1, 0], np.int16),
                  np.array(["0", "1"]))
    arrays = ngrams.build_splits({"train": split}, 10, None, ngram_range="1,2", min_df=1,
                                 punctuation="keep")
    # Encode's word list: index 4 is "x", 5 "good", 6 "film"
    texts = ["good film, good"]
    data, known = ngrams.encode_texts(texts, arrays, encoded_split(texts, ["x", "good", "film"]),
                                      ngram_range="1,2", punctuation="keep")
    vocabulary = {int(key): k for k, key in enumerate(arrays["vocabulary_keys"])}
    assert set(data.indices) == {vocabulary[key] for key in (5, 6, 5 * B + 6, 6 * B + 5)}
    assert list(known) == [4]


def test_featurize_and_load_are_build_splits():
    splits, texts = splits_of(["a b a", "b c!"], [1, 0], ["c b a d", ""])
    params = {"ngram_range": "1,2", "min_df": 1, "punctuation": "keep"}
    representation = features.get("ngrams")
    arrays = representation.featurize(splits, 40, params, texts)
    expected = ngrams.build_splits(splits, 40, texts, ngram_range="1,2", min_df=1,
                                   punctuation="keep")
    assert set(arrays) == set(expected)
    for key in expected:
        np.testing.assert_array_equal(arrays[key], expected[key])
    test = representation.load(arrays, "test", 40, params)
    assert test.num_words == len(arrays["vocabulary_keys"]) == 8  # the n-grams, not 40
    vocabulary = arrays["vocabulary_keys"]
    assert [{int(vocabulary[j]) for j in test.indices[test.indptr[k]:test.indptr[k + 1]]}
            for k in range(test.rows)] == [{1, 2, 3, 2 * B + 1}, set()]
    assert test.labels.tolist() == [0, 0]


@pytest.mark.parametrize("value, expected", [("1,3", (1, 3)), ("2, 2", (2, 2)),
                                             ("1-2", (1, 2)), ((1, 3), (1, 3))])
def test_parse_range(value, expected):
    assert ngrams.parse_range(value) == expected


@pytest.mark.parametrize("value", ["3,1", "0,2", "1,4", "two"])
def test_bad_ngram_range_is_refused_when_the_task_is_built(value):
    with pytest.raises(PipelineError) as error:
        RunAll(**NB, ngram_range=value)
    assert str(error.value) == ("ngram_range must be 'min,max' with 1 <= min <= max <= 3, "
                                f"got {value!r}")
    with pytest.raises(PipelineError) as error:
        ngrams.parse_range(value)
    assert str(error.value) == ("ngram_range must be 'min,max' with 1 <= min <= max <= 3, "
                                f"got {value!r}")


def test_other_bad_values_and_n_gram_parameters_of_another_model_are_refused():
    with pytest.raises(PipelineError, match="min_df must be an integer >= 1, got 0"):
        RunAll(**NB, min_df=0)
    with pytest.raises(PipelineError, match="unknown punctuation 'some'; choose one of keep, "
                                            "drop"):
        RunAll(**NB, punctuation="some")
    with pytest.raises(PipelineError, match="min_df is not a parameter of model 'mlp'"):
        RunAll(num_words=40, model="mlp", min_df=5)


def test_min_df_that_leaves_nothing_fails_in_one_line(tmp_path, caplog):
    with pipeline_config(tmp_path / "data", make_archive(tmp_path / "a.tar.gz")) as data:
        result = build([RunAll(**NB, min_df=41)])
    assert result.status.name == "FAILED"
    assert "min_df 41 leaves no n-gram: there are only 40 training documents" in caplog.text
    assert not (data / "Featurize").exists() or \
        not any(p for p in (data / "Featurize").iterdir() if not p.name.startswith("."))
