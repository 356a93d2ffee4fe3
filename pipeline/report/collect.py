"""What a data folder holds: its finished runs, their groups over seeds, and its grids.

A run is an EvaluateTest folder with its ``metrics.json`` (the final model's test
figures), joined with the TrainModel folder of the same parameters (``history.csv``,
``training.json``) and, when they exist, the PlotHistory and PlotConfusion figures of
the same parameters. Folders are matched by the parameters their ``task.json`` records,
not by their names, so nothing here depends on how Luigi builds task ids. Grids are
the CompareModels and LearningCurve folders with their tables and figures.

Everything is read through :class:`pipeline.report.readers.Reader`: a damaged file is
one note, and the rest of the folder is still collected.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from .readers import Reader, finite_or_none, number_or_none, short

#: Bump when what a report shows of the same files changes: a new report is written.
FORMAT = "1"

RUN_FAMILY = "EvaluateTest"
TRAIN_FAMILY = "TrainModel"
FIGURE_FAMILIES = {"history": ("PlotHistory", "history.png"),
                   "confusion": ("PlotConfusion", "confusion_matrix.png")}
GRID_FILES = {
    "CompareModels": ("comparison.csv", ("test_accuracy.png", "val_loss.png",
                                         "val_accuracy.png")),
    "LearningCurve": ("learning_curve.csv", ("learning_curve.png",)),
    "Tune": ("comparison.csv", ("comparison.png", "optimization_history.png",
                                "param_importances.png")),
}
#: Parameters with a column of their own (everything else is "a parameter").
OWN_COLUMNS = ("dataset", "model", "seed")


@dataclass(frozen=True)
class Metric:
    """A figure of a run, as the report and ``text-classifier runs`` show it."""

    name: str
    label: str
    digits: int
    #: "high" or "low": which way is better (sorting best first); "" for neither
    better: str
    help: str


METRICS = (
    Metric("accuracy", "test accuracy", 4, "high", "Accuracy of the final model on the "
           "test documents"),
    Metric("loss", "test loss", 4, "low", "Loss of the final model on the test documents"),
    Metric("macro_f1", "macro-F1", 4, "high", "F1 of each class, averaged (test documents)"),
    Metric("roc_auc", "ROC AUC", 4, "high", "Area under the ROC curve (two classes only)"),
    Metric("val_accuracy", "val. accuracy", 4, "high", "Validation accuracy of TrainModel "
           "at the chosen epoch"),
    Metric("epoch", "epoch", 0, "", "Epochs the final model trained (the chosen epoch)"),
    Metric("train_s", "fit s", 1, "low", "Seconds TrainModel's fit took (with validation)"),
    Metric("final_s", "final fit s", 1, "low", "Seconds the final model's fit took"),
)
METRIC = {metric.name: metric for metric in METRICS}

Key = tuple[tuple[str, str], ...]


def parameters_key(parameters: dict[str, str], without: Iterable[str] = ()) -> Key:
    left_out = set(without)
    return tuple(sorted((k, v) for k, v in parameters.items() if k not in left_out))


@dataclass
class Run:
    """One finished EvaluateTest and what belongs to it."""

    task_id: str
    folder: Path
    parameters: dict[str, str]
    metrics: dict[str, float | None]
    when: float | None
    class_names: list[str] = field(default_factory=list)
    #: rows: true classes, columns: predicted (counts, checked to be numbers)
    confusion: list[list[float]] | None = None
    per_class: dict[str, dict[str, float | None]] = field(default_factory=dict)
    history: dict[str, list[float]] | None = None
    train_folder: Path | None = None
    figures: dict[str, Path] = field(default_factory=dict)
    tensorboard: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def dataset(self) -> str:
        return self.parameters.get("dataset", "")

    @property
    def model(self) -> str:
        return self.parameters.get("model", "")

    @property
    def seed(self) -> str:
        return self.parameters.get("seed", "")

    @property
    def short(self) -> str:
        """The hash at the end of a Luigi task id (``EvaluateTest_relu_8_..._36441beeba``),
        else the whole folder name."""
        found = re.search(r"_([0-9a-f]{10})$", self.task_id)
        return found.group(1) if found else self.task_id

    @property
    def key(self) -> str:
        """A name safe in a URL fragment and a file name, unique per folder name."""
        return safe_name(self.task_id)

    def value(self, name: str) -> Any:
        """A metric, a parameter (as text) or ``when``, by name; None if it has none."""
        if name in self.metrics:
            return self.metrics[name]
        if name == "when":
            return self.when
        return self.parameters.get(name)


@dataclass
class Group:
    """Runs whose parameters are the same but for the seed."""

    runs: list[Run]

    @property
    def parameters(self) -> dict[str, str]:
        return {k: v for k, v in self.runs[0].parameters.items() if k != "seed"}

    @property
    def dataset(self) -> str:
        return self.runs[0].dataset

    @property
    def model(self) -> str:
        return self.runs[0].model

    @property
    def key(self) -> str:
        return "group-" + hashlib.sha256(repr(parameters_key(self.parameters)).encode()
                                         ).hexdigest()[:10]

    def spread(self, metric: str) -> tuple[float, float, float, float] | None:
        """``(mean, sample standard deviation, min, max)`` of a metric over the seeds
        that have a finite value of it, None when fewer than two do."""
        values = [v for v in (finite_or_none(run.metrics.get(metric)) for run in self.runs)
                  if v is not None]
        if len(values) < 2:
            return None
        return (statistics.fmean(values), statistics.stdev(values), min(values), max(values))


@dataclass
class Grid:
    """A CompareModels, LearningCurve or Tune folder: its table and figures (a search's
    table: the best configuration against the default on the test set)."""

    family: str
    task_id: str
    folder: Path
    parameters: dict[str, str]
    columns: list[str]
    rows: list[dict[str, Any]]
    figures: dict[str, Path]
    when: float | None

    @property
    def dataset(self) -> str:
        return self.parameters.get("dataset", "")

    @property
    def models(self) -> list[str]:
        """The models it trained (LearningCurve: its ``models``; CompareModels: its
        model and those its variants switch to)."""
        names = [m.strip() for m in self.parameters.get("models", "").split(",") if m.strip()]
        if self.parameters.get("model"):
            names.insert(0, self.parameters["model"])
        names += [str(row["model"]) for row in self.rows if row.get("model")]
        return list(dict.fromkeys(names))

    @property
    def key(self) -> str:
        return safe_name(f"{self.family}-{self.task_id}")


@dataclass
class Collection:
    """Everything a report shows of one data folder."""

    root: Path
    runs: list[Run]
    grids: list[Grid]
    notes: list[str]
    digest: str
    exists: bool = True

    @property
    def datasets(self) -> list[str]:
        return sorted({run.dataset for run in self.runs} | {g.dataset for g in self.grids})

    @property
    def models(self) -> list[str]:
        return sorted({run.model for run in self.runs}
                      | {m for g in self.grids for m in g.models})

    def groups(self, minimum: int = 2) -> list[Group]:
        """Runs that differ only by their seed, in groups of at least ``minimum``."""
        found: dict[Key, list[Run]] = {}
        for run in self.runs:
            found.setdefault(parameters_key(run.parameters, ("seed",)), []).append(run)
        return [Group(sorted(runs, key=lambda r: seed_order(r.seed)))
                for runs in found.values() if len(runs) >= minimum]

    def varying(self, runs: Sequence[Run] | None = None) -> list[str]:
        """Parameters (besides dataset, model, seed) whose values differ between runs of
        the same dataset that read them: what tells those runs apart."""
        names: set[str] = set()
        by_dataset: dict[str, list[Run]] = {}
        for run in self.runs if runs is None else runs:
            by_dataset.setdefault(run.dataset, []).append(run)
        for members in by_dataset.values():
            values: dict[str, set[str]] = {}
            for run in members:
                for name, value in run.parameters.items():
                    values.setdefault(name, set()).add(value)
            names |= {name for name, seen in values.items() if len(seen) > 1}
        return sorted(names - set(OWN_COLUMNS))


def seed_order(seed: str) -> tuple[int, float, str]:
    number = number_or_none(seed)
    return (0, number, "") if number is not None and math.isfinite(number) else (1, 0.0, seed)


def safe_name(text: str) -> str:
    """``text`` reduced to ``[A-Za-z0-9_.-]`` (at most 80 characters), plus a short hash
    when anything was changed, so that different names stay different."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:80].lstrip(".") or "_"
    if cleaned == text:
        return cleaned
    return f"{cleaned}-{hashlib.sha256(text.encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"


def subfolders(folder: Path, reader: Reader) -> list[Path]:
    """Visible subfolders, sorted by name (staging folders start with a dot)."""
    try:
        entries = sorted(folder.iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:
        reader.note(folder, f"cannot be listed ({exc.strerror or exc})")
        return []
    return [entry for entry in entries if not entry.name.startswith(".") and entry.is_dir()]


def read_parameters(reader: Reader, folder: Path) -> dict[str, str] | None:
    """``task.json``'s parameters as text, None (and a note) if there are none."""
    path = folder / "task.json"
    task = reader.json_object(path)
    if task is None:
        return None
    given = task.get("parameters")
    if not isinstance(given, dict):
        reader.note(path, "has no 'parameters' object; left out")
        return None
    parameters = {}
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            reader.note(path, f"parameter {name!r} is {short(value)}, not a value; left out")
            continue
        parameters[str(name)] = str(value)
    return parameters


def as_float(value: Any) -> float | None:
    """A JSON number as a float (NaN kept); None for anything else, text included."""
    return None if isinstance(value, str) else number_or_none(value)


def is_number(value: Any) -> bool:
    """A JSON number (booleans and text are not)."""
    return type(value) in (int, float)


def read_metrics(reader: Reader, path: Path, run: Run, data: dict[str, Any],
                 matrix_needed: bool = True) -> None:
    """The figures of ``metrics.json`` a report shows, each checked alone. The counts of
    the confusion matrix are checked only when ``matrix_needed`` (no task drew it)."""
    def number(name: str) -> float | None:
        value = data.get(name)
        if value is None:
            return None
        if not is_number(value):
            reader.note(path, f"{name} is {short(value)}, not a number; left out")
            return None
        return float(value)

    run.metrics.update(accuracy=number("accuracy"), loss=number("loss"),
                       macro_f1=number("macro_f1"), roc_auc=number("roc_auc"),
                       epoch=number("final_epochs"), final_s=number("training_seconds"),
                       documents=number("training_documents"))
    matrix = data.get("confusion_matrix")
    if isinstance(matrix, dict):
        labels, rows = matrix.get("labels"), matrix.get("rows_true_columns_predicted")
        if isinstance(labels, list) and isinstance(rows, list) and len(rows) == len(labels) \
                and all(isinstance(row, list) and len(row) == len(labels) for row in rows) \
                and (not matrix_needed or all(map(is_number, chain.from_iterable(rows)))):
            run.class_names = [str(label) for label in labels]
            run.confusion = rows
        else:
            reader.note(path, "confusion_matrix is not a square table of numbers with "
                              "one label per row; no confusion figure")
    per_class = data.get("per_class")
    if isinstance(per_class, dict):
        for name, values in per_class.items():
            if isinstance(values, dict):
                run.per_class[str(name)] = {
                    key: float(values[key]) if is_number(values.get(key)) else None
                    for key in ("precision", "recall", "f1", "support")}
        if not run.class_names:
            run.class_names = list(run.per_class)


def read_grid(reader: Reader, family: str, folder: Path) -> Grid | None:
    table, figures = GRID_FILES[family]
    parameters = read_parameters(reader, folder)
    if parameters is None:
        return None
    rows = reader.csv_rows(folder / table)
    if rows is None:
        return None
    columns = list(rows[0]) if rows else []
    parsed = [{name: parse_cell(value) for name, value in row.items()} for row in rows]
    found = {name: folder / name for name in figures if (folder / name).is_file()}
    return Grid(family, folder.name, folder, parameters, columns, parsed, found,
                reader.times.get(folder / table))


def parse_cell(text: str) -> Any:
    """A CSV cell: an int or float when it reads as one, None when blank, else the text."""
    if text.strip() == "":
        return None
    number = number_or_none(text)
    if number is None:
        return text
    return int(text) if re.fullmatch(r"\s*-?\d+\s*", text) else number


def index(reader: Reader, family: str, files: Sequence[str] = ()
          ) -> dict[Key, tuple[Path, dict[str, str]]]:
    """``{parameters: (folder, parameters)}`` of a family's folders (those holding all
    of ``files``)."""
    found: dict[Key, tuple[Path, dict[str, str]]] = {}
    for folder in subfolders(reader.root / family, reader):
        if any(not (folder / name).is_file() for name in files):
            continue
        parameters = read_parameters(reader, folder)
        if parameters is not None:
            found[parameters_key(parameters)] = (folder, parameters)
    return found


def fingerprint(root: str | Path) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of every file :func:`collect` may read: a cheap
    check (no file is opened) that a collection made earlier is still the folder's."""
    root = Path(root)
    names = {RUN_FAMILY: ("task.json", "metrics.json"),
             TRAIN_FAMILY: ("task.json", "training.json", "history.csv"),
             **{family: ("task.json", file) for family, file in FIGURE_FAMILIES.values()},
             **{family: ("task.json", table, *figures)
                for family, (table, figures) in GRID_FILES.items()}}
    found = []
    for family, files in names.items():
        try:
            folders = sorted(os.scandir(root / family), key=lambda entry: entry.name)
        except OSError:
            continue
        for folder in folders:
            if folder.name.startswith("."):
                continue
            for name in files:
                try:
                    stat = os.stat(os.path.join(folder.path, name))
                except OSError:
                    continue
                found.append((f"{family}/{folder.name}/{name}", stat.st_size,
                              stat.st_mtime_ns))
    return (("", int(root.is_dir()), 0), *found)


def collect(root: str | Path, progress: Callable[[str], None] | None = None) -> Collection:
    """Every finished run and grid of the data folder ``root``."""
    root = Path(root)
    notes: list[str] = []
    reader = Reader(root, notes)
    reader.mark(f"report format {FORMAT}")
    if not root.is_dir():
        reader.mark("no data folder")
        if root.exists():
            notes.append(f"{root} is not a folder")
        return Collection(root, [], [], notes, reader.digest(), exists=False)
    trained = index(reader, TRAIN_FAMILY)
    drawn = {name: index(reader, family, (file,))
             for name, (family, file) in FIGURE_FAMILIES.items()}
    runs = []
    for folder in subfolders(root / RUN_FAMILY, reader):
        run = read_run(reader, folder, trained, drawn)
        if run is not None:
            runs.append(run)
    if progress:
        progress(f"read {len(runs)} runs")
    grids = []
    for family in GRID_FILES:
        for folder in subfolders(root / family, reader):
            grid = read_grid(reader, family, folder)
            if grid is not None:
                grids.append(grid)
    return Collection(root, runs, grids, notes, reader.digest())


def read_run(reader: Reader, folder: Path, trained: dict[Key, tuple[Path, dict[str, str]]],
             drawn: dict[str, dict[Key, tuple[Path, dict[str, str]]]]) -> Run | None:
    metrics_path = folder / "metrics.json"
    notes = len(reader.notes)
    parameters = read_parameters(reader, folder)
    data = reader.json_object(metrics_path)
    if parameters is None or data is None:
        if not metrics_path.exists() and not (folder / "task.json").exists():
            del reader.notes[notes:]
            reader.note(folder, "holds neither task.json nor metrics.json; left out")
        else:
            reader.note(folder, "not a complete run; left out")
        return None
    run = Run(folder.name, folder, parameters, {}, reader.times.get(metrics_path))
    for name, (_, file) in FIGURE_FAMILIES.items():
        figure = drawn[name].get(parameters_key(parameters))
        if figure is not None:
            run.figures[name] = figure[0] / file
    read_metrics(reader, metrics_path, run, data, "confusion" not in run.figures)
    if (folder / "tensorboard").is_dir():
        run.tensorboard.append(folder / "tensorboard")
    match = trained.get(parameters_key(parameters, ("final_epochs",)))
    if match is None:
        run.notes.append("its TrainModel folder is missing: no history, validation "
                         "figures or training time")
    else:
        run.train_folder = match[0]
        training = reader.json_object(match[0] / "training.json")
        if training is not None:
            run.metrics["train_s"] = as_float(training.get("seconds"))
            run.metrics["weights"] = as_float(training.get("trainable_parameters"))
        run.history = reader.history(match[0] / "history.csv")
        if (match[0] / "tensorboard").is_dir():
            run.tensorboard.insert(0, match[0] / "tensorboard")
    run.metrics.setdefault("train_s", None)
    run.metrics.setdefault("weights", None)
    run.metrics["val_accuracy"] = validation_at(run.history, run.metrics.get("epoch"))
    return run


def validation_at(history: dict[str, list[float]] | None, epoch: float | None) -> float | None:
    """Validation accuracy at the chosen epoch (None when it was not recorded)."""
    if not history or epoch is None or "val_accuracy" not in history:
        return None
    for number, value in zip(history["epoch"], history["val_accuracy"], strict=False):
        if number == epoch:
            return value
    return None
