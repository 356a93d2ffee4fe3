"""Keras's preprocessed IMDB read safely: pipeline/datasets/keras_imdb.py.

Small files are written in exactly the format of Keras's imdb.npz (object arrays of
lists of ints, pickled inside .npy members) and results are compared with Keras's
own ``keras.datasets.imdb.load_data`` on the same file; the whole chain then runs on
them with ``--dataset keras_imdb``. The unpickler the reader uses, and the files it
refuses for their pickles or their zip: test_io_safe_npz.py.
"""
import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, build, configured, output_folders, ran_families
from npz_files import (
    assert_refused,
    imdb_content,
    members_with,
    object_array,
    object_npy,
    py2_object_array_pickle,
    random_reviews,
    write_members,
    write_npz,
)

from pipeline import (
    DownloadDataset,
    Encode,
    EvaluateTest,
    Featurize,
    PipelineError,
    RunAll,
    SplitValidation,
    TrainModel,
    datasets,
)
from pipeline.datasets import keras_imdb
from pipeline.datasets.keras_imdb import (
    KerasImdb,
    load_data,
    load_splits,
    md5_of,
    read_npz_safely,
    read_word_index,
    vocabulary_from_word_index,
)
from pipeline.features.multihot import MultiHot, multi_hot
from pipeline.io.storage import load_arrays, read_json
from pipeline.ml.text import Encoded, Split, decode_sequence
from pipeline.tasks.base import download_folder

PLUGIN = KerasImdb()


# ------------------------------------------------------------------------ Keras itself

@pytest.fixture(scope="module")
def keras_imdb_module():
    pytest.importorskip("keras")
    from keras.src.datasets import imdb

    return imdb


def keras_load(module, path, monkeypatch, **kwargs):
    """Keras's load_data on a local file: its get_file (which would download, and no
    longer accepts paths) is replaced by one returning the path."""
    monkeypatch.setattr(module, "get_file", lambda *args, **kw: str(path))
    (x_train, y_train), (x_test, y_test) = module.load_data(path=str(path), **kwargs)
    return (x_train.tolist(), y_train), (x_test.tolist(), y_test)


def assert_same(ours, theirs):
    for (x_ours, y_ours), (x_theirs, y_theirs) in zip(ours, theirs):
        assert x_ours == x_theirs
        assert all(type(w) is int for row in x_ours for w in row)
        np.testing.assert_array_equal(y_ours, y_theirs)
        assert y_ours.dtype == y_theirs.dtype


@pytest.fixture
def small_npz(tmp_path):
    data = imdb_content()
    return write_npz(tmp_path / "imdb.npz", data), data


NUM_WORDS = [None, 0, 1, 2, 4, 5, 10, 30, 62, 63, 64, 10_000]


class TestMatchesKeras:
    @pytest.mark.parametrize("num_words", NUM_WORDS)
    def test_load_data_identical(self, keras_imdb_module, small_npz, monkeypatch, num_words):
        path, _ = small_npz
        assert_same(load_data(path, num_words=num_words),
                    keras_load(keras_imdb_module, path, monkeypatch, num_words=num_words))

    @pytest.mark.parametrize("seed", [0, 7, 2**31])
    def test_other_seeds(self, keras_imdb_module, small_npz, monkeypatch, seed):
        path, _ = small_npz
        assert_same(load_data(path, num_words=20, seed=seed),
                    keras_load(keras_imdb_module, path, monkeypatch, num_words=20, seed=seed))

    def test_default_seed_is_113(self, small_npz):
        path, _ = small_npz
        assert load_data(path, 20)[0][0] == load_data(path, 20, seed=113)[0][0]
        assert load_data(path, 20)[0][0] != load_data(path, 20, seed=114)[0][0]

    def test_equal_length_reviews(self, keras_imdb_module, tmp_path, monkeypatch):
        """numpy stores equal-length lists as a 2-D array; Keras copes, so do we."""
        data = {"x_train": np.array([[5, 6, 7], [1, 2, 3]], dtype=object),
                "y_train": np.array([1, 0]),
                "x_test": np.array([[9, 9], [4, 1], [3, 2]]),   # not even pickled
                "y_test": np.array([0, 1, 1])}
        np.savez(tmp_path / "imdb.npz", **data)
        for num_words in (None, 8, 100):
            assert_same(load_data(tmp_path / "imdb.npz", num_words),
                        keras_load(keras_imdb_module, tmp_path / "imdb.npz", monkeypatch,
                                   num_words=num_words))

    def test_reviews_as_int_arrays(self, keras_imdb_module, tmp_path, monkeypatch):
        data = imdb_content(seed=3)
        arrays = dict(data, x_train=object_array(
            [np.array(row, dtype=np.int32) for row in data["x_train"]]))
        write_npz(tmp_path / "imdb.npz", arrays)
        assert_same(load_data(tmp_path / "imdb.npz", 25),
                    keras_load(keras_imdb_module, tmp_path / "imdb.npz", monkeypatch,
                               num_words=25))

    def test_python2_era_stream(self, keras_imdb_module, tmp_path, monkeypatch):
        data = imdb_content(seed=4, max_rank=70_000)
        data["x_train"][0] = [300, 70_000, 65_535]
        members = members_with(data, x_train=object_npy(
            len(data["x_train"]), py2_object_array_pickle(data["x_train"])))
        path = write_members(tmp_path / "imdb.npz", members)
        assert read_npz_safely(path)["x_train"] == data["x_train"]
        assert_same(load_data(path, 1000),
                    keras_load(keras_imdb_module, path, monkeypatch, num_words=1000))

    def test_constants_are_kerass(self, keras_imdb_module):
        import inspect

        source = inspect.getsource(keras_imdb_module)
        assert keras_imdb.NPZ_SHA256 in source
        assert f'file_hash="{keras_imdb.WORD_INDEX_MD5}"' in source
        assert keras_imdb.NPZ_URL.rsplit("/", 1)[0] in source


# ------------------------------------------------------------------------ semantics

class TestSemantics:
    def test_start_index_from_and_oov(self, tmp_path):
        data = {"x_train": [[1, 2, 7], []], "y_train": np.array([1, 0]),
                "x_test": [[3, 100]], "y_test": np.array([0])}
        path = write_npz(tmp_path / "imdb.npz", data)
        (x_train, y_train), (x_test, _) = load_data(path, num_words=9)
        assert sorted(x_train) == [[1], [1, 4, 5, 2]]
        assert x_test == [[1, 6, 2]]
        # None: the bound is the largest index (103), exclusive, so it becomes 2.
        (x_train, _), (x_test, _) = load_data(path, num_words=None)
        assert x_test == [[1, 6, 2]]
        assert sorted(x_train) == [[1], [1, 4, 5, 10]]

    def test_shuffle_keeps_labels_with_reviews(self, tmp_path):
        rows = [[k + 1] for k in range(40)]
        data = {"x_train": rows, "y_train": np.arange(40) % 2,
                "x_test": rows[:11], "y_test": np.arange(11) % 2}
        (x_train, y_train), (x_test, y_test) = load_data(write_npz(tmp_path / "i.npz", data), 1000)
        assert [row[1] - 4 for row in x_train] != list(range(40))
        assert [(row[1] - 4) % 2 for row in x_train] == y_train.tolist()
        assert [(row[1] - 4) % 2 for row in x_test] == y_test.tolist()

    @pytest.mark.parametrize("num_words", NUM_WORDS)
    def test_load_splits_consistent(self, small_npz, num_words):
        path, _ = small_npz
        splits = load_splits(path, num_words)
        assert set(splits) == {"train", "test"}
        for (x, y), split in zip(load_data(path, num_words), ("train", "test")):
            values, offsets, labels = splits[split]
            assert values.dtype == np.int32 and offsets.dtype == np.int64
            assert labels.dtype == np.int8
            assert [values[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])] == x
            np.testing.assert_array_equal(labels, y)
            if num_words:
                assert values.max() < max(num_words, 3)

    def test_load_splits_feeds_multi_hot(self, small_npz):
        path, _ = small_npz
        values, offsets, labels = load_splits(path, 30)["train"]
        matrix = multi_hot(values, offsets, labels, 30)
        assert matrix.rows == len(offsets) - 1
        dense = matrix.to_dense()
        (x_train, _), _ = load_data(path, 30)
        for k, row in enumerate(x_train):
            assert set(np.flatnonzero(dense[k])) == set(row)

    @pytest.mark.parametrize("bad", [-1, 2.5, "10", True])
    def test_bad_num_words(self, small_npz, bad):
        with pytest.raises(PipelineError, match="num_words"):
            load_data(small_npz[0], num_words=bad)

    def test_read_npz_safely_gives_file_content(self, small_npz):
        path, data = small_npz
        content = read_npz_safely(path)
        assert content["x_train"] == data["x_train"]
        assert content["x_test"] == data["x_test"]
        np.testing.assert_array_equal(content["y_train"], data["y_train"])
        np.testing.assert_array_equal(content["y_test"], data["y_test"])

    def test_module_imports_no_keras(self):
        code = ("import sys, pipeline.datasets.keras_imdb, pipeline.io.safe_npz; "
                "bad = [m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')]; "
                "assert not bad, bad")
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


# ------------------------------------------------------------------- what the arrays hold

class TestMalformedContent:
    def test_missing_member(self, tmp_path):
        data = imdb_content()
        del data["y_test"]
        assert_refused(write_npz(tmp_path / "imdb.npz", data),
                            r"missing member\(s\) y_test.npy")

    @pytest.mark.parametrize("labels, pattern", [
        ([0, 1, 2], "label 2: labels must be 0 or 1"),
        ([0, -1, 1], "label -1"),
        ([0.0, 1.0, 1.0], "integer array"),
        ([[0], [1], [1]], "integer array"),
        ([0, 1], "2 labels for 3 reviews"),
    ])
    def test_bad_labels(self, tmp_path, labels, pattern):
        data = {"x_train": [[1], [2], [3]], "y_train": np.array(labels),
                "x_test": [[1]], "y_test": np.array([1])}
        assert_refused(write_npz(tmp_path / "imdb.npz", data), "y_train.*" + pattern)

    @pytest.mark.parametrize("rows, pattern", [
        ([[1, 2], [3, -4]], "negative word rank"),
        ([[1, 2.5], [3]], "float where word ranks"),
        ([[1, True], [3]], "bool where word ranks"),
        ([[1, "a"], [3]], "str where word ranks"),
        ([[1, 2**70], [3]], "too large"),
        ([[1, 2**40], [3]], "too large"),
        ([[1, 2], 7], r"x_train\[1\] is a int"),
        ([[1, 2], None], r"x_train\[1\] is a NoneType"),
    ])
    def test_bad_reviews(self, tmp_path, rows, pattern):
        data = {"x_train": rows, "y_train": np.array([0, 1]),
                "x_test": [[1]], "y_test": np.array([1])}
        assert_refused(write_npz(tmp_path / "imdb.npz", data), pattern)

    def test_flat_int_array_is_not_reviews(self, tmp_path):
        data = {"x_train": np.array([1, 2, 3]), "y_train": np.array([0, 1, 0]),
                "x_test": [[1]], "y_test": np.array([1])}
        assert_refused(write_npz(tmp_path / "imdb.npz", data), "not a 1-D object array")

    def test_empty_split(self, tmp_path):
        data = {"x_train": [[1]], "y_train": np.array([0]),
                "x_test": object_array([]), "y_test": np.zeros(0, dtype=np.int64)}
        assert_refused(write_npz(tmp_path / "imdb.npz", data), "x_test holds no reviews")


# ------------------------------------------------------------------------ word index

WORDS = ["the", "and", "a", "of", "to", "is", "br", "in", "it", "i", "this", "that",
         "was", "as", "for", "with", "movie", "but", "film", "on"]


def write_word_index(path, index):
    path.write_text(json.dumps(index), encoding="utf-8")
    return path


@pytest.fixture
def word_index_file(tmp_path):
    return write_word_index(tmp_path / "imdb_word_index.json",
                            {word: rank for rank, word in enumerate(WORDS, start=1)})


class TestWordIndex:
    def test_read(self, word_index_file):
        index = read_word_index(word_index_file)
        assert index["the"] == 1 and index["on"] == 20 and len(index) == 20

    def test_md5(self, word_index_file):
        digest = md5_of(word_index_file)
        assert digest == hashlib.md5(word_index_file.read_bytes()).hexdigest()
        assert read_word_index(word_index_file, md5=digest.upper())
        with pytest.raises(PipelineError, match="MD5"):
            read_word_index(word_index_file, md5=keras_imdb.WORD_INDEX_MD5)

    @pytest.mark.parametrize("content, pattern", [
        ("[1, 2]", "expected a JSON object"),
        ('{"a": 1, "b": 0}', "'b' has rank 0"),
        ('{"a": 1, "b": -3}', "rank -3"),
        ('{"a": 1, "b": 2.0}', "rank 2.0"),
        ('{"a": 1, "b": "2"}', "rank '2'"),
        ('{"a": 1, "b": true}', "rank True"),
        ('{"a": 1, "a": 2}', "'a' appears twice"),
        ('{"a": 1,', "not valid JSON"),
    ])
    def test_invalid(self, tmp_path, content, pattern):
        path = tmp_path / "index.json"
        path.write_text(content)
        with pytest.raises(PipelineError, match=pattern):
            read_word_index(path)

    def test_missing_file(self, tmp_path):
        with pytest.raises(PipelineError, match="cannot read"):
            read_word_index(tmp_path / "none.json")

    def test_vocabulary_order_and_length(self, word_index_file):
        index = read_word_index(word_index_file)
        assert vocabulary_from_word_index(index, 10) == WORDS[:6]
        assert vocabulary_from_word_index(index, 24) == WORDS
        assert vocabulary_from_word_index(index, None) == WORDS
        assert vocabulary_from_word_index(index, 4) == []
        assert vocabulary_from_word_index(index, 0) == []

    def test_vocabulary_gaps_become_placeholders(self):
        index = {"the": 1, "a": 3, "film": 6}
        assert vocabulary_from_word_index(index, 10) == \
            ["the", "<rank 2>", "a", "<rank 4>", "<rank 5>", "film"]
        assert vocabulary_from_word_index(index, 12) == \
            ["the", "<rank 2>", "a", "<rank 4>", "<rank 5>", "film", "<rank 7>", "<rank 8>"]
        assert vocabulary_from_word_index(index, None)[-1] == "film"

    def test_vocabulary_duplicate_rank(self):
        index = {"the": 1, "a": 2, "an": 2, "late": 9}
        with pytest.raises(PipelineError, match="'a' and 'an' both have rank 2"):
            vocabulary_from_word_index(index, 8)
        assert vocabulary_from_word_index(index, 5) == ["the"]

    @pytest.mark.parametrize("num_words", [None, 8, 15, 24])
    def test_decoding_matches_the_notebook(self, tmp_path, word_index_file, num_words):
        rng = np.random.default_rng(1)
        data = {"x_train": random_reviews(rng, 6, 25), "y_train": np.array([0, 1] * 3),
                "x_test": random_reviews(rng, 4, 25), "y_test": np.array([1, 0] * 2)}
        (x_train, _), (x_test, _) = load_data(write_npz(tmp_path / "imdb.npz", data),
                                              num_words)
        index = read_word_index(word_index_file)
        reverse_word_index = {value: key for key, value in index.items()}
        vocabulary = vocabulary_from_word_index(index, num_words)
        for sequence in x_train + x_test:
            notebook = [reverse_word_index.get(i - 3, "?") for i in sequence]
            assert notebook[0] == "?"    # the start character; ours drops it
            assert decode_sequence(sequence, vocabulary) == " ".join(notebook[1:])


# ------------------------------------------------------------------------ dataset interface

@pytest.fixture
def fetched(tmp_path, small_npz, word_index_file):
    """A DownloadDataset-like folder with imdb.npz and its word index."""
    npz, data = small_npz
    folder = tmp_path / "DownloadDataset" / "keras_imdb"
    folder.mkdir(parents=True)
    manifest = PLUGIN.fetch(folder, {"url": str(npz), "word_index_url": str(word_index_file)},
                            progress=None, sha256="")
    return folder, manifest, data


class TestInterface:
    def test_registry(self):
        assert isinstance(datasets.get("keras_imdb"), KerasImdb)
        assert datasets.get("keras_imdb").name == "keras_imdb"
        assert KerasImdb.class_names == ("negative", "positive")
        assert KerasImdb.files == {"npz": "imdb.npz", "word_index": "imdb_word_index.json"}
        assert KerasImdb.addresses == {"url": "npz", "word_index_url": "word_index"}

    def test_fetch_copies_both_files_and_counts(self, fetched, small_npz, word_index_file):
        folder, manifest, data = fetched
        assert (folder / "imdb.npz").read_bytes() == small_npz[0].read_bytes()
        assert (folder / "imdb_word_index.json").read_bytes() == word_index_file.read_bytes()
        assert manifest["documents"] == {"train": 23, "test": 17}
        for split in ("train", "test"):
            labels = np.asarray(data[f"y_{split}"])
            assert manifest["reviews"][f"{split}/pos"] == int((labels == 1).sum())
            assert manifest["reviews"][f"{split}/neg"] == int((labels == 0).sum())
        assert manifest["sha256"] == hashlib.sha256(small_npz[0].read_bytes()).hexdigest()
        assert manifest["source"] == str(small_npz[0])
        assert manifest["word_index_source"] == str(word_index_file)

    def test_fetch_progress_for_both_files(self, tmp_path, small_npz, word_index_file):
        folder = tmp_path / "f"
        folder.mkdir()
        calls = []
        PLUGIN.fetch(folder, {"url": str(small_npz[0]), "word_index_url": str(word_index_file)},
                     sha256="",
                     progress=lambda name, done, total: calls.append((name, done, total)))
        sizes = (small_npz[0].stat().st_size, word_index_file.stat().st_size)
        # each file reports under its own name, ending at its own size
        assert [c for c in calls if c[1] == c[2]] == [
            ("imdb.npz", sizes[0], sizes[0]), ("imdb_word_index.json", sizes[1], sizes[1])]

    @pytest.mark.parametrize("which", ["npz", "word_index"])
    def test_fetch_errors_name_the_address_given_not_the_folder(self, tmp_path, small_npz,
                                                                word_index_file, which):
        bad = tmp_path / "given" / ("bad.npz" if which == "npz" else "bad.json")
        bad.parent.mkdir()
        bad.write_bytes(b"<html>404 Not Found</html>")
        staging = tmp_path / ".staging-destination"
        staging.mkdir()
        urls = {"url": str(small_npz[0]), "word_index_url": str(word_index_file)}
        urls["url" if which == "npz" else "word_index_url"] = str(bad)
        with pytest.raises(PipelineError) as caught:
            PLUGIN.fetch(staging, urls, progress=None, sha256="")
        message = str(caught.value)
        assert str(bad) in message and str(staging) not in message

    @pytest.mark.parametrize("num_words", [5, 10, 24, 30])
    def test_read_is_load_data_flat(self, fetched, word_index_file, num_words):
        folder, _, _ = fetched
        encoded = PLUGIN.read(folder, num_words, {})
        assert isinstance(encoded, Encoded)
        (x_train, y_train), (x_test, y_test) = load_data(folder / "imdb.npz", num_words)
        for split, rows, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
            data = encoded.splits[split]
            assert isinstance(data, Split) and data.rows == len(rows)
            assert [data.values[a:b].tolist()
                    for a, b in zip(data.offsets[:-1], data.offsets[1:])] == rows
            assert data.labels.dtype == np.int16
            np.testing.assert_array_equal(data.labels, labels)
            assert data.names.tolist() == [f"{split}-{i}" for i in range(len(rows))]
        index = read_word_index(word_index_file)
        assert encoded.vocabulary == vocabulary_from_word_index(index, num_words)
        # counts: occurrences in the training split of index 4, 5, ... (rank 1, 2, ...)
        flat = [w for row in x_train for w in row]
        assert encoded.counts == [flat.count(p + 4) for p in range(len(encoded.vocabulary))]

    def test_no_original_texts(self, fetched):
        folder, _, _ = fetched
        assert PLUGIN.original_text(folder, "train", "train-0", 1) is None


# ------------------------------------------------------------------------ the chain

CHAIN_WORDS = [f"w{rank}" for rank in range(1, 61)]
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
    index.write_text(json.dumps({word: rank for rank, word in enumerate(CHAIN_WORDS, start=1)}))
    return npz, index


@pytest.fixture
def keras_config(data_dir, keras_files):
    """The data folder, with DownloadDataset pointed at the two small files."""
    npz, index = keras_files
    with configured("DownloadDataset", url=npz, word_index_url=index):
        yield data_dir


@pytest.mark.slow
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


def test_datasets_do_not_share_outputs(keras_config):
    assert Encode(dataset="keras_imdb", num_words=30).task_id != \
        Encode(dataset="aclimdb", num_words=30).task_id
    assert DownloadDataset(dataset="keras_imdb").output_dir == \
        keras_config / "DownloadDataset" / "keras_imdb"
    assert download_folder("aclimdb") == keras_config / "DownloadDataset" / "aclimdb"


def test_an_unknown_dataset_fails_before_any_work(data_dir):
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
        PLUGIN.fetch(folder, {"url": str(tmp_path / "no.npz"), "word_index_url": str(index)},
                     progress=None, sha256="")
    message = str(error.value)
    assert "no.npz" in message and "copy of imdb.npz" in message
    assert "--DownloadDataset-url /path/to/imdb.npz" in message
    assert "aclImdb" not in message

    with pytest.raises(PipelineError) as error:
        PLUGIN.fetch(folder, {"url": str(npz), "word_index_url": str(tmp_path / "no.json")},
                     progress=None, sha256="")
    message = str(error.value)
    assert "copy of imdb_word_index.json" in message
    assert "--DownloadDataset-word-index-url /path/to/imdb_word_index.json" in message
    assert "word_index_url = " in message
