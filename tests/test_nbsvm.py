"""The ngrams representation and the nbsvm model (issue 14): n-grams and NB ratios by hand,
ratios from the training rows only, the chain and predict on a tiny archive, bad input,
and the real archive end to end."""
import shutil

import numpy as np
import pytest

from conftest import (REAL_ARCHIVE, ROOT, build, make_archive, only_folder, pipeline_config,
                      run_luigi)
from pipeline import EvaluateTest, PipelineError, RunAll, TrainModel
from pipeline.datasets import Split
from pipeline.datasets.text import tokenize
from pipeline.features import ngrams
from pipeline.features.multihot import MultiHot
from pipeline.models import nbsvm
from pipeline.storage import load_arrays, read_json

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


def test_new_text_is_encoded_as_training_was():
    splits, texts = splits_of(["Good film!", "bad film"], [1, 0])
    arrays = ngrams.build_splits(splits, 40, texts, ngram_range="1,2", min_df=1,
                                 punctuation="keep")
    vocabulary = {key: k for k, key in enumerate(arrays["vocabulary_keys"])}
    data, known = ngrams.encode_texts(["GOOD film !", "bad film?", "unseen"],
                                      {k: v for k, v in arrays.items()
                                       if k.startswith("vocabulary_")}, [],
                                      ngram_range="1,2", min_df=1, punctuation="keep")
    good, film, mark, bad = 1, 2, 3, 4
    expected = [{good, film, mark, good * B + film, film * B + mark}, {bad, film, bad * B + film},
                set()]
    assert [set(data.indices[data.indptr[k]:data.indptr[k + 1]]) for k in range(3)] == \
        [{vocabulary[key] for key in row} for row in expected]
    assert list(known) == [5, 3, 0]


def test_new_text_as_encoded_indices_when_the_n_grams_are_of_indices():
    split = Split(np.array([1, 5, 6, 2, 5, 1, 6, 5], np.int32),
                  np.array([0, 5, 8], np.int64), np.array([1, 0], np.int16),
                  np.array(["0", "1"]))
    arrays = ngrams.build_splits({"train": split}, 10, None, ngram_range="1,2", min_df=1,
                                 punctuation="keep")
    # Encode's word list: index 4 is "x", 5 "good", 6 "film"
    data, known = ngrams.encode_texts(["good film, good"], arrays, ["x", "good", "film"],
                                      ngram_range="1,2", min_df=1, punctuation="keep")
    vocabulary = {int(key): k for k, key in enumerate(arrays["vocabulary_keys"])}
    assert set(data.indices) == {vocabulary[key] for key in (5, 6, 5 * B + 6, 6 * B + 5)}
    assert list(known) == [4]


def test_nb_ratios_by_hand():
    # columns 0..2; rows: positive {0, 1}, positive {0}, negative {1, 2}
    data = MultiHot(np.array([0, 2, 3, 5]), np.array([0, 1, 0, 1, 2], np.int32),
                    np.array([1, 1, 0]), 3)
    p = np.array([1 + 2, 1 + 1, 1 + 0])  # alpha 1 + counts in positive rows
    q = np.array([1 + 0, 1 + 1, 1 + 1])
    expected = np.log((p / p.sum()) / (q / q.sum()))
    np.testing.assert_allclose(nbsvm.nb_ratios(data, 2, alpha=1.0)[:, 0], expected,
                               rtol=1e-6)
    # three classes: one-vs-rest
    data.labels = np.array([0, 1, 2])
    ratios = nbsvm.nb_ratios(data, 3, alpha=0.5)
    mine = 0.5 + np.array([0, 1, 1])  # class 2: row {1, 2}
    rest = 0.5 + np.array([2, 1, 0])  # classes 0 and 1: rows {0, 1} and {0}
    np.testing.assert_allclose(ratios[:, 2], np.log((mine / mine.sum()) / (rest / rest.sum())),
                               rtol=1e-6)


@pytest.mark.parametrize("value, message", [
    ("3,1", "ngram_range must have 1 <= min <= max <= 3, got '3,1' (reversed)"),
    ("0,2", "ngram_range must have 1 <= min <= max <= 3, got '0,2'"),
    ("1,4", "ngram_range must have 1 <= min <= max <= 3, got '1,4'"),
    ("two", "ngram_range must be 'min,max' (e.g. 1,3), got 'two'"),
])
def test_bad_ngram_range_is_refused_when_the_task_is_built(value, message):
    with pytest.raises(PipelineError) as error:
        RunAll(**NB, ngram_range=value)
    assert str(error.value) == message


def test_other_bad_values_and_parameters_of_another_model_are_refused():
    with pytest.raises(PipelineError, match="min_df must be a positive integer, got 0"):
        RunAll(**NB, min_df=0)
    with pytest.raises(PipelineError, match="punctuation must be keep or drop"):
        RunAll(**NB, punctuation="some")
    with pytest.raises(PipelineError, match="nb_alpha must be a finite number > 0"):
        RunAll(**NB, nb_alpha=0.0)
    with pytest.raises(PipelineError, match="min_df is not a parameter of model 'mlp'"):
        RunAll(num_words=40, model="mlp", min_df=5)
    with pytest.raises(PipelineError, match="units is not a parameter of model 'nbsvm'"):
        RunAll(**NB, units=8)


def test_min_df_that_leaves_nothing_fails_in_one_line(tmp_path, caplog):
    with pipeline_config(tmp_path / "data", make_archive(tmp_path / "a.tar.gz")) as data:
        result = build([RunAll(**NB, min_df=41)])
    assert result.status.name == "FAILED"
    assert "min_df 41 leaves no n-gram: there are only 40 training documents" in caplog.text
    assert not (data / "Featurize").exists() or \
        not any(p for p in (data / "Featurize").iterdir() if not p.name.startswith("."))


# ----------------------------------------------------------------- the chain, tiny archive

@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("nbsvm")
    archive = make_archive(root / "aclImdb_tiny.tar.gz")
    with pipeline_config(root / "data", archive) as data:
        result = build([RunAll(**NB)])
        assert result.status.name == "SUCCESS", result.summary_text
        yield {"data": data, "archive": archive, "root": root}


def test_chain_trains_evaluates_and_plots(chain):
    data = chain["data"]
    summary = read_json(only_folder(data, "RunAll") / "summary.json")
    assert summary["model_name"] == "nbsvm"
    assert summary["test_accuracy"] >= 0.9  # the tiny reviews' class words are n-grams
    assert (only_folder(data, "PlotHistory") / "history.png").stat().st_size > 0
    features = load_arrays(only_folder(data, "Featurize") / "features.npz")
    assert features["train_indptr"][-1] == len(features["train_indices"])
    assert "!" in set(features["vocabulary_words"])  # punctuation kept by default
    weights = load_arrays(only_folder(data, "EvaluateTest") / "weights.npz")
    assert weights["kernel_0"].shape == (int(features["train_width"]), 1)


def test_predict_on_raw_text_equals_evaluate_test_without_tensorflow(chain):
    """Test reviews re-read from the archive and scored by the numpy twin give EvaluateTest's
    probabilities: same tokenizer, same n-grams, same weights."""
    import subprocess
    import sys

    from pipeline.datasets.aclimdb import texts

    data = chain["data"]
    evaluate = only_folder(data, "EvaluateTest")
    saved = load_arrays(evaluate / "predictions.npz")
    reviews = [text for _, _, text in texts(data / "DownloadDataset" / "aclimdb", "test")]
    code = f"""
import sys, json
from pipeline.inference import NumpyMLP
from pipeline.predict import Review, score
from pipeline.storage import read_json
reviews = [Review(str(i), text) for i, text in enumerate(json.load(sys.stdin))]
model = NumpyMLP.load({str(evaluate / 'weights.npz')!r})
vocabulary = read_json({str(only_folder(data, 'Encode') / 'vocabulary.json')!r})
p = score(model, vocabulary, reviews, "ngrams",
          dict(ngram_range="1,3", min_df=2, punctuation="keep"),
          features_path={str(only_folder(data, 'Featurize') / 'features.npz')!r})
print(json.dumps([row[1] for row in p]))
print("tensorflow" in sys.modules)
"""
    import json
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(reviews), text=True,
                         capture_output=True, check=True, cwd=ROOT).stdout.splitlines()
    np.testing.assert_allclose(json.loads(out[0]), saved["probabilities"][:, 1], atol=1e-5)
    assert out[1] == "False"


def _recording_prepare(monkeypatch, seen):
    original = nbsvm.prepare

    def prepare(params, train, num_classes):
        found = original(params, train, num_classes)
        seen.append({"rows": train.rows, "ratios": found["ratios"].copy()})
        return found

    monkeypatch.setattr(nbsvm, "prepare", prepare)


def test_ratios_come_from_the_training_rows_only(tmp_path, monkeypatch):
    """TrainModel's ratios do not move when the validation rows' labels are flipped, and
    they do when a training row's label is: they are computed from the training rows."""
    import pipeline.tasks as tasks

    archive = make_archive(tmp_path / "a.tar.gz")
    original = tasks.load_features
    ratios = {}
    for flip in ("none", "validation", "one training row"):
        def load_features(task, path, *splits, flip=flip):
            loaded = original(task, path, *splits)
            split = load_arrays(task.input()["split"]["split"].path)
            for data in loaded:
                data.labels = data.labels.copy()
                rows = split["val_rows"] if flip == "validation" else \
                    split["train_rows"][:1] if flip == "one training row" else []
                data.labels[rows] = 1 - data.labels[rows]
            return loaded

        monkeypatch.setattr(tasks, "load_features", load_features)
        seen = []
        _recording_prepare(monkeypatch, seen)
        with pipeline_config(tmp_path / f"data-{flip}", archive):
            result = build([TrainModel(**NB)])
        assert result.status.name == "SUCCESS", result.summary_text
        assert [s["rows"] for s in seen] == [40 - NB["validation_size"]]
        ratios[flip] = seen[0]["ratios"]
    np.testing.assert_array_equal(ratios["validation"], ratios["none"])
    assert not np.allclose(ratios["one training row"], ratios["none"])


def test_final_model_ratios_come_from_all_training_documents(tmp_path, monkeypatch):
    seen = []
    _recording_prepare(monkeypatch, seen)
    with pipeline_config(tmp_path / "data", make_archive(tmp_path / "a.tar.gz")):
        result = build([EvaluateTest(**NB)])
    assert result.status.name == "SUCCESS", result.summary_text
    assert sorted(s["rows"] for s in seen) == [30, 40]  # TrainModel, then EvaluateTest


# -------------------------------------------------------------------- the real archive

@pytest.mark.skipif(not REAL_ARCHIVE.exists(), reason=f"no real archive at {REAL_ARCHIVE}")
def test_real_archive_end_to_end(tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    shutil.copy(ROOT / "luigi.cfg", cwd / "luigi.cfg")
    data = tmp_path / "data"
    completed = run_luigi(["RunAll", "--model", "nbsvm", "--DownloadDataset-url",
                           REAL_ARCHIVE, "--pipeline-data-dir", data], cwd=cwd, timeout=900)
    assert completed.returncode == 0, completed.stdout[-3000:]
    summary = read_json(only_folder(data, "RunAll") / "summary.json")
    assert summary["test_accuracy"] >= 0.91
    metrics = read_json(only_folder(data, "EvaluateTest") / "metrics.json")
    assert metrics["training_documents"] == 25000


def test_compare_models_puts_nbsvm_beside_the_book_model(tmp_path):
    from pipeline.grids import CompareModels

    variants = tmp_path / "variants.toml"
    variants.write_text('[baseline]\ndescription = "the book\'s model"\n\n'
                        '[nbsvm]\ndescription = "NB-weighted n-grams"\nmodel = "nbsvm"\n')
    tiny = {key: value for key, value in NB.items() if key != "model"}
    with pipeline_config(tmp_path / "data", make_archive(tmp_path / "a.tar.gz")) as data:
        result = build([CompareModels(**tiny, variants_file=str(variants))])
        assert result.status.name == "SUCCESS", result.summary_text
        table = (only_folder(data, "CompareModels") / "comparison.csv").read_text()
    rows = {line.split(",")[0]: line for line in table.splitlines()[1:]}
    assert set(rows) == {"baseline", "nbsvm"}
    assert "model=nbsvm" in rows["nbsvm"]
