"""Fetching a dataset's files: http(s), ftp, file:// or a local path, hashed on the way.

The one place that moves bytes from an address into a staging folder. Messages name
the address the user gave (never the staging copy) and the DownloadDataset option that
changes it, so a user offline knows what to pass.
"""
from __future__ import annotations

import contextlib
import contextvars
import errno
import hashlib
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import PipelineError

CHUNK = 1 << 20
#: Errors writing the copy (not reading the source): the data folder reports them.
_WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
#: The largest file fetched (the biggest dataset file, aclImdb_v1.tar.gz, is 84 MB).
MAX_FILE_BYTES = 4 << 30
#: At most one progress call per this many seconds (plus the last one).
PROGRESS_EVERY = 1.0
#: A download that receives less than this many bytes per second, over its timeout
#: (``[DownloadDataset] timeout``), has stalled and is stopped.
STALL_RATE = 1024
#: The timeout of downloads in this context (see :func:`stall_timeout`), in seconds.
_TIMEOUT: contextvars.ContextVar[float] = contextvars.ContextVar("timeout", default=60.0)


@contextlib.contextmanager
def stall_timeout(seconds: float) -> Iterator[None]:
    """Downloads inside the block stop when they receive less than :data:`STALL_RATE`
    bytes per second over ``seconds`` (or nothing at all for ``seconds``)."""
    token = _TIMEOUT.set(float(seconds))
    try:
        yield
    finally:
        _TIMEOUT.reset(token)


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The hex SHA-256 of a file."""
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()

#: ``progress(file name, bytes done, bytes in all or None)``.
Progress = Callable[[str, int, "int | None"], None]
#: ``report(bytes done, bytes in all or None)``: a progress bound to one file's name.
_Report = Callable[[int, "int | None"], None]


def option_for(parameter: str, name: str) -> tuple[str, str]:
    """How a user gives the address: the command-line option and the luigi.cfg line."""
    return (f"--DownloadDataset-{parameter.replace('_', '-')} /path/to/{name}",
            f"{parameter} = /path/to/{name} under [DownloadDataset] in luigi.cfg")


def local_path(url: str) -> Path | None:
    """The local file a path or file:// URL names, or None for a remote address."""
    parsed = urllib.parse.urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https", "ftp"):
        return None
    if scheme == "file":
        return Path(urllib.parse.unquote(parsed.path))
    return Path(url).expanduser()


def fetch_file(url: str, destination: str | os.PathLike[str], *, name: str,
               sha256: str | None = None, parameter: str = "url",
               progress: Progress | None = None, timeout: float | None = None) -> str:
    """Copy or download the file at ``url`` to ``destination``; returns its SHA-256.

    ``name`` is what the file is called in messages (``aclImdb_v1.tar.gz``) and
    ``parameter`` the DownloadDataset parameter that gives its address.
    ``progress(name, done_bytes, total_bytes_or_None)`` is called about once a second and
    once at the end. The caller writes ``destination`` atomically (a staging folder).
    Raises :class:`PipelineError` saying how to work offline when the file cannot be
    fetched, and when ``sha256`` is given and does not match.
    """
    option, config = option_for(parameter, name)
    report = None if progress is None else (lambda done, total: progress(name, done, total))
    source = local_path(url)
    if source is None:
        digest = _download(url, destination, _TIMEOUT.get() if timeout is None else timeout,
                           name, option, config, report)
    else:
        if source.is_dir():
            raise PipelineError(f"DownloadDataset: {source} is a folder; give the path of "
                                f"{name} itself with {option} (or {config}).")
        if not source.is_file():
            raise PipelineError(
                f"DownloadDataset: no file at {source}. Give the path of a copy of {name} "
                f"with {option} (or {config}).")
        try:
            with open(source, "rb") as src:
                digest = _stream(src, destination, source.stat().st_size, report, source)
        except OSError as exc:
            if exc.errno in _WRITE_ERRORS:
                raise
            raise PipelineError(f"DownloadDataset: cannot read {source} "
                                f"({exc.strerror or exc})") from None
    if sha256 and digest != sha256.lower():
        raise PipelineError(
            f"DownloadDataset: {url} has SHA-256 {digest}, expected {sha256}: the file "
            f"is corrupt, truncated or not the dataset's {name}. Nothing was kept.")
    return digest


def _stream(src: Any, destination: str | os.PathLike[str], total: int | None,
            progress: _Report | None, shown: object = "the file", stall: float | None = None
            ) -> str:
    """Copy ``src`` to ``destination``, hashed; with ``stall``, stop when fewer than
    ``STALL_RATE * stall`` bytes arrived in the last ``stall`` seconds."""
    hasher = hashlib.sha256()
    done, reported, last = 0, None, time.monotonic()
    window_start, window_bytes = last, 0
    # read1: what has arrived, at once (read(n) would wait for all n bytes)
    read = getattr(src, "read1", None) or src.read
    with open(destination, "wb") as dst:
        while chunk := read(CHUNK):
            hasher.update(chunk)
            dst.write(chunk)
            done += len(chunk)
            if done > MAX_FILE_BYTES:
                raise PipelineError(f"DownloadDataset: {shown} is larger than "
                                    f"{MAX_FILE_BYTES / 2**30:.0f} GB, not a dataset file")
            now = time.monotonic()
            window_bytes += len(chunk)
            if stall is not None and now - window_start >= stall:
                if window_bytes < STALL_RATE * stall:
                    raise _Stalled(window_bytes, now - window_start, done, total)
                window_start, window_bytes = now, 0
            if progress is not None and now - last >= PROGRESS_EVERY:
                progress(done, total)
                reported, last = done, now
    if total is not None and done < total:
        raise PipelineError(f"DownloadDataset: {shown} ended after {done:,} of its "
                            f"{total:,} bytes: the transfer was cut; try again")
    if progress is not None and reported != done:
        progress(done, total)
    return hasher.hexdigest()


class _Stalled(Exception):  # noqa: N818 - a signal turned into a PipelineError by _download
    def __init__(self, received: int, seconds: float, done: int, total: int | None) -> None:
        super().__init__(received, seconds, done, total)
        self.received, self.seconds, self.done, self.total = received, seconds, done, total


def _download(url: str, destination: str | os.PathLike[str], timeout: float, name: str,
              option: str, config: str, progress: _Report | None) -> str:
    advice = (f"try again later, allow more with --DownloadDataset-timeout (or timeout "
              f"under [DownloadDataset] in luigi.cfg), or download {name} elsewhere and "
              f"give the copy with {option}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            return _stream(response, destination, total, progress, url, stall=timeout)
    except _Stalled as exc:
        of = f" of {exc.total:,}" if exc.total else ""
        raise PipelineError(
            f"DownloadDataset: {url} stalled: {exc.received:,} bytes in the last "
            f"{exc.seconds:.0f} s (less than {STALL_RATE:,} bytes/s), {exc.done:,}{of} bytes "
            f"received; stopped. Nothing was kept; {advice}.") from None
    except urllib.error.HTTPError as exc:
        raise PipelineError(
            f"DownloadDataset: {url} answered HTTP {exc.code} ({exc.reason}): the address "
            f"is wrong or the file moved. Give another address or a local copy with "
            f"{option}.") from None
    except TimeoutError:
        raise PipelineError(
            f"DownloadDataset: {url} sent nothing for {timeout:g} s; stopped. Nothing was "
            f"kept; {advice}.") from None
    except (urllib.error.URLError, OSError) as exc:
        if getattr(exc, "errno", None) in _WRITE_ERRORS:
            raise
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise PipelineError(
                f"DownloadDataset: {url} did not answer within {timeout:g} s. Nothing was "
                f"kept; {advice}.") from None
        raise PipelineError(
            f"DownloadDataset: could not download {url} ({reason}). This machine may be "
            f"offline. Download {name} on a connected machine and point the pipeline at "
            f"the local copy: luigi --module pipeline RunAll --local-scheduler {option} "
            f"(or set {config}).") from None


def describe_progress(name: str, done: int, total: int | None) -> tuple[str, float | None]:
    """``aclImdb_v1.tar.gz: 12.0 of 84.1 MB (14 %)`` and the percentage (or None)."""
    mb = 1 << 20
    if total:
        percent = 100.0 * done / total
        return f"{name}: {done / mb:.1f} of {total / mb:.1f} MB ({percent:.0f} %)", percent
    return f"{name}: {done / mb:.1f} MB", None
