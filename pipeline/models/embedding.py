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
    import keras

    inputs = keras.Input(shape=(params["maxlen"],), dtype="int32", name="indices")
    x = keras.layers.Embedding(num_words, params["embedding_dim"], name="embedding")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = heads.output_layer(num_classes)(x)
    return heads.compiled(keras.Model(inputs, outputs, name="embedding"), params,
                          num_classes)


def portable(model, params, num_words, num_classes):
    return model  # plain Keras layers already
