"""The nbsvm model (pipeline/models/nbsvm.py): NB ratios by hand, ratios from the training
rows only, the chain and scoring on a tiny archive, a grid beside the book's model, bad
input, and the real archive end to end."""
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import (
    REAL_ARCHIVE,
    ROOT,
    build,
    make_archive,
    no_corpus,
    only_folder,
    pipeline_config,
    run_luigi,
    working_folder,
)

from pipeline import CompareModels, EvaluateTest, PipelineError, RunAll, TrainModel, models
from pipeline.features.multihot import MultiHot
from pipeline.io.storage import load_arrays, read_json
from pipeline.models import nbsvm
from pipeline.models.nbsvm import NBSVM
from pipeline.tasks import chain as chain_tasks

NB = dict(num_words=40, validation_size=10, epochs=3, batch_size=8, model="nbsvm")
PARAMS = dict(ngram_range="1,3", min_df=2, punctuation="keep", nb_alpha=1.0,
              optimizer="rmsprop", learning_rate=0.001, loss="auto", epochs=3, batch_size=8)


def test_nb_ratios_by_hand():
    # columns 0..2; rows: positive {0, 1}, positive {0}, negative {1, 2}
    data = MultiHot(np.array([0, 2, 3, 5]), np.array([0, 1, 0, 1, 2], np.int32),
                    np.array([1, 1, 0]), 3)
    p = np.array([1 + 2, 1 + 1, 1 + 0])  # alpha 1 + counts in positive rows
    q = np.array([1 + 0, 1 + 1, 1 + 1])
    expected = np.log((p / p.sum()) / (q / q.sum()))
    np.testing.assert_allclose(nbsvm.nb_ratios(data, 2, alpha=1.0)[:, 0], expected,
                               rtol=1e-6)
    # the plug-in's prepare gives them with its nb_alpha
    prepared = models.get("nbsvm").prepare(PARAMS, data, 2)
    np.testing.assert_allclose(prepared["ratios"][:, 0], expected, rtol=1e-6)
    assert prepared["ratios"].dtype == np.float32
    # three classes: one-vs-rest
    data.labels = np.array([0, 1, 2])
    ratios = nbsvm.nb_ratios(data, 3, alpha=0.5)
    assert ratios.shape == (3, 3)
    mine = 0.5 + np.array([0, 1, 1])  # class 2: row {1, 2}
    rest = 0.5 + np.array([2, 1, 0])  # classes 0 and 1: rows {0, 1} and {0}
    np.testing.assert_allclose(ratios[:, 2], np.log((mine / mine.sum()) / (rest / rest.sum())),
                               rtol=1e-6)


def test_describe():
    plugin = models.get("nbsvm")
    assert plugin.representation == "ngrams"
    assert plugin.describe(PARAMS) == "nbsvm on 1-3-grams (min_df 2), rmsprop lr 0.001"
    assert plugin.describe(dict(PARAMS, ngram_range="2,2", optimizer="adam",
                                learning_rate=0.01)) == \
        "nbsvm on 2-grams (min_df 2), adam lr 0.01"


def test_built_without_its_ratios_is_refused():
    with pytest.raises(PipelineError, match="built from its training rows' NB ratios"):
        models.get("nbsvm").build(PARAMS, 40, 2, fast=True, extra={})


def test_bad_values_and_parameters_of_another_model_are_refused():
    with pytest.raises(PipelineError, match="nb_alpha must be a finite number > 0, got 0.0"):
        RunAll(**NB, nb_alpha=0.0)
    with pytest.raises(PipelineError, match="units is not a parameter of model 'nbsvm'"):
        RunAll(**NB, units=8)


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


def test_scoring_raw_text_equals_evaluate_test_without_tensorflow(chain):
    """Test reviews re-read from the archive and scored by the numpy twin give EvaluateTest's
    probabilities: same tokenizer, same n-grams, same weights."""
    from pipeline.datasets.aclimdb import AclImdb

    data = chain["data"]
    evaluate = only_folder(data, "EvaluateTest")
    saved = load_arrays(evaluate / "predictions.npz")
    reviews = [text for _, _, text in
               AclImdb().texts(data / "DownloadDataset" / "aclimdb", "test", {})]
    code = f"""
import sys, json
from pipeline import features
from pipeline.io.storage import load_arrays, read_json
from pipeline.ml.inference import NumpyMLP
from pipeline.ml.predict import Review, score
reviews = [Review(str(i), text) for i, text in enumerate(json.load(sys.stdin))]
model = NumpyMLP.load({str(evaluate / 'weights.npz')!r})
vocabulary = read_json({str(only_folder(data, 'Encode') / 'vocabulary.json')!r})
representation = features.get("ngrams")
fitted = load_arrays({str(only_folder(data, 'Featurize') / 'features.npz')!r},
                     only=representation.fitted)
p = score(model, vocabulary, reviews, representation,
          dict(ngram_range="1,3", min_df=2, punctuation="keep"), fitted)
print(json.dumps([row[1] for row in p]))
print("tensorflow" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(reviews), text=True,
                         capture_output=True, check=True, cwd=ROOT).stdout.splitlines()
    assert len(json.loads(out[0])) == len(saved["probabilities"]) == 20
    np.testing.assert_allclose(json.loads(out[0]), saved["probabilities"][:, 1], atol=1e-5)
    assert out[1] == "False"


def test_predict_task_scores_new_text_with_the_stored_n_grams(chain, tmp_path):
    """Predict reads the n-gram list Featurize kept and the numpy twin: the same numbers as
    scoring by hand, and a text with no known n-gram gets its note."""
    import csv

    from pipeline import Predict, features
    from pipeline.ml.inference import NumpyMLP
    from pipeline.ml.predict import Review, score

    data = chain["data"]
    path = tmp_path / "new.txt"
    path.write_text("Great, brilliant film!\nawful boring mess\nzzz qqq\n")
    with pipeline_config(data, chain["archive"]):
        task = Predict(**NB, input=str(path))
        assert build([task]).status.name == "SUCCESS"
    with open(task.output()["predictions"].path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    representation = features.get("ngrams")
    expected = score(NumpyMLP.load(only_folder(data, "EvaluateTest") / "weights.npz"),
                     read_json(only_folder(data, "Encode") / "vocabulary.json"),
                     [Review(str(i), t) for i, t in enumerate(path.read_text().splitlines(), 1)],
                     representation, dict(ngram_range="1,3", min_df=2, punctuation="keep"),
                     load_arrays(only_folder(data, "Featurize") / "features.npz",
                                 only=representation.fitted))
    assert [row["id"] for row in rows] == ["1", "2", "3"]
    for row, probability in zip(rows, expected):
        assert float(row["probability_positive"]) == pytest.approx(probability[1], abs=1e-6)
    assert [row["label"] for row in rows[:2]] == ["positive", "negative"]
    assert [row["note"] for row in rows] == ["", "", "no known n-grams"]


def _recording_prepare(monkeypatch, seen):
    original = NBSVM.prepare

    def prepare(self, params, train, num_classes):
        found = original(self, params, train, num_classes)
        seen.append({"rows": train.rows, "ratios": found["ratios"].copy()})
        return found

    monkeypatch.setattr(NBSVM, "prepare", prepare)


@pytest.mark.slow
def test_ratios_come_from_the_training_rows_only(tmp_path, monkeypatch):
    """TrainModel's ratios do not move when the validation rows' labels are flipped, and
    they do when a training row's label is: they are computed from the training rows."""
    archive = make_archive(tmp_path / "a.tar.gz")
    original = chain_tasks.Fitting.load_features
    ratios = {}
    for flip in ("none", "validation", "one training row"):
        def load_features(task, *splits, flip=flip):
            loaded = original(task, *splits)
            split = load_arrays(task.input()["split"]["split"].path)
            for data in loaded:
                data.labels = data.labels.copy()
                rows = split["val_rows"] if flip == "validation" else \
                    split["train_rows"][:1] if flip == "one training row" else []
                data.labels[rows] = 1 - data.labels[rows]
            return loaded

        monkeypatch.setattr(chain_tasks.Fitting, "load_features", load_features)
        seen = []
        _recording_prepare(monkeypatch, seen)
        with pipeline_config(tmp_path / f"data-{flip}", archive):
            result = build([TrainModel(**NB)])
        assert result.status.name == "SUCCESS", result.summary_text
        assert [s["rows"] for s in seen] == [40 - NB["validation_size"]]
        ratios[flip] = seen[0]["ratios"]
    np.testing.assert_array_equal(ratios["validation"], ratios["none"])
    assert not np.allclose(ratios["one training row"], ratios["none"])


@pytest.mark.slow
def test_final_model_ratios_come_from_all_training_documents(tmp_path, monkeypatch):
    seen = []
    _recording_prepare(monkeypatch, seen)
    with pipeline_config(tmp_path / "data", make_archive(tmp_path / "a.tar.gz")):
        result = build([EvaluateTest(**NB)])
    assert result.status.name == "SUCCESS", result.summary_text
    assert sorted(s["rows"] for s in seen) == [30, 40]  # TrainModel, then EvaluateTest


@pytest.mark.slow
def test_compare_models_puts_nbsvm_beside_the_book_model(tmp_path):
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


# -------------------------------------------------------------------- the real archive

@pytest.mark.slow
@pytest.mark.skipif(not REAL_ARCHIVE.exists(), reason=no_corpus(REAL_ARCHIVE.name))
def test_real_archive_end_to_end(tmp_path):
    cwd = working_folder(tmp_path)
    data = tmp_path / "data"
    completed = run_luigi(["RunAll", "--model", "nbsvm", "--DownloadDataset-url",
                           REAL_ARCHIVE, "--pipeline-data-dir", data], cwd=cwd, timeout=900)
    assert completed.returncode == 0, completed.stdout[-3000:]
    summary = read_json(only_folder(data, "RunAll") / "summary.json")
    assert summary["test_accuracy"] >= 0.91
    metrics = read_json(only_folder(data, "EvaluateTest") / "metrics.json")
    assert metrics["training_documents"] == 25000
