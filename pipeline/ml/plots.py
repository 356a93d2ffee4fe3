"""Figures (matplotlib, Agg backend: no display needed): one run's training history,
and the comparison of a grid of variants."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

#: Column names to values per epoch: a pandas DataFrame, or
#: :func:`pipeline.io.storage.read_csv_columns`'s dict.
History = Mapping[str, Sequence[float]]


def plot_history(history: History, path: str | os.PathLike[str], *,
                 chosen_epoch: int | None = None, test_accuracy: float | None = None,
                 title: str | None = None) -> None:
    """Two panels, loss and accuracy per epoch, training (dots) vs validation (line).

    ``history`` maps column names (epoch, loss, accuracy, val_loss, val_accuracy) to
    sequences: a pandas DataFrame or :func:`pipeline.io.storage.read_csv_columns`.

    ``chosen_epoch`` is marked with a vertical line on both panels; the test accuracy
    goes in the title. Writes a PNG to ``path``.
    """
    from matplotlib.ticker import MaxNLocator

    # fixed margins: a layout engine would cost a third of the rendering time
    figure = _figure((11, 4.5), layout=None)
    figure.subplots_adjust(left=0.065, right=0.985, bottom=0.12, top=0.84, wspace=0.22)
    epochs = history["epoch"]
    for axes, metric, label in zip(figure.subplots(1, 2), ("loss", "accuracy"),
                                   ("Loss", "Accuracy"), strict=False):
        axes.plot(epochs, history[metric], "o", color="tab:blue", label=f"Training {label.lower()}")
        if f"val_{metric}" in history:
            axes.plot(epochs, history[f"val_{metric}"], "-", color="tab:orange",
                      label=f"Validation {label.lower()}")
        if chosen_epoch is not None:
            axes.axvline(chosen_epoch, color="gray", linestyle="--",
                         label=f"Chosen epoch ({chosen_epoch})")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("Epoch")
        axes.set_ylabel(label)
        axes.set_title(f"Training and validation {label.lower()}")
        axes.grid(alpha=0.3)
        axes.legend()
    heading = title or "Text classifier"
    if test_accuracy is not None:
        heading += f" (test accuracy {test_accuracy:.4f})"
    figure.suptitle(heading)
    figure.savefig(path, format="png", dpi=100)


def plot_curves(histories: Mapping[str, History], metric: str, path: str | os.PathLike[str],
                ylabel: str) -> None:
    """``metric`` per epoch for every variant on one figure."""
    figure = _figure((10, 6))
    axes = figure.subplots()
    for name, history in histories.items():
        axes.plot(history["epoch"], history[metric], marker=".", label=name)
    axes.set_xlabel("Epoch")
    axes.set_ylabel(ylabel)
    axes.set_title(f"{ylabel} per epoch, by variant")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", ncol=2)
    figure.savefig(path, format="png", dpi=100)


def plot_test_accuracy(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]
                       ) -> None:
    """Test accuracy of each variant's final model, as a sorted horizontal bar chart."""
    ordered = sorted(rows, key=lambda row: row["test_accuracy"])
    figure = _figure((9, 0.4 * len(ordered) + 1.5))
    axes = figure.subplots()
    values = [row["test_accuracy"] for row in ordered]
    bars = axes.barh([row["variant"] for row in ordered], values, color="tab:blue")
    axes.bar_label(bars, labels=[f"{v:.4f}" for v in values], padding=3, fontsize="small")
    low = min(values)
    axes.set_xlim(max(0.0, low - 0.05), min(1.0, max(values) + 0.03))
    axes.set_xlabel("Test accuracy")
    axes.set_title("Test accuracy of the final model, by variant")
    axes.grid(axis="x", alpha=0.3)
    figure.savefig(path, format="png", dpi=100)


def plot_confusion(matrix: ArrayLike, class_names: Sequence[str], path: str | os.PathLike[str],
                   title: str | None = None) -> None:
    """The confusion matrix with rows normalised (each true class sums to 1: the
    diagonal is each class's recall), class names on both axes, cells of 1 % or more
    written out. Sized for 46 Reuters topics as for 2 IMDB classes."""
    import numpy as np

    counts = np.asarray(matrix, dtype=float)
    support = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, support, out=np.zeros_like(counts), where=support > 0)
    n = len(class_names)
    side = min(max(4.0, 0.32 * n + 2.5), 18.0)
    figure = _figure((side + 1.5, side))
    axes = figure.subplots()
    image = axes.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, shrink=0.8, label="Share of the true class")
    labels = [f"{name} ({int(s)})"
              for name, s in zip(class_names, support[:, 0], strict=False)]
    small = "x-small" if n > 20 else "medium"
    axes.set_xticks(range(n), class_names, rotation=90, fontsize=small)
    axes.set_yticks(range(n), labels, fontsize=small)
    axes.set_xlabel("Predicted class")
    axes.set_ylabel("True class (test documents)")
    for (row, column), value in np.ndenumerate(share):
        if value >= 0.01:
            axes.text(column, row, f"{100 * value:.0f}", ha="center", va="center",
                      fontsize=5 if n > 20 else 11,
                      color="white" if value > 0.6 else "black")
    axes.set_title(title or "Confusion matrix (rows normalised, %)")
    figure.savefig(path, format="png", dpi=100 if n <= 20 else 120)


def plot_learning_curve(rows: Sequence[Mapping[str, Any]], summary: Sequence[Mapping[str, Any]],
                        models: Iterable[str], path: str | os.PathLike[str],
                        title: str = "Learning curve") -> None:
    """Test accuracy against training size (log x): each model's mean over seeds as a
    line with its min-max band, every seed as a dot."""
    figure = _figure((9, 5.5))
    axes = figure.subplots()
    for colour, model in zip(_COLOURS, models, strict=False):
        points = sorted((r for r in summary if r["model"] == model), key=lambda r: r["size"])
        sizes = [r["size"] for r in points]
        axes.plot(sizes, [r["mean_test_accuracy"] for r in points], "-o", color=colour,
                  label=f"{model} (mean of {max(r['seeds'] for r in points)} seeds)")
        axes.fill_between(sizes, [r["min_test_accuracy"] for r in points],
                          [r["max_test_accuracy"] for r in points], color=colour, alpha=0.2)
        seeds = [r for r in rows if r["model"] == model]
        axes.plot([r["size"] for r in seeds], [r["test_accuracy"] for r in seeds], ".",
                  color=colour, alpha=0.6)
    axes.set_xscale("log")
    axes.axhline(0.5, color="gray", linestyle=":", label="chance")
    axes.set_xlabel("Training documents (log scale)")
    axes.set_ylabel("Test accuracy")
    axes.set_title(title)
    axes.grid(alpha=0.3, which="both")
    axes.legend()
    figure.savefig(path, format="png", dpi=100)


def plot_test_accuracy_spread(summary: Iterable[Mapping[str, Any]],
                              path: str | os.PathLike[str]) -> None:
    """Mean test accuracy of each variant over seeds, with standard-deviation error bars
    and the min-max range as dots."""
    ordered = sorted(summary, key=lambda row: row["mean_test_accuracy"])
    figure = _figure((9, 0.45 * len(ordered) + 1.5))
    axes = figure.subplots()
    names = [row["variant"] for row in ordered]
    means = [row["mean_test_accuracy"] for row in ordered]
    axes.barh(names, means, xerr=[row["std_test_accuracy"] for row in ordered],
              color="tab:blue", capsize=4)
    for name, row in zip(names, ordered, strict=False):
        axes.plot([row["min_test_accuracy"], row["max_test_accuracy"]], [name, name], "|",
                  color="black")
    low = min(row["min_test_accuracy"] for row in ordered)
    axes.set_xlim(max(0.0, low - 0.05), min(1.0, max(row["max_test_accuracy"]
                                                     for row in ordered) + 0.03))
    axes.set_xlabel(f"Test accuracy (mean ± std over {ordered[0]['seeds']} seeds; | = min, max)")
    axes.set_title("Test accuracy of the final model, by variant")
    axes.grid(axis="x", alpha=0.3)
    figure.savefig(path, format="png", dpi=100)


_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
            "tab:pink", "tab:gray", "tab:olive", "tab:cyan")


def _figure(size: tuple[float, float],
            layout: Literal["constrained", "compressed", "tight"] | None = "constrained"
            ) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout=layout)
