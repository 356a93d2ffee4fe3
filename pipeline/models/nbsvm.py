"""``nbsvm``: a Naive-Bayes-weighted linear layer on binary word n-grams.

The NBSVM family (Wang & Manning, 2012; Mesnil et al., 2015; fast.ai's "NBSVM++"): each
n-gram column ``j`` gets the log-count ratio of the classes in the *training rows*,

    p = alpha + sum of the positive rows,  q = alpha + sum of the negative rows,
    r = log((p / |p|_1) / (q / |q|_1)),

and a linear layer is trained on the ratio-weighted features: ``sigmoid(sum_j x_j r_j w_j +
b)``. The ratios are fixed; ``w`` (from 0) and ``b`` are trained by the usual Keras fit with
a validation history, so TrainModel, EvaluateTest (best epoch), PlotHistory and
CompareModels treat it like the book's model. With more than two classes each class gets
its one-vs-rest ratios and a softmax.

The ratios are computed by :func:`prepare` from the rows the model is fitted on (the
tasks call it with TrainModel's training rows, or EvaluateTest's final training
documents), never from validation or test rows. The saved model is a plain
``Dense`` layer whose kernel is ``r * w``: it loads in any Keras, and ``predict`` scores
it with :class:`pipeline.ml.inference.NumpyMLP` (no TensorFlow).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import PipelineError
from ..ml import heads
from ..ml.training import TRAINING, Features
from ..params import Number, Param, Values
from .base import Model

NB_ALPHA = Param("nb_alpha", Number(minimum=0.0, low_open=True), 1.0,
                 "Smoothing added to every n-gram's count per class before the NB "
                 "log-count ratios")


def describe(params: Values) -> str:
    low, high = str(params["ngram_range"]).split(",")
    grams = f"{low}-{high}-grams" if low != high else f"{low}-grams"
    return (f"nbsvm on {grams} (min_df {params['min_df']}), {params['optimizer']} lr "
            f"{float(params['learning_rate']):g}")


def nb_ratios(data: Any, num_classes: int, alpha: float = 1.0) -> Any:
    """The NB log-count ratios of a CSR ``data`` (``indptr``, ``indices``, ``labels``,
    ``num_words`` = columns): ``(columns, 1)`` for two classes (positive vs negative),
    ``(columns, classes)`` one-vs-rest for more. float32."""
    import numpy as np

    labels = np.asarray(data.labels).astype(np.int64)
    row_of = np.repeat(np.arange(data.rows), np.diff(data.indptr))
    counts = np.zeros((num_classes, data.num_words))
    for label in range(num_classes):
        counts[label] = np.bincount(data.indices[labels[row_of] == label],
                                    minlength=data.num_words)
    total = counts.sum(axis=0)

    def ratio(mine: Any, others: Any) -> Any:
        p, q = alpha + mine, alpha + others
        return np.log(p / p.sum()) - np.log(q / q.sum())

    if num_classes == 2:
        ratios = ratio(counts[1], counts[0])[:, None]
    else:
        ratios = np.stack([ratio(counts[c], total - counts[c]) for c in range(num_classes)],
                          axis=1)
    return ratios.astype(np.float32)


def build(params: Values, num_classes: int, fast: bool, ratios: Any) -> Any:
    """A compiled Keras model on sparse n-gram rows of ``len(ratios)`` columns.

    ``fast`` (training): the NB-weighted layer (fixed ratios, trained ``w``, ``b``);
    otherwise the plain ``Dense`` twin that :meth:`NBSVM.portable` fills with ``r * w``.
    """
    import keras

    if ratios is None:
        raise PipelineError("nbsvm is built from its training rows' NB ratios (prepare)")
    inputs = keras.Input(shape=(ratios.shape[0],), sparse=True, name="ngrams")
    if fast:
        layer = _nb_layer_class()(ratios, num_classes, name="nb_linear")
    else:
        layer = heads.output_layer(num_classes)
    model = keras.Model(inputs, layer(inputs), name="nbsvm")
    return heads.compiled(model, params, num_classes)


class NBSVM(Model):
    """A Naive-Bayes-weighted linear layer on binary word n-grams."""

    name = "nbsvm"
    representation = "ngrams"
    parameters = (NB_ALPHA, *TRAINING)

    def describe(self, params: Values) -> str:
        return describe(params)

    def prepare(self, params: Values, train: Features, num_classes: int) -> dict[str, Any]:
        """The NB ratios of the training rows."""
        return {"ratios": nb_ratios(train, num_classes, float(params["nb_alpha"]))}

    def build(self, params: Values, num_words: int, num_classes: int, *, fast: bool,
              extra: Mapping[str, Any]) -> Any:
        return build(params, num_classes, fast, extra.get("ratios"))

    def portable(self, model: Any, params: Values, num_words: int, num_classes: int,
                 extra: Mapping[str, Any]) -> Any:
        """The plain twin of a trained NB-weighted model: ``Dense`` with kernel ``r * w``."""
        import numpy as np

        ratios = extra["ratios"]
        twin = build(params, num_classes, False, ratios)
        layer = model.get_layer("nb_linear")
        weights, bias = layer.kernel.numpy(), layer.bias.numpy()
        twin.layers[-1].set_weights([np.asarray(ratios * weights, dtype=np.float32), bias])
        # its optimizer state (of r * w, not of w) starts afresh, but is built, so the
        # saved file loads without Keras's "skipping variable loading" warning
        twin.optimizer.build(twin.trainable_variables)
        return twin

    def export(self, model: Any) -> dict[str, Any]:
        """The Dense layer (kernel ``r * w``) as arrays, for scoring without TensorFlow."""
        from ..ml.inference import export_weights

        return export_weights(model)


_NB_LAYER: list[type] = []


def _nb_layer_class() -> type:
    """The NB-weighted linear layer, defined on first use (no TensorFlow at import)."""
    if not _NB_LAYER:
        import keras
        import tensorflow as tf

        class NBLinear(keras.layers.Layer):
            """``activation(x @ (r * w) + b)`` with fixed ratios ``r`` on sparse ``x``."""

            def __init__(self, ratios: Any, num_classes: int, **kwargs: Any) -> None:
                super().__init__(**kwargs)
                self._initial_ratios = ratios
                self.num_classes = num_classes

            def build(self, input_shape: Any) -> None:
                shape = self._initial_ratios.shape
                self.ratios = self.add_weight(
                    shape=shape, trainable=False, name="ratios",
                    initializer=keras.initializers.Constant(self._initial_ratios))
                self.kernel = self.add_weight(shape=shape, initializer="zeros", name="kernel")
                self.bias = self.add_weight(shape=(shape[1],), initializer="zeros",
                                            name="bias")

            def call(self, inputs: Any) -> Any:
                weights = self.ratios * self.kernel
                if isinstance(inputs, tf.SparseTensor):
                    logits = tf.sparse.sparse_dense_matmul(inputs, weights)
                else:
                    logits = tf.matmul(inputs, weights)
                logits = logits + self.bias
                return tf.sigmoid(logits) if self.num_classes == 2 else tf.nn.softmax(logits)

        _NB_LAYER.append(NBLinear)
    return _NB_LAYER[0]
