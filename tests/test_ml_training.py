"""Fitting and evaluating (pipeline/ml/training.py): the best epoch, the history, determinism,
the one-pass loss, three classes, cached validation batches, the training parameters."""
import numpy as np
import pandas as pd
import pytest
from small_fits import BINARY, CLASSES3, train_once, train_three_classes

from pipeline.errors import PipelineError
from pipeline.ml.training import (
    BATCH_SIZE,
    EPOCHS,
    LEARNING_RATE,
    LOSS,
    MAX_EPOCHS,
    OPTIMIZER,
    OPTIMIZERS,
    TRAINING,
    best_epoch,
    evaluate,
    predict,
)


def pairwise_auc(truth, scores):
    """P(score of a positive > score of a negative), ties half: every pair, by hand."""
    positives = [s for t, s in zip(truth, scores) if t]
    negatives = [s for t, s in zip(truth, scores) if not t]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0
               for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


@pytest.fixture(scope="module")
def trained():
    """One small fit with the defaults of ``train_once``, shared by several tests."""
    return train_once()


@pytest.fixture(scope="module")
def trained_three_classes():
    return train_three_classes()


# ------------------------------------------------------------------------- best epoch

@pytest.mark.parametrize("table", [pd.DataFrame, dict], ids=["DataFrame", "columns"])
def test_best_epoch(table):
    history = table({"epoch": [1, 2, 3, 4, 5], "val_loss": [0.5, 0.3, 0.31, 0.29, 0.4]})
    assert best_epoch(history) == 4
    # ties: the earlier epoch; NaN epochs are skipped
    history = table({"epoch": [1, 2, 3, 4], "val_loss": [np.nan, 0.3, 0.3, np.inf]})
    assert best_epoch(history) == 2
    with pytest.raises(PipelineError, match="diverged.*learning_rate"):
        best_epoch(table({"epoch": [1, 2], "val_loss": [np.nan, np.nan]}))


def test_best_epoch_of_a_history_file(tmp_path):
    """What EvaluateTest reads: history.csv's columns as storage reads them."""
    from pipeline.io.storage import read_csv_columns

    path = tmp_path / "history.csv"
    pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.6, 0.4, 0.3],
                  "val_loss": [0.5, 0.25, 0.4]}).to_csv(path, index=False)
    assert best_epoch(read_csv_columns(path)) == 2


# ------------------------------------------------------------------- the parameters

def test_training_parameters_and_their_refusals():
    assert [param.name for param in TRAINING] == ["optimizer", "learning_rate", "loss",
                                                  "epochs", "batch_size"]
    assert "rmsprop" in OPTIMIZERS and OPTIMIZER.default == "rmsprop"
    assert (EPOCHS.default, BATCH_SIZE.default, LEARNING_RATE.default, LOSS.default) == \
        (20, 512, 0.001, "auto")
    assert EPOCHS.parse("4") == 4
    for param, value, message in [
            (EPOCHS, 0, f"epochs must be an integer from 1 to {MAX_EPOCHS:,}, got 0"),
            (EPOCHS, MAX_EPOCHS + 1, f"epochs must be an integer from 1 to {MAX_EPOCHS:,}"),
            (BATCH_SIZE, 0, "batch_size must be an integer from 1 to"),
            (LEARNING_RATE, 0.0, "learning_rate must be a finite number > 0, got 0.0"),
            (OPTIMIZER, "sgdd", "unknown optimizer 'sgdd'; choose one of rmsprop, adam"),
            (LOSS, "crossentropy", "unknown loss 'crossentropy'; choose one of auto")]:
        with pytest.raises(PipelineError) as error:
            param.normalize(value)
        assert str(error.value).startswith(message)


# ------------------------------------------------------------------------- fitting

def test_fit_history_columns_and_rows():
    model, history, train, _ = train_once(epochs=4, batch_size=16)
    assert history.columns[0] == "epoch"
    assert sorted(history.columns) == ["accuracy", "epoch", "loss", "val_accuracy", "val_loss"]
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    assert np.isfinite(history.drop(columns="epoch").to_numpy()).all()
    # one optimizer step per batch: 96 rows / 16 = 6 steps per epoch
    assert int(model.optimizer.iterations.numpy()) == 4 * 6


def test_fit_reports_each_epoch():
    from small_fits import random_data

    from pipeline.ml.training import fit, seed_everything
    from pipeline.models.mlp import build_model

    seen = []
    seed_everything(0)
    model = build_model(num_words=30, units=4)
    fit(model, random_data(0, 20, 30), validation=random_data(1, 8, 30), epochs=3,
        batch_size=8, seed=0, verbose=0, on_epoch=lambda e, n, logs: seen.append((e, n, logs)))
    assert [(epoch, epochs) for epoch, epochs, _ in seen] == [(1, 3), (2, 3), (3, 3)]
    assert all({"loss", "val_loss", "val_accuracy"} <= set(logs) for _, _, logs in seen)


@pytest.mark.slow
def test_fit_is_deterministic(trained):
    model_a, history_a, _, _ = trained
    model_b, history_b, _, _ = train_once()
    pd.testing.assert_frame_equal(history_a, history_b, check_exact=True)
    for wa, wb in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    # and the seed matters
    model_c, history_c, _, _ = train_once(seed=4)
    assert not np.array_equal(model_a.get_weights()[0], model_c.get_weights()[0])


@pytest.mark.slow
def test_validation_batches_cached_give_the_same_history(monkeypatch):
    """fit() caches the validation batches: the history is that of uncached batches."""
    from pipeline.features.multihot import MultiHot

    _, cached, _, _ = train_once(epochs=3)
    original = MultiHot.batches
    calls = []

    def uncached(self, batch_size, label_dtype="float32", shuffle_seed=None, cache=False):
        calls.append(cache)
        return original(self, batch_size, label_dtype, shuffle_seed, cache=False)

    monkeypatch.setattr(MultiHot, "batches", uncached)
    _, plain, _, _ = train_once(epochs=3)
    assert calls == [False, True]  # training batches reshuffled, validation ones cached
    pd.testing.assert_frame_equal(cached, plain)


# ------------------------------------------------------------------------ evaluating

def test_evaluate_loss_and_metrics_match_predictions(trained):
    model, _, _, validation = trained
    metrics, probabilities = evaluate(model, validation, BINARY)
    assert probabilities.shape == (validation.rows, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(predict(model, validation), probabilities, rtol=1e-6)
    positive = probabilities[:, 1]
    y = validation.labels.astype(np.float64)
    p = np.clip(positive.astype(np.float64), 1e-7, 1 - 1e-7)
    bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert metrics["loss"] == pytest.approx(bce, rel=1e-4, abs=1e-5)
    assert metrics["accuracy"] == pytest.approx(np.mean((positive >= 0.5) == (y == 1)))
    assert metrics["count"] == validation.rows
    assert metrics["roc_auc"] == pytest.approx(pairwise_auc(y == 1, positive))
    assert list(metrics["per_class"]) == BINARY
    tp = int(np.sum((positive >= 0.5) & (y == 1)))
    tn = int(np.sum((positive < 0.5) & (y == 0)))
    fp = int(np.sum((positive >= 0.5) & (y == 0)))
    fn = int(np.sum((positive < 0.5) & (y == 1)))
    assert metrics["confusion_matrix"]["rows_true_columns_predicted"] == [[tn, fp], [fn, tp]]


@pytest.mark.parametrize("overrides", [
    {},                                              # the book's binary cross-entropy
    {"l2": 0.01, "dropout": 0.3, "l1": 0.001},       # weight penalties count in the loss
    {"loss": "mse"},
    {"loss": "hinge"},
])
def test_evaluate_loss_equals_keras_evaluate(overrides):
    """evaluate() computes the loss from its one prediction pass; it must be the number
    model.evaluate gives (which it does not call)."""
    model, _, _, validation = train_once(epochs=2, **overrides)
    expected = model.evaluate(validation.batches(8), verbose=0, return_dict=True)["loss"]
    metrics, _ = evaluate(model, validation, ["negative", "positive"])
    assert metrics["loss"] == pytest.approx(expected, rel=1e-5, abs=1e-6)


# ------------------------------------------------------------------------ three classes

def test_fit_and_evaluate_three_classes(trained_three_classes):
    model, history, train, test = trained_three_classes
    assert history["epoch"].tolist() == list(range(1, 16))
    assert np.isfinite(history.drop(columns="epoch").to_numpy()).all()
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    metrics, probabilities = evaluate(model, test, CLASSES3)
    assert probabilities.shape == (test.rows, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(predict(model, test, 3), probabilities, rtol=1e-6)
    # the model's loss is the sparse categorical cross-entropy of these probabilities
    labels = test.labels.astype(np.int64)
    picked = np.clip(probabilities[np.arange(test.rows), labels], 1e-7, 1.0)
    assert metrics["loss"] == pytest.approx(-np.mean(np.log(picked)), rel=1e-4, abs=1e-5)
    # per-class figures, named by the classes, as counted by hand from the predictions
    predicted = probabilities.argmax(axis=1)
    assert list(metrics["per_class"]) == CLASSES3
    assert metrics["confusion_matrix"]["labels"] == CLASSES3
    for k, name in enumerate(CLASSES3):
        tp = int(np.sum((predicted == k) & (labels == k)))
        support = int(np.sum(labels == k))
        assert metrics["per_class"][name]["support"] == support
        assert metrics["per_class"][name]["recall"] == pytest.approx(tp / support)
        assert metrics["per_class"][name]["precision"] == pytest.approx(
            tp / max(int(np.sum(predicted == k)), 1))
    assert metrics["accuracy"] == pytest.approx(np.mean(predicted == labels))
    assert metrics["count"] == test.rows
    # learnable: each class has its own words
    assert metrics["accuracy"] > 0.8
    assert "roc_auc" not in metrics


def test_evaluate_loss_equals_keras_evaluate_three_classes(trained_three_classes):
    model, _, _, test = trained_three_classes
    expected = model.evaluate(test.batches(8, "int32"), verbose=0, return_dict=True)["loss"]
    assert evaluate(model, test, CLASSES3)[0]["loss"] == pytest.approx(expected, rel=1e-5)


# ------------------------------------------------------------------------- TensorBoard

@pytest.mark.slow
def test_fit_writes_tensorboard_logs_of_its_history_and_changes_no_number(tmp_path):
    pytest.importorskip("tensorboard", reason="pip install -c constraints.txt -e "
                                              "'.[tensorboard]'")
    from small_fits import BOOK, random_data
    from tensorboard_events import scalars

    from pipeline.ml.training import fit, seed_everything, write_scalars
    from pipeline.models.mlp import build_model

    def run(log_dir):
        train, validation = random_data(0, 96, 60), random_data(1, 32, 60)
        seed_everything(3)
        model = build_model(num_words=60, fast=True, **dict(BOOK, units=8))
        history, _ = fit(model, train, validation=validation, epochs=3, batch_size=16,
                         seed=3, verbose=0, log_dir=log_dir)
        return history

    plain = run(None)
    logged = run(tmp_path / "logs")
    pd.testing.assert_frame_equal(plain, logged)
    train = scalars(tmp_path / "logs" / "train")
    validation = scalars(tmp_path / "logs" / "validation")
    for tag, column, logs in (("epoch_loss", "loss", train),
                              ("epoch_accuracy", "accuracy", train),
                              ("epoch_loss", "val_loss", validation),
                              ("epoch_accuracy", "val_accuracy", validation)):
        steps, values = zip(*logs[tag])
        assert list(steps) == [0, 1, 2]
        np.testing.assert_allclose(values, logged[column], rtol=1e-6)
    write_scalars(tmp_path / "logs" / "test", 2, {"epoch_accuracy": 0.75})
    assert scalars(tmp_path / "logs" / "test") == {"epoch_accuracy": [(2, 0.75)]}
