"""The report's images: the tasks' own figures where they exist, drawn where they do not.

Every image lands in the report's ``images/`` folder, so the page opens from anywhere
(copied, zipped, mailed) with its figures. A figure a task already drew (PlotHistory,
PlotConfusion, CompareModels, LearningCurve) is hard-linked (copied where the file
system has no links); one that no task drew (the runs of a grid have no PlotHistory)
is drawn with the same function of :mod:`pipeline.ml.plots`. A drawn image is named by
what it shows, so the next report finds it in an earlier report's ``images/`` and
links it instead of drawing it again.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .collect import FORMAT, Collection, Group, Run, safe_name
from .readers import one_line

#: Seed groups drawn on one spread figure, at most (the best means are kept).
MAX_SPREAD_GROUPS = 40


class Images:
    """Places images in ``folder`` (``images/`` of a report being written) and
    remembers the name of each one under a key."""

    def __init__(self, folder: Path, earlier: Iterable[Path] = (),
                 notes: list[str] | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.earlier = [Path(p) for p in earlier]
        self.notes = [] if notes is None else notes
        self.placed: dict[str, str] = {}
        self.drawn = 0
        self.reused = 0

    def link(self, key: str, source: Path) -> str | None:
        """Hard-link (or copy) ``source`` as ``images/<key>.png``; returns its name."""
        name = f"{key}.png"
        if place(source, self.folder / name, self.notes):
            self.placed[key] = name
            return name
        return None

    def draw(self, key: str, content: Any, painter: Callable[[Path], None]) -> str | None:
        """``images/<key>-<digest of content>.png``: linked from an earlier report when one
        holds it, else drawn by ``painter(path)``; None (and a note) if drawing fails."""
        blob = json.dumps([FORMAT, key, content], sort_keys=True, default=str)
        name = f"{key}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}.png"
        target = self.folder / name
        for folder in self.earlier:
            if (folder / name).is_file() and place(folder / name, target, None):
                self.placed[key] = name
                self.reused += 1
                return name
        try:
            painter(target)
        except Exception as exc:  # a figure is not worth the whole report
            target.unlink(missing_ok=True)
            self.notes.append(f"figure {key} could not be drawn: {type(exc).__name__}: "
                              f"{one_line(exc)}")
            return None
        self.drawn += 1
        self.placed[key] = name
        return name


def place(source: Path, target: Path, notes: list[str] | None) -> bool:
    try:
        os.link(source, target)
        return True
    except FileExistsError:
        return True
    except OSError:
        pass
    try:
        shutil.copyfile(source, target)
        return True
    except OSError as exc:
        if notes is not None:
            notes.append(f"{source}: cannot be copied into the report "
                         f"({exc.strerror or exc})")
        return False


def run_title(run: Run, varying: Sequence[str]) -> str:
    shown = ", ".join(f"{name}={run.parameters[name]}" for name in varying
                      if name in run.parameters)
    return f"{run.dataset}: {run.model}{f' ({shown})' if shown else ''}, seed {run.seed}"


def run_figures(images: Images, run: Run, varying: Sequence[str]) -> None:
    """``<run>-history`` and ``<run>-confusion`` of one run."""
    from ..ml.plots import plot_confusion, plot_history

    title = run_title(run, varying)
    key = f"{run.key}-history"
    if "history" in run.figures:
        images.link(key, run.figures["history"])
    elif run.history is not None and run.history.get("epoch"):
        history = run.history
        epoch = run.metrics.get("epoch")
        accuracy = run.metrics.get("accuracy")
        images.draw(key, [history, epoch, accuracy, title], lambda path: plot_history(
            history, path, chosen_epoch=None if epoch is None else int(epoch),
            test_accuracy=accuracy, title=title))
    key = f"{run.key}-confusion"
    if "confusion" in run.figures:
        images.link(key, run.figures["confusion"])
    elif run.confusion is not None:
        confusion, names = run.confusion, run.class_names
        short = f"{run.dataset}: {run.model}, seed {run.seed}"
        images.draw(key, [confusion, names, short], lambda path: plot_confusion(
            confusion, names, path, title=f"{short}\ntest documents, rows normalised (%)"))


def spread_rows(groups: Sequence[Group], labels: dict[str, str]) -> list[dict[str, Any]]:
    """The seed groups as rows of :func:`pipeline.ml.plots.plot_test_accuracy_spread`."""
    rows: list[dict[str, Any]] = []
    for group in groups:
        spread = group.spread("accuracy")
        if spread is None:
            continue
        mean, std, low, high = spread
        rows.append({"variant": labels[group.key], "seeds": len(group.runs),
                     "mean_test_accuracy": mean, "std_test_accuracy": std,
                     "min_test_accuracy": low, "max_test_accuracy": high})
    rows.sort(key=lambda row: -float(row["mean_test_accuracy"]))
    return rows[:MAX_SPREAD_GROUPS]


def group_labels(groups: Sequence[Group], varying: Sequence[str]) -> dict[str, str]:
    """A short, unique label per group: its model and the parameters that vary."""
    labels: dict[str, str] = {}
    used: dict[str, int] = {}
    for group in groups:
        shown = ", ".join(f"{name}={group.parameters[name]}" for name in varying
                          if name in group.parameters)
        label = f"{group.model} {shown}".strip()
        if len(label) > 60:
            label = label[:57] + "..."
        used[label] = used.get(label, 0) + 1
        labels[group.key] = label if used[label] == 1 else f"{label} #{used[label]}"
    return labels


def spread_figure(images: Images, dataset: str, rows: list[dict[str, Any]]) -> str | None:
    from ..ml.plots import plot_test_accuracy_spread

    if not rows:
        return None
    return images.draw(f"spread-{safe_name(dataset)}", rows,
                       lambda path: plot_test_accuracy_spread(rows, path))


def all_figures(collection: Collection, images: Images,
                progress: Callable[[str], None] | None = None) -> None:
    """Every image the page shows, keyed as :mod:`pipeline.report.page` looks them up."""
    varying = collection.varying()
    for number, run in enumerate(collection.runs, start=1):
        run_figures(images, run, varying)
        if progress and number % 50 == 0:
            progress(f"figures of {number} of {len(collection.runs)} runs")
    for grid in collection.grids:
        for name, path in grid.figures.items():
            images.link(f"{grid.key}-{Path(name).stem}", path)
    groups = collection.groups()
    labels = group_labels(groups, varying)
    for dataset in sorted({group.dataset for group in groups}):
        spread_figure(images, dataset, spread_rows(
            [g for g in groups if g.dataset == dataset], labels))

