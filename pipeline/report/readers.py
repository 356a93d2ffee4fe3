"""Tolerant readers of the files tasks leave in a data folder.

A report reads folders that people edit, copy and half-delete by hand. Each reader here
returns the file's content, or None with one line in ``notes`` saying which file is
wrong and how (missing, too large, not UTF-8, not JSON, not the expected shape); it
never raises for a damaged file. Every file a report reads goes through this module,
so that the checks live in one place.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from stat import S_ISREG
from typing import Any

#: The largest file read (the biggest metrics.json, 46 Reuters topics, is ~30 KB).
MAX_BYTES = 16 << 20

Notes = list[str]


class Reader:
    """Reads files below ``root``, notes what is wrong, and hashes what it read.

    ``digest()`` covers the relative path and content of every file read (and the
    absence of those that were missing), so two reads of an unchanged folder give the
    same digest and any change to what was read gives another.
    """

    def __init__(self, root: Path, notes: Notes | None = None) -> None:
        self.root = Path(root)
        self.notes: Notes = [] if notes is None else notes
        self.times: dict[Path, float] = {}
        self._hash = hashlib.sha256()

    def shown(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def _record(self, path: Path, data: bytes | None) -> None:
        self._hash.update(self.shown(path).encode("utf-8", "surrogateescape") + b"\0")
        self._hash.update(b"-" if data is None else hashlib.sha256(data).digest())

    def digest(self) -> str:
        return self._hash.hexdigest()

    def mark(self, text: str) -> None:
        """Count ``text`` in the digest (what was found besides files' content)."""
        self._hash.update(text.encode("utf-8", "surrogateescape") + b"\n")

    def note(self, path: Path, problem: str) -> None:
        self.notes.append(f"{self.shown(path)}: {problem}")

    def raw(self, path: Path, required: bool = True) -> bytes | None:
        """The file's bytes; None (noted when ``required``) if it is missing, not a
        regular file, unreadable or larger than :data:`MAX_BYTES`. Its modification time
        is kept in :attr:`times`."""
        try:
            with open(path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                if not S_ISREG(stat.st_mode):
                    problem = "not a file"
                elif stat.st_size > MAX_BYTES:
                    problem = (f"{stat.st_size:,} bytes, more than the {MAX_BYTES:,} a report "
                               f"reads; not read")
                else:
                    data = handle.read()
                    self.times[path] = stat.st_mtime
                    self._record(path, data)
                    return data
        except FileNotFoundError:
            problem = "missing"
        except IsADirectoryError:
            problem = "not a file"
        except OSError as exc:
            problem = f"cannot be read ({exc.strerror or exc})"
        self._record(path, None)
        if required or problem not in ("missing", "not a file"):
            self.note(path, problem)
        return None

    def text(self, path: Path, required: bool = True) -> str | None:
        data = self.raw(path, required)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.note(path, "not UTF-8 text; not read")
            return None

    def json_object(self, path: Path, required: bool = True) -> dict[str, Any] | None:
        """A JSON file holding an object (``{...}``), else None and a note."""
        text = self.text(path, required)
        if text is None:
            return None
        try:
            value = json.loads(text)
        except RecursionError:
            self.note(path, "nested too deeply; not read")
            return None
        except ValueError as exc:
            self.note(path, f"not valid JSON ({one_line(exc)}); not read")
            return None
        if not isinstance(value, dict):
            self.note(path, f"holds a JSON {type(value).__name__}, not an object; not read")
            return None
        return value

    def csv_rows(self, path: Path, required: bool = True) -> list[dict[str, str]] | None:
        """The rows of a CSV file with a header, as ``{column: text}``."""
        text = self.text(path, required)
        if text is None:
            return None
        try:
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            self.note(path, f"not a valid CSV file ({one_line(exc)}); not read")
            return None
        return [{str(key): "" if value is None else str(value)
                 for key, value in row.items() if key is not None} for row in rows]

    def history(self, path: Path, required: bool = True) -> dict[str, list[float]] | None:
        """TrainModel's history.csv as ``{column: [float, ...]}`` (blank cells are NaN);
        None and a note when it has no ``epoch`` column or a cell is not a number."""
        rows = self.csv_rows(path, required)
        if rows is None:
            return None
        if not rows or "epoch" not in rows[0]:
            self.note(path, "has no epochs (an 'epoch' column and one row per epoch); "
                            "not read")
            return None
        columns: dict[str, list[float]] = {}
        for name in rows[0]:
            try:
                columns[name] = [float(row.get(name) or "nan") for row in rows]
            except ValueError:
                line = next(number for number, row in enumerate(rows, start=2)
                            if number_or_none(row.get(name) or "nan") is None)
                self.note(path, f"line {line}: {name} is not a number; not read")
                return None
        return columns


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def number_or_none(value: Any) -> float | None:
    """``value`` as a float (NaN and infinities kept), None when it is not a number
    (booleans are not numbers here)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def finite_or_none(value: Any) -> float | None:
    number = number_or_none(value)
    return number if number is not None and math.isfinite(number) else None


def field(data: dict[str, Any], name: str, check: Callable[[Any], bool],
          reader: Reader, path: Path, what: str) -> Any:
    """``data[name]`` when ``check`` accepts it; else None, noted when it is present."""
    if name not in data:
        return None
    value = data[name]
    if check(value):
        return value
    reader.note(path, f"{name} is {short(value)}, not {what}; left out")
    return None


def short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
