"""Classification metrics for two and more classes (pipeline/ml/metrics.py), checked
against counts by hand and brute force."""
import math
from itertools import product

import numpy as np
import pytest

from pipeline.ml.metrics import baselines, classification_metrics, predicted_classes

BINARY = ["negative", "positive"]
CLASSES3 = ["world", "sports", "business"]


def two_columns(scores):
    """One score per document as ``(n, 2)`` columns ``[1 - p, p]``."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.column_stack([1.0 - scores, scores])


def binary_metrics(labels, scores):
    return classification_metrics(labels, two_columns(scores), BINARY)


def roc_auc(truth, scores):
    """The ROC AUC as classification_metrics reports it for two classes."""
    return binary_metrics(np.asarray(truth).astype(np.int64), scores)["roc_auc"]


def pairwise_auc(truth, scores):
    """P(score of a positive > score of a negative), ties half: every pair, by hand."""
    positives = [s for t, s in zip(truth, scores) if t]
    negatives = [s for t, s in zip(truth, scores) if not t]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0
               for p, n in product(positives, negatives))
    return wins / (len(positives) * len(negatives))


def brute_force_binary(labels, probs):
    """Counts at threshold 0.5 (inclusive), by hand."""
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


# ------------------------------------------------------------------------ two classes

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


def test_predicted_classes_threshold_and_argmax():
    assert predicted_classes(two_columns([0.49, 0.5, 0.51])).tolist() == [0, 1, 1]
    assert predicted_classes([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]).tolist() == [1, 0]


# ---------------------------------------------------------------------- more classes

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


def test_baselines_by_hand():
    labels = [0, 0, 0, 1, 2, 2]
    found = baselines(labels, seed=0)
    assert found["random_labels"] == pytest.approx((3 / 6) ** 2 + (1 / 6) ** 2 + (2 / 6) ** 2)
    assert found["majority_class"] == pytest.approx(3 / 6)
    shuffled = np.random.RandomState(0).permutation(labels)
    assert found["shuffled_labels"] == pytest.approx(np.mean(shuffled == labels))
