"""The contract of a representation plug-in: how encoded documents become a model's input.

A representation is a subclass of :class:`Representation` in a module of its own,
registered in :mod:`pipeline.features` by one line. Featurize calls
:meth:`Representation.featurize` once per configuration and stores the arrays it
returns in ``features.npz``; the training tasks get the documents back with
:meth:`Representation.load`, and ``predict`` encodes new documents with
:meth:`Representation.encode`, exactly as the training documents were.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ..ml.text import Split
from ..ml.training import Features
from ..params import Param, Values

#: Arrays by name, as stored in ``features.npz``.
Arrays = dict[str, Any]


class Representation(ABC):
    """Documents as model input: multi-hot vectors, padded sequences, n-grams, ..."""

    #: the ``representation`` a model names to read it
    name: ClassVar[str]
    #: the parameters it reads besides ``num_words``
    parameters: ClassVar[tuple[Param, ...]] = ()
    #: whether :meth:`featurize` wants the documents' text (when the dataset has it)
    reads_text: ClassVar[bool] = False
    #: the arrays of features.npz that :meth:`encode` needs (what was learned from the
    #: training documents, such as the n-gram list)
    fitted: ClassVar[tuple[str, ...]] = ()
    #: what a new document with none known lacks ("no known words")
    unit: ClassVar[str] = "words"

    def check(self, params: Values) -> None:  # noqa: B027 - optional hook, no-op default
        """Refuse values that do not go together (each value alone is checked by its
        declaration)."""

    @abstractmethod
    def featurize(self, splits: Mapping[str, Split], num_words: int, params: Values,
                  texts: Mapping[str, list[str]] | None) -> Arrays:
        """Every split's documents (``splits``: Encode's sequences; ``texts``: their text in
        the same order, when :attr:`reads_text` and the dataset has it) as the arrays of
        ``features.npz``. Anything learned (a vocabulary of n-grams) comes from the
        ``train`` split alone."""

    @abstractmethod
    def load(self, arrays: Mapping[str, Any], split: str, num_words: int,
             params: Values) -> Features:
        """One split's documents from the arrays :meth:`featurize` wrote."""

    @abstractmethod
    def encode(self, texts: Sequence[str], sequences: Split, num_words: int, params: Values,
               fitted: Mapping[str, Any]) -> tuple[Features, Any]:
        """New documents (their text, and their sequences encoded with Encode's
        vocabulary), as the training documents were made; ``fitted`` holds the
        :attr:`fitted` arrays. Returns the features and, per document, how many of its
        units (words, n-grams) the representation knows."""
