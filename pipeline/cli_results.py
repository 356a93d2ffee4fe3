"""``text-classifier report|runs|diff``: every result of the data folder.

    text-classifier report                      # the HTML page of every run; prints its path
    text-classifier runs                        # one line per finished run
    text-classifier runs --dataset reuters -f units=16 --sort accuracy
    text-classifier diff 36441be 5e0e484        # what differs between two runs

The data folder is the configuration's, as for ``predict`` (``--config``, ``--data-dir``).
These commands read what the tasks left and never train: ``report`` runs the Report task,
``runs`` and ``diff`` only read.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import PipelineError

#: Notes on damaged files printed by ``runs`` before it says "and N more".
SHOWN_NOTES = 10

Locate = Callable[[argparse.Namespace], Path]


def add_commands(commands: Any, add_common: Callable[[argparse.ArgumentParser, Any], None],
                 locate: Locate) -> None:
    """Add ``report``, ``runs`` and ``diff`` to the subcommands of ``text-classifier``;
    ``locate(args)`` gives the data folder."""
    report = commands.add_parser(
        "report", help="write the HTML report of every run and print its path",
        description="Write one static HTML page of every finished run, its groups over "
                    "seeds and every grid of the data folder (the Report task), and print "
                    "its path. A report of the folder as it is is reused.")
    runs = commands.add_parser(
        "runs", help="list the finished runs as a table",
        description="List the finished runs of the data folder (EvaluateTest folders): "
                    "dataset, model, seed, the parameters that differ, test metrics, when.")
    runs.add_argument("--dataset", help="only runs of this dataset")
    runs.add_argument("--model", help="only runs of this model")
    runs.add_argument("-f", "--filter", action="append", default=[], metavar="NAME=VALUE",
                      help="only runs whose parameter or metric NAME is VALUE (also !=, <, "
                           "<=, >, >=: -f units=16 -f accuracy>=0.85); repeatable")
    runs.add_argument("--sort", metavar="NAME",
                      help="sort by a metric, best first (accuracy, loss, macro_f1, roc_auc, "
                           "val_accuracy, epoch, train_s, final_s), by a parameter, or by "
                           "when (default: when, oldest first)")
    runs.add_argument("--reverse", action="store_true", help="reverse the order")
    runs.add_argument("--all-params", action="store_true",
                      help="a column for every parameter, not only those that differ")
    runs.add_argument("--format", choices=("table", "csv", "json"), default="table")
    diff = commands.add_parser(
        "diff", help="show what differs between two runs",
        description="The parameters that differ between two runs and their metrics with "
                    "the differences (b - a). A run is named by its task id, a unique "
                    "prefix of it, or of the id column of `runs`.")
    diff.add_argument("a", help="the first run")
    diff.add_argument("b", help="the second run")
    diff.add_argument("--all", action="store_true", help="list the equal parameters too")
    diff.add_argument("--classes", action="store_true", help="F1 of each class too")
    for sub, function in ((report, report_command), (runs, runs_command),
                          (diff, diff_command)):
        sub.set_defaults(function=function, locate=locate)
        add_common(sub, argparse.SUPPRESS)


def _folder(args: argparse.Namespace) -> Path:
    if args.param:
        raise PipelineError(f"{args.command} reads every run of the data folder and takes no "
                            f"--param; filter runs with `text-classifier runs -f NAME=VALUE`")
    data = args.locate(args)
    if not data.is_dir():
        raise PipelineError(f"data folder {data} does not exist; give --data-dir or --config "
                            f"for the folder that holds your results")
    return data


def report_command(args: argparse.Namespace) -> None:
    import luigi

    from .tasks.report import Report

    _folder(args)
    report = Report()
    if report.complete():
        print(f"The report is up to date: {report.output_dir / report.files['page']}")
        return
    if not luigi.build([report], local_scheduler=True, log_level="WARNING"):
        raise PipelineError("making the report failed; the error is in the log above")
    print(report.describe_result().lstrip("\n"))


def _collection(args: argparse.Namespace) -> Any:
    from .report import collect
    from .report.terminal import printable

    collection = collect(_folder(args))
    for note in collection.notes[:SHOWN_NOTES]:
        print(f"note: {printable(note)}", file=sys.stderr)
    if len(collection.notes) > SHOWN_NOTES:
        print(f"note: and {len(collection.notes) - SHOWN_NOTES} more (text-classifier "
              f"report lists them all)", file=sys.stderr)
    return collection


def runs_command(args: argparse.Namespace) -> None:
    from .report.terminal import known_names, order, runs_output, select

    collection = _collection(args)
    chosen = select(collection.runs, args.dataset, args.model, args.filter)
    ordered = order(chosen, args.sort, args.reverse, known_names(collection.runs))
    if not ordered and args.format == "table":
        print(f"no finished run in {collection.root}" if not collection.runs else
              f"none of the {len(collection.runs)} runs matches", file=sys.stderr)
        return
    print(runs_output(collection, ordered, args.format, args.all_params))


def diff_command(args: argparse.Namespace) -> None:
    from .report.terminal import diff, resolve

    collection = _collection(args)
    print(diff(resolve(collection, args.a), resolve(collection, args.b), args.all,
               args.classes))
