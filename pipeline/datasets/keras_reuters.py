"""Keras's preprocessed Reuters (``keras.datasets.reuters``): ``reuters.npz`` and its word index.

``reuters.npz`` holds two members: ``x``, an object array of 11,228 newswires (each a
list of word ranks, 1 = most frequent word of the corpus) and ``y``, their topic
numbers 0-45 (the order of :data:`pipeline.datasets.reuters.CLASS_NAMES`). The object
array is a pickle; :mod:`pipeline.io.safe_npz` reads it without running code.

:func:`load_splits` reproduces ``keras.datasets.reuters.load_data()`` (``test_split=0.2``,
``seed=113``, ``start_char=1``, ``oov_char=2``, ``index_from=3``): one shuffle of all
newswires, ``[1] + [rank + 3 ...]``, indices ``>= num_words`` become 2, the first
``int(0.8 n)`` for training. The word index, as for IMDB, gives the vocabulary.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import PipelineError
from ..ml.text import INDEX_FROM, OOV, SPLITS, START, Encoded
from ..params import Values
from .base import Progress
from .keras_imdb import Flat, KerasFiles, check_num_words, rank_lists, take_rows
from .reuters import CLASS_NAMES, KERAS_SEED, KERAS_TEST_FRACTION, Reuters

NPZ_NAME, WORD_INDEX_NAME = "reuters.npz", "reuters_word_index.json"

NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters.npz"
NPZ_SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_URL = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
                  "reuters_word_index.json")
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"  # keras.datasets.reuters.get_word_index


def _read(path: str | os.PathLike[str]) -> Flat:
    """``(ranks, offsets, labels)`` of every newswire, in file order, checked."""
    import numpy as np

    from ..io.safe_npz import read_members

    arrays = read_members(path)
    missing = [f"{m}.npy" for m in ("x", "y") if m not in arrays]
    if missing:
        raise PipelineError(f"{path}: not Keras's reuters.npz, missing member(s) "
                            f"{', '.join(missing)} (has: {', '.join(sorted(arrays)) or 'none'})")
    ranks, offsets = rank_lists(path, "x", arrays["x"])
    labels = arrays["y"]
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu" \
            or labels.ndim != 1:
        raise PipelineError(f"{path}: y must be a 1-D integer array of topic numbers")
    if len(labels) != len(offsets) - 1:
        raise PipelineError(f"{path}: y has {len(labels)} labels for {len(offsets) - 1} "
                            f"newswires")
    wrong = labels[(labels < 0) | (labels >= len(CLASS_NAMES))]
    if wrong.size:
        raise PipelineError(f"{path}: y holds topic {wrong[0]}; topics are 0 to "
                            f"{len(CLASS_NAMES) - 1}")
    return ranks, offsets, labels


def load_splits(path: str | os.PathLike[str], num_words: int | None = None,
                seed: int = KERAS_SEED, test_split: float = KERAS_TEST_FRACTION
                ) -> dict[str, Flat]:
    """``load_data(num_words=..., seed=..., test_split=...)`` on ``path``, flat:
    ``{"train": (values int32, offsets int64, labels int16), "test": ...}``."""
    import numpy as np

    num_words = check_num_words(num_words)
    ranks, offsets, labels = _read(path)
    order = np.arange(len(labels))
    np.random.RandomState(seed).shuffle(order)
    ranks, offsets = take_rows(ranks, offsets, order)
    labels = labels[order]
    indices = np.insert(ranks + INDEX_FROM, offsets[:-1], START)
    offsets = offsets + np.arange(len(offsets), dtype=np.int64)
    if not num_words:
        num_words = int(indices.max())
    indices = np.where(indices < num_words, indices, OOV).astype(np.int32)
    cut = int(len(labels) * (1 - test_split))
    splits: dict[str, Flat] = {}
    for split, rows in (("train", np.arange(cut)), ("test", np.arange(cut, len(labels)))):
        values, split_offsets = take_rows(indices, offsets, rows)
        splits[split] = (values, split_offsets, labels[rows].astype(np.int16))
    return splits


class KerasReuters(KerasFiles):
    """``keras.datasets.reuters``'s files, read as ``load_data()`` reads them; the
    topics, defaults and references of :class:`~pipeline.datasets.reuters.Reuters`."""

    name = "keras_reuters"
    title = "Reuters newswires (Keras's preprocessed reuters.npz)"
    class_names = CLASS_NAMES
    files = {"npz": NPZ_NAME, "word_index": WORD_INDEX_NAME}
    addresses = {"url": "npz", "word_index_url": "word_index"}
    defaults = Reuters.defaults
    references = Reuters.references
    variants = Reuters.variants
    npz_name, npz_url, npz_sha256 = NPZ_NAME, NPZ_URL, NPZ_SHA256
    word_index_name, word_index_url, word_index_md5 = (WORD_INDEX_NAME, WORD_INDEX_URL,
                                                       WORD_INDEX_MD5)

    def fetch(self, folder: Path, addresses: Mapping[str, str], *, sha256: str = "",
              progress: Progress | None = None) -> dict[str, Any]:
        splits, digest, url, word_index_url = self.fetch_both(
            folder, load_splits, progress=progress, sha256=sha256,
            url=addresses.get("url", ""), word_index_url=addresses.get("word_index_url", ""))
        return {"source": url, "word_index_source": word_index_url, "sha256": digest,
                "documents": {split: len(splits[split][2]) for split in SPLITS}}

    def read(self, folder: Path, num_words: int, params: Values) -> Encoded:
        """The newswires as ``load_data`` gives them, flat."""
        return self.encoded(folder, load_splits(Path(folder) / NPZ_NAME, num_words),
                            num_words)
