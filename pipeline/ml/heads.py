"""The output of a classifier, from the number of classes: layer, loss, labels, probabilities.

Two classes keep the book's head, Dense(1, sigmoid) with binary cross-entropy on 0/1
labels; more classes get Dense(n, softmax) with sparse categorical cross-entropy on
class numbers. Stored predictions are always ``(documents, classes)`` probabilities.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import PipelineError
from ..params import Values

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

BINARY_LOSSES = ("binary_crossentropy", "mse", "mean_squared_error", "mae",
                 "mean_absolute_error", "hinge", "squared_hinge")
MULTICLASS_LOSSES = ("sparse_categorical_crossentropy",)
LOSSES = ("auto",) + BINARY_LOSSES + MULTICLASS_LOSSES


def loss_for(loss: str, num_classes: int) -> str:
    """The Keras loss name for ``loss`` (``auto`` or a name) and the class count."""
    allowed = BINARY_LOSSES if num_classes == 2 else MULTICLASS_LOSSES
    if loss == "auto":
        return allowed[0]
    if loss not in allowed:
        kind = "two classes" if num_classes == 2 else f"{num_classes} classes"
        raise PipelineError(f"unknown loss {loss!r} for {kind}; choose one of auto, "
                            f"{', '.join(allowed)}")
    return loss


def output_layer(num_classes: int) -> Any:
    """Dense(1, sigmoid) for two classes, Dense(n, softmax) for more."""
    import keras

    if num_classes == 2:
        return keras.layers.Dense(1, activation="sigmoid", name="positive")
    return keras.layers.Dense(num_classes, activation="softmax", name="classes")


def compiled(model: Any, params: Values, num_classes: int, **options: Any) -> Any:
    """``model`` compiled with the training parameters (optimizer, learning_rate, loss),
    the loss for the class count and the accuracy metric."""
    import keras

    model.compile(optimizer=keras.optimizers.get({"class_name": params["optimizer"],
                                                   "config": {"learning_rate":
                                                              params["learning_rate"]}}),
                  loss=loss_for(params["loss"], num_classes), metrics=["accuracy"], **options)
    return model


def label_dtype(num_classes: int) -> str:
    """What the labels are fed as: 0/1 floats for a sigmoid, class numbers for softmax."""
    return "float32" if num_classes == 2 else "int32"


def probabilities(outputs: ArrayLike, num_classes: int) -> np.ndarray:
    """The model's outputs as ``(documents, classes)`` probabilities."""
    import numpy as np

    outputs = np.asarray(outputs, dtype=np.float64)
    if num_classes == 2:
        positive = outputs.reshape(-1)
        return np.stack([1.0 - positive, positive], axis=1)
    return outputs.reshape(len(outputs), num_classes)
