"""Configuration: where artifacts live, and the experiment defaults from luigi.cfg.

Every parameter that changes a result is declared on the tasks (so it is part of
their ids), but its default lives in one place, the ``[experiment]`` section of
``luigi.cfg``. Luigi itself only looks up ``[TaskName]`` sections, which would force
the same default to be repeated for every task that carries the parameter; reading
``[experiment]`` once, when the tasks are defined, keeps one source of truth and
still lets ``[TaskName]`` sections and the command line override it.
"""
import luigi
from luigi.configuration import get_config

from .errors import PipelineError

EXPERIMENT_SECTION = "experiment"


class pipeline(luigi.Config):  # noqa: N801 - the name is the luigi.cfg section
    """``[pipeline]`` in luigi.cfg, or ``--pipeline-data-dir`` on the command line."""

    data_dir = luigi.Parameter(
        default="data", description="Folder that holds every artifact of every task"
    )


def experiment_default(param_cls, name, fallback, **kwargs):
    """A ``param_cls`` parameter whose default is ``[experiment] name`` in luigi.cfg.

    ``fallback`` (the book's value) applies when luigi.cfg does not set it, e.g.
    when the pipeline runs from another directory. A value that does not parse
    (``--epochs abc``) raises :class:`PipelineError` naming the parameter, which is
    reported in one line instead of Luigi's traceback.
    """
    checked = _checked_parameter_class(param_cls)
    raw = get_config().get(EXPERIMENT_SECTION, name, None)
    default = fallback if raw is None else checked(name=name).parse(raw)
    return checked(default=default, name=name, **kwargs)


_CHECKED = {}


def _checked_parameter_class(param_cls):
    if param_cls not in _CHECKED:
        kind = {"IntParameter": "an integer", "FloatParameter": "a number"}.get(
            param_cls.__name__, "valid")

        class Checked(param_cls):
            def __init__(self, *args, name=None, **kwargs):
                super().__init__(*args, **kwargs)
                self._name = name

            def parse(self, x):
                try:
                    return super().parse(x)
                except ValueError:
                    raise PipelineError(f"{self._name} must be {kind}, got {x!r}") from None

        Checked.__name__ = Checked.__qualname__ = f"Checked{param_cls.__name__}"
        _CHECKED[param_cls] = Checked
    return _CHECKED[param_cls]
