"""Keras's preprocessed IMDB (``keras.datasets.imdb``) as a data source, read safely.

``imdb.npz`` is a zip of ``.npy`` members: ``x_train``/``x_test`` are object arrays
whose elements are Python lists of word ranks (1 = most frequent word of the
training reviews), ``y_train``/``y_test`` are integer 0/1 labels. Object arrays can
only be stored as a pickle stream, and ``np.load(allow_pickle=True)`` runs whatever
that stream asks for. Here nothing from the file is ever called: the unpickler only
resolves a handful of globals, and each resolves to a small function of this module
(not to numpy's own) that checks its arguments and rebuilds the array itself; any
other global is refused with a :class:`PipelineError`.

:func:`load_data` then reproduces ``keras.datasets.imdb.load_data`` (with its
defaults ``skip_top=0``, ``maxlen=None``, ``start_char=1``, ``oov_char=2``,
``index_from=3``) exactly:

1. one ``np.random.RandomState(seed)`` shuffles the training reviews, then the test
   reviews (same permutation of reviews and labels);
2. every review becomes ``[1] + [rank + 3 for rank in review]``;
3. ``num_words`` falsy (``None`` or ``0``) means "the largest index found in train and
   test together"; every index ``w`` with ``not 0 <= w < num_words`` becomes ``2``.
   Keras's bound is exclusive, so with ``num_words=None`` the single largest index of
   the data is itself replaced by 2 (a quirk kept on purpose), and with
   ``num_words <= 1`` even the start character becomes 2.

In the pipeline's convention (:mod:`pipeline.dataset`) the word at position ``p`` of
the vocabulary has index ``p + 4``; :func:`vocabulary_from_word_index` lists the
words of ranks ``1 .. num_words - 4`` so that the word of rank ``r`` gets index
``r + 3``, the index :func:`load_data` gives it.
"""
import hashlib
import io
import json
import pickle
import zipfile
import zlib
from itertools import chain
from pathlib import Path

import numpy as np

from .errors import PipelineError

NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
NPZ_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
# The ``file_hash`` keras.src.datasets.imdb.get_word_index passes to get_file (MD5).
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"

START_CHAR, OOV_CHAR, INDEX_FROM = 1, 2, 3
SPLITS = ("train", "test")
MEMBERS = ("x_train", "y_train", "x_test", "y_test")
# Ranks are stored as int32 once shifted by INDEX_FROM.
MAX_RANK = np.iinfo(np.int32).max - INDEX_FROM

_CHUNK = 1 << 20


# ------------------------------------------------------------- the restricted unpickler
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

_OBJECT_SPECS = {"O", "O4", "O8"}
_INT_SPECS = {f"{kind}{size}" for kind in "iu" for size in (1, 2, 4, 8)}


class _Refused(Exception):
    """Raised inside the unpickler; turned into a PipelineError naming the file."""


class _NdarrayClass:
    """What the stream gets for ``numpy.ndarray``: only a marker."""


class _Dtype:
    """Stand-in for a ``numpy.dtype`` the stream creates: a plain object or integer type."""

    def __init__(self, spec, align=False, copy=False):
        if isinstance(spec, bytes):
            spec = spec.decode("latin1")
        if not isinstance(spec, str) or spec not in _OBJECT_SPECS | _INT_SPECS:
            raise _Refused(f"dtype {spec!r} (only object and integer dtypes are allowed)")
        self.spec = spec
        self.byteorder = "|" if spec[0] == "O" or spec[1:] == "1" else "="

    def __setstate__(self, state):
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

    def numpy(self):
        dtype = np.dtype(self.spec)
        return dtype.newbyteorder(self.byteorder) if self.byteorder in "<>" else dtype


class _Array:
    """Stand-in for the array ``_reconstruct`` returns; BUILD fills it in."""

    def __init__(self):
        self.value = None

    def __setstate__(self, state):
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
        order = "F" if fortran else "C"
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


def _reconstruct(subtype, shape, typecode):
    if subtype is not _NdarrayClass or shape != (0,) or typecode not in (b"b", "b"):
        raise _Refused("_reconstruct with arguments other than (ndarray, (0,), b'b')")
    return _Array()


def _codecs_encode(text, encoding="utf-8", errors="strict"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise _Refused("_codecs.encode other than (str, 'latin1')")
    return text.encode("latin1")


def _empty_bytes(*args):
    if args:
        raise _Refused("bytes() with arguments")
    return b""


_ALLOWED_GLOBALS = {
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _NdarrayClass,
    ("numpy", "dtype"): _Dtype,
    ("_codecs", "encode"): _codecs_encode,
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _Refused(f"refused global {module}.{name}") from None

    def persistent_load(self, pid):
        raise _Refused("refused persistent id")


# ------------------------------------------------------------------- reading the .npz

def _read_npy(path, name, data):
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
                            f"the file is not Keras's imdb.npz or was tampered with") from None
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


def _read_members(path):
    """Every ``.npy`` member of the zip at ``path``: ``name -> ndarray``."""
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy") or info.is_dir():
                    continue
                name = info.filename[:-len(".npy")]
                arrays[name] = _read_npy(path, info.filename, archive.read(info))
    except FileNotFoundError:
        raise PipelineError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise PipelineError(f"{path}: not a readable .npz (zip) file, truncated or "
                            f"corrupt ({exc})") from None
    return arrays


def _sequences(path, name, array):
    """The reviews of an ``x_*`` member as (ranks int64, offsets int64)."""
    where = f"{path}: {name}"
    if not isinstance(array, np.ndarray):
        raise PipelineError(f"{where} is not an array")
    if array.ndim == 2 and array.dtype.kind in "iuO":
        # numpy makes a 2-D array when every review has the same length.
        rows = array.tolist()
    elif array.ndim == 1 and array.dtype.kind == "O":
        rows = []
        for k, item in enumerate(array):
            if isinstance(item, np.ndarray):
                if item.ndim != 1 or item.dtype.kind not in "iu":
                    raise PipelineError(f"{where}[{k}] is an array of {item.dtype} with "
                                        f"shape {item.shape}, not a sequence of ints")
                item = item.tolist()
            elif not isinstance(item, (list, tuple)):
                raise PipelineError(f"{where}[{k}] is a {type(item).__name__}, not a list "
                                    f"of word ranks")
            rows.append(item)
    else:
        raise PipelineError(f"{where} is an array of {array.dtype} with shape "
                            f"{array.shape}, not a 1-D object array of lists of ints")
    if not rows:
        raise PipelineError(f"{where} holds no reviews")
    flat = list(chain.from_iterable(rows))
    kinds = set(map(type, flat))
    if not kinds <= {int}:
        bad = next(t for t in kinds if t is not int)
        raise PipelineError(f"{where} holds a {bad.__name__} where word ranks "
                            f"(non-negative ints) are expected")
    try:
        ranks = np.array(flat, dtype=np.int64)
    except OverflowError:
        raise PipelineError(f"{where} holds a word rank too large for 64 bits") from None
    if ranks.size and ranks.min() < 0:
        raise PipelineError(f"{where} holds a negative word rank ({ranks.min()})")
    if ranks.size and ranks.max() > MAX_RANK:
        raise PipelineError(f"{where} holds a word rank too large ({ranks.max()} > "
                            f"{MAX_RANK})")
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(row) for row in rows], out=offsets[1:])
    return ranks, offsets


def _labels(path, name, array, count):
    where = f"{path}: {name}"
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "iu" or array.ndim != 1:
        raise PipelineError(f"{where} must be a 1-D integer array of 0/1 labels, not "
                            f"{getattr(array, 'dtype', type(array).__name__)} with shape "
                            f"{getattr(array, 'shape', '?')}")
    if len(array) != count:
        raise PipelineError(f"{where} has {len(array)} labels for {count} reviews")
    wrong = array[(array != 0) & (array != 1)]
    if wrong.size:
        raise PipelineError(f"{where} holds label {wrong[0]}: labels must be 0 or 1")
    return array


def _read_flat(path):
    """Validated content: ``{"train": (ranks, offsets, labels), "test": ...}``, file order."""
    arrays = _read_members(path)
    missing = [f"{m}.npy" for m in MEMBERS if m not in arrays]
    if missing:
        raise PipelineError(f"{path}: not Keras's imdb.npz, missing member(s) "
                            f"{', '.join(missing)} (has: {', '.join(sorted(arrays)) or 'none'})")
    splits = {}
    for split in SPLITS:
        ranks, offsets = _sequences(path, f"x_{split}", arrays[f"x_{split}"])
        labels = _labels(path, f"y_{split}", arrays[f"y_{split}"], len(offsets) - 1)
        splits[split] = (ranks, offsets, labels)
    return splits


def _as_lists(values, offsets):
    flat = values.tolist()
    bounds = offsets.tolist()
    return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def read_npz_safely(path):
    """Read and check ``imdb.npz`` without ever running pickled code.

    Returns ``{"x_train": [[rank, ...], ...], "y_train": ndarray, "x_test": ...,
    "y_test": ...}``: the reviews as lists of Python ints (the word ranks as stored,
    not shifted), the labels as the file's integer arrays. Other members are ignored.
    Raises :class:`PipelineError` with a one-line message naming the file and the
    problem for a missing, truncated or non-zip file, a missing member, a refused
    pickle global, a review that is not a list of non-negative ints, labels other
    than 0/1, or a label count that differs from the review count.
    """
    result = {}
    for split, (ranks, offsets, labels) in _read_flat(path).items():
        result[f"x_{split}"] = _as_lists(ranks, offsets)
        result[f"y_{split}"] = labels
    return result


# ------------------------------------------------------------------- Keras semantics

def _check_num_words(num_words):
    if num_words is None:
        return None
    if isinstance(num_words, bool) or not isinstance(num_words, (int, np.integer)) \
            or num_words < 0:
        raise PipelineError(f"num_words must be None or a non-negative integer, "
                            f"not {num_words!r}")
    return int(num_words)


def _take(values, offsets, rows):
    """Sequences ``rows`` (in that order) of a flat ``(values, offsets)`` pair."""
    lengths = np.diff(offsets)[rows]
    new_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    starts = np.repeat(offsets[:-1][rows] - new_offsets[:-1], lengths)
    return values[starts + np.arange(new_offsets[-1], dtype=np.int64)], new_offsets


def _encoded(path, num_words, seed):
    """Keras's pipeline on flat arrays: ``{split: (indices int64, offsets, labels)}``."""
    num_words = _check_num_words(num_words)
    splits = _read_flat(path)
    rng = np.random.RandomState(seed)
    shifted = {}
    for split in SPLITS:  # train first, then test, with the same generator
        ranks, offsets, labels = splits[split]
        order = np.arange(len(offsets) - 1)
        rng.shuffle(order)
        ranks, offsets = _take(ranks, offsets, order)
        indices = np.insert(ranks + INDEX_FROM, offsets[:-1], START_CHAR)
        offsets = offsets + np.arange(len(offsets), dtype=np.int64)
        shifted[split] = (indices, offsets, labels[order])
    if not num_words:  # Keras: ``if not num_words``, so 0 means the same as None
        num_words = max(int(indices.max()) for indices, _, _ in shifted.values())
    return {split: (np.where(indices < num_words, indices, OOV_CHAR), offsets, labels)
            for split, (indices, offsets, labels) in shifted.items()}


def load_data(path, num_words=None, seed=113):
    """``keras.datasets.imdb.load_data(path, num_words=num_words, seed=seed)``, safely.

    Returns ``((x_train, y_train), (x_test, y_test))``: ``x_*`` lists of lists of
    Python ints (Keras returns the same lists in an object array), ``y_*`` integer
    label arrays of the dtype Keras gives (the file's, train and test concatenated).
    ``num_words``: ``None``/``0`` keeps every word but the largest index (Keras's
    exclusive bound), otherwise indices ``>= num_words`` become 2. See the module
    docstring for the exact steps.
    """
    encoded = _encoded(path, num_words, seed)
    label_dtype = np.result_type(*(labels.dtype for _, _, labels in encoded.values()))
    (x_train, off_train, y_train), (x_test, off_test, y_test) = \
        (encoded[split] for split in SPLITS)
    return ((_as_lists(x_train, off_train), y_train.astype(label_dtype)),
            (_as_lists(x_test, off_test), y_test.astype(label_dtype)))


def load_splits(path, num_words=None, seed=113):
    """The same data as :func:`load_data`, flat, for the pipeline.

    Returns ``{"train": (values, offsets, labels), "test": (...)}``: review ``k`` is
    ``values[offsets[k]:offsets[k + 1]]`` (int32, starting with 1), ``offsets`` int64,
    ``labels`` int8 (1 = positive), in :func:`load_data`'s shuffled order. With an
    integer ``num_words`` every index is ``< num_words``, as
    :func:`pipeline.features.multi_hot` requires; with ``None`` the bound to use is
    ``max(values.max() of both splits) + 1``.
    """
    return {split: (indices.astype(np.int32), offsets, labels.astype(np.int8))
            for split, (indices, offsets, labels) in _encoded(path, num_words, seed).items()}


# ----------------------------------------------------------------------- word index

def md5_of(path):
    """Hex MD5 of a file (what Keras checks ``imdb_word_index.json`` with)."""
    hasher = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def _no_duplicate_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise PipelineError(f"word {key!r} appears twice")
        result[key] = value
    return result


def read_word_index(path, md5=None):
    """``imdb_word_index.json`` as ``{word: rank}`` (rank 1 = most frequent word).

    When ``md5`` is given (e.g. :data:`WORD_INDEX_MD5`) the file must have that MD5.
    Raises :class:`PipelineError` for a missing file, a checksum mismatch, invalid
    JSON, a top level that is not an object, a word given twice, or a rank that is
    not a positive integer.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PipelineError(f"{path}: cannot read the word index ({exc.strerror or exc})") \
            from None
    if md5 is not None:
        digest = hashlib.md5(data).hexdigest()
        if digest != md5.lower():
            raise PipelineError(f"{path} has MD5 {digest}, expected {md5}: not Keras's "
                                f"imdb_word_index.json, or corrupt")
    try:
        index = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except PipelineError as exc:
        raise PipelineError(f"{path}: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PipelineError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(index, dict):
        raise PipelineError(f"{path}: expected a JSON object of word -> rank, found a "
                            f"{type(index).__name__}")
    for word, rank in index.items():
        if type(rank) is not int or rank < 1:
            raise PipelineError(f"{path}: word {word!r} has rank {rank!r}, expected a "
                                f"positive integer")
    return index


def missing_rank_word(rank):
    """Placeholder for a rank no word has: never produced by the tokenizer (spaces)."""
    return f"<rank {rank}>"


def vocabulary_from_word_index(word_index, num_words):
    """Words of ranks ``1 .. num_words - 4`` in rank order (``[]`` when ``num_words <= 4``).

    With the pipeline's convention (position ``p`` -> index ``p + 4``) each word then
    has index ``rank + 3``, the index :func:`load_data` gives it. ``num_words=None``
    lists ranks up to the largest one in ``word_index``. A rank that no word has (a gap
    in a hand-made index) is filled with :func:`missing_rank_word` so later ranks keep
    their positions; two words with the same rank within the range raise
    :class:`PipelineError`, as neither could be chosen faithfully.
    """
    if num_words is None:
        last = max(word_index.values(), default=0)
    else:
        last = _check_num_words(num_words) - INDEX_FROM - 1
    if last <= 0:
        return []
    words = [None] * last
    for word, rank in word_index.items():
        if rank <= last:
            if words[rank - 1] is not None:
                raise PipelineError(f"word index: {words[rank - 1]!r} and {word!r} "
                                    f"both have rank {rank}")
            words[rank - 1] = word
    return [word if word is not None else missing_rank_word(p + 1)
            for p, word in enumerate(words)]


# ------------------------------------------------------------- the pipeline's source API

NPZ_NAME, WORD_INDEX_NAME = "imdb.npz", "imdb_word_index.json"


def fetch_source(folder, url, sha256=None, word_index_url=""):
    """DownloadDataset for Keras's preprocessed IMDB: fetch both files into ``folder``.

    The official addresses are checked against the official hashes; local copies
    (paths or file:// URLs) are checked by their format. Returns the manifest.
    """
    from .dataset import fetch_archive

    url, word_index_url = url or NPZ_URL, word_index_url or WORD_INDEX_URL
    folder = Path(folder)
    expected = sha256 or (NPZ_SHA256 if url == NPZ_URL else None)
    digest = fetch_archive(url, folder / NPZ_NAME, sha256=expected, name=NPZ_NAME)
    fetch_archive(word_index_url, folder / WORD_INDEX_NAME, name=WORD_INDEX_NAME,
                  parameter="word_index_url")
    data = read_npz_safely(folder / NPZ_NAME)
    read_word_index(folder / WORD_INDEX_NAME,
                    md5=WORD_INDEX_MD5 if word_index_url == WORD_INDEX_URL else None)
    reviews = {f"{split}/{label}": int(np.sum(np.asarray(data[f"y_{split}"]) == value))
               for split in SPLITS for label, value in (("neg", 0), ("pos", 1))}
    return {"source": url, "word_index_source": word_index_url, "sha256": digest,
            "reviews": reviews}


def sequences_from_source(folder, num_words):
    """Vectorize for Keras's IMDB in ``folder``: ``load_data(num_words=num_words)``.

    Same shape as :func:`pipeline.dataset.sequences_from_source`; the vocabulary
    comes from the word index, and ``files`` holds each review's position in the
    file (there are no file names).
    """
    folder = Path(folder)
    splits = {}
    for split, (values, offsets, labels) in load_splits(folder / NPZ_NAME, num_words).items():
        splits[split] = (values, offsets, labels,
                         np.asarray([f"{split}-{i}" for i in range(len(labels))]))
    vocabulary = vocabulary_from_word_index(read_word_index(folder / WORD_INDEX_NAME),
                                            num_words)
    train_values = splits["train"][0]
    counts = np.bincount(train_values, minlength=num_words)[INDEX_FROM + 1:
                                                            INDEX_FROM + 1 + len(vocabulary)]
    return splits, vocabulary, [int(c) for c in counts]
