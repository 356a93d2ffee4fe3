"""The significant parameters of the chain, with their ``[experiment]`` defaults and checks.

Each mixin adds the parameters of one stage to those of the stages before it, so a
task carries everything upstream of it and passes it on with ``self.clone()``:

    DatasetParams   dataset (and its old alias source)
    EncodeParams    + num_words
    SplitParams     + validation_size, seed
    FeatureParams   EncodeParams + representation and every representation's parameters
    ModelParams     SplitParams + model, train_size and every model's parameters
    FinalParams     + final_epochs

The model- and representation-dependent parameters come from the registries in
:mod:`pipeline.models` and :mod:`pipeline.features`: a new model module brings its
parameters with it. A task leaves the ones its model (or representation) does not
read out of its id, and refuses a value for them (:meth:`PipelineTask.get_param_values`
in :mod:`pipeline.tasks`), so ``--model mlp --maxlen 150`` cannot silently do nothing.
"""
import json
from pathlib import Path
from typing import Callable, NamedTuple

import luigi

from . import datasets
from .config import experiment_default, pipeline
from .datasets.text import INDEX_FROM, MIN_NUM_WORDS
from .errors import PipelineError
from .split import check_sizes

MAX_SEED = 2**32 - 1  # numpy's and TensorFlow's seeds are 32-bit
#: More indices than any corpus has distinct words (IMDB: 89,527 in Keras's word index;
#: a split may hold at most 2,000,000, pipeline.datasets.text.MAX_DISTINCT_WORDS).
MAX_NUM_WORDS = 2_000_000


def download_folder(dataset):
    """Where DownloadDataset keeps a dataset's files: one copy per data folder."""
    return Path(pipeline().data_dir) / "DownloadDataset" / dataset


def fetched_manifest(dataset):
    """The manifest DownloadDataset wrote for ``dataset`` (None before fetching)."""
    try:
        return json.loads((download_folder(dataset) / "manifest.json")
                          .read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def planned_selection(dataset, dataset_params, manifest=None):
    """What a dataset whose selection has parameters (Reuters's topic filter and split)
    will give, from its manifest: ``{"class_names": [...], "documents": {"train": n,
    "test": m}}``; None when it has no such plan or is not fetched yet."""
    module = datasets.get(dataset)
    manifest = manifest or fetched_manifest(dataset)
    if manifest is None or not hasattr(module, "planned"):
        return None
    return module.planned(manifest, **dataset_params)


def known_training_documents(dataset, dataset_params=None):
    """Training documents of a fetched dataset, from its manifest (None before fetching).

    Lets ``validation_size`` and ``train_size`` be checked when a task is built,
    before any work; SplitValidation checks again against the sequences.
    """
    manifest = fetched_manifest(dataset)
    if manifest is None:
        return None
    planned = planned_selection(dataset, dataset_params or {}, manifest)
    if planned is not None:
        return planned["documents"]["train"]
    if "documents" in manifest:
        return manifest["documents"].get("train")
    counts = manifest.get("reviews", {})  # manifests written before "documents"
    return sum(n for key, n in counts.items() if key.startswith("train/")) or None


#: Padded sequences of all documents are held in memory as int32 (Featurize, training).
MAX_PADDED_BYTES = 2 << 30


def check_padded_size(dataset, params):
    """Refuse a ``maxlen`` whose padded sequences of the fetched dataset would not fit."""
    if "maxlen" not in params:
        return
    manifest = fetched_manifest(dataset)
    try:
        documents = sum(int(n) for n in manifest["documents"].values())
    except (ValueError, KeyError, TypeError, AttributeError):
        return  # not fetched yet (None), or a manifest without document counts
    needed = documents * int(params["maxlen"]) * 4
    if needed > MAX_PADDED_BYTES:
        raise PipelineError(
            f"maxlen {params['maxlen']:,}: the padded sequences of the {documents:,} "
            f"documents would take {needed / 2**30:.1f} GB; at most "
            f"{MAX_PADDED_BYTES / 2**30:.0f} GB are allowed: lower maxlen (the longest IMDB "
            f"review has about 2,500 words)")


def check_data_folder(folder):
    """The data folder must be a writable folder, or creatable: else one line, before any
    work (not a traceback once a stage has computed its result)."""
    import os

    folder = Path(folder).expanduser()
    what = f"data folder {folder}"
    fix = "give a writable folder with --pipeline-data-dir (or [pipeline] data_dir)"
    probe = folder
    while not probe.exists():
        if probe.is_symlink():
            raise PipelineError(f"{what}: {probe} is a broken symbolic link; {fix}")
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise PipelineError(f"{what}: {probe} is a file, not a folder; {fix}")
    try:
        read_only = bool(os.statvfs(probe).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        raise PipelineError(f"{what}: {probe} is on a read-only file system; {fix}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PipelineError(f"{what}: {probe} is read-only for this user; {fix}")


class Choice(NamedTuple):
    """A parameter that chooses which of the ``dependent`` parameters a task reads."""

    name: str                 # the choosing parameter: dataset, representation, model
    dependent: frozenset      # every parameter some choice reads
    reads: Callable           # choice -> the names of those it reads


class DatasetParams:
    dataset = experiment_default(
        luigi.Parameter, "dataset", "aclimdb",
        description=f"Which documents: {', '.join(datasets.DATASETS)}")
    source = experiment_default(
        luigi.Parameter, "source", "", significant=False,
        description="Old name of dataset, kept as an alias: aclimdb, or keras for "
                    "keras_imdb")

    def check_params(self):
        self.dataset_module  # noqa: B018 - an unknown name raises here
        check_data_folder(pipeline().data_dir)

    @property
    def dataset_module(self):
        return datasets.get(self.dataset)

    @property
    def class_names(self):
        return list(self.dataset_module.CLASS_NAMES)


_EncodeBase = type("_EncodeBase", (DatasetParams,), {
    "__doc__": "DatasetParams plus every dataset's own parameters.", "__module__": __name__,
    **datasets.all_parameters()})


class EncodeParams(_EncodeBase):
    choice = Choice("dataset", frozenset(datasets.all_parameters()), datasets.reads)

    num_words = experiment_default(
        luigi.IntParameter, "num_words", 10000,
        description="Size of the index space, as Keras's num_words: the num_words - 4 most "
                    "frequent training words are kept (0 pad, 1 start, 2 unknown, 3 unused)")

    def check_params(self):
        super().check_params()
        datasets.check(self.dataset, self.dataset_params())
        planned_selection(self.dataset, self.dataset_params())  # a filter leaving < 2 classes
        if self.num_words < MIN_NUM_WORDS:
            raise PipelineError(
                f"num_words must be at least {MIN_NUM_WORDS} (indices 0 to {INDEX_FROM} are "
                f"padding, start, unknown and unused; the words come after), "
                f"got {self.num_words}")
        if self.num_words > MAX_NUM_WORDS:
            raise PipelineError(
                f"num_words must be at most {MAX_NUM_WORDS:,} (more than any corpus here "
                f"has distinct words; IMDB has about 89,500), got {self.num_words:,}")

    def dataset_params(self):
        """The values of the chosen dataset's own parameters."""
        return {name: getattr(self, name) for name in datasets.reads(self.dataset)}

    @property
    def class_names(self):
        """The classes the dataset will give with these parameters: planned from its
        manifest when its selection has parameters (a topic filter), else its own."""
        planned = planned_selection(self.dataset, self.dataset_params())
        return planned["class_names"] if planned else super().class_names


class SplitParams(EncodeParams):
    validation_size = experiment_default(
        luigi.IntParameter, "validation_size", 10000,
        description="Training documents held out for validation")
    seed = experiment_default(
        luigi.IntParameter, "seed", 0,
        description="Seed of the validation shuffle, weight initialisation and batch order")

    def check_params(self):
        super().check_params()
        if self.validation_size < 1:
            raise PipelineError(
                f"validation_size must be a positive integer, got {self.validation_size}")
        if not 0 <= self.seed <= MAX_SEED:
            raise PipelineError(f"seed must be between 0 and {MAX_SEED}, got {self.seed}")
        if getattr(self, "train_size", 0) < 0:
            raise PipelineError(f"train_size must be 0 (all) or a positive integer, "
                                f"got {self.train_size}")
        available = known_training_documents(self.dataset, self.dataset_params())
        if available is not None:
            check_sizes(available, self.validation_size, getattr(self, "train_size", 0))


# Parameters are listed (in --help, in task names) in the order they are created: the
# stages' own ones first, then those the registries below bring.
_REPRESENTATION = luigi.Parameter(default="multihot")
_MODEL = experiment_default(luigi.Parameter, "model", "mlp")
_TRAIN_SIZE = experiment_default(
    luigi.IntParameter, "train_size", 0,
    description="Train on the first N training documents of the seeded split only "
                "(nested subsets, for learning curves); 0 = all of them")

from . import features, models  # noqa: E402

_REPRESENTATION.description = (f"How documents become model input (Featurize): "
                               f"{', '.join(features.REPRESENTATIONS)}")
_MODEL.description = f"Which model: {', '.join(models.MODELS)}"


def _with_parameters(name, base, parameters, doc):
    """``base`` plus the given Luigi parameters, as a new mixin class."""
    return type(name, (base,), {"__doc__": doc, "__module__": __name__, **parameters})


_FeatureBase = _with_parameters(
    "_FeatureBase", EncodeParams,
    features.all_parameters(),
    "EncodeParams plus every representation's parameters.")


class FeatureParams(_FeatureBase):
    representation = _REPRESENTATION

    dependent = frozenset(features.all_parameters())

    @staticmethod
    def parameters_read(representation):
        return set(features.get(representation).PARAMETERS)

    choice = Choice("representation", dependent, parameters_read)

    def check_params(self):
        super().check_params()
        features.get(self.representation).check(self.representation_params())
        check_padded_size(self.dataset, self.representation_params())

    def representation_params(self):
        return {name: getattr(self, name)
                for name in features.get(self.representation).PARAMETERS}


_ModelBase = _with_parameters(
    "_ModelBase", SplitParams, models.all_parameters(),
    "SplitParams plus every model's parameters.")


class ModelParams(_ModelBase):
    model = _MODEL
    train_size = _TRAIN_SIZE

    dependent = frozenset(models.all_parameters())

    @staticmethod
    def parameters_read(model):
        return models.reads(model)

    choice = Choice("model", dependent, parameters_read)

    def check_params(self):
        super().check_params()
        models.check(self.model, self.model_params(), len(self.class_names))
        models.check_sizes(self.model, self.model_params(), self.num_words,
                           len(self.class_names))

    @property
    def model_module(self):
        return models.get(self.model)

    def model_params(self):
        """The values of the parameters the chosen model reads."""
        return {name: getattr(self, name) for name in models.reads(self.model)}

    def representation_params(self):
        module = features.get(self.model_module.REPRESENTATION)
        return {name: getattr(self, name) for name in module.PARAMETERS}


class FinalParams(ModelParams):
    final_epochs = experiment_default(
        luigi.Parameter, "final_epochs", "auto",
        description="Epochs of the final model trained on all training documents: 'auto' = "
                    "the epoch with the lowest validation loss, or a positive integer")

    def check_params(self):
        super().check_params()
        if self.final_epochs != "auto" and not (
                self.final_epochs.isdigit() and 1 <= int(self.final_epochs) <= models.MAX_EPOCHS):
            raise PipelineError(
                f"final_epochs must be 'auto' or an integer from 1 to {models.MAX_EPOCHS}, "
                f"got {self.final_epochs!r}")
