"""Registries of plug-ins: one per kind (datasets, representations, models).

A kind's contract is an abstract base class: its ``ClassVar`` annotations are the
attributes every plug-in must define (with their types), its abstract methods the
hooks every plug-in must implement, its other methods the optional hooks with their
defaults. :meth:`Registry.register` checks a plug-in class against that contract and
declares its parameters in :data:`pipeline.params.CATALOGUE`; a plug-in that breaks the
contract is refused then, in one line (:class:`~pipeline.errors.PluginError`), not when
a task first uses it.
"""
from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Iterator
from typing import ClassVar, Generic, TypeVar, get_args, get_origin

from .errors import PipelineError, PluginError
from .params import CATALOGUE, Param

P = TypeVar("P")


def _matches(value: object, hint: object) -> bool:
    """Whether ``value`` fits the (outer) type of annotation ``hint``."""
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in get_args(hint))
    if hint is None or hint is type(None):
        return value is None
    if hint is typing.Any:
        return True
    if origin is type:
        return isinstance(value, type)
    target = origin or hint
    return isinstance(target, type) and isinstance(value, target)


class Registry(Generic[P]):
    """The plug-ins of one kind, by name, in the order they were registered."""

    def __init__(self, kind: str, contract: type) -> None:
        self.kind = kind
        self.contract = contract
        self._plugins: dict[str, P] = {}

    def register(self, plugin: type[P]) -> type[P]:
        """Check ``plugin`` (a class) against the contract and add an instance of it;
        returns the class, so it can be used as a decorator."""
        label = f"{self.kind} plug-in {getattr(plugin, '__name__', plugin)!r}"
        if not (isinstance(plugin, type) and issubclass(plugin, self.contract)):
            raise PluginError(f"{label} is not a subclass of {self.contract.__name__}")
        missing = sorted(getattr(plugin, "__abstractmethods__", ()))
        if missing:
            raise PluginError(f"{label} does not implement {', '.join(missing)} of the "
                              f"{self.contract.__name__} contract")
        for name, hint in typing.get_type_hints(self.contract).items():
            if get_origin(hint) is not ClassVar:
                continue
            if not hasattr(plugin, name):
                raise PluginError(f"{label} does not define {name} of the "
                                  f"{self.contract.__name__} contract")
            wanted = get_args(hint)[0]
            if not _matches(getattr(plugin, name), wanted):
                raise PluginError(f"{label}: {name} must be {_shown(wanted)}, got "
                                  f"{getattr(plugin, name)!r}")
        self._check_signatures(plugin, label)
        name = plugin.name  # type: ignore[attr-defined]
        if not name.isidentifier():
            raise PluginError(f"{label}: its name {name!r} is not an identifier")
        if name in self._plugins:
            raise PluginError(f"{label}: a {self.kind} named {name!r} is registered already")
        owner = f"{self.kind} {name}"
        try:
            for param in plugin.parameters:  # type: ignore[attr-defined]
                if not isinstance(param, Param):
                    raise PluginError(f"{label}: its parameters must be Param declarations, "
                                      f"got {param!r}")
                CATALOGUE.declare(owner, param)
        except PluginError:
            CATALOGUE.forget(owner)
            raise
        self._plugins[name] = plugin()
        return plugin

    def _check_signatures(self, plugin: type[P], label: str) -> None:
        """Each hook the plug-in overrides takes the contract's arguments."""
        for name, hook in vars(self.contract).items():
            if not callable(hook) or name.startswith("_") or name not in vars(plugin):
                continue
            mine = inspect.signature(vars(plugin)[name])
            if any(p.kind is p.VAR_KEYWORD for p in mine.parameters.values()):
                continue
            wanted = [p.name for p in inspect.signature(hook).parameters.values()
                      if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            lacking = [arg for arg in wanted if arg not in mine.parameters]
            if lacking:
                raise PluginError(f"{label}: {name}() lacks the argument(s) "
                                  f"{', '.join(lacking)} of the {self.contract.__name__} "
                                  f"contract")

    def remove(self, name: str) -> None:
        """Take a plug-in out again (tests that plug in a toy one)."""
        del self._plugins[name]
        CATALOGUE.forget(f"{self.kind} {name}")

    def get(self, name: str) -> P:
        """The plug-in called ``name``; :class:`PipelineError` listing the known ones."""
        try:
            return self._plugins[name]
        except (KeyError, TypeError):
            raise PipelineError(f"unknown {self.kind} {name!r}; choose one of "
                                f"{', '.join(self._plugins)}") from None

    def names(self) -> tuple[str, ...]:
        return tuple(self._plugins)

    def __iter__(self) -> Iterator[P]:
        return iter(list(self._plugins.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._plugins


def _shown(hint: object) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")

