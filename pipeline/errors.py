"""One exception type for problems the user can fix, shown without a traceback.

Luigi logs every failure through ``logger.exception``, which prints a traceback.
For a :class:`PipelineError` (a bad parameter, a missing or corrupt archive, no
network) the traceback is noise: the message already says what is wrong and how to
fix it. :func:`install_log_filter` rewrites those log records into the message
alone; any other exception keeps its full traceback.
"""
import logging

from .remote import SCHEDULER_FILTER  # luigid unreachable: one line, no traceback


class PipelineError(ValueError):
    """A problem with the user's input, with a message that names what is wrong."""


def user_error(exc):
    """The :class:`PipelineError` that ``exc`` is or was raised from, else None.

    Luigi wraps an error raised while reading a parameter's default (a bad value in
    luigi.cfg) in a plain ValueError; the cause is what the user needs to read.
    """
    while exc is not None:
        if isinstance(exc, PipelineError):
            return exc
        if isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError":
            return PipelineError(
                "out of memory: the model, batch or data does not fit in this machine's "
                "memory; lower batch_size, units, layers, num_words or maxlen "
                f"({type(exc).__name__})")
        exc = exc.__cause__
    return None


class _CleanPipelineErrors(logging.Filter):
    def filter(self, record):
        exc = user_error(record.exc_info[1] if record.exc_info else None)
        if exc is not None:
            record.msg = f"{record.getMessage()}\n{exc}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


_FILTER = _CleanPipelineErrors()


def install_log_filter():
    """Attach the filters to the loggers Luigi reports failures on (idempotent)."""
    for name in ("luigi-interface", "luigi"):
        logger = logging.getLogger(name)
        for log_filter in (_FILTER, SCHEDULER_FILTER):
            if log_filter not in logger.filters:
                logger.addFilter(log_filter)
