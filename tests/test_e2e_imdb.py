"""End to end on the real archive (50,000 labelled reviews), through the command line,
with the default (the book's) parameters. One full run (about a minute) shared by
every test of this module; skipped when neither $TEXT_CLASSIFIER_CORPORA nor
../shared/data has the archive."""
import re
import time

import pandas as pd
import pytest
from conftest import REAL_ARCHIVE, mtimes, needs_corpus, only_folder, run_luigi, working_folder

from pipeline.io.storage import load_arrays, read_json
from pipeline.ml.training import best_epoch

pytestmark = needs_corpus(REAL_ARCHIVE.name)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    cwd = working_folder(root)
    data = root / "data"
    args = ["--DownloadDataset-url", REAL_ARCHIVE, "--pipeline-data-dir", data]
    started = time.monotonic()
    completed = run_luigi(["RunAll", *args], cwd=cwd, timeout=900)
    seconds = time.monotonic() - started
    return {"cwd": cwd, "data": data, "args": args, "run": completed, "seconds": seconds}


@pytest.fixture(scope="module")
def second(first):
    """The identical command again, right after the first run."""
    before = mtimes(first["data"])
    started = time.monotonic()
    completed = run_luigi(["RunAll", *first["args"]], cwd=first["cwd"], timeout=300)
    return {"run": completed, "seconds": time.monotonic() - started,
            "before": before, "after": mtimes(first["data"])}


@pytest.fixture(scope="module")
def plot_again(second, first):
    """The PNG deleted, then PlotHistory run on its own."""
    data = first["data"]
    png = only_folder(data, "PlotHistory") / "history.png"
    png.unlink()
    others = {family: mtimes(only_folder(data, family))
              for family in ("DownloadDataset", "Encode", "SplitValidation", "Featurize",
                             "TrainModel", "EvaluateTest", "RunAll")}
    completed = run_luigi(["PlotHistory", *first["args"], "--log-level", "DEBUG"],
                          cwd=first["cwd"], timeout=300)
    return {"run": completed, "png": png, "others": others}


def test_first_run_succeeds(first):
    run = first["run"]
    assert run.returncode == 0, run.stdout[-5000:]
    assert "Traceback" not in run.stdout
    assert "9 ran successfully" in run.stdout  # the chain, PlotConfusion and RunAll


def test_test_accuracy(first):
    data = first["data"]
    summary = read_json(only_folder(data, "RunAll") / "summary.json")
    metrics = read_json(only_folder(data, "EvaluateTest") / "metrics.json")
    assert summary["test_accuracy"] >= 0.88  # 0.8846 at the default seed 0
    assert metrics["accuracy"] == summary["test_accuracy"]
    assert metrics["loss"] == summary["test_loss"]
    assert f"test accuracy {summary['test_accuracy']:.4f}" in first["run"].stdout
    assert 0.0 < metrics["loss"] < 0.6
    assert metrics["roc_auc"] > metrics["accuracy"]  # ranking is easier than thresholding


def test_25000_test_reviews_evaluated(first):
    folder = only_folder(first["data"], "EvaluateTest")
    metrics = read_json(folder / "metrics.json")
    assert metrics["count"] == 25000
    assert sum(map(sum, metrics["confusion_matrix"]["rows_true_columns_predicted"])) == 25000
    assert metrics["training_documents"] == 25000
    assert {name: c["support"] for name, c in metrics["per_class"].items()} == \
        {"negative": 12500, "positive": 12500}
    predictions = load_arrays(folder / "predictions.npz")
    assert predictions["probabilities"].shape == (25000, 2)
    assert predictions["labels"].sum() == 12500


def test_dataset_and_vocabulary(first):
    data = first["data"]
    manifest = read_json(only_folder(data, "DownloadDataset") / "manifest.json")
    assert manifest["reviews"] == {f"{s}/{c}": 12500 for s in ("train", "test")
                                   for c in ("pos", "neg")}
    vocabulary = read_json(only_folder(data, "Encode") / "vocabulary.json")
    words = vocabulary["words"]
    assert len(words) == 9996 and len(set(words)) == 9996
    assert words[:3] == ["the", "and", "a"]  # as in Keras's imdb word index
    assert "br" not in words
    counts = vocabulary["training_counts"]
    assert counts == sorted(counts, reverse=True)


def test_training_history_and_chosen_epoch(first):
    data = first["data"]
    history = pd.read_csv(only_folder(data, "TrainModel") / "history.csv")
    assert len(history) == 20
    # the book's curves: training loss keeps falling, validation loss turns up
    assert history["loss"].iloc[-1] < history["loss"].iloc[:5].min() / 3
    assert history["val_loss"].iloc[-1] > history["val_loss"].min()
    assert history["accuracy"].iloc[-1] > 0.97
    metrics = read_json(only_folder(data, "EvaluateTest") / "metrics.json")
    assert metrics["final_epochs"] == best_epoch(history)
    training = read_json(only_folder(data, "TrainModel") / "training.json")
    assert (training["training_documents"], training["validation_documents"]) == \
        (15000, 10000)
    summary = read_json(only_folder(data, "RunAll") / "summary.json")
    assert summary["chosen_epoch"] == metrics["final_epochs"]


def test_second_identical_run_does_nothing_quickly(second):
    run = second["run"]
    assert run.returncode == 0, run.stdout
    assert "Nothing to do" in run.stdout
    assert "Did not run any tasks" in run.stdout
    assert second["seconds"] < 5, f"no-op rerun took {second['seconds']:.1f} s"
    assert second["after"] == second["before"]


def test_plot_history_alone(plot_again):
    run = plot_again["run"]
    assert run.returncode == 0, run.stdout
    assert re.search(r"running\s+PlotHistory\(", run.stdout)
    assert re.findall(r"running\s+(\w+)\(", run.stdout) == ["PlotHistory"]
    assert "1 ran successfully" in run.stdout
    assert plot_again["png"].read_bytes()[:8] == PNG_SIGNATURE
    data = plot_again["png"].parents[2]
    assert {family: mtimes(only_folder(data, family))
            for family in plot_again["others"]} == plot_again["others"]


@pytest.fixture(scope="module")
def real_scores(first):
    """The final default model re-scoring every real test review from its raw text."""
    from pipeline import features
    from pipeline.datasets.aclimdb import iter_reviews
    from pipeline.ml.inference import NumpyMLP
    from pipeline.ml.predict import Review, score

    data = first["data"]
    vocabulary = read_json(only_folder(data, "Encode") / "vocabulary.json")
    model = NumpyMLP.load(only_folder(data, "EvaluateTest") / "weights.npz")
    reviews, labels, ratings = [], [], []
    for _, label, name, text in iter_reviews(REAL_ARCHIVE, "test"):
        reviews.append(Review(name, text))
        labels.append(label)
        ratings.append(int(name.split("_")[1].split(".")[0]))
    scored = score(model, vocabulary, reviews, features.get("multihot"), {}, {})
    probabilities = [p[1] for p in scored]  # of "positive"
    return {"reviews": reviews, "labels": labels, "ratings": ratings,
            "probabilities": probabilities, "data": data}


def test_prediction_on_raw_text_equals_evaluate_test(real_scores):
    import numpy as np

    data = real_scores["data"]
    metrics = read_json(only_folder(data, "EvaluateTest") / "metrics.json")
    stored = load_arrays(only_folder(data, "EvaluateTest") / "predictions.npz")
    probabilities = np.asarray(real_scores["probabilities"])
    labels = np.asarray(real_scores["labels"])
    np.testing.assert_array_equal(labels, stored["labels"])
    # numpy's float64 forward pass against Keras's float32 one
    np.testing.assert_allclose(probabilities, stored["probabilities"][:, 1], atol=5e-6)
    accuracy = float(np.mean((probabilities >= 0.5) == (labels == 1)))
    assert accuracy == pytest.approx(metrics["accuracy"], abs=1e-12)


def test_clearly_rated_real_reviews_are_scored_right(real_scores):
    """The first five short test reviews rated 10/10 and 1/10 (archive order): at least
    nine of the ten right. (The one the default model misses, 10066_1, is ironic: "If you
    wanna have great fun, don't hesitate ... incredibly bad but is also the best".) And
    the model is surer where the reviewer was: accuracy on all reviews rated 1 or 10 is
    above 0.90 (0.917 measured with the defaults) and above that on the mild ratings
    4 and 7."""
    picked = {10: [], 1: []}
    by_rating = {}
    for review, label, rating, probability in zip(
            real_scores["reviews"], real_scores["labels"], real_scores["ratings"],
            real_scores["probabilities"]):
        right = (probability >= 0.5) == (label == 1)
        by_rating.setdefault(rating, []).append(right)
        if rating in picked and len(review.text) < 400 and len(picked[rating]) < 5:
            picked[rating].append(right)
    assert len(picked[10]) == 5 and len(picked[1]) == 5
    assert sum(picked[10]) + sum(picked[1]) >= 9, picked

    def accuracy(ratings):
        results = [r for rating in ratings for r in by_rating[rating]]
        return sum(results) / len(results)

    extreme, mild = accuracy((1, 10)), accuracy((4, 7))
    assert extreme > 0.90, extreme
    assert extreme > mild, (extreme, mild)
