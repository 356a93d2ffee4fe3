"""Keras's preprocessed Reuters (reuters.npz and its word index):
pipeline/datasets/keras_reuters.py, compared with Keras's own ``load_data`` on small
files in its format, and read by Encode with ``--dataset keras_reuters``."""
import random

import pytest
from conftest import build, configured, pipeline_config
from npz_files import write_reuters_npz

from pipeline import Encode, PipelineError
from pipeline.datasets import keras_reuters, reuters
from pipeline.io.storage import load_arrays, read_json


def test_load_splits_equals_keras_load_data(tmp_path, monkeypatch):
    from keras.src.datasets import reuters as keras_module

    rng = random.Random(1)
    sequences = [[rng.randint(1, 60) for _ in range(rng.randint(1, 15))] for _ in range(53)]
    labels = [rng.randrange(46) for _ in sequences]
    path = write_reuters_npz(tmp_path / "reuters.npz", sequences, labels)
    monkeypatch.setattr(keras_module, "get_file", lambda *args, **kw: str(path))
    for num_words in (None, 20):
        (x_train, y_train), (x_test, y_test) = keras_module.load_data(path=str(path),
                                                                      num_words=num_words)
        ours = keras_reuters.load_splits(path, num_words)
        for split, (x, y) in (("train", (x_train, y_train)), ("test", (x_test, y_test))):
            values, offsets, our_labels = ours[split]
            assert [values[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])] == \
                [list(s) for s in x]
            assert our_labels.tolist() == list(y)


def test_a_topic_number_outside_the_46_is_refused(tmp_path):
    path = write_reuters_npz(tmp_path / "reuters.npz", [[1, 2], [3]], [0, 46])
    with pytest.raises(PipelineError, match="y holds topic 46; topics are 0 to 45"):
        keras_reuters.load_splits(path)


def test_encode_gives_the_newswires_topics_and_word_index(tmp_path):
    path = write_reuters_npz(tmp_path / "reuters.npz", [[1, 2, 3], [2, 4], [5]] * 10,
                             [0, 3, 45] * 10)
    index = tmp_path / "reuters_word_index.json"
    index.write_text('{"the": 1, "of": 2, "to": 3, "said": 4, "mln": 5}')
    with pipeline_config(tmp_path / "data", str(path)), \
            configured("DownloadDataset", word_index_url=str(index)):
        task = Encode(dataset="keras_reuters", num_words=8)
        assert build([task]).status.name == "SUCCESS"
        vocabulary = read_json(task.output()["vocabulary"].path)
        arrays = load_arrays(task.output()["sequences"].path)
    assert vocabulary["class_names"] == list(reuters.CLASS_NAMES)
    assert vocabulary["words"] == ["the", "of", "to", "said"]
    assert arrays["train_offsets"].size - 1 == 24 and arrays["test_offsets"].size - 1 == 6
