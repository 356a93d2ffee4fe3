"""The settings the pipeline needs from Luigi, supplied by the package; where its data goes.

Luigi reads its configuration from ``/etc/luigi/luigi.cfg``, ``./luigi.cfg`` (in the
folder a command runs in) and ``$LUIGI_CONFIG_PATH``. The pipeline needs some settings
whatever folder it runs in and whether or not such a file exists (without ``[retcode]``
Luigi exits 0 when a task fails). :func:`apply_defaults` puts :data:`DEFAULTS` into
Luigi's configuration (``luigi.configuration.get_config()``) where no file sets them;
it runs when :mod:`pipeline.tasks` is imported, that is before Luigi reads them, for
``luigi --module pipeline``, ``python -m pipeline``, ``text-classifier`` and Python
callers alike. A value in a configuration file or on the command line wins.

The data folder (:func:`data_folder`), absolute:

1. ``--pipeline-data-dir`` on the command line (relative: to the current folder);
2. ``[pipeline] data_dir`` of a configuration file (relative: to that file's folder,
   so a project's ``data_dir = data`` means the same folder from anywhere), or set
   from Python (``luigi.configuration.get_config().set``; relative: to the current
   folder);
3. else :func:`default_data_folder`: ``$XDG_DATA_HOME/text-classifier``, by default
   ``~/.local/share/text-classifier``: one folder per user, the same from every folder,
   never a ``data/`` appearing wherever a command happens to run.
"""
from __future__ import annotations

import configparser
import os
from functools import lru_cache
from pathlib import Path

from luigi.cmdline_parser import CmdlineParser
from luigi.configuration import add_config_path, get_config

from ..errors import PipelineError
from ..io.configcheck import LUIGI_PATHS, ConfigError, check_config
from .parameters import memo, settings_state

#: Environment variable naming Luigi's log level for every run (``DEBUG`` shows all that
#: Luigi, TensorFlow and Keras print); the command line's ``--log-level`` wins.
LOG_LEVEL_ENV = "TEXT_CLASSIFIER_LOG_LEVEL"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "NOTSET")
CONFIG_ENV = "LUIGI_CONFIG_PATH"
APP = "text-classifier"

#: What the pipeline needs, where no configuration file sets it (section -> key -> value).
DEFAULTS: dict[str, dict[str, str]] = {
    "core": {
        # Luigi's default, DEBUG, buries the result; see pipeline.tasks.console
        "log_level": "INFO",
        # Luigi 3.x warns unless this is set; the pipeline defines no range tasks
        "autoload_range": "false",
        # the central scheduler (luigid) when --local-scheduler is not given
        "scheduler_host": "127.0.0.1",
        "scheduler_port": "8082",
        # an unreachable luigid: give up after 3 attempts 1 s apart (Luigi's default is
        # 3 attempts 30 s apart) and say so in one line (pipeline.tasks.remote)
        "rpc_retry_attempts": "3",
        "rpc_retry_wait": "1",
        "rpc_log_retries": "false",
    },
    # a task whose run() returns without writing its outputs is a failure
    "worker": {"check_complete_on_run": "true"},
    # at most this many TrainModel/EvaluateTest fits at once (per scheduler)
    "resources": {"training": "2"},
    # without these Luigi exits 0 when a task fails
    "retcode": {
        "already_running": "10",
        "missing_data": "20",
        "not_run": "25",
        "task_failed": "30",
        "scheduling_error": "35",
        "unhandled_exception": "40",
    },
}

#: Configuration files added through :func:`use_config` (``text-classifier --config``,
#: ``pipeline.api.run(config=...)``), in the order Luigi reads them.
_ADDED: list[str] = []


def apply_defaults() -> None:
    """Set :data:`DEFAULTS` in Luigi's configuration where nothing sets them (idempotent;
    a file read later, ``luigi.configuration.add_config_path``, still overrides them).
    ``$TEXT_CLASSIFIER_LOG_LEVEL`` sets ``[core] log_level`` whatever the files say."""
    config = get_config()
    for section, values in DEFAULTS.items():
        for key, value in values.items():
            if not config.has_option(section, key):
                _set(section, key, value)
    level = os.environ.get(LOG_LEVEL_ENV, "").strip().upper()
    if level in LOG_LEVELS:
        _set("core", "log_level", level)


def _set(section: str, key: str, value: str) -> None:
    config = get_config()
    if not config.has_section(section):
        config.add_section(section)
    config.set(section, key, value)


def use_config(path: str | os.PathLike[str], shown: str | None = None) -> Path:
    """Read one more configuration file (its values win over those read before); one
    line naming it when it is missing or not a configuration file."""
    config = Path(path).expanduser().absolute()
    try:
        check_config(config, shown or str(path))
    except ConfigError as exc:
        raise PipelineError(str(exc)) from None
    if str(config) not in _ADDED:
        _ADDED.append(str(config))
    add_config_path(str(config))
    apply_defaults()
    return config


def config_files() -> list[Path]:
    """The configuration files Luigi read, in its order (later ones win), absolute."""
    candidates = [*LUIGI_PATHS]
    if os.environ.get(CONFIG_ENV):
        candidates.append(os.environ[CONFIG_ENV])
    candidates += _ADDED
    found: list[Path] = []
    for candidate in candidates:
        path = Path(candidate).expanduser().absolute()
        if path.is_file() and path not in found:
            found.append(path)
    return found


def default_data_folder() -> Path:
    """The data folder when nothing sets one: ``$XDG_DATA_HOME/text-classifier``, else
    ``~/.local/share/text-classifier``."""
    base = os.environ.get("XDG_DATA_HOME", "").strip()
    root = Path(base).expanduser() if base and Path(base).expanduser().is_absolute() \
        else Path.home() / ".local" / "share"
    return root / APP


def data_dir_origin() -> tuple[str | None, Path | None]:
    """``(value, file)``: the raw ``data_dir`` setting and the configuration file that
    sets it (None: the command line or Python; ``(None, None)``: nothing sets it)."""
    parser = CmdlineParser.get_instance()
    given = getattr(getattr(parser, "known_args", None), "pipeline_data_dir", None)
    if given:
        return str(given), None
    config = get_config()
    if not config.has_option("pipeline", "data_dir"):
        return None, None
    raw = str(config.get("pipeline", "data_dir", raw=True))
    if not raw.strip():
        raise PipelineError("[pipeline] data_dir is empty: give the folder for the "
                            "pipeline's outputs (data_dir = data under [pipeline] in "
                            "luigi.cfg, or --pipeline-data-dir PATH), or remove the line "
                            "for the default folder")
    files = tuple((str(path), _mtime(path)) for path in config_files())
    return str(config.get("pipeline", "data_dir")), _setting_file(raw, files)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


@lru_cache(maxsize=64)
def _setting_file(raw: str, files: tuple[tuple[str, int], ...]) -> Path | None:
    """The last of ``files`` whose ``[pipeline] data_dir`` is ``raw`` (None: none, the
    value was set from Python)."""
    found = None
    for name, _ in files:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read(name, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        if parser.has_option("pipeline", "data_dir"):
            found = Path(name) if parser.get("pipeline", "data_dir") == raw else None
    return found


def data_folder() -> Path:
    """The data folder of this run, absolute (the order in the module's doc); found once
    per settings and current folder (every task's output folder asks for it)."""
    key = ("data folder", settings_state(), os.getcwd(), os.environ.get("XDG_DATA_HOME"),
           os.environ.get("HOME"))
    return Path(memo(key, _data_folder))


def _data_folder() -> Path:
    value, file = data_dir_origin()
    if value is None:
        return default_data_folder()
    folder = Path(value.strip()).expanduser()
    if not folder.is_absolute():
        folder = (file.parent if file is not None else Path.cwd()) / folder
    return Path(os.path.normpath(folder.absolute()))


def describe_setup() -> str:
    """One line: the configuration files read (or the built-in defaults) and the data
    folder, as every run prints it on standard error."""
    files = config_files()
    shown = ", ".join(map(str, files)) if files else "built-in defaults"
    if len(files) > 1:
        shown += " (later files win)"
    value, _ = data_dir_origin()
    default = " (the default: no configuration sets [pipeline] data_dir)" if value is None \
        else ""
    return f"configuration: {shown}; data folder: {data_folder()}{default}"


apply_defaults()
