"""Datasets: one module per source, behind one small interface.

A dataset module (``aclimdb.py``, ``keras_imdb.py``) defines:

``TITLE``
    how outputs name the dataset ("IMDB movie reviews").
``CLASS_NAMES``
    the classes, in label order (label ``k`` is ``CLASS_NAMES[k]``).
``FILES``
    ``{key: file name}``: what DownloadDataset keeps for it.
``ADDRESSES``
    ``{DownloadDataset parameter: key in FILES}``: where each file's address comes from
    (``url`` for the main file, ...).
``fetch(folder, *, progress, sha256, **addresses) -> manifest``
    fetch and verify the files into ``folder``; the manifest (a dict written as
    manifest.json) holds ``documents``: ``{"train": n, "test": m}``.
``read(folder, num_words) -> Encoded``
    the documents as integer sequences (:mod:`pipeline.datasets.text` says how
    words become numbers), their labels and the vocabulary.
``original_text(folder, split, name, label) -> str | None``
    a document's text as published, when the source has it.
``texts(folder, split, **params)`` (optional)
    ``(label, name, text)`` of each document of a split, in the order of ``read``: what
    a representation that tokenizes the text itself reads (:mod:`pipeline.features.ngrams`;
    without it, n-grams are made of the encoded sequences' indices).

and may define:

``PARAMETERS``
    ``{name: luigi parameter}``: its own parameters (Encode passes their values to
    ``read`` as keywords; other datasets' tasks leave them out of their ids), with
    ``check(params)`` raising :class:`PipelineError` for a bad value.
``DEFAULTS``
    ``{parameter: value}``: its own defaults of the pipeline's parameters (the book's
    Reuters model has 64 units where IMDB's has 16), before ``[experiment]``
    (:mod:`pipeline.config`).

Modules import nothing heavy at module level: the registry below imports them when a
task is built, and a no-op rerun must stay fast. Adding a dataset is one module and one
line in :data:`DATASETS`.
"""
import importlib
from dataclasses import dataclass

from ..errors import PipelineError

#: ``dataset`` parameter value -> module
DATASETS = {
    "aclimdb": "pipeline.datasets.aclimdb",
    "keras_imdb": "pipeline.datasets.keras_imdb",
    "reuters": "pipeline.datasets.reuters",
    "keras_reuters": "pipeline.datasets.keras_reuters",
}
#: The old ``source`` parameter's values, kept as aliases of ``dataset``.
SOURCE_ALIASES = {"aclimdb": "aclimdb", "keras": "keras_imdb"}
#: Where DownloadDataset kept a dataset's files before it had its name (its old source).
LEGACY_FOLDERS = {"keras_imdb": "keras"}
SPLITS = ("train", "test")


def get(name):
    """The module of dataset ``name``; :class:`PipelineError` for an unknown name."""
    if name not in DATASETS:
        raise PipelineError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return importlib.import_module(DATASETS[name])


def all_parameters():
    """Every dataset's own parameters: ``{name: luigi parameter}``."""
    return {name: param for dataset in DATASETS
            for name, param in getattr(get(dataset), "PARAMETERS", {}).items()}


def reads(name):
    """The names of the dataset-dependent parameters dataset ``name`` reads."""
    return set(getattr(get(name), "PARAMETERS", {}))


def check(name, params):
    """Check the values of dataset ``name``'s own parameters."""
    module = get(name)
    if hasattr(module, "check"):
        module.check(params)


@dataclass
class Split:
    """One split's documents: document ``k`` is ``values[offsets[k]:offsets[k + 1]]``."""

    values: "object"   # int32 indices, each document starting with 1
    offsets: "object"  # int64, len = documents + 1
    labels: "object"   # int16 class numbers
    names: "object"    # str: where each document comes from (file name, position)

    @property
    def rows(self):
        return len(self.offsets) - 1

    def to_arrays(self, prefix):
        return {f"{prefix}_values": self.values, f"{prefix}_offsets": self.offsets,
                f"{prefix}_labels": self.labels, f"{prefix}_names": self.names}

    @classmethod
    def from_arrays(cls, arrays, prefix):
        return cls(*(arrays[f"{prefix}_{key}"] for key in ("values", "offsets", "labels",
                                                           "names")))


@dataclass
class Encoded:
    """What a dataset's ``read`` gives: both splits and the vocabulary."""

    splits: dict        # "train", "test" -> Split
    vocabulary: list    # the word of index 4, 5, ...
    counts: list        # how often each vocabulary word occurs in the training split
    class_names: list = None  # when they depend on the data (else the module's CLASS_NAMES)
    report: dict = None       # what was read, kept and left out (written by Encode)
