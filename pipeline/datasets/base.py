"""The contract of a dataset plug-in: where its documents come from and how they are read.

A dataset is a subclass of :class:`Dataset` in a module of its own, registered in
:mod:`pipeline.datasets` by one line. DownloadDataset calls :meth:`Dataset.fetch` once
per data folder; Encode calls :meth:`Dataset.read` with ``num_words`` and the values of
the dataset's own :attr:`~Dataset.parameters`; every other task sees only the integer
sequences it returns (:mod:`pipeline.ml.text` says how words become numbers).

Plug-in modules import nothing heavy at module level (numpy, TensorFlow): the registry
imports them when the tasks are defined, and a no-op rerun must stay fast.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from ..io.download import Progress
from ..ml.text import Encoded
from ..params import Param, Value, Values


class Plan(NamedTuple):
    """What :meth:`Dataset.read` will give with given parameters, known from the manifest
    before reading: the classes and the documents of each split."""

    class_names: list[str]
    documents: dict[str, int]


class Dataset(ABC):
    """A source of labelled documents, split into ``train`` and ``test``."""

    #: the ``dataset`` parameter's value that chooses it
    name: ClassVar[str]
    #: how outputs name it ("IMDB movie reviews")
    title: ClassVar[str]
    #: the classes in label order (label ``k`` is ``class_names[k]``), unless
    #: :meth:`plan` says otherwise for given parameters
    class_names: ClassVar[tuple[str, ...]]
    #: ``{key: file name}``: the files DownloadDataset keeps for it
    files: ClassVar[Mapping[str, str]]
    #: ``{DownloadDataset parameter: key in files}``: where each file's address comes from
    #: (``url`` for the main file, ``word_index_url``, ...)
    addresses: ClassVar[Mapping[str, str]]
    #: its own parameters; Encode passes their values to :meth:`read`
    parameters: ClassVar[tuple[Param, ...]] = ()
    #: its own defaults of other parameters (Reuters: 64 units), before ``[experiment]``
    defaults: ClassVar[Mapping[str, Value]] = {}
    #: reference models trained beside the chosen one and reported by RunAll:
    #: ``{name: parameters that differ}`` (Reuters: the book's 4-unit bottleneck)
    references: ClassVar[Mapping[str, Mapping[str, Value]]] = {}
    #: the file of ``pipeline/variants/`` that CompareModels uses by default
    variants: ClassVar[str] = "imdb.toml"

    @abstractmethod
    def fetch(self, folder: Path, addresses: Mapping[str, str], *, sha256: str = "",
              progress: Progress | None = None) -> dict[str, Any]:
        """Fetch and verify the files into ``folder`` (an empty staging folder); return the
        manifest (written as manifest.json), which holds ``documents``: ``{"train": n,
        "test": m}``. ``addresses`` holds one value per :attr:`addresses` key, ``""`` for
        the official address; ``sha256`` the main file's expected hash, ``""`` for the
        official one (official address) or none (a local copy, checked by its layout)."""

    @abstractmethod
    def read(self, folder: Path, num_words: int, params: Values) -> Encoded:
        """The documents of the fetched files in ``folder`` as integer sequences, their
        labels and the vocabulary (from the training documents only)."""

    def texts(self, folder: Path, split: str, params: Values
              ) -> Iterable[tuple[int, str, str]] | None:
        """``(label, name, text)`` of each document of ``split``, in :meth:`read`'s order,
        for representations that tokenize the text themselves (n-grams); None when the
        dataset has no text (Keras's preprocessed files)."""
        return None

    def original_text(self, folder: Path, split: str, name: str, label: int) -> str | None:
        """A document's text as published, or None when the dataset has none."""
        return None

    def check(self, params: Values) -> None:  # noqa: B027 - optional hook, no-op default
        """Refuse values of its parameters that do not go together (each value alone is
        checked by its declaration)."""

    def plan(self, manifest: Mapping[str, Any], params: Values) -> Plan | None:
        """What :meth:`read` will give with ``params``, from the manifest, when that
        depends on them (Reuters's topic filter and split); None when it does not."""
        return None
