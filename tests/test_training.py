"""Metrics, epoch choice, and the sparse model: pipeline/training.py, pipeline/models.py."""
import math
from itertools import product

import numpy as np
import pandas as pd
import pytest

from pipeline.errors import PipelineError
from pipeline.features import multi_hot
from pipeline.models import build_model, check_model_params, portable_model
from pipeline.training import (
    best_epoch, classification_metrics, evaluate, fit, predict, roc_auc, seed_everything,
    sparse_batches)

BOOK = dict(layers=2, units=16, activation="relu", dropout=0.0, l1=0.0, l2=0.0,
            optimizer="rmsprop", learning_rate=0.001, loss="binary_crossentropy")


# ------------------------------------------------------------------------- metrics

def pairwise_auc(truth, scores):
    """P(score of a positive > score of a negative), ties half: every pair, by hand."""
    positives = [s for t, s in zip(truth, scores) if t]
    negatives = [s for t, s in zip(truth, scores) if not t]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0
               for p, n in product(positives, negatives))
    return wins / (len(positives) * len(negatives))


def test_classification_metrics_small_case():
    labels = [1, 1, 1, 0, 0, 0, 0, 1]
    probs = [0.9, 0.6, 0.2, 0.7, 0.1, 0.5, 0.3, 0.5]
    # threshold 0.5 (inclusive): predicted positive = 0.9, 0.6, 0.7, 0.5, 0.5
    tp, fp, fn, tn = 3, 2, 1, 2
    metrics = classification_metrics(labels, probs)
    assert metrics["accuracy"] == pytest.approx((tp + tn) / 8)
    assert metrics["precision"] == pytest.approx(tp / (tp + fp))
    assert metrics["recall"] == pytest.approx(tp / (tp + fn))
    p, r = tp / (tp + fp), tp / (tp + fn)
    assert metrics["f1"] == pytest.approx(2 * p * r / (p + r))
    assert metrics["confusion_matrix"]["rows_true_columns_predicted"] == [[tn, fp], [fn, tp]]
    assert metrics["confusion_matrix"]["labels"] == ["negative", "positive"]
    assert metrics["count"] == 8
    assert metrics["roc_auc"] == pytest.approx(pairwise_auc(labels, probs))


@pytest.mark.parametrize("seed", range(6))
def test_classification_metrics_random_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    labels = rng.integers(0, 2, size=n).astype(np.float32)
    labels[:2] = [0, 1]  # both classes
    probs = np.round(rng.random(n), 1)  # coarse: many ties, some exactly 0.5
    metrics = classification_metrics(labels, probs)
    tp = sum(1 for y, p in zip(labels, probs) if y == 1 and p >= 0.5)
    tn = sum(1 for y, p in zip(labels, probs) if y == 0 and p < 0.5)
    fp = sum(1 for y, p in zip(labels, probs) if y == 0 and p >= 0.5)
    fn = sum(1 for y, p in zip(labels, probs) if y == 1 and p < 0.5)
    assert metrics["confusion_matrix"]["rows_true_columns_predicted"] == [[tn, fp], [fn, tp]]
    assert metrics["accuracy"] == pytest.approx((tp + tn) / n)
    assert metrics["precision"] == pytest.approx(tp / (tp + fp) if tp + fp else 0.0)
    assert metrics["recall"] == pytest.approx(tp / (tp + fn) if tp + fn else 0.0)
    assert metrics["roc_auc"] == pytest.approx(pairwise_auc(labels, probs))


def test_metrics_with_no_predicted_positives():
    metrics = classification_metrics([1, 0, 0], [0.1, 0.2, 0.3])
    assert metrics["precision"] == 0.0 and metrics["recall"] == 0.0 and metrics["f1"] == 0.0
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["roc_auc"] == pytest.approx(0.0)  # the positive has the lowest score


@pytest.mark.parametrize("truth,scores", [
    ([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]),
    ([1, 0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5, 0.5]),           # all tied
    ([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]),                   # perfect
    ([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]),                   # reversed
    ([0, 1, 0, 1, 1, 0], [3, 1, 2, 2, 5, -1]),              # not probabilities
])
def test_roc_auc_hand_cases(truth, scores):
    assert roc_auc(truth, scores) == pytest.approx(pairwise_auc(truth, scores))


@pytest.mark.parametrize("seed", range(5))
def test_roc_auc_random_with_ties(seed):
    rng = np.random.default_rng(100 + seed)
    truth = rng.integers(0, 2, size=200).astype(bool)
    scores = rng.integers(0, 15, size=200) / 15.0
    assert roc_auc(truth, scores) == pytest.approx(pairwise_auc(truth, scores))


def test_roc_auc_one_class_is_nan():
    assert math.isnan(roc_auc([1, 1, 1], [0.2, 0.5, 0.9]))
    assert math.isnan(roc_auc([0, 0], [0.2, 0.5]))


def test_best_epoch():
    history = pd.DataFrame({"epoch": [1, 2, 3, 4, 5],
                            "val_loss": [0.5, 0.3, 0.31, 0.29, 0.4]})
    assert best_epoch(history) == 4
    # ties: the earlier epoch; NaN epochs are skipped
    history = pd.DataFrame({"epoch": [1, 2, 3, 4], "val_loss": [np.nan, 0.3, 0.3, np.inf]})
    assert best_epoch(history) == 2
    with pytest.raises(PipelineError, match="diverged.*learning_rate"):
        best_epoch(pd.DataFrame({"epoch": [1, 2], "val_loss": [np.nan, np.nan]}))


def test_check_model_params_names_the_parameter():
    check_model_params(num_words=100, **BOOK)  # the book's model is valid
    for name, bad in [("num_words", 0), ("layers", 0), ("units", -1), ("activation", "nope"),
                      ("optimizer", "sgdd"), ("loss", "crossentropy"), ("dropout", 1.0),
                      ("dropout", -0.1), ("l1", -1.0), ("l2", float("nan")),
                      ("learning_rate", 0.0)]:
        params = dict(BOOK, num_words=100)
        params[name] = bad
        with pytest.raises(PipelineError, match=name):
            check_model_params(**params)


# ------------------------------------------------------------------------ the model

def random_data(seed, rows, num_words):
    """Multi-hot data whose label depends on the words, so the model can learn."""
    rng = np.random.default_rng(seed)
    sequences = [[1] + rng.integers(2, num_words, size=int(rng.integers(3, 15))).tolist()
                 for _ in range(rows)]
    labels = [float(np.mean(s) > num_words / 2) for s in sequences]
    values = np.asarray([v for s in sequences for v in s], dtype=np.int32)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum([len(s) for s in sequences], out=offsets[1:])
    return multi_hot(values, offsets, labels, num_words)


def train_once(num_words=60, seed=3, epochs=3, batch_size=16, fast=True, **overrides):
    """Fit as the tasks do (``fast`` first layer unless told otherwise)."""
    train = random_data(0, 96, num_words)
    validation = random_data(1, 32, num_words)
    seed_everything(seed)
    model = build_model(num_words=num_words, fast=fast, **dict(BOOK, units=8, **overrides))
    history, _ = fit(model, train, validation=validation, epochs=epochs,
                     batch_size=batch_size, seed=seed, verbose=0)
    return model, history, train, validation


@pytest.fixture(scope="module")
def trained():
    """One small fit with the defaults of ``train_once``, shared by several tests."""
    return train_once()


def test_sparse_batches_are_the_dense_rows():
    data = random_data(2, 23, 17)
    dense = data.to_dense()
    import tensorflow as tf

    seen_rows = []
    for x, y in sparse_batches(data, 5):
        assert isinstance(x, tf.SparseTensor)
        seen_rows.append(tf.sparse.to_dense(tf.sparse.reorder(x)).numpy())
        assert len(y) == len(seen_rows[-1])
    np.testing.assert_array_equal(np.concatenate(seen_rows), dense)

    # with a seed the rows come shuffled (a permutation of the dense rows, labels along)
    xs, ys = [], []
    for x, y in sparse_batches(data, 5, shuffle_seed=1):
        xs.append(tf.sparse.to_dense(tf.sparse.reorder(x)).numpy())
        ys.append(y.numpy())
    xs, ys = np.concatenate(xs), np.concatenate(ys)

    def canonical(rows, labels):
        table = np.column_stack([rows, labels])
        return table[np.lexsort(table.T[::-1])]

    np.testing.assert_array_equal(canonical(xs, ys), canonical(dense, data.labels))
    assert not np.array_equal(xs, dense)


def test_fit_history_columns_and_rows():
    model, history, train, _ = train_once(epochs=4, batch_size=16)
    assert history.columns[0] == "epoch"
    assert sorted(history.columns) == ["accuracy", "epoch", "loss", "val_accuracy", "val_loss"]
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    assert np.isfinite(history.drop(columns="epoch").to_numpy()).all()
    # one optimizer step per batch: 96 rows / 16 = 6 steps per epoch
    assert int(model.optimizer.iterations.numpy()) == 4 * 6


def test_fit_is_deterministic(trained):
    model_a, history_a, _, _ = trained
    model_b, history_b, _, _ = train_once()
    pd.testing.assert_frame_equal(history_a, history_b, check_exact=True)
    for wa, wb in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    # and the seed matters
    model_c, history_c, _, _ = train_once(seed=4)
    assert not np.array_equal(model_a.get_weights()[0], model_c.get_weights()[0])


def test_sparse_model_equals_the_books_dense_model(trained):
    import keras

    model, _, train, validation = trained
    num_words = train.num_words
    dense = keras.Sequential([
        keras.Input(shape=(num_words,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    dense.set_weights(model.get_weights())
    for data in (train, validation):
        expected = dense.predict(data.to_dense(), verbose=0).reshape(-1)
        np.testing.assert_allclose(predict(model, data), expected, rtol=1e-5, atol=1e-6)


def test_fast_first_layer_trains_like_keras_own_sparse_path(trained):
    fast_model, fast_history, _, _ = trained
    assert type(fast_model.get_layer("hidden_1")).__name__ == "SparseDense"
    plain_model, plain_history, _, _ = train_once(fast=False)
    assert type(plain_model.get_layer("hidden_1")).__name__ == "Dense"
    # the same arithmetic summed in another order: equal to float32 rounding
    pd.testing.assert_frame_equal(fast_history, plain_history, rtol=1e-4, atol=1e-5)
    for wa, wb in zip(fast_model.get_weights(), plain_model.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-3, atol=1e-5)


def test_portable_model_loads_in_plain_keras_and_goes_on_training(trained, tmp_path):
    import keras

    model, _, train, validation = trained
    twin = portable_model(model, num_words=train.num_words, **dict(BOOK, units=8))
    twin.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert [type(layer) for layer in loaded.layers[1:]] == [keras.layers.Dense] * 3
    np.testing.assert_allclose(predict(loaded, validation), predict(model, validation),
                               rtol=1e-5, atol=1e-6)
    # the optimizer state came along: step count and RMSprop accumulators
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for mine, theirs in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    steps = int(loaded.optimizer.iterations.numpy())
    assert steps == 3 * 6
    fit(loaded, train, epochs=1, batch_size=16, seed=0, verbose=0)
    assert int(loaded.optimizer.iterations.numpy()) == steps + 6


def test_evaluate_loss_and_metrics_match_predictions(trained):
    model, _, _, validation = trained
    metrics, probabilities = evaluate(model, validation)
    assert probabilities.shape == (validation.rows,)
    y = validation.labels.astype(np.float64)
    p = np.clip(probabilities.astype(np.float64), 1e-7, 1 - 1e-7)
    bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert metrics["loss"] == pytest.approx(bce, rel=1e-4, abs=1e-5)
    assert metrics["accuracy"] == pytest.approx(np.mean((probabilities >= 0.5) == (y == 1)))
    assert metrics["count"] == validation.rows
    assert metrics["roc_auc"] == pytest.approx(pairwise_auc(y == 1, probabilities))


def test_model_variants_build_and_train():
    model, history, _, _ = train_once(epochs=1, layers=3, dropout=0.25, l2=0.01,
                                      optimizer="adam", activation="tanh")
    assert [layer.name for layer in model.layers if "hidden" in layer.name] == \
        ["hidden_1", "hidden_2", "hidden_3"]
    assert any("dropout" in layer.name for layer in model.layers)
    assert model.optimizer.name == "adam"
    assert len(history) == 1
