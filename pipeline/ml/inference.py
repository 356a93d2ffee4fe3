"""Scoring documents with numpy alone: the trained MLP's forward pass without TensorFlow.

Importing TensorFlow takes about 4 s, far longer than scoring a few reviews with a
model of 160,000 weights. EvaluateTest therefore saves, next to ``model.keras``, the
Dense layers' kernels, biases and activations in ``weights.npz``
(:func:`export_weights`); :class:`NumpyMLP` runs them on multi-hot rows. Dropout
is inactive at inference, so the Dense layers are the whole model. Tests check that
it gives Keras's probabilities for every activation the pipeline accepts.

Models without such a twin are scored by :class:`KerasScorer`, which loads
``model.keras`` (and so TensorFlow). :func:`load_scorer` picks the right one.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import PipelineError

if TYPE_CHECKING:
    from .training import Features

#: An activation function on a batch of rows.
Activation = Callable[[np.ndarray], np.ndarray]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow for large |x|


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805
_erf = np.vectorize(math.erf, otypes=[np.float64])

#: Keras's activations (their default arguments) in numpy, by serialized name.
ACTIVATIONS: dict[str, Activation] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "selu": lambda x: _SELU_SCALE * np.where(x > 0, x,
                                             _SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "softmax": lambda x: _softmax(x),
}


def _softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def export_weights(model: Any) -> dict[str, np.ndarray]:
    """The Dense layers of a Keras model as arrays for :class:`NumpyMLP`.

    Raises ``ValueError`` for a layer this forward pass cannot reproduce.
    """
    import keras

    arrays: dict[str, np.ndarray] = {}
    activations: list[str] = []
    for layer in model.layers:
        if isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout)):
            continue
        if not isinstance(layer, keras.layers.Dense):
            raise ValueError(f"layer {layer.name}: {type(layer).__name__} is not supported")
        activation = layer.get_config()["activation"]
        if activation not in ACTIVATIONS:
            raise ValueError(f"layer {layer.name}: activation {activation!r} is not supported")
        kernel, bias = layer.get_weights()
        arrays[f"kernel_{len(activations)}"] = kernel
        arrays[f"bias_{len(activations)}"] = bias
        activations.append(activation)
    arrays["activations"] = np.asarray(activations)
    return arrays


class MultiHotRows(Protocol):
    """What :class:`NumpyMLP` reads of multi-hot rows in CSR form
    (:class:`pipeline.features.multihot.MultiHot`)."""

    @property
    def indptr(self) -> np.ndarray: ...

    @property
    def indices(self) -> np.ndarray: ...

    @property
    def rows(self) -> int: ...


class NumpyMLP:
    """A stack of Dense layers loaded from :func:`export_weights`'s arrays."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        activations = [str(name) for name in arrays["activations"]]
        unknown = [name for name in activations if name not in ACTIVATIONS]
        if unknown or not activations:
            raise PipelineError(f"weights: unsupported or missing activations {unknown}")
        self.layers = [(np.asarray(arrays[f"kernel_{i}"], dtype=np.float64),
                        np.asarray(arrays[f"bias_{i}"], dtype=np.float64),
                        ACTIVATIONS[name]) for i, name in enumerate(activations)]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NumpyMLP:
        from ..io import storage

        return cls(storage.load_arrays(path))

    @property
    def num_inputs(self) -> int:
        return self.layers[0][0].shape[0]

    @property
    def num_outputs(self) -> int:
        return self.layers[-1][0].shape[1]

    def predict(self, data: MultiHotRows, batch_size: int = 2048) -> np.ndarray:
        """The model's outputs for each row of a multi-hot ``data``: the probability of
        "positive" (one output unit) or a row of class probabilities (softmax)."""
        parts = [self._forward(data, start, min(start + batch_size, data.rows))
                 for start in range(0, data.rows, batch_size)]
        if not parts:
            return np.zeros((0,) if self.num_outputs == 1 else (0, self.num_outputs))
        return np.concatenate(parts)

    def _forward(self, data: MultiHotRows, start: int, stop: int) -> np.ndarray:
        kernel, bias, activation = self.layers[0]
        # multi-hot times kernel = the sum of the kernel rows of the words present
        # (reduceat over the rows that have words: an empty row would get its neighbour's)
        indptr = data.indptr[start:stop + 1]
        hidden = np.zeros((stop - start, kernel.shape[1]))
        filled = np.diff(indptr) > 0
        if filled.any():
            words = kernel[data.indices[indptr[0]:indptr[-1]]]
            hidden[filled] = np.add.reduceat(words, (indptr[:-1] - indptr[0])[filled], axis=0)
        x = activation(hidden + bias)
        for kernel, bias, activation in self.layers[1:]:
            x = activation(x @ kernel + bias)
        return x.reshape(-1) if x.shape[1] == 1 else x


class KerasScorer:
    """A saved Keras model, for models that have no numpy twin (imports TensorFlow)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import keras

        self.model = keras.models.load_model(path)

    def predict(self, data: Features, batch_size: int = 2048) -> np.ndarray:
        from .training import raw_outputs

        return raw_outputs(self.model, data, batch_size=batch_size)


def load_scorer(weights_path: str | os.PathLike[str] | None, model_path: str | os.PathLike[str]
                ) -> NumpyMLP | KerasScorer:
    """:class:`NumpyMLP` when EvaluateTest exported weights, else :class:`KerasScorer`."""
    from pathlib import Path

    if weights_path and Path(weights_path).is_file():
        return NumpyMLP.load(weights_path)
    return KerasScorer(model_path)
