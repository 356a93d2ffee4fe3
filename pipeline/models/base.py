"""The contract of a model plug-in: a Keras classifier on one representation.

A model is a subclass of :class:`Model` in a module of its own, registered in
:mod:`pipeline.models` by one line. It names the representation it reads and declares
every parameter it reads besides that representation's (the training parameters of
:data:`pipeline.ml.training.TRAINING` it uses included). TrainModel and EvaluateTest
call :meth:`Model.prepare` on the rows the model is fitted on, :meth:`Model.build` with
``fast=True``, fit it, then save and evaluate :meth:`Model.portable`'s twin of plain
Keras layers; :meth:`Model.export` may give the arrays that ``predict`` scores with
numpy alone (:mod:`pipeline.ml.inference`).

Nothing here imports Keras: a bad value is refused before TensorFlow's 4-second import.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from ..errors import PipelineError
from ..ml.heads import loss_for
from ..ml.training import Features
from ..params import Param, Value, Values

#: Weights of one model: training holds about five float32 copies (the weights, their
#: gradients, up to two optimizer slots and the saved twin), so about 2 GB at this bound.
MAX_WEIGHTS = 100_000_000
#: Values of the largest activation tensor of one batch (float32; with its gradient
#: about 0.8 GB at this bound).
MAX_BATCH_VALUES = 100_000_000


class Model(ABC):
    """A classifier: built, fitted, saved, described."""

    #: the ``model`` parameter's value that chooses it
    name: ClassVar[str]
    #: the representation it reads (a name registered in :mod:`pipeline.features`)
    representation: ClassVar[str]
    #: every parameter it reads besides its representation's
    parameters: ClassVar[tuple[Param, ...]]
    #: its own defaults of other parameters (the sequence models: 10 epochs of 32)
    defaults: ClassVar[Mapping[str, Value]] = {}
    #: the parameter that gives the dimension of the pretrained word vectors it starts
    #: from (``glove_dim``): the tasks then pass ``embedding_matrix`` to :meth:`build`
    pretrained: ClassVar[str | None] = None

    def check(self, params: Values, num_classes: int) -> None:
        """Refuse values that do not go together or do not suit the class count (each
        value alone is checked by its declaration). The default checks the loss."""
        if "loss" in params:
            loss_for(str(params["loss"]), num_classes)

    def sizes(self, params: Values, num_words: int, num_classes: int
              ) -> tuple[int, int] | None:
        """``(weights, largest activation values of one batch)``, checked against
        :data:`MAX_WEIGHTS` and :data:`MAX_BATCH_VALUES` before any work; None: unknown."""
        return None

    def prepare(self, params: Values, train: Features, num_classes: int) -> dict[str, Any]:
        """What the model learns from the rows it is fitted on before it is built (nbsvm:
        its NB ratios), passed to :meth:`build` and :meth:`portable`. Called with the
        training rows only, never validation or test rows."""
        return {}

    @abstractmethod
    def build(self, params: Values, num_words: int, num_classes: int, *, fast: bool,
              extra: Mapping[str, Any]) -> Any:
        """A compiled Keras model. ``fast`` (training) may use training-only layers;
        ``extra`` holds :meth:`prepare`'s results and ``embedding_matrix`` for a model
        with :attr:`pretrained` vectors."""

    def portable(self, model: Any, params: Values, num_words: int, num_classes: int,
                 extra: Mapping[str, Any]) -> Any:
        """The model to save and evaluate, of plain Keras layers, from the one
        ``build(fast=True)`` trained; the default: that model itself."""
        return model

    def export(self, model: Any) -> dict[str, Any] | None:
        """Arrays that :class:`pipeline.ml.inference.NumpyMLP` scores without TensorFlow,
        or None when the model has no such twin (``predict`` then loads it with Keras)."""
        return None

    @abstractmethod
    def describe(self, params: Values) -> str:
        """A short title for plots: ``mlp 2x16 relu, rmsprop lr 0.001``."""


def check_sizes(model: Model, params: Values, num_words: int, num_classes: int) -> None:
    """Refuse a model too large to train here, before any work, saying how large."""
    found = model.sizes(params, num_words, num_classes)
    if found is None:
        return
    weights, activations = found
    if weights > MAX_WEIGHTS:
        raise PipelineError(
            f"model {model.name!r} would have {weights:,} weights (num_words {num_words:,} "
            f"and the layer sizes given), about {weights * 20 / 2**30:.1f} GB to train; at "
            f"most {MAX_WEIGHTS:,} are allowed: lower num_words or the layer sizes")
    if activations > MAX_BATCH_VALUES:
        raise PipelineError(
            f"model {model.name!r}: one batch would hold {activations:,} activation values "
            f"(about {activations * 8 / 2**30:.1f} GB with gradients); at most "
            f"{MAX_BATCH_VALUES:,} are allowed: lower batch_size or the layer sizes")
