"""The Large Movie Review Dataset: fetching, checking and reading the archive, and
turning reviews into Keras-style integer sequences.

Encoding follows ``keras.datasets.imdb``: 0 is padding, 1 starts every review, 2 is
any word outside the vocabulary, 3 is unused, and the word of frequency rank ``r``
(1 = most frequent in the *training* reviews) is ``r + 3``. ``num_words`` bounds the
index space like Keras's argument does: indices ``< num_words`` are kept, so the
vocabulary holds the ``num_words - 4`` most frequent training words.
"""
import gzip
import hashlib
import io
import re
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import count
from multiprocessing import get_context
from pathlib import Path, PurePosixPath

from .errors import PipelineError

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
OFFICIAL_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"

PAD, START, OOV, UNUSED = 0, 1, 2, 3
INDEX_FROM = 3
ARCHIVE_NAME = "aclImdb_v1.tar.gz"
SPLITS = ("train", "test")
LABELS = {"neg": 0, "pos": 1}

REVIEW_RE = re.compile(r"^aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
_BREAKS = ("<br />", "<br/>", "<br>")  # matched after lowercasing
# Typographic apostrophes, acute accents and backticks used as apostrophes ("don’t",
# "don´t", "don`t") count as "'"; 300 training reviews have them.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u00b4": "'", "`": "'"})
# A word is a run of letters or digits; apostrophes are kept inside a word
# ("don't", "rock'n'roll") and dropped elsewhere, like every other punctuation mark.
_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

_CHUNK = 1 << 20


# --------------------------------------------------------------------------- fetching

def fetch_archive(url, destination, sha256=None, timeout=60, name=ARCHIVE_NAME,
                  parameter="url"):
    """Copy or download the file at ``url`` (http(s), file:// or a path) to ``destination``.

    The caller writes ``destination`` atomically. Returns the SHA-256 of the copy.
    Raises :class:`PipelineError` with a paragraph that says how to work offline when
    the file cannot be fetched, and when ``sha256`` is given and does not match. The
    messages call the file ``name`` and name DownloadDataset's ``parameter``, the one
    that gives its address.
    """
    option = f"--DownloadDataset-{parameter.replace('_', '-')} /path/to/{name}"
    config = f"{parameter} = /path/to/{name} under [DownloadDataset] in luigi.cfg"
    scheme = urllib.parse.urlparse(url).scheme.lower()
    if scheme in ("http", "https", "ftp"):
        digest = _download(url, destination, timeout, name, option, config)
    else:
        source = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)) \
            if scheme == "file" else Path(url).expanduser()
        if not source.is_file():
            raise PipelineError(
                f"DownloadDataset: no file at {source}. Give the path of a copy of {name} "
                f"with {option} (or {config}).")
        digest = _copy(source, destination)
    if sha256 and digest != sha256.lower():
        raise PipelineError(
            f"DownloadDataset: {url} has SHA-256 {digest}, expected {sha256}: the archive "
            f"is corrupt, truncated or not the dataset. Nothing was kept.")
    return digest


def _copy(source, destination):
    hasher = hashlib.sha256()
    with open(source, "rb") as src, open(destination, "wb") as dst:
        while chunk := src.read(_CHUNK):
            hasher.update(chunk)
            dst.write(chunk)
    return hasher.hexdigest()


def _download(url, destination, timeout, name, option, config):
    hasher = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, \
                open(destination, "wb") as dst:
            while chunk := response.read(_CHUNK):
                hasher.update(chunk)
                dst.write(chunk)
    except urllib.error.HTTPError as exc:
        raise PipelineError(
            f"DownloadDataset: {url} answered HTTP {exc.code} ({exc.reason}): the address "
            f"is wrong or the file moved. Give another address or a local copy with "
            f"{option}.") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PipelineError(
            f"DownloadDataset: could not download {url} ({reason}). This machine may be "
            f"offline. Download {name} on a connected machine and point the pipeline at "
            f"the local copy: luigi --module pipeline RunAll --local-scheduler {option} "
            f"(or set {config}).") from None
    return hasher.hexdigest()


# ------------------------------------------------------------------ reading the archive

def _check_member_name(name):
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise PipelineError(f"unsafe path in archive: {name!r} (absolute or with '..')")


def _open_archive(path):
    """Open a tar archive; a gzip one is decompressed in memory first (twice as fast
    as tarfile's seeking through the compressed stream for 50,000 small members)."""
    try:
        with open(path, "rb") as handle:
            compressed = handle.read(2) == b"\x1f\x8b"
        if compressed:
            with open(path, "rb") as handle:
                return tarfile.open(fileobj=io.BytesIO(gzip.decompress(handle.read())))
        return tarfile.open(path, "r:*")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise PipelineError(f"{path}: not a readable archive, truncated or corrupt "
                            f"({exc})") from None


def iter_reviews(path, split=None):
    """Yield ``(split, label, file_name, text)`` for each review, straight from the archive.

    Nothing is extracted to disk. Member names are checked (no absolute paths, no
    ``..``); only regular files named ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt``
    are reviews. A truncated or corrupt archive raises :class:`PipelineError`.
    """
    archive = _open_archive(path)
    try:
        for member in archive:
            _check_member_name(member.name)
            match = REVIEW_RE.match(member.name)
            if not match or not member.isfile():
                continue
            if split is not None and match[1] != split:
                continue
            data = archive.extractfile(member).read()
            yield match[1], LABELS[match[2]], PurePosixPath(member.name).name, \
                data.decode("utf-8", errors="replace")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise PipelineError(f"{path}: archive is truncated or corrupt ({exc})") from None
    finally:
        archive.close()


def read_review(path, split, label, file_name):
    """The original text of one review (``label`` is the folder: pos or neg), or None."""
    name = f"aclImdb/{split}/{label}/{file_name}"
    archive = _open_archive(path)
    try:
        member = archive.getmember(name)
        return archive.extractfile(member).read().decode("utf-8", errors="replace")
    except KeyError:
        return None
    finally:
        archive.close()


def validate_archive(path):
    """Check the layout: reviews in all of train/test x pos/neg. Returns the counts."""
    counts = {(split, label): 0 for split in SPLITS for label in LABELS}
    archive = _open_archive(path)
    try:
        for member in archive:
            _check_member_name(member.name)
            match = REVIEW_RE.match(member.name)
            if match and member.isfile():
                counts[(match[1], match[2])] += 1
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise PipelineError(f"{path}: archive is truncated or corrupt ({exc})") from None
    finally:
        archive.close()
    missing = [f"aclImdb/{s}/{label}/" for (s, label), n in counts.items() if n == 0]
    if missing:
        raise PipelineError(
            f"{path}: not the aclImdb layout: no review files (<id>_<rating>.txt) in "
            f"{', '.join(missing)}")
    return {f"{s}/{label}": n for (s, label), n in counts.items()}


def fetch_source(folder, url, sha256=None):
    """DownloadDataset for the aclImdb archive: fetch into ``folder``, check, manifest."""
    url = url or OFFICIAL_URL
    expected = sha256 or (OFFICIAL_SHA256 if url == OFFICIAL_URL else None)
    archive = Path(folder) / ARCHIVE_NAME
    digest = fetch_archive(url, archive, sha256=expected)
    return {"source": url, "sha256": digest, "reviews": validate_archive(archive)}


def sequences_from_source(folder, num_words):
    """Vectorize for the aclImdb archive in ``folder``.

    Returns ``(splits, vocabulary, counts)``: ``splits[split]`` is ``(values, offsets,
    labels, files)``, the Keras-encoded sequences of the split.
    """
    tokenized = tokenize_archive(Path(folder) / ARCHIVE_NAME)
    vocabulary, counts = build_vocabulary(tokenized["train"], num_words)
    splits = {}
    for split, data in tokenized.items():
        values, offsets = encode_split(data, vocabulary)
        splits[split] = (values, offsets, data.labels, data.files)
    return splits, vocabulary, counts


# ----------------------------------------------------------------------- tokenizing

def tokenize(text):
    """Lowercase words of a review: ``<br />`` removed, punctuation dropped."""
    text = text.lower().translate(_APOSTROPHES)
    for line_break in _BREAKS:
        text = text.replace(line_break, " ")
    return _WORD_RE.findall(text)


@dataclass
class TokenizedSplit:
    """One split as provisional word ids: ``words[i]`` is the word of id ``i``."""

    words: list
    ids: "object"        # int32, all reviews' ids concatenated
    offsets: "object"    # int64, review k is ids[offsets[k]:offsets[k + 1]]
    labels: "object"     # int8, 1 = positive
    files: "object"      # str, file name of each review in the archive


def tokenize_split(path, split):
    """Read and tokenize one split of the archive into a :class:`TokenizedSplit`."""
    import numpy as np

    word_ids = defaultdict(count().__next__)  # a new word gets the next id
    ids, lengths, labels, files = [], [], [], []
    for _, label, name, text in iter_reviews(path, split):
        tokens = tokenize(text)
        ids.extend([word_ids[word] for word in tokens])
        lengths.append(len(tokens))
        labels.append(label)
        files.append(name)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return TokenizedSplit(list(word_ids), np.asarray(ids, dtype=np.int32), offsets,
                          np.asarray(labels, dtype=np.int8), np.asarray(files, dtype=str))


def tokenize_archive(path, parallel=True):
    """Tokenize both splits, each in its own forked process when ``parallel``.

    Forking is only safe while TensorFlow is not loaded in this process (its
    threads do not survive a fork); otherwise, and when ``parallel`` is false, the
    splits are read one after the other. (``spawn`` would be safe but re-imports
    the caller's ``__main__``, which breaks unguarded scripts.)
    """
    if not parallel or "tensorflow" in sys.modules:
        return {split: tokenize_split(path, split) for split in SPLITS}
    with ProcessPoolExecutor(max_workers=len(SPLITS), mp_context=get_context("fork")) as pool:
        futures = {split: pool.submit(tokenize_split, str(path), split) for split in SPLITS}
        return {split: future.result() for split, future in futures.items()}


# ------------------------------------------------------------------ vocabulary, encoding

def build_vocabulary(train, num_words):
    """The ``num_words - 4`` most frequent training words, most frequent first.

    Ties are broken alphabetically so the vocabulary does not depend on archive order.
    Returns ``(words, counts)``.
    """
    import numpy as np

    counts = np.bincount(train.ids, minlength=len(train.words))
    order = sorted(range(len(train.words)), key=lambda i: (-counts[i], train.words[i]))
    kept = order[:max(num_words - INDEX_FROM - 1, 0)]
    return [train.words[i] for i in kept], [int(counts[i]) for i in kept]


def word_index(vocabulary):
    """``word -> index`` as used in sequences (most frequent word = 4)."""
    return {word: rank + INDEX_FROM + 1 for rank, word in enumerate(vocabulary)}


def encode_split(tokenized, vocabulary):
    """Sequences of a split as ``(values, offsets)``: each review starts with 1."""
    import numpy as np

    index = word_index(vocabulary)
    lookup = np.fromiter((index.get(w, OOV) for w in tokenized.words), dtype=np.int32,
                         count=len(tokenized.words))
    encoded = lookup[tokenized.ids] if len(tokenized.ids) else np.zeros(0, np.int32)
    values = np.insert(encoded, tokenized.offsets[:-1], START).astype(np.int32)
    offsets = tokenized.offsets + np.arange(len(tokenized.offsets), dtype=np.int64)
    return values, offsets


def encode_texts(texts, vocabulary):
    """Encode new reviews exactly as the training reviews were (for prediction)."""
    index = word_index(vocabulary)
    return [[START] + [index.get(word, OOV) for word in tokenize(text)] for text in texts]


def decode_sequence(sequence, vocabulary):
    """A sequence back to words, as the model sees it; unknown words become ``?``."""
    words = {i: w for w, i in word_index(vocabulary).items()}
    return " ".join(words.get(int(i), "?") for i in sequence if int(i) not in (PAD, START))

