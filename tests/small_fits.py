"""Small sequences, learnable multi-hot data and a small fit of the book's model, shared
by the features', training and mlp tests. Not collected by pytest."""
import numpy as np

from pipeline.features.multihot import multi_hot
from pipeline.ml.training import fit, seed_everything
from pipeline.models.mlp import build_model

BOOK = dict(layers=2, units=16, activation="relu", dropout=0.0, l1=0.0, l2=0.0,
            optimizer="rmsprop", learning_rate=0.001, loss="binary_crossentropy")
BINARY = ["negative", "positive"]
CLASSES3 = ["world", "sports", "business"]


def as_flat(sequences):
    values = np.asarray([v for s in sequences for v in s], dtype=np.int32)
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in sequences], out=offsets[1:])
    return values, offsets


def random_sequences(rng, rows, num_words, max_length=60):
    """Keras-like sequences: start 1, words in [2, num_words), repeats, some empty."""
    sequences = []
    for _ in range(rows):
        length = int(rng.integers(0, max_length))
        body = rng.integers(2, num_words, size=length).tolist()
        sequences.append(([1] if rng.random() < 0.9 else []) + body)
    return sequences


def random_data(seed, rows, num_words):
    """Multi-hot data whose label depends on the words, so the model can learn."""
    rng = np.random.default_rng(seed)
    sequences = [[1] + rng.integers(2, num_words, size=int(rng.integers(3, 15))).tolist()
                 for _ in range(rows)]
    labels = [float(np.mean(s) > num_words / 2) for s in sequences]
    return multi_hot(*as_flat(sequences), labels, num_words)


def train_once(num_words=60, seed=3, epochs=3, batch_size=16, fast=True, **overrides):
    """Fit as the tasks do (``fast`` first layer unless told otherwise): 96 training rows,
    32 validation rows; returns ``(model, history, train, validation)``."""
    train = random_data(0, 96, num_words)
    validation = random_data(1, 32, num_words)
    seed_everything(seed)
    model = build_model(num_words=num_words, fast=fast, **dict(BOOK, units=8, **overrides))
    history, _ = fit(model, train, validation=validation, epochs=epochs,
                     batch_size=batch_size, seed=seed, verbose=0)
    return model, history, train, validation


def three_class_data(seed, rows, num_words=30):
    """Documents of class k hold words of their own third of the index space plus
    shared filler, so a model can learn the classes."""
    rng = np.random.default_rng(seed)
    band = (num_words - 4) // 3
    labels = rng.integers(0, 3, size=rows).astype(np.int16)
    sequences = []
    for label in labels:
        own = rng.integers(4 + band * label, 4 + band * (label + 1), size=4)
        filler = rng.integers(2, num_words, size=3)
        sequences.append([1] + own.tolist() + filler.tolist())
    return multi_hot(*as_flat(sequences), labels, num_words)


def train_three_classes():
    """The book's model with a softmax head, fitted 15 epochs on three learnable classes;
    returns ``(model, history, train, test)``."""
    train, test = three_class_data(0, 150), three_class_data(1, 60)
    seed_everything(5)
    model = build_model(num_words=30, num_classes=3, units=8, learning_rate=0.01, fast=True)
    history, _ = fit(model, train, validation=test, epochs=15, batch_size=16, seed=5,
                     num_classes=3, verbose=0)
    return model, history, train, test
