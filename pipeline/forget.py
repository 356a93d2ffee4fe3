"""Force a task to recompute: delete its outputs and those of every task downstream.

Luigi reruns only what is incomplete, and a task whose outputs exist is complete.
To recompute one stage, its outputs and the outputs of everything that depends on
it must go; this command finds them in the task graph of a configuration::

    python -m pipeline.forget TrainModel                  # default configuration
    python -m pipeline.forget TrainModel --epochs 10      # parameters as given to RunAll
    python -m pipeline.forget Encode --dry-run            # only list what would go
    luigi --module pipeline RunAll --local-scheduler      # then rerun

Only the given configuration's folders that exist are deleted, and listed; other
configurations stay. A configuration that was never run deletes nothing: it says so
and lists the closest configurations of that task that were run (by the parameters
their task.json records), with the parameters that differ.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import luigi
from luigi.cmdline_parser import CmdlineParser
from luigi.task import flatten

from .errors import PipelineError, user_error
from .tasks import PipelineTask
from .tasks.settings import data_folder, describe_setup


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
    """Delete the output folders of the affected tasks that exist; returns them (those
    that would be deleted, with ``dry_run``). Nothing else is touched."""
    tasks = affected_tasks(root, family)
    if not tasks:
        raise PipelineError(f"no {family} task in the graph of {root.get_task_family()}")
    folders = [task.output_dir for task in tasks if task.output_dir.is_dir()]
    if not dry_run:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    return folders


def recorded_runs(data: Path, family: str) -> list[tuple[Path, dict[str, str]]]:
    """``(folder, parameters)`` of every finished ``family`` task in the data folder, as
    its task.json records them."""
    found = []
    root = data / family
    for record in sorted(root.glob("*/task.json")) if root.is_dir() else []:
        if record.parent.name.startswith("."):
            continue
        try:
            parameters = json.loads(record.read_text(encoding="utf-8"))["parameters"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(parameters, dict):
            found.append((record.parent, {str(k): str(v) for k, v in parameters.items()}))
    return found


def closest_runs(task: PipelineTask, limit: int = 3) -> list[tuple[Path, dict[str, str]]]:
    """The finished runs of ``task``'s family whose parameters differ least from
    ``task``'s: ``(folder, {name: their value})`` for the parameters that differ (a
    parameter only one side reads shows as ``'-'`` when they do not read it)."""
    wanted = task.to_str_params(only_significant=True)
    scored = []
    for folder, parameters in recorded_runs(data_folder(), task.get_task_family()):
        differ = {name: parameters.get(name, "-")
                  for name in sorted(set(wanted) | set(parameters))
                  if parameters.get(name) != wanted.get(name)}
        if differ:
            scored.append((len(differ), folder.name, folder, differ))
    return [(folder, differ) for _, _, folder, differ in sorted(scored)[:limit]]


def never_run(root: PipelineTask, family: str) -> str:
    """What to say when none of the configuration's affected folders exists."""
    target = next(task for task in affected_tasks(root, family)
                  if task.get_task_family() == family)
    lines = [f"nothing deleted: {family} was never run with these parameters in "
             f"{data_folder()} (no {target.output_dir.name})"]
    closest = closest_runs(target)
    if closest:
        lines.append(f"closest {family} runs there (parameters that differ; '-' = not "
                     f"read):")
        given = target.to_str_params(only_significant=True)
        for folder, differ in closest:
            shown = ", ".join(f"{name} {value} (not {given.get(name, '-')})"
                              for name, value in differ.items())
            lines.append(f"  {folder.name}: {shown}")
    else:
        lines.append(f"no {family} run is recorded there at all")
    return "\n".join(lines)


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
            root = parser.get_task_obj()
            folders = forget(root, family, dry_run=dry_run)
            print(describe_setup(), file=sys.stderr, flush=True)
            if not folders:
                print(never_run(root, family))
                return 0
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
