"""Working with a central scheduler (luigid): one-line errors, best-effort progress.

Luigi talks to luigid over HTTP (``luigi.rpc.RemoteScheduler``). When luigid cannot be
reached, every call raises ``luigi.rpc.RPCError`` after ``[core] rpc_retry_attempts``
attempts ``rpc_retry_wait`` seconds apart, and Luigi logs the failure twice (once
while scheduling, once as "Uncaught exception in luigi"), each time with a traceback
of about fifty lines through requests and urllib3, plus a "Failed pinging scheduler"
warning every second from the worker's keep-alive thread.

:class:`SchedulerErrorFilter` (installed by :func:`pipeline.errors.install_log_filter`)
turns this into one line that names the address and the cause::

    ERROR: Cannot reach the central scheduler (luigid) at 127.0.0.1:8082: connection
    refused. Start luigid, check --scheduler-host/--scheduler-port, or run with
    --local-scheduler.

(one line in the log; wrapped here). :func:`send_progress` makes the progress reports
of a running task best-effort: a scheduler that is restarting or briefly unreachable
costs a status message, not the training run that was sending it.
"""
from __future__ import annotations

import logging
import re
import socket
import sys
import time
import weakref
from typing import Any
from urllib.parse import urlparse

from luigi.interface import core
from luigi.rpc import RPCError

logger = logging.getLogger("luigi-interface")

# luigi.rpc reads these [core] keys straight from the configuration; the `core` Config
# class does not declare them, so without this Luigi warns on every run that they are
# "not consumed by the task 'core'".
core.ignore_unconsumed = set(core.ignore_unconsumed) | {
    "rpc_connect_timeout", "rpc_retry_attempts", "rpc_retry_wait", "rpc_log_retries"}

#: After a progress report fails, the task sends none for this many seconds.
QUIET_AFTER_FAILURE = 10.0

_URL = re.compile(r"'((?:https?|http\+unix)://[^']*)'")

# Messages Luigi logs for an RPCError that stops the whole run: these become the one line.
_FATAL_MESSAGES = ("Luigi unexpected framework error while scheduling",
                   "Uncaught exception in luigi")


def scheduler_address(exc: BaseException) -> str:
    """``host:port`` of the scheduler an :class:`RPCError` is about (or its URL)."""
    match = _URL.search(str(exc))
    if not match:
        return "the configured address"
    url = match.group(1)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return url
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.hostname}:{port}"


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, its sub-exception and everything they were raised from."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        todo += [getattr(current, "sub_exception", None), current.__cause__,
                 current.__context__]
        todo += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
        reason = getattr(current, "reason", None)  # urllib3 MaxRetryError, URLError
        if isinstance(reason, BaseException):
            todo.append(reason)
    return seen


def _cause(exc: BaseException) -> str:
    chain = _chain(exc)
    for current in chain:
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
    for current in chain:
        if isinstance(current, socket.gaierror):
            return "unknown host name"
    for current in chain:
        response = getattr(current, "response", None)
        status = getattr(response, "status_code", None)
        if status is not None:
            return f"it answered HTTP {status}"
    for current in chain:
        name = type(current).__name__.lower()
        if isinstance(current, (TimeoutError, socket.timeout)) or "timeout" in name:
            return "no answer in time"
    if "null response" in str(exc):
        return "it answered without data"
    sub = getattr(exc, "sub_exception", None) or exc
    first_line = (str(sub).strip().splitlines() or [type(sub).__name__])[0]
    return first_line[:200]


def describe_rpc_error(exc: BaseException) -> str:
    """One line saying which scheduler could not be reached, and why."""
    return (f"Cannot reach the central scheduler (luigid) at {scheduler_address(exc)}: "
            f"{_cause(exc)}.")


def _rpc_error_of(record: logging.LogRecord) -> RPCError | None:
    exc = record.exc_info[1] if record.exc_info else None
    if exc is None and record.msg == "Failed pinging scheduler":
        exc = sys.exc_info()[1]  # logged from inside the except clause, without exc_info
    return exc if isinstance(exc, RPCError) else None


class SchedulerErrorFilter(logging.Filter):
    """Log an :class:`RPCError` once, as one line; drop keep-alive ping failures."""

    def __init__(self) -> None:
        super().__init__()
        self._reported: weakref.WeakSet[BaseException] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Failed connecting to remote scheduler"):
            # Luigi's retry log ([core] rpc_log_retries) passes exc_info=True outside
            # an except clause, which prints a stray "NoneType: None" line.
            if record.exc_info and record.exc_info[1] is None:
                record.exc_info = None
            return True
        exc = _rpc_error_of(record)
        if exc is None:
            return True
        if record.msg == "Failed pinging scheduler":
            # Every second while luigid is away; whatever the run needs from luigid
            # next fails with its own (one-line) message, so these add only noise.
            return False
        if exc in self._reported:
            return False
        self._reported.add(exc)
        line = describe_rpc_error(exc)
        message = str(record.msg)
        if message.startswith(_FATAL_MESSAGES):
            line += (" Start luigid, check --scheduler-host/--scheduler-port,"
                     " or run with --local-scheduler.")
        else:
            line = f"{record.getMessage()}: {line}"
        record.msg = line
        record.args = None
        record.exc_info = None
        record.exc_text = None
        return True


SCHEDULER_FILTER = SchedulerErrorFilter()

_quiet_until: dict[str, float] = {}


def send_progress(task: Any, message: str, percentage: float | None = None) -> None:
    """``task.set_status_message`` and ``set_progress_percentage``, best effort.

    With a central scheduler each call is an HTTP request; if luigid is restarting or
    unreachable the request fails after Luigi's retries and, unguarded, the exception
    would fail the task from inside Keras's epoch callback. Here the failure is logged
    in one line, further reports of the task pause for :data:`QUIET_AFTER_FAILURE`
    seconds, and the task goes on: what decides success is the task's output.
    """
    now = time.monotonic()
    if now < _quiet_until.get(task.task_id, 0.0):
        return
    try:
        task.set_status_message(message)
        if percentage is not None:
            task.set_progress_percentage(round(percentage))
    except RPCError as exc:
        _quiet_until[task.task_id] = time.monotonic() + QUIET_AFTER_FAILURE
        logger.warning("%s: progress not reported, the task goes on. %s",
                       task.get_task_family(), describe_rpc_error(exc))
