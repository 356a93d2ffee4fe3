"""Luigi's log as the terminal shows it: the progress, then the result; the rest on demand.

Two filters on Luigi's logger (``luigi-interface``), installed by
:func:`install_log_filter`:

- Tracebacks that say nothing the message does not go. Luigi logs every failure through
  ``logger.exception``, which prints a traceback; for a
  :class:`~pipeline.errors.PipelineError` (a bad parameter, a missing or corrupt archive,
  no network) the message already says what is wrong and how to fix it, so the record
  becomes the message alone (and luigid's connection errors one line,
  :mod:`pipeline.tasks.remote`). Any other exception keeps its full traceback.
- The quiet console. Unless Luigi logs at DEBUG (``--log-level DEBUG``, or
  ``TEXT_CLASSIFIER_LOG_LEVEL=DEBUG``), only the pipeline's own progress lines (records
  logged with :data:`CONSOLE` as ``extra``), warnings, errors and the execution summary
  pass; Luigi's scheduling chatter does not. A failure's headline shrinks to the task's
  name. After the execution summary come the run's results, or its errors
  (:func:`set_result_source`), on standard output.
"""
from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from typing import Any

from ..errors import user_error
from ..io.lifeline import is_interruption
from .remote import SCHEDULER_FILTER

LOGGER = "luigi-interface"
#: ``extra`` of the records the quiet console shows: the pipeline's own progress lines.
CONSOLE = {"pipeline_console": True}
SUMMARY_HEAD = "===== Luigi Execution Summary ====="

_WORKER_FAILED = re.compile(r"\[pid \d+\] Worker Worker\(.*?\) failed\s+(\w+)\(.*", re.S)
_WILL_NOT_RUN = re.compile(r"Will not run (\w+)\(.*?\) or any dependencies due to (.*)", re.S)


def verbose() -> bool:
    """Whether Luigi logs at DEBUG: then the terminal shows everything Luigi, TensorFlow
    and Keras say."""
    return logging.getLogger(LOGGER).getEffectiveLevel() <= logging.DEBUG


class _CleanPipelineErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and is_interruption(record.exc_info[1]):
            # Ctrl-C reached a task process before the process the user started: not a
            # failure to report with its traceback, the one line instead
            say_interrupted()
            return False
        exc = user_error(record.exc_info[1] if record.exc_info else None)
        message = str(record.msg)
        if exc is None and not record.exc_info and message.startswith("Will not run ") \
                and " due to error in " in message:
            # An error in requires() or complete() (a task that refuses the parameters it
            # is cloned with): Luigi logs it from inside its except clause, the traceback
            # formatted into the message. Keep the headline, then the error alone.
            exc = user_error(sys.exc_info()[1])
            if exc is not None:
                record.msg = message.split("\n", 1)[0]
                record.args = None
        if exc is not None:
            record.msg = f"{record.getMessage()}\n{exc}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


#: ``result(summary text) -> lines``: what the run gave, printed after the summary.
ResultSource = Callable[[str], str]
_result_source: list[ResultSource] = []


_scheduling_done: list[Callable[[], None]] = []
_error_hooks: list[Callable[[str, str], None]] = []


def set_result_source(source: ResultSource, scheduling_done: Callable[[], None],
                      error: Callable[[str, str], None]) -> None:
    """Where the quiet console gets the lines it prints after Luigi's execution summary,
    whom it tells that Luigi has scheduled a run's tasks, and whom it gives the
    ``(task family, message)`` of a task that could not be scheduled."""
    _result_source[:] = [source]
    _scheduling_done[:] = [scheduling_done]
    _error_hooks[:] = [error]


class _ResultPrinter(logging.Handler):
    """Prints a summary record's results once the handlers before it wrote the summary."""

    def emit(self, record: logging.LogRecord) -> None:
        text = getattr(record, "pipeline_result", "")
        if text:
            sys.stderr.flush()
            print(text, flush=True)


_PRINTER = _ResultPrinter()


class _QuietConsole(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.lstrip("\n").startswith(SUMMARY_HEAD):
            self.summary(record, message)
            return True
        if message == "Done scheduling tasks":
            for hook in _scheduling_done:
                hook()
        if verbose() or getattr(record, "pipeline_console", False):
            return True
        if record.levelno < logging.WARNING:
            return False
        headline, _, rest = record.getMessage().partition("\n")
        rest = rest.strip()
        one_line = bool(rest) and "\n" not in rest
        failed = _WORKER_FAILED.fullmatch(headline)
        skipped = _WILL_NOT_RUN.fullmatch(headline)
        if skipped and one_line and logging.getLogger(LOGGER).isEnabledFor(logging.INFO):
            # a task that cannot be scheduled: nothing of it runs, so its error is said
            # once, as the run's result after the summary
            for report in _error_hooks:
                report(skipped.group(1), rest)
            return False
        if failed or skipped:
            family = (failed or skipped).group(1)  # type: ignore[union-attr]
            what = "failed" if failed else f"not run ({skipped.group(2).rstrip(':')})" \
                if skipped else ""
            if one_line and rest.startswith(f"{family}: "):
                rest = rest[len(family) + 2:]
            record.msg = f"{family} {what}: {rest}" if one_line else \
                f"{family} {what}" + (f"\n{rest}" if rest else "")
            record.args = None
        elif headline == "Uncaught exception in luigi" and one_line:
            record.msg = rest  # a bad parameter: the message says it all
            record.args = None
        return True

    def summary(self, record: logging.LogRecord, message: str) -> None:
        """The execution summary, without its blank lines unless verbose; the results
        printed after it."""
        if not verbose():
            record.msg = "\n".join(line for line in message.splitlines() if line.strip())
            record.args = None
        if not _result_source:
            return
        try:
            text = _result_source[0](message)
        except Exception as exc:  # noqa: BLE001 - the run is over: say it, don't fail it
            text = f"(could not gather the results: {type(exc).__name__}: {exc})"
        if text:
            record.pipeline_result = text
            logger = logging.getLogger(LOGGER)
            # last, so it prints after the handlers that write the summary itself
            if logger.handlers[-1:] != [_PRINTER]:
                if _PRINTER in logger.handlers:
                    logger.removeHandler(_PRINTER)
                logger.addHandler(_PRINTER)


#: The format of the handler Luigi sets up (luigi.setup_logging.InterfaceLogging).
LUIGI_FORMAT = "%(levelname)s: %(message)s"


class _ConsoleFormatter(logging.Formatter):
    """Luigi's format, without "INFO: " before the quiet console's lines."""

    def __init__(self) -> None:
        super().__init__(LUIGI_FORMAT)
        self.plain = logging.Formatter("%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno == logging.INFO and not verbose():
            return self.plain.format(record)
        return super().format(record)


def tidy_luigi_handler() -> None:
    """Give the handler Luigi set up on its logger (if it is Luigi's, with its format)
    the quiet console's format: progress lines without an "INFO: " prefix."""
    for handler in logging.getLogger(LOGGER).handlers:
        formatter = handler.formatter
        style = getattr(formatter, "_style", None)
        if type(formatter) is logging.Formatter and getattr(style, "_fmt", None) == LUIGI_FORMAT:
            handler.setFormatter(_ConsoleFormatter())


_FILTER = _CleanPipelineErrors()
_QUIET = _QuietConsole()


def install_log_filter() -> None:
    """Attach the filters to the loggers Luigi reports on (idempotent)."""
    for name in (LOGGER, "luigi"):
        logger = logging.getLogger(name)
        for log_filter in (_FILTER, SCHEDULER_FILTER, *((_QUIET,) if name == LOGGER else ())):
            if log_filter not in logger.filters:
                logger.addFilter(log_filter)


_SAID: list[bool] = []


def say_interrupted() -> None:
    """The one line Ctrl-C ends a run with (once per process)."""
    if _SAID:
        return
    _SAID.append(True)
    print("\ninterrupted (Ctrl-C): the stage that was running kept nothing (outputs are "
          "staged and only renamed into place once complete); run the same command "
          "again to resume", file=sys.stderr, flush=True)


def _interrupted_in_one_line(kind: type[BaseException], value: BaseException,
                             traceback: Any) -> None:
    if issubclass(kind, KeyboardInterrupt):
        say_interrupted()
        return
    _previous_hook(kind, value, traceback)


_previous_hook = sys.excepthook


def install_interrupt_hook() -> None:
    """Ctrl-C ends ``luigi`` and ``python -m pipeline`` with one line instead of a
    KeyboardInterrupt traceback (the exit status stays that of SIGINT)."""
    if sys.excepthook is not _interrupted_in_one_line:
        sys.excepthook = _interrupted_in_one_line
