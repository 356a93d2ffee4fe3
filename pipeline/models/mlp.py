"""``mlp``: the book's model, Dense layers on multi-hot vectors, and its variants.

Deep Learning with Python 3.4: Dense(16, relu) x 2 -> Dense(1, sigmoid), rmsprop.
Choices are checked without importing Keras, so a bad value fails before any work
(and before TensorFlow's 4-second import).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import PipelineError
from ..ml import heads
from ..ml.training import TRAINING
from ..params import Choice, Integer, Integers, Number, Param, Value, Values
from .base import Model

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "silu", "swish",
               "softplus", "leaky_relu", "linear")
REGULARIZE = ("all", "first")
MAX_LAYERS = 64      # the book uses 1 to 3; deeper stacks only train for hours
MAX_UNITS = 65536    # weights and memory are bounded as a whole by check_sizes
_BOOK_SIZES = "the book uses 1 to 3 layers of 16 to 64 units"

LAYERS = Param("layers", Integer(1, MAX_LAYERS), 2, "Number of hidden Dense layers",
               _BOOK_SIZES)
UNITS = Param("units", Integers(1, MAX_UNITS), 16,
              "Units of each hidden layer, or one number per layer (64,4: the book's "
              "bottleneck)", _BOOK_SIZES)
ACTIVATION = Param("activation", Choice(ACTIVATIONS), "relu",
                   "Activation of the hidden layers")
DROPOUT = Param("dropout", Number(0.0, 1.0, high_open=True), 0.0,
                "Dropout rate after each hidden layer (0 = none)")
L1 = Param("l1", Number(minimum=0.0), 0.0, "L1 weight penalty on the hidden layers")
L2 = Param("l2", Number(minimum=0.0), 0.0, "L2 weight penalty on the hidden layers")
REGULARIZE_PARAM = Param("regularize", Choice(REGULARIZE), "all",
                         "Hidden layers that l1/l2 apply to: all, first")
OWN = (LAYERS, UNITS, ACTIVATION, DROPOUT, L1, L2, REGULARIZE_PARAM)

#: Deep Learning with Python 3.4: Dense(16, relu) x 2 -> Dense(1, sigmoid), rmsprop.
BOOK_MODEL: dict[str, Value] = {
    "num_words": 10000, "layers": 2, "units": 16, "activation": "relu", "dropout": 0.0,
    "l1": 0.0, "l2": 0.0, "regularize": "all", "optimizer": "rmsprop",
    "learning_rate": 0.001, "loss": "auto"}


def units_per_layer(units: Value, layers: int) -> list[int]:
    """The units of each of ``layers`` hidden layers."""
    return [int(u) for u in units] if isinstance(units, tuple) else [int(units)] * layers


def check_layers(params: Values) -> None:
    """``units`` with one number per layer must give as many as ``layers``."""
    units, layers = params["units"], int(params["layers"])
    if isinstance(units, tuple) and len(units) != layers:
        raise PipelineError(f"units gives {len(units)} layer sizes "
                            f"({','.join(map(str, units))}) for {layers} hidden layers: give "
                            f"one number, or one per layer")


def check_model_params(num_classes: int = 2, **params: Any) -> dict[str, Any]:
    """The book's model with ``params`` changed, every value checked; returns them all.

    Parameters not given take the book's values (:data:`BOOK_MODEL`); an unknown name or
    a bad value is a :class:`PipelineError` naming it.
    """
    unknown = sorted(set(params) - set(BOOK_MODEL))
    if unknown:
        raise PipelineError(f"unknown model parameter {unknown[0]!r}")
    merged = {**BOOK_MODEL, **params}
    declared = {param.name: param for param in (*OWN, *TRAINING)}
    checked = {name: declared[name].normalize(value) if name in declared else value
               for name, value in merged.items()}
    if not isinstance(checked["num_words"], int) or checked["num_words"] < 1:
        raise PipelineError(f"num_words must be a positive integer, got {merged['num_words']}")
    check_layers(checked)
    heads.loss_for(str(checked["loss"]), num_classes)
    return checked


def sizes(params: Values, num_words: int, num_classes: int) -> tuple[int, int]:
    """``(weights, largest activation values per batch)`` of the model ``params`` give."""
    widths = units_per_layer(params["units"], int(params["layers"]))
    out = 1 if num_classes == 2 else num_classes
    shape = [int(num_words), *widths, out]
    weights = sum(a * b + b for a, b in zip(shape[:-1], shape[1:], strict=True))
    return weights, int(params.get("batch_size", 1)) * max(widths)


def describe(params: Values) -> str:
    """A short title: ``mlp 2x16 relu, rmsprop lr 0.001`` (``mlp 64-4 relu``, ...)."""
    units = params["units"]
    shape = "-".join(map(str, units)) if isinstance(units, tuple) \
        else f"{params['layers']}x{units}"
    return (f"mlp {shape} {params['activation']}, "
            f"{params['optimizer']} lr {float(params['learning_rate']):g}")


def _own(params: Values, num_words: int) -> dict[str, Any]:
    keys = set(BOOK_MODEL) - {"num_words"}
    return {"num_words": num_words, **{key: params[key] for key in keys if key in params}}


class MLP(Model):
    """The book's model and its variants: Dense layers on multi-hot vectors."""

    name = "mlp"
    representation = "multihot"
    parameters = (*OWN, *TRAINING)

    def check(self, params: Values, num_classes: int) -> None:
        super().check(params, num_classes)
        check_layers(params)

    def sizes(self, params: Values, num_words: int, num_classes: int) -> tuple[int, int]:
        return sizes(params, num_words, num_classes)

    def build(self, params: Values, num_words: int, num_classes: int, *, fast: bool,
              extra: Mapping[str, Any]) -> Any:
        return build_model(fast=fast, num_classes=num_classes, **_own(params, num_words))

    def portable(self, model: Any, params: Values, num_words: int, num_classes: int,
                 extra: Mapping[str, Any]) -> Any:
        return portable_model(model, num_classes=num_classes, **_own(params, num_words))

    def export(self, model: Any) -> dict[str, Any]:
        """The Dense layers as arrays, for scoring without TensorFlow."""
        from ..ml.inference import export_weights

        return export_weights(model)

    def describe(self, params: Values) -> str:
        return describe(params)


# ------------------------------------------------------------------------ building

def build_model(fast: bool = False, num_classes: int = 2, **params: Any) -> Any:
    """A compiled Keras MLP on sparse multi-hot input.

    Parameters are those of :data:`BOOK_MODEL`; the ones not given take the book's
    values, so ``build_model()`` is the book's model: Dense(16, relu) x 2 ->
    Dense(1, sigmoid), rmsprop(0.001), binary cross-entropy, accuracy. With more
    than two classes the head is Dense(num_classes, softmax) with sparse categorical
    cross-entropy (:mod:`pipeline.ml.heads`). ``l1``/``l2`` penalise the
    kernels of all hidden layers, or of the first one only (``regularize="first"``).

    On sparse input the first Dense layer is a sparse matmul: the same numbers as
    on the dense matrix, without materialising it. With ``fast=True`` (training)
    that layer multiplies with ``tf.sparse.sparse_dense_matmul``, about twice as
    fast per step as Keras's own sparse path (an embedding lookup whose gradient
    is a list of rows); :func:`portable_model` copies such a model into plain Dense
    layers, so the saved file loads in any Keras without this package.
    """
    import keras

    p = check_model_params(num_classes=num_classes, **params)
    regularizer = keras.regularizers.L1L2(l1=p["l1"], l2=p["l2"]) \
        if (p["l1"] or p["l2"]) else None
    inputs = keras.Input(shape=(p["num_words"],), sparse=True, name="multi_hot")
    x = inputs
    for i, units in enumerate(units_per_layer(p["units"], int(p["layers"]))):
        penalised = p["regularize"] == "all" or i == 0
        dense = _sparse_dense_class() if fast and i == 0 else keras.layers.Dense
        x = dense(units, activation=p["activation"], name=f"hidden_{i + 1}",
                  kernel_regularizer=regularizer if penalised else None)(x)
        if p["dropout"]:
            x = keras.layers.Dropout(p["dropout"], name=f"dropout_{i + 1}")(x)
    outputs = heads.output_layer(num_classes)(x)
    return heads.compiled(keras.Model(inputs, outputs, name="mlp"), p, num_classes,
                          steps_per_execution=8)


def portable_model(model: Any, num_classes: int = 2, **params: Any) -> Any:
    """A copy of ``model`` (built by :func:`build_model` with ``params``) with plain layers.

    The twin has standard Dense layers and receives the weights and the optimizer
    state, so once saved it loads with ``keras.models.load_model`` alone and can go
    on training where ``model`` stopped. Tasks evaluate the twin, so the metrics
    they write describe exactly the file they save.
    """
    twin = build_model(num_classes=num_classes, **params)
    twin.set_weights(model.get_weights())
    if model.optimizer.built:
        twin.optimizer.build(twin.trainable_variables)
        for mine, theirs in zip(twin.optimizer.variables, model.optimizer.variables,
                                strict=True):
            mine.assign(theirs)
    return twin


_SPARSE_DENSE: list[type] = []


def _sparse_dense_class() -> type:
    """``keras.layers.Dense`` whose SparseTensor input goes through a sparse matmul.

    Defined on first use, so importing this module does not import TensorFlow.
    """
    if not _SPARSE_DENSE:
        import keras
        import tensorflow as tf

        class SparseDense(keras.layers.Dense):
            def call(self, inputs: Any, training: Any = None) -> Any:
                if not isinstance(inputs, tf.SparseTensor):
                    return super().call(inputs, training=training)
                outputs = tf.sparse.sparse_dense_matmul(inputs, self.kernel)
                if self.bias is not None:
                    outputs = tf.nn.bias_add(outputs, self.bias)
                return self.activation(outputs)

        _SPARSE_DENSE.append(SparseDense)
    return _SPARSE_DENSE[0]
