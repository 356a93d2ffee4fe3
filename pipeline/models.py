"""The book's model and its variants, built from plain parameters.

Choices are checked here without importing Keras, so a bad value fails before any
work (and before TensorFlow's 4-second import).
"""
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
        if not value >= 0.0:
            raise PipelineError(f"{name} must be >= 0, got {value}")
    if not learning_rate > 0.0:
        raise PipelineError(f"learning_rate must be > 0, got {learning_rate}")


def _positive_int(name, value):
    if int(value) < 1:
        raise PipelineError(f"{name} must be a positive integer, got {value}")


def _choice(name, value, allowed):
    if value not in allowed:
        raise PipelineError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")


def build_model(**params):
    """A compiled Keras MLP on sparse multi-hot input.

    Parameters are those of :data:`BOOK_MODEL`; the ones not given take the book's
    values, so ``build_model()`` is the book's model: Dense(16, relu) x 2 ->
    Dense(1, sigmoid), rmsprop(0.001), binary cross-entropy, accuracy. ``l1``/``l2``
    penalise the kernels of all hidden layers, or of the first one only
    (``regularize="first"``). On sparse
    input the first Dense layer is a sparse matmul (an embedding bag): the same
    numbers as on the dense matrix, without materialising it.
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
        x = keras.layers.Dense(units, activation=activation, name=f"hidden_{i + 1}",
                               kernel_regularizer=regularizer if penalised else None)(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i + 1}")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="positive")(x)
    model = keras.Model(inputs, outputs, name="imdb_mlp")
    model.compile(optimizer=keras.optimizers.get({"class_name": optimizer,
                                                   "config": {"learning_rate": learning_rate}}),
                  loss=loss, metrics=["accuracy"], steps_per_execution=8)
    return model
