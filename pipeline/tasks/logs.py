"""Luigi's log, cleaned of tracebacks that say nothing the message does not.

Luigi logs every failure through ``logger.exception``, which prints a traceback. For a
:class:`~pipeline.errors.PipelineError` (a bad parameter, a missing or corrupt archive,
no network) the traceback is noise: the message already says what is wrong and how to
fix it. :func:`install_log_filter` rewrites those records into the message alone (and
luigid's connection errors into one line, :mod:`pipeline.tasks.remote`); any other
exception keeps its full traceback.
"""
from __future__ import annotations

import logging
import sys
from typing import Any

from ..errors import user_error
from .remote import SCHEDULER_FILTER


class _CleanPipelineErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
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


_FILTER = _CleanPipelineErrors()


def install_log_filter() -> None:
    """Attach the filters to the loggers Luigi reports failures on (idempotent)."""
    for name in ("luigi-interface", "luigi"):
        logger = logging.getLogger(name)
        for log_filter in (_FILTER, SCHEDULER_FILTER):
            if log_filter not in logger.filters:
                logger.addFilter(log_filter)


def _interrupted_in_one_line(kind: type[BaseException], value: BaseException,
                             traceback: Any) -> None:
    if issubclass(kind, KeyboardInterrupt):
        print("\ninterrupted (Ctrl-C): the stage that was running kept nothing (outputs are "
              "staged and only renamed into place once complete); run the same command "
              "again to resume", file=sys.stderr, flush=True)
        return
    _previous_hook(kind, value, traceback)


_previous_hook = sys.excepthook


def install_interrupt_hook() -> None:
    """Ctrl-C ends ``luigi`` and ``python -m pipeline`` with one line instead of a
    KeyboardInterrupt traceback (the exit status stays that of SIGINT)."""
    if sys.excepthook is not _interrupted_in_one_line:
        sys.excepthook = _interrupted_in_one_line
