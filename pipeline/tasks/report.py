"""Report: one static HTML page of every result in the data folder.

    luigi --module pipeline Report --local-scheduler
    text-classifier report

It reads what the other tasks left (:mod:`pipeline.report`) and requires none of them:
making a report never trains anything. Its folder is named by a digest of everything
it read, ``Report/Report_<digest>/``, so the report is complete while the folder
is as it was, and a new or edited run makes the next one write a new report.
``Report/latest`` points at the newest.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import luigi

from ..io import storage
from .base import PipelineTask, data_folder

logger = logging.getLogger("luigi-interface")

#: Earlier reports whose drawn images are reused, newest first.
EARLIER_REPORTS = 3


class Report(PipelineTask):
    """Every finished run, its groups over seeds, every grid: ``report.html`` and its
    ``images/``."""

    files = {"page": "report.html"}
    LATEST = "latest"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._written: Path | None = None

    @property
    def family_folder(self) -> Path:
        return data_folder() / self.get_task_family()

    def folder_for(self, digest: str) -> Path:
        # a report has no parameters: its folder is named by what it read alone
        return self.family_folder / f"{self.get_task_family()}_{digest[:12]}"

    @property
    def output_dir(self) -> Path:
        """The report of the data folder as it is now."""
        from ..report import collect

        return self.folder_for(collect(data_folder()).digest)

    def complete(self) -> bool:
        # The report just written is complete even when a run finished while it was
        # being made (then the next report shows that run).
        written, self._written = self._written, None
        if written is not None and (written / self.files["page"]).is_file():
            return True
        return (self.output_dir / self.files["page"]).is_file()

    def earlier(self) -> list[Path]:
        """``images/`` of the newest earlier reports."""
        try:
            folders = [p for p in self.family_folder.iterdir()
                       if not p.name.startswith(".") and not p.is_symlink()
                       and (p / "images").is_dir()]
        except OSError:
            return []
        folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        return [p / "images" for p in folders[:EARLIER_REPORTS]]

    def run(self) -> None:
        from ..report import collect, write_page

        root = data_folder()
        self.report(f"reading {root}")
        collection = collect(root, progress=self.report)
        final = self.folder_for(collection.digest)
        earlier = self.earlier()
        with storage.staged_dir(final) as folder:
            storage.write_json(folder / "task.json", {
                "task_family": self.get_task_family(), "task_id": self.task_id,
                "parameters": self.to_str_params(only_significant=True),
                "digest": collection.digest})
            write_page(collection, folder, earlier, progress=self.report)
        self._written = final
        point_latest(self.family_folder, final)
        page = final / self.files["page"]
        print(f"\n{describe(collection)}: {page}", flush=True)


def describe(collection: Any) -> str:
    """``Report of 12 runs and 2 grids (1 note on damaged files)``."""
    def count(n: int, what: str) -> str:
        return f"{n} {what}{'s' if n != 1 else ''}"

    notes = len(collection.notes)
    shown = f" ({count(notes, 'note')} on files that could not be read)" if notes else ""
    return (f"Report of {count(len(collection.runs), 'run')} and "
            f"{count(len(collection.grids), 'grid')}{shown}")


def point_latest(family: Path, target: Path) -> None:
    """``Report/latest`` -> the newest report (best effort: not every file system has
    symbolic links)."""
    link = family / Report.LATEST
    temporary = family / f".{Report.LATEST}.{os.getpid()}"
    try:
        temporary.unlink(missing_ok=True)
        os.symlink(target.name, temporary)
        os.replace(temporary, link)
    except OSError as exc:
        logger.debug("cannot point %s at %s: %s", link, target, exc)
        temporary.unlink(missing_ok=True)


@Report.event_handler(luigi.Event.DEPENDENCY_PRESENT)
def _up_to_date(task: Report) -> None:
    """A report of the folder as it is exists already: say where."""
    print(f"\nThe report is up to date: {task.output_dir / task.files['page']}", flush=True)
