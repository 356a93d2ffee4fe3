"""What every task shares (pipeline/tasks/base.py): one output folder per configuration,
staged and renamed into place; completeness that looks upstream; the data folder and the
values read checked together before any work."""
import logging
import shutil

import numpy as np
import pytest
from conftest import (
    TASK_FAMILIES,
    TINY,
    build,
    configured,
    folder_mtimes,
    hidden_leftovers,
    mtimes,
    only_folder,
    output_folders,
    pipeline_config,
    ran_families,
    run_luigi,
)
from luigi.task_register import Register

from pipeline import (
    DownloadDataset,
    Encode,
    Featurize,
    PipelineError,
    PlotHistory,
    RunAll,
    SplitValidation,
    TrainModel,
)
from pipeline.io.storage import load_arrays, read_json
from pipeline.tasks import base as tasks_base
from pipeline.tasks.base import check_data_folder, download_folder, fetched_manifest

TASK_FAILED = 30  # luigi.cfg [retcode]


@pytest.fixture(autouse=True)
def _fresh_tasks():
    """Build tasks anew, as a new command line does: Luigi caches task objects by their
    parameters, and a cached one is not checked again."""
    Register.clear_instance_cache()





# ---------------------------------------------------------------- one folder, staged

def test_each_task_writes_one_folder_named_by_its_id(base):
    with pipeline_config(base["data"], base["archive"]):
        for task in (Encode(num_words=TINY["num_words"]), TrainModel(**TINY), RunAll(**TINY)):
            folder = task.output_dir
            assert folder == base["data"] / task.get_task_family() / task.task_id
            assert only_folder(base["data"], task.get_task_family()) == folder
            record = read_json(folder / "task.json")
            assert record == {"task_family": task.get_task_family(), "task_id": task.task_id,
                              "parameters": task.to_str_params(only_significant=True)}
        assert DownloadDataset().output_dir == download_folder("aclimdb") == \
            base["data"] / "DownloadDataset" / "aclimdb"
        assert fetched_manifest("aclimdb")["documents"] == {"train": 40, "test": 20}
        assert fetched_manifest("reuters") is None


def test_a_failing_stage_leaves_nothing(tmp_path):
    with configured("pipeline", data_dir=tmp_path / "data"):
        task = Encode(num_words=40)
        with pytest.raises(RuntimeError, match="half way"):
            with task.staged() as folder:
                (folder / "sequences.npz").write_bytes(b"half written")
                raise RuntimeError("half way")
        assert not task.output_dir.exists()
        assert hidden_leftovers(tmp_path / "data") == []
        assert not task.complete()
        with task.staged() as folder:
            for name in task.files.values():
                (folder / name).write_bytes(b"x")
        assert sorted(p.name for p in task.output_dir.iterdir()) == \
            ["sequences.npz", "task.json", "vocabulary.json"]
        assert hidden_leftovers(tmp_path / "data") == []


def test_a_pipeline_error_is_the_task_s_failure_message():
    task = Encode()
    assert task.on_failure(PipelineError("num_words is too small")) == \
        "num_words is too small"
    try:
        raise KeyError("a bug")
    except KeyError as exc:
        shown = task.on_failure(exc)
    assert "Traceback" in shown and "KeyError" in shown  # our own bugs keep it


# ----------------------------------------------------------------------- completeness

def test_plot_history_alone_after_deleting_its_png(copy_of_base):
    data = copy_of_base
    png = PlotHistory(**TINY).output_dir / "history.png"
    assert png.exists()
    png.unlink()
    others = {family: mtimes(only_folder(data, family))
              for family in TASK_FAMILIES if family != "PlotHistory"}
    result = build([PlotHistory(**TINY)])
    assert result.status.name == "SUCCESS", result.summary_text
    assert ran_families(result) == ["PlotHistory"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {family: mtimes(only_folder(data, family)) for family in others} == others
    assert hidden_leftovers(data) == []


@pytest.mark.slow
def test_resume_after_an_interruption_before_split_validation(copy_of_base):
    """The state a run killed during SplitValidation leaves: Download and Encode done."""
    data = copy_of_base
    kept = folder_mtimes(data, ["DownloadDataset", "Encode", "Featurize"])
    history = (only_folder(data, "TrainModel") / "history.csv").read_bytes()
    metrics = read_json(only_folder(data, "EvaluateTest") / "metrics.json")
    for family in ("SplitValidation", "TrainModel", "EvaluateTest", "PlotHistory",
                   "PlotConfusion", "RunAll"):
        shutil.rmtree(only_folder(data, family))

    result = build([RunAll(**TINY)])
    assert result.status.name == "SUCCESS", result.summary_text
    assert ran_families(result) == ["EvaluateTest", "PlotConfusion", "PlotHistory", "RunAll",
                                    "SplitValidation", "TrainModel"]
    assert folder_mtimes(data, ["DownloadDataset", "Encode", "Featurize"]) == kept
    # same parameters, same seed: the rerun reproduces the numbers exactly
    assert (only_folder(data, "TrainModel") / "history.csv").read_bytes() == history
    rerun = read_json(only_folder(data, "EvaluateTest") / "metrics.json")
    assert {k: v for k, v in rerun.items() if k != "training_seconds"} == \
        {k: v for k, v in metrics.items() if k != "training_seconds"}


@pytest.mark.slow
def test_deleting_a_middle_artifact_reruns_it_and_what_is_downstream(copy_of_base):
    """Delete only the SplitValidation folder: RunAll is no longer complete, and the
    rebuild reruns exactly that stage and everything after it, with identical results;
    DownloadDataset, Encode and Featurize stay untouched."""
    data = copy_of_base
    folder = only_folder(data, "SplitValidation")
    split = load_arrays(folder / "split.npz")
    history = (only_folder(data, "TrainModel") / "history.csv").read_bytes()
    kept = folder_mtimes(data, ["DownloadDataset", "Encode", "Featurize"])
    shutil.rmtree(folder)
    assert not RunAll(**TINY).complete()
    assert not TrainModel(**TINY).complete()
    assert Featurize(num_words=TINY["num_words"]).complete()  # not downstream of the split

    result = build([RunAll(**TINY)])
    assert result.status.name == "SUCCESS", result.summary_text
    assert ran_families(result) == ["EvaluateTest", "PlotConfusion", "PlotHistory", "RunAll",
                                    "SplitValidation", "TrainModel"]
    assert folder_mtimes(data, ["DownloadDataset", "Encode", "Featurize"]) == kept
    assert only_folder(data, "SplitValidation") == folder
    for name, array in load_arrays(folder / "split.npz").items():
        np.testing.assert_array_equal(array, split[name])
    assert (only_folder(data, "TrainModel") / "history.csv").read_bytes() == history
    assert hidden_leftovers(data) == []


def test_deleting_the_downloaded_archive_invalidates_nothing(copy_of_base):
    """The archive is source data: removing it (to save space) keeps every result."""
    data = copy_of_base
    shutil.rmtree(data / "DownloadDataset")
    assert RunAll(**TINY).complete()
    assert ran_families(build([RunAll(**TINY)])) == []


# ------------------------------------------------------------------ the data folder

def test_a_missing_data_folder_that_can_be_created_is_fine(tmp_path):
    check_data_folder(tmp_path / "new" / "data")
    assert not (tmp_path / "new").exists()  # checked, not created


def test_a_data_folder_that_is_a_file_is_refused(tmp_path):
    data = tmp_path / "data"
    data.write_text("not a folder")
    with pytest.raises(PipelineError, match=f"data folder {data}: {data} is a file, not a "
                                            f"folder; give a writable folder with "
                                            f"--pipeline-data-dir"):
        check_data_folder(data)
    below = data / "inside"
    with pytest.raises(PipelineError, match=f"data folder {below}: {data} is a file"):
        check_data_folder(below)


def test_a_data_folder_that_is_a_broken_link_is_refused(tmp_path):
    link = tmp_path / "data"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(PipelineError, match="is a broken symbolic link"):
        check_data_folder(link)


def test_a_data_folder_this_user_cannot_write_is_refused(tmp_path, monkeypatch):
    """(Simulated: the tests may run as root, who writes anywhere.)"""
    monkeypatch.setattr(tasks_base.os, "access", lambda path, mode: False)
    with pytest.raises(PipelineError, match="is read-only for this user"):
        check_data_folder(tmp_path / "data")


def test_tasks_refuse_a_bad_data_folder_when_they_are_built(tmp_path):
    data = tmp_path / "data"
    data.write_text("not a folder")
    with configured("pipeline", data_dir=data):
        for build_task in (DownloadDataset, lambda: Encode(num_words=40),
                           lambda: RunAll(**TINY)):
            with pytest.raises(PipelineError, match="is a file, not a folder"):
                build_task()
    assert data.read_text() == "not a folder"


# -------------------------------------------------- the values read, checked together

def test_validation_size_not_smaller_than_training_documents(data_dir, caplog):
    caplog.set_level(logging.ERROR, logger="luigi-interface")
    params = dict(TINY, validation_size=40)  # the tiny archive has 40 training reviews
    result = build([TrainModel(**params)])
    assert result.status.name == "FAILED", result.summary_text
    # Featurize does not need the split: Luigi runs it all the same
    assert ran_families(result) == ["DownloadDataset", "Encode", "Featurize"]
    assert output_folders(data_dir, "SplitValidation") == []
    assert output_folders(data_dir, "TrainModel") == []
    assert hidden_leftovers(data_dir) == []
    messages = "\n".join(record.getMessage() for record in caplog.records)
    assert "validation_size must be smaller than the number of training documents (40)" \
        in messages
    assert all(record.exc_info is None for record in caplog.records
               if "validation_size" in record.getMessage())


def test_sizes_are_checked_when_a_task_is_built_once_the_dataset_is_fetched(data_dir):
    assert build([DownloadDataset()]).status.name == "SUCCESS"
    with pytest.raises(PipelineError, match=r"validation_size must be smaller than the "
                                            r"number of training documents \(40\), got 40"):
        SplitValidation(num_words=40, validation_size=40)
    with pytest.raises(PipelineError, match=r"train_size must be at most the number of "
                                            r"training documents left after validation "
                                            r"\(30\), got 31"):
        RunAll(**TINY, train_size=31)
    assert RunAll(**TINY, train_size=30).train_size == 30
    Encode(num_words=40)  # Encode reads no sizes


def test_a_maxlen_whose_padded_documents_do_not_fit_is_refused(data_dir, monkeypatch):
    assert build([DownloadDataset()]).status.name == "SUCCESS"
    monkeypatch.setattr(tasks_base, "MAX_PADDED_BYTES", 60 * 100 * 4)  # 60 documents
    assert Featurize(representation="sequences", maxlen=100).maxlen == 100
    with pytest.raises(PipelineError, match="maxlen 101: the padded sequences of the 60 "
                                            "documents would take"):
        Featurize(representation="sequences", maxlen=101)
    with pytest.raises(PipelineError, match="maxlen 101"):
        TrainModel(model="embedding", maxlen=101)
    assert TrainModel(**TINY).units == TINY["units"]  # no padded sequences


def test_the_download_of_a_dataset_with_parameters_of_its_own_is_built(tmp_path):
    """DownloadDataset reads no parameter of the dataset: it fetches the files, Encode
    reads them with those parameters."""
    with configured("pipeline", data_dir=tmp_path / "data"):
        assert Encode(dataset="reuters").requires() == DownloadDataset(dataset="reuters")
        assert DownloadDataset(dataset="reuters").dataset == "reuters"


def test_cli_validation_size_too_large(cli_dir, tmp_path, tiny_archive):
    data = tmp_path / "data"
    completed = run_luigi(["SplitValidation", "--num-words", "40", "--validation-size", "100",
                           "--DownloadDataset-url", tiny_archive,
                           "--pipeline-data-dir", data], cwd=cli_dir)
    output = completed.stdout
    assert completed.returncode == TASK_FAILED, output
    assert "Traceback" not in output, output
    assert "validation_size must be smaller than the number of training documents (40), " \
           "got 100" in output, output
    assert output_folders(data, "Encode")  # the stages before it did their work
    assert output_folders(data, "SplitValidation") == []
    assert hidden_leftovers(data) == []
