"""Learning curves and repeats over seeds: rows from the artifacts of ordinary tasks,
their means and spreads, and the tables written from them.

A point of a learning curve is one model trained on the first ``size`` documents of
the seeded training split with one seed: TrainModel's history gives the best epoch
(lowest validation loss) and the validation figures there; EvaluateTest's metrics give
the test figures of the model trained on the same documents, with the same seed, for
that many epochs (the same batches and weights as TrainModel's up to that epoch, so
it is the model "at the best epoch"). Used by LearningCurve and CompareModels --seeds
(:mod:`pipeline.grids`).
"""
import csv
import math
import statistics
from pathlib import Path

from ..errors import PipelineError

#: Columns of learning_curve.csv, in order.
COLUMNS = ("model", "size", "seed", "best_epoch", "val_accuracy", "val_loss",
           "test_accuracy", "test_loss", "training_documents", "vocabulary_coverage",
           "training_seconds", "final_training_seconds")
#: Columns of the summary (one row per model and size).
SUMMARY = ("model", "size", "seeds", "mean_test_accuracy", "std_test_accuracy",
           "min_test_accuracy", "max_test_accuracy", "mean_val_accuracy", "mean_best_epoch")


def parse_list(text, name, convert=str):
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


def point_row(model, size, seed, history, training, metrics):
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


def spread(values):
    """``(mean, sample standard deviation (0 for one value), min, max)``."""
    values = [float(v) for v in values]
    return (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0,
            min(values), max(values))


def summarize(rows, key="model", value="test_accuracy", group=("model", "size")):
    """One row per group (model and size by default): mean, std, min, max of ``value``."""
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row[g] for g in group), []).append(row)
    summary = []
    for names, members in groups.items():
        mean, std, low, high = spread(r[value] for r in members)
        val = [r["val_accuracy"] for r in members if r.get("val_accuracy") is not None]
        epochs = [r["best_epoch"] for r in members if r.get("best_epoch") is not None]
        summary.append({**dict(zip(group, names)), "seeds": len(members),
                        "mean_test_accuracy": mean, "std_test_accuracy": std,
                        "min_test_accuracy": low, "max_test_accuracy": high,
                        "mean_val_accuracy": statistics.fmean(val) if val else None,
                        "mean_best_epoch": statistics.fmean(epochs) if epochs else None})
    return summary


def verdicts(summary, models):
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


def write_csv(rows, path, columns=COLUMNS):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def cell(value):
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value).replace("|", "\\|")


def table(rows, columns):
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return lines


def write_markdown(rows, models, path, title="Learning curve"):
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
