"""Invalid parameters and bad archives: a clear message naming the problem, no
traceback, a non-zero exit code, and nothing written."""
import logging
import subprocess
import sys

import pytest

from conftest import (
    TINY, build, configured, hidden_leftovers, make_archive, output_folders, ran_families,
    run_luigi, tiny_cli_args)
from pipeline import (
    DownloadDataset, Encode, EvaluateTest, Featurize, PipelineError, PlotHistory, RunAll,
    SplitValidation, TrainModel)

TASK_FAILED, UNHANDLED = 30, 40  # luigi.cfg [retcode]


# ------------------------------------------------------------- at construction, in process

@pytest.mark.parametrize("task_cls,params,name", [
    (TrainModel, {"epochs": 0}, "epochs"),
    (TrainModel, {"epochs": -3}, "epochs"),
    (RunAll, {"epochs": 0}, "epochs"),
    (Encode, {"num_words": 0}, "num_words"),
    (RunAll, {"num_words": -1}, "num_words"),
    (Encode, {"num_words": 2}, "num_words must be at least 5"),
    (RunAll, {"num_words": 4}, "num_words must be at least 5"),
    (TrainModel, {"activation": "relux"}, "activation"),
    (RunAll, {"optimizer": "adamm"}, "optimizer"),
    (TrainModel, {"loss": "crossentropy"}, "loss"),
    (TrainModel, {"batch_size": 0}, "batch_size"),
    (TrainModel, {"units": 0}, "units"),
    (TrainModel, {"layers": 0}, "layers"),
    (TrainModel, {"dropout": 1.0}, "dropout"),
    (TrainModel, {"learning_rate": 0.0}, "learning_rate"),
    (TrainModel, {"l2": -0.1}, "l2"),
    (TrainModel, {"l2": float("inf")}, "l2 must be a finite number"),
    (RunAll, {"l1": float("nan")}, "l1"),
    (TrainModel, {"learning_rate": float("inf")}, "learning_rate must be a finite number"),
    (SplitValidation, {"validation_size": 0}, "validation_size"),
    (SplitValidation, {"seed": -1}, "seed"),
    (RunAll, {"seed": 2**32}, "seed must be between 0 and 4294967295"),
    (EvaluateTest, {"final_epochs": "x"}, "final_epochs"),
    (EvaluateTest, {"final_epochs": "0"}, "final_epochs"),
    (EvaluateTest, {"final_epochs": "-1"}, "final_epochs"),
    (RunAll, {"final_epochs": "2.5"}, "final_epochs"),
    (PlotHistory, {"final_epochs": ""}, "final_epochs"),
    (RunAll, {"dataset": "imdbb"}, "unknown dataset 'imdbb'; choose one of aclimdb"),
    (DownloadDataset, {"dataset": "reuterz"}, "unknown dataset"),
    (RunAll, {"model": "cnn"}, "unknown model 'cnn'; choose one of mlp"),
    (Featurize, {"representation": "tfidf"}, "unknown representation 'tfidf'"),
    (RunAll, {"source": "kerass"}, "unknown source 'kerass'"),
    (RunAll, {"train_size": -1}, "train_size"),
    (RunAll, {"model": "embedding", "maxlen": 0}, "maxlen must be between 1"),
    (Featurize, {"representation": "sequences", "padding": "middle"}, "padding must be pre or"),
    (RunAll, {"model": "embedding", "embedding_dim": 0}, "embedding_dim"),
])
def test_invalid_parameter_fails_at_construction(task_cls, params, name):
    with pytest.raises(PipelineError, match=name) as error:
        task_cls(**params)
    assert isinstance(error.value, ValueError)
    assert str(list(params.values())[-1]) in str(error.value)  # the bad value, given last


@pytest.mark.parametrize("task_cls,params,name,chooser", [
    (RunAll, {"maxlen": 100}, "maxlen", "model 'mlp'"),
    (TrainModel, {"model": "mlp", "truncating": "post"}, "truncating", "model 'mlp'"),
    (EvaluateTest, {"model": "embedding", "units": 32}, "units", "model 'embedding'"),
    (RunAll, {"model": "embedding", "dropout": 0.5}, "dropout", "model 'embedding'"),
    (Featurize, {"maxlen": 20}, "maxlen", "representation 'multihot'"),
])
def test_a_parameter_the_chosen_model_does_not_read_is_refused(task_cls, params, name,
                                                                chooser):
    """`--model mlp --maxlen 100` must not silently do nothing: one line naming both."""
    with pytest.raises(PipelineError) as error:
        task_cls(**params)
    assert f"{name} is not a parameter of {chooser}" in str(error.value)


def test_parameters_a_model_does_not_read_stay_out_of_its_task_ids():
    """The defaults of other models' parameters (given explicitly, or changed in luigi.cfg)
    do not change the ids of the book's model, and the reverse."""
    mlp = RunAll()
    assert RunAll(maxlen=150, model="mlp", embedding_dim=100).task_id == mlp.task_id
    embedding = TrainModel(model="embedding")
    assert "maxlen" in embedding.to_str_params(only_significant=True)
    assert "units" not in embedding.to_str_params(only_significant=True)
    with configured("experiment", maxlen=77, units=64):
        assert RunAll().task_id != mlp.task_id  # units is mlp's
        assert RunAll(units=16).task_id == mlp.task_id  # maxlen is not
        assert TrainModel(model="embedding", units=64).task_id != embedding.task_id
        assert TrainModel(model="embedding", maxlen=150).task_id == embedding.task_id


def test_source_is_an_alias_of_dataset():
    assert RunAll(source="keras").dataset == "keras_imdb"
    assert RunAll(source="keras").task_id == RunAll(dataset="keras_imdb").task_id
    assert RunAll(source="aclimdb").task_id == RunAll().task_id
    assert RunAll(source="keras").requires()["train"].dataset == "keras_imdb"
    with pytest.raises(PipelineError, match="contradicts dataset"):
        RunAll(source="aclimdb", dataset="keras_imdb")


def test_an_address_the_dataset_does_not_take_is_refused():
    """Given on the command line it is refused; set in luigi.cfg for keras_imdb, an
    aclimdb run leaves it alone."""
    with pytest.raises(PipelineError, match="dataset aclimdb has no word_index_url"):
        DownloadDataset(word_index_url="/tmp/imdb_word_index.json")
    with configured("DownloadDataset", word_index_url="/data/imdb_word_index.json"):
        assert DownloadDataset().word_index_url == "/data/imdb_word_index.json"
        assert Encode().requires().dataset == "aclimdb"


@pytest.mark.parametrize("value", ["auto", "1", "4", "20"])
def test_valid_final_epochs(value):
    assert EvaluateTest(final_epochs=value).final_epochs == value


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


# ------------------------------------------------------------------------- on the CLI

def assert_clean_failure(completed, code, *needles):
    output = completed.stdout
    assert completed.returncode == code, output
    assert "Traceback" not in output, output
    for needle in needles:
        assert needle in output, output


@pytest.mark.parametrize("args,needle", [
    (["--epochs", "0"], "epochs must be a positive integer, got 0"),
    (["--num-words", "0"], "num_words"),
    (["--activation", "foo"], "activation"),
    (["--optimizer", "nope"], "optimizer"),
    (["--final-epochs", "two"], "final_epochs"),
])
def test_cli_invalid_parameter(cli_dir, tmp_path, args, needle):
    data = tmp_path / "data"
    completed = run_luigi(["RunAll", *args, "--pipeline-data-dir", data], cwd=cli_dir)
    assert_clean_failure(completed, UNHANDLED, needle)
    assert not data.exists()


def test_cli_non_integer_parameter(cli_dir, tmp_path):
    """A value that is not a number at all is bad input too: same clean failure."""
    data = tmp_path / "data"
    completed = run_luigi(["RunAll", "--epochs", "abc", "--pipeline-data-dir", data],
                          cwd=cli_dir)
    assert completed.returncode != 0
    assert not data.exists()
    assert_clean_failure(completed, completed.returncode, "epochs", "abc")


def test_cli_bad_value_in_luigi_cfg(cli_dir, tmp_path):
    """A bad [experiment] default in luigi.cfg: one line naming the file, the section and
    the parameter, no traceback, nothing written; a value given on the command line
    wins over it, as over any default."""
    cfg = cli_dir / "luigi.cfg"
    cfg.write_text(cfg.read_text().replace("\nepochs = 20\n", "\nepochs = abc\n"))
    data = tmp_path / "data"
    completed = run_luigi(["RunAll", "--pipeline-data-dir", data], cwd=cli_dir)
    assert_clean_failure(completed, UNHANDLED,
                         "[experiment] in luigi.cfg: epochs must be an integer, got 'abc'")
    assert not data.exists()
    listed = subprocess.run([sys.executable, "-m", "pipeline.forget", "TrainModel", "--dry-run",
                             "--epochs", "3", "--pipeline-data-dir", str(data)],
                            cwd=cli_dir, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert "would delete" in listed.stdout and "Traceback" not in listed.stderr


def test_cli_validation_size_too_large(cli_dir, tmp_path, tiny_archive):
    data = tmp_path / "data"
    completed = run_luigi(["SplitValidation", "--num-words", "40", "--validation-size", "100",
                           "--DownloadDataset-url", tiny_archive,
                           "--pipeline-data-dir", data], cwd=cli_dir)
    assert_clean_failure(completed, TASK_FAILED, "validation_size must be smaller than the "
                                                 "number of training documents (40), got 100")
    assert output_folders(data, "Encode")  # the stages before it did their work
    assert output_folders(data, "SplitValidation") == []
    assert hidden_leftovers(data) == []


def corrupt(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)
    path.write_bytes(bytes(data))
    return path


def truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


def not_gzip(path):
    path.write_bytes(b"<html>404 Not Found</html>\n" * 50)
    return path


@pytest.mark.parametrize("damage,needle", [
    (corrupt, "truncated or corrupt"),
    (truncated, "truncated or corrupt"),
    (not_gzip, "not a readable"),
    (lambda path: make_archive(path, per_class=(5, 5), skip_folders=("test/neg",)),
     "not the aclImdb layout: no review files (<id>_<rating>.txt) in aclImdb/test/neg/"),
    (lambda path: make_archive(path, per_class=(5, 5),
                               extra_members=[("aclImdb/../../evil.txt", b"x")]),
     "unsafe path in archive: 'aclImdb/../../evil.txt'"),
])
def test_cli_bad_archive(cli_dir, tmp_path, damage, needle):
    archive = make_archive(tmp_path / "aclImdb_bad.tar.gz", per_class=(60, 30))
    archive = damage(archive)
    data = tmp_path / "data"
    completed = run_luigi(["RunAll", *tiny_cli_args(), "--DownloadDataset-url", archive,
                           "--pipeline-data-dir", data], cwd=cli_dir)
    assert_clean_failure(completed, TASK_FAILED, needle, str(archive))
    # the message names the file the user gave, not the staging copy
    error = next(line for line in completed.stdout.splitlines() if needle in line)
    assert str(archive) in error and ".staging" not in error, error
    assert output_folders(data, "DownloadDataset") == []
    assert hidden_leftovers(data) == [] if data.exists() else True
    for family in ("Encode", "SplitValidation", "Featurize", "TrainModel"):
        assert output_folders(data, family) == []


def test_cli_missing_archive(cli_dir, tmp_path):
    data = tmp_path / "data"
    completed = run_luigi(["DownloadDataset", "--DownloadDataset-url", tmp_path / "nope.tar.gz",
                           "--pipeline-data-dir", data], cwd=cli_dir)
    assert_clean_failure(completed, TASK_FAILED, "--DownloadDataset-url", "nope.tar.gz")
    assert output_folders(data, "DownloadDataset") == []


def test_cli_offline(cli_dir, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/aclImdb_v1.tar.gz"
    data = tmp_path / "data"
    completed = run_luigi(["RunAll", "--DownloadDataset-url", url,
                           "--pipeline-data-dir", data], cwd=cli_dir)
    assert_clean_failure(completed, TASK_FAILED, "--DownloadDataset-url", url)
    assert output_folders(data, "DownloadDataset") == []
    assert hidden_leftovers(data) == [] if data.exists() else True
