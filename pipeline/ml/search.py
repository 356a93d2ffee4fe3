"""Hyperparameter search as plain functions: search spaces, the objective, the tables.

A *search space* names declared parameters (:mod:`pipeline.params`) and, for each, the
values to try, in a small TOML file (the shipped ones are ``pipeline/spaces/<model>.toml``;
users write their own in the same format)::

    units = [16, 32, 64]                              # a list of choices
    layers = {low = 1, high = 3}                      # a range (integers for integer
                                                      # parameters, numbers otherwise)
    learning_rate = {low = 1e-4, high = 1e-2, log = true}   # sampled on a log scale
    dropout = {low = 0.0, high = 0.6, step = 0.1}     # a range on a grid

Every choice and both ends of every range are read by the parameter's declaration, so a
space cannot propose a value a task would refuse; :func:`trial_values` reads every value
a trial proposes the same way (numbers drawn from a continuous range are rounded to three
significant digits first, so task ids stay short and a value tried before is recognised).

The objective of a trial comes from TrainModel's validation history
(:func:`outcome`): the lowest validation loss, or the best validation accuracy. The test
set is never looked at here. Optuna (the ``tune`` extra) is imported inside the
functions that need it.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import PipelineError
from ..params import CATALOGUE, Integer, Integers, Number, Param, Value

#: A space is a short hand-written file (the shipped ones: about 1 KB).
MAX_SPACE_BYTES = 64 * 1024
#: tomllib takes time quadratic in the depth of a dotted key (a.a.a...): a space needs
#: a few dots per line, for numbers; more than this is not a search space.
MAX_SPACE_DOTS = 1000
#: Significant digits of a number drawn from a continuous range.
DIGITS = 3

#: objective name -> Optuna's direction
OBJECTIVES: dict[str, Literal["minimize", "maximize"]] = {"val_loss": "minimize",
                                                           "val_accuracy": "maximize"}

_RANGE_KEYS = ("low", "high", "log", "step")


@dataclass(frozen=True)
class Dimension:
    """One parameter of a space: a list of choices, or a range of integers or numbers."""

    name: str
    #: "choice", "int" or "float"
    kind: str
    choices: tuple[Any, ...] = ()
    low: float = 0
    high: float = 0
    log: bool = False
    step: float | None = None

    def canonical(self) -> dict[str, Any]:
        """A JSON-ready description (the study's signature holds it)."""
        if self.kind == "choice":
            return {"choices": list(self.choices)}
        found: dict[str, Any] = {"low": self.low, "high": self.high, "kind": self.kind}
        if self.log:
            found["log"] = True
        if self.step is not None:
            found["step"] = self.step
        return found

    def describe(self) -> str:
        """``[16, 32, 64]``, ``1 to 3``, ``0.0001 to 0.01 (log)``, ``0 to 0.6 step 0.1``."""
        if self.kind == "choice":
            return "[" + ", ".join(_shown(c) for c in self.choices) + "]"
        text = f"{_shown(self.low)} to {_shown(self.high)}"
        if self.log:
            text += " (log)"
        if self.step is not None:
            text += f" step {_shown(self.step)}"
        return text

    def distribution(self) -> Any:
        """The Optuna distribution that draws this dimension's values."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.kind == "choice":
            return CategoricalDistribution(list(self.choices))
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log,
                                   step=int(self.step or 1))
        return FloatDistribution(float(self.low), float(self.high), log=self.log,
                                 step=self.step)

    def contains(self, value: Any, param: Param) -> Any:
        """The Optuna value of a parameter value (``param``'s) inside this dimension,
        or None when the dimension cannot draw it."""
        if self.kind == "choice":
            for choice in self.choices:
                if param.normalize(choice) == value:
                    return choice
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if not self.low <= value <= self.high:
            return None
        if self.step is not None:
            steps = (value - self.low) / self.step
            if abs(steps - round(steps)) > 1e-9:
                return None
        return int(value) if self.kind == "int" else float(value)


@dataclass(frozen=True)
class Space:
    """The dimensions of a search space, in the order of its file."""

    source: str
    dimensions: tuple[Dimension, ...]

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    def canonical(self) -> dict[str, Any]:
        return {d.name: d.canonical() for d in sorted(self.dimensions, key=lambda d: d.name)}

    def distributions(self) -> dict[str, Any]:
        return {d.name: d.distribution() for d in self.dimensions}

    def describe(self) -> str:
        return "; ".join(f"{d.name} {d.describe()}" for d in self.dimensions)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).lower() if isinstance(value, bool) else str(value)


# ------------------------------------------------------------------------- reading spaces

def read_space_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The table of a space file (TOML), bounded in size and nesting; one line else."""
    from ..io.configcheck import ConfigError, read_text_file

    path = Path(path)
    shown = f"space {path}"
    try:
        text = read_text_file(path, shown, MAX_SPACE_BYTES, "a search space")
    except ConfigError as exc:
        raise PipelineError(str(exc)) from None
    if text.count(".") > MAX_SPACE_DOTS:
        raise PipelineError(f"{shown}: more than {MAX_SPACE_DOTS:,} dots, not a search "
                            f"space (one line per parameter)")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PipelineError(f"{shown}: malformed TOML ({exc})") from None
    except RecursionError:
        raise PipelineError(f"{shown}: nested too deeply, not a search space") from None
    if not data:
        raise PipelineError(f"{shown}: names no parameter; give at least one, e.g. "
                            f"units = [16, 32, 64]")
    return data


def load_space(path: str | os.PathLike[str], searchable: Mapping[str, Param],
               refused: Mapping[str, str] | None = None, reader: str = "the model"
               ) -> Space:
    """A space file read and checked against the parameters it may search.

    ``searchable``: the declarations of the parameters a trial may change (those the
    chosen model's TrainModel reads); ``refused``: parameters it reads that a search must
    not change, with the reason; ``reader`` names who reads ``searchable`` (``"model
    'mlp'"``) in errors. Every problem is a :class:`PipelineError` naming the file and
    the parameter.
    """
    return parse_space(read_space_file(path), str(path), searchable, refused or {}, reader)


def parse_space(data: Mapping[str, Any], source: str, searchable: Mapping[str, Param],
                refused: Mapping[str, str], reader: str = "the model") -> Space:
    """:func:`load_space` on a table already read (``source`` names it in errors)."""
    where = f"space {source}"
    dimensions = []
    for name, spec in data.items():
        if name in refused:
            raise PipelineError(f"{where}: {name} cannot be searched: {refused[name]}")
        if name not in searchable:
            if name in CATALOGUE.params:
                readable = ", ".join(sorted(searchable))
                raise PipelineError(f"{where}: {name} is not a parameter of {reader}, which "
                                    f"reads {readable}; leave it out of the space")
            close = difflib.get_close_matches(name, list(searchable), n=1)
            hint = f" (did you mean {close[0]}?)" if close else \
                f"; parameters are {', '.join(sorted(searchable))}"
            raise PipelineError(f"{where}: unknown parameter {name!r}{hint}")
        try:
            dimensions.append(dimension(name, spec, searchable[name]))
        except PipelineError as exc:
            raise PipelineError(f"{where}: {exc}") from None
    return Space(source, tuple(dimensions))


def dimension(name: str, spec: Any, param: Param) -> Dimension:
    """One entry of a space: ``[choices]`` or ``{low, high[, log][, step]}``."""
    if isinstance(spec, list):
        return _choices(name, spec, param)
    if isinstance(spec, dict):
        return _range(name, spec, param)
    raise PipelineError(
        f"{name} = {spec!r} is one value; a space gives a list of choices ({name} = "
        f"[a, b]) or a range ({name} = {{low = a, high = b}}); fix a value on the command "
        f"line instead (--{name.replace('_', '-')} {_shown(spec)})")


def _choices(name: str, spec: list[Any], param: Param) -> Dimension:
    if not spec:
        raise PipelineError(f"{name}: the list of choices is empty; give at least one value")
    choices: list[Any] = []
    seen: list[Value] = []
    for item in spec:
        if isinstance(item, dict):
            raise PipelineError(f"{name}: a choice must be a value, got the table {item!r}")
        value = param.normalize(item)
        if value in seen:
            raise PipelineError(f"{name}: the choice {_shown(item)} is listed twice")
        seen.append(value)
        # Optuna's choices are plain scalars: a tuple (64,4) is kept as its text "64,4"
        choices.append(param.serialize(value) if isinstance(value, tuple) else value)
    return Dimension(name, "choice", choices=tuple(choices))


def _range(name: str, spec: dict[str, Any], param: Param) -> Dimension:
    unknown = sorted(set(spec) - set(_RANGE_KEYS))
    if unknown:
        raise PipelineError(f"{name}: unknown key {unknown[0]!r} in a range; a range has "
                            f"low, high and optionally log = true or step")
    if "low" not in spec or "high" not in spec:
        missing = "low" if "low" not in spec else "high"
        raise PipelineError(f"{name}: the range has no {missing}; give low and high")
    kind = param.kind
    if isinstance(kind, (Integer, Integers)) and not getattr(kind, "among", ()):
        integer = True
    elif isinstance(kind, Number):
        integer = False
    else:
        raise PipelineError(f"{name} takes {kind.describe()}: give a list of choices, not "
                            f"a range")
    ends = []
    for key in ("low", "high"):
        raw = spec[key]
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise PipelineError(f"{name}: {key} must be a number, got {raw!r}")
        if integer and not (isinstance(raw, int) or float(raw).is_integer()):
            raise PipelineError(f"{name}: {key} must be an integer ({name} takes "
                                f"{kind.describe()}), got {raw!r}")
        value = param.normalize(int(raw) if integer else float(raw))
        ends.append(value)
    low, high = (float(v) if not integer else int(v) for v in ends)  # type: ignore[arg-type]
    if low == high:
        raise PipelineError(f"{name}: the range {_shown(low)} to {_shown(high)} is empty; "
                            f"give high above low, or one value on the command line")
    if low > high:
        raise PipelineError(f"{name}: the range is reversed (low {_shown(low)} > high "
                            f"{_shown(high)}); swap them")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise PipelineError(f"{name}: log must be true or false, got {log!r}")
    if log and low <= 0:
        raise PipelineError(f"{name}: a log range must lie above 0, but low is "
                            f"{_shown(low)}; give a positive low, or a list of choices "
                            f"that includes 0")
    step = spec.get("step")
    if step is not None:
        if log:
            raise PipelineError(f"{name}: a range takes log or step, not both")
        if isinstance(step, bool) or not isinstance(step, (int, float)) or \
                not math.isfinite(step) or step <= 0:
            raise PipelineError(f"{name}: step must be a positive number, got {step!r}")
        if integer and not float(step).is_integer():
            raise PipelineError(f"{name}: step must be an integer, got {step!r}")
        count = (high - low) / step
        if abs(count - round(count)) > 1e-9 * max(1.0, count):
            raise PipelineError(f"{name}: the range {_shown(low)} to {_shown(high)} is not "
                                f"a whole number of steps of {_shown(step)}")
        step = int(step) if integer else float(step)
    return Dimension(name, "int" if integer else "float", low=low, high=high, log=log,
                     step=step)


# --------------------------------------------------------------------- trials' values

def round_significant(value: float, digits: int = DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits (0.000123456 -> 0.000123)."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{digits}g}")


def trial_values(space: Space, raw: Mapping[str, Any], params: Mapping[str, Param]
                 ) -> dict[str, Value]:
    """The parameter values of a trial's draws ``raw`` (Optuna's ``trial.params``), each
    read by its declaration. A :class:`PipelineError` when a dimension has no draw (the
    trial was interrupted while it was being drawn)."""
    values: dict[str, Value] = {}
    for dim in space.dimensions:
        if dim.name not in raw:
            raise PipelineError(f"the trial has no value of {dim.name}: it was interrupted "
                                f"while its parameters were drawn")
        drawn = raw[dim.name]
        if dim.kind == "float":
            number = float(drawn)
            if dim.step is not None:
                number = dim.low + round((number - dim.low) / dim.step) * dim.step
                number = float(f"{number:.12g}")
            else:
                number = round_significant(number)
            drawn = min(max(number, dim.low), dim.high)
        elif dim.kind == "int":
            drawn = int(drawn)
        values[dim.name] = params[dim.name].normalize(drawn)
    return values


def within(space: Space, values: Mapping[str, Value], params: Mapping[str, Param]
           ) -> dict[str, Any] | None:
    """Optuna's draws that give ``values`` (a configuration, e.g. the defaults) when the
    space holds every one of them; None when it does not."""
    found = {}
    for dim in space.dimensions:
        drawn = dim.contains(values[dim.name], params[dim.name])
        if drawn is None:
            return None
        found[dim.name] = drawn
    return found


# ------------------------------------------------------------------------------ objective

@dataclass(frozen=True)
class Outcome:
    """What a trial's validation history says: the objective's value (None when the
    validation figures are never finite: training diverged) and the epoch it comes from."""

    value: float | None
    best_epoch: int | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None


def outcome(history: Mapping[str, Sequence[float]], objective: str = "val_loss") -> Outcome:
    """The objective of a trial from TrainModel's ``history.csv`` columns: the lowest
    validation loss (``val_loss``) or the best validation accuracy (``val_accuracy``),
    the earliest epoch on a tie, with both figures at that epoch."""
    if objective not in OBJECTIVES:
        raise PipelineError(f"unknown objective {objective!r}; choose one of "
                            f"{', '.join(OBJECTIVES)}")
    column = [float(v) for v in history.get(objective, ())]
    finite = [i for i, v in enumerate(column) if math.isfinite(v)]
    if not finite:
        return Outcome(None)
    pick = min if OBJECTIVES[objective] == "minimize" else max
    best = pick(finite, key=lambda i: column[i])

    def at(name: str) -> float | None:
        values = history.get(name)
        if values is None or best >= len(values) or not math.isfinite(float(values[best])):
            return None
        return float(values[best])

    epochs = history.get("epoch")
    epoch = int(epochs[best]) if epochs is not None else best + 1
    return Outcome(column[best], epoch, at("val_loss"), at("val_accuracy"))


# --------------------------------------------------------------------------- identities

def digest(content: Any, length: int = 10) -> str:
    """A short hash of JSON-ready ``content``."""
    blob = json.dumps(content, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:length]


def signature_difference(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> str:
    """What differs between two study signatures, shortly: ``"space (units: [16, 32] vs
    [8, 16])"``, ``"fixed parameters (epochs: 20 vs 10)"``."""
    parts = []
    for key in sorted(set(mine) | set(theirs)):
        a, b = mine.get(key), theirs.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            names = sorted(name for name in set(a) | set(b) if a.get(name) != b.get(name))
            shown = ", ".join(f"{name}: {_brief(a.get(name))} vs {_brief(b.get(name))}"
                              for name in names[:3])
            parts.append(f"{key} ({shown}{', ...' if len(names) > 3 else ''})")
        else:
            parts.append(f"{key} ({_brief(a)} vs {_brief(b)})")
    return "; ".join(parts) or "nothing"


def _brief(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, dict):
        if "choices" in value:
            return "[" + ", ".join(map(_shown, value["choices"])) + "]"
        if "low" in value:
            return Dimension("", value.get("kind", "float"), low=value["low"],
                             high=value["high"], log=value.get("log", False),
                             step=value.get("step")).describe()
    return _shown(value)


# ------------------------------------------------------------------------------- tables

#: Columns of trials.csv before the searched parameters, and after them.
TRIAL_COLUMNS = ("trial", "state", "objective", "best_epoch", "val_loss", "val_accuracy",
                 "seconds", "reused")
TRIAL_END = ("error",)


def trial_row(number: int, state: str, values: Mapping[str, Value],
              result: Outcome | None = None, seconds: float | None = None,
              reused: bool | None = None, error: str = "") -> dict[str, Any]:
    """One row of trials.csv: a trial's number, state (complete, failed, running), the
    objective and the figures at its best epoch, its training seconds, whether its
    TrainModel existed before the search asked for it, its parameters and any error."""
    row: dict[str, Any] = {
        "trial": number, "state": state,
        "objective": None if result is None else result.value,
        "best_epoch": None if result is None else result.best_epoch,
        "val_loss": None if result is None else result.val_loss,
        "val_accuracy": None if result is None else result.val_accuracy,
        "seconds": seconds, "reused": reused, "error": error}
    row.update(values)
    return row


def _cell(value: Any, column: str = "") -> str:
    """A table cell: numbers to 4 decimals (seconds to 1, tiny ones in 3 digits)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if column == "seconds":
            return f"{value:.1f}"
        return f"{value:.3g}" if value and abs(value) < 1e-4 else f"{value:.4f}"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value).replace("|", "\\|")


def _value_cell(value: Any) -> str:
    """A parameter's value as the command line writes it."""
    if isinstance(value, float):
        return f"{value:g}"
    return _cell(value)


def write_trials_csv(rows: Iterable[Mapping[str, Any]], names: Sequence[str],
                     path: str | os.PathLike[str]) -> None:
    import csv

    columns = [*TRIAL_COLUMNS, *names, *TRIAL_END]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: (_value_cell(value) if isinstance(value, tuple) else value)
                             for key, value in row.items()})


def write_trials_markdown(rows: Sequence[Mapping[str, Any]], names: Sequence[str],
                          path: str | os.PathLike[str], *, title: str, objective: str,
                          about: Sequence[str] = (), best: int | None = None) -> None:
    """trials.md: what was searched, the best trials first, then every trial in order."""
    direction = OBJECTIVES[objective]
    complete = [r for r in rows if r["state"] == "complete"]
    ordered = sorted(complete, key=lambda r: r["objective"] if direction == "minimize"
                     else -r["objective"])
    columns = ["trial", "objective", "best_epoch", "val_loss", "val_accuracy", *names,
               "seconds", "reused"]
    every = ["trial", "state", "objective", "best_epoch", *names, "seconds", "reused", "error"]

    def table(selected: Iterable[Mapping[str, Any]], cols: Sequence[str]) -> list[str]:
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
        for row in selected:
            cells = [(_value_cell(row.get(c)) if c in names else _cell(row.get(c), c))
                     + (" **best**" if c == "trial" and row["trial"] == best else "")
                     for c in cols]
            lines.append("| " + " | ".join(cells) + " |")
        return lines

    failed = sum(r["state"] == "failed" for r in rows)
    interrupted = sum(r["state"] == "interrupted" for r in rows)
    counted = len(rows) - interrupted
    aside = (f" ({interrupted} more interrupted while their parameters were drawn, by a "
             f"process that was killed: not counted)" if interrupted else "")
    best_word = "lowest" if direction == "minimize" else "highest"
    lines = [f"# {title}", "", *about, "",
             f"{counted} trials: {len(complete)} complete, {failed} failed{aside}. The objective "
             f"is the {best_word} `{objective}` of each trial's validation history (never "
             f"the test set); `best_epoch` is the epoch it comes from. `reused`: the "
             f"trial's TrainModel existed before the search asked for it (an earlier "
             f"search, a grid, RunAll), so it was not trained again.", ""]
    if ordered:
        lines += [f"## The best {min(10, len(ordered))} trials", ""]
        lines += table(ordered[:10], columns)
        lines += ["", "## Every trial", ""]
    lines += table(rows, every)
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- best against default

#: Columns of comparison.csv: one row per configuration and seed.
COMPARISON_COLUMNS = ("configuration", "seed", "test_accuracy", "test_loss", "final_epochs",
                      "val_loss", "val_accuracy")
#: Columns of the summary: one row per configuration.
SUMMARY_COLUMNS = ("configuration", "seeds", "mean_test_accuracy", "std_test_accuracy",
                   "min_test_accuracy", "max_test_accuracy")


def summarize(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per configuration: mean, sample standard deviation, min and max test accuracy
    over its seeds (the rows of :data:`COMPARISON_COLUMNS`)."""
    from .curves import spread

    found = []
    for name in dict.fromkeys(row["configuration"] for row in rows):
        mean, std, low, high = spread(r["test_accuracy"] for r in rows
                                      if r["configuration"] == name)
        seeds = sum(r["configuration"] == name for r in rows)
        found.append({"configuration": name, "variant": name, "seeds": seeds,
                      "mean_test_accuracy": mean, "std_test_accuracy": std,
                      "min_test_accuracy": low, "max_test_accuracy": high})
    return found


def verdict(best: Mapping[str, Any], default: Mapping[str, Any]) -> dict[str, Any]:
    """Best minus default: the difference of their mean test accuracies and whether the
    two are apart (their min-max ranges over seeds do not overlap)."""
    difference = best["mean_test_accuracy"] - default["mean_test_accuracy"]
    apart = (best["min_test_accuracy"] > default["max_test_accuracy"]
             or default["min_test_accuracy"] > best["max_test_accuracy"])
    if not apart:
        better = "neither (the ranges overlap)"
    else:
        better = best["configuration"] if difference > 0 else default["configuration"]
    return {"difference": difference, "apart": apart, "better": better}


def write_comparison_csv(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]
                         ) -> None:
    from .curves import write_csv

    write_csv(rows, path, COMPARISON_COLUMNS)


def write_comparison_markdown(rows: Sequence[Mapping[str, Any]],
                              summary: Sequence[Mapping[str, Any]],
                              compared: Mapping[str, Any] | None,
                              configurations: Mapping[str, str],
                              path: str | os.PathLike[str], title: str) -> None:
    """The best configuration against the default one on the test set: the summary over
    seeds, the verdict, the configurations and every seed's figures."""
    from .curves import table

    seeds = summary[0]["seeds"] if summary else 0
    lines = [f"# {title}", "",
             f"Each configuration's final model (EvaluateTest: trained on all training "
             f"documents for the epochs its validation run found best) with {seeds} "
             f"seed{'s' if seeds != 1 else ''}; the seed also changes the validation "
             f"split. The test set is read here and nowhere in the search.", "",
             "## Test accuracy over seeds", ""]
    lines += table(summary, SUMMARY_COLUMNS)
    if compared is not None:
        sign = "+" if compared["difference"] >= 0 else ""
        lines += ["", f"Best minus default: {sign}{compared['difference']:.4f} in mean test "
                      f"accuracy; apart (min-max ranges do not overlap): "
                      f"{'yes' if compared['apart'] else 'no'}; better: "
                      f"{compared['better']}."]
    else:
        lines += ["", "The default configuration is the best one the search found: there "
                      "is nothing to compare."]
    lines += ["", "## Configurations", ""]
    lines += [f"- **{name}**: {text}" for name, text in configurations.items()]
    lines += ["", "## Every seed", ""]
    lines += table(rows, COMPARISON_COLUMNS)
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- figures

def plot_search(trials: Sequence[Any], objective: str, history_path: str | os.PathLike[str],
                importance_path: str | os.PathLike[str], title: str) -> None:
    """Optuna's optimisation history and parameter importances (its matplotlib
    visualisations) of finished trials (Optuna's FrozenTrial objects), as PNG files.

    With fewer than two complete trials, or when no parameter varies among them, the
    importance figure says so instead of drawing bars.
    """
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization.matplotlib import (
        plot_optimization_history,
        plot_param_importances,
    )

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=OBJECTIVES[objective])
    study.add_trials(trials)
    # Optuna's plots switch pyplot to its own style: keep that to these two figures
    with warnings.catch_warnings(), matplotlib.rc_context():
        warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning on its plots
        axes = plot_optimization_history(study, target_name=objective)
        axes.set_title(f"{title}: optimisation history")
        _save(axes.figure, history_path)
        try:
            axes = plot_param_importances(study, target_name=objective)
            axes.set_title("", loc="left")  # Optuna's own title, in place of ours
            axes.set_title(f"{title}: parameter importances")
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            figure = plt.figure(figsize=(8, 3))
            figure.text(0.5, 0.5, f"No parameter importances: {exc}", ha="center",
                        va="center", wrap=True)
            axes = figure.gca()
            axes.set_axis_off()
        _save(axes.figure, importance_path)


def _save(figure: Any, path: str | os.PathLike[str]) -> None:
    """Save one of pyplot's figures and close it."""
    import matplotlib.pyplot as plt

    figure.set_size_inches(9, 5.5)
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)
