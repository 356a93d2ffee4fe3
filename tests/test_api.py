"""``pipeline.api``: tasks run from Python in any folder, typed results, one-line errors as
exceptions with nothing left behind; and every Python example of docs/python-api.md,
run as it is on a tiny archive."""
import contextlib
import io
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, TINY, configured, make_archive

from pipeline import PipelineError, api

PAGE = ROOT / "docs" / "python-api.md"
# Fenced blocks: the language, then the code.
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


@contextlib.contextmanager
def working_in(folder):
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield Path(folder)
    finally:
        os.chdir(before)


def page_blocks():
    """``[(code, expected output or None)]``: each python block of the page, with the text
    block that follows it when the page says what it prints."""
    text = PAGE.read_text(encoding="utf-8")
    blocks = [(match.group(1), match.group(2), match.start(), match.end())
              for match in BLOCK.finditer(text)]
    found = []
    for index, (language, code, _, end) in enumerate(blocks):
        if language != "python":
            continue
        expected = None
        if index + 1 < len(blocks):
            following, output, start, _ = blocks[index + 1]
            between = text[end:start].strip()
            if following == "text" and between == "prints":
                expected = output
        found.append((code, expected))
    return found


#: The page's examples run with tiny settings: a configuration's [experiment] defaults.
TINY_EXPERIMENT = dict(num_words=40, validation_size=10, epochs=3, batch_size=8, units=8)


@pytest.mark.slow
def test_every_python_example_of_the_page_runs_and_prints_what_the_page_says(tmp_path):
    blocks = page_blocks()
    assert len(blocks) >= 6
    make_archive(tmp_path / "aclImdb_v1.tar.gz")  # the page's ARCHIVE, tiny
    namespace = {}
    with working_in(tmp_path), configured("experiment", **TINY_EXPERIMENT), \
            configured("pipeline", data_dir=None), configured("DownloadDataset", url=None):
        for code, expected in blocks:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(code, str(PAGE), "exec"), namespace)  # noqa: S102
            if expected is not None:
                assert printed.getvalue() == expected, code
    data = tmp_path / "text-classifier-data"
    result = namespace["result"]
    assert isinstance(result, api.RunResult) and result.data_dir == data
    assert isinstance(result.test_accuracy, float) and 0 <= result.test_accuracy <= 1
    assert isinstance(namespace["history"], pd.DataFrame)
    assert list(namespace["history"]["epoch"]) == [1, 2, 3]
    assert result.parameters["epochs"] == 3 and result.parameters["units"] == 8
    assert all(path.is_absolute() and path.exists() for path in result.paths.values())
    assert type(namespace["model"]).__module__.startswith("keras")
    assert namespace["embedding"].parameters["maxlen"] == 200
    assert list(namespace["grid"].table()["variant"]) == ["baseline", "l2"]
    scores = namespace["scores"]
    assert len(scores) == 2 and scores["P(positive)"].between(0, 1).all()
    assert not (tmp_path / "data").exists()  # nothing in a data/ of the current folder


@pytest.fixture
def elsewhere(tmp_path):
    """A current folder without luigi.cfg, a data folder and a tiny archive elsewhere."""
    cwd = tmp_path / "notebooks"
    cwd.mkdir()
    (tmp_path / "archives").mkdir()
    archive = make_archive(tmp_path / "archives" / "aclImdb_tiny.tar.gz")
    with working_in(cwd), configured("pipeline", data_dir=None), \
            configured("DownloadDataset", url=None):
        yield {"cwd": cwd, "data": tmp_path / "results", "archive": archive}


def test_a_tiny_chain_run_from_another_folder_gives_typed_results(elsewhere):
    result = api.run("EvaluateTest", data_dir=elsewhere["data"],
                     settings={"DownloadDataset": {"url": elsewhere["archive"]}}, **TINY)
    assert type(result) is api.Result and result.family == "EvaluateTest"
    assert result.output_dir.is_absolute() and result.output_dir.is_dir()
    assert result.output_dir.parent.parent == elsewhere["data"]
    metrics = result.metrics
    assert isinstance(metrics["accuracy"], float) and metrics["count"] == 20
    history = result.history  # TrainModel's, with validation
    assert list(history.columns[:1]) == ["epoch"] and len(history) == TINY["epochs"]
    assert {"val_loss", "val_accuracy"} <= set(history.columns)
    assert result.parameters == {"dataset": "aclimdb", "seed": 0, "model": "mlp",
                                    "train_size": 0, "final_epochs": "auto", "layers": 2,
                                    "activation": "relu", "dropout": 0.0, "l1": 0.0,
                                    "l2": 0.0, "regularize": "all", "optimizer": "rmsprop",
                                    "learning_rate": 0.001, "loss": "auto", **TINY}
    assert list(elsewhere["cwd"].iterdir()) == []  # nothing written where it ran


@pytest.mark.slow
def test_summary_paths_resolve_from_the_data_folder_and_parameters_keep_their_types(
        elsewhere):
    result = api.run("RunAll", data_dir=elsewhere["data"],
                     settings={"DownloadDataset": {"url": elsewhere["archive"]}}, **TINY)
    summary = json.loads(result.paths["summary"].read_text())
    assert summary["paths"].startswith("relative to the data folder")
    for key in ("model", "history", "validation_model", "metrics", "plot", "confusion_plot"):
        assert not Path(summary[key]).is_absolute()
        assert (elsewhere["data"] / summary[key]).is_file(), key
        assert result.paths[key] == elsewhere["data"] / summary[key]
    assert summary["parameters"]["epochs"] == 3 and summary["parameters"]["learning_rate"] \
        == 0.001 and summary["parameters"]["final_epochs"] == "auto"
    assert result.test_accuracy == summary["test_accuracy"] == result.metrics["accuracy"]
    again = api.load("RunAll", data_dir=elsewhere["data"], **TINY)
    assert again.test_accuracy == result.test_accuracy


@pytest.mark.parametrize("params,message", [
    ({"colour": "red"}, "RunAll has no parameter 'colour'; see luigi --module pipeline "
                        "RunAll --help"),
    ({"epochs": "ten"}, "epochs must be an integer from 1 to 1,000, got 'ten'"),
    ({"epochs": 2.5}, "epochs must be an integer from 1 to 1,000, got 2.5"),
    ({"learning_rate": [0.1]}, "learning_rate must be a finite number > 0, got [0.1]"),
    ({"maxlen": 200}, "maxlen is not a parameter of model 'mlp'"),
])
def test_a_bad_parameter_is_one_line_and_leaves_nothing(elsewhere, params, message):
    with pytest.raises(PipelineError) as raised:
        api.run("RunAll", data_dir=elsewhere["data"], **params)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)
    assert not elsewhere["data"].exists() and list(elsewhere["cwd"].iterdir()) == []


def test_an_unknown_task_and_a_data_folder_below_a_file_are_one_line(elsewhere):
    with pytest.raises(PipelineError, match="unknown task 'RunEverything'; choose one of "):
        api.run("RunEverything", data_dir=elsewhere["data"])
    blocker = elsewhere["cwd"] / "a-file"
    blocker.write_text("")
    with pytest.raises(PipelineError, match=r"a-file is a file, not a folder"):
        api.run("RunAll", data_dir=blocker / "data")


def test_a_failing_task_raises_its_one_line_error_and_leaves_no_folder(elsewhere):
    missing = elsewhere["cwd"] / "nowhere.tar.gz"
    with pytest.raises(api.TaskFailedError) as raised:
        api.run("RunAll", data_dir=elsewhere["data"],
                 settings={"DownloadDataset": {"url": missing}}, **TINY)
    message = str(raised.value)
    assert message.startswith("RunAll did not complete: DownloadDataset: no file at ")
    assert str(missing) in message and "\n" not in message
    assert [family for family, _ in raised.value.errors] == ["DownloadDataset"]
    assert not elsewhere["data"].exists()


def test_settings_of_a_call_do_not_outlive_it(elsewhere):
    from luigi.configuration import get_config

    before = get_config().get("DownloadDataset", "url", None)
    with pytest.raises(PipelineError):
        api.run("RunAll", data_dir=elsewhere["data"],
                settings={"DownloadDataset": {"url": "/x.tar.gz"}}, epochs=0)
    assert get_config().get("DownloadDataset", "url", None) == before
    assert get_config().get("pipeline", "data_dir", None) is None
