"""Keras's preprocessed IMDB (``keras.datasets.imdb``): ``imdb.npz`` and its word index.

``imdb.npz`` is a zip of ``.npy`` members: ``x_train``/``x_test`` are object arrays
whose elements are Python lists of word ranks (1 = most frequent word of the
training reviews), ``y_train``/``y_test`` are integer 0/1 labels. The object arrays
are pickles; :mod:`pipeline.io.safe_npz` reads them without running any code.

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

In the pipeline's convention (:mod:`pipeline.ml.text`) the word at position
``p`` of the vocabulary has index ``p + 4``; :func:`vocabulary_from_word_index` lists
the words of ranks ``1 .. num_words - 4`` so that the word of rank ``r`` gets index
``r + 3``, the index :func:`load_data` gives it.

numpy is imported inside the functions: the dataset registry imports this module
when a task is built, and a no-op rerun must not pay for numpy.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from ..errors import PipelineError
from ..io.download import fetch_file
from ..ml.text import INDEX_FROM, OOV, SPLITS, START, Encoded, Split, vocabulary_size
from ..params import Values
from .base import Dataset, Progress

if TYPE_CHECKING:
    import numpy as np

CLASS_NAMES = ("negative", "positive")
NPZ_NAME, WORD_INDEX_NAME = "imdb.npz", "imdb_word_index.json"

NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
NPZ_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
# The ``file_hash`` keras.src.datasets.imdb.get_word_index passes to get_file (MD5).
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"

START_CHAR, OOV_CHAR = START, OOV
MEMBERS = ("x_train", "y_train", "x_test", "y_test")
# Ranks are stored as int32 once shifted by INDEX_FROM.
MAX_RANK = 2**31 - 1 - INDEX_FROM

_CHUNK = 1 << 20
#: The largest word index read (Keras's imdb_word_index.json: 1.6 MB, 88,584 words).
MAX_WORD_INDEX_BYTES = 64 << 20

#: One split, flat: ``(values, offsets, labels)``, document ``k`` being
#: ``values[offsets[k]:offsets[k + 1]]``.
Flat = tuple["np.ndarray", "np.ndarray", "np.ndarray"]


# ------------------------------------------------------------------- the .npz's content

def rank_lists(path: object, name: str, array: object) -> tuple[np.ndarray, np.ndarray]:
    """The reviews of an ``x_*`` member as (ranks int64, offsets int64)."""
    import numpy as np

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


def _labels(path: object, name: str, array: object, count: int) -> np.ndarray:
    import numpy as np

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


def _read_flat(path: str | os.PathLike[str]) -> dict[str, Flat]:
    """Validated content: ``{"train": (ranks, offsets, labels), "test": ...}``, file order."""
    from ..io.safe_npz import read_members

    arrays = read_members(path, only=MEMBERS)
    missing = [f"{m}.npy" for m in MEMBERS if m not in arrays]
    if missing:
        raise PipelineError(f"{path}: not Keras's imdb.npz, missing member(s) "
                            f"{', '.join(missing)} (has: {', '.join(sorted(arrays)) or 'none'})")
    splits: dict[str, Flat] = {}
    for split in SPLITS:
        ranks, offsets = rank_lists(path, f"x_{split}", arrays[f"x_{split}"])
        labels = _labels(path, f"y_{split}", arrays[f"y_{split}"], len(offsets) - 1)
        splits[split] = (ranks, offsets, labels)
    return splits


def _as_lists(values: np.ndarray, offsets: np.ndarray) -> list[list[int]]:
    flat = values.tolist()
    bounds = offsets.tolist()
    return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=False)]


def read_npz_safely(path: str | os.PathLike[str]) -> dict[str, list[list[int]] | np.ndarray]:
    """Read and check ``imdb.npz`` without ever running pickled code.

    Returns ``{"x_train": [[rank, ...], ...], "y_train": ndarray, "x_test": ...,
    "y_test": ...}``: the reviews as lists of Python ints (the word ranks as stored,
    not shifted), the labels as the file's integer arrays. Other members are ignored.
    Raises :class:`PipelineError` with a one-line message naming the file and the
    problem for a missing, truncated or non-zip file, a missing member, a refused
    pickle global, a review that is not a list of non-negative ints, labels other
    than 0/1, or a label count that differs from the review count.
    """
    result: dict[str, list[list[int]] | np.ndarray] = {}
    for split, (ranks, offsets, labels) in _read_flat(path).items():
        result[f"x_{split}"] = _as_lists(ranks, offsets)
        result[f"y_{split}"] = labels
    return result


# ------------------------------------------------------------------- Keras semantics

@overload
def check_num_words(num_words: None) -> None: ...


@overload
def check_num_words(num_words: int) -> int: ...


def check_num_words(num_words: object) -> int | None:
    """``num_words`` as an int, or None; :class:`PipelineError` for anything but None or
    a non-negative integer."""
    import numpy as np

    if num_words is None:
        return None
    if isinstance(num_words, bool) or not isinstance(num_words, (int, np.integer)) \
            or num_words < 0:
        raise PipelineError(f"num_words must be None or a non-negative integer, "
                            f"not {num_words!r}")
    return int(num_words)


def take_rows(values: np.ndarray, offsets: np.ndarray, rows: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Sequences ``rows`` (in that order) of a flat ``(values, offsets)`` pair."""
    import numpy as np

    lengths = np.diff(offsets)[rows]
    new_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    starts = np.repeat(offsets[:-1][rows] - new_offsets[:-1], lengths)
    return values[starts + np.arange(new_offsets[-1], dtype=np.int64)], new_offsets


def _encoded(path: str | os.PathLike[str], num_words: int | None, seed: int
             ) -> dict[str, Flat]:
    """Keras's pipeline on flat arrays: ``{split: (indices int64, offsets, labels)}``."""
    import numpy as np

    num_words = check_num_words(num_words)
    splits = _read_flat(path)
    rng = np.random.RandomState(seed)
    shifted: dict[str, Flat] = {}
    for split in SPLITS:  # train first, then test, with the same generator
        ranks, offsets, labels = splits[split]
        order = np.arange(len(offsets) - 1)
        rng.shuffle(order)
        ranks, offsets = take_rows(ranks, offsets, order)
        indices = np.insert(ranks + INDEX_FROM, offsets[:-1], START_CHAR)
        offsets = offsets + np.arange(len(offsets), dtype=np.int64)
        shifted[split] = (indices, offsets, labels[order])
    if not num_words:  # Keras: ``if not num_words``, so 0 means the same as None
        num_words = max(int(indices.max()) for indices, _, _ in shifted.values())
    return {split: (np.where(indices < num_words, indices, OOV_CHAR), offsets, labels)
            for split, (indices, offsets, labels) in shifted.items()}


def load_data(path: str | os.PathLike[str], num_words: int | None = None, seed: int = 113
              ) -> tuple[tuple[list[list[int]], np.ndarray], tuple[list[list[int]], np.ndarray]]:
    """``keras.datasets.imdb.load_data(path, num_words=num_words, seed=seed)``, safely.

    Returns ``((x_train, y_train), (x_test, y_test))``: ``x_*`` lists of lists of
    Python ints (Keras returns the same lists in an object array), ``y_*`` integer
    label arrays of the dtype Keras gives (the file's, train and test concatenated).
    ``num_words``: ``None``/``0`` keeps every word but the largest index (Keras's
    exclusive bound), otherwise indices ``>= num_words`` become 2. See the module
    docstring for the exact steps.
    """
    import numpy as np

    encoded = _encoded(path, num_words, seed)
    label_dtype = np.result_type(*(labels.dtype for _, _, labels in encoded.values()))
    (x_train, off_train, y_train), (x_test, off_test, y_test) = \
        (encoded[split] for split in SPLITS)
    return ((_as_lists(x_train, off_train), y_train.astype(label_dtype)),
            (_as_lists(x_test, off_test), y_test.astype(label_dtype)))


def load_splits(path: str | os.PathLike[str], num_words: int | None = None, seed: int = 113
                ) -> dict[str, Flat]:
    """The same data as :func:`load_data`, flat, for the pipeline.

    Returns ``{"train": (values, offsets, labels), "test": (...)}``: review ``k`` is
    ``values[offsets[k]:offsets[k + 1]]`` (int32, starting with 1), ``offsets`` int64,
    ``labels`` int8 (1 = positive), in :func:`load_data`'s shuffled order. With an
    integer ``num_words`` every index is ``< num_words``, as
    :func:`pipeline.features.multihot.multi_hot` requires; with ``None`` the bound to use is
    ``max(values.max() of both splits) + 1``.
    """
    import numpy as np

    return {split: (indices.astype(np.int32), offsets, labels.astype(np.int8))
            for split, (indices, offsets, labels) in _encoded(path, num_words, seed).items()}


# ----------------------------------------------------------------------- word index

def md5_of(path: str | os.PathLike[str]) -> str:
    """Hex MD5 of a file (what Keras checks ``imdb_word_index.json`` with)."""
    hasher = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def _no_duplicate_keys(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise PipelineError(f"word {key!r} appears twice")
        result[key] = value
    return result


def read_word_index(path: str | os.PathLike[str], md5: str | None = None,
                    name: str = WORD_INDEX_NAME) -> dict[str, int]:
    """``imdb_word_index.json`` (or ``name``) as ``{word: rank}`` (rank 1 = most frequent).

    When ``md5`` is given (e.g. :data:`WORD_INDEX_MD5`) the file must have that MD5.
    Raises :class:`PipelineError` for a missing file, a checksum mismatch, invalid
    JSON, a top level that is not an object, a word given twice, or a rank that is
    not a positive integer.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_WORD_INDEX_BYTES + 1)
    except OSError as exc:
        raise PipelineError(f"{path}: cannot read the word index ({exc.strerror or exc})") \
            from None
    if len(data) > MAX_WORD_INDEX_BYTES:
        raise PipelineError(f"{path}: more than {MAX_WORD_INDEX_BYTES:,} bytes, not a word "
                            f"index (Keras's is 1.6 MB)")
    if md5 is not None:
        digest = hashlib.md5(data).hexdigest()
        if digest != md5.lower():
            raise PipelineError(f"{path} has MD5 {digest}, expected {md5}: not Keras's "
                                f"{name}, or corrupt")
    try:
        index = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except PipelineError as exc:
        raise PipelineError(f"{path}: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PipelineError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise PipelineError(f"{path}: JSON nested too deeply, not a word index (a flat "
                            f"object of word -> rank)") from None
    if not isinstance(index, dict):
        raise PipelineError(f"{path}: expected a JSON object of word -> rank, found a "
                            f"{type(index).__name__}")
    for word, rank in index.items():
        if type(rank) is not int or rank < 1:
            raise PipelineError(f"{path}: word {word!r} has rank {rank!r}, expected a "
                                f"positive integer")
    return index


def missing_rank_word(rank: int) -> str:
    """Placeholder for a rank no word has: never produced by the tokenizer (spaces)."""
    return f"<rank {rank}>"


def vocabulary_from_word_index(word_index: Mapping[str, int], num_words: int | None
                               ) -> list[str]:
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
        last = vocabulary_size(check_num_words(num_words))
    if last <= 0:
        return []
    words: list[str | None] = [None] * last
    for word, rank in word_index.items():
        if rank <= last:
            if words[rank - 1] is not None:
                raise PipelineError(f"word index: {words[rank - 1]!r} and {word!r} "
                                    f"both have rank {rank}")
            words[rank - 1] = word
    return [word if word is not None else missing_rank_word(p + 1)
            for p, word in enumerate(words)]


# --------------------------------------------------------------------------- fetching

class KerasFiles(Dataset):
    """What the Keras datasets share: a ``.npz`` of word-rank lists and a word index,
    each at its official address with its official hash, or a local copy checked by
    its format. Subclasses name their files and read them."""

    npz_name: str
    npz_url: str
    npz_sha256: str
    word_index_name: str
    word_index_url: str
    word_index_md5: str

    def fetch_both(self, folder: Path, read: Callable[[Path], Any], *, progress: Progress | None,
                   sha256: str, url: str, word_index_url: str) -> tuple[Any, str, str, str]:
        """Fetch the ``.npz`` and the word index into ``folder`` and check both.

        The official addresses are checked against the official hashes; local copies
        (paths or file:// URLs) by their format: ``read(npz path)`` must accept the
        ``.npz`` (what it returns is returned), :func:`read_word_index` the index. Errors
        name the address the user gave, never the staging copy. Returns ``(read's result,
        sha256, url, word_index_url)``.
        """
        url = url or self.npz_url
        word_index_url = word_index_url or self.word_index_url
        npz, index = Path(folder) / self.npz_name, Path(folder) / self.word_index_name
        expected = sha256 or (self.npz_sha256 if url == self.npz_url else None)
        digest = fetch_file(url, npz, name=self.npz_name, sha256=expected, progress=progress)
        fetch_file(word_index_url, index, name=self.word_index_name,
                   parameter="word_index_url", progress=progress)
        try:
            data = read(npz)
            read_word_index(index, name=self.word_index_name,
                            md5=self.word_index_md5
                            if word_index_url == self.word_index_url else None)
        except PipelineError as exc:
            raise PipelineError(str(exc).replace(str(npz), url)
                                .replace(str(index), word_index_url)) from None
        return data, digest, url, word_index_url

    def encoded(self, folder: Path, splits: Mapping[str, Flat], num_words: int) -> Encoded:
        """``{split: (values, offsets, labels)}`` as load_data gives them, with the
        vocabulary of the word index; a document's name is its position in its split
        (there are no file names)."""
        import numpy as np

        found = {}
        for split, (values, offsets, labels) in splits.items():
            names = np.asarray([f"{split}-{i}" for i in range(len(labels))])
            found[split] = Split(values, offsets, labels.astype(np.int16), names)
        vocabulary = vocabulary_from_word_index(
            read_word_index(Path(folder) / self.word_index_name, name=self.word_index_name),
            num_words)
        counts = np.bincount(found["train"].values, minlength=num_words)[
            INDEX_FROM + 1:INDEX_FROM + 1 + len(vocabulary)]
        return Encoded(found, vocabulary, [int(c) for c in counts])


class KerasImdb(KerasFiles):
    """``keras.datasets.imdb``'s files, read as ``load_data()`` reads them."""

    name = "keras_imdb"
    title = "IMDB movie reviews (Keras's preprocessed imdb.npz)"
    class_names = CLASS_NAMES
    files = {"npz": NPZ_NAME, "word_index": WORD_INDEX_NAME}
    addresses = {"url": "npz", "word_index_url": "word_index"}
    npz_name, npz_url, npz_sha256 = NPZ_NAME, NPZ_URL, NPZ_SHA256
    word_index_name, word_index_url, word_index_md5 = (WORD_INDEX_NAME, WORD_INDEX_URL,
                                                       WORD_INDEX_MD5)

    def fetch(self, folder: Path, addresses: Mapping[str, str], *, sha256: str = "",
              progress: Progress | None = None) -> dict[str, Any]:
        import numpy as np

        data, digest, url, word_index_url = self.fetch_both(
            folder, read_npz_safely, progress=progress, sha256=sha256,
            url=addresses.get("url", ""), word_index_url=addresses.get("word_index_url", ""))
        reviews = {f"{split}/{label}": int(np.sum(np.asarray(data[f"y_{split}"]) == value))
                   for split in SPLITS for label, value in (("neg", 0), ("pos", 1))}
        return {"source": url, "word_index_source": word_index_url, "sha256": digest,
                "reviews": reviews,
                "documents": {split: len(data[f"x_{split}"]) for split in SPLITS}}

    def read(self, folder: Path, num_words: int, params: Values) -> Encoded:
        """``load_data(num_words=num_words)`` on the files in ``folder``, flat."""
        return self.encoded(folder, load_splits(Path(folder) / NPZ_NAME, num_words),
                            num_words)
