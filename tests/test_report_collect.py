"""Collecting a data folder (pipeline/report/collect.py): every finished run of a real
tiny chain with its training folder and figures, its groups over seeds, its grids; a
folder damaged by hand is noted and the rest collected."""
import csv
import json
import os
import shutil
import statistics
from pathlib import Path

import pytest
from report_chain import chain_folder, copy_of

from pipeline.io.storage import read_csv_columns, read_json
from pipeline.report import collect


@pytest.fixture(scope="module")
def chain():
    return chain_folder()[0]


def folders(data, family):
    return sorted(p for p in (data / family).iterdir() if not p.name.startswith("."))


@pytest.mark.slow
def test_every_finished_run_with_its_real_figures(chain):
    collection = collect(chain)
    evaluate = folders(chain, "EvaluateTest")
    assert sorted(run.task_id for run in collection.runs) == [p.name for p in evaluate]
    assert len(collection.runs) == 9 and collection.notes == []
    for run in collection.runs:
        metrics = read_json(run.folder / "metrics.json")
        assert run.parameters == read_json(run.folder / "task.json")["parameters"]
        assert run.metrics["accuracy"] == metrics["accuracy"]
        assert run.metrics["loss"] == metrics["loss"]
        assert run.metrics["macro_f1"] == metrics["macro_f1"]
        assert run.metrics["roc_auc"] == metrics["roc_auc"]
        assert run.metrics["epoch"] == metrics["final_epochs"]
        assert run.metrics["final_s"] == metrics["training_seconds"]
        assert run.class_names == metrics["confusion_matrix"]["labels"] == ["negative",
                                                                             "positive"]
        # its TrainModel: the same parameters but final_epochs
        train = read_json(run.train_folder / "task.json")["parameters"]
        assert train == {k: v for k, v in run.parameters.items() if k != "final_epochs"}
        assert run.metrics["train_s"] == read_json(run.train_folder / "training.json")["seconds"]
        history = read_csv_columns(run.train_folder / "history.csv")
        assert run.history == history
        row = history["epoch"].index(metrics["final_epochs"])
        assert run.metrics["val_accuracy"] == history["val_accuracy"][row]
        assert run.when == (run.folder / "metrics.json").stat().st_mtime
    # RunAll's four runs have their plots; the grids' runs have none
    plotted = {run.task_id for run in collection.runs if set(run.figures) == {"history",
                                                                              "confusion"}}
    assert len(plotted) == 4 == len(folders(chain, "RunAll"))
    for run in collection.runs:
        if run.task_id in plotted:
            assert run.figures["history"].parent.parent.name == "PlotHistory"
            assert read_json(run.figures["history"].parent / "task.json")["parameters"] == \
                run.parameters


@pytest.mark.slow
def test_runs_that_differ_only_by_seed_are_grouped_with_their_spread(chain):
    collection = collect(chain)
    groups = collection.groups()
    # mlp and nbsvm over seeds 0 and 1, and the curve's two sizes over seeds 0 and 1
    assert len(groups) == 4
    assert all([run.seed for run in group.runs] == ["0", "1"] for group in groups)
    for group in groups:
        accuracies = [read_json(run.folder / "metrics.json")["accuracy"] for run in group.runs]
        mean, std, low, high = group.spread("accuracy")
        assert mean == pytest.approx(statistics.fmean(accuracies))
        assert std == pytest.approx(statistics.stdev(accuracies))
        assert (low, high) == (min(accuracies), max(accuracies))
        keys = {tuple(sorted((k, v) for k, v in run.parameters.items() if k != "seed"))
                for run in group.runs}
        assert len(keys) == 1
    # the l2 variant of the grid has one seed: no group
    assert all(group.parameters.get("l2") != "0.001" for group in groups)


@pytest.mark.slow
def test_varying_parameters_are_those_that_tell_runs_apart(chain):
    collection = collect(chain)
    varying = collection.varying()
    assert set(varying) == {"l2", "train_size"}  # the grid's variant, the curve's sizes
    assert not {"dataset", "model", "seed"} & set(varying)


@pytest.mark.slow
def test_grids_with_their_tables_and_figures(chain):
    collection = collect(chain)
    grids = {grid.family: grid for grid in collection.grids}
    assert set(grids) == {"CompareModels", "LearningCurve"}
    compare = grids["CompareModels"]
    with open(compare.folder / "comparison.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["variant"] for row in compare.rows] == [row["variant"] for row in rows]
    assert [row["test_accuracy"] for row in compare.rows] == \
        [float(row["test_accuracy"]) for row in rows]
    assert compare.rows[0]["trainable_parameters"] == int(rows[0]["trainable_parameters"])
    assert set(compare.figures) == {"test_accuracy.png", "val_loss.png", "val_accuracy.png"}
    curve = grids["LearningCurve"]
    assert [(row["size"], row["seed"]) for row in curve.rows] == [(6, 0), (6, 1), (20, 0),
                                                                   (20, 1)]
    assert curve.models == ["mlp"] and set(curve.figures) == {"learning_curve.png"}
    assert collection.datasets == ["aclimdb"] and collection.models == ["mlp", "nbsvm"]


@pytest.mark.slow
def test_a_folder_damaged_by_hand_is_noted_and_the_rest_collected(tmp_path):
    data = copy_of(tmp_path / "data")
    runs = folders(data, "EvaluateTest")
    (runs[0] / "metrics.json").write_text("{not json")
    (runs[1] / "task.json").unlink()
    metrics = read_json(runs[2] / "metrics.json")
    metrics["accuracy"] = "high"
    metrics["confusion_matrix"]["rows_true_columns_predicted"] = [[1, 2]]
    (runs[2] / "metrics.json").write_text(json.dumps(metrics))
    collected = collect(data)
    lost = collected.runs[[r.task_id for r in collected.runs].index(runs[3].name)].train_folder
    shutil.rmtree(lost)
    train = collected.runs[[r.task_id for r in collected.runs].index(runs[4].name)].train_folder
    (train / "history.csv").write_text("epoch,loss\n1,<script>\n")
    (data / "EvaluateTest" / "EvaluateTest_empty").mkdir()
    (data / "EvaluateTest" / ".EvaluateTest_x.staging-host-1.abc").mkdir()  # a staging folder
    grid = folders(data, "CompareModels")[0]
    (grid / "comparison.csv").unlink()

    collection = collect(data)
    assert len(collection.runs) == 9 - 2
    notes = "\n".join(collection.notes)
    for needle in (f"EvaluateTest/{runs[0].name}/metrics.json: not valid JSON",
                   f"EvaluateTest/{runs[1].name}/task.json: missing",
                   f"EvaluateTest/{runs[2].name}/metrics.json: accuracy is 'high', not a number",
                   f"EvaluateTest/{runs[2].name}/metrics.json: confusion_matrix is not a square",
                   f"TrainModel/{train.name}/history.csv: line 2: loss is not a number",
                   "EvaluateTest/EvaluateTest_empty: holds neither task.json nor metrics.json",
                   f"CompareModels/{grid.name}/comparison.csv: missing"):
        assert needle in notes, notes
    assert "staging" not in notes
    by_id = {run.task_id: run for run in collection.runs}
    damaged = by_id[runs[2].name]
    assert damaged.metrics["accuracy"] is None and damaged.confusion is None
    assert damaged.metrics["loss"] == metrics["loss"]  # the rest of the file is read
    orphan = by_id[runs[3].name]
    assert orphan.train_folder is None and orphan.metrics["train_s"] is None
    assert "TrainModel folder is missing" in orphan.notes[0]
    assert by_id[runs[4].name].history is None
    assert [g.family for g in collection.grids] == ["LearningCurve"]


@pytest.mark.slow
def test_digest_follows_the_folder(tmp_path):
    data = copy_of(tmp_path / "data")
    first = collect(data).digest
    assert collect(data).digest == first
    run = folders(data, "EvaluateTest")[0]
    os.utime(run / "metrics.json", (1, 1))  # touched, not changed
    assert collect(data).digest == first
    shutil.copytree(run, data / "EvaluateTest" / "EvaluateTest_copy")  # a new run
    second = collect(data).digest
    assert second != first
    metrics = read_json(run / "metrics.json")
    (run / "metrics.json").write_text(json.dumps(dict(metrics, accuracy=0.123)))
    assert collect(data).digest not in (first, second)  # an edited one


def test_empty_and_missing_data_folders(tmp_path):
    empty = collect(tmp_path)
    assert empty.exists and empty.runs == [] and empty.grids == [] and empty.notes == []
    missing = collect(tmp_path / "nope")
    assert not missing.exists and missing.runs == [] and missing.digest != empty.digest
    (tmp_path / "file").write_text("x")
    assert collect(tmp_path / "file").notes == [f"{Path(tmp_path / 'file')} is not a folder"]
