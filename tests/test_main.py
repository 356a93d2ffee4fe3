"""``python -m pipeline``: the ``luigi`` command that, with a central scheduler, runs again
while other workers hold tasks it needs, until its task is complete or a pass fails."""
import os
import subprocess
import sys

import pytest
from conftest import output_folders

import pipeline.__main__ as entry

ALREADY_RUNNING, NOT_RUN, TASK_FAILED, UNHANDLED = 10, 25, 30, 40  # luigi.cfg [retcode]
CENTRAL = ["RunAll", "--scheduler-host", "127.0.0.1", "--scheduler-port", "1"]


@pytest.fixture
def passes(monkeypatch):
    """Replace Luigi's run by a script of exit codes; record each pass's argv and the
    pauses between passes."""
    record = {"argv": [], "pauses": [], "codes": []}

    def run_once(argv):
        record["argv"].append(list(argv))
        return record["codes"].pop(0)

    monkeypatch.setattr(entry, "run_once", run_once)
    monkeypatch.setattr(entry.time, "sleep", record["pauses"].append)
    return record


def test_with_the_local_scheduler_the_first_pass_is_final(passes):
    passes["codes"] = [ALREADY_RUNNING]
    assert entry.main(["RunAll", "--local-scheduler"]) == ALREADY_RUNNING
    assert len(passes["argv"]) == 1 and passes["pauses"] == []


def test_it_waits_for_its_peers_until_its_task_is_complete(passes):
    passes["codes"] = [ALREADY_RUNNING, NOT_RUN, ALREADY_RUNNING, 0]
    assert entry.main(list(CENTRAL)) == 0
    assert passes["pauses"] == [1.0, 2.0, 4.0]
    assert passes["argv"][0] == CENTRAL  # the first pass takes Luigi's pid lock
    assert all(argv == [*CENTRAL, "--no-lock"] for argv in passes["argv"][1:])


def test_pauses_double_up_to_ten_seconds(passes):
    passes["codes"] = [ALREADY_RUNNING] * 6 + [0]
    assert entry.main(list(CENTRAL)) == 0
    assert passes["pauses"] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_another_failure_ends_it_with_that_code(passes):
    passes["codes"] = [ALREADY_RUNNING, TASK_FAILED, 0]
    assert entry.main(list(CENTRAL)) == TASK_FAILED
    assert len(passes["argv"]) == 2


def test_not_run_is_retried_at_most_three_times_in_a_row(passes):
    passes["codes"] = [NOT_RUN] * 5
    assert entry.main(list(CENTRAL)) == NOT_RUN
    assert len(passes["argv"]) == 1 + entry.NOT_RUN_RETRIES == 4
    passes["argv"].clear()
    passes["codes"] = [NOT_RUN, NOT_RUN, NOT_RUN, ALREADY_RUNNING, NOT_RUN, NOT_RUN, NOT_RUN, 0]
    assert entry.main(list(CENTRAL)) == 0  # an already_running pass restarts the count
    assert len(passes["argv"]) == 8


def test_no_lock_given_is_not_added_twice(passes):
    passes["codes"] = [ALREADY_RUNNING, 0]
    assert entry.main([*CENTRAL, "--no-lock"]) == 0
    assert passes["argv"] == [[*CENTRAL, "--no-lock"]] * 2


def run_module(args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("LUIGI_CONFIG_PATH", None)
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], cwd=cwd,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300)


@pytest.mark.parametrize("args,needle", [
    (["--epochs", "0"], "epochs must be an integer from 1 to 1,000, got '0'"),
    (["--model", "mlp", "--maxlen", "150"], "maxlen is not a parameter of model 'mlp'"),
])
def test_bad_parameters_are_one_line_with_luigi_s_exit_code(cli_dir, tmp_path, args, needle):
    data = tmp_path / "data"
    completed = run_module(["RunAll", *args, "--local-scheduler", "--pipeline-data-dir", data],
                           cli_dir)
    assert completed.returncode == UNHANDLED, completed.stdout
    assert "Traceback" not in completed.stdout
    assert len([line for line in completed.stdout.splitlines() if needle in line]) == 1, \
        completed.stdout
    assert not data.exists()


def test_it_runs_a_task_as_luigi_does(cli_dir, tmp_path, tiny_archive):
    data = tmp_path / "data"
    completed = run_module(["Encode", "--num-words", "40", "--local-scheduler",
                            "--DownloadDataset-url", tiny_archive, "--pipeline-data-dir", data],
                           cli_dir)
    assert completed.returncode == 0, completed.stdout
    assert len(output_folders(data, "Encode")) == 1
    again = run_module(["Encode", "--num-words", "40", "--local-scheduler",
                        "--DownloadDataset-url", tiny_archive, "--pipeline-data-dir", data],
                       cli_dir)
    assert again.returncode == 0, again.stdout
    assert "Did not run any tasks" in again.stdout
