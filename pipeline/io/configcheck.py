"""Configuration files are checked before Luigi reads them.

Luigi parses ``luigi.cfg`` (and ``/etc/luigi/luigi.cfg``, ``client.cfg``,
``$LUIGI_CONFIG_PATH``) when it is first imported; a file that is not UTF-8, not INI,
huge or a special file then ends in a traceback. This module imports no Luigi, so
``python -m pipeline`` and ``text-classifier`` can check those files first and stop
with one line naming the file. (Plain ``luigi --module pipeline`` imports Luigi before
any of our code runs: it keeps Luigi's own traceback for such a file.)
"""
from __future__ import annotations

import configparser
import os
import sys
from pathlib import Path

#: A configuration file is a few hundred lines (the project's: 3 KB).
MAX_CONFIG_BYTES = 1 << 20
#: What Luigi reads, in its order (luigi.configuration.cfg_parser).
LUIGI_PATHS = ("/etc/luigi/client.cfg", "/etc/luigi/luigi.cfg", "client.cfg", "luigi.cfg")


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names it."""


def read_text_file(path: str | os.PathLike[str], shown: str, limit: int, what: str) -> str:
    """The text of a small UTF-8 file a user gave (a configuration, a variants file);
    :class:`ConfigError` naming it (``shown``) when it is not a regular file, cannot be
    read, is larger than ``limit`` bytes (then it is not ``what``) or is not UTF-8."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{shown}: not a regular file" if path.exists() else
                          f"{shown}: no such file")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > limit:
        raise ConfigError(f"{shown}: larger than {limit:,} bytes, not {what}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: not UTF-8 text (byte {exc.start}); save it as "
                          f"UTF-8") from None


def check_config(path: str | os.PathLike[str], shown: str | None = None) -> None:
    """Raise :class:`ConfigError` unless ``path`` is a regular UTF-8 INI file of at most
    :data:`MAX_CONFIG_BYTES`."""
    shown = shown or str(path)
    text = read_text_file(path, shown, MAX_CONFIG_BYTES, "a configuration file")
    try:
        configparser.ConfigParser(interpolation=None, strict=False).read_string(
            text, source=str(path))
    except configparser.Error as exc:
        raise ConfigError(f"{shown}: not a valid configuration file "
                          f"({' '.join(str(exc).split())})") from None


def check_luigi_configs() -> None:
    """Check every configuration file Luigi is about to read; exit with one line (code 2)
    naming the first bad one."""
    if os.environ.get("LUIGI_CONFIG_PARSER", "cfg") != "cfg":
        return
    paths = list(LUIGI_PATHS)
    named = os.environ.get("LUIGI_CONFIG_PATH", "")
    if named:
        paths.append(named)
    for path in paths:
        # Luigi skips a $LUIGI_CONFIG_PATH that names no file with a warning, and runs
        # with other settings and another data folder than the user meant
        if os.path.lexists(path) or path == named:
            try:
                check_config(path, f"$LUIGI_CONFIG_PATH names {path}" if path == named
                             else None)
            except ConfigError as exc:
                program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
                if not program or program.startswith("-"):  # python -m pipeline
                    program = "pipeline"
                print(f"{program}: {exc}", file=sys.stderr)
                raise SystemExit(2) from None
