"""What a run says on the terminal: where it reads and writes, then progress, then the result.

Luigi's events tell this module what a run (``luigi --module pipeline``, ``python -m
pipeline``, ``luigi.build``) does, in the process that schedules it:

- before its first task is checked, one line on standard error names the configuration
  files read (or the built-in defaults) and the data folder
  (:func:`pipeline.tasks.settings.describe_setup`);
- the tasks it was asked for (those no other task of the run requires), which were
  already complete, and the errors of the tasks that failed or could not be scheduled;
- after Luigi's execution summary, the quiet console (:mod:`pipeline.tasks.logs`) prints
  :func:`run_result`: each requested task's result
  (:meth:`~pipeline.tasks.base.PipelineTask.describe_result`: RunAll's accuracy,
  baselines and output paths), or the one-line errors, so the last lines on the screen
  are what the run gave.

A task about to run in a quiet console starts TensorFlow without its start-up lines
(:func:`pipeline.io.quiet.start_tensorflow`) when it uses it.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field

import luigi

from ..errors import user_error
from ..io.lifeline import is_interruption
from ..io.quiet import start_tensorflow
from .base import PipelineTask
from .logs import LOGGER, set_result_source, tidy_luigi_handler, verbose
from .settings import describe_setup


@dataclass
class RunRecord:
    """What the scheduling process saw of one run."""

    #: every task checked, by id, in the order checked (the requested ones first)
    checked: dict[str, luigi.Task] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    #: ids of the tasks complete before the run
    present: set[str] = field(default_factory=set)
    #: ``(task family, one-line message)`` of failures seen in this process
    errors: list[tuple[str, str]] = field(default_factory=list)
    #: the task whose dependencies are being found (Luigi reports them one by one)
    expanding: str = ""
    #: Luigi has scheduled the tasks asked for and starts running them
    scheduled: bool = False
    finished: bool = False
    announced: bool = False
    show_result: bool = True

    @property
    def requested(self) -> list[luigi.Task]:
        return [task for task_id, task in self.checked.items() if task_id not in self.required]


_RUN = RunRecord()


def current_run() -> RunRecord:
    return _RUN


def scheduling_done() -> None:
    """Luigi has scheduled what it was asked for (it logs "Done scheduling tasks")."""
    _RUN.scheduled = True


def new_run(show_result: bool = True) -> RunRecord:
    """Start recording a new run (the entry points call it; otherwise a run starts when
    the previous one has ended or a task it asked for is checked again); without
    ``show_result`` nothing is printed after its execution summary."""
    global _RUN
    _RUN = RunRecord(show_result=show_result)
    return _RUN


def announce() -> None:
    """Print the configuration files read and the data folder, once per run (and give
    Luigi's log handler the quiet console's format)."""
    _RUN.announced = True
    tidy_luigi_handler()
    print(describe_setup(), file=sys.stderr, flush=True)


def _record(task: luigi.Task, check: bool = True) -> RunRecord:
    """The record of the run ``task`` belongs to, ``task`` noted as checked.

    A check (``check``) of a task the run asked for and already checked starts a new
    run: Luigi checks each task once per run. The first task checked announces the
    configuration and data folder (unless Luigi logs only warnings and errors). Tasks
    first checked once scheduling is done (dynamic dependencies) were not asked for.
    """
    if _RUN.finished or (check and task.task_id in _RUN.checked
                         and task.task_id not in _RUN.required):
        new_run()
    if not _RUN.announced and logging.getLogger(LOGGER).isEnabledFor(logging.INFO):
        announce()
    if task.task_id not in _RUN.checked:
        _RUN.checked[task.task_id] = task
        if _RUN.scheduled:
            _RUN.required.add(task.task_id)
    return _RUN


def error_line(exc: BaseException) -> str:
    """The one line a failure is reported with: a user error's message, else the
    exception's type and first line."""
    error = user_error(exc)
    if error is not None:
        return str(error)
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@PipelineTask.event_handler(luigi.Event.DEPENDENCY_MISSING)
def _missing(task: luigi.Task) -> None:
    _record(task)


@PipelineTask.event_handler(luigi.Event.DEPENDENCY_PRESENT)
def _present(task: luigi.Task) -> None:
    _record(task).present.add(task.task_id)


@PipelineTask.event_handler(luigi.Event.DEPENDENCY_DISCOVERED)
def _discovered(task: luigi.Task, dependency: luigi.Task) -> None:
    # Luigi triggers no event for a task that is incomplete (unless it is external):
    # its dependencies, found one after the other, are the first sign of it
    run = _record(task, check=_RUN.expanding != task.task_id)
    run.expanding = task.task_id
    run.required.add(dependency.task_id)


@PipelineTask.event_handler(luigi.Event.BROKEN_TASK)
def _broken(task: luigi.Task, exc: BaseException) -> None:
    _RUN.errors.append((task.get_task_family(), error_line(exc)))


@PipelineTask.event_handler(luigi.Event.FAILURE)
def _failed(task: luigi.Task, exc: BaseException) -> None:
    if is_interruption(exc):  # Ctrl-C, said in one line (tasks/logs.py), not an error
        return
    _RUN.errors.append((task.get_task_family(), error_line(exc)))


def _without_dependencies(task: PipelineTask) -> None:
    # Luigi asks an incomplete task for its dependencies while it schedules, and gives no
    # event when there are none: before scheduling is done such a task was asked for
    # (Report), after it a dynamic dependency (the DownloadDataset a search yields)
    if task.task_id not in _RUN.checked or _RUN.finished:
        _record(task, check=False)


PipelineTask.without_dependencies.append(_without_dependencies)


@PipelineTask.event_handler(luigi.Event.START)
def _starting(task: luigi.Task) -> None:
    if task.task_id not in _RUN.checked:  # a task without dependencies, asked for alone
        _record(task, check=False)
    if getattr(task, "uses_tensorflow", False):
        start_tensorflow(quiet=not verbose())


def run_result(summary: str = "") -> str:
    """What the run gave, for the end of the terminal: each requested task's result
    when it is complete, else the errors of the run (one line each)."""
    run = _RUN
    run.finished = True
    if not run.show_result:
        return ""
    parts = []
    for task in run.requested:
        if not isinstance(task, PipelineTask):
            continue
        try:
            complete = task.complete()
        except Exception:  # noqa: BLE001 - reported below as not complete
            complete = False
        if not complete:
            continue
        try:
            text = task.describe_result()
        except Exception as exc:  # noqa: BLE001 - the run is over: say it, don't fail it
            text = f"{task.get_task_family()}: complete (its result cannot be shown: " \
                   f"{error_line(exc)})"
        if task.task_id in run.present:
            text = f"Nothing to do: {task.get_task_family()} is already complete.\n{text}"
        parts.append(text)
    errors = list(dict.fromkeys(run.errors))
    if errors:
        parts.append("\n".join(
            f"error: {message}" if message.startswith(f"{family}: ") else
            f"error: {family}: {message}" for family, message in errors))
    elif not parts and run.requested and "failed" in summary:
        parts.append("error: the run did not complete; the errors are above")
    return "\n".join(parts)


def scheduling_error(family: str, message: str) -> None:
    """A task that could not be scheduled (its requires() or complete() failed)."""
    _RUN.errors.append((family, message))


set_result_source(run_result, scheduling_done, scheduling_error)
