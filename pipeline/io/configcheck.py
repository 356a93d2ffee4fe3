"""Configuration files are checked before Luigi reads them.

Luigi parses ``luigi.cfg`` (and ``/etc/luigi/luigi.cfg``, ``client.cfg``,
``$LUIGI_CONFIG_PATH``) when it is first imported; a file that is not UTF-8, not INI,
huge or a special file then ends in a traceback. This module imports no Luigi, so
``python -m pipeline`` and ``text-classifier`` can check those files first and stop
with one line naming the file. (Plain ``luigi --module pipeline`` imports Luigi before
any of our code runs: it keeps Luigi's own traceback for a file it cannot parse; values
that would expand out of bounds, and a ``$LUIGI_CONFIG_PATH`` Luigi would ignore, are
still found when it imports the pipeline, before any value is read.)
"""
from __future__ import annotations

import configparser
import os
import re
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


_REFERENCE = re.compile(r"%\(([^)]*)\)s|%%|%|\$\{([^}]*)\}")


def check_values(parser: configparser.RawConfigParser, shown: str) -> None:
    """Every value of ``parser`` must expand as Luigi expands it (``%(name)s`` from the
    same section or ``[DEFAULT]``, at most 10 levels deep; ``%%``; ``${VAR}`` from the
    environment) to at most :data:`MAX_CONFIG_BYTES`: computed from the references alone,
    in time linear in the file, before anything is expanded (ten levels of values that
    each name the one below twice are a kilobyte that expands to a gigabyte)."""
    sizes: dict[tuple[str, str], int] = {}

    def size(section: str, option: str, depth: int) -> int:
        key = (section, option)
        if key in sizes:
            return sizes[key]
        if depth > configparser.MAX_INTERPOLATION_DEPTH:
            raise ConfigError(f"{shown}: [{section}] {option}: %(...)s references nested "
                              f"more than {configparser.MAX_INTERPOLATION_DEPTH} deep, or in "
                              f"a loop")
        raw = parser.get(section, option, raw=True, fallback="") or ""
        total, position = 0, 0
        for match in _REFERENCE.finditer(raw):
            total += match.start() - position
            position = match.end()
            token = match[0]
            if token == "%%":
                total += 1
            elif token == "%":
                raise ConfigError(f"{shown}: [{section}] {option}: a '%' must be written "
                                  f"'%%' (or start a %(name)s reference)")
            elif match[2] is not None:
                if match[2] not in os.environ:
                    raise ConfigError(f"{shown}: [{section}] {option}: ${{{match[2]}}} names "
                                      f"an environment variable that is not set")
                total += len(os.environ[match[2]])
            else:
                name = parser.optionxform(match[1])
                if not parser.has_option(section, name):
                    raise ConfigError(f"{shown}: [{section}] {option}: %({match[1]})s names "
                                      f"no option of [{section}] or [DEFAULT]")
                total += size(section, name, depth + 1)
            if total > MAX_CONFIG_BYTES:
                raise ConfigError(f"{shown}: [{section}] {option} expands to more than "
                                  f"{MAX_CONFIG_BYTES:,} bytes (%(...)s references that "
                                  f"repeat each other): not a configuration value")
        sizes[key] = total + len(raw) - position
        return sizes[key]

    for section in parser.sections():
        for option in parser.options(section):
            size(section, option, 1)


def check_config(path: str | os.PathLike[str], shown: str | None = None) -> None:
    """Raise :class:`ConfigError` unless ``path`` is a regular UTF-8 INI file of at most
    :data:`MAX_CONFIG_BYTES` whose values expand as Luigi expands them, to at most as
    many bytes (:func:`check_values`)."""
    shown = shown or str(path)
    text = read_text_file(path, shown, MAX_CONFIG_BYTES, "a configuration file")
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # as Luigi's
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise ConfigError(f"{shown}: not a valid configuration file "
                          f"({' '.join(str(exc).split())})") from None
    check_values(parser, shown)


def config_path_from_environment() -> Path | None:
    """The file ``$LUIGI_CONFIG_PATH`` names (Luigi reads exactly one), or None when it
    is not set; :class:`ConfigError` for a value Luigi would silently ignore (no such
    file, or several paths joined like ``a.cfg:b.cfg``)."""
    value = os.environ.get("LUIGI_CONFIG_PATH", "")
    if not value:
        return None
    path = Path(value).expanduser()
    if os.path.lexists(value) or os.pathsep not in value:
        if not path.exists():
            raise ConfigError(f"$LUIGI_CONFIG_PATH names {value}: no such file (Luigi would "
                              f"run without it)")
        return path
    parts = value.split(os.pathsep)
    raise ConfigError(f"$LUIGI_CONFIG_PATH is {value!r}: Luigi reads one file from it, not "
                      f"a list ({len(parts)} paths joined by {os.pathsep!r}), and would read "
                      f"none of them; give one file (put shared settings in ./luigi.cfg), "
                      f"or use --config")


def check_luigi_configs() -> None:
    """Check every configuration file Luigi is about to read; exit with one line (code 2)
    naming the first bad one."""
    if os.environ.get("LUIGI_CONFIG_PARSER", "cfg") != "cfg":
        return
    try:
        paths: list[str | Path] = list(LUIGI_PATHS)
        from_environment = config_path_from_environment()
        if from_environment is not None:
            paths.append(from_environment)
        for path in paths:
            if os.path.lexists(path):
                check_config(path, f"$LUIGI_CONFIG_PATH names {path}"
                             if path == from_environment else None)
    except ConfigError as exc:
        program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
        if not program or program.startswith("-"):  # python -m pipeline
            program = "pipeline"
        print(f"{program}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
