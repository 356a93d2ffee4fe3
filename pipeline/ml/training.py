"""Fitting and evaluating any model on any representation: seeding, history, test metrics.

A representation object gives its own ``tf.data`` batches (``batches()``), so this
module knows nothing of multi-hot vectors or sequences. TensorFlow is imported inside
the functions, never at module level: Luigi may fork worker processes, and a no-op
rerun must not pay for the import.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import PipelineError
from ..params import Choice, Integer, Number, Param
from . import heads

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import ArrayLike

#: ``on_epoch(epoch from 1, epochs, Keras's logs)``, called after each epoch.
EpochReport = Callable[[int, int, dict[str, float]], None]

#: Bounds that keep a training within hours on a small machine (the book's models stop
#: improving after about 4 epochs; no training set here has a million documents).
MAX_EPOCHS = 1000
MAX_BATCH_SIZE = 1 << 20
OPTIMIZERS = ("rmsprop", "adam", "adamw", "sgd", "adagrad", "adadelta", "adamax", "nadam")

#: The training parameters of the Keras models (each model lists those it reads).
OPTIMIZER = Param("optimizer", Choice(OPTIMIZERS), "rmsprop", "Keras optimizer")
LEARNING_RATE = Param("learning_rate", Number(minimum=0.0, low_open=True), 0.001,
                      "Learning rate of the optimizer")
LOSS = Param("loss", Choice(heads.LOSSES), "auto",
             "Keras loss; auto: binary_crossentropy for two classes, "
             "sparse_categorical_crossentropy for more")
EPOCHS = Param("epochs", Integer(1, MAX_EPOCHS), 20,
               "Epochs of the training run with validation",
               "the book's models stop improving after about 4; more only runs for hours")
BATCH_SIZE = Param("batch_size", Integer(1, MAX_BATCH_SIZE), 512, "Mini-batch size",
                   "more than any training set here")
TRAINING = (OPTIMIZER, LEARNING_RATE, LOSS, EPOCHS, BATCH_SIZE)


class Features(Protocol):
    """What training and scoring read of a representation's documents."""

    @property
    def labels(self) -> Any: ...

    @property
    def rows(self) -> int: ...

    def take(self, rows: Any) -> Features: ...

    def to_arrays(self, prefix: str) -> dict[str, Any]: ...

    def batches(self, batch_size: int, label_dtype: str = "float32",
                shuffle_seed: int | None = None, cache: bool = False) -> Any:
        """A ``tf.data.Dataset`` of ``(inputs, labels)`` batches."""


def seed_everything(seed: int) -> None:
    """Same parameters and seed, same numbers: seed Python, numpy and TensorFlow."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def fit(model: Any, train: Features, *, epochs: int, batch_size: int, seed: int,
        num_classes: int = 2, validation: Features | None = None,
        on_epoch: EpochReport | None = None, verbose: int | str = 2,
        log_dir: str | os.PathLike[str] | None = None) -> tuple[pd.DataFrame, float]:
    """Fit ``model``; returns ``(history DataFrame, seconds)``.

    ``on_epoch(epoch, epochs, logs)`` is called after each epoch (progress reports).
    The history has one row per epoch: ``epoch`` (from 1), loss, accuracy and, with
    validation data, val_loss and val_accuracy. With ``log_dir``, Keras's TensorBoard
    callback writes the loss and metrics per epoch there (``train/``, ``validation/``);
    it changes no number of the fit.
    """
    import keras
    import numpy as np
    import pandas as pd

    label_dtype = heads.label_dtype(num_classes)
    callbacks = []
    if on_epoch is not None:
        callbacks.append(keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: on_epoch(epoch + 1, epochs, logs or {})))
    if log_dir is not None:
        check_tensorboard()
        callbacks.append(keras.callbacks.TensorBoard(log_dir=os.fspath(log_dir)))
    started = time.perf_counter()
    history = model.fit(
        train.batches(batch_size, label_dtype, shuffle_seed=seed),
        # the validation batches are the same every epoch: built once (cached), not
        # once per epoch (a quarter of the fit's CPU time on IMDB); the same numbers
        validation_data=None if validation is None
        else validation.batches(batch_size, label_dtype, cache=True),
        epochs=epochs, callbacks=callbacks, verbose=verbose,
        shuffle=False)  # the dataset reshuffles itself each epoch
    seconds = time.perf_counter() - started
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    return frame, seconds


def check_tensorboard() -> None:
    """TensorBoard's summaries need the ``tensorboard`` package: one line when missing."""
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        raise PipelineError("TensorBoard logs need the tensorboard package: pip install -c "
                            "constraints.txt -e '.[tensorboard]' (or turn [pipeline] "
                            "tensorboard off)")


def write_scalars(log_dir: str | os.PathLike[str], step: int, values: dict[str, float]
                  ) -> None:
    """``values`` as TensorBoard scalars at ``step`` in ``log_dir`` (one run of its own:
    with Keras's tags, a test figure lands on the same chart as the epochs' figures)."""
    check_tensorboard()
    import tensorflow as tf

    writer = tf.summary.create_file_writer(os.fspath(log_dir))
    try:
        with writer.as_default():
            for name, value in values.items():
                tf.summary.scalar(name, float(value), step=step)
    finally:
        writer.close()


def best_epoch(history: Any) -> int:
    """The epoch (from 1) with the lowest validation loss; ``history`` maps column names
    to sequences (a DataFrame, or :func:`pipeline.io.storage.read_csv_columns`)."""
    import numpy as np

    losses = np.asarray(history["val_loss"], dtype=float)
    if not np.isfinite(losses).any():
        raise PipelineError("validation loss is never finite: training diverged; try a "
                            "smaller learning_rate or give final_epochs as a number")
    return int(np.asarray(history["epoch"])[int(np.nanargmin(losses))])


def raw_outputs(model: Any, data: Features, num_classes: int = 2, batch_size: int = 2048
                ) -> np.ndarray:
    """What a Keras model outputs for a representation (sigmoid column or softmax rows)."""
    return model.predict(data.batches(batch_size, heads.label_dtype(num_classes)), verbose=0)


def predict(model: Any, data: Features, num_classes: int = 2, batch_size: int = 2048
            ) -> np.ndarray:
    """``(documents, classes)`` probabilities of a Keras model on a representation."""
    return heads.probabilities(raw_outputs(model, data, num_classes, batch_size), num_classes)


def evaluate(model: Any, data: Features, class_names: Sequence[str], batch_size: int = 2048
             ) -> tuple[dict[str, Any], np.ndarray]:
    """The model's own loss and :func:`pipeline.ml.metrics.classification_metrics`.

    One pass over the data: the loss is computed from the predictions (with the weight
    penalties, as ``model.evaluate`` counts them) instead of a second pass through
    ``model.evaluate``, which traces a graph of its own (0.45 s and 50 MB on IMDB).
    """
    from .metrics import classification_metrics

    num_classes = len(class_names)
    outputs = raw_outputs(model, data, num_classes, batch_size)
    probabilities = heads.probabilities(outputs, num_classes)
    metrics = classification_metrics(data.labels, probabilities, class_names)
    metrics["loss"] = model_loss(model, data.labels, outputs, num_classes)
    return metrics, probabilities


def model_loss(model: Any, labels: ArrayLike, outputs: ArrayLike, num_classes: int) -> float:
    """The compiled model's loss on ``outputs`` (its raw predictions), as evaluate gives it:
    the mean over documents plus the weight penalties."""
    import keras
    import numpy as np

    truth = np.asarray(labels, dtype=heads.label_dtype(num_classes))
    if num_classes == 2:
        truth = truth.reshape(-1, 1)
    per_document = keras.losses.get(model.loss)(truth, np.asarray(outputs, dtype=np.float32))
    penalty = sum(float(keras.ops.convert_to_numpy(value)) for value in model.losses)
    return float(np.mean(keras.ops.convert_to_numpy(per_document))) + penalty
