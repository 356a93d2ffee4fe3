"""The report's images: the tasks' own figures where they exist, drawn where they do not.

Images live in one folder of their own (``Report/images/`` beside the reports), each
named by what it shows. A figure a task drew (PlotHistory, PlotConfusion, CompareModels,
LearningCurve) is hard-linked there (copied where the file system has no links) under a
name that changes when the task's file does (its size or time). One that no task drew
(the runs of a grid have no PlotHistory) is drawn with the same function of
:mod:`pipeline.ml.plots` under a name that is a digest of its data. So every report
shares the images it has in common with the others: the next report after a new run
links or draws only that run's.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .collect import FORMAT, Collection, Run
from .readers import one_line


class Images:
    """Places images in ``folder`` and remembers the name of each one under a key."""

    def __init__(self, folder: Path, notes: list[str] | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.notes = [] if notes is None else notes
        self.present = {entry.name for entry in os.scandir(self.folder)}
        self.placed: dict[str, str] = {}
        #: the images' folder as the page refers to it (``images/``, ``../images/``)
        self.prefix = "images/"
        self.drawn = 0
        self.linked = 0

    def link(self, key: str, source: Path) -> str | None:
        """``source`` as ``<key>-<digest of its size and time>.png`` (the key names the
        run or grid and the figure); its name."""
        try:
            stat = source.stat()
        except OSError as exc:
            self.notes.append(f"{source}: cannot be read ({exc.strerror or exc})")
            return None
        signature = f"{key}\0{stat.st_size}\0{stat.st_mtime_ns}".encode("utf-8", "replace")
        name = f"{key}-{hashlib.sha256(signature).hexdigest()[:12]}.png"
        if name not in self.present:
            if not self._put(name, lambda path: place(source, path)):
                return None
            self.linked += 1
        self.placed[key] = name
        return name

    def draw(self, key: str, content: Any, painter: Callable[[Path], None]) -> str | None:
        """``<key>-<digest of content>.png``, drawn by ``painter(path)`` unless an image
        of the same content is there; None (and a note) if drawing fails."""
        blob = json.dumps([FORMAT, key, content], sort_keys=True, default=str)
        name = f"{key}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}.png"
        if name not in self.present:
            if not self._put(name, painter):
                return None
            self.drawn += 1
        self.placed[key] = name
        return name

    def _put(self, name: str, make: Callable[[Path], None]) -> bool:
        """Make ``name`` under a temporary name, then rename it into place: a reader never
        sees half an image."""
        temporary = self.folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            make(temporary)
            os.replace(temporary, self.folder / name)
        except Exception as exc:  # a figure is not worth the whole report
            temporary.unlink(missing_ok=True)
            self.notes.append(f"image {name} could not be made: {type(exc).__name__}: "
                              f"{one_line(exc)}")
            return False
        self.present.add(name)
        return True


def place(source: Path, target: Path) -> None:
    """Hard-link ``source`` as ``target``, or copy it where links are not possible."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


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

