"""The Large Movie Review Dataset (Maas et al., 2011) from its archive aclImdb_v1.tar.gz.

Reviews are read straight from the archive (nothing is extracted), tokenized and
encoded as :mod:`pipeline.ml.text` says; the vocabulary comes from the training
reviews only. Labels: 0 = negative (rating <= 4), 1 = positive (rating >= 7).
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ..errors import PipelineError
from ..io.archive import Member, check_member_name, members
from ..io.download import fetch_file
from ..io.lifeline import die_with
from ..ml.text import (
    SPLITS,
    Encoded,
    Split,
    TokenizedSplit,
    TooMuchText,
    build_vocabulary,
    encode_split,
    tokenize_documents,
)
from ..params import Values
from .base import Dataset, Progress

CLASS_NAMES = ("negative", "positive")
FOLDERS = ("neg", "pos")  # label k is in folder FOLDERS[k]
ARCHIVE_NAME = "aclImdb_v1.tar.gz"

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
OFFICIAL_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"

REVIEW_RE = re.compile(r"^aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
#: The largest review file read (the longest of the 100,000 IMDB reviews is 13.7 KB).
MAX_REVIEW_BYTES = 1 << 20
_TOO_LARGE = "a review file may have: not the aclImdb archive, or tampered with"


def _members(path: Path | str, shown: object = None) -> Iterator[Member]:
    return members(path, shown, MAX_REVIEW_BYTES, _TOO_LARGE)


def iter_reviews(path: Path | str, split: str | None = None
                 ) -> Iterator[tuple[str, int, str, str]]:
    """Yield ``(split, label, file_name, text)`` for each review, straight from the archive.

    Nothing is extracted to disk. Member names are checked (no absolute paths, no
    ``..``); only regular files named ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt``
    are reviews. A truncated or corrupt archive raises :class:`PipelineError`.
    """
    for name, is_file, read in _members(path):
        check_member_name(name, path)
        match = REVIEW_RE.match(name)
        if not match or not is_file:
            continue
        if split is not None and match[1] != split:
            continue
        yield match[1], FOLDERS.index(match[2]), name.rsplit("/", 1)[-1], \
            read().decode("utf-8", errors="replace")


def read_review(path: Path | str, split: str, folder: str, file_name: str) -> str | None:
    """The original text of one review (``folder``: pos or neg), or None."""
    name = f"aclImdb/{split}/{folder}/{file_name}"
    for member, is_file, read in _members(path):
        if member == name and is_file:
            return read().decode("utf-8", errors="replace")
    return None


def validate_archive(path: Path | str, shown: object = None) -> dict[str, int]:
    """Check the layout: reviews in all of train/test x pos/neg. Returns the counts.

    Messages name ``shown`` (the address the user gave) instead of ``path``.
    """
    shown = shown or path
    counts = {(split, label): 0 for split in SPLITS for label in ("neg", "pos")}
    for name, is_file, _ in _members(path, shown):
        check_member_name(name, shown)
        match = REVIEW_RE.match(name)
        if match and is_file:
            counts[(match[1], match[2])] += 1
    missing = [f"aclImdb/{s}/{label}/" for (s, label), n in counts.items() if n == 0]
    if missing:
        raise PipelineError(
            f"{shown}: not the aclImdb layout: no review files (<id>_<rating>.txt) in "
            f"{', '.join(missing)}")
    return {f"{s}/{label}": n for (s, label), n in counts.items()}


# ----------------------------------------------------------------------- tokenizing

def tokenize_split(path: Path | str, split: str) -> TokenizedSplit:
    """Read and tokenize one split of the archive into a ``TokenizedSplit``."""
    try:
        return tokenize_documents((label, name, text)
                                  for _, label, name, text in iter_reviews(path, split))
    except TooMuchText as exc:
        raise PipelineError(f"{path}: the {split} reviews hold {exc}: not the aclImdb "
                            f"archive, or tampered with") from None


def tokenize_archive(path: Path | str, parallel: bool = True) -> dict[str, TokenizedSplit]:
    """Tokenize both splits, each in its own forked process when ``parallel``.

    Forking is only safe while TensorFlow is not loaded in this process (its
    threads do not survive a fork); otherwise, and when ``parallel`` is false, the
    splits are read one after the other. (``spawn`` would be safe but re-imports
    the caller's ``__main__``, which breaks unguarded scripts.) Each worker reads the
    archive streamed, and dies with this process (:func:`pipeline.io.lifeline.die_with`).
    """
    if not parallel or "tensorflow" in sys.modules:
        return {split: tokenize_split(path, split) for split in SPLITS}
    with ProcessPoolExecutor(max_workers=len(SPLITS), mp_context=get_context("fork"),
                             initializer=die_with, initargs=(os.getpid(),)) as pool:
        futures = {split: pool.submit(tokenize_split, str(path), split) for split in SPLITS}
        return {split: future.result() for split, future in futures.items()}


class AclImdb(Dataset):
    """The reviews read straight from aclImdb_v1.tar.gz; labels from their folders."""

    name = "aclimdb"
    title = "IMDB movie reviews"
    class_names = CLASS_NAMES
    files = {"archive": ARCHIVE_NAME}
    addresses = {"url": "archive"}

    def fetch(self, folder: Path, addresses: Mapping[str, str], *, sha256: str = "",
              progress: Progress | None = None) -> dict[str, Any]:
        """Fetch the archive into ``folder`` and check its layout."""
        url = addresses.get("url") or OFFICIAL_URL
        expected = sha256 or (OFFICIAL_SHA256 if url == OFFICIAL_URL else None)
        archive = Path(folder) / ARCHIVE_NAME
        digest = fetch_file(url, archive, name=ARCHIVE_NAME, sha256=expected,
                            progress=progress)
        reviews = validate_archive(archive, shown=url)
        return {"source": url, "sha256": digest, "reviews": reviews,
                "documents": {split: sum(n for key, n in reviews.items()
                                         if key.startswith(f"{split}/")) for split in SPLITS}}

    def read(self, folder: Path, num_words: int, params: Values) -> Encoded:
        """Both splits of the archive in ``folder`` as integer sequences."""
        tokenized = tokenize_archive(Path(folder) / ARCHIVE_NAME)
        vocabulary, counts = build_vocabulary(tokenized["train"], num_words)
        splits: dict[str, Split] = {}
        for split, data in tokenized.items():
            values, offsets = encode_split(data, vocabulary)
            splits[split] = Split(values, offsets, data.labels, data.names)
        return Encoded(splits, vocabulary, counts)

    def texts(self, folder: Path, split: str, params: Values
              ) -> Iterator[tuple[int, str, str]]:
        for _, label, name, text in iter_reviews(Path(folder) / ARCHIVE_NAME, split):
            yield label, name, text

    def original_text(self, folder: Path, split: str, name: str, label: int) -> str | None:
        """The text of review ``name`` (its file name) of ``split``."""
        return read_review(Path(folder) / ARCHIVE_NAME, split, FOLDERS[label], name)
