"""The learned-embedding models (pipeline/models/embedding.py and pooled.py): their
layers, sizes, defaults and descriptions, and the pooled model's masked padding."""
import numpy as np
import pytest

from pipeline import TrainModel, models
from pipeline.errors import PipelineError
from pipeline.models import check_sizes


def params(**overrides):
    return dict({"maxlen": 8, "padding": "pre", "truncating": "pre", "optimizer": "rmsprop",
                 "learning_rate": 0.01, "loss": "auto", "epochs": 3, "batch_size": 8,
                 "embedding_dim": 5}, **overrides)


def test_pooled_model_masks_the_padding():
    """With the padding masked, where the padding sits does not change the output."""
    from pipeline.ml.training import seed_everything

    seed_everything(0)
    model = models.get("pooled").build(params(), 12, 2, fast=True, extra={})
    words = np.array([[5, 6, 7]], dtype=np.int32)
    front = np.concatenate([np.zeros((1, 5), np.int32), words], axis=1)
    back = np.concatenate([words, np.zeros((1, 5), np.int32)], axis=1)
    a, b = model.predict(front, verbose=0), model.predict(back, verbose=0)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert model.count_params() == 12 * 5 + 5 + 1


def test_embedding_model_flattens_the_sequence_into_the_head():
    from pipeline.ml.training import seed_everything

    seed_everything(0)
    model = models.get("embedding").build(params(), 12, 2, fast=True, extra={})
    assert [layer.name for layer in model.layers] == ["indices", "embedding", "flatten",
                                                      "positive"]
    assert model.count_params() == 12 * 5 + 8 * 5 + 1
    assert model.loss == "binary_crossentropy"
    multi = models.get("embedding").build(params(), 12, 4, fast=True, extra={})
    assert multi.layers[-1].units == 4 and multi.loss == "sparse_categorical_crossentropy"
    # where the padding sits matters here: nothing is masked
    words = np.array([[5, 6, 7]], dtype=np.int32)
    front = np.concatenate([np.zeros((1, 5), np.int32), words], axis=1)
    back = np.concatenate([words, np.zeros((1, 5), np.int32)], axis=1)
    assert not np.allclose(model.predict(front, verbose=0), model.predict(back, verbose=0))


def test_sizes_are_the_weights_and_the_largest_batch():
    plugin = models.get("embedding")
    assert plugin.sizes(params(), 12, 2) == (12 * 5 + 8 * 5 + 1, 8 * 8 * 5)
    assert plugin.sizes(params(), 12, 3) == (12 * 5 + 8 * 5 * 3 + 3, 8 * 8 * 5)
    with pytest.raises(PipelineError, match="model 'embedding': one batch would hold "
                                            "200,000,000 activation values"):
        check_sizes(plugin, params(maxlen=1000, embedding_dim=100, batch_size=2000), 12, 2)


def test_the_sequence_models_train_the_notebook_s_epochs_and_batches():
    for name in ("embedding", "pooled", "glove"):
        assert dict(models.get(name).defaults) == {"epochs": 10, "batch_size": 32}
        assert models.get(name).representation == "sequences"
    assert (TrainModel(model="embedding").epochs, TrainModel(model="embedding").batch_size) \
        == (10, 32)


def test_describe():
    assert models.get("embedding").describe(params()) == \
        "embedding 5d on 8 words, rmsprop lr 0.01"
    assert models.get("pooled").describe(params(embedding_dim=16, optimizer="adam")) == \
        "pooled embedding 16d (masked average) on 8 words, adam lr 0.01"


def test_embedding_dim_is_checked():
    with pytest.raises(PipelineError) as error:
        TrainModel(model="pooled", embedding_dim=0)
    assert str(error.value) == "embedding_dim must be an integer from 1 to 4,096, got 0"
    with pytest.raises(PipelineError, match="embedding_dim is not a parameter of model 'mlp'"):
        TrainModel(model="mlp", embedding_dim=8)
