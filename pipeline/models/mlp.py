"""``mlp``: the book's model, Dense layers on multi-hot vectors, and its variants.

Deep Learning with Python 3.4: Dense(16, relu) x 2 -> Dense(1, sigmoid), rmsprop.
Choices are checked without importing Keras, so a bad value fails before any work
(and before TensorFlow's 4-second import).
"""
import math

import luigi

from ..config import experiment_default
from ..errors import PipelineError
from . import heads

REPRESENTATION = "multihot"
SHARED = ("optimizer", "learning_rate", "loss", "epochs", "batch_size")

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "silu", "swish",
               "softplus", "leaky_relu", "linear")
REGULARIZE = ("all", "first")

#: Deep Learning with Python 3.4: Dense(16, relu) x 2 -> Dense(1, sigmoid), rmsprop.
BOOK_MODEL = {"num_words": 10000, "layers": 2, "units": 16, "activation": "relu",
              "dropout": 0.0, "l1": 0.0, "l2": 0.0, "regularize": "all",
              "optimizer": "rmsprop", "learning_rate": 0.001, "loss": "auto"}

class UnitsParameter(luigi.Parameter):
    """Units of the hidden layers: ``16`` for every layer, or one per layer (``64,4``).

    A single number stays an int, so task ids and titles are those of an IntParameter.
    """

    def parse(self, x):
        try:
            values = tuple(int(part) for part in str(x).split(","))
        except ValueError:
            raise ValueError(x) from None
        return values[0] if len(values) == 1 else values

    def normalize(self, x):
        if isinstance(x, (list, tuple)):
            return x[0] if len(x) == 1 else tuple(int(v) for v in x)
        return self.parse(x) if isinstance(x, str) else x

    def serialize(self, x):
        return ",".join(map(str, x)) if isinstance(x, tuple) else str(x)


def units_per_layer(units, layers):
    """The units of each of ``layers`` hidden layers."""
    return list(units) if isinstance(units, tuple) else [int(units)] * layers


PARAMETERS = {
    "layers": experiment_default(luigi.IntParameter, "layers", BOOK_MODEL["layers"],
                                 description="mlp: number of hidden Dense layers"),
    "units": experiment_default(UnitsParameter, "units", BOOK_MODEL["units"],
                                description="mlp: units of each hidden layer, or one number "
                                            "per layer (64,4: the book's bottleneck)"),
    "activation": experiment_default(luigi.Parameter, "activation", BOOK_MODEL["activation"],
                                     description="mlp: activation of the hidden layers"),
    "dropout": experiment_default(luigi.FloatParameter, "dropout", BOOK_MODEL["dropout"],
                                  description="mlp: dropout rate after each hidden layer "
                                              "(0 = none)"),
    "l1": experiment_default(luigi.FloatParameter, "l1", BOOK_MODEL["l1"],
                             description="mlp: L1 weight penalty on the hidden layers"),
    "l2": experiment_default(luigi.FloatParameter, "l2", BOOK_MODEL["l2"],
                             description="mlp: L2 weight penalty on the hidden layers"),
    "regularize": experiment_default(luigi.Parameter, "regularize", BOOK_MODEL["regularize"],
                                     description="mlp: hidden layers that l1/l2 apply to: "
                                                 "all, first"),
}


MAX_LAYERS = 64      # the book uses 1 to 3; deeper stacks only train for hours
MAX_UNITS = 65536    # weights and memory are bounded as a whole by models.check_sizes


def check(params):
    """Raise :class:`PipelineError` naming the first invalid parameter of :data:`PARAMETERS`."""
    layers = int(params["layers"])
    if not 1 <= layers <= MAX_LAYERS:
        raise PipelineError(f"layers must be between 1 and {MAX_LAYERS:,} (the book uses 1 "
                            f"to 3 layers of 16 to 64 units), got {params['layers']}")
    units = params["units"]
    if isinstance(units, tuple) and len(units) != layers:
        raise PipelineError(f"units gives {len(units)} layer sizes "
                            f"({','.join(map(str, units))}) for {layers} hidden layers: give "
                            f"one number, or one per layer")
    if not all(1 <= width <= MAX_UNITS for width in units_per_layer(units, layers)):
        raise PipelineError(f"units must be between 1 and {MAX_UNITS:,} (the book uses 1 to "
                            f"3 layers of 16 to 64 units), got "
                            f"{','.join(map(str, units)) if isinstance(units, tuple) else units}")
    _choice("activation", params["activation"], ACTIVATIONS)
    _choice("regularize", params["regularize"], REGULARIZE)
    if not 0.0 <= params["dropout"] < 1.0:
        raise PipelineError(f"dropout must be in [0, 1), got {params['dropout']}")
    for name in ("l1", "l2"):
        if not 0.0 <= params[name] < math.inf:
            raise PipelineError(f"{name} must be a finite number >= 0, got {params[name]}")


def check_model_params(num_classes=2, **params):
    """Raise :class:`PipelineError` naming the first invalid parameter.

    Parameters not given take the book's values (:data:`BOOK_MODEL`).
    """
    from . import check_training

    unknown = sorted(set(params) - set(BOOK_MODEL))
    if unknown:
        raise PipelineError(f"unknown model parameter {unknown[0]!r}")
    p = {**BOOK_MODEL, **params}
    if int(p["num_words"]) < 1:
        raise PipelineError(f"num_words must be a positive integer, got {p['num_words']}")
    check({name: p[name] for name in PARAMETERS})
    check_training({name: p[name] for name in SHARED if name in p}, num_classes)


def _widths(units):
    """The widths ``units`` gives, as a list of ints (None if it cannot be read)."""
    try:
        if isinstance(units, str):
            return [int(u) for u in units.replace(",", " ").split()]
        if isinstance(units, (list, tuple)):
            return [int(u) for u in units]
        return [int(units)]
    except (TypeError, ValueError):
        return None


def sizes(params, num_words, num_classes):
    """``(weights, largest activation values per batch)`` of the model ``params`` give."""
    widths = _widths(params.get("units"))
    if not widths:
        return None
    layers = int(params.get("layers", len(widths)))
    widths = (widths + widths[-1:] * layers)[:layers] if len(widths) < layers else widths
    out = 1 if num_classes == 2 else num_classes
    shape = [int(num_words)] + widths + [out]
    weights = sum(a * b + b for a, b in zip(shape[:-1], shape[1:]))
    return weights, int(params.get("batch_size", 1)) * max(widths)


def _choice(name, value, allowed):
    if value not in allowed:
        raise PipelineError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")


# ------------------------------------------------------------------- the model interface

def _own(params, num_words):
    keys = set(BOOK_MODEL) - {"num_words"}
    return {"num_words": num_words, **{key: params[key] for key in keys if key in params}}


def build(params, num_words, num_classes, fast=False):
    return build_model(fast=fast, num_classes=num_classes, **_own(params, num_words))


def portable(model, params, num_words, num_classes):
    return portable_model(model, num_classes=num_classes, **_own(params, num_words))


def describe(params):
    """A short title: ``mlp 2x16 relu, rmsprop lr 0.001`` (``mlp 64-4 relu``, ...)."""
    units = params["units"]
    shape = "-".join(map(str, units)) if isinstance(units, tuple) \
        else f"{params['layers']}x{units}"
    return (f"mlp {shape} {params['activation']}, "
            f"{params['optimizer']} lr {params['learning_rate']:g}")


def export(model):
    """The Dense layers as arrays, for scoring without TensorFlow."""
    from ..inference import export_weights

    return export_weights(model)


# ------------------------------------------------------------------------ building

def build_model(fast=False, num_classes=2, **params):
    """A compiled Keras MLP on sparse multi-hot input.

    Parameters are those of :data:`BOOK_MODEL`; the ones not given take the book's
    values, so ``build_model()`` is the book's model: Dense(16, relu) x 2 ->
    Dense(1, sigmoid), rmsprop(0.001), binary cross-entropy, accuracy. With more
    than two classes the head is Dense(num_classes, softmax) with sparse categorical
    cross-entropy (:mod:`pipeline.models.heads`). ``l1``/``l2`` penalise the
    kernels of all hidden layers, or of the first one only (``regularize="first"``).

    On sparse input the first Dense layer is a sparse matmul: the same numbers as
    on the dense matrix, without materialising it. With ``fast=True`` (training)
    that layer multiplies with ``tf.sparse.sparse_dense_matmul``, about twice as
    fast per step as Keras's own sparse path (an embedding lookup whose gradient
    is a list of rows); :func:`portable_model` copies such a model into plain Dense
    layers, so the saved file loads in any Keras without this package.
    """
    import keras

    check_model_params(num_classes=num_classes, **params)
    p = {**BOOK_MODEL, **params}
    regularizer = keras.regularizers.L1L2(l1=p["l1"], l2=p["l2"]) \
        if (p["l1"] or p["l2"]) else None
    inputs = keras.Input(shape=(p["num_words"],), sparse=True, name="multi_hot")
    x = inputs
    for i, units in enumerate(units_per_layer(p["units"], p["layers"])):
        penalised = p["regularize"] == "all" or i == 0
        dense = _sparse_dense_class() if fast and i == 0 else keras.layers.Dense
        x = dense(units, activation=p["activation"], name=f"hidden_{i + 1}",
                  kernel_regularizer=regularizer if penalised else None)(x)
        if p["dropout"]:
            x = keras.layers.Dropout(p["dropout"], name=f"dropout_{i + 1}")(x)
    outputs = heads.output_layer(num_classes)(x)
    return heads.compiled(keras.Model(inputs, outputs, name="mlp"), p, num_classes,
                          steps_per_execution=8)


def portable_model(model, num_classes=2, **params):
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


_SPARSE_DENSE = []


def _sparse_dense_class():
    """``keras.layers.Dense`` whose SparseTensor input goes through a sparse matmul.

    Defined on first use, so importing this module does not import TensorFlow.
    """
    if not _SPARSE_DENSE:
        import keras
        import tensorflow as tf

        class SparseDense(keras.layers.Dense):
            def call(self, inputs, training=None):
                if not isinstance(inputs, tf.SparseTensor):
                    return super().call(inputs, training=training)
                outputs = tf.sparse.sparse_dense_matmul(inputs, self.kernel)
                if self.bias is not None:
                    outputs = tf.nn.bias_add(outputs, self.bias)
                return self.activation(outputs)

        _SPARSE_DENSE.append(SparseDense)
    return _SPARSE_DENSE[0]
