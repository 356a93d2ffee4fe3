"""Force a task to recompute: delete its outputs and those of every task downstream.

Luigi reruns only what is incomplete, and a task whose outputs exist is complete.
To recompute one stage, its outputs and the outputs of everything that depends on
it must go; this command finds them in the task graph of a configuration::

    python -m pipeline.forget TrainModel                  # default configuration
    python -m pipeline.forget TrainModel --epochs 10      # parameters as given to RunAll
    python -m pipeline.forget Encode --dry-run            # only list what would go
    luigi --module pipeline RunAll --local-scheduler      # then rerun

Only the given configuration's folders are deleted; other configurations stay.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import luigi
from luigi.cmdline_parser import CmdlineParser
from luigi.task import flatten

from .errors import PipelineError, user_error
from .tasks import PipelineTask


def affected_tasks(root: PipelineTask, family: str) -> list[PipelineTask]:
    """Tasks in ``root``'s graph that are ``family`` or depend on one, root last."""
    found: list[PipelineTask] = []
    seen: dict[str, bool] = {}

    def visit(task: PipelineTask) -> bool:
        if task.task_id not in seen:
            hit = task.get_task_family() == family
            required = task.requires()
            if isinstance(required, dict):  # not RunAll's reference models: other runs
                required = {key: value for key, value in required.items()
                            if key != "references"}
            for upstream in flatten(required):
                hit = visit(upstream) or hit
            seen[task.task_id] = hit
            if hit:
                found.append(task)
        return seen[task.task_id]

    visit(root)
    return found


def forget(root: PipelineTask, family: str, dry_run: bool = False) -> list[Path]:
    """Delete the output folders of the affected tasks; returns the folders."""
    tasks = affected_tasks(root, family)
    if not tasks:
        raise PipelineError(f"no {family} task in the graph of {root.get_task_family()}")
    folders = [task.output_dir for task in tasks]
    if not dry_run:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    return folders


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    dry_run = "--dry-run" in argv
    argv = [arg for arg in argv if arg != "--dry-run"]
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    family, params = argv[0], argv[1:]
    import pipeline  # noqa: F401  (registers the task classes)

    try:
        # Output folders depend on --pipeline-data-dir, which only holds inside this block.
        with CmdlineParser.global_instance(["RunAll", *params]) as parser:
            folders = forget(parser.get_task_obj(), family, dry_run=dry_run)
    except (ValueError, luigi.parameter.ParameterException) as exc:
        shown = exc if isinstance(exc, luigi.parameter.ParameterException) else user_error(exc)
        if shown is None:
            raise
        print(f"error: {shown}", file=sys.stderr)
        return 2
    verb = "would delete" if dry_run else "deleted"
    for folder in folders:
        print(f"{verb} {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
