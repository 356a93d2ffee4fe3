"""The Large Movie Review Dataset (Maas et al., 2011) from its archive aclImdb_v1.tar.gz.

Reviews are read straight from the archive (nothing is extracted), tokenized and
encoded as :mod:`pipeline.datasets.text` says; the vocabulary comes from the training
reviews only. Labels: 0 = negative (rating <= 4), 1 = positive (rating >= 7).
"""
import gzip
import io
import os
import re
import sys
import tarfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from ..errors import PipelineError
from ..lifeline import die_with
from . import SPLITS, Encoded, Split
from .download import fetch_file
from .text import TooMuchText, build_vocabulary, encode_split, tokenize_documents

TITLE = "IMDB movie reviews"
CLASS_NAMES = ("negative", "positive")
FOLDERS = ("neg", "pos")  # label k is in folder FOLDERS[k]
ARCHIVE_NAME = "aclImdb_v1.tar.gz"
FILES = {"archive": ARCHIVE_NAME}
ADDRESSES = {"url": "archive"}  # DownloadDataset parameter -> the file it gives

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
OFFICIAL_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"

REVIEW_RE = re.compile(r"^aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


# --------------------------------------------------------------------------- the interface

def fetch(folder, *, progress=None, sha256=None, url=""):
    """Fetch the archive into ``folder`` and check its layout; returns the manifest."""
    url = url or OFFICIAL_URL
    expected = sha256 or (OFFICIAL_SHA256 if url == OFFICIAL_URL else None)
    archive = Path(folder) / ARCHIVE_NAME
    digest = fetch_file(url, archive, name=ARCHIVE_NAME, sha256=expected, progress=progress)
    reviews = validate_archive(archive, shown=url)
    return {"source": url, "sha256": digest, "reviews": reviews,
            "documents": {split: sum(n for key, n in reviews.items()
                                     if key.startswith(f"{split}/")) for split in SPLITS}}


def read(folder, num_words):
    """Both splits of the archive in ``folder`` as integer sequences."""
    tokenized = tokenize_archive(Path(folder) / ARCHIVE_NAME)
    vocabulary, counts = build_vocabulary(tokenized["train"], num_words)
    splits = {}
    for split, data in tokenized.items():
        values, offsets = encode_split(data, vocabulary)
        splits[split] = Split(values, offsets, data.labels, data.names)
    return Encoded(splits, vocabulary, counts)


def texts(folder, split):
    """``(label, name, text)`` of each document of ``split``, in the order :func:`read`
    gives them (for representations that read the text itself, such as n-grams)."""
    for _, label, name, text in iter_reviews(Path(folder) / ARCHIVE_NAME, split):
        yield label, name, text


def original_text(folder, split, name, label):
    """The text of review ``name`` (its file name) of ``split``, or None."""
    return read_review(Path(folder) / ARCHIVE_NAME, split, FOLDERS[label], name)


# ------------------------------------------------------------------ reading the archive

def _check_member_name(name, archive):
    # string operations, not PurePosixPath (0.45 s per pass over 50,000 members)
    if name.startswith("/") or ".." in name.split("/"):
        raise PipelineError(f"{archive}: unsafe path in archive: {name!r} (absolute or "
                            f"with '..')")


class _UnusualTar(Exception):
    """A header the fast scanner does not handle: the archive is read with tarfile."""


_ZERO_BLOCK = bytes(512)
_PLAIN_TYPES = (b"0", b"\0", b"5")  # regular file (new and old style), folder


def _octal(field):
    field = field.split(b"\0", 1)[0].strip()
    if not field:
        return 0
    if not field.isdigit() or b"8" in field or b"9" in field:
        raise _UnusualTar
    return int(field, 8)


def _parse_header(header):
    """``(name, is_file, size)`` of a plain ustar/GNU header, else :class:`_UnusualTar`."""
    typeflag = header[156:157]
    if typeflag not in _PLAIN_TYPES or header[257:262] != b"ustar":
        raise _UnusualTar
    if _octal(header[148:156]) != sum(header[:148]) + 256 + sum(header[156:]):
        raise _UnusualTar
    size = _octal(header[124:136])
    name = header[:100].split(b"\0", 1)[0]
    prefix = header[345:500].split(b"\0", 1)[0]
    if prefix:
        name = prefix + b"/" + name
    name = name.decode("utf-8", "surrogateescape")
    is_file = typeflag != b"5" and not name.endswith("/")
    return (name if is_file else name.rstrip("/")), is_file, size


def scan_tar(data):
    """``(name, is_file, start, size)`` of each member of an uncompressed tar in memory.

    Reads the 512-byte headers directly, about four times faster than tarfile's
    member objects on 50,000 small files. Only plain ustar/GNU headers of files and
    folders are handled; anything else (long names, pax headers, links, binary sizes, a
    bad checksum, a member running past the end) raises :class:`_UnusualTar` before
    anything is used. (:func:`_members` reads archives the same way, streamed.)
    """
    members, offset, end = [], 0, len(data)
    while True:
        header = data[offset:offset + 512]
        if len(header) < 512:
            raise _UnusualTar  # truncated, or no end marker: let tarfile judge
        if header == _ZERO_BLOCK:
            return members
        name, is_file, size = _parse_header(header)
        if offset + 512 + size > end:
            raise _UnusualTar
        members.append((name, is_file, offset + 512, size))
        offset += 512 + (size + 511) // 512 * 512


#: The largest member :func:`_members` reads into memory (a review file; the longest of
#: the 100,000 IMDB reviews is 13.7 KB). Larger members are refused when read, and
#: members nobody reads (anything not named like a review) are skipped, streamed.
MAX_MEMBER_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_STREAM_BUFFER = 1 << 16


def _refuse_member(shown, name, size):
    raise PipelineError(f"{shown}: member {name} is {size:,} bytes, more than the "
                        f"{MAX_MEMBER_BYTES:,} a review file may have: not the aclImdb "
                        f"archive, or tampered with")


def _corrupt(shown, exc):
    detail = "ends inside a member" if isinstance(exc, _UnusualTar) else exc
    return PipelineError(f"{shown}: archive is truncated or corrupt ({detail})")


def _open_stream(path):
    """The archive's uncompressed tar bytes as a stream (gzip decompressed on the fly),
    or None for another compression (then only tarfile reads it)."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if magic == _GZIP_MAGIC:
        return io.BufferedReader(gzip.open(path, "rb"), _STREAM_BUFFER)
    if magic in (b"BZ", b"\xfd7"):
        return None
    return open(path, "rb", buffering=_STREAM_BUFFER)


def _read_exact(stream, size):
    data = stream.read(size)
    if len(data) != size:
        raise _UnusualTar  # truncated: tarfile judges and names it
    return data


def _skip(stream, size):
    while size > 0:
        chunk = stream.read(min(size, 1 << 20))
        if not chunk:
            raise _UnusualTar
        size -= len(chunk)


def _fast_members(stream, shown, done):
    """Plain headers read from ``stream`` one member at a time; ``done[0]`` counts the
    members given so far (so tarfile can take over after them)."""
    while True:
        header = stream.read(512)
        if len(header) < 512:
            raise _UnusualTar
        if header == _ZERO_BLOCK:
            _drain(stream)
            return
        name, is_file, size = _parse_header(header)
        state = {"left": size}

        def read(name=name, size=size, state=state):
            if size > MAX_MEMBER_BYTES:
                _refuse_member(shown, name, size)
            state["left"] = 0
            try:
                return _read_exact(stream, size)
            except (_UnusualTar, EOFError, OSError, zlib.error) as exc:
                raise _corrupt(shown, exc) from None

        done[0] += 1
        yield name, is_file, read
        _skip(stream, state["left"] + (-size) % 512)


def _members(path, shown=None):
    """``(name, is_file, read)`` of each member of the archive, in order, streamed:
    ``read()`` gives a member's bytes and must be called before the next member is
    asked for. A member larger than :data:`MAX_MEMBER_BYTES` is refused when read;
    members not read are skipped without being held in memory, so memory stays bounded
    whatever the archive holds or claims.

    Plain ustar/GNU headers are read directly (about four times faster than tarfile on
    50,000 small members); at the first unusual header (long names, pax headers, links,
    binary sizes, a bad checksum, truncated data) tarfile takes over in its streaming
    mode, from the archive's start, skipping the members already given. Errors are
    :class:`PipelineError` naming ``shown`` (else ``path``).
    """
    shown = shown or path
    done = [0]
    try:
        stream = _open_stream(path)
    except OSError as exc:
        raise PipelineError(f"{shown}: not a readable archive ({exc.strerror or exc})") \
            from None
    if stream is not None:
        try:
            yield from _fast_members(stream, shown, done)
            return
        except _UnusualTar:
            pass
        except (EOFError, OSError, zlib.error) as exc:
            raise PipelineError(f"{shown}: not a readable archive, truncated or corrupt "
                                f"({exc})") from None
        finally:
            stream.close()
    try:
        stream = _open_stream(path)
        archive = tarfile.open(path, "r|*") if stream is None else \
            tarfile.open(fileobj=stream, mode="r|")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise PipelineError(f"{shown}: not a readable archive, truncated or corrupt "
                            f"({exc})") from None
    try:
        for position, member in enumerate(archive):
            if position < done[0]:
                continue

            def read(member=member):
                if member.size > MAX_MEMBER_BYTES:
                    _refuse_member(shown, member.name, member.size)
                try:
                    return archive.extractfile(member).read()
                except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
                    raise _corrupt(shown, exc) from None

            yield member.name, member.isfile(), read
        _drain(archive.fileobj if stream is None else stream)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise PipelineError(f"{shown}: archive is truncated or corrupt ({exc})") from None
    finally:
        archive.close()
        if stream is not None:
            stream.close()


def _drain(stream):
    """Read to the end (tarfile stops at a bad header as if the archive ended there;
    reading on makes gzip check its CRC and length, so corruption is found)."""
    while stream.read(1 << 20):
        pass


def iter_reviews(path, split=None):
    """Yield ``(split, label, file_name, text)`` for each review, straight from the archive.

    Nothing is extracted to disk. Member names are checked (no absolute paths, no
    ``..``); only regular files named ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt``
    are reviews. A truncated or corrupt archive raises :class:`PipelineError`.
    """
    for name, is_file, read in _members(path):
        _check_member_name(name, path)
        match = REVIEW_RE.match(name)
        if not match or not is_file:
            continue
        if split is not None and match[1] != split:
            continue
        yield match[1], FOLDERS.index(match[2]), name.rsplit("/", 1)[-1], \
            read().decode("utf-8", errors="replace")


def read_review(path, split, folder, file_name):
    """The original text of one review (``folder``: pos or neg), or None."""
    name = f"aclImdb/{split}/{folder}/{file_name}"
    for member, is_file, read in _members(path):
        if member == name and is_file:
            return read().decode("utf-8", errors="replace")
    return None


def validate_archive(path, shown=None):
    """Check the layout: reviews in all of train/test x pos/neg. Returns the counts.

    Messages name ``shown`` (the address the user gave) instead of ``path``.
    """
    shown = shown or path
    counts = {(split, label): 0 for split in SPLITS for label in ("neg", "pos")}
    for name, is_file, _ in _members(path, shown):
        _check_member_name(name, shown)
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

def tokenize_split(path, split):
    """Read and tokenize one split of the archive into a ``TokenizedSplit``."""
    try:
        return tokenize_documents((label, name, text)
                                  for _, label, name, text in iter_reviews(path, split))
    except TooMuchText as exc:
        raise PipelineError(f"{path}: the {split} reviews hold {exc}: not the aclImdb "
                            f"archive, or tampered with") from None


def tokenize_archive(path, parallel=True):
    """Tokenize both splits, each in its own forked process when ``parallel``.

    Forking is only safe while TensorFlow is not loaded in this process (its
    threads do not survive a fork); otherwise, and when ``parallel`` is false, the
    splits are read one after the other. (``spawn`` would be safe but re-imports
    the caller's ``__main__``, which breaks unguarded scripts.) Each worker reads the
    archive streamed, and dies with this process (:func:`pipeline.lifeline.die_with`).
    """
    if not parallel or "tensorflow" in sys.modules:
        return {split: tokenize_split(path, split) for split in SPLITS}
    with ProcessPoolExecutor(max_workers=len(SPLITS), mp_context=get_context("fork"),
                             initializer=die_with, initargs=(os.getpid(),)) as pool:
        futures = {split: pool.submit(tokenize_split, str(path), split) for split in SPLITS}
        return {split: future.result() for split, future in futures.items()}
