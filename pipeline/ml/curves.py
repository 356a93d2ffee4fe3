"""Learning curves and repeats over seeds: rows from the artifacts of ordinary tasks,
their means and spreads, and the tables written from them.

A point of a learning curve is one model trained on the first ``size`` documents of
the seeded training split with one seed: TrainModel's history gives the best epoch
(lowest validation loss) and the validation figures there; EvaluateTest's metrics give
the test figures of the model trained on the same documents, with the same seed, for
that many epochs (the same batches and weights as TrainModel's up to that epoch, so
it is the model "at the best epoch"). Used by LearningCurve and CompareModels --seeds
(:mod:`pipeline.tasks.grids`).
"""
from __future__ import annotations

import csv
import math
import os
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, SupportsFloat, TypeVar, overload

from ..errors import PipelineError

T = TypeVar("T")

#: Columns of learning_curve.csv, in order.
COLUMNS = ("model", "size", "seed", "best_epoch", "val_accuracy", "val_loss",
           "test_accuracy", "test_loss", "training_documents", "vocabulary_coverage",
           "training_seconds", "final_training_seconds")
#: Columns of the summary (one row per model and size).
SUMMARY = ("model", "size", "seeds", "mean_test_accuracy", "std_test_accuracy",
           "min_test_accuracy", "max_test_accuracy", "mean_val_accuracy", "mean_best_epoch")


@overload
def parse_list(text: object, name: str) -> list[str]: ...


@overload
def parse_list(text: object, name: str, convert: Callable[[str], T]) -> list[T]: ...


def parse_list(text: object, name: str, convert: Callable[[str], Any] = str) -> list[Any]:
    """``"a,b"`` -> ``[a, b]`` (converted, in order, no repeats); one line for a bad one."""
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    if not items:
        raise PipelineError(f"{name} must list at least one value, got {text!r}")
    try:
        values = [convert(item) for item in items]
    except ValueError:
        raise PipelineError(f"{name} must be a comma-separated list of "
                            f"{'integers' if convert is int else 'names'}, got {text!r}") from None
    if len(set(values)) != len(values):
        raise PipelineError(f"{name} lists a value twice: {text!r}")
    return values


def point_row(model: str, size: int, seed: int, history: Mapping[str, Sequence[float]],
              training: Mapping[str, Any], metrics: Mapping[str, Any]) -> dict[str, Any]:
    """One row of the curve from TrainModel's history.csv columns and training.json and
    EvaluateTest's metrics.json."""
    val_loss = [float(v) for v in history["val_loss"]]
    finite = [i for i, v in enumerate(val_loss) if math.isfinite(v)]
    best = min(finite, key=lambda i: val_loss[i]) if finite else None
    return {
        "model": model, "size": size, "seed": seed,
        "best_epoch": None if best is None else int(history["epoch"][best]),
        "val_accuracy": None if best is None else float(history["val_accuracy"][best]),
        "val_loss": None if best is None else val_loss[best],
        "test_accuracy": metrics["accuracy"], "test_loss": metrics["loss"],
        "training_documents": metrics.get("training_documents"),
        "vocabulary_coverage": training.get("vocabulary_coverage"),
        "training_seconds": training.get("seconds"),
        "final_training_seconds": metrics.get("training_seconds"),
    }


def spread(values: Iterable[SupportsFloat]) -> tuple[float, float, float, float]:
    """``(mean, sample standard deviation (0 for one value), min, max)``."""
    numbers = [float(v) for v in values]
    return (statistics.fmean(numbers), statistics.stdev(numbers) if len(numbers) > 1 else 0.0,
            min(numbers), max(numbers))


def summarize(rows: Iterable[Mapping[str, Any]], key: str = "model",
              value: str = "test_accuracy", group: Sequence[str] = ("model", "size")
              ) -> list[dict[str, Any]]:
    """One row per group (model and size by default): mean, std, min, max of ``value``."""
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[g] for g in group), []).append(row)
    summary = []
    for names, members in groups.items():
        mean, std, low, high = spread(r[value] for r in members)
        val = [r["val_accuracy"] for r in members if r.get("val_accuracy") is not None]
        epochs = [r["best_epoch"] for r in members if r.get("best_epoch") is not None]
        summary.append({**dict(zip(group, names, strict=False)), "seeds": len(members),
                        "mean_test_accuracy": mean, "std_test_accuracy": std,
                        "min_test_accuracy": low, "max_test_accuracy": high,
                        "mean_val_accuracy": statistics.fmean(val) if val else None,
                        "mean_best_epoch": statistics.fmean(epochs) if epochs else None})
    return summary


def verdicts(summary: Sequence[Mapping[str, Any]], models: Sequence[str]
             ) -> list[dict[str, Any]]:
    """Per size, the first two models compared: the difference of their mean test
    accuracies and whether it exceeds their spread (the min-max ranges over seeds do
    not overlap). ``[]`` for fewer than two models."""
    if len(models) < 2:
        return []
    first, second = models[:2]
    by = {(row["model"], row["size"]): row for row in summary}
    found = []
    for size in sorted({row["size"] for row in summary}):
        a, b = by.get((first, size)), by.get((second, size))
        if a is None or b is None:
            continue
        difference = b["mean_test_accuracy"] - a["mean_test_accuracy"]
        apart = (b["min_test_accuracy"] > a["max_test_accuracy"]
                 or a["min_test_accuracy"] > b["max_test_accuracy"])
        winner = (second if difference > 0 else first) if apart else "neither (within spread)"
        found.append({"size": size, "difference": difference,
                      "spread": max(a["std_test_accuracy"], b["std_test_accuracy"]),
                      "apart": apart, "better": winner})
    return found


def write_csv(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str],
              columns: Sequence[str] = COLUMNS) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value).replace("|", "\\|")


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return lines


def write_markdown(rows: Sequence[Mapping[str, Any]], models: Sequence[str],
                   path: str | os.PathLike[str], title: str = "Learning curve") -> None:
    """The summary per model and size, the comparison of the first two models per size,
    and every point."""
    summary = summarize(rows)
    lines = [f"# {title}", "",
             "Each point: the model trained on the first `size` documents of the seeded "
             "training split (the same validation documents for every size and model of a "
             "seed); `best_epoch` has the lowest validation loss; the test figures are "
             "EvaluateTest's model, trained on the same documents with the same seed for "
             "`best_epoch` epochs. Means and spreads are over seeds.", "",
             "## Test accuracy per model and size", ""]
    lines += table(sorted(summary, key=lambda r: (r["size"], models.index(r["model"]))),
                   SUMMARY)
    compared = verdicts(summary, models)
    if compared:
        lines += ["", f"## {models[1]} minus {models[0]}", "",
                  "`apart`: the min-max ranges over seeds do not overlap.", ""]
        lines += table(compared, ("size", "difference", "spread", "apart", "better"))
    lines += ["", "## Every point", ""]
    lines += table(sorted(rows, key=lambda r: (r["size"], models.index(r["model"]),
                                               r["seed"])), COLUMNS)
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
