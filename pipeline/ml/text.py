"""Words to integer sequences and back, the one place that defines the index convention.

Every dataset is encoded the way ``keras.datasets.imdb`` and ``reuters`` are: 0 is
padding, 1 starts every document, 2 is any word outside the vocabulary, 3 is unused,
and the word of frequency rank ``r`` (1 = most frequent in the *training* documents)
is ``r + 3``. ``num_words`` bounds the index space like Keras's argument does: indices
``< num_words`` are kept, so the vocabulary holds the ``num_words - 4`` most frequent
training words.
"""
from __future__ import annotations

import re
from array import array
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import count
from typing import TYPE_CHECKING, Any, SupportsInt

from ..errors import PipelineError

if TYPE_CHECKING:
    import numpy as np

#: The splits every dataset gives.
SPLITS = ("train", "test")

PAD, START, OOV, UNUSED = 0, 1, 2, 3
INDEX_FROM = 3
#: What the reserved indices stand for (written into every vocabulary file).
RESERVED = {PAD: "<pad>", START: "<start>", OOV: "<unknown>", UNUSED: "<unused>"}
MIN_NUM_WORDS = INDEX_FROM + 2  # the smallest index space with one word in it

# What one split may hold, so that memory stays bounded by real text whatever an input
# claims (IMDB's training split: 25,000 documents, 5.8 million words, 75,000 distinct).
# The tokenized split then needs at most about 0.5 GB.
MAX_DOCUMENTS = 1_000_000
MAX_TOKENS = 50_000_000
MAX_DISTINCT_WORDS = 2_000_000


class TooMuchText(PipelineError):  # noqa: N818 - public name, read by the datasets
    """A split beyond the bounds above. The caller adds the file's name; unwrapped it is
    still a one-line user error."""

_BREAKS = ("<br />", "<br/>", "<br>")  # matched after lowercasing
# Typographic apostrophes, acute accents and backticks used as apostrophes ("don’t",
# "don´t", "don`t") count as "'"; 300 IMDB training reviews have them.
_APOSTROPHES = ("\u2019", "\u00b4", "`")
# A word is a run of letters or digits; apostrophes are kept inside a word
# ("don't", "rock'n'roll") and dropped elsewhere, like every other punctuation mark.
_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


# The same words, and each other punctuation mark (not "_") as a token of its own: what
# the n-gram representation reads ("great!" -> "great", "!"), as the NBSVM papers do.
_WORD_OR_MARK_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]")


def tokenize(text: str, punctuation: bool = False) -> list[str]:
    """Lowercase words of a document: ``<br />`` removed, punctuation dropped (or, with
    ``punctuation``, each mark kept as a token of its own)."""
    text = text.lower()
    # replace only what is there: str.translate costs 0.3 s per IMDB split
    for apostrophe in _APOSTROPHES:
        if apostrophe in text:
            text = text.replace(apostrophe, "'")
    if "<br" in text:
        for line_break in _BREAKS:
            text = text.replace(line_break, " ")
    return (_WORD_OR_MARK_RE if punctuation else _WORD_RE).findall(text)


def vocabulary_size(num_words: int) -> int:
    """How many words an index space of ``num_words`` holds (indices 0-3 are reserved)."""
    return max(num_words - INDEX_FROM - 1, 0)


@dataclass
class TokenizedSplit:
    """One split as provisional word ids: ``words[i]`` is the word of id ``i``."""

    words: list[str]
    ids: np.ndarray      # int32, all documents' ids concatenated
    offsets: np.ndarray  # int64, document k is ids[offsets[k]:offsets[k + 1]]
    labels: np.ndarray   # int16, class number of each document
    names: np.ndarray    # str, where each document comes from (file name, position)


def tokenize_documents(documents: Iterable[tuple[int, str, str]]) -> TokenizedSplit:
    """``(label, name, text)`` triples -> :class:`TokenizedSplit`, in their order."""
    import numpy as np

    word_ids: defaultdict[str, int] = defaultdict(count().__next__)  # a new word gets the next id
    ids, lengths, labels, names = array("i"), [], [], []
    for label, name, text in documents:
        tokens = tokenize(text)
        ids.extend(map(word_ids.__getitem__, tokens))
        lengths.append(len(tokens))
        labels.append(label)
        names.append(name)
        if len(ids) > MAX_TOKENS or len(word_ids) > MAX_DISTINCT_WORDS \
                or len(lengths) > MAX_DOCUMENTS:
            raise TooMuchText(
                f"more than {MAX_DOCUMENTS:,} documents, {MAX_TOKENS:,} words or "
                f"{MAX_DISTINCT_WORDS:,} distinct words (the bounds of one split)")
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return TokenizedSplit(list(word_ids), np.frombuffer(ids, dtype=np.int32).copy(),
                          offsets, np.asarray(labels, dtype=np.int16),
                          np.asarray(names, dtype=str))


def build_vocabulary(train: TokenizedSplit, num_words: int) -> tuple[list[str], list[int]]:
    """The ``num_words - 4`` most frequent training words, most frequent first.

    Ties are broken alphabetically so the vocabulary does not depend on file order.
    Returns ``(words, counts)``.
    """
    import numpy as np

    counts = np.bincount(train.ids, minlength=len(train.words))
    order = sorted(range(len(train.words)), key=lambda i: (-counts[i], train.words[i]))
    kept = order[:vocabulary_size(num_words)]
    return [train.words[i] for i in kept], [int(counts[i]) for i in kept]


def word_index(vocabulary: Iterable[str]) -> dict[str, int]:
    """``word -> index`` as used in sequences (most frequent word = 4)."""
    return {word: rank + INDEX_FROM + 1 for rank, word in enumerate(vocabulary)}


def encode_split(tokenized: TokenizedSplit, vocabulary: Iterable[str]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of a split as ``(values, offsets)``: each document starts with 1."""
    import numpy as np

    index = word_index(vocabulary)
    lookup = np.fromiter((index.get(w, OOV) for w in tokenized.words), dtype=np.int32,
                         count=len(tokenized.words))
    encoded = lookup[tokenized.ids] if len(tokenized.ids) else np.zeros(0, np.int32)
    values = np.insert(encoded, tokenized.offsets[:-1], START).astype(np.int32)
    offsets = tokenized.offsets + np.arange(len(tokenized.offsets), dtype=np.int64)
    return values, offsets


def encode_texts(texts: Iterable[str], vocabulary: Iterable[str]) -> list[list[int]]:
    """Encode new documents exactly as the training documents were (for prediction)."""
    index = word_index(vocabulary)
    return [[START] + [index.get(word, OOV) for word in tokenize(text)] for text in texts]


def decode_sequence(sequence: Iterable[SupportsInt], vocabulary: Iterable[str]) -> str:
    """A sequence back to words, as the model sees it; unknown words become ``?``."""
    words = {i: w for w, i in word_index(vocabulary).items()}
    return " ".join(words.get(int(i), "?") for i in sequence if int(i) not in (PAD, START))


@dataclass
class Split:
    """One split's documents: document ``k`` is ``values[offsets[k]:offsets[k + 1]]``."""

    values: np.ndarray   # int32 indices, each document starting with START
    offsets: np.ndarray  # int64, len = documents + 1
    labels: np.ndarray   # int16 class numbers
    names: np.ndarray    # str: where each document comes from (file name, position)

    @property
    def rows(self) -> int:
        return len(self.offsets) - 1

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_values": self.values, f"{prefix}_offsets": self.offsets,
                f"{prefix}_labels": self.labels, f"{prefix}_names": self.names}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any], prefix: str) -> Split:
        return cls(*(arrays[f"{prefix}_{key}"] for key in ("values", "offsets", "labels",
                                                           "names")))


@dataclass
class Encoded:
    """What a dataset's ``read`` gives: both splits and the vocabulary."""

    splits: dict[str, Split]  # "train", "test"
    vocabulary: list[str]     # the word of index 4, 5, ...
    counts: list[int]         # how often each vocabulary word occurs in the training split
    #: the classes, when they depend on the data (else the dataset's class_names)
    class_names: list[str] | None = None
    #: what was read, kept and left out (written by Encode)
    report: dict[str, Any] = field(default_factory=dict)
