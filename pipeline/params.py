"""Parameter declarations: each parameter's name, type, default, range and help, written once.

The chain and every plug-in (dataset, representation, model) declare the parameters they
read as :class:`Param` objects. Everything else reads those declarations: the tasks'
Luigi parameters, ``--help`` and their checks (:mod:`pipeline.tasks.parameters`), the
defaults from luigi.cfg, and the documentation's parameter reference.

Each :class:`Kind` parses text one way, whatever door a value comes through (the command
line, luigi.cfg, a variants file, ``text-classifier -p``), and normalizes Python values
the same way: one canonical value per meaning, so one task id. A value outside its kind
or range is a :class:`~pipeline.errors.PipelineError` naming the parameter.

Two declarations of one name must agree: :data:`CATALOGUE` keeps every declaration with
the plug-ins that read it and refuses a second, different one (a new model's ``units``
cannot silently replace the mlp's).
"""
from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, SupportsFloat, SupportsIndex

from .errors import PipelineError, PluginError

#: A parameter's value: what the plug-ins and tasks read.
Value = int | float | str | bool | tuple[int, ...] | tuple[str, ...]
#: Parameter values by name (read as their declarations' kinds give them).
Values = Mapping[str, Any]

_INTEGER = re.compile(r"[+-]?[0-9]+")


def _text(value: str) -> str:
    """What a user typed, in one canonical form: compatibility characters folded (a
    full-width ``３`` is ``3``) and surrounding blanks dropped."""
    return unicodedata.normalize("NFKC", value).strip()


def parse_integer(text: str) -> int:
    """An integer written in ASCII digits (after folding), with an optional sign;
    ``ValueError`` for anything else (``1.0``, ``1e3``, ``٣``, ``abc``)."""
    folded = _text(text)
    if not _INTEGER.fullmatch(folded):
        raise ValueError(text)
    return int(folded)


class Kind:
    """How one type of parameter is read from text and from Python, checked and written.

    Subclasses define :meth:`convert` (a Python value, already of the right family, to
    the canonical value, or ``ValueError``) and :meth:`describe`.
    """

    def parse(self, text: str) -> Value:
        """The value of a text (command line, configuration, files)."""
        return self.convert(text)

    def normalize(self, value: object) -> Value:
        """The canonical value of a Python value (or of a text)."""
        if isinstance(value, str):
            return self.parse(value)
        return self.convert(value)

    def convert(self, value: object) -> Value:
        raise NotImplementedError

    def serialize(self, value: Any) -> str:
        return str(value)

    def describe(self) -> str:
        """What values it takes, as a noun phrase: ``an integer from 1 to 64``."""
        raise NotImplementedError


def _bounds(minimum: float | None, maximum: float | None, low_open: bool = False,
            high_open: bool = False) -> str:
    def shown(number: float) -> str:
        return f"{number:,}" if isinstance(number, int) else f"{number:g}"

    if minimum is not None and maximum is not None and not (low_open or high_open):
        return f" from {shown(minimum)} to {shown(maximum)}"
    parts = []
    if minimum is not None:
        parts.append(f"{'>' if low_open else '>='} {shown(minimum)}")
    if maximum is not None:
        parts.append(f"{'<' if high_open else '<='} {shown(maximum)}")
    return f" {' and '.join(parts)}" if parts else ""


@dataclass(frozen=True)
class Integer(Kind):
    """A whole number in ``[minimum, maximum]`` (and ``among`` the given ones, if any)."""

    minimum: int | None = None
    maximum: int | None = None
    among: tuple[int, ...] = ()

    def parse(self, text: str) -> Value:
        return self.convert(parse_integer(text))

    def convert(self, value: object) -> Value:
        if type(value) is int:  # the common case, without the protocol checks below
            number = value
        else:
            if isinstance(value, bool):
                raise ValueError(value)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, SupportsIndex):
                raise ValueError(value)
            number = int(value.__index__())
        if (self.minimum is not None and number < self.minimum) or \
                (self.maximum is not None and number > self.maximum) or \
                (self.among and number not in self.among):
            raise ValueError(value)
        return number

    def describe(self) -> str:
        if self.among:
            return "one of " + ", ".join(map(str, self.among))
        return "an integer" + _bounds(self.minimum, self.maximum)


@dataclass(frozen=True)
class Number(Kind):
    """A finite real number within its bounds (each closed or open)."""

    minimum: float | None = None
    maximum: float | None = None
    low_open: bool = False
    high_open: bool = False

    def parse(self, text: str) -> Value:
        folded = _text(text)
        if "_" in folded:  # float() would read 1_0 as 10
            raise ValueError(text)
        return self.convert(float(folded))

    def convert(self, value: object) -> Value:
        if type(value) is not float and (isinstance(value, bool) or
                                         not isinstance(value, SupportsFloat)):
            raise ValueError(value)
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(value)
        if self.minimum is not None and (number < self.minimum or
                                         (self.low_open and number == self.minimum)):
            raise ValueError(value)
        if self.maximum is not None and (number > self.maximum or
                                         (self.high_open and number == self.maximum)):
            raise ValueError(value)
        return number + 0.0  # -0.0 is 0.0

    def serialize(self, value: Any) -> str:
        return repr(float(value))

    def describe(self) -> str:
        return "a finite number" + _bounds(self.minimum, self.maximum, self.low_open,
                                           self.high_open)


@dataclass(frozen=True)
class Choice(Kind):
    """One of a fixed list of names."""

    values: tuple[str, ...]

    def convert(self, value: object) -> Value:
        if isinstance(value, str):
            folded = _text(value)
            if folded in self.values:
                return folded
        raise ValueError(value)

    def describe(self) -> str:
        return "one of " + ", ".join(self.values)


@dataclass(frozen=True)
class Name(Kind):
    """The name of a plug-in (dataset, representation, model): a registry checks it."""

    plugin: str

    def convert(self, value: object) -> Value:
        if not isinstance(value, str) or not _text(value):
            raise ValueError(value)
        return _text(value)

    def describe(self) -> str:
        return f"the name of a {self.plugin}"


@dataclass(frozen=True)
class Flag(Kind):
    """True or false (``true``/``false`` in text, any case)."""

    def parse(self, text: str) -> Value:
        folded = _text(text).lower()
        if folded not in ("true", "false"):
            raise ValueError(text)
        return folded == "true"

    def convert(self, value: object) -> Value:
        if isinstance(value, bool):
            return value
        raise ValueError(value)

    def serialize(self, value: Any) -> str:
        return "true" if value else "false"

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class Integers(Kind):
    """One integer, or a comma-separated list of them (one per layer: ``64,4``).

    One number stays an int; a list of several is a tuple (``"16"`` and ``16`` are the
    same value, ``"64, 4"`` and ``(64, 4)`` too).
    """

    minimum: int | None = None
    maximum: int | None = None

    def parse(self, text: str) -> Value:
        return self.convert(tuple(parse_integer(part) for part in _text(text).split(",")))

    def convert(self, value: object) -> Value:
        element = Integer(self.minimum, self.maximum)
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if not items:
            raise ValueError(value)
        numbers = tuple(_whole(element, item) for item in items)
        return numbers[0] if len(numbers) == 1 else numbers

    def serialize(self, value: Any) -> str:
        return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)

    def describe(self) -> str:
        return "an integer, or one per layer (64,4)," + _bounds(self.minimum, self.maximum)


@dataclass(frozen=True)
class IntegerRange(Kind):
    """Two integers ``low,high`` with ``minimum <= low <= high <= maximum``, written
    ``"low,high"`` (``1-3`` and ``1, 3`` are read as ``1,3``)."""

    minimum: int
    maximum: int

    def convert(self, value: object) -> Value:
        if isinstance(value, (list, tuple)):
            parts = list(value)
        elif isinstance(value, str):
            parts = _text(value).replace("-", ",").split(",")
        else:
            raise ValueError(value)
        if len(parts) != 2:
            raise ValueError(value)
        low, high = (_whole(Integer(), part) for part in parts)
        if not self.minimum <= low <= high <= self.maximum:
            raise ValueError(value)
        return f"{low},{high}"

    def describe(self) -> str:
        return f"'min,max' with {self.minimum} <= min <= max <= {self.maximum}"


@dataclass(frozen=True)
class AutoOrInteger(Kind):
    """``auto``, or an integer in its range (kept as text: ``"auto"``, ``"4"``)."""

    minimum: int
    maximum: int

    def convert(self, value: object) -> Value:
        if isinstance(value, str) and _text(value).lower() == "auto":
            return "auto"
        return str(_whole(Integer(self.minimum, self.maximum), value))

    def describe(self) -> str:
        return f"auto, or an integer{_bounds(self.minimum, self.maximum)}"


@dataclass(frozen=True)
class Text(Kind):
    """Free text: an address, a path (surrounding blanks dropped, nothing else changed:
    a path with a full-width character is another file). ``empty`` says whether ``""``
    is a value (it usually means "the default")."""

    what: str = "text"
    empty: bool = True

    def convert(self, value: object) -> Value:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or "\0" in value:
            raise ValueError(value)
        text = value.strip()
        if not text and not self.empty:
            raise ValueError(value)
        return text

    def describe(self) -> str:
        return self.what if self.empty else f"a non-empty {self.what}"


@dataclass(frozen=True)
class Digest(Kind):
    """A hexadecimal digest of ``length`` digits (any case; kept in lower case), or empty."""

    length: int = 64
    what: str = "SHA-256"

    def convert(self, value: object) -> Value:
        if not isinstance(value, str):
            raise ValueError(value)
        folded = _text(value).lower()
        if folded and (len(folded) != self.length or
                       any(c not in "0123456789abcdef" for c in folded)):
            raise ValueError(value)
        return folded

    def describe(self) -> str:
        return f"empty or a {self.what} of {self.length} hexadecimal digits"


def _items(value: object) -> list[object]:
    """The items of a comma-separated text or of a Python sequence."""
    if isinstance(value, str):
        folded = _text(value)
        return [] if not folded else [item.strip() for item in folded.split(",")]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


@dataclass(frozen=True)
class Names(Kind):
    """Comma-separated names (``embedding,glove``), in the order given, none twice; empty
    only when ``empty`` (it then means "all of them")."""

    what: str = "names"
    empty: bool = False

    def convert(self, value: object) -> Value:
        items = _items(value)
        names = tuple(_text(item) if isinstance(item, str) else "" for item in items)
        if (not names and not self.empty) or any(not name or "," in name for name in names) \
                or len(set(names)) != len(names):
            raise ValueError(value)
        return names

    def serialize(self, value: Any) -> str:
        return ",".join(value)

    def describe(self) -> str:
        return f"a comma-separated list of distinct {self.what}" + \
            (" (empty: all of them)" if self.empty else "")


@dataclass(frozen=True)
class IntegerSet(Kind):
    """Comma-separated distinct integers in ``[minimum, maximum]``, kept in increasing
    order (``50,10`` is ``10,50``: one value per meaning)."""

    minimum: int | None = None
    maximum: int | None = None

    def convert(self, value: object) -> Value:
        element = Integer(self.minimum, self.maximum)
        items = _items(value)
        if not items:
            raise ValueError(value)
        numbers = tuple(sorted(_whole(element, item) for item in items))
        if len(set(numbers)) != len(numbers):
            raise ValueError(value)
        return numbers

    def serialize(self, value: Any) -> str:
        return ",".join(map(str, value))

    def describe(self) -> str:
        return "a comma-separated list of distinct integers" + \
            _bounds(self.minimum, self.maximum)


def _whole(kind: Integer, value: object) -> int:
    """``value`` read by an :class:`Integer` kind."""
    number = kind.normalize(value)
    assert isinstance(number, int)
    return number


@dataclass(frozen=True)
class Param:
    """One parameter: its name, kind, default and help. Plug-ins and the chain declare
    them; :data:`CATALOGUE` makes two declarations of one name agree."""

    name: str
    kind: Kind
    default: Value
    help: str
    #: why the range is what it is, added to a refusal ("the book uses 1 to 3 layers")
    note: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise PluginError(f"parameter name {self.name!r} is not an identifier")
        try:
            canonical = self.kind.normalize(self.default)
        except (ValueError, TypeError):
            raise PluginError(f"parameter {self.name}: its default {self.default!r} is not "
                              f"{self.kind.describe()}") from None
        object.__setattr__(self, "default", canonical)

    def parse(self, text: str) -> Value:
        """The value of ``text``; :class:`PipelineError` naming this parameter else."""
        try:
            return self.kind.parse(text)
        except (ValueError, TypeError, OverflowError):
            raise self.refusal(text) from None

    def normalize(self, value: object) -> Value:
        """The canonical value of a Python value; :class:`PipelineError` else."""
        try:
            return self.kind.normalize(value)
        except (ValueError, TypeError, OverflowError):
            raise self.refusal(value) from None

    def serialize(self, value: Any) -> str:
        return self.kind.serialize(value)

    def refusal(self, value: object) -> PipelineError:
        """The error for a value this parameter does not take."""
        note = f" ({self.note})" if self.note else ""
        if isinstance(self.kind, Choice):
            return PipelineError(f"unknown {self.name} {value!r}; choose one of "
                                 f"{', '.join(self.kind.values)}{note}")
        return PipelineError(f"{self.name} must be {self.kind.describe()}, got "
                             f"{value!r}{note}")


@dataclass
class Catalogue:
    """Every declared parameter and who reads it; one declaration per name."""

    params: dict[str, Param] = field(default_factory=dict)
    owners: dict[str, list[str]] = field(default_factory=dict)
    #: changes whenever a declaration is added or dropped (for caches)
    version: int = 0

    def declare(self, owner: str, param: Param) -> None:
        """Record that ``owner`` (``"model mlp"``) reads ``param``; a different
        declaration of a name already declared is a :class:`PluginError`."""
        known = self.params.get(param.name)
        if known is not None and known != param:
            raise PluginError(
                f"{owner} declares parameter {param.name} ({param.kind.describe()}, default "
                f"{param.default!r}) unlike {', '.join(self.owners[param.name])} "
                f"({known.kind.describe()}, default {known.default!r}): reuse that "
                f"declaration or choose another name")
        self.params[param.name] = param
        readers = self.owners.setdefault(param.name, [])
        if owner not in readers:
            readers.append(owner)
            self.version += 1

    def forget(self, owner: str) -> None:
        """Drop ``owner``'s declarations (a plug-in removed from its registry)."""
        for name in list(self.owners):
            self.owners[name] = [o for o in self.owners[name] if o != owner]
            if not self.owners[name]:
                del self.owners[name], self.params[name]
        self.version += 1

    def get(self, name: str) -> Param:
        return self.params[name]


#: Every parameter declared by the chain and the registered plug-ins.
CATALOGUE = Catalogue()
