"""Classification metrics for any number of classes, with scikit-learn's implementations.

scikit-learn is imported inside the function: it is only needed where TensorFlow is
imported anyway (EvaluateTest).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

#: Probability of the second class from which a two-class model says "positive".
THRESHOLD = 0.5


def predicted_classes(probabilities: ArrayLike) -> np.ndarray:
    """Class numbers from ``(documents, classes)`` probabilities.

    Two classes: the second when its probability is at least :data:`THRESHOLD` (the
    book's ``> 0.5`` rule, ties to the positive side); more: the most probable.
    """
    import numpy as np

    probabilities = np.asarray(probabilities)
    if probabilities.shape[1] == 2:
        return (probabilities[:, 1] >= THRESHOLD).astype(np.int64)
    return probabilities.argmax(axis=1)


def classification_metrics(labels: ArrayLike, probabilities: ArrayLike,
                           class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class precision / recall / F1 / support, macro and weighted F1 and
    the confusion matrix; for two classes also the second class's precision, recall and
    F1 and the ROC AUC (NaN when the labels hold one class only, or when a probability is
    not finite: a diverged training)."""
    import numpy as np
    from sklearn import metrics as sk

    labels = np.asarray(labels).astype(np.int64)
    classes = list(range(len(class_names)))
    predicted = predicted_classes(probabilities)
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        labels, predicted, labels=classes, zero_division=0)
    result = {
        "accuracy": float(sk.accuracy_score(labels, predicted)),
        "macro_f1": float(sk.f1_score(labels, predicted, labels=classes, average="macro",
                                      zero_division=0)),
        "weighted_f1": float(sk.f1_score(labels, predicted, labels=classes,
                                         average="weighted", zero_division=0)),
        "per_class": {name: {"precision": float(precision[k]), "recall": float(recall[k]),
                             "f1": float(f1[k]), "support": int(support[k])}
                      for k, name in enumerate(class_names)},
        "confusion_matrix": {
            "labels": list(class_names),
            "rows_true_columns_predicted": sk.confusion_matrix(
                labels, predicted, labels=classes).tolist()},
        "count": int(len(labels)),
    }
    if len(class_names) == 2:
        scores = np.asarray(probabilities)[:, 1]
        both = len(np.unique(labels)) == 2 and np.isfinite(scores).all()
        result.update(
            precision=float(precision[1]), recall=float(recall[1]), f1=float(f1[1]),
            roc_auc=float(sk.roc_auc_score(labels, scores))
            if both else math.nan)
    return result


def baselines(labels: ArrayLike, seed: int = 0) -> dict[str, float]:
    """Accuracies that need no model, on the test labels.

    ``random_labels``: the book's random classifier (its 3.5 shuffles the test labels and
    compares them with the originals, about 19 % on Reuters), computed exactly as the
    expected accuracy of a random permutation, ``sum_k (n_k / n)**2``;
    ``shuffled_labels``: one such shuffle with ``seed``, as the book does it;
    ``majority_class``: always predicting the most frequent test class.
    """
    import numpy as np

    labels = np.asarray(labels).astype(np.int64)
    shares = np.bincount(labels) / len(labels)
    shuffled = np.random.RandomState(seed).permutation(labels)
    return {"random_labels": float(np.sum(shares ** 2)),
            "shuffled_labels": float(np.mean(shuffled == labels)),
            "majority_class": float(shares.max())}
