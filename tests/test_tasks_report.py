"""The Report task (pipeline/tasks/report.py): the page of the data folder as it is, never
training anything, a new report when a run is added; and the page in a real browser
(Debian's headless Chromium): what is visible with and without JavaScript, filtering and
sorting, hostile names as text."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import TINY, build, pipeline_config, ran_families, run_luigi
from report_chain import Page, chain_folder, copy_of

from pipeline import Report, RunAll
from pipeline.io.storage import read_json

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run")


def browser(profile, *args):
    """Run headless Chromium; returns its standard output."""
    if CHROMIUM is None:
        pytest.skip("the browser test needs Chromium: apt-get install chromium (Debian's "
                    "package)")
    profile.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                               capture_output=True, text=True, timeout=240)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def dom(tmp_path, page, fragment="", script=True):
    """The page's DOM after it loaded in the browser. ``script=False``: as a browser
    without JavaScript shows it (a copy beside it whose policy forbids every script;
    Chromium's own switch also stops --dump-dom)."""
    if not script:
        copy = page.with_name("without-script.html")
        copy.write_text(page.read_text(encoding="utf-8").replace(
            "<head>", "<head><meta http-equiv=\"Content-Security-Policy\" "
                      "content=\"script-src 'none'\">", 1), encoding="utf-8")
        page = copy
    try:
        return Page(browser(tmp_path / "profile", "--dump-dom", page.as_uri() + fragment))
    finally:
        if not script:
            page.unlink()


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A copy of the tiny chain and its report made by the task:
    ``(data folder, archive, page path)``."""
    _, archive = chain_folder()
    data = copy_of(tmp_path_factory.mktemp("chain") / "data")
    with pipeline_config(data, archive):
        result = build([Report()])
        assert result.scheduling_succeeded, result.summary_text
        assert ran_families(result) == ["Report"]  # nothing trained, nothing drawn by tasks
        page = Path(Report().output()["page"].path)
    return data, archive, page


@pytest.mark.slow
def test_the_report_is_the_folder_s_page_until_the_folder_changes(made, tmp_path):
    data, archive, page = made
    folder = page.parent
    assert folder.parent == data / "Report" and folder.name.startswith("Report_")
    task = read_json(folder / "task.json")
    assert task["task_family"] == "Report" and folder.name == f"Report_{task['digest'][:12]}"
    assert (data / "Report" / "latest").resolve() == folder.resolve()
    copy = copy_of(tmp_path / "data")
    shutil.copytree(data / "Report", copy / "Report", symlinks=True)
    times = {p.name: p.stat().st_mtime_ns for p in (copy / "Report" / "images").iterdir()}
    with pipeline_config(copy, archive):
        assert Report().complete()
        again = build([Report()])
        assert ran_families(again) == []
        assert Report().describe_result().endswith(f"Report/{folder.name}/report.html")
        # a new run: the report is no longer complete, the next one shows it
        assert build([RunAll(**dict(TINY, seed=2))]).scheduling_succeeded
        assert not Report().complete()
        result = build([Report()])
        assert ran_families(result) == ["Report"]
        newer = Path(Report().output()["page"].path)
    assert newer.parent != copy / "Report" / folder.name and newer.parent.is_dir()
    assert (copy / "Report" / "latest").resolve() == newer.parent.resolve()
    new_run = next(p for p in (copy / "EvaluateTest").iterdir()
                   if read_json(p / "task.json")["parameters"]["seed"] == "2")
    rows = Page(newer.read_text()).rows("runs")
    assert len(rows) == 10 and new_run.name[-10:] in [cells[0] for _, cells in rows]
    # the next report shares the images of the first: none was made again
    first = read_json(folder / "task.json")["images"]
    second = read_json(newer.parent / "task.json")["images"]
    assert set(first) < set(second) and len(second) == len(first) + 2
    pool = copy / "Report" / "images"
    assert all((pool / name).stat().st_mtime_ns == times[name] for name in first)
    # a report whose image is gone is not complete
    with pipeline_config(copy, archive):
        (pool / second[0]).unlink()
        assert not Report().complete()


@pytest.mark.slow
def test_the_page_in_a_browser_with_and_without_javascript(made, tmp_path):
    data, _, page = made
    with_script = dom(tmp_path, page)
    form = next(attrs for tag, attrs in with_script.elements if attrs.get("id") == "filters")
    assert "hidden" not in form
    assert "9 of 9 runs shown" in with_script.text
    assert len(with_script.rows("runs", visible_only=True)) == 9
    assert [tag for tag, attrs in with_script.elements if tag == "button"]  # sortable heads
    plain = dom(tmp_path, page, script=False)
    assert "js" not in next(attrs for tag, attrs in plain.elements if tag == "html").get(
        "class", "")
    form = next(attrs for tag, attrs in plain.elements if attrs.get("id") == "filters")
    assert "hidden" in form  # the filter needs the script: not shown without it
    assert len(plain.rows("runs", visible_only=True)) == 9
    assert not [attrs for tag, attrs in plain.elements
                if "hidden" in attrs and attrs.get("id") != "filters"]
    for name in ("Runs", "Runs that differ only by seed", "Model comparisons (CompareModels)",
                 "Learning curves (LearningCurve)", "Each run"):
        assert name in plain.text


@pytest.mark.slow
def test_filter_and_sort_from_the_address(made, tmp_path):
    _, _, page = made
    shown = dom(tmp_path, page, "#model=nbsvm&sort=runs:accuracy:ascending")
    visible = shown.rows("runs", visible_only=True)
    heads = shown.tables["runs"][0][1]
    assert [cells[heads.index("model")] for _, cells in visible] == ["nbsvm", "nbsvm"]
    accuracies = [float(cells[heads.index("test accuracy")]) for _, cells in shown.rows("runs")]
    assert accuracies == sorted(accuracies)
    assert "2 of 9 runs shown" in shown.text
    articles = [attrs for tag, attrs in shown.elements if tag == "article"]
    assert {a["data-models"] for a in articles if "hidden" not in a} == {"nbsvm"}
    descending = dom(tmp_path, page, "#sort=runs:loss:descending")
    losses = [float(c) for c in descending.column("runs", "test loss")]
    assert losses == sorted(losses, reverse=True)


@pytest.mark.slow
def test_a_screenshot_at_1280_pixels(made, tmp_path):
    from PIL import Image

    _, _, page = made
    shot = tmp_path / "report.png"
    browser(tmp_path / "profile", "--window-size=1280,2000", "--hide-scrollbars",
            f"--screenshot={shot}", page.as_uri())
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        # the page is drawn: more than a blank screen
        assert len(image.convert("L").getcolors(1 << 16)) > 20


@pytest.mark.slow
def test_hostile_names_show_as_text_in_a_browser(tmp_path):
    _, archive = chain_folder()
    data = copy_of(tmp_path / "data")
    run = sorted((data / "EvaluateTest").iterdir())[0]
    metrics = read_json(run / "metrics.json")
    hostile = ["<script>document.body.setAttribute('data-pwned', 1)</script>",
               "<img src=x onerror=\"document.body.setAttribute('data-pwned', 2)\">"]
    metrics["confusion_matrix"]["labels"] = hostile
    metrics["per_class"] = dict(zip(hostile, metrics["per_class"].values()))
    (run / "metrics.json").write_text(json.dumps(metrics))
    with pipeline_config(data, archive):
        assert build([Report()]).scheduling_succeeded
        page = Path(Report().output()["page"].path)
    shown = dom(tmp_path, page)
    body = next(attrs for tag, attrs in shown.elements if tag == "body")
    assert "data-pwned" not in body
    assert shown.scripts == 1
    assert not any("onerror" in attrs for _, attrs in shown.elements)
    per_class = [cells[0] for table in shown.tables.values() for _, cells in table[1:]]
    assert hostile[0] in per_class and hostile[1] in per_class


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_report_of_an_empty_data_folder_from_the_command_line(cli_dir, tmp_path, workers):
    data = tmp_path / "data"
    data.mkdir()
    completed = run_luigi(["Report", "--pipeline-data-dir", data, "--workers", workers],
                          cwd=cli_dir)
    assert completed.returncode == 0, completed.stdout
    # the last line is the result, also when a worker process made the report
    line = completed.stdout.rstrip().splitlines()[-1]
    assert line.startswith("Report of 0 runs and 0 grids: "), completed.stdout
    page = Path(line.split(": ", 1)[1])
    assert page.is_file() and page.parent.parent == data / "Report"
    assert "holds no finished run yet" in Page(page.read_text()).text
    assert os.listdir(data) == ["Report"]
    assert sorted(os.listdir(data / "Report")) == ["Report_" + read_json(
        page.parent / "task.json")["digest"][:12], "images", "latest"]
