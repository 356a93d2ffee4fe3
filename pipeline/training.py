"""Fitting and evaluating: seeding, sparse batches, history, test metrics.

TensorFlow is imported inside the functions that need it, never at module level:
Luigi may fork worker processes, and a no-op rerun must not pay for the import.
"""
import math
import time

import numpy as np

from .errors import PipelineError
from .features import MultiHot


def seed_everything(seed):
    """Same parameters and seed, same numbers: seed Python, numpy and TensorFlow."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def sparse_batches(data: MultiHot, batch_size, shuffle_seed=None):
    """A ``tf.data.Dataset`` of ``(SparseTensor, labels)`` batches built in-graph.

    The CSR matrix lives in a RaggedTensor; each batch gathers its rows and turns
    them into a SparseTensor of ones, so no dense matrix and no Python per batch.
    With ``shuffle_seed`` the rows are reshuffled each epoch, deterministically.
    """
    import tensorflow as tf

    ragged = tf.RaggedTensor.from_row_splits(tf.constant(data.indices, dtype=tf.int64),
                                             tf.constant(data.indptr, dtype=tf.int64))
    labels = tf.constant(data.labels, dtype=tf.float32)
    width = tf.constant(data.num_words, dtype=tf.int64)
    rows = tf.data.Dataset.range(data.rows)
    if shuffle_seed is not None:
        rows = rows.shuffle(data.rows, seed=shuffle_seed, reshuffle_each_iteration=True)

    def to_sparse(batch_rows):
        picked = tf.gather(ragged, batch_rows)
        cells = tf.stack([picked.value_rowids(), picked.flat_values], axis=1)
        shape = tf.stack([tf.size(batch_rows, out_type=tf.int64), width])
        ones = tf.ones_like(picked.flat_values, dtype=tf.float32)
        return tf.SparseTensor(cells, ones, shape), tf.gather(labels, batch_rows)

    return rows.batch(batch_size).map(to_sparse).prefetch(2)


def fit(model, train: MultiHot, *, epochs, batch_size, seed, validation: MultiHot = None,
        on_epoch=None, verbose=2):
    """Fit ``model``; returns ``(history DataFrame, seconds)``.

    ``on_epoch(epoch, epochs, logs)`` is called after each epoch (progress reports).
    The history has one row per epoch: ``epoch`` (from 1), loss, accuracy and, with
    validation data, val_loss and val_accuracy.
    """
    import keras
    import pandas as pd

    callbacks = []
    if on_epoch is not None:
        callbacks.append(keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: on_epoch(epoch + 1, epochs, logs or {})))
    started = time.perf_counter()
    history = model.fit(
        sparse_batches(train, batch_size, shuffle_seed=seed),
        validation_data=None if validation is None else sparse_batches(validation, batch_size),
        epochs=epochs, callbacks=callbacks, verbose=verbose,
        shuffle=False)  # the dataset reshuffles itself each epoch
    seconds = time.perf_counter() - started
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    return frame, seconds


def best_epoch(history):
    """The epoch (from 1) with the lowest validation loss."""
    losses = history["val_loss"].to_numpy(dtype=float)
    if not np.isfinite(losses).any():
        raise PipelineError("validation loss is never finite: training diverged; try a "
                            "smaller learning_rate or give final_epochs as a number")
    return int(history["epoch"].iloc[int(np.nanargmin(losses))])


def predict(model, data: MultiHot, batch_size=2048):
    """Probability of "positive" for each row."""
    return model.predict(sparse_batches(data, batch_size), verbose=0).reshape(-1)


def evaluate(model, data: MultiHot, batch_size=2048):
    """Loss (the model's own) and classification metrics at threshold 0.5."""
    loss = model.evaluate(sparse_batches(data, batch_size), verbose=0, return_dict=True)["loss"]
    probabilities = predict(model, data, batch_size)
    metrics = classification_metrics(data.labels, probabilities)
    metrics["loss"] = float(loss)
    return metrics, probabilities


def classification_metrics(labels, probabilities, threshold=0.5):
    """Accuracy, precision, recall, F1, ROC AUC and the confusion matrix."""
    truth = np.asarray(labels) >= 0.5
    guess = np.asarray(probabilities) >= threshold
    tp = int(np.sum(truth & guess))
    tn = int(np.sum(~truth & ~guess))
    fp = int(np.sum(~truth & guess))
    fn = int(np.sum(truth & ~guess))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": (tp + tn) / len(truth),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc(truth, probabilities),
        "confusion_matrix": {"labels": ["negative", "positive"],
                             "rows_true_columns_predicted": [[tn, fp], [fn, tp]]},
        "count": int(len(truth)),
    }


def roc_auc(truth, scores):
    """Area under the ROC curve (Mann-Whitney U, ties counted half); NaN if one class."""
    truth = np.asarray(truth, dtype=bool)
    positives, negatives = int(truth.sum()), int((~truth).sum())
    if positives == 0 or negatives == 0:
        return math.nan
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(order), dtype=float)
    sorted_scores = np.asarray(scores)[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    u = ranks[truth].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))
