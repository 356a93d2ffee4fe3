"""Scoring new reviews with a trained model, encoded exactly as the training data was.

Inputs: a text file (one review per line), a folder of ``.txt`` files (one review
each), or a CSV file with a ``text`` column (and optionally an ``id`` column). Bad
reviews never lose the good ones; each gets a row with a note instead:

- an empty (or blank) review: no probability, note ``empty review``;
- bytes that are not UTF-8: replaced by U+FFFD, scored, note ``invalid UTF-8 replaced``;
- a review with no word in the vocabulary: scored (the model then sees only the
  start and unknown-word markers, so the probability says nothing about the text),
  note ``no known words``.
"""
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from .dataset import OOV, START, encode_texts
from .errors import PipelineError

POSITIVE_THRESHOLD = 0.5


@dataclass
class Review:
    id: str
    text: str
    notes: list = field(default_factory=list)


def _decode(data, review):
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        review.notes.append("invalid UTF-8 replaced")
        return data.decode("utf-8", errors="replace")


def read_reviews(path):
    """The reviews of a text file, a folder of .txt files or a CSV file with ``text``."""
    path = Path(path)
    if path.is_dir():
        reviews = []
        for file in sorted(path.glob("*.txt")):
            review = Review(file.name, "")
            review.text = _decode(file.read_bytes(), review)
            reviews.append(review)
    elif path.is_file():
        reviews = (_read_csv if path.suffix.lower() == ".csv" else _read_lines)(path)
    else:
        raise PipelineError(f"input {path}: no such file or folder")
    if not reviews:
        raise PipelineError(f"input {path}: no reviews in it")
    return reviews


def _read_lines(path):
    reviews = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        review = Review(str(number), "")
        review.text = _decode(line, review)
        reviews.append(review)
    return reviews


def _read_csv(path):
    whole = Review("", "")
    text = _decode(path.read_bytes(), whole)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or "text" not in reader.fieldnames:
        raise PipelineError(f"input {path}: CSV has no 'text' column "
                            f"(columns: {', '.join(reader.fieldnames or []) or 'none'})")
    reviews = []
    for number, row in enumerate(reader, start=1):
        review = Review(str(row.get("id") or number), row["text"] or "")
        if whole.notes and "\ufffd" in review.text:  # only the rows with a bad byte
            review.notes.append("invalid UTF-8 replaced")
        reviews.append(review)
    return reviews


def check_model_matches(model, vocabulary, num_words):
    """The model's input width must be the vocabulary's index space."""
    width = model.num_inputs
    if width != num_words or len(vocabulary) > max(num_words - 4, 0):
        raise PipelineError(
            f"model and vocabulary do not belong together: the model takes {width} "
            f"inputs, the vocabulary is for num_words={num_words} "
            f"({len(vocabulary)} words)")


def score(model, vocabulary, num_words, reviews):
    """Probability of "positive" for each review (None for empty ones); adds notes.

    ``model`` is a :class:`pipeline.inference.NumpyMLP`.
    """
    import numpy as np

    from .features import multi_hot

    check_model_matches(model, vocabulary, num_words)
    scored = []
    for i, review in enumerate(reviews):
        if review.text.strip():
            scored.append(i)
        else:
            review.notes.append("empty review")
    probabilities = [None] * len(reviews)
    if not scored:
        return probabilities
    sequences = encode_texts([reviews[i].text for i in scored], vocabulary)
    for i, sequence in zip(scored, sequences):
        if all(index in (START, OOV) for index in sequence):
            reviews[i].notes.append("no known words")
    lengths = [len(sequence) for sequence in sequences]
    offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = np.fromiter((index for sequence in sequences for index in sequence),
                         dtype=np.int32, count=int(offsets[-1]))
    data = multi_hot(values, offsets, np.zeros(len(sequences)), num_words)
    for i, probability in zip(scored, model.predict(data)):
        probabilities[i] = float(probability)
    return probabilities


def label_of(probability):
    if probability is None:
        return ""
    return "positive" if probability >= POSITIVE_THRESHOLD else "negative"


def write_predictions(reviews, probabilities, path):
    """CSV: id, probability_positive, label, note."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "probability_positive", "label", "note"])
        for review, probability in zip(reviews, probabilities):
            writer.writerow([review.id, "" if probability is None else f"{probability:.6f}",
                             label_of(probability), "; ".join(review.notes)])
