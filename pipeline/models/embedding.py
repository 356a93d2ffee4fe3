"""``embedding``: a learned word embedding on padded sequences (Deep Learning with Python 6.1).

Embedding(num_words, embedding_dim) -> Flatten -> the classifier head (Dense(1, sigmoid)
for two classes). Trained from scratch; it has no numpy twin, so ``predict`` scores
with Keras.
"""
import luigi

from ..config import experiment_default
from ..errors import PipelineError
from . import heads

REPRESENTATION = "sequences"
SHARED = ("optimizer", "learning_rate", "loss", "epochs", "batch_size")
#: The notebook's training settings for the sequence models (Deep Learning with Python
#: 6.1.3: 10 epochs of batch 32), before [experiment]'s 20 epochs of 512 (pipeline.config).
DEFAULTS = {"epochs": 10, "batch_size": 32}
MAX_EMBEDDING_DIM = 4096

PARAMETERS = {
    "embedding_dim": experiment_default(luigi.IntParameter, "embedding_dim", 100,
                                        description="embedding: size of each word vector"),
}

export = None  # no numpy twin: EvaluateTest saves model.keras only


def check(params):
    if not 1 <= params["embedding_dim"] <= MAX_EMBEDDING_DIM:
        raise PipelineError(f"embedding_dim must be between 1 and {MAX_EMBEDDING_DIM}, "
                            f"got {params['embedding_dim']}")


def sizes(params, num_words, num_classes):
    """``(weights, largest activation values per batch)``, as models.check_sizes reads."""
    out = 1 if num_classes == 2 else num_classes
    dim, maxlen = params["embedding_dim"], params["maxlen"]
    return (num_words * dim + maxlen * dim * out + out,
            int(params.get("batch_size", 1)) * maxlen * dim)


def describe(params):
    return (f"embedding {params['embedding_dim']}d on {params['maxlen']} words, "
            f"{params['optimizer']} lr {params['learning_rate']:g}")


def build(params, num_words, num_classes, fast=False):
    return classifier(params, num_words, num_classes, params["embedding_dim"], name="embedding")


def classifier(params, num_words, num_classes, dim, *, name, pooled=False, matrix=None,
               trainable=True):
    """Embedding(num_words, dim) -> Flatten (or masked GlobalAveragePooling1D with
    ``pooled``) -> the head, compiled. ``matrix`` (num_words x dim) sets the embedding's
    weights; ``trainable=False`` freezes them. The models of this family share it."""
    import keras

    inputs = keras.Input(shape=(params["maxlen"],), dtype="int32", name="indices")
    embedding = keras.layers.Embedding(num_words, dim, mask_zero=pooled, trainable=trainable,
                                       name="embedding")
    x = embedding(inputs)
    x = (keras.layers.GlobalAveragePooling1D(name="average") if pooled
         else keras.layers.Flatten(name="flatten"))(x)
    outputs = heads.output_layer(num_classes)(x)
    model = keras.Model(inputs, outputs, name=name)
    if matrix is not None:
        embedding.set_weights([matrix])
    return heads.compiled(model, params, num_classes)


def portable(model, params, num_words, num_classes):
    return model  # plain Keras layers already
