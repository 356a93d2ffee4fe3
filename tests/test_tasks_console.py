"""What a run shows on the terminal: the configuration and data folder, one line per epoch,
no Luigi DEBUG line and no TensorFlow start-up line, then Luigi's summary, then the result;
``--log-level DEBUG`` shows everything again."""
import re

import pytest
from conftest import TINY, build, make_archive, tiny_cli_args
from test_tasks_settings import environment

from pipeline import RunAll
from pipeline.tasks import console

TF_START_UP = re.compile(r"^[IWE]\d{4} |absl::InitializeLog|oneDNN|cuInit|cuda drivers")
KERAS_EPOCH = re.compile(r"^Epoch \d+/\d+$|\d+/\d+ - .*step")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny RunAll from a folder without luigi.cfg, as a user's shell runs it; the same
    command again; then EvaluateTest with --log-level DEBUG."""
    import subprocess

    from conftest import LUIGI

    root = tmp_path_factory.mktemp("console")
    cwd, home = root / "run", root / "home"
    cwd.mkdir()
    home.mkdir()
    archive = make_archive(root / "aclImdb_tiny.tar.gz")

    def luigi(*args):
        return subprocess.run([str(LUIGI), "--module", "pipeline", *map(str, args),
                               "--local-scheduler", "--pipeline-data-dir", root / "data"],
                              cwd=cwd, env=environment(home), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=600)

    first = luigi("RunAll", "--DownloadDataset-url", archive, *tiny_cli_args())
    again = luigi("RunAll", *tiny_cli_args())
    debug = luigi("EvaluateTest", *tiny_cli_args(), "--final-epochs", "1",
                  "--log-level", "DEBUG")
    return {"first": first, "again": again, "debug": debug, "data": root / "data"}


@pytest.mark.slow
def test_the_default_run_shows_progress_then_the_summary_then_the_result(runs):
    run = runs["first"]
    assert run.returncode == 0, run.stdout
    lines = run.stdout.splitlines()
    assert lines[0] == f"configuration: built-in defaults; data folder: {runs['data']}"
    assert not [line for line in lines if line.startswith("DEBUG")]
    assert not [line for line in lines if TF_START_UP.search(line)], run.stdout
    assert not [line for line in lines if KERAS_EPOCH.search(line)]  # ours only
    epochs = [line for line in lines if re.search(r"TrainModel: epoch \d+/3 · loss ", line)]
    assert len(epochs) == TINY["epochs"]
    summary_end = max(i for i, line in enumerate(lines)
                      if line.endswith("===== Luigi Execution Summary ====="))
    result = lines[summary_end + 1:]
    assert result[0] == "" and re.fullmatch(
        r"aclimdb, mlp: test accuracy 0\.\d{4}, test loss \d\.\d{4} \(final model trained "
        r"\d+ epochs\)", result[1])
    assert result[2].startswith("  compare: random labels 0.5000, majority class 0.5000")
    folders = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip()
               for line in result[3:]}
    assert set(folders) == {"summary", "model", "plot", "confusion matrix"}
    assert all(folder.startswith(str(runs["data"])) for folder in folders.values())
    assert len(lines) <= 40, run.stdout


@pytest.mark.slow
def test_a_rerun_says_there_is_nothing_to_do_and_shows_the_result(runs):
    run = runs["again"]
    assert run.returncode == 0, run.stdout
    tail = run.stdout.split("===== Luigi Execution Summary =====")[-1].splitlines()
    assert tail[1] == "Nothing to do: RunAll is already complete."
    assert "test accuracy" in tail[3] and len(run.stdout.splitlines()) <= 16


@pytest.mark.slow
def test_log_level_debug_brings_luigi_keras_and_tensorflow_back(runs):
    run = runs["debug"]
    assert run.returncode == 0, run.stdout
    lines = run.stdout.splitlines()
    assert [line for line in lines if line.startswith("DEBUG: Checking if")]
    assert [line for line in lines if KERAS_EPOCH.search(line)]
    assert [line for line in lines if TF_START_UP.search(line)]
    assert lines[-1].startswith("EvaluateTest complete: ")


def test_the_result_of_a_run_is_gathered_from_what_it_asked_for(data_dir):
    console.new_run()
    assert build([RunAll(**TINY)]).status.name == "SUCCESS"
    text = console.run_result()
    assert "aclimdb, mlp: test accuracy " in text
    assert f"summary: {RunAll(**TINY).output()['summary'].path}" in text
    assert "Nothing to do" not in text and "Encode" not in text  # only what was asked for
    console.new_run()
    build([RunAll(**TINY)])
    assert console.run_result().startswith("Nothing to do: RunAll is already complete.\n")


def test_the_errors_of_a_failed_run_are_its_result(data_dir, tmp_path):
    from conftest import configured

    console.new_run()
    with configured("DownloadDataset", url=tmp_path / "missing.tar.gz"):
        assert build([RunAll(**TINY)]).status.name == "FAILED"
    lines = console.run_result().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: DownloadDataset: no file at ")
