"""The numpy forward pass that scores new documents without TensorFlow
(pipeline/ml/inference.py)."""
import numpy as np
import pytest

from pipeline.errors import PipelineError
from pipeline.features.multihot import multi_hot
from pipeline.ml.inference import ACTIVATIONS, KerasScorer, NumpyMLP, export_weights, load_scorer
from pipeline.ml.training import predict
from pipeline.models.mlp import ACTIVATIONS as ACCEPTED
from pipeline.models.mlp import build_model


def random_rows(seed, rows, num_words, empty=()):
    """Multi-hot rows of random words; the rows listed in ``empty`` have no word."""
    rng = np.random.default_rng(seed)
    sequences = [[] if k in empty else rng.integers(0, num_words, size=int(rng.integers(1, 30)))
                 .tolist() for k in range(rows)]
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum([len(s) for s in sequences], out=offsets[1:])
    values = np.asarray([v for s in sequences for v in s], dtype=np.int32)
    return multi_hot(values, offsets, np.zeros(rows), num_words)


def test_every_accepted_activation_has_a_numpy_twin():
    assert set(ACCEPTED) <= set(ACTIVATIONS)
    # and the heads': sigmoid for two classes, softmax for more
    assert {"sigmoid", "softmax"} <= set(ACTIVATIONS)


@pytest.mark.parametrize("activation", ACCEPTED)
def test_numpy_forward_pass_gives_keras_probabilities(activation):
    import keras

    keras.utils.set_random_seed(7)
    model = build_model(num_words=50, layers=3, units=6, activation=activation, dropout=0.3)
    # larger weights than the initializer's, so activations see negative and large inputs
    model.set_weights([w * 3 for w in model.get_weights()])
    data = random_rows(1, 70, 50, empty=(0, 33, 69))
    expected = predict(model, data)
    mlp = NumpyMLP(export_weights(model))
    assert mlp.num_inputs == 50
    got = mlp.predict(data, batch_size=16)  # several batches, empty rows at their edges
    assert got.shape == (70,)  # the sigmoid head's raw output: P(positive)
    assert expected.shape == (70, 2)
    np.testing.assert_allclose(got, expected[:, 1], rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(got, model.predict(data.batches(16), verbose=0).reshape(-1),
                               rtol=2e-5, atol=2e-6)


def test_weights_survive_the_npz_round_trip(tmp_path):
    from pipeline.io.storage import load_arrays, save_arrays

    model = build_model(num_words=40, units=4)
    save_arrays(tmp_path / "weights.npz", **export_weights(model))
    data = random_rows(2, 9, 40)
    loaded = NumpyMLP.load(tmp_path / "weights.npz")
    np.testing.assert_allclose(loaded.predict(data), predict(model, data)[:, 1],
                               rtol=2e-5, atol=2e-6)
    assert loaded.predict(random_rows(3, 0, 40)).shape == (0,)
    assert NumpyMLP(load_arrays(tmp_path / "weights.npz")).num_outputs == 1


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_softmax_head_gives_keras_probabilities(activation):
    """A 3-class build_model: Dense(3, softmax) reproduced by numpy, rows of (n, 3)."""
    import keras

    keras.utils.set_random_seed(11)
    model = build_model(num_words=50, num_classes=3, layers=2, units=6, activation=activation)
    model.set_weights([w * 3 for w in model.get_weights()])
    data = random_rows(4, 45, 50, empty=(0, 16, 44))
    arrays = export_weights(model)
    assert arrays["activations"].tolist() == [activation, activation, "softmax"]
    mlp = NumpyMLP(arrays)
    assert mlp.num_inputs == 50 and mlp.num_outputs == 3
    got = mlp.predict(data, batch_size=16)
    assert got.shape == (45, 3)
    keras_outputs = model.predict(data.batches(16), verbose=0)
    assert keras_outputs.shape == (45, 3)
    np.testing.assert_allclose(got, keras_outputs, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(got, predict(model, data, 3), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-12)
    assert mlp.predict(random_rows(5, 0, 50)).shape == (0, 3)


def test_numpy_softmax_is_stable_for_large_inputs():
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -1000.0]])
    got = ACTIVATIONS["softmax"](x)
    e = np.exp([-1.0, 0.0, -2.0])
    np.testing.assert_allclose(got[0], e / e.sum())
    np.testing.assert_allclose(got[1], [1 / 3] * 3)


def test_unknown_or_missing_activations_are_refused():
    with pytest.raises(PipelineError, match="unsupported or missing activations"):
        NumpyMLP({"kernel_0": np.zeros((2, 1)), "bias_0": np.zeros(1),
                  "activations": np.asarray(["mish"])})
    with pytest.raises(PipelineError, match="unsupported or missing activations"):
        NumpyMLP({"activations": np.asarray([], dtype=str)})


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")  # never fitted
def test_load_scorer_numpy_twin_or_keras(tmp_path):
    """load_scorer: the numpy twin when weights.npz exists, else the saved Keras model;
    both give the model's raw outputs."""
    import keras

    from pipeline.io.storage import save_arrays

    keras.utils.set_random_seed(3)
    for num_classes in (2, 3):
        folder = tmp_path / str(num_classes)
        folder.mkdir()
        model = build_model(num_words=40, num_classes=num_classes, units=4)
        model.save(folder / "model.keras")
        data = random_rows(6, 20, 40, empty=(7,))
        keras_scorer = load_scorer(folder / "weights.npz", folder / "model.keras")
        assert isinstance(keras_scorer, KerasScorer)
        from_keras = keras_scorer.predict(data)
        save_arrays(folder / "weights.npz", **export_weights(model))
        numpy_scorer = load_scorer(folder / "weights.npz", folder / "model.keras")
        assert isinstance(numpy_scorer, NumpyMLP)
        from_numpy = numpy_scorer.predict(data)
        expected = predict(model, data, num_classes)
        if num_classes == 2:
            assert from_numpy.shape == (20,) and from_keras.shape == (20, 1)
            expected = expected[:, 1]
        else:
            assert from_numpy.shape == from_keras.shape == (20, 3)
        np.testing.assert_allclose(from_numpy, expected, rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(np.asarray(from_keras).reshape(expected.shape), expected,
                                   rtol=2e-5, atol=2e-6)


def test_a_layer_it_cannot_reproduce_is_refused():
    import keras

    inputs = keras.Input(shape=(8,))
    outputs = keras.layers.Dense(1)(keras.layers.BatchNormalization()(inputs))
    with pytest.raises(ValueError, match="BatchNormalization is not supported"):
        export_weights(keras.Model(inputs, outputs))
