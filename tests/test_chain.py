"""What the restructured chain adds: nested training subsets, a second model on another
representation (scored with Keras, having no numpy twin), download progress, and the
console command run from any folder."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import (ROOT, TINY, build, configured, make_archive, only_folder,
                      pipeline_config)
from pipeline import EvaluateTest, Featurize, Predict, RunAll, TrainModel
from pipeline.storage import load_arrays, read_json

TRAIN_REVIEWS = 40
EMBEDDING = dict(num_words=40, validation_size=10, epochs=2, batch_size=8, model="embedding",
                 maxlen=12, embedding_dim=4)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("chain")
    archive = make_archive(root / "aclImdb_tiny.tar.gz")
    with pipeline_config(root / "data", archive) as data:
        yield {"data": data, "archive": archive, "root": root}


def test_train_size_trains_on_nested_subsets_of_one_split(chain):
    result = build([EvaluateTest(**TINY, train_size=n) for n in (8, 20)])
    assert result.status.name == "SUCCESS", result.summary_text
    split = load_arrays(only_folder(chain["data"], "SplitValidation") / "split.npz")
    assert len(split["train_rows"]) == TRAIN_REVIEWS - TINY["validation_size"]
    for n in (8, 20):
        training = read_json(TrainModel(**TINY, train_size=n).output_dir / "training.json")
        assert training["training_documents"] == n
        assert training["validation_documents"] == TINY["validation_size"]
        metrics = read_json(EvaluateTest(**TINY, train_size=n).output_dir / "metrics.json")
        assert metrics["training_documents"] == n  # the final model too
    # one split and one Featurize serve every size
    assert len(list((chain["data"] / "SplitValidation").iterdir())) == 1
    assert len(list((chain["data"] / "Featurize").iterdir())) == 1


def test_train_size_beyond_the_training_part_is_refused(tmp_path, caplog):
    """On a first run (dataset size unknown) when TrainModel runs, before training; once the
    dataset is fetched, when the task is built."""
    from pipeline import PipelineError

    message = ("train_size must be at most the number of training documents left after "
               "validation (30), got 31")
    with pipeline_config(tmp_path / "data", make_archive(tmp_path / "a.tar.gz")) as data:
        result = build([TrainModel(**TINY, train_size=31)])
        assert result.status.name == "FAILED"
        assert message in caplog.text
        assert not (data / "TrainModel").exists() or \
            not any(p for p in (data / "TrainModel").iterdir() if not p.name.startswith("."))
        from luigi.task_register import Register

        Register.clear_instance_cache()  # a new command line builds its tasks anew
        with pytest.raises(PipelineError, match=message.replace("(", r"\(").replace(")", r"\)")):
            TrainModel(**TINY, train_size=31)


def test_embedding_model_runs_through_the_ordinary_chain(chain):
    result = build([RunAll(**EMBEDDING)])
    assert result.status.name == "SUCCESS", result.summary_text
    data = chain["data"]
    features = Featurize(num_words=40, representation="sequences", maxlen=12)
    padded = load_arrays(features.output_dir / "features.npz")
    assert padded["train_padded"].shape == (TRAIN_REVIEWS, 12)
    evaluate = EvaluateTest(**EMBEDDING)
    assert "weights" not in evaluate.output()  # no numpy twin, and no failure for it
    assert sorted(p.name for p in evaluate.output_dir.iterdir()) == \
        ["metrics.json", "model.keras", "predictions.npz", "task.json"]
    history = pd.read_csv(TrainModel(**EMBEDDING).output_dir / "history.csv")
    assert len(history) == EMBEDDING["epochs"]
    summary = read_json(RunAll(**EMBEDDING).output_dir / "summary.json")
    assert (summary["dataset"], summary["model_name"]) == ("aclimdb", "embedding")
    assert summary["parameters"]["maxlen"] == "12" and "units" not in summary["parameters"]
    # the book's model and this one share the split and the encoding
    assert len(list((data / "SplitValidation").iterdir())) == 1
    assert len(list((data / "Encode").iterdir())) == 1


def test_predict_with_a_model_that_has_no_numpy_twin_uses_keras(chain, tmp_path):
    import keras

    from pipeline.datasets.text import encode_texts

    texts = ["great brilliant wonderful film", "awful boring worst waste"]
    source = tmp_path / "new.txt"
    source.write_text("\n".join(texts) + "\n")
    result = build([Predict(**EMBEDDING, input=str(source))])
    assert result.status.name == "SUCCESS", result.summary_text
    rows = pd.read_csv(only_folder(chain["data"], "Predict") / "predictions.csv")
    assert rows.columns.tolist() == ["id", "probability_positive", "label", "note"]

    # the same numbers as Keras's own predict on the padded sequences
    from pipeline.features.sequences import pad

    vocabulary = read_json(only_folder(chain["data"], "Encode") / "vocabulary.json")
    sequences = encode_texts(texts, vocabulary["words"])
    offsets = np.cumsum([0] + [len(s) for s in sequences])
    matrix = pad(np.concatenate(sequences).astype(np.int32), offsets, EMBEDDING["maxlen"])
    model = keras.models.load_model(EvaluateTest(**EMBEDDING).output_dir / "model.keras")
    expected = model.predict(matrix, verbose=0).reshape(-1)
    np.testing.assert_allclose(rows["probability_positive"], expected, atol=1e-6)


def test_download_reports_progress_to_the_scheduler(tmp_path, monkeypatch):
    from pipeline import DownloadDataset, remote
    from pipeline.datasets import download

    reports = []
    monkeypatch.setattr(remote, "send_progress",
                        lambda task, message, percentage: reports.append((message, percentage)))
    monkeypatch.setattr(download, "CHUNK", 4096)
    monkeypatch.setattr(download, "PROGRESS_EVERY", 0.0)
    archive = make_archive(tmp_path / "big.tar.gz", per_class=(200, 10))
    with pipeline_config(tmp_path / "data", archive):
        assert build([DownloadDataset()]).status.name == "SUCCESS"
    percents = [p for message, p in reports if "MB (" in message]
    assert len(percents) >= 3 and percents == sorted(percents) and percents[-1] == 100
    size = archive.stat().st_size / 2**20
    assert any(f"of {size:.1f} MB" in message for message, _ in reports), reports


# ------------------------------------------------------------------ the console command

COMMAND = str(__import__("pathlib").Path(sys.executable).with_name("text-classifier"))
TINY_PARAMS = [arg for name, value in TINY.items() for arg in ("-p", f"{name}={value}")]


def run_command(args, cwd, **env):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **env)
    environment.pop("LUIGI_CONFIG_PATH", None) if "LUIGI_CONFIG_PATH" not in env else None
    return subprocess.run([COMMAND, *args], cwd=cwd, env=environment, text=True,
                          capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project folder elsewhere: luigi.cfg with a relative data folder, and a finished run."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "luigi.cfg", root / "luigi.cfg")
    archive = make_archive(root / "aclImdb_tiny.tar.gz")
    with pipeline_config(root / "data", archive):
        assert build([RunAll(**TINY)]).status.name == "SUCCESS"
    return root


def test_command_without_configuration_says_so_and_trains_nothing(project, tmp_path):
    completed = run_command(["predict", "a fine film"], cwd=tmp_path)
    assert completed.returncode == 2
    assert "no configuration: there is no luigi.cfg in this folder" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert list(tmp_path.iterdir()) == []  # no data/ created here


@pytest.mark.parametrize("how", ["option", "environment"])
def test_command_from_another_folder_finds_the_project(project, tmp_path, how):
    config = str(project / "luigi.cfg")
    if how == "option":
        completed = run_command(["predict", "--config", config, *TINY_PARAMS,
                                 "great brilliant film", "awful boring mess"], cwd=tmp_path)
    else:
        completed = run_command(["predict", *TINY_PARAMS, "great brilliant film",
                                 "awful boring mess"], cwd=tmp_path, LUIGI_CONFIG_PATH=config)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 2 and "Building" not in completed.stderr  # used the finished run
    assert list(tmp_path.iterdir()) == []


def test_command_with_a_missing_data_folder_refuses_to_train(project, tmp_path):
    completed = run_command(["predict", "--config", str(project / "luigi.cfg"),
                             "--data-dir", str(tmp_path / "nowhere"), "a film"], cwd=tmp_path)
    assert completed.returncode == 2
    assert f"data folder {tmp_path / 'nowhere'} does not exist" in completed.stderr
    assert not (tmp_path / "nowhere").exists()


def test_addresses_per_dataset_in_luigi_cfg(tmp_path):
    """[DownloadDataset] aclimdb_url beats the shared url for that dataset only; the
    command line's url beats both."""
    from pipeline import DownloadDataset

    with configured("DownloadDataset", url="/shared.tar.gz",
                    aclimdb_url="/imdb/aclImdb_v1.tar.gz", keras_imdb_url=None) as config:
        assert DownloadDataset().addresses() == {"url": "/imdb/aclImdb_v1.tar.gz"}
        assert DownloadDataset(dataset="keras_imdb").addresses()["url"] == "/shared.tar.gz"
        config.set("DownloadDataset", "keras_imdb_url", "/keras/imdb.npz")
        assert DownloadDataset(dataset="keras_imdb").addresses()["url"] == "/keras/imdb.npz"
        assert DownloadDataset(url="/given.tar.gz").addresses() == {"url": "/given.tar.gz"}


def test_keras_files_fetched_under_the_old_source_name_are_reused(tmp_path):
    """data/DownloadDataset/keras/ (before the restructure) feeds keras_imdb offline."""
    from pipeline import DownloadDataset

    with pipeline_config(tmp_path / "data", "") as data:
        old = data / "DownloadDataset" / "keras"
        old.mkdir(parents=True)
        (old / "imdb.npz").write_bytes(b"old npz")
        (old / "imdb_word_index.json").write_bytes(b"{}")
        assert DownloadDataset(dataset="keras_imdb").addresses() == {
            "url": str(old / "imdb.npz"), "word_index_url": str(old / "imdb_word_index.json")}


def test_an_old_copy_beats_the_shared_url_and_comes_as_a_whole(tmp_path):
    """With the README's offline setup ([DownloadDataset] url = the IMDB archive), the
    keras_imdb copies kept under keras/ are used, both files from there."""
    from pipeline import DownloadDataset

    with pipeline_config(tmp_path / "data", "/data/aclImdb_v1.tar.gz") as data:
        old = data / "DownloadDataset" / "keras"
        old.mkdir(parents=True)
        (old / "imdb.npz").write_bytes(b"old npz")
        assert DownloadDataset(dataset="keras_imdb").addresses() == {  # one file is not all
            "url": "/data/aclImdb_v1.tar.gz", "word_index_url": ""}
        (old / "imdb_word_index.json").write_bytes(b"{}")
        assert DownloadDataset(dataset="keras_imdb").addresses() == {
            "url": str(old / "imdb.npz"), "word_index_url": str(old / "imdb_word_index.json")}
        assert DownloadDataset().addresses() == {"url": "/data/aclImdb_v1.tar.gz"}


def test_a_task_section_value_of_an_unread_parameter_does_not_reach_other_tasks():
    """[TrainModel] maxlen = 200 is TrainModel's default of a parameter mlp does not read:
    accepted there, and not handed on to Featurize (which would refuse it)."""
    with configured("TrainModel", maxlen=200):
        train = TrainModel(**TINY)
        assert train.requires()["features"].maxlen == 150
    with configured("RunAll", layers=3):
        run = RunAll(**{**TINY, "model": "embedding", "units": 16})
        assert run.requires()["train"].layers == 2  # embedding does not read layers


@pytest.mark.parametrize("before,after,bad", [
    (["-p", "epochs=abc"], ["-p", "seed=1"], "epochs"),
    (["-p", "seed=1"], ["-p", "epochs=abc"], "epochs"),
])
def test_command_params_before_and_after_the_subcommand_add_up(tmp_path, capsys, before,
                                                                after, bad):
    from pipeline import cli

    code = cli.main([*before, "--data-dir", str(tmp_path), "predict", *after, "a film"],
                    prog="text-classifier")
    assert code == 2
    assert f"--param {bad}: invalid value 'abc'" in capsys.readouterr().err


def test_a_model_s_own_defaults_come_before_experiment(tmp_path):
    """The sequence models train the notebook's 10 epochs of batch 32 unless told
    otherwise; [experiment.<model>] overrides that, the command line beats both, and a
    grid variant that switches model takes the new model's defaults."""
    import json

    from pipeline.grids import CompareModels

    assert (TrainModel(model="embedding").epochs, TrainModel(model="embedding").batch_size) \
        == (10, 32)
    assert (TrainModel().epochs, TrainModel().batch_size) == (20, 512)
    assert TrainModel(model="pooled", batch_size=64).batch_size == 64
    with configured("experiment.embedding", batch_size=16):
        assert TrainModel(model="embedding").batch_size == 16
        assert TrainModel(model="pooled").batch_size == 32
    variants = tmp_path / "v.json"
    variants.write_text(json.dumps({"mlp": {}, "seq": {"model": "embedding"},
                                    "short": {"model": "embedding", "epochs": 3}}))
    grid = CompareModels(variants_file=str(variants))
    built = {name: EvaluateTest(**params) for name, params in grid.variant_params.items()}
    assert (built["mlp"].epochs, built["mlp"].batch_size) == (20, 512)
    assert (built["seq"].epochs, built["seq"].batch_size) == (10, 32)
    assert (built["short"].epochs, built["short"].batch_size) == (3, 32)
    given = CompareModels(variants_file=str(variants), batch_size=128).variant_params
    assert EvaluateTest(**given["seq"]).batch_size == 128  # the command line's value
