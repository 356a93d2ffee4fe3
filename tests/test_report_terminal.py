"""The runs in the terminal (pipeline/report/terminal.py): filtering on any parameter or
metric, sorting best first, naming a run by a prefix, and the diff of two runs, on the
runs of a real tiny chain."""
import csv
import io
import json

import pytest
from report_chain import chain_folder

from pipeline.errors import PipelineError
from pipeline.io.storage import read_json
from pipeline.report import collect
from pipeline.report.terminal import (
    diff,
    known_names,
    order,
    printable,
    resolve,
    runs_output,
    select,
)


@pytest.fixture(scope="module")
def collection():
    return collect(chain_folder()[0])


def accuracy(run):
    return read_json(run.folder / "metrics.json")["accuracy"]


@pytest.mark.slow
def test_filters_on_dataset_model_parameters_and_metrics(collection):
    runs = collection.runs
    assert {r.model for r in select(runs, model="nbsvm")} == {"nbsvm"}
    assert len(select(runs, model="nbsvm")) == 2
    assert select(runs, dataset="reuters") == []
    units = select(runs, filters=["units=8"])
    assert {r.model for r in units} == {"mlp"} and len(units) == 7  # nbsvm reads no units
    assert {r.parameters["train_size"] for r in select(runs, filters=["train_size>=6"])} == \
        {"6", "20"}
    assert select(runs, filters=["l2=1e-3"]) == select(runs, filters=["l2=0.001"])
    assert len(select(runs, filters=["l2=0.001"])) == 1
    threshold = sorted(accuracy(r) for r in runs)[4]
    assert {r.task_id for r in select(runs, filters=[f"accuracy>{threshold}"])} == \
        {r.task_id for r in runs if accuracy(r) > threshold}
    assert len(select(runs, filters=["seed!=0"])) == len([r for r in runs if r.seed != "0"])
    both = select(runs, model="mlp", filters=["seed=1", "train_size=0"])
    assert [(r.seed, r.parameters["train_size"]) for r in both] == [("1", "0")]


@pytest.mark.parametrize("text, message", [
    ("units", "expected NAME=VALUE"),
    ("unitz=3", "no run has 'unitz'"),
    ("accuracy>high", "compares numbers"),
])
@pytest.mark.slow
def test_a_bad_filter_is_one_line(collection, text, message):
    with pytest.raises(PipelineError, match=message) as error:
        select(collection.runs, filters=[text])
    assert "\n" not in str(error.value)


@pytest.mark.slow
def test_sorting_by_a_metric_is_best_first(collection):
    runs = collection.runs
    names = known_names(runs)
    by_accuracy = order(runs, "accuracy", names=names)
    values = [accuracy(r) for r in by_accuracy]
    assert values == sorted(values, reverse=True)
    losses = [r.metrics["loss"] for r in order(runs, "test_loss", names=names)]
    assert losses == sorted(losses)
    assert [accuracy(r) for r in order(runs, "accuracy", reverse=True)] == sorted(values)
    sizes = [int(r.parameters["train_size"]) for r in order(runs, "train_size")]
    assert sizes == sorted(sizes)
    by_time = [r.when for r in order(runs, None)]
    assert by_time == sorted(by_time)
    with pytest.raises(PipelineError, match="--sort nope: not a metric or parameter"):
        order(runs, "nope", names=names)


@pytest.mark.slow
def test_a_run_is_named_by_its_id_a_unique_prefix_or_another_task_of_it(collection):
    run = collection.runs[0]
    assert resolve(collection, run.task_id) is run
    assert resolve(collection, str(run.folder) + "/") is run
    unique = next(n for n in range(1, 11)
                  if sum(r.short.startswith(run.short[:n]) for r in collection.runs) == 1)
    assert resolve(collection, run.short[:unique]) is run
    plotted = next(r for r in collection.runs if "history" in r.figures)
    assert resolve(collection, plotted.figures["history"].parent.name) is plotted  # PlotHistory
    assert resolve(collection, plotted.train_folder.name) is plotted  # its TrainModel


@pytest.mark.slow
def test_unknown_and_ambiguous_runs_are_one_line_with_candidates(collection):
    with pytest.raises(PipelineError) as error:
        resolve(collection, "nope")
    message = str(error.value)
    assert "no run 'nope'" in message and collection.runs[0].short in message
    with pytest.raises(PipelineError) as error:
        resolve(collection, "EvaluateTest_relu")
    message = str(error.value)
    assert "'EvaluateTest_relu' matches 7 runs" in message and "give more of the id" in message
    assert "\n" not in message


@pytest.mark.slow
def test_diff_shows_the_parameters_that_differ_and_real_metric_differences(collection):
    mlp = [r for r in collection.runs if r.model == "mlp" and r.parameters["train_size"] == "0"
           and r.parameters["l2"] == "0.0"]
    a, b = sorted(mlp, key=lambda r: r.seed)
    text = diff(a, b)
    lines = text.splitlines()
    assert lines[0].startswith(f"a  {a.task_id}") and lines[1].startswith(f"b  {b.task_id}")
    differing = [line.split() for line in lines if line.startswith("  seed")]
    assert differing == [["seed", "0", "1"]]
    assert "other parameters equal" in text and "  l2 " not in text
    row = next(line.split() for line in lines if line.strip().startswith("accuracy"))
    assert row[1:] == [f"{accuracy(a):.4f}", f"{accuracy(b):.4f}",
                       f"{accuracy(b) - accuracy(a):+.4f}"]
    nbsvm = next(r for r in collection.runs if r.model == "nbsvm")
    across = diff(a, nbsvm)
    assert "units" in across and "- (not read)" in across  # nbsvm reads no units
    every = diff(a, b, every=True, classes=True)
    assert "  num_words" in every and "F1 per class" in every and "negative" in every


@pytest.mark.slow
def test_outputs_as_table_csv_and_json(collection):
    runs = order(collection.runs, "accuracy")
    table = runs_output(collection, runs).splitlines()
    assert table[0].split()[:4] == ["id", "dataset", "model", "seed"]
    assert [line.split()[0] for line in table[2:]] == [r.short for r in runs]
    rows = list(csv.DictReader(io.StringIO(runs_output(collection, runs, "csv"))))
    assert [row["task_id"] for row in rows] == [r.task_id for r in runs]
    assert [float(row["accuracy"]) for row in rows] == pytest.approx(
        [accuracy(r) for r in runs], abs=5e-5)
    assert "num_words" in rows[0]  # csv: every parameter
    data = json.loads(runs_output(collection, runs, "json"))
    assert [d["metrics"]["accuracy"] for d in data] == [accuracy(r) for r in runs]
    assert data[0]["parameters"] == runs[0].parameters


def test_control_characters_from_files_do_not_reach_the_terminal():
    assert printable("a\x1b[2Jb\nc") == "a\\x1b[2Jb\\x0ac"
