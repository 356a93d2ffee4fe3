"""Word n-grams: binary presence of every uni-, bi- and trigram seen in the training documents.

What the NBSVM recipes read (Wang & Manning, 2012; Mesnil et al., 2015). Each document
becomes the set of its n-grams of ``ngram_range`` (``"1,3"``: words, pairs and triples of
consecutive tokens); the columns are the n-grams found in at least ``min_df`` *training*
documents (labels are not looked at: the same rule as Encode's word vocabulary), and a
matrix row has a 1 in the columns of the n-grams its document contains, stored in CSR
form like :mod:`pipeline.features.multihot` (and fed to Keras the same way).

Tokens. When the dataset has the documents' text (its ``texts`` hook: aclimdb, reuters),
they are tokenized here with the project's tokenizer, every word kept (not only the
``num_words`` most frequent) and, with ``punctuation = keep``, each punctuation mark a
token of its own ("great!" -> "great", "!"); new documents at ``predict`` go through the
same tokenizer and the stored token and n-gram lists. Otherwise (keras_imdb,
keras_reuters) the tokens are Encode's word indices, the words beyond ``num_words``
being unknown.

An n-gram is one int64 key: token ids ``t1, t2, t3`` (>= 1, 0 = unknown) packed in 21
bits each, ``t1`` for a unigram, ``t1 << 21 | t2`` for a bigram, ``t1 << 42 | t2 << 21 |
t3`` for a trigram (the ranges do not overlap); n-grams with an unknown token are
dropped. The vocabulary comes from the training split, so :func:`build_splits` builds
all splits at once. numpy is imported inside the functions.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import PipelineError
from ..io.progress import say
from ..ml.text import OOV, START, Split, tokenize
from ..params import Choice, Integer, IntegerRange, Param, Values
from .base import Arrays, Representation
from .multihot import MultiHot, sorted_unique

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

#: One split's documents as token ids: ``(ids, offsets)``, document ``k`` being
#: ``ids[offsets[k]:offsets[k + 1]]``.
TokenIds = tuple["np.ndarray", "np.ndarray"]
#: Documents as lists of tokens, by split name (a mapping or ``(name, documents)`` pairs).
OtherTokens = Mapping[str, Iterable[Sequence[str]]] | Iterable[tuple[str, Iterable[Sequence[str]]]]

MAX_N = 3
BITS = 21
MAX_TOKENS = (1 << BITS) - 1  # distinct tokens an n-gram key can hold
PUNCTUATION = ("keep", "drop")

NGRAM_RANGE = Param("ngram_range", IntegerRange(1, MAX_N), "1,3",
                    "Shortest and longest n-gram (1,3: words, pairs and triples)")
MIN_DF = Param("min_df", Integer(minimum=1), 2,
               "Keep the n-grams found in at least this many training documents")
PUNCTUATION_PARAM = Param("punctuation", Choice(PUNCTUATION), "keep",
                          "Keep each punctuation mark as a token, or drop them as Encode does")


def parse_range(value: object) -> tuple[int, int]:
    """``"1,3"`` -> ``(1, 3)``; :class:`PipelineError` for an empty, reversed or bad range."""
    low, high = str(NGRAM_RANGE.normalize(value)).split(",")
    return int(low), int(high)


# ----------------------------------------------------------------------------- tokens

def token_ids(train_tokens: Iterable[Sequence[str]], other_tokens: OtherTokens = ()
              ) -> tuple[list[str], dict[str, TokenIds]]:
    """Token lists -> ids: ``(words, {name: (ids, offsets)})``.

    Ids number the training tokens from 1 in order of first appearance (``words[i - 1]``
    is token ``i``); tokens of the other splits that training never saw are 0.
    ``train_tokens`` and the values of ``other_tokens`` are iterables of token lists.
    """
    import numpy as np

    ids: dict[str, int] = {}
    splits: dict[str, TokenIds] = {}

    def encode(documents: Iterable[Sequence[str]], grow: bool) -> TokenIds:
        values: list[int] = []
        lengths: list[int] = []
        for tokens in documents:
            if grow:
                values.extend(ids.setdefault(token, len(ids) + 1) for token in tokens)
            else:
                values.extend(ids.get(token, 0) for token in tokens)
            lengths.append(len(tokens))
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return np.asarray(values, dtype=np.int64), offsets

    splits["train"] = encode(train_tokens, True)
    for name, documents in dict(other_tokens).items():
        splits[name] = encode(documents, False)
    words = list(ids)
    if len(words) > MAX_TOKENS:  # rarer-than-first-seen tokens become unknown
        for values, _ in splits.values():
            values[values > MAX_TOKENS] = 0
        words = words[:MAX_TOKENS]
    return words, splits


def ngram_keys(values: np.ndarray, offsets: np.ndarray, ngram_range: tuple[int, int]
               ) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, keys)`` of every n-gram occurrence (with repeats) of documents
    ``values[offsets[k]:offsets[k + 1]]`` (token ids, 0 = unknown)."""
    import numpy as np

    low, high = ngram_range
    values = np.asarray(values, dtype=np.int64)
    row_of = np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))
    all_rows, all_keys = [], []
    for n in range(low, high + 1):
        count = len(values) - n + 1
        if count <= 0:
            continue
        keep = row_of[:count] == row_of[n - 1:n - 1 + count]  # inside one document
        keys = np.zeros(count, dtype=np.int64)
        for j in range(n):
            part = values[j:j + count]
            keep &= part != 0
            keys |= part << (BITS * (n - 1 - j))
        all_rows.append(row_of[:count][keep])
        all_keys.append(keys[keep])
    if not all_keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(all_rows), np.concatenate(all_keys)


def _csr(cells: np.ndarray, rows: int, width: int, labels: ArrayLike) -> MultiHot:
    """Sorted unique ``row * width + column`` cells -> a CSR :class:`MultiHot`."""
    import numpy as np

    counts = np.bincount(cells // width, minlength=rows) if width else np.zeros(rows, int)
    indptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return MultiHot(indptr, (cells % width).astype(np.int32) if width else
                    np.zeros(0, np.int32), np.asarray(labels), int(width))


def vocabulary(rows: np.ndarray, keys: np.ndarray, min_df: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """The sorted keys found in at least ``min_df`` of the documents, and the training
    matrix over them: ``(vocabulary keys, cells)`` with cells ``row * len(vocabulary) +
    column``, sorted and unique."""
    import numpy as np

    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    new = np.ones(len(keys), dtype=bool)
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new[1:])
    distinct = sorted_keys[new]
    key_id = np.empty(len(keys), dtype=np.int64)
    key_id[order] = np.cumsum(new) - 1
    del order, sorted_keys, new
    cells = sorted_unique(rows * max(len(distinct), 1) + key_id)  # one per document
    del key_id
    found = cells % max(len(distinct), 1)
    df = np.bincount(found, minlength=len(distinct))
    kept = df >= min_df
    column = np.cumsum(kept) - 1
    present = kept[found]
    vocab = distinct[kept]
    cells = (cells[present] // max(len(distinct), 1)) * len(vocab) + column[found[present]]
    return vocab, cells


def lookup(rows: np.ndarray, keys: np.ndarray, vocab: np.ndarray) -> np.ndarray:
    """Cells (``row * len(vocab) + column``, sorted, unique) of the keys in ``vocab``."""
    import numpy as np

    if not len(vocab):
        return np.zeros(0, np.int64)
    column = np.minimum(np.searchsorted(vocab, keys), len(vocab) - 1)
    hit = vocab[column] == keys
    return sorted_unique(rows[hit] * len(vocab) + column[hit])


# -------------------------------------------------------------------- the interface

def build_splits(splits: Mapping[str, Split], num_words: int,
                 texts: Mapping[str, Iterable[str]] | None = None, *, ngram_range: str,
                 min_df: int, punctuation: str) -> Arrays:
    """Every split as n-gram rows, the vocabulary from ``splits["train"]``.

    ``splits``: ``{name: Split}`` (Encode's sequences: labels, and the tokens when there
    is no text); ``texts``: ``{name: [text, ...]}`` in the same order, or None. Returns
    the arrays of ``features.npz``: ``<split>_indptr/_indices/_labels/_width`` and
    ``vocabulary_keys`` (int64, sorted), ``vocabulary_words`` (the tokens, empty when
    they are Encode's indices).
    """
    import numpy as np

    low_high = parse_range(ngram_range)
    names = list(splits)
    documents = splits["train"].rows
    if min_df > documents:  # known before any tokenizing
        raise PipelineError(f"min_df {min_df} leaves no n-gram: there are only {documents} "
                            f"training documents")
    if texts is not None:
        keep = punctuation == "keep"
        words, ids = token_ids((tokenize(text, keep) for text in texts["train"]),
                               {name: (tokenize(text, keep) for text in texts[name])
                                for name in names if name != "train"})
    else:
        words, ids = [], {name: _encoded_ids(split) for name, split in splits.items()}
    say(f"tokenized {sum(split.rows for split in splits.values()):,} documents")
    rows, keys = ngram_keys(*ids["train"], low_high)
    vocab, cells = vocabulary(rows, keys, min_df)
    del rows, keys
    if not len(vocab):
        raise PipelineError(f"min_df {min_df} leaves no n-gram: none of ngram_range "
                            f"{ngram_range} is in {min_df} of the {documents} training "
                            f"documents")
    say(f"{len(vocab):,} n-grams ({ngram_range.replace(',', ' to ')} words) in at least "
        f"{min_df} training documents")
    arrays: Arrays = {"vocabulary_keys": vocab, "vocabulary_words": np.asarray(words, dtype=str)}
    for name in names:
        if name != "train":
            cells = lookup(*ngram_keys(*ids[name], low_high), vocab)
        built = _csr(cells, splits[name].rows, len(vocab), splits[name].labels)
        arrays.update(built.to_arrays(name))
        arrays[f"{name}_width"] = np.int64(len(vocab))
    return arrays


def _encoded_ids(split: Split) -> TokenIds:
    """Encode's sequences (``values``, ``offsets``) as token ids: each document's start
    marker dropped, unknown words 0."""
    import numpy as np

    values = np.asarray(split.values, dtype=np.int64)
    offsets = np.asarray(split.offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    first = offsets[:-1][lengths > 0]
    keep = np.ones(len(values), dtype=bool)
    keep[first[values[first] == START]] = False
    row_of = np.repeat(np.arange(len(lengths)), lengths)
    new_offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of[keep], minlength=len(lengths)), out=new_offsets[1:])
    values = values[keep]
    values[(values == OOV) | (values > MAX_TOKENS)] = 0
    return values, new_offsets


def encode_texts(texts: Sequence[str], vocabulary_arrays: Mapping[str, Any],
                 sequences: Split, *, ngram_range: str, punctuation: str) -> tuple[MultiHot, Any]:
    """New documents as n-gram rows, exactly as the training documents were made.

    ``vocabulary_arrays``: the ``vocabulary_`` arrays of ``features.npz``; ``sequences``:
    the documents encoded with Encode's vocabulary (read when the n-grams are of its
    indices). Returns ``(MultiHot, known)``: ``known[k]`` is how many known n-grams text
    ``k`` has.
    """
    import numpy as np

    vocab = vocabulary_arrays["vocabulary_keys"]
    words = vocabulary_arrays["vocabulary_words"].tolist()
    if words:
        index = {word: i + 1 for i, word in enumerate(words)}
        keep = punctuation == "keep"
        tokens = [[index.get(token, 0) for token in tokenize(text, keep)] for text in texts]
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(ids) for ids in tokens], out=offsets[1:])
        values = np.fromiter((i for ids in tokens for i in ids), dtype=np.int64,
                             count=int(offsets[-1]))
    else:
        values, offsets = _encoded_ids(sequences)
    rows, keys = ngram_keys(values, offsets, parse_range(ngram_range))
    cells = lookup(rows, keys, vocab)
    data = _csr(cells, len(texts), len(vocab), np.zeros(len(texts), dtype=np.int16))
    return data, np.diff(data.indptr)


class NGrams(Representation):
    """Binary word n-grams of the training documents' vocabulary (the NBSVM input)."""

    name = "ngrams"
    parameters = (NGRAM_RANGE, MIN_DF, PUNCTUATION_PARAM)
    reads_text = True
    fitted = ("vocabulary_keys", "vocabulary_words")
    unit = "n-grams"

    def featurize(self, splits: Mapping[str, Split], num_words: int, params: Values,
                  texts: Mapping[str, list[str]] | None) -> Arrays:
        return build_splits(splits, num_words, texts, ngram_range=str(params["ngram_range"]),
                            min_df=int(params["min_df"]),
                            punctuation=str(params["punctuation"]))

    def load(self, arrays: Mapping[str, Any], split: str, num_words: int,
             params: Values) -> MultiHot:
        return MultiHot.from_arrays(arrays, split, int(arrays[f"{split}_width"]))

    def encode(self, texts: Sequence[str], sequences: Split, num_words: int, params: Values,
               fitted: Mapping[str, Any]) -> tuple[MultiHot, Any]:
        return encode_texts(texts, fitted, sequences, ngram_range=str(params["ngram_range"]),
                            punctuation=str(params["punctuation"]))
