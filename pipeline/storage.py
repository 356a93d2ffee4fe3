"""Atomic writes: nothing half-written may look complete.

Each task writes its files into a hidden staging folder next to its final output
folder and renames the folder into place when everything is written, so an output
folder either holds all of a task's files or does not exist. Single files (the
downloaded archive) go through a temporary name with the same suffix and
``os.replace``.
"""
import contextlib
import csv
import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

_STAGING_MARK = ".staging-"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_staging(final):
    """Remove staging folders of ``final`` left by killed processes on this host."""
    prefix = f".{final.name}{_STAGING_MARK}{socket.gethostname()}-"
    for leftover in final.parent.glob(prefix + "*"):
        try:
            pid = int(leftover.name[len(prefix):].split(".", 1)[0])
        except ValueError:
            continue
        if not _pid_alive(pid):
            shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def staged_dir(final):
    """Yield an empty staging folder; on success it becomes ``final`` atomically.

    On an exception the staging folder is removed and ``final`` is left as it was.
    A previous ``final`` (a forced rerun) is replaced only once the new one is
    complete.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(final)
    staging = Path(tempfile.mkdtemp(
        prefix=f".{final.name}{_STAGING_MARK}{socket.gethostname()}-{os.getpid()}.",
        dir=final.parent))
    try:
        yield staging
        _fsync_tree(staging)
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
            os.replace(staging, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, final)
        _fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_path(final):
    """Yield a temporary path with ``final``'s suffix; it replaces ``final`` on success."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".part{final.suffix}",
                               dir=final.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        _fsync_dir(final.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root):
    for path in Path(root).rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def write_json(path, obj):
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_csv_columns(path):
    """A small numeric CSV as ``{column: [float, ...]}`` (no pandas import needed).

    Empty cells (pandas writes NaN so, e.g. the loss of a diverged epoch) read as NaN.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return {}
    return {column: [float(row[column] or "nan") for row in rows] for column in rows[0]}


def save_arrays(path, **arrays):
    """Save numpy arrays uncompressed (fast to write and to read back)."""
    import numpy as np

    with open(path, "wb") as handle:  # an open file keeps np.savez from renaming it
        np.savez(handle, **arrays)


def load_arrays(path):
    """Load every array of an ``.npz`` written by :func:`save_arrays` (never unpickles)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
