"""One exception type for problems the user can fix, shown as one line without a traceback.

Every layer raises :class:`PipelineError` with a message that names what is wrong and
what to do; the command-line entry points and the Luigi log filter
(:mod:`pipeline.tasks.logs`) print that message alone. This module imports nothing of
the project, so every layer may import it.
"""
from __future__ import annotations


class PipelineError(ValueError):
    """A problem with the user's input, with a message that names what is wrong."""


class PluginError(PipelineError):
    """A plug-in that breaks its kind's contract, found when it is registered."""


def user_error(exc: BaseException | None) -> PipelineError | None:
    """The :class:`PipelineError` that ``exc`` is or was raised from, else None.

    Luigi wraps an error raised while reading a parameter's default (a bad value in
    luigi.cfg) in a plain ValueError; the cause is what the user needs to read. Running
    out of memory is the user's to fix too (smaller batches or models), so it becomes
    one line as well.
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
