"""Progress of a long computation, said by the code that knows it, shown by the task
that runs it.

A stage such as Encode or Featurize calls a plug-in (a dataset's ``read``, a
representation's ``featurize``) that knows its own phases; the task knows where progress
goes (its terminal line, luigid). :func:`reporting` connects them for the duration of
the call; :func:`say` is a no-op outside it, so the plug-ins and the machine-learning
core stay callable without Luigi.
"""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

_REPORTER: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "progress", default=None)


@contextlib.contextmanager
def reporting(reporter: Callable[[str], None]) -> Iterator[None]:
    """Within the block, :func:`say` hands its messages to ``reporter``."""
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)


def say(message: str) -> None:
    """One step of the work in progress (nothing happens outside :func:`reporting`)."""
    reporter = _REPORTER.get()
    if reporter is not None:
        reporter(message)
