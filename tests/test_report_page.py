"""The report page (pipeline/report/page.py, figures.py): its tables hold the real numbers
of a tiny chain's runs, it loads nothing from the network, every image it shows is beside
it, and names from files are text, never markup."""
import json
import re
import shutil
import statistics

import pytest
from report_chain import Page, chain_folder, copy_of

from pipeline.io.storage import read_json
from pipeline.report import collect, write_page
from pipeline.report.collect import METRICS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The chain's report, written once: ``(collection, page path, parsed page)``."""
    collection = collect(chain_folder()[0])
    folder = tmp_path_factory.mktemp("report")
    page = write_page(collection, folder)
    return collection, page, Page(page.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_the_runs_table_holds_each_run_s_real_numbers(report):
    collection, _, page = report
    rows = {cells[0]: cells for _, cells in page.rows("runs")}
    heads = page.tables["runs"][0][1]
    assert len(rows) == 9
    for run in collection.runs:
        metrics = read_json(run.folder / "metrics.json")
        cells = dict(zip(heads, rows[run.short]))
        assert cells["dataset"] == "aclimdb" and cells["model"] == run.parameters["model"]
        assert cells["seed"] == run.parameters["seed"]
        assert cells["test accuracy"] == f"{metrics['accuracy']:.4f}"
        assert cells["test loss"] == f"{metrics['loss']:.4f}"
        assert cells["macro-F1"] == f"{metrics['macro_f1']:.4f}"
        assert cells["ROC AUC"] == f"{metrics['roc_auc']:.4f}"
        assert cells["epoch"] == str(metrics["final_epochs"])
        assert cells["final fit s"] == f"{metrics['training_seconds']:.1f}"
        seconds = read_json(run.train_folder / "training.json")["seconds"]
        assert cells["fit s"] == f"{seconds:.1f}"
        # the parameters that tell runs apart, with their values
        for name in ("l2", "train_size"):
            if name in run.parameters:
                assert f"{name}={run.parameters[name]}" in cells["parameters"]
        assert cells["when"] and cells["when"][:4].isdigit()
    assert heads[5:5 + len(METRICS)] == [m.label for m in METRICS]


@pytest.mark.slow
def test_the_seed_table_holds_means_spreads_and_ranges(report):
    collection, _, page = report
    assert len(page.rows("groups")) == 4
    heads = page.tables["groups"][0][1]
    shown = {(cells[heads.index("model")], cells[heads.index("parameters")]): cells
             for _, cells in page.rows("groups")}
    for group in collection.groups():
        accuracies = [read_json(run.folder / "metrics.json")["accuracy"] for run in group.runs]
        losses = [read_json(run.folder / "metrics.json")["loss"] for run in group.runs]
        varying = ", ".join(f"{k}={group.parameters[k]}" for k in ("l2", "train_size")
                            if k in group.parameters)
        cells = dict(zip(heads, shown[group.model, varying]))
        assert cells["mean test accuracy"] == f"{statistics.fmean(accuracies):.4f}"
        assert cells["std"] == f"{statistics.stdev(accuracies):.4f}"
        assert cells["range"] == f"{min(accuracies):.4f} – {max(accuracies):.4f}"
        assert cells["test loss (± std)"] == \
            f"{statistics.fmean(losses):.4f} ± {statistics.stdev(losses):.4f}"
        assert cells["seeds"] == "0, 1" and cells["runs"] == "2"


@pytest.mark.slow
def test_every_grid_with_its_table_and_figures(report):
    collection, page_path, page = report
    for grid in collection.grids:
        table = page.tables[f"{grid.key}-rows"]
        assert table[0][1] == grid.columns
        csv_name = "comparison.csv" if grid.family == "CompareModels" else "learning_curve.csv"
        lines = (grid.folder / csv_name).read_text().splitlines()[1:]
        assert len(table) - 1 == len(lines)
        index = grid.columns.index("test_accuracy")
        assert [cells[index] for _, cells in table[1:]] == \
            [f"{float(line.split(',')[index]):.4f}" for line in lines]
    curve = next(g for g in collection.grids if g.family == "LearningCurve")
    summary = page.tables[f"{curve.key}-summary"]
    mean = summary[0][1].index("mean_test_accuracy")
    expected = statistics.fmean(row["test_accuracy"] for row in curve.rows if row["size"] == 20)
    assert f"{expected:.4f}" in [cells[mean] for _, cells in summary[1:]]
    images = [src for src in page.resources if src.startswith("images/")]
    for name in ("test_accuracy", "val_loss", "val_accuracy", "learning_curve"):
        assert any(re.search(rf"-{name}-[0-9a-f]{{12}}\.png$", src) for src in images), name


@pytest.mark.slow
def test_every_run_has_its_history_and_confusion_figure_beside_the_page(report):
    collection, page_path, page = report
    images = [src for src in page.resources if src.startswith("images/")]
    for run in collection.runs:
        for kind in ("history", "confusion"):
            assert any(src.startswith(f"images/{run.key}-{kind}") for src in images), \
                (run.task_id, kind)
    for src in images:
        assert (page_path.parent / src).read_bytes()[:8] == PNG_MAGIC
    # a task's figure is linked, not redrawn: the same file
    plotted = next(run for run in collection.runs if "history" in run.figures)
    (placed,) = [page_path.parent / src for src in images
                 if src.startswith(f"images/{plotted.key}-history")]
    assert placed.stat().st_ino == plotted.figures["history"].stat().st_ino


@pytest.mark.slow
def test_no_network_resource_and_one_inline_script(report):
    _, page_path, page = report
    markup = page_path.read_text(encoding="utf-8")
    assert "http://" not in markup and "https://" not in markup
    assert not re.search(r"url\(|@import|<link|src=\"//", markup)
    assert page.scripts == 1 and "<script src" not in markup
    for resource in page.resources:
        assert resource.startswith(("#", "images/")), resource


@pytest.mark.slow
def test_hostile_names_show_as_text(tmp_path):
    data = copy_of(tmp_path / "data")
    run = sorted((data / "EvaluateTest").iterdir())[0]
    hostile = ["<script>alert(1)</script>", '<img src=x onerror="alert(2)">']
    metrics = read_json(run / "metrics.json")
    metrics["confusion_matrix"]["labels"] = hostile
    metrics["per_class"] = dict(zip(hostile, metrics["per_class"].values()))
    (run / "metrics.json").write_text(json.dumps(metrics))
    task = read_json(run / "task.json")
    task["parameters"]["optimizer"] = "<b>bold</b>&amp;"
    (run / "task.json").write_text(json.dumps(task))
    shutil.move(run, run.with_name("EvaluateTest_<i>x<i>"))
    collection = collect(data)
    page_path = write_page(collection, tmp_path / "report")
    markup = page_path.read_text(encoding="utf-8")
    page = Page(markup)
    assert page.scripts == 1
    assert not any("onerror" in attrs for _, attrs in page.elements)
    for raw in ("<script>alert", "<img src=x", "<b>bold", "<i>x"):
        assert raw not in markup
    assert "<script>alert(1)</script>" in page.text and '<img src=x onerror="alert(2)">' \
        in page.text
    assert "optimizer=<b>bold</b>&amp;" in page.text and "EvaluateTest_<i>x<i>" in page.text
    # its confusion figure is drawn with the hostile names as plain labels
    hostile_run = next(r for r in collection.runs if r.task_id == "EvaluateTest_<i>x<i>")
    assert any(src.startswith(f"images/{hostile_run.key}-confusion") and "<" not in src
               for src in page.resources)


def test_an_empty_and_a_missing_data_folder_say_so(tmp_path):
    (tmp_path / "empty").mkdir()
    empty = Page(write_page(collect(tmp_path / "empty"), tmp_path / "a").read_text())
    assert "holds no finished run yet" in empty.text and "runs" not in empty.tables
    missing = Page(write_page(collect(tmp_path / "nope"), tmp_path / "b").read_text())
    assert "does not exist" in missing.text


@pytest.mark.slow
def test_damaged_files_are_listed_as_notes(tmp_path):
    data = copy_of(tmp_path / "data")
    run = sorted((data / "EvaluateTest").iterdir())[0]
    (run / "metrics.json").write_text("{not json")
    page = Page(write_page(collect(data), tmp_path / "report").read_text())
    assert f"EvaluateTest/{run.name}/metrics.json: not valid JSON" in page.text
    assert len(page.rows("runs")) == 8


@pytest.mark.slow
def test_images_are_named_by_what_they_show_and_made_once(tmp_path):
    from pipeline.report.figures import Images, all_figures

    collection = collect(chain_folder()[0])
    first = Images(tmp_path / "images")
    all_figures(collection, first)
    assert first.drawn == 2 * 5  # the grids' five runs: history and confusion
    assert first.linked == 2 * 4 + 3 + 1  # RunAll's plots, the grids' figures
    made = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in (tmp_path / "images").iterdir()}
    assert sorted(made) == sorted(first.placed.values())
    again = Images(tmp_path / "images")
    all_figures(collection, again)
    assert again.drawn == again.linked == 0 and again.placed == first.placed
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in (tmp_path / "images").iterdir()} == made
    # a run whose history changed gets a new image; the others are kept
    run = next(r for r in collection.runs if "history" not in r.figures)
    run.history["val_loss"][0] += 0.5
    third = Images(tmp_path / "images")
    all_figures(collection, third)
    assert third.drawn == 1 and third.placed[f"{run.key}-history"] != \
        first.placed[f"{run.key}-history"]
