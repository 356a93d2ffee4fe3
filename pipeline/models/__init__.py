"""Models: one module per model family, chosen by the ``model`` parameter.

A model module (``mlp.py``) defines:

``REPRESENTATION``
    the representation it reads (a name of :mod:`pipeline.features`).
``PARAMETERS``
    ``{name: luigi parameter}``: its own parameters (hidden layers, units, ...), made
    with :func:`pipeline.config.experiment_default` (their default is what "not given"
    means when a parameter the chosen model does not read is refused).
``SHARED``
    the names of the training parameters of :data:`TRAINING` it reads.
``check(params)``
    raise :class:`~pipeline.errors.PipelineError` naming a bad value (no Keras import).
``build(params, num_words, num_classes, fast=False)``
    a compiled Keras model; ``fast`` may use training-only layers.
``portable(model, params, num_words, num_classes)``
    the model to save and evaluate (plain Keras layers), from the one ``build(fast=True)``
    trained.
``export``
    a function ``export(model)`` giving arrays that :mod:`pipeline.inference` scores
    without TensorFlow, or ``None`` when the model has no such twin (``predict`` then
    loads ``model.keras`` with Keras).
``describe(params)``
    a short title for plots ("mlp 2x16 relu, rmsprop lr 0.001").
``prepare(params, train, num_classes)`` (optional)
    what the model computes from the rows it is fitted on before it is built (nbsvm: its
    NB ratios), as a dict passed to ``build`` and ``portable`` as keyword arguments. The
    tasks call it with the training rows only (TrainModel: the training part;
    EvaluateTest: the final training documents), never with validation or test rows.

and may define ``DEFAULTS``, ``{parameter: value}``: its own defaults of the pipeline's
parameters (the sequence models train 10 epochs of batch 32), before ``[experiment]``
and overridden by ``[experiment.<model>]`` in luigi.cfg (:mod:`pipeline.config`).
``PRETRAINED`` (optional)
    the name of the parameter giving the dimension of the pretrained word vectors the
    model starts from (``glove_dim``). The training tasks then also require
    ``DownloadVectors`` of that dimension and Encode's vocabulary, and call
    ``build(..., embedding_matrix=m)`` with ``m`` (num_words x dim, float32) built by
    :func:`pipeline.datasets.glove.embedding_matrix`; its coverage of the vocabulary goes
    into training.json and metrics.json.

A model reads its own parameters, its ``SHARED`` ones and its representation's
(:func:`reads`). The tasks declare the parameters of every model, but the ones the
chosen model does not read are left out of its task ids, and giving one of them a value
is an error (``PipelineTask`` in :mod:`pipeline.tasks`). Adding a model is one module and
one line in :data:`MODELS`.
"""
import importlib
import math

import luigi

from .. import features
from ..config import experiment_default
from ..errors import PipelineError

MODELS = {
    "mlp": "pipeline.models.mlp",
    "embedding": "pipeline.models.embedding",
    "pooled": "pipeline.models.pooled",
    "glove": "pipeline.models.glove",
    "nbsvm": "pipeline.models.nbsvm",
}

#: Bounds that keep a training within a few GB and hours on a small machine (checked
#: before any work; the messages give the reason). The book's model has 160,033 weights
#: and its best epoch is about 4.
MAX_EPOCHS = 1000
MAX_BATCH_SIZE = 1 << 20
#: Weights of one model: training holds about five float32 copies (the weights, their
#: gradients, up to two optimizer slots and the saved twin), so about 2 GB at this bound.
MAX_WEIGHTS = 100_000_000
#: Values of the largest activation tensor of one batch (float32; with its gradient
#: about 0.8 GB at this bound).
MAX_BATCH_VALUES = 100_000_000

OPTIMIZERS = ("rmsprop", "adam", "adamw", "sgd", "adagrad", "adadelta", "adamax", "nadam")

#: Training parameters that Keras models share (each model lists those it reads).
TRAINING = {
    "optimizer": experiment_default(luigi.Parameter, "optimizer", "rmsprop",
                                    description="Keras optimizer name"),
    "learning_rate": experiment_default(luigi.FloatParameter, "learning_rate", 0.001,
                                        description="Learning rate of the optimizer"),
    "loss": experiment_default(
        luigi.Parameter, "loss", "auto",
        description="Keras loss name; auto: binary_crossentropy for two classes, "
                    "sparse_categorical_crossentropy for more"),
    "epochs": experiment_default(luigi.IntParameter, "epochs", 20,
                                 description="Epochs of the training run with validation"),
    "batch_size": experiment_default(luigi.IntParameter, "batch_size", 512,
                                     description="Mini-batch size"),
}


def get(name):
    """The module of model ``name``; :class:`PipelineError` for an unknown name."""
    if name not in MODELS:
        raise PipelineError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return importlib.import_module(MODELS[name])


def all_parameters():
    """``{name: luigi parameter}`` of every model, its training and representation ones."""
    found = dict(TRAINING)
    for name in MODELS:
        found.update(get(name).PARAMETERS)
    for name, param in features.all_parameters().items():
        found.setdefault(name, param)
    return found


def reads(name):
    """The names of the model-dependent parameters model ``name`` reads."""
    module = get(name)
    return (set(module.SHARED) | set(module.PARAMETERS)
            | set(features.get(module.REPRESENTATION).PARAMETERS))


def check_training(shared, num_classes):
    """Check the training parameters in ``shared`` (those a model reads)."""
    from .heads import loss_for

    if "loss" in shared:
        loss_for(shared["loss"], num_classes)
    if "optimizer" in shared and shared["optimizer"] not in OPTIMIZERS:
        raise PipelineError(f"unknown optimizer {shared['optimizer']!r}; choose one of "
                            f"{', '.join(OPTIMIZERS)}")
    if "learning_rate" in shared and not 0.0 < shared["learning_rate"] < math.inf:
        raise PipelineError(f"learning_rate must be a finite number > 0, got "
                            f"{shared['learning_rate']}")
    for key in ("epochs", "batch_size"):
        if key in shared and shared[key] < 1:
            raise PipelineError(f"{key} must be a positive integer, got {shared[key]}")
    if shared.get("epochs", 0) > MAX_EPOCHS:
        raise PipelineError(f"epochs must be at most {MAX_EPOCHS} (the book's models stop "
                            f"improving after about 4; more only runs for hours), got "
                            f"{shared['epochs']}")
    if shared.get("batch_size", 0) > MAX_BATCH_SIZE:
        raise PipelineError(f"batch_size must be at most {MAX_BATCH_SIZE:,} (more than any "
                            f"training set here), got {shared['batch_size']}")


def check_sizes(name, params, num_words, num_classes):
    """Refuse a model too large to train here, before any work, saying how large it
    would be. Models that define ``sizes(params, num_words, num_classes) -> (weights,
    largest batch activation)`` are checked; others are not."""
    sizes = getattr(get(name), "sizes", None)
    found = sizes(params, num_words, num_classes) if sizes else None
    if found is None:
        return
    weights, activations = found
    if weights > MAX_WEIGHTS:
        raise PipelineError(
            f"model {name!r} would have {weights:,} weights (num_words {num_words:,} and "
            f"the layer sizes given), about {weights * 20 / 2**30:.1f} GB to train; at most "
            f"{MAX_WEIGHTS:,} are allowed: lower num_words or the layer sizes")
    if activations > MAX_BATCH_VALUES:
        raise PipelineError(
            f"model {name!r}: one batch would hold {activations:,} activation values "
            f"(about {activations * 8 / 2**30:.1f} GB with gradients); at most "
            f"{MAX_BATCH_VALUES:,} are allowed: lower batch_size or the layer sizes")


def check(name, params, num_classes):
    """Check the parameters model ``name`` reads; :class:`PipelineError` names a bad one."""
    module = get(name)
    check_training({key: params[key] for key in module.SHARED}, num_classes)
    module.check({key: params[key] for key in module.PARAMETERS})
    representation = features.get(module.REPRESENTATION)
    representation.check({key: params[key] for key in representation.PARAMETERS})
