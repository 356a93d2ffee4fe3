"""Reading .npz files of pickled object arrays without running pickled code:
pipeline/io/safe_npz.py.

The restricted unpickler reads every stream numpy writes for an object array of lists
(protocols 2 to 5, numpy 1's module names, Python 2 era streams) and refuses anything
else, in one line naming the file and the member. Files are read through Keras's IMDB
reader (:func:`read_npz_safely`), the way the pipeline reads them; what that reader
checks in the arrays themselves is in test_datasets_keras_imdb.py.
"""
import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
from npz_files import (
    Evil,
    assert_refused,
    imdb_content,
    members_with,
    numeric_npy,
    object_array,
    object_npy,
    pickled_with_protocol,
    write_members,
    write_npz,
)

from pipeline.datasets.keras_imdb import load_data, read_npz_safely
from pipeline.errors import PipelineError
from pipeline.io import safe_npz


@pytest.fixture
def small_npz(tmp_path):
    data = imdb_content()
    return write_npz(tmp_path / "imdb.npz", data), data


class TestSafeNpz:
    def test_read_members_gives_every_npy_member(self, tmp_path):
        data = imdb_content(seed=9)
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


class TestPickleStreams:
    @pytest.mark.parametrize("protocol", [2, 3, 4, 5])
    def test_every_pickle_protocol(self, tmp_path, protocol):
        data = imdb_content(seed=5)
        members = members_with(data, x_test=pickled_with_protocol(data["x_test"], protocol))
        path = write_members(tmp_path / "imdb.npz", members)
        assert read_npz_safely(path)["x_test"] == data["x_test"]

    @pytest.mark.parametrize("protocol", [2, 3])
    def test_numpy1_module_spelling(self, tmp_path, protocol):
        data = imdb_content(seed=6)
        members = members_with(data, x_train=pickled_with_protocol(
            data["x_train"], protocol, numpy1_spelling=True))
        path = write_members(tmp_path / "imdb.npz", members)
        assert read_npz_safely(path)["x_train"] == data["x_train"]

    def test_inner_int_arrays_with_protocol_2(self, tmp_path):
        rows = [np.array([1, 2, 300], dtype=np.int64), np.array([], dtype=np.int16),
                np.array([7], dtype=">i4")]
        data = dict(imdb_content(seed=7, test=3), x_test=rows)
        payload = pickle.dumps(object_array(rows), protocol=2)
        path = write_members(tmp_path / "imdb.npz",
                             members_with(data, x_test=object_npy(3, payload)))
        assert read_npz_safely(path)["x_test"] == [[1, 2, 300], [], [7]]

    def test_compressed_npz(self, tmp_path):
        data = imdb_content(seed=8)
        path = write_npz(tmp_path / "imdb.npz", data, compressed=True)
        assert read_npz_safely(path)["x_train"] == data["x_train"]


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
        members = members_with(imdb_content(), x_train=object_npy(2, payload))
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
                             members_with(imdb_content(), x_test=object_npy(1, payload)))
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
                             members_with(imdb_content(), x_train=object_npy(2, tampered)))
        with pytest.raises(PipelineError, match="dtype state"):
            read_npz_safely(path)

    def test_bytes_only_empty(self, tmp_path):
        payload = b"\x80\x02c__builtin__\nbytes\nK\x05\x85R."
        path = write_members(tmp_path / "imdb.npz",
                             members_with(imdb_content(), x_train=object_npy(1, payload)))
        with pytest.raises(PipelineError, match="bytes"):
            read_npz_safely(path)

    def test_codecs_only_latin1(self, tmp_path):
        payload = (b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00bX\x05\x00\x00\x00rot13"
                   b"\x86R.")
        path = write_members(tmp_path / "imdb.npz",
                             members_with(imdb_content(), x_train=object_npy(1, payload)))
        with pytest.raises(PipelineError, match="_codecs.encode"):
            read_npz_safely(path)

    def test_pickle_that_is_not_an_array(self, tmp_path):
        payload = pickle.dumps([[1, 2], [3]], protocol=4)
        path = write_members(tmp_path / "imdb.npz",
                             members_with(imdb_content(), x_train=object_npy(2, payload)))
        with pytest.raises(PipelineError, match="not an array"):
            read_npz_safely(path)

    def test_truncated_pickle(self, tmp_path):
        payload = pickle.dumps(object_array([[1, 2], [3]]), protocol=4)[:-10]
        path = write_members(tmp_path / "imdb.npz",
                             members_with(imdb_content(), x_train=object_npy(2, payload)))
        with pytest.raises(PipelineError, match="x_train.npy: corrupt pickle"):
            read_npz_safely(path)

    def test_header_shape_mismatch(self, tmp_path):
        payload = pickle.dumps(object_array([[1, 2], [3]]), protocol=4)
        path = write_members(tmp_path / "imdb.npz",
                             members_with(imdb_content(), x_train=object_npy(5, payload)))
        with pytest.raises(PipelineError, match="does not match its header"):
            read_npz_safely(path)


class TestMalformedFiles:
    def test_missing_file(self, tmp_path):
        assert_refused(tmp_path / "nope.npz", "no such file")

    def test_not_a_zip(self, tmp_path):
        path = tmp_path / "imdb.npz"
        path.write_bytes(b"<html>404 Not Found</html>")
        assert_refused(path, "not a readable .npz")

    def test_truncated(self, small_npz, tmp_path):
        data = small_npz[0].read_bytes()
        for size in (len(data) // 2, len(data) - 30):
            path = tmp_path / f"cut{size}.npz"
            path.write_bytes(data[:size])
            assert_refused(path, "truncated or corrupt|not a readable")

    def test_corrupt_member(self, small_npz, tmp_path):
        data = bytearray(small_npz[0].read_bytes())
        data[200] ^= 0xFF           # inside the first member's data: CRC mismatch
        path = tmp_path / "flipped.npz"
        path.write_bytes(bytes(data))
        assert_refused(path, "corrupt")

    def test_truncated_numeric_member(self, tmp_path):
        data = imdb_content()
        members = members_with(data, y_train=numeric_npy(data["y_train"])[:-16])
        assert_refused(write_members(tmp_path / "imdb.npz", members), "y_train")

    def test_garbage_npy_header(self, tmp_path):
        members = members_with(imdb_content(), y_test=b"not an npy file at all")
        assert_refused(write_members(tmp_path / "imdb.npz", members),
                            "y_test.npy is not a valid .npy")

    def test_inner_float_array(self, tmp_path):
        data = {"x_train": object_array([np.array([1.0, 2.0]), [3]]),
                "y_train": np.array([0, 1]), "x_test": [[1]], "y_test": np.array([1])}
        assert_refused(write_npz(tmp_path / "imdb.npz", data), r"x_train.npy.*dtype 'f8'")
