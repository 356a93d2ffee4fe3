"""The glove model (pipeline/models/glove.py): frozen or fine-tuned GloVe vectors in the
Embedding, through the chain with a tiny vectors file (DownloadVectors), and its
parameters refused before any training."""
import shutil

import numpy as np
import pytest
from conftest import (
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    build,
    configured,
    only_folder,
    output_folders,
    ran_families,
)

from pipeline import DownloadVectors, EvaluateTest, PipelineError, RunAll, TrainModel, models
from pipeline.io.storage import read_json

#: words the tiny vectors file has; "zzz" is in no review
KNOWN = POSITIVE[:4] + NEGATIVE[:4] + NEUTRAL[:6] + ["zzz"]
SMALL = dict(num_words=40, validation_size=10, maxlen=12, batch_size=8)


def vectors_text(words, dim, seed=0):
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(len(words), dim)).astype(np.float32)
    lines = [word + " " + " ".join(repr(float(x)) for x in row) for word, row in zip(words, table)]
    return "\n".join(lines) + "\n", table


def tiny_data(rows=24, maxlen=8, num_words=12, seed=0):
    from pipeline.features.sequences import Padded

    rng = np.random.default_rng(seed)
    matrix = rng.integers(1, num_words, size=(rows, maxlen)).astype(np.int32)
    matrix[:, :2] = 0  # padding in front
    return Padded(matrix, (matrix[:, -1] % 2).astype(np.int16))


def params(**overrides):
    return dict({"maxlen": 8, "padding": "pre", "truncating": "pre", "optimizer": "rmsprop",
                 "learning_rate": 0.01, "loss": "auto", "epochs": 3, "batch_size": 8,
                 "glove_dim": 50, "trainable": False}, **overrides)


@pytest.mark.parametrize("trainable", [False, True])
def test_frozen_glove_weights_unchanged_after_a_fit(trainable):
    from pipeline.ml.training import fit, seed_everything

    seed_everything(0)
    matrix = np.random.default_rng(2).normal(size=(12, 50)).astype(np.float32)
    matrix[:4] = 0
    plugin = models.get("glove")
    model = plugin.build(params(trainable=trainable), 12, 2, fast=True,
                         extra={"embedding_matrix": matrix})
    before_dense = model.layers[-1].get_weights()[0].copy()
    fit(model, tiny_data(), epochs=3, batch_size=8, seed=0, verbose=0)
    after = model.get_layer("embedding").get_weights()[0]
    assert np.array_equal(after, matrix) != trainable
    # the head learns either way
    assert not np.array_equal(model.layers[-1].get_weights()[0], before_dense)
    trainable_count = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable_count == (12 * 50 if trainable else 0) + 8 * 50 + 1
    with pytest.raises(PipelineError, match=r"expected \(12, 50\)"):
        plugin.build(params(), 12, 2, fast=True, extra={"embedding_matrix": matrix[:, :10]})


def test_the_plug_in_declares_its_vectors_and_describes_itself():
    plugin = models.get("glove")
    assert plugin.representation == "sequences" and plugin.pretrained == "glove_dim"
    assert dict(plugin.defaults) == {"epochs": 10, "batch_size": 32}
    assert plugin.describe(dict(params(), maxlen=150)) == \
        "GloVe 6B 50d (frozen) on 150 words, rmsprop lr 0.01"
    assert plugin.describe(params(trainable=True, glove_dim=100)) == \
        "GloVe 6B 100d (fine-tuned) on 8 words, rmsprop lr 0.01"


def test_download_vectors_task_refuses_wrong_dimension_before_training(tmp_path, data_dir):
    message = "glove_dim must be one of 50, 100, 200, 300, got 6"
    with pytest.raises(PipelineError, match=message):
        DownloadVectors(glove_dim=6)
    with pytest.raises(PipelineError, match="glove_dim must be one of 50, 100, 200, 300, "
                                            "got 64"):
        TrainModel(model="glove", glove_dim=64)
    with pytest.raises(PipelineError, match="embedding_dim is not a parameter of model 'glove'"):
        TrainModel(model="glove", embedding_dim=64)
    with pytest.raises(PipelineError, match="unknown model 'gloves'"):
        RunAll(model="gloves")
    # a 50-dimensional file given for glove_dim 100: DownloadVectors fails, nothing trains
    text, _ = vectors_text(KNOWN, 50)
    fifty = tmp_path / "glove.6B.50d.txt"
    fifty.write_text(text)
    with configured("DownloadVectors", url=str(fifty)):
        result = build([RunAll(model="glove", glove_dim=100, epochs=1, **SMALL)])
    assert not result.scheduling_succeeded
    assert "TrainModel" not in ran_families(result)
    assert output_folders(data_dir, "DownloadVectors") == []
    assert output_folders(data_dir, "TrainModel") == []


@pytest.fixture
def tiny_vectors(tmp_path):
    text, table = vectors_text(KNOWN, 50)
    path = tmp_path / "glove.6B.50d.txt"
    path.write_text(text)
    with configured("DownloadVectors", url=str(path)):
        yield path, table


def test_glove_runs_through_the_chain_with_coverage(data_dir, tiny_vectors):
    import keras

    _, table = tiny_vectors
    run = RunAll(model="glove", epochs=2, **SMALL)
    result = build([run])
    assert result.scheduling_succeeded, result.summary_text
    folder = only_folder(data_dir, "DownloadVectors")
    assert folder.name == "glove.6B.50d"
    vocabulary = read_json(only_folder(data_dir, "Encode") / "vocabulary.json")["words"]
    expected = sum(word in KNOWN for word in vocabulary) / len(vocabulary)
    training = read_json(TrainModel(model="glove", epochs=2, **SMALL).output()["training"].path)
    metrics = read_json(EvaluateTest(model="glove", epochs=2, **SMALL).output()["metrics"].path)
    assert training["vocabulary_coverage"] == pytest.approx(expected, abs=1e-4)
    assert metrics["vocabulary_coverage"] == training["vocabulary_coverage"]
    # the saved model's embedding is GloVe's, row by vocabulary rank, and stayed frozen
    model = keras.models.load_model(EvaluateTest(model="glove", epochs=2, **SMALL)
                                    .output()["model"].path)
    weights = model.get_layer("embedding").get_weights()[0]
    for rank, word in enumerate(vocabulary):
        row = table[KNOWN.index(word)] if word in KNOWN else np.zeros(50)
        np.testing.assert_allclose(weights[rank + 4], row, rtol=1e-6)
    # the vectors are source data: deleting them does not make the run incomplete
    assert run.complete()
    shutil.rmtree(folder)
    assert run.complete()
