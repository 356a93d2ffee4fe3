"""The numpy forward pass used to score new reviews: pipeline/inference.py."""
import numpy as np
import pytest

from pipeline.features import multi_hot
from pipeline.inference import ACTIVATIONS, NumpyMLP, export_weights
from pipeline.models import ACTIVATIONS as ACCEPTED
from pipeline.models import build_model
from pipeline.training import predict


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
    assert got.shape == (70,)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)


def test_weights_survive_the_npz_round_trip(tmp_path):
    from pipeline.storage import load_arrays, save_arrays

    model = build_model(num_words=40, units=4)
    save_arrays(tmp_path / "weights.npz", **export_weights(model))
    data = random_rows(2, 9, 40)
    loaded = NumpyMLP(load_arrays(tmp_path / "weights.npz"))
    np.testing.assert_allclose(loaded.predict(data), predict(model, data), rtol=2e-5, atol=2e-6)
    assert loaded.predict(random_rows(3, 0, 40)).shape == (0,)


def test_a_layer_it_cannot_reproduce_is_refused():
    import keras

    inputs = keras.Input(shape=(8,))
    outputs = keras.layers.Dense(1)(keras.layers.BatchNormalization()(inputs))
    with pytest.raises(ValueError, match="BatchNormalization is not supported"):
        export_weights(keras.Model(inputs, outputs))
