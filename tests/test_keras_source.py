"""--dataset keras_imdb (old spelling: --source keras) through the whole pipeline, on
small files in Keras's exact format.

No real imdb.npz exists on these machines: the files are written here with numpy the
way Keras's is (object arrays of lists of word ranks, int labels), and the results are
compared with load_data's semantics (checked against Keras itself in test_keras_imdb).
"""
import json

import numpy as np
import pytest
from luigi.configuration import get_config

from conftest import build, output_folders, ran_families
from pipeline import (DownloadDataset, Encode, EvaluateTest, Featurize, PipelineError, RunAll,
                      SplitValidation, TrainModel)
from pipeline.datasets.keras_imdb import fetch, load_data, vocabulary_from_word_index
from pipeline.features.multihot import MultiHot
from pipeline.params import download_folder
from pipeline.storage import load_arrays, read_json
from test_keras_imdb import write_npz

WORDS = [f"w{rank}" for rank in range(1, 61)]
SMALL = dict(dataset="keras_imdb", num_words=30, validation_size=10, epochs=2, batch_size=8,
             units=4)


@pytest.fixture
def keras_files(tmp_path):
    rng = np.random.default_rng(7)

    def reviews(count):
        return [[int(r) for r in rng.integers(1, 61, rng.integers(1, 25))]
                for _ in range(count)]

    npz = write_npz(tmp_path / "imdb.npz", {
        "x_train": reviews(40), "y_train": rng.integers(0, 2, 40),
        "x_test": reviews(20), "y_test": rng.integers(0, 2, 20)})
    index = tmp_path / "imdb_word_index.json"
    index.write_text(json.dumps({word: rank for rank, word in enumerate(WORDS, start=1)}))
    return npz, index


@pytest.fixture
def keras_config(data_dir, keras_files):
    config = get_config()
    npz, index = keras_files
    config.set("DownloadDataset", "url", str(npz))
    config.set("DownloadDataset", "word_index_url", str(index))
    yield data_dir
    config.remove_option("DownloadDataset", "word_index_url")


def test_keras_dataset_runs_the_whole_chain(keras_config, keras_files):
    result = build([RunAll(**SMALL)])
    assert result.status.name == "SUCCESS", result.summary_text
    download = keras_config / "DownloadDataset" / "keras_imdb"
    assert (download / "imdb.npz").read_bytes() == keras_files[0].read_bytes()
    assert (download / "imdb_word_index.json").exists()
    assert read_json(download / "manifest.json")["documents"] == {"train": 40, "test": 20}

    encode = Encode(dataset="keras_imdb", num_words=30)
    sequences = load_arrays(encode.output()["sequences"].path)
    featurize = Featurize(dataset="keras_imdb", num_words=30)
    features = load_arrays(featurize.output()["features"].path)
    (x_train, y_train), (x_test, y_test) = load_data(keras_files[0], num_words=30)
    for split, rows, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        offsets = sequences[f"{split}_offsets"]
        values = sequences[f"{split}_values"]
        assert [list(values[a:b]) for a, b in zip(offsets[:-1], offsets[1:])] == rows
        np.testing.assert_array_equal(sequences[f"{split}_labels"], labels)
        assert sequences[f"{split}_names"].tolist() == [f"{split}-{i}" for i in range(len(rows))]
        np.testing.assert_array_equal(features[f"{split}_labels"], labels)
        dense = MultiHot.from_arrays(features, split, 30).to_dense()
        expected = np.zeros((len(rows), 30))
        for i, row in enumerate(rows):          # the book's vectorize_sequences
            expected[i, row] = 1.0
        np.testing.assert_array_equal(dense, expected)
    vocabulary = read_json(encode.output()["vocabulary"].path)
    index = json.loads(keras_files[1].read_text())
    assert vocabulary["words"] == vocabulary_from_word_index(index, 30)
    assert vocabulary["dataset"] == "keras_imdb"
    assert vocabulary["class_names"] == ["negative", "positive"]
    # the split holds row numbers only, into the encoded training documents
    split = load_arrays(SplitValidation(**{k: SMALL[k] for k in
                                           ("dataset", "num_words", "validation_size")})
                        .output()["split"].path)
    assert set(split) == {"train_rows", "val_rows"}
    assert len(split["val_rows"]) == 10
    assert sorted(np.concatenate([split["train_rows"], split["val_rows"]]).tolist()) == \
        list(range(40))
    training = read_json(TrainModel(**SMALL).output()["training"].path)
    assert (training["training_documents"], training["validation_documents"]) == (30, 10)
    metrics = read_json(EvaluateTest(**SMALL).output()["metrics"].path)
    assert metrics["training_documents"] == 40 and metrics["count"] == 20
    assert list(metrics["per_class"]) == ["negative", "positive"]
    predictions = load_arrays(EvaluateTest(**SMALL).output()["predictions"].path)
    assert predictions["probabilities"].shape == (20, 2)
    np.testing.assert_allclose(predictions["probabilities"].sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(predictions["labels"], y_test)
    assert predictions["class_names"].tolist() == ["negative", "positive"]


def test_the_old_source_keras_is_the_same_configuration(keras_config):
    """--source keras still works: an alias of --dataset keras_imdb, the same outputs."""
    old = RunAll(**{k: v for k, v in SMALL.items() if k != "dataset"}, source="keras")
    assert old.dataset == "keras_imdb"
    assert old.task_id == RunAll(**SMALL).task_id
    assert Encode(source="keras", num_words=30).task_id == \
        Encode(dataset="keras_imdb", num_words=30).task_id
    assert DownloadDataset(source="keras").output_dir == \
        DownloadDataset(dataset="keras_imdb").output_dir
    assert DownloadDataset(source="keras").output_dir.name == "keras_imdb"
    with pytest.raises(PipelineError, match="contradicts dataset"):
        Encode(source="aclimdb", dataset="keras_imdb", num_words=30)
    with pytest.raises(PipelineError, match="contradicts dataset"):  # both given
        Encode(source="keras", dataset="aclimdb", num_words=30)


def test_datasets_do_not_share_outputs(keras_config):
    assert Encode(dataset="keras_imdb", num_words=30).task_id != \
        Encode(dataset="aclimdb", num_words=30).task_id
    assert DownloadDataset(dataset="keras_imdb").output_dir == \
        keras_config / "DownloadDataset" / "keras_imdb"
    assert download_folder("aclimdb") == keras_config / "DownloadDataset" / "aclimdb"


def test_unknown_source_or_dataset_fails_before_work(data_dir):
    with pytest.raises(PipelineError, match="unknown source 'imdb2'"):
        RunAll(source="imdb2")
    with pytest.raises(PipelineError, match="unknown dataset 'imdb2'"):
        RunAll(dataset="imdb2")
    assert not data_dir.exists()


def test_malicious_or_corrupt_npz_fails_cleanly(keras_config, keras_files):
    keras_files[0].write_bytes(b"PK\x03\x04 not really a zip")
    result = build([RunAll(**SMALL)])
    assert result.status.name == "FAILED"
    assert output_folders(keras_config, "DownloadDataset") == []
    assert ran_families(result) == []


def test_a_missing_keras_file_is_named_with_the_parameter_that_gives_it(keras_files, tmp_path):
    """Each missing file is called by its own name, with the option that points at it."""
    npz, index = keras_files
    folder = tmp_path / "fetched"
    folder.mkdir()
    with pytest.raises(PipelineError) as error:
        fetch(folder, url=str(tmp_path / "no.npz"), word_index_url=str(index))
    message = str(error.value)
    assert "no.npz" in message and "copy of imdb.npz" in message
    assert "--DownloadDataset-url /path/to/imdb.npz" in message
    assert "aclImdb" not in message

    with pytest.raises(PipelineError) as error:
        fetch(folder, url=str(npz), word_index_url=str(tmp_path / "no.json"))
    message = str(error.value)
    assert "copy of imdb_word_index.json" in message
    assert "--DownloadDataset-word-index-url /path/to/imdb_word_index.json" in message
    assert "word_index_url = " in message
