"""Metrics (pipeline/metrics.py), epoch choice and fitting (pipeline/training.py), the
sparse model (pipeline/models/mlp.py, heads.py) and its batches (MultiHot.batches)."""
import math
from itertools import product

import numpy as np
import pandas as pd
import pytest

from pipeline.errors import PipelineError
from pipeline.features.multihot import multi_hot
from pipeline.metrics import classification_metrics
from pipeline.models import OPTIMIZERS, heads
from pipeline.models.mlp import BOOK_MODEL, build_model, check_model_params, portable_model
from pipeline.training import best_epoch, evaluate, fit, predict, seed_everything

BOOK = dict(layers=2, units=16, activation="relu", dropout=0.0, l1=0.0, l2=0.0,
            optimizer="rmsprop", learning_rate=0.001, loss="binary_crossentropy")
BINARY = ["negative", "positive"]


def two_columns(scores):
    """One score per document (the old API) as ``(n, 2)`` columns ``[1 - p, p]``."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.column_stack([1.0 - scores, scores])


def binary_metrics(labels, scores):
    return classification_metrics(labels, two_columns(scores), BINARY)


def roc_auc(truth, scores):
    """The ROC AUC as classification_metrics reports it for two classes."""
    return binary_metrics(np.asarray(truth).astype(np.int64), scores)["roc_auc"]


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
    metrics = binary_metrics(labels, probs)
    assert metrics["accuracy"] == pytest.approx((tp + tn) / 8)
    assert metrics["precision"] == pytest.approx(tp / (tp + fp))
    assert metrics["recall"] == pytest.approx(tp / (tp + fn))
    p, r = tp / (tp + fp), tp / (tp + fn)
    assert metrics["f1"] == pytest.approx(2 * p * r / (p + r))
    assert metrics["confusion_matrix"]["rows_true_columns_predicted"] == [[tn, fp], [fn, tp]]
    assert metrics["confusion_matrix"]["labels"] == ["negative", "positive"]
    assert metrics["count"] == 8
    assert metrics["roc_auc"] == pytest.approx(pairwise_auc(labels, probs))
    # the per-class figures: "positive" is the top-level one, "negative" its mirror
    assert_per_class(metrics["per_class"], {
        "negative": {"precision": 2 / 3, "recall": 2 / 4, "f1": 4 / 7, "support": 4},
        "positive": {"precision": 3 / 5, "recall": 3 / 4, "f1": 2 / 3, "support": 4}})
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 4 / 7) / 2)
    assert metrics["weighted_f1"] == pytest.approx((4 * 2 / 3 + 4 * 4 / 7) / 8)


def brute_force_binary(labels, probs):
    """The old hand-written formulas: counts at threshold 0.5 (inclusive)."""
    tp = sum(1 for y, p in zip(labels, probs) if y == 1 and p >= 0.5)
    tn = sum(1 for y, p in zip(labels, probs) if y == 0 and p < 0.5)
    fp = sum(1 for y, p in zip(labels, probs) if y == 0 and p >= 0.5)
    fn = sum(1 for y, p in zip(labels, probs) if y == 1 and p < 0.5)
    return tp, tn, fp, fn


def assert_per_class(actual, expected):
    """``per_class`` equal to ``expected`` (floats approximately, supports exactly)."""
    assert list(actual) == list(expected)
    for name, figures in expected.items():
        assert actual[name] == pytest.approx(figures), name
        assert type(actual[name]["support"]) is int
        assert actual[name]["support"] == figures["support"]


def f1_of(precision, recall):
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@pytest.mark.parametrize("seed", range(6))
def test_classification_metrics_random_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    labels = rng.integers(0, 2, size=n).astype(np.float32)
    labels[:2] = [0, 1]  # both classes
    probs = np.round(rng.random(n), 1)  # coarse: many ties, some exactly 0.5
    metrics = binary_metrics(labels, probs)
    tp, tn, fp, fn = brute_force_binary(labels, probs)
    assert metrics["confusion_matrix"]["rows_true_columns_predicted"] == [[tn, fp], [fn, tp]]
    assert metrics["accuracy"] == pytest.approx((tp + tn) / n)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    assert metrics["precision"] == pytest.approx(precision)
    assert metrics["recall"] == pytest.approx(recall)
    assert metrics["f1"] == pytest.approx(f1_of(precision, recall))
    assert metrics["roc_auc"] == pytest.approx(pairwise_auc(labels, probs))
    neg_precision = tn / (tn + fn) if tn + fn else 0.0
    neg_recall = tn / (tn + fp) if tn + fp else 0.0
    assert_per_class(metrics["per_class"], {
        "negative": {"precision": neg_precision, "recall": neg_recall,
                     "f1": f1_of(neg_precision, neg_recall), "support": tn + fp},
        "positive": {"precision": precision, "recall": recall,
                     "f1": f1_of(precision, recall), "support": tp + fn}})
    assert metrics["macro_f1"] == pytest.approx(
        (f1_of(precision, recall) + f1_of(neg_precision, neg_recall)) / 2)
    assert metrics["weighted_f1"] == pytest.approx(
        ((tp + fn) * f1_of(precision, recall)
         + (tn + fp) * f1_of(neg_precision, neg_recall)) / n)
    assert metrics["count"] == n


def test_metrics_with_no_predicted_positives():
    metrics = binary_metrics([1, 0, 0], [0.1, 0.2, 0.3])
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
    # a diverged training (NaN probabilities) has no ROC AUC either
    assert math.isnan(roc_auc([0, 1, 1], [0.2, float("nan"), 0.9]))
    # the other figures are still given
    metrics = binary_metrics([1, 1, 1], [0.2, 0.5, 0.9])
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(2 / 3)


# ------------------------------------------------------------------ multiclass metrics

CLASSES3 = ["world", "sports", "business"]


def rows_predicting(predicted, num_classes, seed=0):
    """Probability rows (summing to 1) whose most probable class is ``predicted``."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in predicted:
        rest = rng.random(num_classes) * 0.2
        rest[k] = 0.0
        row = rest.copy()
        row[k] = 1.0 - rest.sum()
        assert row.argmax() == k
        rows.append(row)
    return np.asarray(rows)


def test_multiclass_metrics_by_hand():
    labels = [0, 0, 0, 1, 1, 2, 2, 2, 2, 1]
    predicted = [0, 1, 0, 1, 2, 2, 2, 0, 2, 0]
    metrics = classification_metrics(labels, rows_predicting(predicted, 3), CLASSES3)
    # rows: true class, columns: predicted class
    assert metrics["confusion_matrix"] == {"labels": CLASSES3, "rows_true_columns_predicted":
                                           [[2, 1, 0], [1, 1, 1], [1, 0, 3]]}
    # precision = diagonal / column sum, recall = diagonal / row sum
    expected = {"world": {"precision": 2 / 4, "recall": 2 / 3, "f1": 4 / 7, "support": 3},
                "sports": {"precision": 1 / 2, "recall": 1 / 3, "f1": 2 / 5, "support": 3},
                "business": {"precision": 3 / 4, "recall": 3 / 4, "f1": 3 / 4, "support": 4}}
    assert_per_class(metrics["per_class"], expected)
    assert metrics["accuracy"] == pytest.approx(6 / 10)
    assert metrics["macro_f1"] == pytest.approx((4 / 7 + 2 / 5 + 3 / 4) / 3)
    assert metrics["weighted_f1"] == pytest.approx((3 * 4 / 7 + 3 * 2 / 5 + 4 * 3 / 4) / 10)
    assert metrics["count"] == 10
    # the two-class extras are not invented for three classes
    for key in ("precision", "recall", "f1", "roc_auc"):
        assert key not in metrics


def test_multiclass_metrics_class_never_seen_nor_predicted():
    labels = np.array([0, 1, 1, 0], dtype=np.int16)
    metrics = classification_metrics(labels, rows_predicting([0, 1, 0, 0], 3), CLASSES3)
    assert metrics["confusion_matrix"]["rows_true_columns_predicted"] == \
        [[2, 0, 0], [1, 1, 0], [0, 0, 0]]
    assert metrics["per_class"]["business"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                                "support": 0}
    assert metrics["per_class"]["world"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert metrics["per_class"]["sports"] == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert metrics["accuracy"] == pytest.approx(3 / 4)


@pytest.mark.parametrize("seed", range(4))
def test_multiclass_metrics_random_against_brute_force(seed):
    rng = np.random.default_rng(50 + seed)
    n, k = int(rng.integers(10, 80)), int(rng.integers(3, 6))
    names = [f"class{c}" for c in range(k)]
    labels = rng.integers(0, k, size=n)
    probabilities = rng.dirichlet(np.ones(k), size=n)
    predicted = probabilities.argmax(axis=1)
    metrics = classification_metrics(labels, probabilities, names)
    matrix = [[int(np.sum((labels == t) & (predicted == p))) for p in range(k)]
              for t in range(k)]
    assert metrics["confusion_matrix"]["rows_true_columns_predicted"] == matrix
    f1s, supports = [], []
    for c, name in enumerate(names):
        tp = matrix[c][c]
        predicted_c = sum(matrix[t][c] for t in range(k))
        support = sum(matrix[c])
        precision = tp / predicted_c if predicted_c else 0.0
        recall = tp / support if support else 0.0
        f1s.append(f1_of(precision, recall))
        supports.append(support)
        assert_per_class({name: metrics["per_class"][name]}, {name: {
            "precision": precision, "recall": recall, "f1": f1s[-1], "support": support}})
    assert metrics["accuracy"] == pytest.approx(np.mean(labels == predicted))
    assert metrics["macro_f1"] == pytest.approx(np.mean(f1s))
    assert metrics["weighted_f1"] == pytest.approx(np.dot(f1s, supports) / n)


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


def test_book_model_and_the_auto_loss():
    assert BOOK_MODEL["loss"] == "auto"
    assert dict(BOOK_MODEL, loss="binary_crossentropy") == \
        dict(BOOK, num_words=10000, regularize="all")
    assert "rmsprop" in OPTIMIZERS and BOOK_MODEL["optimizer"] in OPTIMIZERS
    check_model_params()  # the book's model, with loss auto, is valid
    assert heads.loss_for("auto", 2) == "binary_crossentropy"
    assert heads.loss_for("auto", 3) == "sparse_categorical_crossentropy"
    assert heads.loss_for("mse", 2) == "mse"
    # a loss must fit the number of classes
    check_model_params(num_classes=3, loss="auto")
    check_model_params(num_classes=3, loss="sparse_categorical_crossentropy")
    with pytest.raises(PipelineError, match="loss 'binary_crossentropy' for 3 classes"):
        check_model_params(num_classes=3, loss="binary_crossentropy")
    with pytest.raises(PipelineError, match="loss 'sparse_categorical_crossentropy' for two"):
        check_model_params(loss="sparse_categorical_crossentropy")
    assert heads.label_dtype(2) == "float32" and heads.label_dtype(4) == "int32"


def test_describe():
    from pipeline.models import mlp

    params = {key: BOOK_MODEL[key] for key in ("layers", "units", "activation", "optimizer",
                                              "learning_rate")}
    assert mlp.describe(params) == "mlp 2x16 relu, rmsprop lr 0.001"
    assert mlp.describe(dict(params, layers=3, units=8, activation="tanh", optimizer="adam",
                             learning_rate=0.01)) == "mlp 3x8 tanh, adam lr 0.01"


def test_heads_probabilities():
    np.testing.assert_allclose(heads.probabilities([[0.25], [1.0]], 2),
                               [[0.75, 0.25], [0.0, 1.0]])
    np.testing.assert_allclose(heads.probabilities(np.array([0.1, 0.6]), 2),
                               [[0.9, 0.1], [0.4, 0.6]])
    outputs = np.array([[0.2, 0.3, 0.5]], dtype=np.float32)
    got = heads.probabilities(outputs, 3)
    assert got.shape == (1, 3) and got.dtype == np.float64
    np.testing.assert_allclose(got, outputs)


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


def test_batches_are_the_dense_rows():
    """MultiHot.batches (was training.sparse_batches): sparse rows, labels along."""
    data = random_data(2, 23, 17)
    dense = data.to_dense()
    import tensorflow as tf

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
    for x, y in data.batches(3, "int32"):
        assert y.dtype == tf.int32
        labels.extend(y.numpy().tolist())
    assert labels == [0, 2, 1, 2]


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
        probabilities = predict(model, data)
        assert probabilities.shape == (data.rows, 2)  # columns: negative, positive
        np.testing.assert_allclose(probabilities[:, 1], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(probabilities[:, 0], 1 - expected, rtol=1e-5, atol=1e-6)


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
    assert predict(loaded, validation).shape == (validation.rows, 2)
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
    metrics, probabilities = evaluate(model, validation, BINARY)
    assert probabilities.shape == (validation.rows, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    positive = probabilities[:, 1]
    y = validation.labels.astype(np.float64)
    p = np.clip(positive.astype(np.float64), 1e-7, 1 - 1e-7)
    bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert metrics["loss"] == pytest.approx(bce, rel=1e-4, abs=1e-5)
    assert metrics["accuracy"] == pytest.approx(np.mean((positive >= 0.5) == (y == 1)))
    assert metrics["count"] == validation.rows
    assert metrics["roc_auc"] == pytest.approx(pairwise_auc(y == 1, positive))
    assert list(metrics["per_class"]) == BINARY
    tp, tn, fp, fn = brute_force_binary(y, positive)
    assert metrics["confusion_matrix"]["rows_true_columns_predicted"] == [[tn, fp], [fn, tp]]


def test_model_variants_build_and_train():
    model, history, _, _ = train_once(epochs=1, layers=3, dropout=0.25, l2=0.01,
                                      optimizer="adam", activation="tanh")
    assert [layer.name for layer in model.layers if "hidden" in layer.name] == \
        ["hidden_1", "hidden_2", "hidden_3"]
    assert any("dropout" in layer.name for layer in model.layers)
    assert model.optimizer.name == "adam"
    assert len(history) == 1


# ------------------------------------------------------------------------ three classes

def three_class_data(seed, rows, num_words=30):
    """Documents of class k hold words of their own third of the index space plus
    shared filler, so a model can learn the classes."""
    rng = np.random.default_rng(seed)
    band = (num_words - 4) // 3
    labels = rng.integers(0, 3, size=rows).astype(np.int16)
    sequences = []
    for label in labels:
        own = rng.integers(4 + band * label, 4 + band * (label + 1), size=4)
        filler = rng.integers(2, num_words, size=3)
        sequences.append([1] + own.tolist() + filler.tolist())
    values = np.asarray([v for s in sequences for v in s], dtype=np.int32)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum([len(s) for s in sequences], out=offsets[1:])
    return multi_hot(values, offsets, labels, num_words)


@pytest.fixture(scope="module")
def trained_three_classes():
    train, test = three_class_data(0, 150), three_class_data(1, 60)
    seed_everything(5)
    model = build_model(num_words=30, num_classes=3, units=8, learning_rate=0.01, fast=True)
    history, _ = fit(model, train, validation=test, epochs=15, batch_size=16, seed=5,
                     num_classes=3, verbose=0)
    return model, history, train, test


def test_multiclass_model_has_a_softmax_head():
    model = build_model(num_words=30, num_classes=3, units=8)
    head = model.layers[-1]
    assert head.units == 3 and head.get_config()["activation"] == "softmax"
    assert model.loss == "sparse_categorical_crossentropy"
    binary = build_model(num_words=30, units=8)
    assert binary.layers[-1].units == 1 and binary.loss == "binary_crossentropy"


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


def test_portable_three_class_model_predicts_the_same(trained_three_classes, tmp_path):
    import keras

    model, _, train, test = trained_three_classes
    assert type(model.get_layer("hidden_1")).__name__ == "SparseDense"
    twin = portable_model(model, num_classes=3, num_words=30, units=8, learning_rate=0.01)
    twin.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(predict(loaded, test, 3), predict(model, test, 3),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("overrides", [
    {},                                              # the book's binary cross-entropy
    {"l2": 0.01, "dropout": 0.3, "l1": 0.001},       # weight penalties count in the loss
    {"loss": "mse"},
    {"loss": "hinge"},
])
def test_evaluate_loss_equals_keras_evaluate(overrides):
    """evaluate() computes the loss from its one prediction pass; it must be the number
    model.evaluate gives (which it no longer calls)."""
    model, _, _, validation = train_once(epochs=2, **overrides)
    expected = model.evaluate(validation.batches(8), verbose=0, return_dict=True)["loss"]
    metrics, _ = evaluate(model, validation, ["negative", "positive"])
    assert metrics["loss"] == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_evaluate_loss_equals_keras_evaluate_three_classes(trained_three_classes):
    model, _, _, test = trained_three_classes
    expected = model.evaluate(test.batches(8, "int32"), verbose=0, return_dict=True)["loss"]
    assert evaluate(model, test, CLASSES3)[0]["loss"] == pytest.approx(expected, rel=1e-5)


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
