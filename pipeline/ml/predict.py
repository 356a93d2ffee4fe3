"""Scoring new documents with a trained model, encoded exactly as the training data was.

(The names say "review", the first dataset's documents; nothing here is IMDB-specific.)

Inputs: a text file (one review per line), a folder of ``.txt`` files (one review
each), or a CSV file with a ``text`` column (and optionally an ``id`` column). Bad
reviews never lose the good ones; each gets a row with a note instead:

- an empty (or blank) text: no probability, note ``empty text``;
- bytes that are not UTF-8: replaced by U+FFFD, scored, note ``invalid UTF-8 replaced``;
- a review with no word in the vocabulary: scored (the model then sees only the
  start and unknown-word markers, so the probability says nothing about the text),
  note ``no known words``.
"""
from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import PipelineError
from ..params import Values
from .text import Split, encode_texts, vocabulary_size

if TYPE_CHECKING:
    import numpy as np

#: The largest input file read (a text or CSV file of documents) and the largest
#: document in it: bounds on memory, far above any review (IMDB's longest: 13.7 KB).
MAX_INPUT_BYTES = 64 << 20
MAX_DOCUMENT_BYTES = 1 << 20
#: The most documents one input holds (each costs a few hundred bytes while scored).
MAX_DOCUMENTS = 1_000_000


@dataclass
class Review:
    id: str
    text: str
    notes: list[str] = field(default_factory=list)
    unreadable: bool = False  # not scored; its note says why


def _unreadable(review_id: str, reason: object) -> Review:
    return Review(review_id, "", [f"unreadable: {reason}"], unreadable=True)


def _read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; OSError/ValueError else."""
    if not path.is_file():
        raise ValueError("not a regular file")
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit:,} bytes")
    return data


def _decode(data: bytes, review: Review) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        review.notes.append("invalid UTF-8 replaced")
        return data.decode("utf-8", errors="replace")


def check_input(path: str | os.PathLike[str]) -> None:
    """One line unless ``path`` is a folder or a regular file of at most
    :data:`MAX_INPUT_BYTES` (called before any work)."""
    path = Path(path)
    if path.is_dir():
        return
    if not path.exists():
        raise PipelineError(f"input {path}: no such file or folder")
    if not path.is_file():
        raise PipelineError(f"input {path}: not a regular file; give a text file, a CSV "
                            f"file or a folder of .txt files")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PipelineError(f"input {path}: cannot read it ({exc.strerror or exc})") from None
    if size > MAX_INPUT_BYTES:
        raise PipelineError(f"input {path}: {size:,} bytes, more than the "
                            f"{MAX_INPUT_BYTES:,} read at once; split it into smaller files")


#: The most entries of an input folder read (aclImdb's largest folder has 12,500).
MAX_FOLDER_ENTRIES = 1_000_000


def text_files(folder: Path) -> list[Path]:
    """The ``.txt`` files of a folder (any case: ``A.TXT`` too, and hidden ones), sorted
    by name; one line when it cannot be listed or holds more than
    :data:`MAX_FOLDER_ENTRIES` entries."""
    found = []
    try:
        with os.scandir(folder) as entries:
            for count, entry in enumerate(entries, start=1):
                if count > MAX_FOLDER_ENTRIES:
                    raise PipelineError(f"input {folder}: more than {MAX_FOLDER_ENTRIES:,} "
                                        f"entries; split it into smaller folders")
                if entry.name.lower().endswith(".txt"):
                    found.append(Path(entry.path))
    except OSError as exc:
        raise PipelineError(f"input {folder}: cannot list the folder "
                            f"({exc.strerror or exc})") from None
    return sorted(found, key=lambda file: os.fsencode(file.name))


def input_digest(path: str | os.PathLike[str]) -> str:
    """A hash of what :func:`read_reviews` would read (names and contents), reading only
    regular files within the same bounds (an unreadable entry counts by its name)."""
    import hashlib

    path = Path(path)
    digest = hashlib.sha256()
    try:
        files = text_files(path) if path.is_dir() else [path]
    except PipelineError:
        files = []
    total = 0
    for file in files:
        try:
            data = _read_bounded(file, MAX_DOCUMENT_BYTES if path.is_dir() else MAX_INPUT_BYTES)
        except (OSError, ValueError) as exc:
            data = f"<unreadable: {exc}>".encode()
        total += len(data)
        if total > MAX_INPUT_BYTES:
            data = b"<over the limit>"
        digest.update(file.name.encode("utf-8", "surrogateescape") + b"\0" + data)
    return digest.hexdigest()


def read_reviews(path: str | os.PathLike[str]) -> list[Review]:
    """The reviews of a text file, a folder of .txt files or a CSV file with ``text``.

    The input must be a regular file of at most :data:`MAX_INPUT_BYTES` or a folder
    (else one :class:`PipelineError`). Inside it, an entry that cannot be read (a file
    of the folder that is not a regular file, unreadable or too large, a document over
    :data:`MAX_DOCUMENT_BYTES`, a malformed CSV row) becomes a row with the note
    ``unreadable: <why>`` and is not scored; the others are.
    """
    path = Path(path)
    if path.is_dir():
        reviews, total = [], 0
        files = text_files(path)
        for file in files:
            name = shown_name(file.name)
            try:
                data = _read_bounded(file, MAX_DOCUMENT_BYTES)
            except (OSError, ValueError) as exc:
                reviews.append(_unreadable(name, getattr(exc, "strerror", None) or exc))
                continue
            total += len(data)
            if total > MAX_INPUT_BYTES:
                reviews.append(_unreadable(name, f"not read, the folder's first "
                                                 f"{MAX_INPUT_BYTES:,} bytes were"))
                continue
            review = Review(name, "")
            if name != file.name:
                review.notes.append("file name is not UTF-8")
            review.text = _decode(data, review)
            reviews.append(review)
    elif path.exists():
        check_input(path)
        try:
            data = _read_bounded(path, MAX_INPUT_BYTES)
        except (OSError, ValueError) as exc:
            raise PipelineError(f"input {path}: cannot read it "
                                f"({getattr(exc, 'strerror', None) or exc}); give a text "
                                f"file, a CSV file or a folder of .txt files") from None
        reviews = (_read_csv if path.suffix.lower() == ".csv" else _read_lines)(path, data)
    else:
        raise PipelineError(f"input {path}: no such file or folder")
    if not reviews:
        raise PipelineError(f"input {path}: no documents in it")
    return reviews


def _too_many(path: Path) -> PipelineError:
    return PipelineError(f"input {path}: more than {MAX_DOCUMENTS:,} documents; split it "
                         f"into smaller files")


def _read_lines(path: Path, data: bytes) -> list[Review]:
    reviews = []
    if data.count(b"\n") > MAX_DOCUMENTS:
        raise _too_many(path)
    for number, line in enumerate(data.splitlines(), start=1):
        if len(line) > MAX_DOCUMENT_BYTES:
            reviews.append(_unreadable(str(number), f"longer than {MAX_DOCUMENT_BYTES:,} "
                                                    f"bytes"))
            continue
        review = Review(str(number), "")
        review.text = _decode(line, review)
        reviews.append(review)
    return reviews


class _Lines:
    """The physical lines of a text, one at a time, keeping only those of the row being
    read: after a broken row, reading goes back to the line after its first one."""

    def __init__(self, text: str) -> None:
        self.source = iter(io.StringIO(text, newline=""))
        self.buffer: list[str] = []  # the lines of the current row
        self.position = 0            # in buffer
        self.line = 1                # the number of buffer[0]

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.position == len(self.buffer):
            self.buffer.append(next(self.source))
        self.position += 1
        return self.buffer[self.position - 1]

    def row_done(self) -> None:
        del self.buffer[:self.position]
        self.line += self.position
        self.position = 0

    def first_line_again(self) -> str:
        """The current row's first line; reading goes on from the line after it."""
        first = self.buffer.pop(0) if self.buffer else ""
        self.line += 1
        self.position = 0
        return first


def _read_csv(path: Path, data: bytes) -> list[Review]:
    """The rows of a CSV file with a ``text`` column (and an optional ``id``).

    A row that breaks the CSV rules (an unclosed quote, text after a closing quote, a
    field over :data:`MAX_DOCUMENT_BYTES`) never takes the rows after it along: it is
    read again alone, as its own line (scored, with a note saying what was wrong), or
    noted as unreadable, and reading goes on from the next line. Each failed attempt
    stops at the next quote character, so this stays linear in the file's size.
    """
    whole = Review("", "")
    text = _decode(data, whole).replace("\0", "\ufffd")
    csv.field_size_limit(MAX_DOCUMENT_BYTES)
    source = _Lines(text)
    reader = csv.reader(source, strict=True)
    try:
        fieldnames = next(reader, None)
    except csv.Error as exc:
        raise PipelineError(f"input {path}: not a readable CSV file ({exc})") from None
    if fieldnames is None or "text" not in fieldnames:
        raise PipelineError(f"input {path}: CSV has no 'text' column "
                            f"(columns: {', '.join(fieldnames or []) or 'none'})")
    source.row_done()
    columns = {name: k for k, name in reversed(list(enumerate(fieldnames)))}
    reviews: list[Review] = []
    number = 0
    while True:
        notes: list[str] = []
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # read the row's first line alone, then go on from the line after it
            line = source.line
            first = source.first_line_again()
            reader = csv.reader(source, strict=True)
            try:
                row = next(csv.reader([first], strict=False))
            except csv.Error as again:
                number += 1
                reviews.append(_unreadable(f"row {number}", f"{again} (line {line})"))
                continue
            notes.append(f"malformed CSV at line {line} ({exc}): read as that line alone")
        else:
            source.row_done()
        if not row:
            continue  # a blank line
        number += 1
        if number > MAX_DOCUMENTS:
            raise _too_many(path)
        if len(row) != len(fieldnames):
            notes.append(f"{len(row)} fields where the header has {len(fieldnames)}")
        cell = row[columns["text"]] if columns["text"] < len(row) else ""
        given = row[columns["id"]] if "id" in columns and columns["id"] < len(row) else ""
        review = Review(given or str(number), cell, notes)
        if whole.notes and "\ufffd" in review.text:  # only the rows with a bad byte
            review.notes.append("invalid UTF-8 replaced")
        reviews.append(review)
    _note_repeated_ids(reviews)
    return reviews


def _note_repeated_ids(reviews: list[Review]) -> None:
    """A note on every review whose id another one has too (outputs stay unambiguous by
    their row order, and the user learns that the ids are)."""
    from collections import Counter

    counts = Counter(review.id for review in reviews)
    for review in reviews:
        if counts[review.id] > 1:
            review.notes.append(f"id {review.id!r} is given to {counts[review.id]} rows")


def shown_name(name: str) -> str:
    """A file name as text that can be written anywhere: bytes that are not UTF-8
    become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class Encoder(Protocol):
    """A representation, as scoring uses it (:class:`pipeline.features.Representation`)."""

    @property
    def unit(self) -> str: ...

    def encode(self, texts: Sequence[str], sequences: Split, num_words: int, params: Values,
               fitted: Mapping[str, Any]) -> tuple[Any, Any]: ...


class Scorer(Protocol):
    """A trained model, as scoring uses it (:mod:`pipeline.ml.inference`)."""

    def predict(self, data: Any) -> Any: ...


def score(model: Scorer, vocabulary: Mapping[str, Any], reviews: list[Review],
          encoder: Encoder, params: Values, fitted: Mapping[str, Any]
          ) -> list[np.ndarray | None]:
    """Class probabilities of each review (None for empty or unreadable ones); adds notes.

    ``vocabulary`` is Encode's vocabulary.json (words, num_words, class_names); the
    reviews are encoded with it and then by ``encoder`` with its ``params`` and what it
    learned from the training documents (``fitted``), as the training documents were.
    """
    import numpy as np

    from .heads import probabilities as as_probabilities

    words, num_words = vocabulary["words"], int(vocabulary["num_words"])
    num_classes = len(vocabulary["class_names"])
    if len(words) > vocabulary_size(num_words):
        raise PipelineError(f"the vocabulary holds {len(words)} words, more than "
                            f"num_words={num_words} has room for: it does not belong to "
                            f"this model")
    scored = []
    for i, review in enumerate(reviews):
        if review.unreadable:
            continue
        if review.text.strip():
            scored.append(i)
        else:
            review.notes.append("empty text")
    probabilities: list[np.ndarray | None] = [None] * len(reviews)
    if not scored:
        return probabilities
    texts = [reviews[i].text for i in scored]
    sequences = encode_texts(texts, words)
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    np.cumsum([len(sequence) for sequence in sequences], out=offsets[1:])
    values = np.fromiter((index for sequence in sequences for index in sequence),
                         dtype=np.int32, count=int(offsets[-1]))
    split = Split(values, offsets, np.zeros(len(sequences), dtype=np.int16),
                  np.asarray([reviews[i].id for i in scored]))
    data, known = encoder.encode(texts, split, num_words, params, fitted)
    width, columns = getattr(model, "num_inputs", None), getattr(data, "num_words", None)
    if width is not None and columns is not None and width != columns:
        raise PipelineError(f"model and {encoder.unit} do not belong together: the model "
                            f"takes {width} inputs, the {encoder.unit} give {columns}")
    for i, count in zip(scored, known, strict=False):
        if not count:
            reviews[i].notes.append(f"no known {encoder.unit}")
    for i, row in zip(scored, as_probabilities(model.predict(data), num_classes),
                      strict=False):
        probabilities[i] = row
    return probabilities


def label_of(probability: np.ndarray | None, class_names: Sequence[str]) -> str:
    """The predicted class name ('' for no probability)."""
    if probability is None:
        return ""
    from .metrics import predicted_classes

    return class_names[int(predicted_classes([probability])[0])]


def top_classes(probability: np.ndarray | None, class_names: Sequence[str], k: int = 3
                ) -> list[tuple[str, float]]:
    """The ``k`` most probable classes as ``[(name, probability), ...]``, best first."""
    if probability is None:
        return []
    order = sorted(range(len(class_names)), key=lambda c: -float(probability[c]))[:k]
    return [(class_names[c], float(probability[c])) for c in order]


def describe_top(probability: np.ndarray | None, class_names: Sequence[str], k: int = 3
                 ) -> str:
    """``earn 0.9120 · acq 0.0411 · trade 0.0102`` ('' for no probability)."""
    return " · ".join(f"{name} {p:.4f}" for name, p in top_classes(probability, class_names, k))


def write_predictions(reviews: Sequence[Review], probabilities: Sequence[np.ndarray | None],
                      class_names: Sequence[str], path: str | os.PathLike[str]) -> None:
    """CSV: ``id, probability_<second class>, label, note`` for two classes (the book's
    "probability_positive"); ``id, label, probability, top_3, note`` for more, where
    ``top_3`` lists the three most probable classes with their probabilities."""
    binary = len(class_names) == 2
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", f"probability_{class_names[1]}", "label", "note"] if binary
                        else ["id", "label", "probability", "top_3", "note"])
        for review, probability in zip(reviews, probabilities, strict=False):
            label = label_of(probability, class_names)
            if probability is None:
                shown = ""
            else:
                shown = f"{probability[1 if binary else class_names.index(label)]:.6f}"
            row = [review.id, shown, label] if binary else \
                [review.id, label, shown, describe_top(probability, class_names)]
            writer.writerow(row + ["; ".join(review.notes)])
