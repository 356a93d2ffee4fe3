"""The runs of a data folder in the terminal: a table to filter and sort, and the
differences between two runs (``text-classifier runs`` and ``diff``)."""
from __future__ import annotations

import csv
import io
import json
import math
import operator
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import PipelineError
from .collect import METRIC, METRICS, Collection, Run
from .readers import number_or_none

#: What a filter compares with: ``NAME=VALUE``, ``NAME!=VALUE``, ``NAME>=0.8`` ...
_FILTER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|=|!=|>=|<=|>|<)(.*)$")
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "==": operator.eq, "!=": operator.ne, ">=": operator.ge,
    "<=": operator.le, ">": operator.gt, "<": operator.lt}
#: Aliases a user may type for a metric.
ALIASES = {"test_accuracy": "accuracy", "test_loss": "loss", "f1": "macro_f1",
           "auc": "roc_auc", "chosen_epoch": "epoch", "final_epochs": "epoch",
           "seconds": "train_s", "time": "when"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """``text`` without control characters (a value from a file must not move the
    cursor or recolour the terminal)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def metric_name(name: str) -> str:
    return ALIASES.get(name, name)


def known_names(runs: Sequence[Run]) -> set[str]:
    return {name for run in runs for name in run.parameters} | set(METRIC) | {"when"}


def _same(a: str, b: str) -> bool:
    if a.replace(" ", "") == b.replace(" ", ""):
        return True
    x, y = number_or_none(a), number_or_none(b)
    return x is not None and y is not None and x == y


def matches(run: Run, name: str, op: str, wanted: str) -> bool:
    value = run.value(name)
    if value is None:
        return op == "!="
    if op in ("=", "==", "!="):
        same = _same(str(value), wanted) if isinstance(value, str) else \
            number_or_none(wanted) == value
        return same if op != "!=" else not same
    left, right = number_or_none(value), number_or_none(wanted)
    if left is None or right is None or math.isnan(left):
        return False
    return _OPERATORS[op](left, right)


def select(runs: Sequence[Run], dataset: str | None = None, model: str | None = None,
           filters: Sequence[str] = ()) -> list[Run]:
    """The runs of ``dataset`` and ``model`` that pass every filter (``units=16``,
    ``accuracy>=0.85``, ``optimizer!=adam``); a filter naming nothing any run has is
    refused in one line."""
    chosen = [run for run in runs if (not dataset or run.dataset == dataset)
              and (not model or run.model == model)]
    known = known_names(runs)
    for text in filters:
        found = _FILTER.match(text)
        if not found:
            raise PipelineError(f"filter {text!r}: expected NAME=VALUE (or !=, <, <=, >, "
                                f">=), e.g. units=16 or accuracy>=0.85")
        name, op, wanted = metric_name(found.group(1)), found.group(2), found.group(3).strip()
        if name not in known:
            raise PipelineError(f"filter {text!r}: no run has {name!r}; parameters and "
                                f"metrics are {', '.join(sorted(known))}")
        if op not in ("=", "==", "!=") and number_or_none(wanted) is None:
            raise PipelineError(f"filter {text!r}: {op} compares numbers, got {wanted!r}")
        chosen = [run for run in chosen if matches(run, name, op, wanted)]
    return chosen


def order(runs: Sequence[Run], sort: str | None, reverse: bool = False,
          names: set[str] | None = None) -> list[Run]:
    """Sorted by ``sort``: a metric best first (accuracy, F1, AUC highest; loss and
    seconds lowest), a parameter ascending (numbers as numbers), ``when`` oldest first;
    runs without the value last. Default: ``when``."""
    name = metric_name(sort or "when")
    if names is not None and name not in names:
        raise PipelineError(f"--sort {sort}: not a metric or parameter of these runs; "
                            f"try one of {', '.join(sorted(names))}")
    descending = METRIC[name].better == "high" if name in METRIC else False

    def key(run: Run) -> tuple[int, float, str]:
        value = run.value(name)
        number = number_or_none(value)
        if number is not None and not math.isnan(number):
            return (0, -number if descending else number, "")
        if value is None or number is not None:
            return (2, 0.0, "")
        return (1, 0.0, str(value))

    ordered = sorted(runs, key=lambda r: (key(r), r.task_id))
    if reverse:
        present = [r for r in ordered if key(r)[0] < 2]
        return present[::-1] + [r for r in ordered if key(r)[0] == 2]
    return ordered


def stamp(when: float | None) -> str:
    return "" if when is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(when))


def shown(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "nan" if math.isnan(value) else str(value)
        return f"{value:.{digits}f}" if digits else f"{value:.0f}"
    return printable(value)


def columns(collection: Collection, runs: Sequence[Run], every: bool = False) -> list[str]:
    """Parameter columns: those that differ between the listed runs (every one read by
    any of them with ``every``)."""
    if every:
        names = sorted({name for run in runs for name in run.parameters}
                       - {"dataset", "model", "seed"})
        return names
    return collection.varying(runs)


def table_rows(runs: Sequence[Run], parameters: Sequence[str]
               ) -> tuple[list[str], list[list[str]]]:
    heads = ["id", "dataset", "model", "seed", *parameters, *(m.name for m in METRICS), "when"]
    rows = [[run.short, run.dataset, run.model, run.seed,
             *(run.parameters.get(name, "-") for name in parameters),
             *(shown(run.metrics.get(m.name), m.digits) for m in METRICS), stamp(run.when)]
            for run in runs]
    return heads, [[printable(value) for value in row] for row in rows]


def text_table(heads: Sequence[str], rows: Sequence[Sequence[str]],
               numeric: Sequence[bool]) -> str:
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(heads)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if right else c.ljust(w)
                         for c, w, right in zip(cells, widths, numeric, strict=True)).rstrip()

    return "\n".join([line(heads), line(["-" * w for w in widths]), *map(line, rows)])


def runs_output(collection: Collection, runs: Sequence[Run], form: str = "table",
                every: bool = False) -> str:
    """The runs as an aligned table, CSV or JSON."""
    if form == "json":
        return json.dumps([{
            "id": run.short, "task_id": run.task_id, "folder": str(run.folder),
            "parameters": run.parameters,
            "metrics": {k: (v if v is None or math.isfinite(v) else None)
                        for k, v in run.metrics.items()},
            "when": stamp(run.when)} for run in runs], indent=2, ensure_ascii=False)
    parameters = columns(collection, runs, every or form == "csv")
    heads, rows = table_rows(runs, parameters)
    if form == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["task_id", *heads])
        writer.writerows([[printable(run.task_id), *row] for run, row in zip(runs, rows,
                                                                               strict=True)])
        return out.getvalue().rstrip("\n")
    numeric = [h in METRIC or h == "seed" or all(number_or_none(r[i]) is not None
                                                 for r in rows if r[i] != "-")
               for i, h in enumerate(heads)]
    return text_table(heads, rows, numeric)


# ------------------------------------------------------------------------------ diff

_HASHED = re.compile(r"^[A-Za-z][A-Za-z0-9]*_.*_([0-9a-f]{10})$")


def resolve(collection: Collection, name: str) -> Run:
    """The run named by its task id, a unique prefix of it or of its hash (the ``id``
    column of ``runs``), its folder, or the id of a task of the same run (RunAll,
    PlotHistory, TrainModel)."""
    runs = collection.runs
    wanted = name.rstrip("/").rsplit("/", 1)[-1].strip()
    exact = [run for run in runs if run.task_id == wanted]
    if exact:
        return exact[0]
    hashed = _HASHED.match(wanted)
    found = [run for run in runs if run.task_id.startswith(wanted) or
             run.short.startswith(wanted) or
             (hashed is not None and run.short == hashed.group(1)) or
             (run.train_folder is not None and run.train_folder.name == wanted)] \
        if wanted else list(runs)
    if len(found) == 1:
        return found[0]
    if not found:
        known = ", ".join(run.short for run in runs[:8]) + (", ..." if len(runs) > 8 else "")
        raise PipelineError(f"no run {printable(name)!r} in {collection.root}"
                            + (f"; runs: {known} (text-classifier runs lists them)" if runs
                               else " (it holds no finished run)"))
    listed = "; ".join(f"{run.short} ({printable(run.dataset)}, {printable(run.model)}, "
                       f"seed {printable(run.seed)})" for run in found[:8])
    more = f" and {len(found) - 8} more" if len(found) > 8 else ""
    raise PipelineError(f"{printable(name)!r} matches {len(found)} runs: {listed}{more}; "
                        f"give more of the id")


def signed(value: float | None, digits: int) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:+.{digits}f}" if digits else f"{value:+.0f}"


def diff(a: Run, b: Run, every: bool = False, classes: bool = False) -> str:
    """The parameters that differ (all of them with ``every``) and the metrics of two
    runs with their differences, ``b - a``."""
    lines = [f"a  {printable(a.task_id)}  ({printable(a.dataset)}, {printable(a.model)}, "
             f"seed {printable(a.seed)})",
             f"b  {printable(b.task_id)}  ({printable(b.dataset)}, {printable(b.model)}, "
             f"seed {printable(b.seed)})", ""]
    if a is b:
        lines.append("(the same run)")
    names = sorted(set(a.parameters) | set(b.parameters))
    differ = [n for n in names if a.parameters.get(n) != b.parameters.get(n)]
    listed = names if every else differ
    rows = [[printable(n), printable(a.parameters.get(n, "- (not read)")),
             printable(b.parameters.get(n, "- (not read)"))] for n in listed]
    title = "parameters" if every else "parameters that differ"
    if rows:
        lines += _indent(text_table([title, "a", "b"], rows, [False, False, False]))
    else:
        lines.append("no parameter differs")
    equal = len(names) - len(differ)
    if not every and equal:
        lines.append(f"  ({equal} other parameter{'s' if equal != 1 else ''} equal; "
                     f"--all shows them)")
    lines.append("")
    rows = []
    for metric in METRICS:
        x, y = a.metrics.get(metric.name), b.metrics.get(metric.name)
        if x is None and y is None:
            continue
        rows.append([metric.name, shown(x, metric.digits), shown(y, metric.digits),
                     signed(None if x is None or y is None else y - x, metric.digits)])
    lines += _indent(text_table(["metrics", "a", "b", "b - a"], rows,
                                [False, True, True, True]))
    if classes and (a.per_class or b.per_class):
        rows = []
        for name in dict.fromkeys([*a.per_class, *b.per_class]):
            x = a.per_class.get(name, {}).get("f1")
            y = b.per_class.get(name, {}).get("f1")
            rows.append([printable(name), shown(x), shown(y),
                         signed(None if x is None or y is None else y - x, 4)])
        lines += [""] + _indent(text_table(["F1 per class", "a", "b", "b - a"], rows,
                                           [False, True, True, True]))
    return "\n".join(lines)


def _indent(text: str) -> list[str]:
    return [f"  {line}" for line in text.splitlines()]
