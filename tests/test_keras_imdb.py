"""Keras's preprocessed IMDB read safely: pipeline/datasets/keras_imdb.py and the
restricted unpickler it reads .npz members with, pipeline/datasets/safe_npz.py.

Small files are written in exactly the format of Keras's imdb.npz (object arrays of
lists of ints, pickled inside .npy members) and results are compared with Keras's
own ``keras.datasets.imdb.load_data`` on the same file.
"""
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pipeline import datasets
from pipeline.datasets import Encoded, Split, keras_imdb, safe_npz
from pipeline.datasets.keras_imdb import (
    load_data, load_splits, md5_of, read_npz_safely, read_word_index,
    vocabulary_from_word_index)
from pipeline.datasets.text import decode_sequence
from pipeline.errors import PipelineError
from pipeline.features.multihot import multi_hot

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------ file makers

def object_array(rows):
    """A 1-D object array of the given lists (never 2-D, whatever their lengths)."""
    array = np.empty(len(rows), dtype=object)
    for k, row in enumerate(rows):
        array[k] = row
    return array


def random_reviews(rng, count, max_rank, max_length=30):
    """Lists of ranks with a Zipf-like skew; some reviews are empty."""
    rows = []
    for _ in range(count):
        length = int(rng.integers(0, max_length))
        rows.append([int(r) for r in np.minimum(rng.zipf(1.3, length), max_rank)])
    return rows


def dataset(seed=0, train=23, test=17, max_rank=60):
    rng = np.random.default_rng(seed)
    x_train = random_reviews(rng, train, max_rank)
    x_test = random_reviews(rng, test, max_rank)
    x_train[3] = [max_rank, 1, 2]          # the largest rank appears at least once
    x_test[0] = []
    return {"x_train": x_train, "y_train": rng.integers(0, 2, train),
            "x_test": x_test, "y_test": rng.integers(0, 2, test)}


def write_npz(path, data, compressed=False):
    """As Keras's file: x_* object arrays of lists, y_* int64 arrays, via numpy."""
    arrays = {name: object_array(value) if name.startswith("x_") and isinstance(value, list)
              else value for name, value in data.items()}
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return Path(path)


def npy_bytes(header, payload):
    """A .npy member: a version 1.0 header for ``header`` followed by raw ``payload``."""
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, header)
    return stream.getvalue() + payload


def object_npy(count, payload):
    return npy_bytes({"descr": "|O", "fortran_order": False, "shape": (count,)}, payload)


def numeric_npy(array):
    stream = io.BytesIO()
    np.lib.format.write_array(stream, np.asarray(array), allow_pickle=False)
    return stream.getvalue()


def write_members(path, members):
    """A zip of ``name.npy`` members given as raw bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
    return Path(path)


def members_with(data, **replaced):
    """The .npy members of ``data`` (pickled with numpy's writer), some replaced."""
    members = {}
    for name, value in data.items():
        if name in replaced:
            members[name] = replaced[name]
        elif name.startswith("x_"):
            stream = io.BytesIO()
            np.lib.format.write_array(stream, object_array(value))
            members[name] = stream.getvalue()
        else:
            members[name] = numeric_npy(value)
    return members


def pickled_with_protocol(rows, protocol, numpy1_spelling=False):
    payload = pickle.dumps(object_array(rows), protocol=protocol)
    if numpy1_spelling:
        assert protocol <= 3  # GLOBAL opcode: text, so the module name can change length
        payload = payload.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    return object_npy(len(rows), payload)


def _py2_int(value):
    if value < 256:
        return b"K" + bytes([value])
    if value < 65536:
        return b"M" + struct.pack("<H", value)
    return b"J" + struct.pack("<i", value)


def py2_object_array_pickle(rows):
    """The stream Python 2's numpy wrote for an object array of lists (protocol 2,
    ``str`` for byte strings, ``numpy.core.multiarray``), written opcode by opcode."""
    out = bytearray(b"\x80\x02")
    out += b"cnumpy.core.multiarray\n_reconstruct\nq\x01"
    out += b"cnumpy\nndarray\nq\x02K\x00\x85U\x01b\x87R"        # _reconstruct(ndarray, (0,), 'b')
    out += b"(K\x01" + _py2_int(len(rows)) + b"\x85"               # state: (1, (n,),
    out += b"cnumpy\ndtype\nU\x02O8K\x00K\x01\x87R"                # dtype('O8', 0, 1)
    out += b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb"  # its state, BUILD
    out += b"\x89]("                                              # False, [
    for row in rows:
        out += b"](" + b"".join(_py2_int(w) for w in row) + b"e"
    out += b"etb."                                                # ]) BUILD STOP
    return bytes(out)


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
    data = dataset()
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
        data = dataset(seed=3)
        arrays = dict(data, x_train=object_array(
            [np.array(row, dtype=np.int32) for row in data["x_train"]]))
        write_npz(tmp_path / "imdb.npz", arrays)
        assert_same(load_data(tmp_path / "imdb.npz", 25),
                    keras_load(keras_imdb_module, tmp_path / "imdb.npz", monkeypatch,
                               num_words=25))

    def test_python2_era_stream(self, keras_imdb_module, tmp_path, monkeypatch):
        data = dataset(seed=4, max_rank=70_000)
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

    @pytest.mark.parametrize("protocol", [2, 3, 4, 5])
    def test_every_pickle_protocol(self, tmp_path, protocol):
        data = dataset(seed=5)
        members = members_with(data, x_test=pickled_with_protocol(data["x_test"], protocol))
        path = write_members(tmp_path / "imdb.npz", members)
        assert read_npz_safely(path)["x_test"] == data["x_test"]

    @pytest.mark.parametrize("protocol", [2, 3])
    def test_numpy1_module_spelling(self, tmp_path, protocol):
        data = dataset(seed=6)
        members = members_with(data, x_train=pickled_with_protocol(
            data["x_train"], protocol, numpy1_spelling=True))
        path = write_members(tmp_path / "imdb.npz", members)
        assert read_npz_safely(path)["x_train"] == data["x_train"]

    def test_inner_int_arrays_with_protocol_2(self, tmp_path):
        rows = [np.array([1, 2, 300], dtype=np.int64), np.array([], dtype=np.int16),
                np.array([7], dtype=">i4")]
        data = dict(dataset(seed=7, test=3), x_test=rows)
        payload = pickle.dumps(object_array(rows), protocol=2)
        path = write_members(tmp_path / "imdb.npz",
                             members_with(data, x_test=object_npy(3, payload)))
        assert read_npz_safely(path)["x_test"] == [[1, 2, 300], [], [7]]

    def test_compressed_npz(self, tmp_path):
        data = dataset(seed=8)
        path = write_npz(tmp_path / "imdb.npz", data, compressed=True)
        assert read_npz_safely(path)["x_train"] == data["x_train"]

    def test_module_imports_no_keras(self):
        code = ("import sys, pipeline.datasets.keras_imdb, pipeline.datasets.safe_npz; "
                "bad = [m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')]; "
                "assert not bad, bad")
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


# ------------------------------------------------------------------------ hostile files

class Evil:
    """Pickles as a call of ``function(argument)``."""

    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


class TestHostile:
    @pytest.fixture
    def marker(self, tmp_path):
        return tmp_path / "pwned"

    def payloads(self, marker):
        command = f"touch {marker}"
        builtins_eval = f"open({str(marker)!r}, 'w').close()"
        by_hand = (b"\x80\x02cposix\nsystem\nX" + struct.pack("<I", len(command))
                   + command.encode() + b"\x85R.")
        embedded = object_array([[1, 2], Evil(os.system, command)])
        return {
            "os.system by hand": by_hand,
            "os.system": pickle.dumps(Evil(os.system, command), protocol=2),
            "builtins.eval": pickle.dumps(Evil(eval, builtins_eval), protocol=4),
            "builtins.exec": pickle.dumps(Evil(exec, builtins_eval), protocol=3),
            "inside an object array": pickle.dumps(embedded, protocol=4),
            "inside an object array, protocol 2": pickle.dumps(embedded, protocol=2),
        }

    @pytest.mark.parametrize("case", ["os.system by hand", "os.system", "builtins.eval",
                                      "builtins.exec", "inside an object array",
                                      "inside an object array, protocol 2"])
    def test_refused_and_never_run(self, tmp_path, marker, case):
        payload = self.payloads(marker)[case]
        members = members_with(dataset(), x_train=object_npy(2, payload))
        path = write_members(tmp_path / "imdb.npz", members)
        with pytest.raises(PipelineError) as caught:
            read_npz_safely(path)
        message = str(caught.value)
        assert "\n" not in message
        assert str(path) in message and "x_train.npy" in message
        assert "refused global" in message
        assert "the file is not a Keras dataset file or was tampered with" in message
        assert any(name in message for name in ("posix.system", "builtins.eval",
                                                "builtins.exec"))
        assert not marker.exists()
        with pytest.raises(PipelineError):
            load_data(path, 10)
        assert not marker.exists()

    def test_other_numpy_globals_refused(self, tmp_path):
        rows = object_array([np.int64(3)])    # a numpy scalar pickles via another global
        payload = pickle.dumps(rows, protocol=4)
        path = write_members(tmp_path / "imdb.npz",
                             members_with(dataset(), x_test=object_npy(1, payload)))
        with pytest.raises(PipelineError, match=r"refused global numpy\..*scalar"):
            read_npz_safely(path)

    def test_structured_dtype_state_refused(self, tmp_path):
        """Only allowed globals, but a dtype state that gives 'O8' fields: refused."""
        payload = pickle.dumps(object_array([[1, 2], [3]]), protocol=2)
        plain = b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?"
        assert payload.count(plain) == 1
        fields = b"X\x01\x00\x00\x00a\x85}X\x01\x00\x00\x00a" \
                 b"cnumpy\ndtype\nX\x02\x00\x00\x00O8\x89\x88\x87RM\xe8\x03\x86s"
        tampered = payload.replace(plain, b"N" + fields + b"J\x08\x00\x00\x00K\x01K?")
        path = write_members(tmp_path / "imdb.npz",
                             members_with(dataset(), x_train=object_npy(2, tampered)))
        with pytest.raises(PipelineError, match="dtype state"):
            read_npz_safely(path)

    def test_bytes_only_empty(self, tmp_path):
        payload = b"\x80\x02c__builtin__\nbytes\nK\x05\x85R."
        path = write_members(tmp_path / "imdb.npz",
                             members_with(dataset(), x_train=object_npy(1, payload)))
        with pytest.raises(PipelineError, match="bytes"):
            read_npz_safely(path)

    def test_codecs_only_latin1(self, tmp_path):
        payload = (b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00bX\x05\x00\x00\x00rot13"
                   b"\x86R.")
        path = write_members(tmp_path / "imdb.npz",
                             members_with(dataset(), x_train=object_npy(1, payload)))
        with pytest.raises(PipelineError, match="_codecs.encode"):
            read_npz_safely(path)

    def test_pickle_that_is_not_an_array(self, tmp_path):
        payload = pickle.dumps([[1, 2], [3]], protocol=4)
        path = write_members(tmp_path / "imdb.npz",
                             members_with(dataset(), x_train=object_npy(2, payload)))
        with pytest.raises(PipelineError, match="not an array"):
            read_npz_safely(path)

    def test_truncated_pickle(self, tmp_path):
        payload = pickle.dumps(object_array([[1, 2], [3]]), protocol=4)[:-10]
        path = write_members(tmp_path / "imdb.npz",
                             members_with(dataset(), x_train=object_npy(2, payload)))
        with pytest.raises(PipelineError, match="x_train.npy: corrupt pickle"):
            read_npz_safely(path)

    def test_header_shape_mismatch(self, tmp_path):
        payload = pickle.dumps(object_array([[1, 2], [3]]), protocol=4)
        path = write_members(tmp_path / "imdb.npz",
                             members_with(dataset(), x_train=object_npy(5, payload)))
        with pytest.raises(PipelineError, match="does not match its header"):
            read_npz_safely(path)


# ------------------------------------------------------------------------ malformed files

class TestMalformed:
    def assert_refused(self, path, pattern):
        with pytest.raises(PipelineError, match=pattern) as caught:
            read_npz_safely(path)
        assert "\n" not in str(caught.value)
        assert str(path) in str(caught.value)

    def test_missing_file(self, tmp_path):
        self.assert_refused(tmp_path / "nope.npz", "no such file")

    def test_not_a_zip(self, tmp_path):
        path = tmp_path / "imdb.npz"
        path.write_bytes(b"<html>404 Not Found</html>")
        self.assert_refused(path, "not a readable .npz")

    def test_truncated(self, small_npz, tmp_path):
        data = small_npz[0].read_bytes()
        for size in (len(data) // 2, len(data) - 30):
            path = tmp_path / f"cut{size}.npz"
            path.write_bytes(data[:size])
            self.assert_refused(path, "truncated or corrupt|not a readable")

    def test_corrupt_member(self, small_npz, tmp_path):
        data = bytearray(small_npz[0].read_bytes())
        data[200] ^= 0xFF           # inside the first member's data: CRC mismatch
        path = tmp_path / "flipped.npz"
        path.write_bytes(bytes(data))
        self.assert_refused(path, "corrupt")

    def test_missing_member(self, tmp_path):
        data = dataset()
        del data["y_test"]
        self.assert_refused(write_npz(tmp_path / "imdb.npz", data),
                            r"missing member\(s\) y_test.npy")

    def test_truncated_numeric_member(self, tmp_path):
        data = dataset()
        members = members_with(data, y_train=numeric_npy(data["y_train"])[:-16])
        self.assert_refused(write_members(tmp_path / "imdb.npz", members), "y_train")

    def test_garbage_npy_header(self, tmp_path):
        members = members_with(dataset(), y_test=b"not an npy file at all")
        self.assert_refused(write_members(tmp_path / "imdb.npz", members),
                            "y_test.npy is not a valid .npy")

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
        self.assert_refused(write_npz(tmp_path / "imdb.npz", data), "y_train.*" + pattern)

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
        self.assert_refused(write_npz(tmp_path / "imdb.npz", data), pattern)

    def test_inner_float_array(self, tmp_path):
        data = {"x_train": object_array([np.array([1.0, 2.0]), [3]]),
                "y_train": np.array([0, 1]), "x_test": [[1]], "y_test": np.array([1])}
        self.assert_refused(write_npz(tmp_path / "imdb.npz", data), r"x_train.npy.*dtype 'f8'")

    def test_flat_int_array_is_not_reviews(self, tmp_path):
        data = {"x_train": np.array([1, 2, 3]), "y_train": np.array([0, 1, 0]),
                "x_test": [[1]], "y_test": np.array([1])}
        self.assert_refused(write_npz(tmp_path / "imdb.npz", data), "not a 1-D object array")

    def test_empty_split(self, tmp_path):
        data = {"x_train": [[1]], "y_train": np.array([0]),
                "x_test": object_array([]), "y_test": np.zeros(0, dtype=np.int64)}
        self.assert_refused(write_npz(tmp_path / "imdb.npz", data), "x_test holds no reviews")


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
        import hashlib

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


# ------------------------------------------------------------------------ safe_npz itself

class TestSafeNpz:
    def test_read_members_gives_every_npy_member(self, tmp_path):
        data = dataset(seed=9)
        members = members_with(data)
        members["extra"] = numeric_npy(np.arange(4, dtype=np.int16))
        path = write_members(tmp_path / "reuters.npz", members)
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("README.txt", "not an array")
        arrays = safe_npz.read_members(path)
        assert set(arrays) == {"x_train", "y_train", "x_test", "y_test", "extra"}
        assert arrays["x_train"].dtype == object
        assert arrays["x_train"].tolist() == data["x_train"]
        np.testing.assert_array_equal(arrays["y_test"], data["y_test"])
        assert arrays["extra"].dtype == np.int16 and arrays["extra"].tolist() == [0, 1, 2, 3]

    def test_read_npy_object_member(self, tmp_path):
        rows = [[1, 2, 3], [], [40000]]
        stream = io.BytesIO()
        np.lib.format.write_array(stream, object_array(rows))
        array = safe_npz._read_npy("f.npz", "x.npy", stream.getvalue())
        assert array.shape == (3,) and array.tolist() == rows

    def test_restricted_unpickler_refuses_any_other_global(self, tmp_path, monkeypatch):
        marker = tmp_path / "pwned"
        payload = pickle.dumps(Evil(os.system, f"touch {marker}"), protocol=2)
        with pytest.raises(safe_npz._Refused, match="refused global posix.system"):
            safe_npz._RestrictedUnpickler(io.BytesIO(payload), encoding="latin1").load()
        assert not marker.exists()

    def test_refusal_names_the_member_and_the_file(self, tmp_path):
        payload = pickle.dumps(Evil(eval, "1 + 1"), protocol=4)
        path = write_members(tmp_path / "other.npz", {"docs": object_npy(1, payload)})
        with pytest.raises(PipelineError) as caught:
            safe_npz.read_members(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: member docs.npy: unsafe or unexpected pickle")
        assert "refused global builtins.eval" in message
        assert message.endswith("the file is not a Keras dataset file or was tampered with")


# ------------------------------------------------------------------------ dataset interface

@pytest.fixture
def fetched(tmp_path, small_npz, word_index_file):
    """A DownloadDataset-like folder with imdb.npz and its word index."""
    npz, data = small_npz
    folder = tmp_path / "DownloadDataset" / "keras_imdb"
    folder.mkdir(parents=True)
    manifest = keras_imdb.fetch(folder, url=str(npz), word_index_url=str(word_index_file))
    return folder, manifest, data


class TestInterface:
    def test_registry(self):
        assert datasets.get("keras_imdb") is keras_imdb
        assert datasets.SOURCE_ALIASES["keras"] == "keras_imdb"
        assert keras_imdb.CLASS_NAMES == ("negative", "positive")
        assert keras_imdb.FILES == {"npz": "imdb.npz", "word_index": "imdb_word_index.json"}
        assert keras_imdb.ADDRESSES == {"url": "npz", "word_index_url": "word_index"}

    def test_fetch_copies_both_files_and_counts(self, fetched, small_npz, word_index_file):
        folder, manifest, data = fetched
        assert (folder / "imdb.npz").read_bytes() == small_npz[0].read_bytes()
        assert (folder / "imdb_word_index.json").read_bytes() == word_index_file.read_bytes()
        assert manifest["documents"] == {"train": 23, "test": 17}
        for split in ("train", "test"):
            labels = np.asarray(data[f"y_{split}"])
            assert manifest["reviews"][f"{split}/pos"] == int((labels == 1).sum())
            assert manifest["reviews"][f"{split}/neg"] == int((labels == 0).sum())
        import hashlib

        assert manifest["sha256"] == hashlib.sha256(small_npz[0].read_bytes()).hexdigest()
        assert manifest["source"] == str(small_npz[0])
        assert manifest["word_index_source"] == str(word_index_file)

    def test_fetch_progress_for_both_files(self, tmp_path, small_npz, word_index_file):
        folder = tmp_path / "f"
        folder.mkdir()
        calls = []
        keras_imdb.fetch(folder, url=str(small_npz[0]), word_index_url=str(word_index_file),
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
            keras_imdb.fetch(staging, **urls)
        message = str(caught.value)
        assert str(bad) in message and str(staging) not in message

    @pytest.mark.parametrize("num_words", [5, 10, 24, 30])
    def test_read_is_load_data_flat(self, fetched, word_index_file, num_words):
        folder, _, _ = fetched
        encoded = keras_imdb.read(folder, num_words)
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
        assert keras_imdb.original_text(folder, "train", "train-0", 1) is None
