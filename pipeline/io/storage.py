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
import math
import os
import secrets
import shutil
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import PipelineError

if TYPE_CHECKING:
    import numpy as np

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


# ------------------------------------------------------------- reading outputs back

#: The largest JSON output read back (the vocabulary of 2,000,000 words: about 50 MB).
MAX_JSON_BYTES = 128 << 20
#: The largest CSV output read back (a history of 1,000 epochs is about 100 KB).
MAX_CSV_BYTES = 64 << 20


class DamagedFileError(PipelineError):
    """A file of a finished stage that is missing, truncated, of the wrong shape or
    holds values it cannot hold; the message names it and says what to do."""


def damaged(path: str | os.PathLike[str], problem: str) -> DamagedFileError:
    """The one-line error for an output file: what is wrong, and how to get it again
    (delete its stage's folder; ``python -m pipeline.forget <Stage>`` does so with the
    stages after it)."""
    path = Path(path)
    folder, stage = path.parent, path.parent.parent.name
    return DamagedFileError(f"{path}: {problem}; it was changed or damaged after {stage} wrote "
                       f"it: delete {folder} (or run python -m pipeline.forget {stage} with "
                       f"the same parameters) and run again")


def _bounded_bytes(path: Path, limit: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise damaged(path, "missing") from None
    except OSError as exc:
        raise damaged(path, f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise damaged(path, f"larger than {limit:,} bytes")
    return data


#: ``{key: (check, what it must be)}``: the shape a JSON output must have.
Shape = Mapping[str, tuple[Callable[[Any], bool], str]]


def is_count(value: Any) -> bool:
    return type(value) is int and value >= 0


def is_number(value: Any) -> bool:
    """A number, NaN included (a diverged training's loss is written as NaN)."""
    return type(value) in (int, float)


def is_finite(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def is_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def read_json(path: str | os.PathLike[str], shape: Shape | None = None,
              limit: int = MAX_JSON_BYTES) -> Any:
    """A JSON output, read back checked: at most ``limit`` bytes, UTF-8, valid, and an
    object with at least the keys of ``shape``, each passing its check; else a
    :class:`DamagedFileError` naming the file and what to do."""
    path = Path(path)
    data = _bounded_bytes(path, limit)
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise damaged(path, f"not valid JSON ({exc})") from None
    except RecursionError:
        raise damaged(path, "JSON nested too deeply") from None
    if shape is not None:
        if not isinstance(value, dict):
            raise damaged(path, f"a JSON {type(value).__name__} where an object is expected")
        for key, (check, what) in shape.items():
            if key not in value:
                raise damaged(path, f"no {key!r}")
            if not check(value[key]):
                raise damaged(path, f"{key!r} must be {what}, got {str(value[key])[:60]!r}")
    return value


def read_csv_columns(path: str | os.PathLike[str], required: Iterable[str] = ()
                     ) -> dict[str, list[float]]:
    """A small numeric CSV as ``{column: [float, ...]}`` (no pandas import needed),
    checked: every cell a number, the ``required`` columns present, at least one row.

    Empty cells (pandas writes NaN so, e.g. the loss of a diverged epoch) read as NaN.
    """
    path = Path(path)
    text = _bounded_bytes(path, MAX_CSV_BYTES).decode("utf-8", errors="replace")
    try:
        rows = list(csv.DictReader(text.splitlines()))
        columns = {column: [float(row[column] or "nan") for row in rows]
                   for column in (rows[0] if rows else {})}
    except (csv.Error, ValueError, TypeError) as exc:
        raise damaged(path, f"not a table of numbers ({exc})") from None
    missing = [column for column in required if column not in columns]
    if required and (not rows or missing):
        raise damaged(path, f"no column {missing[0]!r}" if rows else "no rows")
    return columns


def save_arrays(path: str | os.PathLike[str], **arrays: Any) -> None:
    """Save numpy arrays uncompressed (fast to write and to read back)."""
    import numpy as np

    with open(path, "wb") as handle:  # an open file keeps np.savez from renaming it
        np.savez(handle, **arrays)


def load_arrays(path: str | os.PathLike[str], only: Iterable[str] | None = None,
                prefixes: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Load the arrays of an ``.npz`` written by :func:`save_arrays` (never unpickles):
    all of them, the names in ``only``, or those starting with one of ``prefixes`` (and
    ``num_words``). The others are not read. Each array's header must declare exactly
    the bytes its member holds (numpy would allocate what a header declares before
    reading); a missing, truncated or edited file is a :class:`DamagedFileError`."""
    import zipfile
    import zlib

    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise damaged(path, "missing")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {info.filename[:-4]: info for info in archive.infolist()
                     if info.filename.endswith(".npy")}
            names = list(infos) if only is None else list(only)
            if prefixes is not None:
                names = [name for name in names
                         if name == "num_words" or name.startswith(tuple(prefixes))]
            arrays = {}
            for name in names:
                if name not in infos:
                    raise damaged(path, f"no array {name!r}")
                with archive.open(infos[name]) as member:
                    version = np.lib.format.read_magic(member)
                    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                        else np.lib.format.read_array_header_2_0
                    shape, _, dtype = read_header(member)
                    declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                    if dtype.hasobject or declared != infos[name].file_size - member.tell():
                        raise damaged(path, f"array {name!r}: its header declares "
                                            f"{declared:,} bytes, the file holds "
                                            f"{infos[name].file_size - member.tell():,}")
                    member.seek(0)
                    arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
    except DamagedFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as exc:
        raise damaged(path, f"not a readable .npz file ({exc})") from None
    return arrays
