"""Atomic writes: nothing half-written may look complete.

Each task writes its files into a hidden staging folder next to its final output
folder and renames the folder into place when everything is written, so an output
folder either holds all of a task's files or does not exist.
"""
from __future__ import annotations

import contextlib
import csv
import errno
import json
import logging
import os
import secrets
import shutil
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from ..errors import PipelineError

logger = logging.getLogger("luigi-interface")

_STAGING_MARK = ".staging-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_staging(final: Path) -> None:
    """Remove staging folders of ``final`` left by killed processes on this host.

    Their names are ``.<final>.staging-<host>-<pid>.<token>``, with ``-old`` appended
    for a previous output moved aside during a forced rerun.
    """
    prefix = f".{final.name}{_STAGING_MARK}{socket.gethostname()}-"
    for leftover in final.parent.glob(prefix + "*"):
        try:
            pid = int(leftover.name[len(prefix):].split(".", 1)[0])
        except ValueError:
            continue
        if not _pid_alive(pid):
            shutil.rmtree(leftover, ignore_errors=True)


def _make_staging(final: Path) -> Path:
    """A new empty hidden folder next to ``final``.

    ``os.mkdir`` (not ``tempfile.mkdtemp``, which makes it private, mode 0700) so the
    folder, once renamed into place, has the permissions of any folder the user
    creates: workers running as other users on a shared file system can read it.
    """
    prefix = f".{final.name}{_STAGING_MARK}{socket.gethostname()}-{os.getpid()}."
    while True:
        staging = final.with_name(prefix + secrets.token_hex(4))
        try:
            staging.mkdir()
            return staging
        except FileExistsError:
            continue


@contextlib.contextmanager
def staged_dir(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty staging folder; on success it becomes ``final`` atomically.

    On an exception the staging folder is removed and ``final`` is left as it was.
    A previous ``final`` (a forced rerun) is replaced only once the new one is
    complete. If the second rename fails the previous output is put back; if the
    process dies between the two renames, the moved-aside copy is cleared like any
    staging leftover (and the task, without its output, runs again).
    """
    final = Path(final)
    # the folders made for it, removed again (when still empty) if it fails: a failed
    # first run leaves no empty data folder behind
    created = [parent for parent in (final.parent, *final.parent.parents)
               if not parent.exists()]
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(final)
        staging = _make_staging(final)
    except OSError as exc:
        raise resource_error(exc, final) from exc
    try:
        yield staging
        _fsync_tree(staging)
        if final.exists() and _exchange(staging, final):
            # one atomic step: a reader (another run racing on this folder) never finds
            # the output missing; the previous output is now in the staging folder
            shutil.rmtree(staging, ignore_errors=True)
        elif final.exists():
            old = staging.with_name(staging.name + "-old")
            os.replace(final, old)
            try:
                os.replace(staging, final)
            except BaseException:
                os.replace(old, final)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.replace(staging, final)
            except OSError as exc:
                # another run (without Luigi's lock) put the same output in place first:
                # the same parameters give the same result, so theirs is kept
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not final.is_dir():
                    raise
                shutil.rmtree(staging, ignore_errors=True)
                logger.info("%s: another run wrote it first; kept that one", final)
        _fsync_dir(final.parent)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in created:  # deepest first
            try:
                folder.rmdir()
            except OSError:
                break
        if isinstance(exc, OSError) and exc.errno in _RESOURCE_ERRORS:
            raise resource_error(exc, final) from exc
        raise


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or file system cannot, and the caller swaps in two steps."""
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOENT):
        return False
    raise OSError(code, os.strerror(code), str(b))


#: Errors of the file system, not of our code: reported in one line.
_RESOURCE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                    errno.ENOTDIR}


def resource_error(exc: OSError, final: Path) -> PipelineError:
    """A :class:`PipelineError` for ``exc`` (an OSError) while writing ``final``."""
    from ..errors import PipelineError

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = "free some space, or give another data folder"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        advice = "not writable: give a writable data folder"
    else:
        advice = "give a data folder that is a folder you can write to"
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    return PipelineError(f"cannot write {final}: {exc.strerror or exc}{where}; {advice} "
                         f"(--pipeline-data-dir). Nothing of it was kept.")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for path in Path(root).rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def write_json(path: str | os.PathLike[str], obj: Any, sort_keys: bool = True) -> None:
    """``obj`` as indented JSON; keys sorted unless their order means something (classes)."""
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=sort_keys) + "\n",
                          encoding="utf-8")


def read_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_csv_columns(path: str | os.PathLike[str]) -> dict[str, list[float]]:
    """A small numeric CSV as ``{column: [float, ...]}`` (no pandas import needed).

    Empty cells (pandas writes NaN so, e.g. the loss of a diverged epoch) read as NaN.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return {}
    return {column: [float(row[column] or "nan") for row in rows] for column in rows[0]}


def save_arrays(path: str | os.PathLike[str], **arrays: Any) -> None:
    """Save numpy arrays uncompressed (fast to write and to read back)."""
    import numpy as np

    with open(path, "wb") as handle:  # an open file keeps np.savez from renaming it
        np.savez(handle, **arrays)


def load_arrays(path: str | os.PathLike[str], only: Iterable[str] | None = None,
                prefixes: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Load the arrays of an ``.npz`` written by :func:`save_arrays` (never unpickles):
    all of them, the names in ``only``, or those starting with one of ``prefixes`` (and
    ``num_words``). The others are not read."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        names = data.files if only is None else only
        if prefixes is not None:
            names = [name for name in names
                     if name == "num_words" or name.startswith(tuple(prefixes))]
        return {name: data[name] for name in names}
