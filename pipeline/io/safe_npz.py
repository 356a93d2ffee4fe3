"""Reading ``.npz`` files that hold pickled object arrays without running pickled code.

Keras's preprocessed datasets (``imdb.npz``, ``reuters.npz``) store each document as a
Python list inside an object array, which numpy can only save as a pickle stream, and
``np.load(allow_pickle=True)`` runs whatever that stream asks for. Here nothing from
the file is ever called: the unpickler only resolves a handful of globals, and each
resolves to a small function of this module (not to numpy's own) that checks its
arguments and rebuilds the array itself; any other global is refused with a
:class:`PipelineError`.
"""
from __future__ import annotations

import io
import os
import pickle
import zipfile
import zlib
from collections.abc import Callable, Container
from typing import Any, Literal, NoReturn

import numpy as np

from ..errors import PipelineError

#
# What numpy's pickle of an object array of lists of ints references (checked on
# numpy 2.4 for protocols 2 to 5 and on hand-written Python 2 era streams):
#
#   numpy._core.multiarray._reconstruct  (numpy >= 2; numpy.core.multiarray before)
#       called as _reconstruct(numpy.ndarray, (0,), b"b") to get an empty array,
#       whose state is then set by BUILD: (1, shape, dtype, is_fortran, data)
#       with ``data`` a list of the elements for an object array, raw bytes otherwise;
#   numpy.ndarray   only as that first argument;
#   numpy.dtype     called as dtype("O8", False, True), then BUILD with its state
#       (3, "|", None, None, None, -1, -1, 63);
#   _codecs.encode  only in protocol 2 streams written by Python 3, which spell the
#       bytes b"b" (and raw array data) as _codecs.encode("b", "latin1");
#   __builtin__.bytes  likewise, called with no argument for empty raw data (an inner
#       numeric array of length 0).
#
# Python 2 era streams (protocol 2) spell b"b", "|" and raw data as ``str``; they are
# read with encoding="latin1" so that every byte survives. Protocol 5 (never used by
# numpy's .npy writer, which uses 2, 3 or 4 depending on the version) would also name
# numpy._core.numeric._frombuffer for inner numeric arrays: refused.
#
# Each allowed global resolves to a stand-in defined below, never to numpy's own
# function: numpy's dtype.__setstate__ accepts states inconsistent with the dtype
# (fields at any offset, object fields in an integer dtype), so letting the stream
# drive it would leave room for memory-unsafe arrays. The stand-ins accept exactly the
# states above and build plain numpy arrays themselves.

#: The largest ``.npy`` member read (its uncompressed size, as the zip's directory gives
#: it and zipfile enforces while reading). Keras's imdb.npz holds 25,000 reviews of
#: about 238 word ranks per split, about 20 MB pickled; unpickled, a member takes up
#: to about 12 times its size (a Python int and a list slot per rank), so this bound
#: keeps reading a file under about 1.5 GB whatever it claims. Members not asked for
#: are never read.
MAX_MEMBER_BYTES = 128 << 20

_OBJECT_SPECS = {"O", "O4", "O8"}
_INT_SPECS = {f"{kind}{size}" for kind in "iu" for size in (1, 2, 4, 8)}

#: The byte orders a dtype state may name.
_ByteOrder = Literal["|", "<", ">", "="]


class _Refused(Exception):  # noqa: N818 - a signal inside the unpickler; tests use the name
    """Raised inside the unpickler; turned into a PipelineError naming the file."""


class _NdarrayClass:
    """What the stream gets for ``numpy.ndarray``: only a marker."""


class _Dtype:
    """Stand-in for a ``numpy.dtype`` the stream creates: a plain object or integer type."""

    def __init__(self, spec: object, align: object = False, copy: object = False) -> None:
        if isinstance(spec, bytes):
            spec = spec.decode("latin1")
        if not isinstance(spec, str) or spec not in _OBJECT_SPECS | _INT_SPECS:
            raise _Refused(f"dtype {spec!r} (only object and integer dtypes are allowed)")
        self.spec: str = spec
        self.byteorder: _ByteOrder = "|" if spec[0] == "O" or spec[1:] == "1" else "="

    def __setstate__(self, state: object) -> None:
        if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
            raise _Refused(f"dtype state {state!r:.80}")
        byteorder, subarray, names, fields = state[1:5]
        if isinstance(byteorder, bytes):
            byteorder = byteorder.decode("latin1")
        if subarray is not None or names is not None or fields is not None \
                or byteorder not in ("|", "<", ">", "="):
            raise _Refused("dtype state with sub-arrays, fields or an unknown byte order")
        if len(state) == 9 and state[8] is not None:
            raise _Refused("dtype state with metadata")
        self.byteorder = byteorder

    def numpy(self) -> np.dtype:
        dtype = np.dtype(self.spec)
        return dtype.newbyteorder(self.byteorder) if self.byteorder in "<>" else dtype


class _Array:
    """Stand-in for the array ``_reconstruct`` returns; BUILD fills it in."""

    def __init__(self) -> None:
        self.value: np.ndarray | None = None

    def __setstate__(self, state: object) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise _Refused(f"array state {state!r:.80}")
        if len(state) == 5:
            if state[0] != 1:
                raise _Refused(f"array state version {state[0]!r}")
            state = state[1:]
        shape, dtype, fortran, data = state
        if not isinstance(shape, tuple) or not all(
                type(n) is int and n >= 0 for n in shape) or len(shape) > 2:
            raise _Refused(f"array shape {shape!r:.80}")
        if not isinstance(dtype, _Dtype):
            raise _Refused("array state without a dtype")
        count = int(np.prod(shape, dtype=np.int64))
        order: Literal["C", "F"] = "F" if fortran else "C"
        dtype = dtype.numpy()
        if dtype.kind == "O":
            if not isinstance(data, list) or len(data) != count:
                raise _Refused("object array data that is not a list of its elements")
            items = [item.value if isinstance(item, _Array) else item for item in data]
            flat = np.fromiter(items, dtype=object, count=count)
            self.value = flat.reshape(shape, order=order)
        else:
            if isinstance(data, str):      # Python 2 str, read as latin1
                data = data.encode("latin1")
            if not isinstance(data, bytes) or len(data) != count * dtype.itemsize:
                raise _Refused("numeric array data of the wrong size")
            self.value = np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy()


def _reconstruct(subtype: object, shape: object, typecode: object) -> _Array:
    if subtype is not _NdarrayClass or shape != (0,) or typecode not in (b"b", "b"):
        raise _Refused("_reconstruct with arguments other than (ndarray, (0,), b'b')")
    return _Array()


def _codecs_encode(text: object, encoding: object = "utf-8", errors: object = "strict") -> bytes:
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise _Refused("_codecs.encode other than (str, 'latin1')")
    return text.encode("latin1")


def _empty_bytes(*args: object) -> bytes:
    if args:
        raise _Refused("bytes() with arguments")
    return b""


_ALLOWED_GLOBALS: dict[tuple[str, str], Callable[..., object]] = {
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _NdarrayClass,
    ("numpy", "dtype"): _Dtype,
    ("_codecs", "encode"): _codecs_encode,
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Callable[..., object]:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _Refused(f"refused global {module}.{name}") from None

    def persistent_load(self, pid: Any) -> NoReturn:
        raise _Refused("refused persistent id")


# ------------------------------------------------------------------- reading the .npz

def _read_npy(path: str | os.PathLike[str], name: str, data: bytes) -> np.ndarray:
    """One ``.npy`` member as an ndarray; object arrays through the restricted unpickler."""
    where = f"{path}: member {name}"
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):
            # 3.0 differs from 2.0 only by a UTF-8 (not latin1) header, same layout.
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, EOFError, SyntaxError, TypeError) as exc:
        raise PipelineError(f"{where} is not a valid .npy array ({exc})") from None
    if not dtype.hasobject:
        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if declared != len(data) - stream.tell():
            raise PipelineError(f"{where}: its header declares {declared:,} bytes of data "
                                f"({dtype} array of shape {tuple(shape)}), the member holds "
                                f"{len(data) - stream.tell():,}: truncated or corrupt")
        stream.seek(0)
        try:
            return np.lib.format.read_array(stream, allow_pickle=False)
        except (ValueError, EOFError, OSError) as exc:
            raise PipelineError(f"{where} is truncated or corrupt ({exc})") from None
    if dtype.kind != "O":
        raise PipelineError(f"{where} has a structured dtype with objects ({dtype})")
    try:
        result = _RestrictedUnpickler(stream, encoding="latin1").load()
    except _Refused as exc:
        raise PipelineError(f"{where}: unsafe or unexpected pickle content, {exc}; "
                            f"the file is not a Keras dataset file or was tampered with") from None
    except Exception as exc:  # noqa: BLE001 - any failure of a hostile stream
        raise PipelineError(f"{where}: corrupt pickle data "
                            f"({type(exc).__name__}: {exc})") from None
    if not isinstance(result, _Array) or result.value is None:
        raise PipelineError(f"{where}: pickle data is not an array")
    array = result.value
    if array.shape != tuple(shape):
        raise PipelineError(f"{where}: array shape {array.shape} does not match its "
                            f"header {tuple(shape)}")
    return array


def read_members(path: str | os.PathLike[str], only: Container[str] | None = None
                 ) -> dict[str, np.ndarray]:
    """The ``.npy`` members of the zip at ``path``: ``name -> ndarray``; all of them, or
    those named in ``only`` (the others are not read). A member larger than
    :data:`MAX_MEMBER_BYTES` is refused before it is read."""
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy") or info.is_dir():
                    continue
                name = info.filename[:-len(".npy")]
                if only is not None and name not in only:
                    continue
                if info.file_size > MAX_MEMBER_BYTES:
                    raise PipelineError(
                        f"{path}: member {info.filename} is {info.file_size:,} bytes "
                        f"uncompressed, more than the {MAX_MEMBER_BYTES:,} this reader "
                        f"accepts (Keras's own members are about 20 MB): not a Keras "
                        f"dataset file, or tampered with")
                arrays[name] = _read_npy(path, info.filename, archive.read(info))
    except FileNotFoundError:
        raise PipelineError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise PipelineError(f"{path}: not a readable .npz (zip) file, truncated or "
                            f"corrupt ({exc})") from None
    return arrays
