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
    """:func:`curves_figure` as a PNG at ``path``."""
    curves_figure(histories, metric, ylabel).savefig(path, format="png", dpi=100)


def curves_figure(histories: Mapping[str, History], metric: str, ylabel: str) -> Figure:
    """``metric`` per epoch for every variant on one figure (whole epochs on the x axis)."""
    from matplotlib.ticker import MaxNLocator

    figure = _figure((10, 6))
    axes = figure.subplots()
    for name, history in histories.items():
        axes.plot(history["epoch"], history[metric], marker=".", label=name)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("Epoch")
    axes.set_ylabel(ylabel)
    axes.set_title(f"{ylabel} per epoch, by variant")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", ncol=2)
    return figure


def plot_test_accuracy(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]
                       ) -> None:
    """:func:`accuracy_figure` as a PNG at ``path``."""
    accuracy_figure(rows).savefig(path, format="png", dpi=100)


def accuracy_figure(rows: Iterable[Mapping[str, Any]]) -> Figure:
    """Test accuracy of each variant's final model (one seed each), sorted, as dots with
    their values: no bars, whose lengths from a cut axis would turn a 0.003 gap into a
    big one; the axis spans the values with a margin, and the label says that one seed
    moves accuracy by about as much."""
    ordered = sorted(rows, key=lambda row: row["test_accuracy"])
    figure = _figure((9, 0.4 * len(ordered) + 1.7))
    axes = figure.subplots()
    names = [row["variant"] for row in ordered]
    values = [row["test_accuracy"] for row in ordered]
    axes.plot(values, names, "o", color="tab:blue", markersize=7)
    for name, value in zip(names, values, strict=True):
        axes.annotate(f"{value:.4f}", (value, name), xytext=(6, 0),
                      textcoords="offset points", va="center", fontsize="small")
    _accuracy_axis(axes, min(values), max(values))
    axes.set_xlabel("Test accuracy (one seed per variant: differences of a few thousandths "
                    "can be seed noise; compare with --seeds 3)")
    axes.set_title("Test accuracy of the final model, by variant")
    return figure


def _accuracy_axis(axes: Any, low: float, high: float) -> None:
    """An x axis that shows ``[low, high]`` with a margin of at least 0.01 each side,
    and horizontal grid lines that join each name to its values."""
    margin = max(0.01, 0.15 * (high - low))
    axes.set_xlim(max(0.0, low - margin), min(1.0, high + 2 * margin))
    axes.grid(axis="both", alpha=0.3)
    axes.margins(y=0.5 / max(1, len(axes.get_yticks())))


def plot_confusion(matrix: ArrayLike, class_names: Sequence[str], path: str | os.PathLike[str],
                   title: str | None = None) -> None:
    """:func:`confusion_figure` as a PNG at ``path``."""
    figure = confusion_figure(matrix, class_names, title)
    figure.savefig(path, format="png", dpi=100 if len(class_names) <= 20 else 120)


def confusion_figure(matrix: ArrayLike, class_names: Sequence[str], title: str | None = None
                     ) -> Figure:
    """The confusion matrix with rows normalised (each true class sums to 100 %: the
    diagonal is each class's recall), class names on both axes, cells of 1 % or more
    written out in percent, on the colour bar's scale (0-100 %). Sized for 46 Reuters
    topics as for 2 IMDB classes; the figure is wide enough for its title."""
    import numpy as np

    counts = np.asarray(matrix, dtype=float)
    support = counts.sum(axis=1, keepdims=True)
    share = 100 * np.divide(counts, support, out=np.zeros_like(counts), where=support > 0)
    n = len(class_names)
    heading = title or "Confusion matrix (rows normalised, %)"
    longest = max(len(line) for line in heading.splitlines())
    side = min(max(4.0, 0.32 * n + 2.5), 18.0)
    # about 0.1 inch per character of a 12-point title; room for the colour bar's label
    width = max(side + 2.5, 0.1 * longest + 1.0)
    figure = _figure((width, side + 0.6 * len(heading.splitlines())))
    axes = figure.subplots()
    image = axes.imshow(share, cmap="Blues", vmin=0.0, vmax=100.0)
    bar = figure.colorbar(image, ax=axes, shrink=0.8)
    bar.set_label("% of the true class's documents")
    labels = [f"{name} ({int(s)})"
              for name, s in zip(class_names, support[:, 0], strict=False)]
    small = "x-small" if n > 20 else "medium"
    axes.set_xticks(range(n), class_names, rotation=90, fontsize=small)
    axes.set_yticks(range(n), labels, fontsize=small)
    axes.set_xlabel("Predicted class")
    axes.set_ylabel("True class (test documents)")
    for (row, column), value in np.ndenumerate(share):
        if value >= 1.0:
            axes.text(column, row, f"{value:.0f}", ha="center", va="center",
                      fontsize=5 if n > 20 else 11,
                      color="white" if value > 60 else "black")
    figure.suptitle(heading)
    return figure


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
                              path: str | os.PathLike[str],
                              rows: Iterable[Mapping[str, Any]] | None = None) -> None:
    """:func:`accuracy_spread_figure` as a PNG at ``path``."""
    accuracy_spread_figure(summary, rows).savefig(path, format="png", dpi=100)


def accuracy_spread_figure(summary: Iterable[Mapping[str, Any]],
                                rows: Iterable[Mapping[str, Any]] | None = None) -> Figure:
    """Mean test accuracy of each variant over seeds (a dot) with its standard deviation
    (error bar) and its min-max range (a thin line); with ``rows`` (one per variant and
    seed, ``variant`` and ``test_accuracy``) every seed as a small dot. No bars: a gap
    between means reads against the spread over seeds."""
    ordered = sorted(summary, key=lambda row: row["mean_test_accuracy"])
    figure = _figure((9, 0.45 * len(ordered) + 1.7))
    axes = figure.subplots()
    names = [row["variant"] for row in ordered]
    means = [row["mean_test_accuracy"] for row in ordered]
    for name, row in zip(names, ordered, strict=True):
        axes.plot([row["min_test_accuracy"], row["max_test_accuracy"]], [name, name], "-",
                  color="gray", linewidth=1, zorder=1)
    axes.errorbar(means, names, xerr=[row["std_test_accuracy"] for row in ordered],
                  fmt="o", color="tab:blue", capsize=4, markersize=7, zorder=3,
                  label="mean ± standard deviation")
    if rows is not None:
        seeds = [row for row in rows if row["variant"] in names]
        axes.plot([row["test_accuracy"] for row in seeds], [row["variant"] for row in seeds],
                  ".", color="black", alpha=0.6, zorder=2, label="one seed")
    for name, row in zip(names, ordered, strict=True):
        axes.annotate(f"{row['mean_test_accuracy']:.4f} ± {row['std_test_accuracy']:.4f}",
                      (row["max_test_accuracy"], name), xytext=(8, 0),
                      textcoords="offset points", va="center", fontsize="small")
    _accuracy_axis(axes, min(row["min_test_accuracy"] for row in ordered),
                   max(row["max_test_accuracy"] for row in ordered) + 0.01)
    axes.set_xlabel(f"Test accuracy over {ordered[0]['seeds']} seeds (dot and bar: mean ± "
                    f"standard deviation; grey line: min to max)")
    axes.set_title("Test accuracy of the final model, by variant")
    if rows is not None:
        axes.legend(fontsize="small", loc="lower right")
    return figure


_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
            "tab:pink", "tab:gray", "tab:olive", "tab:cyan")


def _figure(size: tuple[float, float],
            layout: Literal["constrained", "compressed", "tight"] | None = "constrained"
            ) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout=layout)
