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
from ..io.archive import Member, Skipped, archive_format, check_member_name, members, pack_folder
from ..io.download import fetch_file, local_path, sha256_of
from ..io.lifeline import die_with, interruption, is_interruption
from ..io.progress import say
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

#: A review, however the archive was packed: ``aclImdb/train/pos/1_9.txt``, also below
#: another folder (``data/aclImdb/...``) or without the top folder (``train/pos/...``).
REVIEW_RE = re.compile(r"^(?:.*/)?(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
#: A file in a review folder that is not named like a review: counted and named.
_IN_REVIEW_FOLDER = re.compile(r"^(?:.*/)?(train|test)/(pos|neg)/[^/]+$")
#: The largest review file read (the longest of the 100,000 IMDB reviews is 13.7 KB).
MAX_REVIEW_BYTES = 1 << 20
_TOO_LARGE = "a review file may have: not the aclImdb archive, or tampered with"


def _members(path: Path | str, shown: object = None) -> Iterator[Member]:
    return members(path, shown, MAX_REVIEW_BYTES, _TOO_LARGE)


def scan(path: Path | str, shown: object = None, skipped: Skipped | None = None
         ) -> Iterator[tuple[Member, re.Match[str]]]:
    """Each review member of the archive (or extracted folder) and its name's match
    (groups: split, folder, id, rating), in order; a second copy of a review (the same
    split, folder and file name) is left out. Everything else is counted in
    ``skipped``. Member names are checked (no absolute paths, no ``..``)."""
    shown = shown or path
    seen: set[tuple[str, str, str]] = set()
    for member in _members(path, shown):
        check_member_name(member.name, shown)
        match = REVIEW_RE.match(member.name)
        if member.kind == "folder":
            continue
        if not member.is_file:
            if skipped is not None:
                skipped.unusual(member.name, member.note)
            continue
        if match is None:
            if skipped is not None:
                if _IN_REVIEW_FOLDER.match(member.name):
                    skipped.unusual(member.name, "in a review folder, not named "
                                                 "<id>_<rating>.txt")
                else:
                    skipped.ordinary(member.name)
            continue
        key = (match[1], match[2], member.name.rsplit("/", 1)[-1])
        if key in seen:
            if skipped is not None:
                skipped.unusual(member.name, f"a second copy of {'/'.join(key)}")
            continue
        seen.add(key)
        yield member, match


def iter_reviews(path: Path | str, split: str | None = None
                 ) -> Iterator[tuple[str, int, str, str]]:
    """Yield ``(split, label, file_name, text)`` for each review, straight from the archive.

    Nothing is extracted to disk. Only regular files (or links to them) named
    ``<id>_<rating>.txt`` in ``train|test/pos|neg/`` are reviews (see :func:`scan`). A
    truncated or corrupt archive raises :class:`PipelineError`.
    """
    for member, match in scan(path):
        if split is not None and match[1] != split:
            continue
        yield match[1], FOLDERS.index(match[2]), member.name.rsplit("/", 1)[-1], \
            member.read().decode("utf-8", errors="replace")


def read_review(path: Path | str, split: str, folder: str, file_name: str) -> str | None:
    """The original text of one review (``folder``: pos or neg), or None."""
    for member, match in scan(path):
        if (match[1], match[2]) == (split, folder) and \
                member.name.rsplit("/", 1)[-1] == file_name:
            return member.read().decode("utf-8", errors="replace")
    return None


def survey(path: Path | str, shown: object = None
           ) -> tuple[dict[str, int], dict[str, object], set[str]]:
    """Check the layout (reviews in all of train/test x pos/neg): ``(counts, skipped
    report, names of the reviews)``. Messages name ``shown`` (the address the user gave)
    instead of ``path``."""
    shown = shown or path
    counts = {(split, label): 0 for split in SPLITS for label in ("neg", "pos")}
    skipped = Skipped()
    names = set()
    for member, match in scan(path, shown, skipped):
        counts[(match[1], match[2])] += 1
        names.add(member.name)
    missing = [f"aclImdb/{s}/{label}/" for (s, label), n in counts.items() if n == 0]
    if missing:
        raise PipelineError(
            f"{shown}: not the aclImdb layout: no review files (<id>_<rating>.txt) in "
            f"{', '.join(missing)}")
    return {f"{s}/{label}": n for (s, label), n in counts.items()}, skipped.report(), names


def validate_archive(path: Path | str, shown: object = None) -> dict[str, int]:
    """The review counts of each split and folder (see :func:`survey`)."""
    return survey(path, shown)[0]


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
        try:
            return {split: future.result() for split, future in futures.items()}
        except SystemExit as exc:  # a tokenizer got Ctrl-C before this process did
            if is_interruption(exc):
                raise interruption() from None
            raise


class AclImdb(Dataset):
    """The reviews read straight from aclImdb_v1.tar.gz; labels from their folders."""

    name = "aclimdb"
    title = "IMDB movie reviews"
    class_names = CLASS_NAMES
    files = {"archive": ARCHIVE_NAME}
    addresses = {"url": "archive"}

    def fetch(self, folder: Path, addresses: Mapping[str, str], *, sha256: str = "",
              progress: Progress | None = None) -> dict[str, Any]:
        """Fetch the archive into ``folder`` and check its layout. An extracted folder
        (``url = /data/aclImdb``) is packed into the archive, its reviews only."""
        url = addresses.get("url") or OFFICIAL_URL
        expected = sha256 or (OFFICIAL_SHA256 if url == OFFICIAL_URL else None)
        archive = Path(folder) / ARCHIVE_NAME
        source = local_path(url) if url != OFFICIAL_URL else None
        if source is not None and source.is_dir():
            reviews, skipped, names = survey(source, shown=url)
            pack_folder(source, archive, names.__contains__, url, MAX_REVIEW_BYTES,
                        _TOO_LARGE)
            digest = sha256_of(archive)
            fmt = "folder"
        else:
            digest = fetch_file(url, archive, name=ARCHIVE_NAME, sha256=expected,
                                progress=progress)
            fmt = archive_format(archive, url)
            reviews, skipped, _ = survey(archive, shown=url)
        return {"source": url, "sha256": digest, "format": fmt, "reviews": reviews,
                "skipped": skipped,
                "documents": {split: sum(n for key, n in reviews.items()
                                         if key.startswith(f"{split}/")) for split in SPLITS}}

    def read(self, folder: Path, num_words: int, params: Values) -> Encoded:
        """Both splits of the archive in ``folder`` as integer sequences."""
        tokenized = tokenize_archive(Path(folder) / ARCHIVE_NAME)
        say(f"tokenized {len(tokenized['train'].labels):,} training and "
            f"{len(tokenized['test'].labels):,} test reviews")
        vocabulary, counts = build_vocabulary(tokenized["train"], num_words)
        say(f"vocabulary: the {len(vocabulary):,} most frequent of "
            f"{len(tokenized['train'].words):,} distinct training words")
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
