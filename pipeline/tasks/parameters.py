"""The one parameter rule: a task holds exactly the parameters it reads.

A task reads the parameters of its own stage of the chain (:attr:`Parameterized.always`)
and those of the plug-ins it chooses (:attr:`Parameterized.chooses`): its dataset's, its
representation's, its model's (the model's own, the training ones it uses and its
representation's). Its id, its repr and what luigid shows hold exactly those, because
Luigi builds all three from the values :meth:`Parameterized.get_param_values` returns.
A parameter the task could take but does not read with this choice, given at all (on
the command line, in the task's section of luigi.cfg, or from Python), is refused naming
both, even when its value is the default: ``--model mlp --maxlen 150`` is an error, not
a silent no-op.

Defaults of what is not given, most specific first, resolved once per task::

    [experiment.<dataset>] in luigi.cfg, then the dataset's own defaults,
    [experiment.<model>], then the model's own defaults,
    [experiment], then the declaration's default (pipeline.params).

Only Luigi's public API is used: :meth:`luigi.Task.get_params` lists every parameter a
task could take (so the command line knows them all), :meth:`luigi.Task.get_param_values`
keeps those it reads, and :meth:`luigi.Parameter.has_task_value` tells what was given on
the command line or in the task's section (declared parameters have no Luigi default).
"""
from __future__ import annotations

import contextlib
import contextvars
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, TypeVar

import luigi
from luigi.cmdline_parser import CmdlineParser
from luigi.configuration import get_config

from .. import datasets, features, models
from ..datasets import Dataset
from ..errors import PipelineError
from ..features import Representation
from ..ml.text import INDEX_FROM, MIN_NUM_WORDS
from ..ml.training import MAX_EPOCHS
from ..models import Model
from ..params import CATALOGUE, AutoOrInteger, Integer, Name, Param, Value, Values
from ..registry import Registry

V = TypeVar("V")

EXPERIMENT = "experiment"
#: More indices than any corpus has distinct words (IMDB: 89,527 in Keras's word index).
MAX_NUM_WORDS = 2_000_000
MAX_SEED = 2**32 - 1  # numpy's and TensorFlow's seeds are 32-bit

# ----------------------------------------------------------------- the chain's parameters

DATASET = Param("dataset", Name("dataset"), "aclimdb", "Which documents")
NUM_WORDS = Param(
    "num_words", Integer(MIN_NUM_WORDS, MAX_NUM_WORDS), 10000,
    "Size of the index space, as Keras's num_words: the num_words - 4 most frequent "
    "training words are kept (0 pad, 1 start, 2 unknown, 3 unused)",
    f"indices 0 to {INDEX_FROM} are reserved; no corpus here has more than 2,000,000 "
    f"distinct words, IMDB about 89,500")
VALIDATION_SIZE = Param("validation_size", Integer(minimum=1), 10000,
                        "Training documents held out for validation")
SEED = Param("seed", Integer(0, MAX_SEED), 0,
             "Seed of the validation shuffle, weight initialisation and batch order")
REPRESENTATION = Param("representation", Name("representation"), "multihot",
                       "How documents become model input (Featurize)")
MODEL = Param("model", Name("model"), "mlp", "Which model")
TRAIN_SIZE = Param("train_size", Integer(minimum=0), 0,
                   "Train on the first N training documents of the seeded split only "
                   "(nested subsets, for learning curves); 0 = all of them")
FINAL_EPOCHS = Param("final_epochs", AutoOrInteger(1, MAX_EPOCHS), "auto",
                     "Epochs of the final model trained on all training documents: auto = "
                     "the epoch with the lowest validation loss")
CHAIN = (DATASET, NUM_WORDS, VALIDATION_SIZE, SEED, REPRESENTATION, MODEL, TRAIN_SIZE,
         FINAL_EPOCHS)
for _param in CHAIN:
    CATALOGUE.declare("the chain", _param)

#: what each stage of the chain reads, besides its plug-ins' parameters
ENCODE = ("dataset", "num_words")
SPLIT = (*ENCODE, "validation_size", "seed")
FEATURES = (*ENCODE, "representation")
TRAIN = (*SPLIT, "model", "train_size")
FINAL = (*TRAIN, "final_epochs")


# --------------------------------------------------------------- Luigi's view of them

class Declared(luigi.Parameter):
    """A declared parameter as Luigi sees it: parsed, normalized and written by its
    declaration; no Luigi default (the rule resolves it)."""

    def __init__(self, param: Param) -> None:
        readers = ", ".join(CATALOGUE.owners.get(param.name, ()))
        super().__init__(description=f"{param.help}: {param.kind.describe()}; default "
                                     f"{param.serialize(param.default)}; read by {readers}")
        self.param = param

    def parse(self, x: Any) -> Any:
        return self.param.parse(x)

    def normalize(self, x: Any) -> Any:
        return _normalized(self, x)

    def serialize(self, x: Any) -> str:
        return self.param.serialize(x)


def _normalized(parameter: Declared | Own[Any], value: Any) -> Any:
    """``parameter.param.normalize(value)``, remembered by the Luigi parameter (Luigi
    normalizes every value of every task it builds, twice: a grid of 10,000 variants
    builds 20,000 tasks)."""
    cache = parameter.__dict__.setdefault("_normalized", {})
    try:
        key = (type(value), value)
        return cache[key]
    except KeyError:
        if len(cache) > 100_000:
            cache.clear()
        cache[key] = found = parameter.param.normalize(value)
        return found
    except TypeError:  # unhashable
        return parameter.param.normalize(value)


class Own(luigi.Parameter[V]):
    """A task's own parameter (a grid's seeds, an address, an input file), read by its
    declaration like the chain's: one parser for every door, a default of its own."""

    def __init__(self, param: Param, significant: bool = True, required: bool = False
                 ) -> None:
        shown = "required" if required else \
            f"default {param.serialize(param.default) or '(empty)'}"
        description = f"{param.help}: {param.kind.describe()}; {shown}"
        if required:
            super().__init__(significant=significant, description=description)
        else:
            super().__init__(default=param.default,  # type: ignore[arg-type]
                             significant=significant, description=description)
        self.param = param
        self.required = required

    def parse(self, x: Any) -> Any:
        return self.param.parse(x)

    def normalize(self, x: Any) -> Any:
        return _normalized(self, x)

    def serialize(self, x: Any) -> str:
        return self.param.serialize(x)


_LUIGI: dict[Param, Declared] = {}
_CANDIDATES: dict[tuple[type, int], list[str]] = {}


def luigi_parameter(name: str) -> Declared:
    """The Luigi parameter of the declared parameter ``name`` (one object per
    declaration)."""
    param = CATALOGUE.get(name)
    if param not in _LUIGI:
        _LUIGI[param] = Declared(param)
    return _LUIGI[param]


# ---------------------------------------------------------------------------- choices

@dataclass(frozen=True)
class Chosen:
    """The plug-ins a task was built for; the first model's defaults apply."""

    dataset: Dataset | None = None
    models: tuple[Model, ...] = ()
    representation: Representation | None = None

    @property
    def model(self) -> Model | None:
        return self.models[0] if self.models else None


_PINNED: contextvars.ContextVar[tuple[Any, ...] | None] = contextvars.ContextVar(
    "settings", default=None)


@contextlib.contextmanager
def pinned_settings() -> Iterator[None]:
    """Inside the block :func:`settings_state` is computed once (building a task, or a
    grid of 10,000: the settings do not change meanwhile)."""
    if _PINNED.get() is not None:
        yield
        return
    token = _PINNED.set(_settings_state())
    try:
        yield
    finally:
        _PINNED.reset(token)


def settings_state() -> tuple[Any, ...]:
    """What the values a task gets depend on besides its arguments: luigi.cfg's sections
    as they are now, and the command line being read (a key for the caches below; a
    test or a user who changes either gets fresh values)."""
    pinned = _PINNED.get()
    return pinned if pinned is not None else _settings_state()


_STATES: dict[tuple[Any, ...], tuple[int]] = {}
_STATE_NUMBERS = itertools.count()


def _settings_state() -> tuple[Any, ...]:
    config = get_config()
    parser = CmdlineParser.get_instance()
    command_line = None if parser is None else repr(sorted(vars(parser.known_args).items()))
    state = (id(config), tuple((section, tuple(config.items(section, raw=True)))
                               for section in config.sections()), command_line)
    # a short key for the caches (a long tuple is hashed again at every lookup)
    if state not in _STATES:
        if len(_STATES) > 10_000:
            _STATES.clear()
            _MEMO.clear()
        _STATES[state] = (next(_STATE_NUMBERS),)
    return _STATES[state]


#: Values computed from the settings, by (what, ..., settings_state()); cleared when big.
_MEMO: dict[tuple[Any, ...], Any] = {}
_MEMO_LIMIT = 500_000


def memo(key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
    """``compute()``, kept under ``key`` (which must hold whatever it depends on)."""
    if key not in _MEMO:
        if len(_MEMO) > _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[key] = compute()
    return _MEMO[key]


def default(name: str, chosen: Chosen, state: tuple[Any, ...] | None = None) -> Value:
    """The default of ``name`` for these plug-ins (the order in the module doc)."""
    if state is not None:
        return memo(("default", name, chosen.dataset and chosen.dataset.name,
                      chosen.model and chosen.model.name, CATALOGUE.version, state),
                     lambda: default(name, chosen))
    param = CATALOGUE.get(name)
    config = get_config()
    for plugin in (chosen.dataset, chosen.model):
        if plugin is None:
            continue
        section = f"{EXPERIMENT}.{plugin.name}"
        raw = config.get(section, name, None)
        if raw is not None:
            return configured(param, section, raw)
        if name in plugin.defaults:
            return param.normalize(plugin.defaults[name])
    raw = config.get(EXPERIMENT, name, None)
    if raw is not None:
        return configured(param, EXPERIMENT, raw)
    return param.default


def configured(param: Param, section: str, raw: str) -> Value:
    """A value written in luigi.cfg's ``[section]``, parsed; an error names where."""
    try:
        return param.parse(raw)
    except PipelineError as exc:
        raise PipelineError(f"[{section}] in luigi.cfg: {exc}") from None


def plugin_names(plugins: Iterable[Dataset | Representation | Model]) -> set[str]:
    """The parameters the plug-ins read (a model: its own and its representation's)."""
    names: set[str] = set()
    for plugin in plugins:
        names |= {param.name for param in plugin.parameters}
        if isinstance(plugin, Model):
            names |= {p.name for p in features.get(plugin.representation).parameters}
    return names


class Parameterized(luigi.Task):
    """A task whose parameters follow the rule of this module.

    A declared parameter the task does not read with its choice is None on the task;
    None given for one is the same as not giving it.
    """

    #: declared parameters it reads whatever it chooses (the chain's, in order)
    always: ClassVar[tuple[str, ...]] = ()
    #: the plug-ins whose parameters it reads: "dataset", "representation", "model"
    chooses: ClassVar[tuple[str, ...]] = ()
    #: declared parameters it takes but never reads, with what to use instead
    refused: ClassVar[Mapping[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        with pinned_settings():
            super().__init__(*args, **kwargs)
        # Luigi's clone() and execution summary look up every parameter of get_params()
        # on the task: the ones it does not read are None, and None passed is not given.
        for name in self.candidates():
            if name not in self.param_kwargs:
                setattr(self, name, None)

    @classmethod
    def candidates(cls) -> list[str]:
        """Every declared parameter it may read with some choice, in a stable order."""
        key = (cls, CATALOGUE.version)
        if key not in _CANDIDATES:
            _CANDIDATES[key] = cls._candidates()
        return _CANDIDATES[key]

    @classmethod
    def _candidates(cls) -> list[str]:
        kinds: dict[str, Registry[Any]] = {"dataset": datasets.REGISTRY,
                                           "representation": features.REGISTRY,
                                           "model": models.REGISTRY}
        plugins = [plugin for kind in cls.chooses for plugin in kinds[kind]]
        if "model" in cls.chooses:
            plugins += list(features.REGISTRY)
        wanted = set(cls.always) | set(cls.refused) | plugin_names(plugins)
        return [*cls.always, *(name for name in CATALOGUE.params
                               if name in wanted and name not in cls.always)]

    @classmethod
    def get_params(cls) -> list[tuple[str, luigi.Parameter]]:
        """Luigi's parameters of the class, then every declared one it may read (computed
        once per class and set of declarations: Luigi asks for them at every
        construction)."""
        return list(memo(("params", cls, CATALOGUE.version), lambda: [
            *super(Parameterized, cls).get_params(),
            *((name, luigi_parameter(name)) for name in cls.candidates())]))

    @classmethod
    def choose(cls, value: Callable[[str, Chosen], Value]) -> Chosen:
        """The plug-ins chosen, from ``value(name, chosen so far)``."""
        chosen = Chosen()
        if "dataset" in cls.always:
            chosen = Chosen(dataset=datasets.get(str(value("dataset", chosen))))
        if "model" in cls.always:
            chosen = Chosen(chosen.dataset, (models.get(str(value("model", chosen))),))
        if "representation" in cls.always:
            chosen = Chosen(chosen.dataset, chosen.models,
                            features.get(str(value("representation", chosen))))
        return chosen

    @classmethod
    def reads(cls, chosen: Chosen) -> set[str]:
        """The declared parameters it reads with these plug-ins."""
        plugins: list[Dataset | Representation | Model] = []
        if "dataset" in cls.chooses and chosen.dataset:
            plugins.append(chosen.dataset)
        if "representation" in cls.chooses and chosen.representation:
            plugins.append(chosen.representation)
        if "model" in cls.chooses:
            plugins += chosen.models
        return set(cls.always) | plugin_names(plugins)

    @classmethod
    def refusal(cls, name: str, chosen: Chosen) -> PipelineError:
        """The error for ``name``, given but not read with ``chosen``: it names the choice
        that could read such a parameter and what that choice reads."""
        if name in cls.refused:
            return PipelineError(cls.refused[name])
        choices: list[tuple[str, list[Dataset | Representation | Model]]] = []
        if chosen.dataset and name in plugin_names(datasets.REGISTRY):
            choices.append(("dataset", [chosen.dataset]))
        elif chosen.representation and "representation" in cls.chooses:
            choices.append(("representation", [chosen.representation]))
        if chosen.models and not choices:
            choices.append(("models" if len(chosen.models) > 1 else "model",
                            list(chosen.models)))
        kind, plugins = choices[0] if choices else (cls.get_task_family(), [])
        names = ",".join(plugin.name for plugin in plugins)
        reading = sorted(plugin_names(plugins)) or ["none of them"]
        return PipelineError(f"{name} is not a parameter of {kind} {names!r}, which reads "
                             f"{', '.join(reading)}; leave {name} out or choose a "
                             f"{kind.rstrip('s')} that reads it")

    @classmethod
    def get_param_values(cls, params: Sequence[tuple[str, luigi.Parameter]], args: Sequence[Any],
                         kwargs: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """The values of the parameters it reads: given ones, else their defaults.

        Refuses positional arguments, unknown names, and declared parameters given that
        it does not read with its choice.
        """
        with pinned_settings():
            return cls._memo_values(params, args, kwargs)

    @classmethod
    def _memo_values(cls, params: Sequence[tuple[str, luigi.Parameter]], args: Sequence[Any],
                     kwargs: Mapping[str, Any]) -> list[tuple[str, Any]]:
        state = settings_state()
        try:
            key: tuple[Any, ...] | None = ("values", cls, tuple(params), tuple(args),
                                           tuple(sorted(kwargs.items())),
                                           CATALOGUE.version, state)
            hash(key)
        except TypeError:  # an unhashable value given: computed each time
            key = None
        if key is not None and key in _MEMO:
            return list(_MEMO[key])
        values = cls._param_values(params, args, kwargs, state)
        if key is not None:
            memo(key, lambda: values)
        return list(values)

    @classmethod
    def _param_values(cls, params: Sequence[tuple[str, luigi.Parameter]], args: Sequence[Any],
                      kwargs: Mapping[str, Any], state: tuple[Any, ...]
                      ) -> list[tuple[str, Any]]:
        family = cls.get_task_family()
        declared = dict(params)
        if args:
            raise PipelineError(f"{family} takes its parameters by name, not by position")
        unknown = sorted(set(kwargs) - set(declared))
        if unknown:
            raise PipelineError(f"{family} has no parameter {unknown[0]!r}; see "
                                f"luigi --module pipeline {family} --help")
        candidates = set(cls.candidates())
        given = {name: declared[name].normalize(value) for name, value in kwargs.items()
                 if not (value is None and name in candidates)}
        for name in [name for name in declared if name not in given]:
            # the command line or the task's section of luigi.cfg (a bad value there is
            # one line naming where); a plain Luigi default of a task's own parameter too
            parameter = declared[name]
            found = memo(("task value", family, name, id(parameter), state),
                         partial(_task_value, parameter, family, name))
            if found is not _NOTHING:
                given[name] = found

        def value(name: str, chosen: Chosen) -> Value:
            if name in given:
                return given[name]
            return default(name, chosen, state)

        chosen = cls.choose(value)
        read = cls.reads(chosen)
        unread = sorted(set(given) & candidates - read)
        if unread:
            raise cls.refusal(unread[0], chosen)
        values = {name: value(name, chosen) for name in candidates & read}
        own = [(name, param) for name, param in params if name not in candidates]
        kept = [*own, *((name, declared[name]) for name in cls.candidates() if name in read)]
        passed = {**{name: given[name] for name in given if name not in candidates}, **values}
        return super().get_param_values(kept, [], passed)

    def values(self, names: Iterable[str]) -> dict[str, Any]:
        """``{name: value}`` of declared parameters this task reads."""
        return {name: self.param_kwargs[name] for name in names}


_NOTHING = object()


def _task_value(param: luigi.Parameter, family: str, name: str) -> Any:
    """The value given on the command line or in ``[family]`` (else a task's own
    parameter's default), or ``_NOTHING``."""
    if _has_task_value(param, family, name):
        return param.task_value(family, name)
    return _NOTHING


def _has_task_value(param: luigi.Parameter, family: str, name: str) -> bool:
    """Whether ``name`` was given on the command line or in ``[family]`` of luigi.cfg
    (a declared parameter has no Luigi default); a bad value there names where."""
    try:
        return bool(param.has_task_value(family, name))
    except PipelineError as exc:
        where = (f"[{family}] in luigi.cfg" if get_config().has_option(family, name)
                 else f"--{family}-{name.replace('_', '-')}")
        raise PipelineError(f"{where}: {exc}") from None


def values_of(plugin: Dataset | Representation | Model, values: Mapping[str, Value]
              ) -> dict[str, Any]:
    """The values of the parameters ``plugin`` declares, from ``values``."""
    return {param.name: values[param.name] for param in plugin.parameters}


__all__ = ["CHAIN", "Chosen", "Declared", "EXPERIMENT", "Own", "Parameterized", "default",
           "luigi_parameter", "values_of", "Values"]
