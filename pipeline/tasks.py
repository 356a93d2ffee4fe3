"""The Luigi tasks: thin wiring of parameters, inputs and outputs.

    DownloadDataset -> Vectorize -> SplitValidation -> TrainModel -> EvaluateTest -> PlotHistory
                                                                                         |
                                                                                      RunAll

Each task carries the parameters of everything upstream of it (the ``*Params``
mixins below), so a parameter given to RunAll reaches the task that uses it, and
writes its files into ``<data_dir>/<TaskName>/<task_id>/``: one folder per
configuration, renamed into place only once complete. Heavy libraries (numpy,
pandas, TensorFlow, matplotlib) are imported inside ``run()``, so scheduling, a
no-op rerun and ``--help`` stay fast.
"""
import json
import logging
from pathlib import Path

import luigi

from . import remote, storage
from .config import experiment_default, pipeline
from .errors import PipelineError, install_log_filter
from .models import BOOK_MODEL, check_model_params

logger = logging.getLogger("luigi-interface")
install_log_filter()


# --------------------------------------------------------------------------- parameters

SOURCES = ("aclimdb", "keras")
MIN_NUM_WORDS = 5  # the smallest index space with one word in it
MAX_SEED = 2**32 - 1  # numpy's and TensorFlow's seeds are 32-bit


class SourceParams:
    source = experiment_default(
        luigi.Parameter, "source", "aclimdb",
        description="aclimdb: the raw review archive; keras: Keras's preprocessed "
                    "imdb.npz and its word index (keras.datasets.imdb)")

    def check_params(self):
        if self.source not in SOURCES:
            raise PipelineError(f"unknown source {self.source!r}; choose one of "
                                f"{', '.join(SOURCES)}")


class DataParams(SourceParams):
    num_words = experiment_default(
        luigi.IntParameter, "num_words", BOOK_MODEL["num_words"],
        description="Size of the index space, as Keras's num_words: the num_words - 4 most "
                    "frequent training words are kept (0 pad, 1 start, 2 unknown, 3 unused)")

    def check_params(self):
        super().check_params()
        if self.num_words < MIN_NUM_WORDS:
            raise PipelineError(
                f"num_words must be at least {MIN_NUM_WORDS} (indices 0 to 3 are padding, "
                f"start, unknown and unused; the words come after), got {self.num_words}")


class SplitParams(DataParams):
    validation_size = experiment_default(
        luigi.IntParameter, "validation_size", 10000,
        description="Training reviews held out for validation")
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
        available = known_training_reviews(self.source)
        if available is not None and self.validation_size >= available:
            raise PipelineError(
                f"validation_size must be smaller than the number of training reviews "
                f"({available}), got {self.validation_size}")


def known_training_reviews(source):
    """Training reviews in the fetched archive, from its manifest (None before fetching).

    Lets ``validation_size`` be checked when the task is built, before any work;
    SplitValidation checks again against the vectors.
    """
    manifest = Path(DownloadDataset(source=source).output()["manifest"].path)
    try:
        counts = json.loads(manifest.read_text(encoding="utf-8"))["reviews"]
    except (OSError, ValueError, KeyError):
        return None
    return sum(n for key, n in counts.items() if key.startswith("train/"))


class ModelParams(SplitParams):
    layers = experiment_default(luigi.IntParameter, "layers", BOOK_MODEL["layers"],
                                description="Number of hidden Dense layers")
    units = experiment_default(luigi.IntParameter, "units", BOOK_MODEL["units"],
                               description="Units of each hidden layer")
    activation = experiment_default(luigi.Parameter, "activation", BOOK_MODEL["activation"],
                                    description="Activation of the hidden layers")
    dropout = experiment_default(luigi.FloatParameter, "dropout", BOOK_MODEL["dropout"],
                                 description="Dropout rate after each hidden layer (0 = none)")
    l1 = experiment_default(luigi.FloatParameter, "l1", BOOK_MODEL["l1"],
                            description="L1 weight penalty on the hidden layers")
    l2 = experiment_default(luigi.FloatParameter, "l2", BOOK_MODEL["l2"],
                            description="L2 weight penalty on the hidden layers")
    regularize = experiment_default(luigi.Parameter, "regularize", BOOK_MODEL["regularize"],
                                    description="Hidden layers that l1/l2 apply to: all, first")
    optimizer = experiment_default(luigi.Parameter, "optimizer", BOOK_MODEL["optimizer"],
                                   description="Keras optimizer name")
    learning_rate = experiment_default(luigi.FloatParameter, "learning_rate", BOOK_MODEL["learning_rate"],
                                       description="Learning rate of the optimizer")
    loss = experiment_default(luigi.Parameter, "loss", BOOK_MODEL["loss"],
                              description="Keras loss name")
    epochs = experiment_default(luigi.IntParameter, "epochs", 20,
                                description="Epochs of the training run with validation")
    batch_size = experiment_default(luigi.IntParameter, "batch_size", 512,
                                    description="Mini-batch size")

    def check_params(self):
        super().check_params()
        check_model_params(**self.model_kwargs())
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise PipelineError(
                    f"{name} must be a positive integer, got {getattr(self, name)}")

    def model_kwargs(self):
        return {name: getattr(self, name) for name in (
            "num_words", "layers", "units", "activation", "dropout", "l1", "l2",
            "regularize", "optimizer", "learning_rate", "loss")}


class FinalParams(ModelParams):
    final_epochs = experiment_default(
        luigi.Parameter, "final_epochs", "auto",
        description="Epochs of the final model trained on all training reviews: 'auto' = "
                    "the epoch with the lowest validation loss, or a positive integer")

    def check_params(self):
        super().check_params()
        if self.final_epochs != "auto" and not (
                self.final_epochs.isdigit() and int(self.final_epochs) >= 1):
            raise PipelineError(
                f"final_epochs must be 'auto' or a positive integer, got {self.final_epochs!r}")


# ------------------------------------------------------------------------------ base

class PipelineTask(luigi.Task):
    """A task whose outputs are the files of one folder, written all at once."""

    #: output name -> file name inside the task's folder
    files = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if hasattr(self, "check_params"):
            self.check_params()

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
        Here that stage and everything after it rerun. The downloaded archive is the
        exception: it is source data, and deleting it does not invalidate results.
        """
        return super().complete() and all(
            isinstance(task, DownloadDataset) or task.complete()
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


class _StagedOutput:
    def __init__(self, task):
        self.task = task
        self._context = storage.staged_dir(task.output_dir)

    def __enter__(self):
        folder = self._context.__enter__()
        storage.write_json(folder / "task.json", {
            "task_family": self.task.get_task_family(),
            "task_id": self.task.task_id,
            "parameters": self.task.to_str_params(only_significant=True),
        })
        return folder

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)


# ----------------------------------------------------------------------------- tasks

class DownloadDataset(SourceParams, PipelineTask):
    """The raw data: downloaded and verified, or copied from a local path and checked.

    ``source=aclimdb`` (default): the review archive aclImdb_v1.tar.gz.
    ``source=keras``: Keras's imdb.npz and imdb_word_index.json.
    """

    url = luigi.Parameter(
        default="", significant=False,
        description="Where the archive (or imdb.npz) comes from: http(s) URL, file:// URL "
                    "or local path (default: the official address)")
    word_index_url = luigi.Parameter(
        default="", significant=False,
        description="source=keras: where imdb_word_index.json comes from (default: official)")
    sha256 = luigi.Parameter(
        default="", significant=False,
        description="Expected SHA-256 (default: the official one for the official URL; "
                    "local copies are checked by their layout)")

    @property
    def files(self):
        if self.source == "keras":
            return {"npz": "imdb.npz", "word_index": "imdb_word_index.json",
                    "manifest": "manifest.json"}
        return {"archive": "aclImdb_v1.tar.gz", "manifest": "manifest.json"}

    @property
    def output_dir(self):
        # One copy per source and data directory, whichever address it came from.
        return Path(pipeline().data_dir) / self.get_task_family() / self.source

    def run(self):
        self.report(f"fetching the {self.source} data from {self.url or 'the official address'}")
        with self.staged() as folder:
            if self.source == "keras":
                from .keras_imdb import fetch_source

                manifest = fetch_source(folder, self.url, self.sha256, self.word_index_url)
            else:
                from .dataset import fetch_source

                manifest = fetch_source(folder, self.url, self.sha256)
            storage.write_json(folder / self.files["manifest"], manifest)
        self.report(f"data ready: {sum(manifest['reviews'].values())} reviews", 100)


class Vectorize(DataParams, PipelineTask):
    """Reviews -> Keras-style sequences -> multi-hot vectors, plus the vocabulary."""

    files = {"vectors": "vectors.npz", "vocabulary": "vocabulary.json"}

    def requires(self):
        return DownloadDataset(source=self.source)

    def run(self):
        from .features import multi_hot

        if self.source == "keras":
            from .keras_imdb import sequences_from_source
        else:
            from .dataset import sequences_from_source

        self.report("reading and encoding reviews", 5)
        source_folder = Path(self.input()["manifest"].path).parent
        splits, vocabulary, counts = sequences_from_source(source_folder, self.num_words)
        self.report("building multi-hot vectors", 70)
        arrays = {}
        for split, (values, offsets, labels, files) in splits.items():
            arrays.update(multi_hot(values, offsets, labels, self.num_words).to_arrays(split))
            arrays.update({f"{split}_sequence_values": values,
                           f"{split}_sequence_offsets": offsets, f"{split}_files": files})
        self.report("writing vectors", 90)
        with self.staged() as folder:
            storage.save_arrays(folder / self.files["vectors"], num_words=self.num_words,
                                **arrays)
            storage.write_json(folder / self.files["vocabulary"], {
                "num_words": self.num_words, "index_from": 3, "source": self.source,
                "reserved": {"0": "<pad>", "1": "<start>", "2": "<unknown>", "3": "<unused>"},
                "words": vocabulary, "training_counts": counts,
                "source_sha256": storage.read_json(self.input()["manifest"].path)["sha256"]})
        self.report(f"vectorized {len(splits['train'][2])} training and "
                    f"{len(splits['test'][2])} test reviews", 100)


class SplitValidation(SplitParams, PipelineTask):
    """Seeded shuffle of the training reviews, first ``validation_size`` held out."""

    files = {"split": "split.npz"}

    def requires(self):
        return self.clone(Vectorize)

    def run(self):
        from .features import MultiHot, split_rows

        arrays = storage.load_arrays(self.input()["vectors"].path)
        train = MultiHot.from_arrays(arrays, "train", self.num_words)
        if self.validation_size >= train.rows:
            raise PipelineError(
                f"validation_size must be smaller than the number of training reviews "
                f"({train.rows}), got {self.validation_size}")
        train_rows, val_rows = split_rows(train.rows, self.validation_size, self.seed)
        with self.staged() as folder:
            storage.save_arrays(folder / self.files["split"], num_words=self.num_words,
                                train_rows=train_rows, val_rows=val_rows,
                                **train.take(train_rows).to_arrays("train"),
                                **train.take(val_rows).to_arrays("val"))


class _Fitting:
    """Fitting as both training tasks do it, with progress reports to the scheduler."""

    resources = {"training": 1}

    def fit_model(self, train, epochs, validation=None):
        """Seed, build, fit; returns ``(portable model, history, seconds)``.

        Training uses the fast sparse first layer; the returned model is its twin of
        plain Dense layers, the one to evaluate and save (see ``portable_model``).
        """
        from .models import build_model, portable_model
        from .training import fit, seed_everything

        seed_everything(self.seed)
        model = build_model(fast=True, **self.model_kwargs())
        history, seconds = fit(model, train, validation=validation, epochs=epochs,
                               batch_size=self.batch_size, seed=self.seed,
                               on_epoch=self.epoch_report)
        return portable_model(model, **self.model_kwargs()), history, seconds

    def epoch_report(self, epoch, epochs, logs):
        parts = [f"epoch {epoch}/{epochs}"]
        parts += [f"{key} {logs[key]:.4g}" for key in ("loss", "val_loss", "val_accuracy")
                  if key in logs]
        self.report(" · ".join(parts), 100 * epoch / epochs)


class TrainModel(_Fitting, ModelParams, PipelineTask):
    """The model trained on the training part, validated each epoch on the held-out part."""

    files = {"model": "model.keras", "history": "history.csv", "training": "training.json"}

    def requires(self):
        return self.clone(SplitValidation)

    def run(self):
        from .features import MultiHot

        arrays = storage.load_arrays(self.input()["split"].path)
        train = MultiHot.from_arrays(arrays, "train", self.num_words)
        validation = MultiHot.from_arrays(arrays, "val", self.num_words)
        model, history, seconds = self.fit_model(train, self.epochs, validation)
        with self.staged() as folder:
            model.save(folder / self.files["model"])
            history.to_csv(folder / self.files["history"], index=False)
            storage.write_json(folder / self.files["training"], {
                "seconds": round(seconds, 3),
                "trainable_parameters": int(sum(w.numpy().size
                                                for w in model.trainable_weights)),
                "training_reviews": train.rows, "validation_reviews": validation.rows})


class EvaluateTest(_Fitting, FinalParams, PipelineTask):
    """As the book does: a fresh model on all training reviews, evaluated on the test set."""

    files = {"model": "model.keras", "metrics": "metrics.json",
             "predictions": "predictions.npz", "weights": "weights.npz"}

    def requires(self):
        return {"train": self.clone(TrainModel), "vectors": self.clone(Vectorize)}

    def chosen_epochs(self):
        import pandas as pd

        from .training import best_epoch

        if self.final_epochs != "auto":
            return int(self.final_epochs)
        return best_epoch(pd.read_csv(self.input()["train"]["history"].path))

    def run(self):
        from .features import MultiHot
        from .inference import export_weights
        from .training import evaluate

        epochs = self.chosen_epochs()
        arrays = storage.load_arrays(self.input()["vectors"]["vectors"].path)
        train = MultiHot.from_arrays(arrays, "train", self.num_words)
        test = MultiHot.from_arrays(arrays, "test", self.num_words)
        model, _, seconds = self.fit_model(train, epochs)
        self.report("evaluating on the test reviews", 100)
        metrics, probabilities = evaluate(model, test)
        metrics.update({"final_epochs": epochs, "final_epochs_parameter": self.final_epochs,
                        "training_reviews": train.rows, "training_seconds": round(seconds, 3)})
        with self.staged() as folder:
            model.save(folder / self.files["model"])
            storage.write_json(folder / self.files["metrics"], metrics)
            storage.save_arrays(folder / self.files["predictions"],
                                probabilities=probabilities, labels=test.labels)
            # for scoring new reviews without TensorFlow (pipeline/inference.py)
            storage.save_arrays(folder / self.files["weights"], **export_weights(model))


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
                         title=f"IMDB {self.layers}x{self.units} {self.activation}, "
                               f"{self.optimizer} lr {self.learning_rate:g}")


class RunAll(FinalParams, PipelineTask):
    """The whole chain; writes summary.json and prints where everything is."""

    files = {"summary": "summary.json"}

    def requires(self):
        return {"train": self.clone(TrainModel), "evaluate": self.clone(EvaluateTest),
                "plot": self.clone(PlotHistory)}

    def run(self):
        inputs = self.input()
        metrics = storage.read_json(inputs["evaluate"]["metrics"].path)
        summary = {
            "test_loss": metrics["loss"], "test_accuracy": metrics["accuracy"],
            "chosen_epoch": metrics["final_epochs"],
            "model": inputs["evaluate"]["model"].path,
            "history": inputs["train"]["history"].path,
            "validation_model": inputs["train"]["model"].path,
            "metrics": inputs["evaluate"]["metrics"].path,
            "plot": inputs["plot"]["plot"].path,
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
    return (f"\nIMDB classifier: test accuracy {summary['test_accuracy']:.4f}, "
            f"test loss {summary['test_loss']:.4f} "
            f"(final model trained {summary['chosen_epoch']} epochs)\n{warning}"
            f"  summary: {path}\n  model:   {summary['model']}\n"
            f"  plot:    {summary['plot']}\n")


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


class CompareModels(FinalParams, PipelineTask):
    """A grid of model variants trained and evaluated side by side.

    Every variant runs through the ordinary TrainModel and EvaluateTest tasks with
    its own parameters, so the vectors and the split are shared, a variant already
    trained (by RunAll or an earlier grid) is reused, and ``--workers 2`` trains two
    variants at once.
    """

    variants = luigi.Parameter(
        default="", description="Comma-separated variant names (default: every variant "
                                "of the variants file)")
    variants_file = luigi.Parameter(
        default="", description="TOML or JSON file of variants (default: the shipped "
                                "pipeline/variants.toml)")
    files = {"csv": "comparison.csv", "markdown": "comparison.md",
             "val_loss": "val_loss.png", "val_accuracy": "val_accuracy.png",
             "test_accuracy": "test_accuracy.png"}

    def check_params(self):
        super().check_params()
        self.variant_params  # noqa: B018 - resolving checks every variant

    # Luigi reuses task instances with equal parameters, so the variants are read from
    # the file on each use rather than once: an edited file is never seen stale.
    @property
    def selected(self):
        from .compare import load_variants, select_variants

        return select_variants(load_variants(self.variants_file or None), self.variants)

    @property
    def variant_params(self):
        return {name: self._variant_params(name, spec) for name, spec in self.selected.items()}

    def _variant_params(self, name, spec):
        """The base parameters with the variant's overrides, checked and typed."""
        base = {name: value for name, value in self.param_kwargs.items()
                if name in dict(EvaluateTest.get_params())}
        known = dict(EvaluateTest.get_params())
        params = dict(base)
        for field, value in spec.items():
            if field == "description":
                continue
            if field not in known:
                raise PipelineError(f"variant {name!r}: unknown field {field!r}; fields are "
                                    f"{', '.join(sorted(known))}")
            try:
                params[field] = known[field].parse(str(value))
            except ValueError:
                raise PipelineError(f"variant {name!r}: field {field!r} has an invalid "
                                    f"value {value!r}") from None
        try:
            EvaluateTest(**params)
        except PipelineError as exc:
            raise PipelineError(f"variant {name!r}: {exc}") from None
        return params

    @property
    def output_dir(self):
        from .compare import spec_digest

        digest = spec_digest({name: {k: str(v) for k, v in params.items()}
                              for name, params in self.variant_params.items()})
        return Path(pipeline().data_dir) / self.get_task_family() / f"{self.task_id}_{digest}"

    def requires(self):
        return {name: {"train": TrainModel(**{k: v for k, v in params.items()
                                              if k in dict(TrainModel.get_params())}),
                       "evaluate": EvaluateTest(**params)}
                for name, params in self.variant_params.items()}

    def run(self):
        from . import compare, plots

        rows, histories = [], {}
        selected = self.selected
        for name, inputs in self.input().items():
            history = storage.read_csv_columns(inputs["train"]["history"].path)
            histories[name] = history
            rows.append(compare.comparison_row(
                name, selected[name], history,
                storage.read_json(inputs["train"]["training"].path),
                storage.read_json(inputs["evaluate"]["metrics"].path)))
        with self.staged() as folder:
            compare.write_csv(rows, folder / self.files["csv"])
            compare.write_markdown(rows, folder / self.files["markdown"])
            plots.plot_curves(histories, "val_loss", folder / self.files["val_loss"],
                              "Validation loss")
            plots.plot_curves(histories, "val_accuracy", folder / self.files["val_accuracy"],
                              "Validation accuracy")
            plots.plot_test_accuracy(rows, folder / self.files["test_accuracy"])
        print(f"\nCompared {len(rows)} variants: {self.output()['markdown'].path}", flush=True)


class PredictReviews(FinalParams, PipelineTask):
    """Scores new reviews with the final model of a configuration (default: RunAll's).

    ``--input`` is a text file (one review per line), a folder of .txt files or a CSV
    file with a ``text`` column. The output folder depends on the input's content,
    so an edited input file is scored again.
    """

    input = luigi.Parameter(description="Reviews to score: .txt (one per line), a folder "
                                        "of .txt files, or .csv with a 'text' column")
    files = {"predictions": "predictions.csv"}

    def check_params(self):
        super().check_params()
        if not Path(self.input).exists():
            raise PipelineError(f"input {self.input}: no such file or folder")

    @property
    def output_dir(self):
        import hashlib

        source = Path(self.input)
        digest = hashlib.sha256()
        for file in sorted(source.glob("*.txt")) if source.is_dir() else [source]:
            digest.update(file.name.encode() + b"\0" + file.read_bytes())
        return (Path(pipeline().data_dir) / self.get_task_family()
                / f"{self.task_id}_{digest.hexdigest()[:10]}")

    def requires(self):
        return {"evaluate": self.clone(EvaluateTest), "vectors": self.clone(Vectorize)}

    def run(self):
        from .inference import NumpyMLP
        from .predict import read_reviews, score, write_predictions

        # The parameter `input` hides Task.input(); ask the requirements directly.
        upstream = luigi.task.getpaths(self.requires())
        reviews = read_reviews(self.input)
        model = NumpyMLP.load(upstream["evaluate"]["weights"].path)  # no TensorFlow
        vocabulary = storage.read_json(upstream["vectors"]["vocabulary"].path)
        probabilities = score(model, vocabulary["words"], vocabulary["num_words"], reviews)
        with self.staged() as folder:
            write_predictions(reviews, probabilities, folder / self.files["predictions"])
        scored = sum(p is not None for p in probabilities)
        self.report(f"scored {scored} of {len(reviews)} reviews", 100)
        print(f"\nPredictions for {len(reviews)} reviews: {self.output()['predictions'].path}",
              flush=True)
