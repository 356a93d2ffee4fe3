"""Model variants as one grid: reading variant files, the comparison table and plots.

A variant is a name and the parameters it changes from a base configuration (see the
files of ``pipeline/variants/``, one per dataset). The CompareModels task trains and
evaluates each one through the ordinary TrainModel/EvaluateTest tasks; the functions
here turn their artifacts into ``comparison.csv`` and ``comparison.md`` (the figures
are in plots.py).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..errors import PipelineError

V = TypeVar("V")

#: A variants file is a short hand-written table (the shipped ones: 3 KB at most).
MAX_VARIANTS_BYTES = 1 << 20

#: Columns of comparison.csv / comparison.md, in order.
COLUMNS = ("variant", "seed", "parameters", "trainable_parameters", "best_epoch",
           "min_val_loss", "val_accuracy_at_best", "last_val_loss", "val_loss_rise",
           "test_loss", "test_accuracy", "final_epochs", "training_seconds",
           "final_training_seconds")


#: The most variants one file may hold (the planning of a grid is measured up to this).
MAX_VARIANTS = 10_000
#: The most dots outside strings on one line of a TOML variants file: a variant's key is
#: at most ``table.name`` (tomllib's memory grows with the square of a dotted key's depth:
#: 50,000 levels take about 10 GB).
MAX_TOML_DOTS = 64
_TOML_SPECIAL = re.compile(r"""["'#.\n]""")
_BASIC_END = re.compile(r'\\.|"|\n', re.S)
_MULTI_BASIC_END = re.compile(r'\\.|"""', re.S)


def check_toml_depth(text: str, shown: object, limit: int = MAX_TOML_DOTS) -> None:
    """Refuse a TOML text with a line of more than ``limit`` dots outside strings and
    comments, in one linear pass (strings are skipped with searches that only move
    forward); tomllib reports every other problem."""
    position, dots = 0, 0
    while (match := _TOML_SPECIAL.search(text, position)) is not None:
        char, at = match[0], match.start()
        position = at + 1
        if char == "\n":
            dots = 0
        elif char == ".":
            dots += 1
            if dots > limit:
                raise PipelineError(f"variants file {shown}: a key nested more than {limit} "
                                    f"levels deep (line {text.count(chr(10), 0, at) + 1}); a "
                                    f"variant is a table of parameter = value lines")
        elif char == "#":
            end = text.find("\n", at)
            position = len(text) if end == -1 else end
        elif text.startswith(char * 3, at):
            if char == "'":
                end = text.find("'" * 3, at + 3)
                position = len(text) if end == -1 else end + 3
            else:
                position = at + 3
                while (close := _MULTI_BASIC_END.search(text, position)) is not None \
                        and close[0] != '"' * 3:
                    position = close.end()
                position = len(text) if close is None else close.end()
            while position < len(text) and text[position] == char:  # a string's last quotes
                position += 1
        elif char == "'":
            end = text.find("'", at + 1)
            newline = text.find("\n", at + 1)
            position = len(text) if end == -1 else (end + 1 if newline == -1 or end < newline
                                                    else newline)
        else:
            while (close := _BASIC_END.search(text, position)) is not None \
                    and close[0].startswith("\\"):
                position = close.end()
            position = len(text) if close is None else (
                close.end() if close[0] == '"' else close.start())


def load_variants(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """``{name: {parameter: value}}`` from a TOML or JSON file.

    ``description`` entries are kept; the caller checks the parameters.
    """
    from ..io.configcheck import ConfigError, read_text_file

    path = Path(path)
    try:
        text = read_text_file(path, f"variants file {path}", MAX_VARIANTS_BYTES,
                              "a table of variants")
    except ConfigError as exc:
        raise PipelineError(str(exc)) from None
    is_json = path.suffix.lower() == ".json"
    if not is_json:
        check_toml_depth(text, path)
    try:
        data = json.loads(text) if is_json else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise PipelineError(f"variants file {path}: malformed ({exc})") from None
    except RecursionError:
        raise PipelineError(f"variants file {path}: nested too deeply, not a table of "
                            f"variants") from None
    if not isinstance(data, dict) or not data:
        raise PipelineError(f"variants file {path}: expected a table of variants")
    if len(data) > MAX_VARIANTS:
        raise PipelineError(f"variants file {path}: {len(data):,} variants, more than the "
                            f"{MAX_VARIANTS:,} one grid may have; split it into several "
                            f"files")
    for name, spec in data.items():
        if not isinstance(spec, dict):
            raise PipelineError(f"variants file {path}: variant {name!r} must be a table "
                                f"of parameters, got {type(spec).__name__}")
        for field, value in spec.items():
            if isinstance(value, (dict, list, bool)) or value is None:
                raise PipelineError(f"variant {name!r}: field {field!r} must be a number "
                                    f"or a string, got {value!r}")
    return data


def select_variants(variants: Mapping[str, V], names: str | Sequence[str]) -> dict[str, V]:
    """The variants named in ``names`` (a sequence, or comma-separated text; all when
    empty), in order."""
    if isinstance(names, str):
        names = names.split(",")
    wanted = [name.strip() for name in names if name.strip()]
    if not wanted:
        return dict(variants)
    unknown = [name for name in wanted if name not in variants]
    if unknown:
        raise PipelineError(f"unknown variant {unknown[0]!r}; known variants: "
                            f"{', '.join(variants)}")
    return {name: variants[name] for name in wanted}


def spec_digest(variants: Mapping[str, Any]) -> str:
    """A short hash of the resolved variants: the comparison's folder depends on it."""
    blob = json.dumps(variants, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:10]


def describe_overrides(spec: Mapping[str, Any]) -> str:
    """``"l2=0.001, dropout=0.5"``, or ``"(base)"`` for a variant that changes nothing."""
    items = [f"{key}={value}" for key, value in spec.items() if key != "description"]
    return ", ".join(items) or "(base)"


def comparison_row(name: str, spec: Mapping[str, Any], history: Mapping[str, Sequence[float]],
                   training: Mapping[str, Any], metrics: Mapping[str, Any],
                   seed: int | None = None) -> dict[str, Any]:
    """One row of the comparison from a variant's artifacts.

    ``history``: columns of TrainModel's history.csv; ``training``: its
    training.json; ``metrics``: EvaluateTest's metrics.json.
    """
    val_loss = [float(v) for v in history["val_loss"]]
    finite = [i for i, v in enumerate(val_loss) if math.isfinite(v)]
    best = min(finite, key=lambda i: val_loss[i]) if finite else None
    return {
        "variant": name,
        "seed": seed,
        "parameters": describe_overrides(spec),
        "trainable_parameters": training["trainable_parameters"],
        "best_epoch": None if best is None else int(history["epoch"][best]),
        "min_val_loss": None if best is None else val_loss[best],
        "val_accuracy_at_best": None if best is None else float(history["val_accuracy"][best]),
        "last_val_loss": val_loss[-1],
        "val_loss_rise": None if best is None else val_loss[-1] - val_loss[best],
        "test_loss": metrics["loss"],
        "test_accuracy": metrics["accuracy"],
        "final_epochs": metrics["final_epochs"],
        "training_seconds": training["seconds"],
        "final_training_seconds": metrics.get("training_seconds"),
    }


def write_csv(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


#: Columns of the per-variant summary over seeds (CompareModels --seeds N).
SUMMARY = ("variant", "seeds", "mean_test_accuracy", "std_test_accuracy",
           "min_test_accuracy", "max_test_accuracy", "mean_val_accuracy_at_best",
           "std_val_accuracy_at_best")


def summarize_seeds(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per variant: mean, sample standard deviation, min and max over its seeds."""
    import statistics

    groups: dict[Any, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["variant"], []).append(row)
    summary = []
    for name, members in groups.items():
        test = [float(r["test_accuracy"]) for r in members]
        val = [float(r["val_accuracy_at_best"]) for r in members
               if r["val_accuracy_at_best"] is not None]
        summary.append({
            "variant": name, "seeds": len(members),
            "mean_test_accuracy": statistics.fmean(test),
            "std_test_accuracy": statistics.stdev(test) if len(test) > 1 else 0.0,
            "min_test_accuracy": min(test), "max_test_accuracy": max(test),
            "mean_val_accuracy_at_best": statistics.fmean(val) if val else None,
            "std_val_accuracy_at_best": statistics.stdev(val) if len(val) > 1 else None})
    return summary


def write_markdown(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str],
                   title: str = "Model comparison",
                   summary: Sequence[Mapping[str, Any]] | None = None) -> None:
    """A Markdown table, best test accuracy first, with a short reading guide; with
    ``summary`` (several seeds) the mean and spread per variant come first."""
    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.4f}"
        return "" if value is None else str(value).replace("|", "\\|")

    ordered = sorted(rows, key=lambda row: -row["test_accuracy"])
    lines = [f"# {title}", ""]
    if summary:
        lines += [f"## Mean and spread over {summary[0]['seeds']} seeds", "",
                  "Sample standard deviation; compare variants by their means against "
                  "this spread, not by one seed.", "",
                  "| " + " | ".join(SUMMARY) + " |", "|" + "|".join("---" for _ in SUMMARY) + "|"]
        lines += ["| " + " | ".join(cell(row[c]) for c in SUMMARY) + " |"
                  for row in sorted(summary, key=lambda row: -row["mean_test_accuracy"])]
        lines += ["", "## Every run", ""]
    lines += ["Validation figures come from TrainModel (trained with the held-out documents); "
              "test figures from the final model of EvaluateTest, trained on all training "
              "documents for `final_epochs` epochs. `val_loss_rise` is the last epoch's "
              "validation loss minus the lowest one: how far the variant overfits after "
              "its best epoch.", "",
              "| " + " | ".join(COLUMNS) + " |",
              "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(cell(row[c]) for c in COLUMNS) + " |" for row in ordered]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
