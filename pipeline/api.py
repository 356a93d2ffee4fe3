"""The pipeline from Python: scripts and notebooks, from any folder.

    from pipeline import api

    result = api.run("RunAll", data_dir="~/imdb", epochs=10,
                     settings={"DownloadDataset": {"url": "~/aclImdb_v1.tar.gz"}})
    result.test_accuracy          # 0.8846 (a float)
    result.history                # pandas DataFrame, one row per epoch
    result.paths["model"]         # absolute Path of the final model
    model = result.load_model()   # the trained Keras model

:func:`run` builds a task (any of them: RunAll, TrainModel, CompareModels, Predict, ...)
with the local scheduler and returns its :class:`Result`; :func:`load` returns the
result of a task already built, without computing anything; :func:`predict` scores
texts. Parameters are the tasks' own (``epochs=10``, ``model="embedding"``), as Python
values or as text, read by their declarations; an unknown parameter, a value of the
wrong type or out of range, or a data folder that cannot be used raises
:class:`~pipeline.errors.PipelineError` with a one-line message before anything is
computed or written, and a task that fails raises :class:`TaskFailedError` (a
PipelineError) with its one-line errors. Configuration, data folder and settings given
to a call hold for that call only.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import luigi
from luigi.configuration import get_config

from .errors import PipelineError, user_error
from .tasks import PipelineTask, RunAll, console
from .tasks import settings as configuration
from .tasks.base import check_data_folder

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Result", "RunResult", "TaskFailedError", "load", "predict", "run"]


class TaskFailedError(PipelineError):
    """A run that did not complete; ``errors`` holds ``(task family, message)`` pairs."""

    def __init__(self, message: str, errors: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)


@dataclass(frozen=True)
class Result:
    """A complete task's outputs: absolute paths and readers for them."""

    #: the Luigi task (its parameters are ``task.param_kwargs``)
    task: PipelineTask = field(repr=False)
    family: str
    task_id: str
    data_dir: Path
    output_dir: Path
    #: output name -> absolute path (``model``, ``history``, ``metrics``, ...)
    paths: dict[str, Path]
    #: the significant parameters, as values of their types
    parameters: dict[str, Any]

    @property
    def metrics(self) -> dict[str, Any]:
        """metrics.json of the task (EvaluateTest, RunAll: its final model's)."""
        return _read_json(self._path("metrics"))

    @property
    def history(self) -> pd.DataFrame:
        """history.csv: one row per epoch (epoch, loss, accuracy, val_loss, ...)."""
        import pandas as pd

        return pd.read_csv(self._path("history"))

    def table(self, name: str | None = None) -> pd.DataFrame:
        """A CSV output as a DataFrame (``comparison.csv`` of CompareModels,
        ``learning_curve.csv``, ``predictions.csv``; the only CSV by default)."""
        import pandas as pd

        csvs = [key for key, path in self.paths.items() if path.suffix == ".csv"]
        if name is None and len(csvs) == 1:
            name = csvs[0]
        if name not in csvs:
            raise PipelineError(f"{self.family} has no table {name!r}; its tables are "
                                f"{', '.join(csvs) or 'none'}")
        return pd.read_csv(self.paths[name])

    def load_model(self) -> Any:
        """The trained Keras model (``model.keras``)."""
        from .io.quiet import start_tensorflow

        start_tensorflow()
        import keras

        return keras.models.load_model(self._path("model"))

    def _path(self, name: str) -> Path:
        if name not in self.paths:
            raise PipelineError(f"{self.family} has no output {name!r}; it has "
                                f"{', '.join(self.paths)}")
        return self.paths[name]


@dataclass(frozen=True)
class RunResult(Result):
    """RunAll's result: the final model's test figures, baselines and every output."""

    test_accuracy: float = 0.0
    test_loss: float = 0.0
    #: epochs the final model was trained (the best validation epoch with ``auto``)
    chosen_epoch: int = 0
    baselines: dict[str, float] = field(default_factory=dict)
    #: reference models (Reuters's bottleneck): name -> test accuracy
    references: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict, repr=False)


@contextmanager
def _configured(data_dir: str | os.PathLike[str] | None, config: str | os.PathLike[str] | None,
                values: Mapping[str, Mapping[str, Any]] | None) -> Iterator[Path]:
    """Luigi's configuration with this call's file, data folder and settings; the
    previous values put back afterwards. Yields the data folder."""
    parser = get_config()
    saved: dict[tuple[str, str], str | None] = {}

    def put(section: str, key: str, value: str | None) -> None:
        if (section, key) not in saved:
            saved[section, key] = parser.get(section, key, None, raw=True) \
                if parser.has_option(section, key) else None
        if value is None:
            if parser.has_option(section, key):
                parser.remove_option(section, key)
            return
        if not parser.has_section(section):
            parser.add_section(section)
        parser.set(section, key, value.replace("%", "%%"))

    try:
        if config is not None:
            configuration.use_config(config, f"config {config}")
        for section, items in (values or {}).items():
            if not isinstance(items, Mapping):
                raise PipelineError(f"settings[{section!r}] must be a mapping of keys to "
                                    f"values, like {{'url': '/data/aclImdb_v1.tar.gz'}}")
            for key, value in items.items():
                put(section, key, None if value is None else str(value))
        if data_dir is not None:
            put("pipeline", "data_dir", str(Path(data_dir).expanduser().absolute()))
        folder = configuration.data_folder()
        check_data_folder(folder)
        yield folder
    finally:
        for (section, key), value in saved.items():
            if value is None:
                if parser.has_option(section, key):
                    parser.remove_option(section, key)
            else:
                parser.set(section, key, value)


def task_class(task: str | type[PipelineTask]) -> type[PipelineTask]:
    """The task class named ``task`` (a class is returned as it is)."""
    if isinstance(task, type) and issubclass(task, PipelineTask):
        return task
    from . import tasks

    found = getattr(tasks, str(task), None)
    if not (isinstance(found, type) and issubclass(found, PipelineTask)):
        names = [name for name in tasks.__all__ if name != "PipelineTask"
                 and isinstance(getattr(tasks, name), type)
                 and issubclass(getattr(tasks, name), PipelineTask)]
        raise PipelineError(f"unknown task {task!r}; choose one of {', '.join(names)}")
    return found


def make_task(task: str | type[PipelineTask], **params: Any) -> PipelineTask:
    """The task with these parameters; :class:`PipelineError` in one line for an
    unknown parameter or a bad value."""
    cls = task_class(task)
    try:
        return cls(**params)
    except luigi.parameter.ParameterException as exc:
        raise PipelineError(f"{cls.get_task_family()}: {exc}") from None
    except (ValueError, TypeError) as exc:
        error = user_error(exc)
        if error is not None:
            raise error from None
        raise PipelineError(f"{cls.get_task_family()}: {exc}") from None


def run(task: str | type[PipelineTask], *, data_dir: str | os.PathLike[str] | None = None,
        config: str | os.PathLike[str] | None = None,
        settings: Mapping[str, Mapping[str, Any]] | None = None, workers: int = 1,
        log_level: str | None = None, **params: Any) -> Result:
    """Build ``task`` with these parameters (what is complete is reused) and return its
    result (:class:`RunResult` for RunAll).

    ``data_dir``: the data folder (default: as for the command line: ``[pipeline]
    data_dir`` of the configuration, else ``~/.local/share/text-classifier``);
    ``config``: a luigi.cfg to read (its values win over ``./luigi.cfg``); ``settings``:
    luigi.cfg sections for this call, e.g. ``{"DownloadDataset": {"url": path}}``;
    ``workers``: tasks run at once; ``log_level``: Luigi's, for the first run of the
    process (``"DEBUG"`` shows everything, ``"WARNING"`` nothing but problems).
    """
    # [core] workers for the call too: a task that sizes its work by the workers (Tune's
    # batches) reads it there, not from luigi.build's arguments
    values = settings
    if settings is None or isinstance(settings, Mapping) and isinstance(
            settings.get("core", {}), Mapping):
        values = {**(settings or {}), "core": {**(settings or {}).get("core", {}),
                                               "workers": str(workers)}}
    with _configured(data_dir, config, values) as folder:
        built = make_task(task, **params)
        run_record = console.new_run()
        options: dict[str, Any] = {"workers": workers}
        if log_level is not None:
            options["log_level"] = log_level.upper()
        outcome = luigi.build([built], local_scheduler=True, detailed_summary=True,
                              **options)
        if not built.complete():
            errors = list(dict.fromkeys(run_record.errors))
            shown = "; ".join(f"{family}: {message}" if not message.startswith(family)
                              else message for family, message in errors)
            raise TaskFailedError(f"{built.get_task_family()} did not complete: "
                             f"{shown or outcome.one_line_summary}", errors)
        return _result(built, folder)


def load(task: str | type[PipelineTask], *, data_dir: str | os.PathLike[str] | None = None,
         config: str | os.PathLike[str] | None = None,
         settings: Mapping[str, Mapping[str, Any]] | None = None, **params: Any) -> Result:
    """The result of a task already built with these parameters, computing nothing;
    :class:`PipelineError` when it is not complete."""
    with _configured(data_dir, config, settings) as folder:
        built = make_task(task, **params)
        if not built.complete():
            raise PipelineError(f"{built.get_task_family()} with these parameters is not "
                                f"complete in {folder}; run it first (api.run)")
        return _result(built, folder)


def predict(texts: Sequence[str], *, data_dir: str | os.PathLike[str] | None = None,
            config: str | os.PathLike[str] | None = None,
            settings: Mapping[str, Mapping[str, Any]] | None = None, **params: Any
            ) -> pd.DataFrame:
    """Score ``texts`` with the final model of the configuration ``params`` (default:
    RunAll's), building it first if needed. One row per text: ``text``, ``label`` and
    the probability of each class (``P(<class>)`` columns)."""
    import pandas as pd

    from .ml.predict import Review, label_of
    from .tasks import Encode, EvaluateTest
    from .tasks.chain import score_with

    if isinstance(texts, str):
        raise PipelineError("predict takes a list of texts, not one string: "
                            "predict([text])")
    with _configured(data_dir, config, settings):
        evaluate = make_task(EvaluateTest, **params)
        assert isinstance(evaluate, EvaluateTest)
        encode = evaluate.clone(Encode)
        if not (evaluate.complete() and encode.complete()):
            run(EvaluateTest, **params)
        reviews = [Review(str(i), str(text)) for i, text in enumerate(texts, start=1)]
        probabilities, class_names = score_with(evaluate, reviews)
    rows = []
    for review, probability in zip(reviews, probabilities, strict=True):
        row: dict[str, Any] = {"text": review.text, "label": label_of(probability, class_names)
                               or None}
        for index, name in enumerate(class_names):
            row[f"P({name})"] = None if probability is None else float(probability[index])
        row["note"] = "; ".join(review.notes) or None
        rows.append(row)
    return pd.DataFrame(rows)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _result(task: PipelineTask, data: Path) -> Result:
    paths = {name: Path(target.path).absolute() for name, target in task.output().items()}
    common: dict[str, Any] = dict(task=task, family=task.get_task_family(),
                                  task_id=task.task_id, data_dir=data,
                                  output_dir=task.output_dir.absolute(), paths=paths,
                                  parameters=task.typed_params())
    if task.get_task_family() != "RunAll":
        if "model" in task.files and "history" not in paths:
            upstream = task.requires()  # EvaluateTest: TrainModel's validation history
            train = upstream.get("train") if isinstance(upstream, dict) else None
            if isinstance(train, PipelineTask) and "history" in train.files:
                paths["history"] = Path(train.output()["history"].path).absolute()
        return Result(**common)
    summary = _read_json(paths["summary"])
    assert isinstance(task, RunAll)
    paths.update(task.artifact_paths())
    return RunResult(**common, test_accuracy=float(summary["test_accuracy"]),
                     test_loss=float(summary["test_loss"]),
                     chosen_epoch=int(summary["chosen_epoch"]),
                     baselines=dict(summary.get("baselines", {})),
                     references={name: float(reference["test_accuracy"]) for name, reference
                                 in summary.get("references", {}).items()},
                     summary=summary)
