"""A toy dataset and a toy model: each one class, plugged in by one registry line.

What adding a plug-in takes, and nothing more: ``register_toys()`` is the two lines a
real plug-in would add to ``pipeline/datasets/__init__.py`` and
``pipeline/models/__init__.py``. Importing this module registers them (so
``luigi --module toy_plugins RunAll --help`` shows their parameters); tests call
:func:`remove_toys` to leave the registries as they were. Not collected by pytest.
"""
from __future__ import annotations

import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.datasets import REGISTRY as DATASETS
from pipeline.datasets import Dataset
from pipeline.ml import heads
from pipeline.ml.text import (
    SPLITS,
    Encoded,
    Split,
    build_vocabulary,
    encode_split,
    tokenize_documents,
)
from pipeline.ml.training import TRAINING
from pipeline.models import REGISTRY as MODELS
from pipeline.models import Model
from pipeline.params import Number, Param, Values

WORDS = {0: ["rain", "grey", "cold", "storm"], 1: ["sun", "warm", "bright", "clear"]}
FILLER = ["the", "day", "was", "and", "a", "very"]
NOISE = Param("toy_noise", Number(0.0, 1.0), 0.0,
              "Share of each document's class words taken from the other class")
L2 = Param("toy_l2", Number(minimum=0.0), 0.0, "L2 penalty of the toy model's weights")


class ToyWeather(Dataset):
    """Documents of weather words: rainy days (0) and sunny days (1)."""

    name = "toy_weather"
    title = "Toy weather"
    class_names = ("rainy", "sunny")
    files = {"documents": "documents.json"}
    addresses = {"url": "documents"}
    parameters = (NOISE,)
    defaults = {"validation_size": 20}

    def fetch(self, folder: Path, addresses: Mapping[str, str], *, sha256: str = "",
              progress: Any = None) -> dict[str, Any]:
        rng = random.Random(0)
        documents = {split: [[label, rng.random(), rng.choices(WORDS[label], k=4),
                              rng.choices(WORDS[1 - label], k=4), rng.choices(FILLER, k=5)]
                             for _ in range(count) for label in (0, 1)]
                     for split, count in (("train", 40), ("test", 20))}
        (Path(folder) / "documents.json").write_text(json.dumps(documents))
        return {"source": "generated", "sha256": "",
                "documents": {split: len(docs) for split, docs in documents.items()}}

    def read(self, folder: Path, num_words: int, params: Values) -> Encoded:
        stored = json.loads((Path(folder) / "documents.json").read_text())
        noise = float(params["toy_noise"])

        def text(own: list[str], other: list[str], filler: list[str], draw: float) -> str:
            return " ".join((other if draw < noise else own) + filler)

        tokenized = {split: tokenize_documents(
            (label, f"{split}-{i}", text(own, other, filler, draw))
            for i, (label, draw, own, other, filler) in enumerate(stored[split]))
            for split in SPLITS}
        vocabulary, counts = build_vocabulary(tokenized["train"], num_words)
        splits = {split: Split(*encode_split(data, vocabulary), data.labels, data.names)
                  for split, data in tokenized.items()}
        return Encoded(splits, vocabulary, counts)


class ToyLogistic(Model):
    """Logistic regression on multi-hot vectors."""

    name = "toy_logistic"
    representation = "multihot"
    parameters = (L2, *TRAINING)
    defaults = {"epochs": 30, "batch_size": 8, "learning_rate": 0.05}

    def build(self, params: Values, num_words: int, num_classes: int, *, fast: bool,
              extra: Mapping[str, Any]) -> Any:
        import keras

        inputs = keras.Input(shape=(num_words,), sparse=True)
        penalty = keras.regularizers.L2(float(params["toy_l2"])) if params["toy_l2"] else None
        outputs = keras.layers.Dense(1 if num_classes == 2 else num_classes,
                                     activation="sigmoid" if num_classes == 2 else "softmax",
                                     kernel_regularizer=penalty)(inputs)
        return heads.compiled(keras.Model(inputs, outputs), params, num_classes)

    def describe(self, params: Values) -> str:
        return f"toy logistic regression (l2 {params['toy_l2']})"


def register_toys() -> None:
    if "toy_weather" not in DATASETS:
        DATASETS.register(ToyWeather)
    if "toy_logistic" not in MODELS:
        MODELS.register(ToyLogistic)


def remove_toys() -> None:
    for registry, name in ((DATASETS, "toy_weather"), (MODELS, "toy_logistic")):
        if name in registry:
            registry.remove(name)


register_toys()
