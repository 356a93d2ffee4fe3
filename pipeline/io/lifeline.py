"""Helper processes die with the process that started them.

A worker forked for a task (the tokenizers of Encode, Luigi's task processes with
``--workers N``) must not outlive a ``kill -9`` of its parent: it would go on holding
memory, or block forever writing its result to a pipe nobody reads. On Linux the kernel
does this for us (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); elsewhere, and as a second
guard, a daemon thread checks every second that the parent is still there.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 1.0


def _watch(parent: int) -> None:
    import time

    while True:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)


INTERRUPTED = 130  # what a shell reports for a command stopped by Ctrl-C (128 + SIGINT)


_GUARDED = False


def _leave_quietly(signum: int, frame: object) -> None:
    raise SystemExit(INTERRUPTED)


def is_interruption(exc: BaseException | None) -> bool:
    """Whether ``exc`` is Ctrl-C: a KeyboardInterrupt, or the quiet exit of a helper
    process (:func:`die_with`) that received it."""
    return isinstance(exc, KeyboardInterrupt) or (
        isinstance(exc, SystemExit) and exc.code == INTERRUPTED)


def interruption() -> BaseException:
    """What to raise here when a helper reports Ctrl-C: the quiet exit in a helper
    process, a KeyboardInterrupt in the process the user started."""
    return SystemExit(INTERRUPTED) if _GUARDED else KeyboardInterrupt()


def die_with(parent: int) -> None:
    """Call first thing in a child process: it is killed once ``parent`` (a pid) is gone,
    and Ctrl-C (SIGINT, sent to the whole foreground group) ends it quietly: the
    exception unwinds its work (a staging folder is removed) and the process exits
    without the traceback multiprocessing would print; the parent says it in one line."""
    global _GUARDED
    _GUARDED = True
    signal.signal(signal.SIGINT, _leave_quietly)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=_watch, args=(parent,), daemon=True,
                     name="die-with-parent").start()
