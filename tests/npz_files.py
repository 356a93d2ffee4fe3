"""Files in the format of Keras's preprocessed datasets (imdb.npz, reuters.npz), written
with numpy or byte by byte, for the tests of the readers: object arrays of lists of word
ranks pickled inside ``.npy`` members of a zip, hostile pickles, Python 2 era streams."""
import io
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pipeline.datasets.keras_imdb import read_npz_safely
from pipeline.errors import PipelineError


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


def imdb_content(seed=0, train=23, test=17, max_rank=60):
    """The members of a small imdb.npz: ``train`` and ``test`` reviews of random ranks up
    to ``max_rank`` (which appears at least once; one test review is empty), random 0/1
    labels."""
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



class Evil:
    """Pickles as a call of ``function(argument)``."""

    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


def write_reuters_npz(path, sequences, labels):
    """As Keras's reuters.npz: ``x`` an object array of lists, ``y`` int64 topics."""
    x = np.empty(len(sequences), dtype=object)
    x[:] = [list(s) for s in sequences]
    np.savez(path, x=x, y=np.asarray(labels, dtype=np.int64))
    return path


def assert_refused(path, pattern):
    """read_npz_safely refuses ``path`` in one line that names it and matches ``pattern``."""
    with pytest.raises(PipelineError, match=pattern) as caught:
        read_npz_safely(path)
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value)
