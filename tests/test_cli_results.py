"""``text-classifier report|runs|diff`` (pipeline/cli_results.py) on the data folder of a
real tiny chain, as a user runs them: their output, and bad input in one line."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from report_chain import chain_folder, copy_of

from pipeline.io.storage import read_json

CLI = str(Path(sys.executable).with_name("text-classifier"))


def cli(*args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("LUIGI_CONFIG_PATH", None)
    return subprocess.run([CLI, *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def chain():
    return chain_folder()[0]


def runs_of(data):
    """``{hash: (folder, metrics)}`` of the EvaluateTest folders."""
    return {p.name[-10:]: (p, read_json(p / "metrics.json"))
            for p in (data / "EvaluateTest").iterdir()}


@pytest.mark.slow
def test_runs_lists_every_run_with_its_real_numbers(chain, cli_dir):
    result = cli("--data-dir", chain, "runs", "--sort", "accuracy", cwd=cli_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    heads = lines[0].split()
    assert heads[:4] == ["id", "dataset", "model", "seed"] and "l2" in heads
    known = runs_of(chain)
    rows = [dict(zip(heads, line.split())) for line in lines[2:]]
    assert sorted(row["id"] for row in rows) == sorted(known)
    for row in rows:
        metrics = known[row["id"]][1]
        assert row["accuracy"] == f"{metrics['accuracy']:.4f}"
        assert row["loss"] == f"{metrics['loss']:.4f}"
    accuracies = [float(row["accuracy"]) for row in rows]
    assert accuracies == sorted(accuracies, reverse=True)  # best first

    result = cli("--data-dir", chain, "runs", "--model", "mlp", "-f", "train_size=0",
                 "-f", "seed=1", "--format", "json", cwd=cli_dir)
    assert result.returncode == 0, result.stderr
    (only,) = json.loads(result.stdout)
    assert only["parameters"]["seed"] == "1" and only["parameters"]["model"] == "mlp"
    assert only["metrics"]["accuracy"] == known[only["id"]][1]["accuracy"]


@pytest.mark.slow
def test_diff_of_two_runs_by_prefix(chain, cli_dir):
    known = runs_of(chain)
    mlp = sorted((p for p, _ in known.values()
                  if read_json(p / "task.json")["parameters"].get("train_size") == "0"
                  and read_json(p / "task.json")["parameters"].get("l2") == "0.0"),
                 key=lambda p: read_json(p / "task.json")["parameters"]["seed"])
    a, b = (p.name for p in mlp)
    result = cli("--data-dir", chain, "diff", a[-10:-3], b, cwd=cli_dir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"a  {a}") and f"b  {b}" in out
    assert [line.split() for line in out.splitlines() if line.startswith("  seed")] == \
        [["seed", "0", "1"]]
    accuracy = next(line.split() for line in out.splitlines()
                    if line.startswith("  accuracy"))
    x, y = (known[name[-10:]][1]["accuracy"] for name in (a, b))
    assert accuracy[1:] == [f"{x:.4f}", f"{y:.4f}", f"{y - x:+.4f}"]


@pytest.mark.slow
def test_unknown_and_ambiguous_runs_are_one_line(chain, cli_dir):
    result = cli("--data-dir", chain, "diff", "nope", "EvaluateTest_relu", cwd=cli_dir)
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("text-classifier: no run 'nope' in ") and "runs:" in error
    result = cli("--data-dir", chain, "diff", "EvaluateTest_relu", "EvaluateTest_8", cwd=cli_dir)
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()[-1]
    assert "'EvaluateTest_relu' matches 7 runs" in error and "Traceback" not in result.stderr


@pytest.mark.parametrize("args, needle", [
    (["runs", "-f", "unitz=3"], "no run has 'unitz'"),
    (["runs", "--sort", "speed"], "--sort speed: not a metric or parameter"),
    (["runs", "-p", "units=16"], "runs reads every run of the data folder and takes no --param"),
])
@pytest.mark.slow
def test_bad_arguments_are_one_line(chain, cli_dir, args, needle):
    result = cli("--data-dir", chain, *args, cwd=cli_dir)
    assert result.returncode == 2 and needle in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_missing_data_folder_is_one_line(cli_dir, tmp_path):
    for command in ("runs", "report"):
        result = cli("--data-dir", tmp_path / "nope", command, cwd=cli_dir)
        assert result.returncode == 2
        assert f"data folder {tmp_path / 'nope'} does not exist" in result.stderr
    assert not (tmp_path / "nope").exists()


@pytest.mark.slow
def test_damaged_runs_are_notes_and_the_rest_is_listed(cli_dir, tmp_path):
    data = copy_of(tmp_path / "data")
    broken = sorted((data / "EvaluateTest").iterdir())[0]
    (broken / "metrics.json").write_text("not json at all")
    result = cli("--data-dir", data, "runs", cwd=cli_dir)
    assert result.returncode == 0, result.stderr
    assert f"note: EvaluateTest/{broken.name}/metrics.json: not valid JSON" in result.stderr
    assert len(result.stdout.splitlines()) == 2 + 8


@pytest.mark.slow
def test_report_writes_the_page_once_and_says_where(cli_dir, tmp_path):
    data = copy_of(tmp_path / "data")
    result = cli("--data-dir", data, "report", cwd=cli_dir)
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("Report of 9 runs and 2 grids: ")
    page = Path(line.split(": ", 1)[1])
    assert page.is_file() and page.parent.parent == data / "Report"
    again = cli("--data-dir", data, "report", cwd=cli_dir)
    assert again.stdout.strip().splitlines()[-1] == f"The report is up to date: {page}"
    # nothing but the report was written
    assert sorted(p.name for p in data.iterdir()) == sorted(
        [p.name for p in chain_folder()[0].iterdir() if p.name != "Report"] + ["Report"])
