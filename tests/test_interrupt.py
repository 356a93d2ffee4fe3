"""A run killed in the middle of training leaves no output that looks complete, and
the same command afterwards resumes from the last completed stage."""
import os
import re
import signal
import socket
import subprocess

import pandas as pd
import pytest
from conftest import (
    LUIGI,
    hidden_leftovers,
    kill_group_when,
    make_archive,
    mtimes,
    only_folder,
    output_folders,
)

from pipeline import TrainModel

pytestmark = pytest.mark.slow  # a training killed and resumed through the command line

EPOCHS = 30  # about 0.3 s each on the tiny archive with batch size 4: ~10 s of training
PARAMS = {"num_words": 40, "validation_size": 10, "epochs": EPOCHS, "batch_size": 4,
          "units": 8}


def command(archive, data):
    # DEBUG: Luigi's lines say which tasks ran
    args = [str(LUIGI), "--module", "pipeline", "TrainModel", "--local-scheduler",
            "--DownloadDataset-url", str(archive), "--pipeline-data-dir", str(data),
            "--log-level", "DEBUG"]
    for name, value in PARAMS.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    return args


def complete_outputs(data, family):
    """Files of ``family`` outside hidden (staging) folders."""
    root = data / family
    if not root.exists():
        return []
    return [p for p in root.rglob("*") if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(root).parts)]


def test_killed_training_leaves_nothing_complete_and_resumes(cli_dir, tmp_path):
    archive = make_archive(tmp_path / "aclImdb_tiny.tar.gz")
    data = tmp_path / "data"
    log = tmp_path / "first.log"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    with open(log, "w") as out:
        process = subprocess.Popen(command(archive, data), cwd=cli_dir, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    progress = re.compile(rf"TrainModel: epoch ([0-9]+)/{EPOCHS}")
    kill_group_when(process, lambda: progress.search(log.read_text()), 180, log,
                    "TrainModel progress")
    assert process.returncode == -signal.SIGKILL
    epochs_done = max(int(m) for m in progress.findall(log.read_text()))
    assert epochs_done < EPOCHS

    # the upstream stages completed, training did not leave anything that looks done
    upstream = {family: mtimes(only_folder(data, family))
                for family in ("DownloadDataset", "Encode", "SplitValidation", "Featurize")}
    assert output_folders(data, "TrainModel") == []
    assert complete_outputs(data, "TrainModel") == []

    # a staging folder as a kill during the final writes would leave it (dead pid)
    task_id = TrainModel(**PARAMS).task_id
    leftover = data / "TrainModel" / \
        f".{task_id}.staging-{socket.gethostname()}-{process.pid}.killed"
    leftover.mkdir(parents=True)
    (leftover / "model.keras").write_bytes(b"half written")

    rerun = subprocess.run(command(archive, data), cwd=cli_dir, env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    assert rerun.returncode == 0, rerun.stdout
    assert re.search(r"running\s+TrainModel\(", rerun.stdout)
    for family in ("DownloadDataset", "Encode", "SplitValidation", "Featurize"):
        assert not re.search(rf"running\s+{family}\(", rerun.stdout), family
    assert {family: mtimes(only_folder(data, family)) for family in upstream} == upstream

    folder = only_folder(data, "TrainModel")
    assert folder.name == task_id
    assert len(pd.read_csv(folder / "history.csv")) == EPOCHS
    assert (folder / "model.keras").stat().st_size > 1000
    assert not leftover.exists(), "the dead process's staging folder was not cleaned up"
    assert hidden_leftovers(data) == []
