"""The book's model and its variants (pipeline/models/mlp.py): the checks of its
parameters, the sparse model against the book's dense one, the fast first layer, the
portable twin, the softmax head, and the plug-in's hooks."""
import numpy as np
import pandas as pd
import pytest
from small_fits import BOOK, CLASSES3, train_once, train_three_classes

from pipeline import models
from pipeline.errors import PipelineError
from pipeline.ml.training import OPTIMIZERS, fit, predict
from pipeline.models import MLP, check_sizes, mlp
from pipeline.models.mlp import (
    BOOK_MODEL,
    build_model,
    check_model_params,
    portable_model,
    units_per_layer,
)


@pytest.fixture(scope="module")
def trained():
    """One small fit with the defaults of ``train_once``, shared by several tests."""
    return train_once()


@pytest.fixture(scope="module")
def trained_three_classes():
    return train_three_classes()


# ------------------------------------------------------------------------- parameters

@pytest.mark.parametrize("name, bad, message", [
    ("num_words", 0, "num_words must be a positive integer, got 0"),
    ("layers", 0, "layers must be an integer from 1 to 64, got 0 (the book uses 1 to 3 "
                  "layers of 16 to 64 units)"),
    ("units", -1, "units must be an integer, or one per layer (64,4), from 1 to 65,536, "
                  "got -1"),
    ("activation", "nope", "unknown activation 'nope'; choose one of relu, tanh"),
    ("optimizer", "sgdd", "unknown optimizer 'sgdd'; choose one of rmsprop"),
    ("loss", "crossentropy", "unknown loss 'crossentropy'; choose one of auto"),
    ("dropout", 1.0, "dropout must be a finite number >= 0 and < 1, got 1.0"),
    ("dropout", -0.1, "dropout must be a finite number >= 0 and < 1, got -0.1"),
    ("l1", -1.0, "l1 must be a finite number >= 0, got -1.0"),
    ("l2", float("nan"), "l2 must be a finite number >= 0, got nan"),
    ("learning_rate", 0.0, "learning_rate must be a finite number > 0, got 0.0"),
])
def test_check_model_params_names_the_parameter(name, bad, message):
    check_model_params(num_words=100, **BOOK)  # the book's model is valid
    params = dict(BOOK, num_words=100)
    params[name] = bad
    with pytest.raises(PipelineError) as error:
        check_model_params(**params)
    assert str(error.value).startswith(message)


def test_check_model_params_refuses_an_unknown_name_and_reads_text():
    with pytest.raises(PipelineError, match="unknown model parameter 'unitz'"):
        check_model_params(unitz=3)
    checked = check_model_params(units="64, 4", layers="2", dropout="0.5")
    assert checked["units"] == (64, 4) and checked["layers"] == 2 and checked["dropout"] == 0.5


def test_units_per_layer_and_the_bottleneck():
    assert units_per_layer(16, 3) == [16, 16, 16]
    assert units_per_layer((64, 4), 2) == [64, 4]
    model = build_model(num_words=30, units=(12, 4))
    assert [layer.units for layer in model.layers if "hidden" in layer.name] == [12, 4]
    with pytest.raises(PipelineError) as error:
        check_model_params(units=(64, 4), layers=3)
    assert str(error.value) == ("units gives 2 layer sizes (64,4) for 3 hidden layers: give "
                                "one number, or one per layer")
    with pytest.raises(PipelineError, match="units gives 2 layer sizes"):
        MLP().check(dict(BOOK, units=(64, 4), layers=3), 2)


def test_book_model_and_the_auto_loss():
    assert BOOK_MODEL["loss"] == "auto"
    assert dict(BOOK_MODEL, loss="binary_crossentropy") == \
        dict(BOOK, num_words=10000, regularize="all")
    assert "rmsprop" in OPTIMIZERS and BOOK_MODEL["optimizer"] in OPTIMIZERS
    check_model_params()  # the book's model, with loss auto, is valid
    # a loss must fit the number of classes
    check_model_params(num_classes=3, loss="auto")
    check_model_params(num_classes=3, loss="sparse_categorical_crossentropy")
    with pytest.raises(PipelineError, match="loss 'binary_crossentropy' for 3 classes"):
        check_model_params(num_classes=3, loss="binary_crossentropy")
    with pytest.raises(PipelineError, match="loss 'sparse_categorical_crossentropy' for two"):
        check_model_params(loss="sparse_categorical_crossentropy")
    # the plug-in's check says the same
    with pytest.raises(PipelineError, match="loss 'binary_crossentropy' for 3 classes"):
        models.get("mlp").check(dict(BOOK), 3)


def test_describe():
    params = {key: BOOK_MODEL[key] for key in ("layers", "units", "activation", "optimizer",
                                              "learning_rate")}
    assert mlp.describe(params) == "mlp 2x16 relu, rmsprop lr 0.001"
    assert mlp.describe(dict(params, layers=3, units=8, activation="tanh", optimizer="adam",
                             learning_rate=0.01)) == "mlp 3x8 tanh, adam lr 0.01"
    assert models.get("mlp").describe(dict(params, units=(64, 4))) == \
        "mlp 64-4 relu, rmsprop lr 0.001"


def test_sizes_count_the_weights_and_refuse_a_model_too_large():
    plugin = models.get("mlp")
    params = dict(BOOK, batch_size=512)
    # the book's model: 10000*16+16 + 16*16+16 + 16+1 weights
    assert plugin.sizes(params, 10000, 2) == (160_305, 512 * 16)
    assert plugin.sizes(dict(params, units=(64, 4), layers=2), 10000, 46)[0] == \
        10000 * 64 + 64 + 64 * 4 + 4 + 4 * 46 + 46
    check_sizes(plugin, params, 10000, 2)
    with pytest.raises(PipelineError, match="model 'mlp' would have 1,600,000,305 weights"):
        check_sizes(plugin, dict(params, units=16), 100_000_000, 2)


# -------------------------------------------------------------------------- the model

def test_sparse_model_equals_the_books_dense_model(trained):
    import keras

    model, _, train, validation = trained
    num_words = train.num_words
    dense = keras.Sequential([
        keras.Input(shape=(num_words,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    dense.set_weights(model.get_weights())
    for data in (train, validation):
        expected = dense.predict(data.to_dense(), verbose=0).reshape(-1)
        probabilities = predict(model, data)
        assert probabilities.shape == (data.rows, 2)  # columns: negative, positive
        np.testing.assert_allclose(probabilities[:, 1], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(probabilities[:, 0], 1 - expected, rtol=1e-5, atol=1e-6)


def test_fast_first_layer_trains_like_keras_own_sparse_path(trained):
    fast_model, fast_history, _, _ = trained
    assert type(fast_model.get_layer("hidden_1")).__name__ == "SparseDense"
    plain_model, plain_history, _, _ = train_once(fast=False)
    assert type(plain_model.get_layer("hidden_1")).__name__ == "Dense"
    # the same arithmetic summed in another order: equal to float32 rounding
    pd.testing.assert_frame_equal(fast_history, plain_history, rtol=1e-4, atol=1e-5)
    for wa, wb in zip(fast_model.get_weights(), plain_model.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-3, atol=1e-5)


def test_portable_model_loads_in_plain_keras_and_goes_on_training(trained, tmp_path):
    import keras

    model, _, train, validation = trained
    twin = portable_model(model, num_words=train.num_words, **dict(BOOK, units=8))
    twin.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert [type(layer) for layer in loaded.layers[1:]] == [keras.layers.Dense] * 3
    np.testing.assert_allclose(predict(loaded, validation), predict(model, validation),
                               rtol=1e-5, atol=1e-6)
    assert predict(loaded, validation).shape == (validation.rows, 2)
    # the optimizer state came along: step count and RMSprop accumulators
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for mine, theirs in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    steps = int(loaded.optimizer.iterations.numpy())
    assert steps == 3 * 6
    fit(loaded, train, epochs=1, batch_size=16, seed=0, verbose=0)
    assert int(loaded.optimizer.iterations.numpy()) == steps + 6


def test_the_plug_in_builds_the_fast_model_and_its_portable_twin(trained):
    """MLP.build(fast=True) is build_model(fast=True); MLP.portable is portable_model;
    MLP.export gives the twin's Dense layers."""
    model, _, train, validation = trained
    plugin = models.get("mlp")
    params = dict(BOOK, units=8, regularize="all")
    built = plugin.build(params, train.num_words, 2, fast=True, extra={})
    assert type(built.get_layer("hidden_1")).__name__ == "SparseDense"
    assert [layer.units for layer in built.layers[1:]] == [8, 8, 1]
    twin = plugin.portable(model, params, train.num_words, 2, {})
    assert type(twin.get_layer("hidden_1")).__name__ == "Dense"
    np.testing.assert_allclose(predict(twin, validation), predict(model, validation),
                               rtol=1e-5, atol=1e-6)
    arrays = plugin.export(twin)
    assert arrays["activations"].tolist() == ["relu", "relu", "sigmoid"]
    np.testing.assert_array_equal(arrays["kernel_0"], twin.get_weights()[0])


@pytest.mark.slow
def test_model_variants_build_and_train():
    import keras

    model, history, _, _ = train_once(epochs=1, layers=3, dropout=0.25, l2=0.01,
                                      optimizer="adam", activation="tanh")
    assert [layer.name for layer in model.layers if "hidden" in layer.name] == \
        ["hidden_1", "hidden_2", "hidden_3"]
    assert any("dropout" in layer.name for layer in model.layers)
    assert type(model.optimizer) is keras.optimizers.Adam  # its name depends on what ran before
    assert len(history) == 1


def test_regularize_first_penalises_the_first_hidden_layer_only():
    model = build_model(num_words=30, units=4, layers=3, l2=0.01, regularize="first")
    penalised = [layer.kernel_regularizer is not None
                 for layer in model.layers if "hidden" in layer.name]
    assert penalised == [True, False, False]
    everywhere = build_model(num_words=30, units=4, layers=3, l2=0.01)
    assert all(layer.kernel_regularizer is not None
               for layer in everywhere.layers if "hidden" in layer.name)


# ------------------------------------------------------------------------ three classes

def test_multiclass_model_has_a_softmax_head():
    model = build_model(num_words=30, num_classes=3, units=8)
    head = model.layers[-1]
    assert head.units == 3 and head.get_config()["activation"] == "softmax"
    assert model.loss == "sparse_categorical_crossentropy"
    binary = build_model(num_words=30, units=8)
    assert binary.layers[-1].units == 1 and binary.loss == "binary_crossentropy"


def test_portable_three_class_model_predicts_the_same(trained_three_classes, tmp_path):
    import keras

    model, _, train, test = trained_three_classes
    assert type(model.get_layer("hidden_1")).__name__ == "SparseDense"
    twin = portable_model(model, num_classes=3, num_words=30, units=8, learning_rate=0.01)
    twin.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(predict(loaded, test, 3), predict(model, test, 3),
                               rtol=1e-5, atol=1e-6)
    assert predict(loaded, test, 3).shape == (test.rows, len(CLASSES3))
