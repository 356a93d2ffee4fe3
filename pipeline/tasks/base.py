"""What every task of the pipeline shares: one output folder, written all at once.

A task writes its files into ``<data_dir>/<TaskName>/<task_id>/``: one folder per
configuration, staged and renamed into place once complete (:mod:`pipeline.io.storage`),
with ``task.json`` recording its parameters. A task is complete when its files exist and
everything upstream is complete, so deleting a middle stage's folder reruns that stage
and everything after it. Before any work, the values it reads are checked together
(:meth:`PipelineTask.check_params`): a bad combination is one line, not a traceback
after an hour of training.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import luigi

from .. import datasets, features, models
from ..datasets import Dataset, Plan
from ..errors import PipelineError
from ..features import Representation
from ..io import storage
from ..io.lifeline import die_with
from ..ml.split import check_sizes
from ..models import Model
from ..models import check_sizes as check_model_sizes
from . import remote
from .logs import CONSOLE, install_interrupt_hook, install_log_filter
from .parameters import Parameterized, memo, pinned_settings, settings_state, values_of
from .settings import data_folder

logger = logging.getLogger("luigi-interface")
install_log_filter()
install_interrupt_hook()


@luigi.Task.event_handler(luigi.Event.START)
def _die_with_worker(task: luigi.Task) -> None:
    """Luigi's task processes (``--workers N``) die with the worker that forked them."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        die_with(parent.pid)

#: Padded sequences of all documents are held in memory as int32 (Featurize, training).
MAX_PADDED_BYTES = 2 << 30


class pipeline(luigi.Config):  # noqa: N801 - the name is the luigi.cfg section
    """``[pipeline]`` in luigi.cfg, or ``--pipeline-data-dir`` on the command line; read
    by :func:`pipeline.tasks.settings.data_folder`."""

    data_dir = luigi.Parameter(
        default="", description="Folder that holds every artifact of every task (relative: "
                                "to the current folder on the command line, to the file's "
                                "folder in luigi.cfg; default ~/.local/share/text-classifier)")
    tensorboard = luigi.BoolParameter(
        default=False,
        description="TrainModel and EvaluateTest write TensorBoard logs into their folders "
                    "(tensorboard --logdir <data_dir>); needs the tensorboard extra. Changes "
                    "no result and no task id")


def download_folder(dataset: str) -> Path:
    """Where DownloadDataset keeps a dataset's files: one copy per data folder."""
    return data_folder() / "DownloadDataset" / dataset


def fetched_manifest(dataset: str) -> dict[str, Any] | None:
    """The manifest DownloadDataset wrote for ``dataset`` (None before fetching), read
    again only when the file changes (every task built reads it); one edited into the
    wrong shape is a :class:`~pipeline.io.storage.DamagedFileError` naming it."""
    path = memo(("manifest path", dataset, settings_state()),
                lambda: str(download_folder(dataset) / "manifest.json"))
    try:
        info = os.stat(path)
    except OSError:
        return None
    return memo(("manifest", path, info.st_mtime_ns, info.st_size, info.st_ino),
                lambda: _read_manifest(Path(path)))


def _is_documents(value: Any) -> bool:
    return isinstance(value, dict) and all(storage.is_count(value.get(split))
                                           for split in ("train", "test"))


def _is_topics(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(row, list) and len(row) == 4 and isinstance(row[0], str)
        and all(storage.is_count(n) for n in row[1:]) for row in value)


def _is_matrix(value: Any) -> bool:
    if not isinstance(value, dict) or not storage.is_names(value.get("labels")):
        return False
    rows, size = value.get("rows_true_columns_predicted"), len(value["labels"])
    return isinstance(rows, list) and len(rows) == size and all(
        isinstance(row, list) and len(row) == size and all(storage.is_finite(n) for n in row)
        for row in rows)


#: The shapes of the JSON outputs, as the tasks read them back (pipeline.io.storage).
MANIFEST: storage.Shape = {
    "documents": (_is_documents, "{'train': count, 'test': count}"),
    "sha256": (lambda value: isinstance(value, str), "the archive's SHA-256")}
TOPICS: storage.Shape = {"topics": (_is_topics, "a list of [topic, count, count, count]")}
VOCABULARY: storage.Shape = {
    "words": (storage.is_names, "a list of words"),
    "num_words": (lambda value: storage.is_count(value) and value >= 5, "an integer >= 5"),
    "class_names": (lambda value: storage.is_names(value) and len(value) >= 2,
                    "a list of at least two class names")}
METRICS: storage.Shape = {
    "loss": (storage.is_number, "a number"),
    "accuracy": (lambda value: storage.is_finite(value) and 0 <= value <= 1,
                 "a number from 0 to 1"),
    "final_epochs": (lambda value: storage.is_count(value) and value >= 1,
                     "a positive integer"),
    "confusion_matrix": (_is_matrix, "labels and a square matrix of finite numbers")}
TRAINING: storage.Shape = {
    "trainable_parameters": (storage.is_count, "a count"),
    "seconds": (storage.is_finite, "a number")}
HISTORY = ("epoch", "loss", "val_loss", "val_accuracy")


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = storage.read_json(path, MANIFEST)
        if "topics" in manifest:
            storage.read_json(path, TOPICS)
    except storage.DamagedFileError as exc:
        # source data: fetched again once its folder is gone (forget keeps source data)
        problem = str(exc).split("; it was changed")[0]
        raise storage.DamagedFileError(
            f"{problem}; it was changed or damaged after DownloadDataset wrote it: delete "
            f"{path.parent} and run again (the dataset is fetched and checked again)") \
            from None
    return dict(manifest)


def check_data_folder(folder: Path) -> None:
    """The data folder must be a writable folder, or creatable: else one line, before any
    work (not a traceback once a stage has computed its result)."""
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


class ReadParameters:
    """The declared parameters the tasks read, typed (an attribute is the value when the
    task reads it, None when it does not; a plain mixin, so Luigi's constructor
    signature is not changed for type checkers)."""

    dataset: str
    num_words: int
    validation_size: int
    seed: int
    representation: str
    model: str
    train_size: int
    final_epochs: str
    epochs: int
    batch_size: int
    glove_dim: int


class PipelineTask(Parameterized, ReadParameters):
    """A task whose outputs are the files of one folder, written all at once."""

    #: output name -> file name inside the task's folder
    files: ClassVar[Mapping[str, str]] = {}

    #: called with each task Luigi finds incomplete and without dependencies (it gives no
    #: event for those): how the console learns of a Report or a lone download asked for
    without_dependencies: ClassVar[list[Callable[[PipelineTask], None]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        with pinned_settings():
            super().__init__(*args, **kwargs)
            self.check_params()

    def deps(self) -> list[luigi.Task]:
        found: list[luigi.Task] = super().deps()
        if not found:
            for hook in PipelineTask.without_dependencies:
                hook(self)
        return found

    # ----------------------------------------------------------------- the plug-ins

    @property
    def dataset_plugin(self) -> Dataset:
        return datasets.get(self.dataset)

    @property
    def model_plugin(self) -> Model:
        return models.get(self.model)

    @property
    def representation_plugin(self) -> Representation:
        """The representation it reads: chosen (Featurize) or its model's."""
        name = self.param_kwargs.get("representation") or self.model_plugin.representation
        return features.get(str(name))

    def dataset_params(self) -> dict[str, Any]:
        return values_of(self.dataset_plugin, self.param_kwargs)

    def representation_params(self) -> dict[str, Any]:
        return values_of(self.representation_plugin, self.param_kwargs)

    def model_params(self) -> dict[str, Any]:
        """The model's parameters and its representation's."""
        return {**values_of(self.model_plugin, self.param_kwargs),
                **self.representation_params()}

    def plan(self) -> Plan | None:
        """What Encode will give, planned from the fetched manifest (None before it)."""
        manifest = fetched_manifest(self.dataset)
        return None if manifest is None else \
            self.dataset_plugin.plan(manifest, self.dataset_params())

    @property
    def class_names(self) -> list[str]:
        """The classes the dataset will give with these parameters."""
        plan = self.plan()
        return list(plan.class_names if plan else self.dataset_plugin.class_names)

    # ------------------------------------------------------------------------ checks

    def check_params(self) -> None:
        """Check the values it reads together, before any work (each value alone was
        checked by its declaration when it was read)."""
        read: dict[str, Any] = self.param_kwargs
        if "dataset" not in read:
            return
        check_data_folder(data_folder())
        if "dataset" not in self.chooses:
            return
        self.dataset_plugin.check(self.dataset_params())
        plan = self.plan()  # a topic filter that leaves fewer than two classes raises
        if "representation" in read or "model" in read:
            self.representation_plugin.check(self.representation_params())
            self.check_padded_size()
        if "validation_size" in read:
            manifest = fetched_manifest(self.dataset)
            documents = plan.documents if plan else (manifest or {}).get("documents")
            if isinstance(documents, dict) and isinstance(documents.get("train"), int):
                check_sizes(documents["train"], self.validation_size,
                            int(read.get("train_size", 0)))
        if "model" in read:
            classes = len(self.class_names)
            self.model_plugin.check(self.model_params(), classes)
            check_model_sizes(self.model_plugin, self.model_params(), self.num_words, classes)

    def check_padded_size(self) -> None:
        """Refuse a ``maxlen`` whose padded sequences of the fetched dataset would not
        fit in memory."""
        params = self.representation_params()
        manifest = fetched_manifest(self.dataset)
        if "maxlen" not in params or manifest is None:
            return
        try:
            documents = sum(int(n) for n in manifest["documents"].values())
        except (ValueError, KeyError, TypeError, AttributeError):
            return
        needed = documents * int(params["maxlen"]) * 4
        if needed > MAX_PADDED_BYTES:
            raise PipelineError(
                f"maxlen {params['maxlen']:,}: the padded sequences of the {documents:,} "
                f"documents would take {needed / 2**30:.1f} GB; at most "
                f"{MAX_PADDED_BYTES / 2**30:.0f} GB are allowed: lower maxlen (the longest "
                f"IMDB review has about 2,500 words)")

    # ----------------------------------------------------------------------- outputs

    @property
    def output_dir(self) -> Path:
        return data_folder() / self.get_task_family() / self.task_id

    def output(self) -> dict[str, luigi.LocalTarget]:
        return {name: luigi.LocalTarget(self.output_dir / file)
                for name, file in self.files.items()}

    def complete(self) -> bool:
        """Outputs present *and* everything upstream complete.

        Luigi's default looks at a task's own outputs only, so deleting a middle
        artifact (the split, say) would leave the stale downstream results in place.
        Here that stage and everything after it rerun. Source data (:attr:`source`
        tasks) is the exception: deleting it does not invalidate results.
        """
        return super().complete() and all(
            task.source or task.complete() for task in luigi.task.flatten(self.requires()))

    #: source data: fetched once, never a reason to recompute what was made from it
    source: ClassVar[bool] = False
    #: whether run() uses TensorFlow (started quietly before it: pipeline.tasks.console)
    uses_tensorflow: ClassVar[bool] = False

    @contextmanager
    def staged(self) -> Iterator[Path]:
        """The staging folder, with ``task.json``; it becomes :attr:`output_dir` when the
        block ends without an exception."""
        with storage.staged_dir(self.output_dir) as folder:
            storage.write_json(folder / "task.json", {
                "task_family": self.get_task_family(), "task_id": self.task_id,
                "parameters": self.to_str_params(only_significant=True)})
            yield folder

    def on_failure(self, exception: BaseException) -> str:
        if isinstance(exception, PipelineError):
            return str(exception)
        return str(super().on_failure(exception))

    def report(self, message: str, percentage: float | None = None, *,
               console: bool = True) -> None:
        """Progress: to luigid (best effort) and, with ``console``, to the terminal (the
        log's quiet console shows these lines)."""
        remote.send_progress(self, message, percentage)
        if console:
            logger.info("%s: %s", self.get_task_family(), message, extra=CONSOLE)

    def typed_params(self) -> dict[str, Any]:
        """The significant parameters it holds, as values of their declared types (a
        tuple as a list): what summaries write, where task.json keeps Luigi's text."""
        significant = {name for name, param in self.get_params() if param.significant}
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in self.param_kwargs.items() if name in significant}

    def describe_result(self) -> str:
        """What a finished run of this task gave, for the last lines of the terminal."""
        return f"{self.get_task_family()} complete: {self.output_dir}"
