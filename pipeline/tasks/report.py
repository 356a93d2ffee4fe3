"""Report: one static HTML page of every result in the data folder.

    luigi --module pipeline Report --local-scheduler
    text-classifier report

It reads what the other tasks left (:mod:`pipeline.report`) and requires none of them:
making a report never trains anything. Its folder is named by a digest of everything
it read, ``Report/Report_<digest>/report.html``, so the report is complete while the
folder is as it was, and a new or edited run makes the next one write a new report.
Its images are in ``Report/images/``, shared by all reports (each named by what it
shows), and ``Report/latest`` points at the newest report.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..io import storage
from .base import PipelineTask, data_folder

if TYPE_CHECKING:
    from ..report import Collection

logger = logging.getLogger("luigi-interface")


class Report(PipelineTask):
    """Every finished run, its groups over seeds, every grid: ``report.html`` (its images
    in ``Report/images/``)."""

    files = {"page": "report.html"}
    LATEST = "latest"
    IMAGES = "images"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._written: Path | None = None
        #: the page this object wrote and what it shows (a run finishing meanwhile makes
        #: output_dir another, unwritten report)
        self._made: tuple[Path, str] | None = None
        self._read: tuple[Any, Collection] | None = None

    def collection(self) -> Collection:
        """The data folder's runs and grids, read again only when a file changed (Luigi
        asks for the output before running, and reuses task objects)."""
        from ..report.collect import collect, fingerprint

        root = data_folder()
        mark = (root, fingerprint(root))
        if self._read is None or self._read[0] != mark:
            self._read = (mark, collect(root))
        return self._read[1]

    @property
    def family_folder(self) -> Path:
        return data_folder() / self.get_task_family()

    def folder_for(self, digest: str) -> Path:
        # a report has no parameters: its folder is named by what it read alone
        return self.family_folder / f"{self.get_task_family()}_{digest[:12]}"

    @property
    def output_dir(self) -> Path:
        """The report of the data folder as it is now."""
        return self.folder_for(self.collection().digest)

    def complete(self) -> bool:
        """Its page, and every image the page shows, exist."""
        # The report just written is complete even when a run finished while it was
        # being made (then the next report shows that run).
        written, self._written = self._written, None
        folder = written if written is not None else self.output_dir
        try:
            task = json.loads((folder / "task.json").read_text(encoding="utf-8"))
            images = [self.family_folder / self.IMAGES / str(name) for name in task["images"]]
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return (folder / self.files["page"]).is_file() and all(map(os.path.isfile, images))

    def run(self) -> None:
        from ..report import write_page
        from ..report.figures import Images

        # the report is written into the data folder: read it as the folder it will be
        # (a missing one as empty), so that the report is complete once written
        data_folder().mkdir(parents=True, exist_ok=True)
        collection = self.collection()
        final = self.folder_for(collection.digest)
        try:
            images = Images(self.family_folder / self.IMAGES, collection.notes)
        except OSError as exc:  # a read-only or full data folder: one line
            raise storage.resource_error(exc, self.family_folder / self.IMAGES) from exc
        with storage.staged_dir(final) as folder:
            write_page(collection, folder, images, progress=self.report)
            storage.write_json(folder / "task.json", {
                "task_family": self.get_task_family(), "task_id": self.task_id,
                "parameters": self.to_str_params(only_significant=True),
                "digest": collection.digest, "images": sorted(images.placed.values())})
        self._written = final
        self._made = (final / self.files["page"], describe(collection))
        point_latest(self.family_folder, final)
        self.report(f"{images.linked} images linked, {images.drawn} drawn", 100)

    def describe_result(self) -> str:
        if self._made is not None:
            page, described = self._made
            return f"\n{described}: {page}"
        return f"\n{describe(self.collection())}: {self.output_dir / self.files['page']}"


def describe(collection: Collection) -> str:
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
