"""Every result of a data folder in one place: plain functions, no Luigi.

- :mod:`.readers`: tolerant readers of the files tasks leave (a damaged file is a note);
- :mod:`.collect`: the finished runs, their groups over seeds, the grids;
- :mod:`.figures`: the report's images (the tasks' figures, or drawn with the same
  functions of :mod:`pipeline.ml.plots`);
- :mod:`.page`: the static HTML page;
- :mod:`.terminal`: the runs table and the diff of two runs for the command line.

The Luigi task is :class:`pipeline.tasks.report.Report`; the commands are
``text-classifier report|runs|diff`` (:mod:`pipeline.cli_results`).
"""
from __future__ import annotations

from .collect import Collection, Grid, Group, Run, collect
from .page import write_page

__all__ = ["Collection", "Grid", "Group", "Run", "collect", "write_page"]
