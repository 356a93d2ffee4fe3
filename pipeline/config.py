"""Configuration: where artifacts live, and the experiment defaults from luigi.cfg.

Every parameter that changes a result is declared on the tasks (so it is part of
their ids), but its default lives in one place, the ``[experiment]`` section of
``luigi.cfg``. Luigi itself only looks up ``[TaskName]`` sections, which would force
the same default to be repeated for every task that carries the parameter; reading
``[experiment]`` once, when the tasks are defined, keeps one source of truth and
still lets ``[TaskName]`` sections and the command line override it.

A dataset may bring defaults of its own (Reuters trains 64-unit layers and holds out
1,000 newswires, where IMDB takes 16 and 10,000): ``DEFAULTS`` in its module, which
``[experiment.<dataset>]`` in luigi.cfg overrides; so may a model (the sequence models
train 10 epochs of batch 32, the notebook's settings, where the multi-hot model takes 20
of 512): ``DEFAULTS`` in its module, overridden by ``[experiment.<model>]``. They come
before ``[experiment]``, the more specific before the general: the dataset's, then the
model's, then ``[experiment]``. Which dataset and model a task is built for is known
only while its parameters are resolved: :func:`chosen_defaults` sets them for that
moment.
"""
import contextlib
import contextvars

import luigi
from luigi.configuration import get_config
from luigi.parameter import _no_value

from .errors import PipelineError

EXPERIMENT_SECTION = "experiment"
_CHOSEN = contextvars.ContextVar("chosen", default=())


@contextlib.contextmanager
def chosen_defaults(dataset, model=None):
    """While inside, parameter defaults are those of ``dataset`` and ``model`` (see the
    module doc)."""
    token = _CHOSEN.set(tuple(
        (kind, name) for kind, name in (("dataset", dataset), ("model", model)) if name))
    try:
        yield
    finally:
        _CHOSEN.reset(token)


def has_own_defaults(dataset, model=None):
    """Whether ``dataset`` or ``model`` brings defaults (``DEFAULTS`` in its module or its
    luigi.cfg section): if not, parameters resolve as without :func:`chosen_defaults`."""
    config = get_config()
    return any(_module_defaults(kind, name) or config.has_section(own_section(name))
               for kind, name in (("dataset", dataset), ("model", model)) if name)


def own_section(name):
    """The luigi.cfg section of a dataset's or model's own defaults."""
    return f"{EXPERIMENT_SECTION}.{name}"


class pipeline(luigi.Config):  # noqa: N801 - the name is the luigi.cfg section
    """``[pipeline]`` in luigi.cfg, or ``--pipeline-data-dir`` on the command line."""

    data_dir = luigi.Parameter(
        default="data", description="Folder that holds every artifact of every task"
    )


def experiment_default(param_cls, name, fallback, **kwargs):
    """A ``param_cls`` parameter whose default is ``[experiment] name`` in luigi.cfg.

    Looked up as Luigi looks up its own defaults: when a task is built, after the
    command line and the task's ``[TaskName]`` section. ``fallback`` (the book's value)
    applies when luigi.cfg does not set it, e.g. when the pipeline runs from another
    directory. A value that does not parse (``--epochs abc``, or ``epochs = abc`` in
    luigi.cfg) raises :class:`PipelineError` naming the parameter and where the value
    came from, which is reported in one line instead of Luigi's traceback.
    """
    return _checked_parameter_class(param_cls)(name=name, fallback=fallback, **kwargs)


_CHECKED = {}


def _checked_parameter_class(param_cls):
    if param_cls not in _CHECKED:
        kind = {"IntParameter": "an integer", "FloatParameter": "a number",
                "UnitsParameter": "an integer, or one integer per layer (64,4)"}.get(
            param_cls.__name__, "valid")

        class Checked(param_cls):
            def __init__(self, *, name, fallback, **kwargs):
                super().__init__(**kwargs)  # no default: _value_iterator supplies it
                self._name = name
                self._fallback = fallback

            def parse(self, x):
                try:
                    return super().parse(x)
                except ValueError:
                    raise PipelineError(f"{self._name} must be {kind}, got {x!r}") from None

            def _value_iterator(self, task_name, param_name):
                yield from super()._value_iterator(task_name, param_name)
                yield from self._configured()

            def _configured(self):
                for kind, chosen in _CHOSEN.get():
                    yield from self._from_file(own_section(chosen))
                    own = _module_defaults(kind, chosen)
                    if self._name in own:
                        yield self.normalize(own[self._name]), None
                yield from self._from_file(EXPERIMENT_SECTION)
                yield self._fallback, None

            def _from_file(self, section):
                raw = get_config().get(section, self._name, None)
                if raw is not None:
                    try:
                        yield self.parse(raw), None
                    except PipelineError as exc:
                        raise PipelineError(f"[{section}] in luigi.cfg: {exc}") from None

            def configured_default(self, task_name, param_name):
                """The value without the command line: ``[TaskName]``, ``[experiment]``
                or the fallback. A value other than this one was given explicitly."""
                value = self._get_value_from_config(task_name, param_name)
                return value if value is not _no_value else next(self._configured())[0]

        Checked.__name__ = Checked.__qualname__ = f"Checked{param_cls.__name__}"
        _CHECKED[param_cls] = Checked
    return _CHECKED[param_cls]


def _module_defaults(kind, name):
    from . import datasets, models

    try:
        return getattr({"dataset": datasets, "model": models}[kind].get(name), "DEFAULTS", {})
    except PipelineError:
        return {}  # an unknown name is reported by the task's own check
