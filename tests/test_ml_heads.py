"""The classifier's output from the class count (pipeline/ml/heads.py): loss, label dtype
and probabilities, and more than two classes through the whole chain with every model
(a three-class dataset plugged into the registry, tests/three_colours.py), evaluated and
predicted by class name."""
import csv

import numpy as np
import pytest
from conftest import build, pipeline_config
from three_colours import ThreeColours

from pipeline import EvaluateTest, PipelineError, Predict, RunAll, TrainModel, datasets
from pipeline.io.storage import load_arrays, read_json
from pipeline.ml import heads

CLASSES = ["red", "green", "blue"]
BASE = dict(dataset="three_colours", num_words=30, validation_size=15, epochs=12,
            batch_size=8, learning_rate=0.01)
MODELS = {"mlp": dict(units=8), "embedding": dict(model="embedding", maxlen=12,
                                                  embedding_dim=8),
          # no text in this dataset: n-grams of Encode's indices, one-vs-rest NB ratios
          "nbsvm": dict(model="nbsvm", min_df=1)}


# ------------------------------------------------------------------------- the head

def test_loss_for_the_class_count():
    assert heads.loss_for("auto", 2) == "binary_crossentropy"
    assert heads.loss_for("auto", 3) == "sparse_categorical_crossentropy"
    assert heads.loss_for("mse", 2) == "mse"
    assert heads.loss_for("sparse_categorical_crossentropy", 46) == \
        "sparse_categorical_crossentropy"
    with pytest.raises(PipelineError) as error:
        heads.loss_for("binary_crossentropy", 3)
    assert str(error.value) == ("unknown loss 'binary_crossentropy' for 3 classes; choose one "
                                "of auto, sparse_categorical_crossentropy")
    with pytest.raises(PipelineError, match="unknown loss 'sparse_categorical_crossentropy' "
                                            "for two classes; choose one of auto, "
                                            "binary_crossentropy"):
        heads.loss_for("sparse_categorical_crossentropy", 2)
    assert heads.label_dtype(2) == "float32" and heads.label_dtype(4) == "int32"


def test_heads_probabilities():
    np.testing.assert_allclose(heads.probabilities([[0.25], [1.0]], 2),
                               [[0.75, 0.25], [0.0, 1.0]])
    np.testing.assert_allclose(heads.probabilities(np.array([0.1, 0.6]), 2),
                               [[0.9, 0.1], [0.4, 0.6]])
    outputs = np.array([[0.2, 0.3, 0.5]], dtype=np.float32)
    got = heads.probabilities(outputs, 3)
    assert got.shape == (1, 3) and got.dtype == np.float64
    np.testing.assert_allclose(got, outputs)


def test_output_layer_and_compiled():
    import keras

    binary, multi = heads.output_layer(2), heads.output_layer(5)
    assert (binary.units, binary.get_config()["activation"]) == (1, "sigmoid")
    assert (multi.units, multi.get_config()["activation"]) == (5, "softmax")
    inputs = keras.Input(shape=(4,))
    model = heads.compiled(keras.Model(inputs, heads.output_layer(5)(inputs)),
                           {"optimizer": "adamax", "learning_rate": 0.01, "loss": "auto"}, 5)
    assert model.loss == "sparse_categorical_crossentropy"
    assert type(model.optimizer) is keras.optimizers.Adamax
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.01)


# ---------------------------------------------------- three classes through the chain

@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    datasets.REGISTRY.register(ThreeColours)
    root = tmp_path_factory.mktemp("multiclass")
    try:
        with pipeline_config(root / "data", "") as data:
            tasks = [RunAll(**BASE, **params) for params in MODELS.values()]
            result = build(tasks)
            yield {"data": data, "result": result, "root": root}
    finally:
        datasets.REGISTRY.remove("three_colours")


@pytest.mark.slow
def test_every_model_runs_through_the_chain(runs):
    assert runs["result"].status.name == "SUCCESS", runs["result"].summary_text
    vocabulary = read_json(next((runs["data"] / "Encode").glob("*/vocabulary.json")))
    assert vocabulary["class_names"] == CLASSES
    assert len(list((runs["data"] / "RunAll").glob("*/summary.json"))) == len(MODELS)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_softmax_head_metrics_and_predictions_by_class_name(runs, name):
    import keras

    params = dict(BASE, **MODELS[name])
    evaluate = EvaluateTest(**params)
    model = keras.models.load_model(evaluate.output_dir / "model.keras")
    assert model.layers[-1].units == 3
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert model.loss == "sparse_categorical_crossentropy"

    metrics = read_json(evaluate.output_dir / "metrics.json")
    assert list(metrics["per_class"]) == CLASSES
    assert [c["support"] for c in metrics["per_class"].values()] == [10, 10, 10]
    assert metrics["confusion_matrix"]["labels"] == CLASSES
    matrix = np.asarray(metrics["confusion_matrix"]["rows_true_columns_predicted"])
    assert matrix.shape == (3, 3) and matrix.sum() == 30
    assert metrics["accuracy"] == pytest.approx(np.trace(matrix) / 30)
    assert metrics["accuracy"] > 0.8  # the colours are easy to tell apart
    for key in ("macro_f1", "weighted_f1"):
        assert 0 < metrics[key] <= 1
    assert "roc_auc" not in metrics  # a two-class figure

    saved = load_arrays(evaluate.output_dir / "predictions.npz")
    assert saved["probabilities"].shape == (30, 3)
    np.testing.assert_allclose(saved["probabilities"].sum(axis=1), 1, atol=1e-5)
    assert saved["class_names"].tolist() == CLASSES
    history = read_json(TrainModel(**params).output_dir / "training.json")
    assert history["training_documents"] == 90 - 15


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_predict_names_the_classes(runs, tmp_path, name):
    source = tmp_path / "new.txt"
    # shaped like the training documents (4 colour words, 6 filler): the embedding model
    # flattens word positions, so it knows documents of that length best
    source.write_text("ruby the cherry a blood it brick was and of\n"
                      "of sky and sea was navy it ice a the\n\n")
    params = dict(BASE, **MODELS[name])
    with pipeline_config(runs["data"], ""):
        task = Predict(**params, input=str(source))
        assert build([task]).status.name == "SUCCESS"
    with open(task.output()["predictions"].path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "label", "probability", "top_3", "note"]
    assert [row["label"] for row in rows] == ["red", "blue", ""]
    # the three classes by probability, the label first
    for row in rows[:2]:
        ranked = row["top_3"].split(" · ")
        assert [entry.split()[0] for entry in ranked][0] == row["label"]
        assert sorted(entry.split()[0] for entry in ranked) == sorted(CLASSES)
        shares = [float(entry.split()[1]) for entry in ranked]
        assert shares == sorted(shares, reverse=True) and sum(shares) == pytest.approx(1, abs=1e-3)
    assert rows[2]["note"] == "empty text"
    assert all(float(row["probability"]) > 1 / 3 for row in rows[:2])


@pytest.mark.slow
def test_a_binary_loss_is_refused_for_three_classes(runs):
    with pytest.raises(PipelineError, match="unknown loss 'binary_crossentropy' for 3 "
                                            "classes"):
        RunAll(**BASE, loss="binary_crossentropy")
