"""The book's model and its variants, built from plain parameters.

Choices are checked here without importing Keras, so a bad value fails before any
work (and before TensorFlow's 4-second import).
"""
import math

from .errors import PipelineError

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "silu", "swish",
               "softplus", "leaky_relu", "linear")
OPTIMIZERS = ("rmsprop", "adam", "adamw", "sgd", "adagrad", "adadelta", "adamax", "nadam")
LOSSES = ("binary_crossentropy", "mse", "mean_squared_error", "mae",
          "mean_absolute_error", "hinge", "squared_hinge")


REGULARIZE = ("all", "first")

#: Deep Learning with Python 3.4: Dense(16, relu) x 2 -> Dense(1, sigmoid), rmsprop.
BOOK_MODEL = {"num_words": 10000, "layers": 2, "units": 16, "activation": "relu",
              "dropout": 0.0, "l1": 0.0, "l2": 0.0, "regularize": "all",
              "optimizer": "rmsprop", "learning_rate": 0.001, "loss": "binary_crossentropy"}


def check_model_params(**params):
    """Raise :class:`PipelineError` naming the first invalid parameter.

    Parameters not given take the book's values (:data:`BOOK_MODEL`).
    """
    unknown = sorted(set(params) - set(BOOK_MODEL))
    if unknown:
        raise PipelineError(f"unknown model parameter {unknown[0]!r}")
    p = {**BOOK_MODEL, **params}
    num_words, layers, units, activation, dropout, l1, l2, regularize, optimizer, \
        learning_rate, loss = (p[name] for name in BOOK_MODEL)
    _positive_int("num_words", num_words)
    _positive_int("layers", layers)
    _positive_int("units", units)
    _choice("activation", activation, ACTIVATIONS)
    _choice("optimizer", optimizer, OPTIMIZERS)
    _choice("loss", loss, LOSSES)
    _choice("regularize", regularize, REGULARIZE)
    if not 0.0 <= dropout < 1.0:
        raise PipelineError(f"dropout must be in [0, 1), got {dropout}")
    for name, value in (("l1", l1), ("l2", l2)):
        if not 0.0 <= value < math.inf:
            raise PipelineError(f"{name} must be a finite number >= 0, got {value}")
    if not 0.0 < learning_rate < math.inf:
        raise PipelineError(f"learning_rate must be a finite number > 0, got {learning_rate}")


def _positive_int(name, value):
    if int(value) < 1:
        raise PipelineError(f"{name} must be a positive integer, got {value}")


def _choice(name, value, allowed):
    if value not in allowed:
        raise PipelineError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")


def build_model(fast=False, **params):
    """A compiled Keras MLP on sparse multi-hot input.

    Parameters are those of :data:`BOOK_MODEL`; the ones not given take the book's
    values, so ``build_model()`` is the book's model: Dense(16, relu) x 2 ->
    Dense(1, sigmoid), rmsprop(0.001), binary cross-entropy, accuracy. ``l1``/``l2``
    penalise the kernels of all hidden layers, or of the first one only
    (``regularize="first"``).

    On sparse input the first Dense layer is a sparse matmul: the same numbers as
    on the dense matrix, without materialising it. With ``fast=True`` (training)
    that layer multiplies with ``tf.sparse.sparse_dense_matmul``, about twice as
    fast per step as Keras's own sparse path (an embedding lookup whose gradient
    is a list of rows); :func:`portable_model` copies such a model into plain Dense
    layers, so the saved file loads in any Keras without this package.
    """
    import keras

    check_model_params(**params)
    p = {**BOOK_MODEL, **params}
    num_words, layers, units, activation, dropout, l1, l2, regularize, optimizer, \
        learning_rate, loss = (p[name] for name in BOOK_MODEL)
    regularizer = keras.regularizers.L1L2(l1=l1, l2=l2) if (l1 or l2) else None
    inputs = keras.Input(shape=(num_words,), sparse=True, name="multi_hot")
    x = inputs
    for i in range(layers):
        penalised = regularize == "all" or i == 0
        dense = _sparse_dense_class() if fast and i == 0 else keras.layers.Dense
        x = dense(units, activation=activation, name=f"hidden_{i + 1}",
                  kernel_regularizer=regularizer if penalised else None)(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i + 1}")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="positive")(x)
    model = keras.Model(inputs, outputs, name="imdb_mlp")
    model.compile(optimizer=keras.optimizers.get({"class_name": optimizer,
                                                   "config": {"learning_rate": learning_rate}}),
                  loss=loss, metrics=["accuracy"], steps_per_execution=8)
    return model


def portable_model(model, **params):
    """A copy of ``model`` (built by :func:`build_model` with ``params``) with plain layers.

    The twin has standard Dense layers and receives the weights and the optimizer
    state, so once saved it loads with ``keras.models.load_model`` alone and can go
    on training where ``model`` stopped. Tasks evaluate the twin, so the metrics
    they write describe exactly the file they save.
    """
    twin = build_model(**params)
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
