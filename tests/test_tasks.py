"""The Luigi tasks on the tiny archive, in process: artifacts, no-op reruns, parameters,
resuming and reproducibility."""
import math
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import (
    TASK_FAMILIES, TINY, build, configured, hidden_leftovers, make_archive, mtimes,
    only_folder, output_folders, pipeline_config, ran_families)
from pipeline import (Encode, EvaluateTest, Featurize, PipelineError, PlotHistory, RunAll,
                      SplitValidation, TrainModel)
from pipeline.datasets.text import tokenize
from pipeline.metrics import classification_metrics
from pipeline.storage import load_arrays, read_json
from pipeline.training import best_epoch

TRAIN_REVIEWS, TEST_REVIEWS = 40, 20  # make_archive's default per_class=(20, 10)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_model(path):
    import keras

    return keras.models.load_model(path)


def steps(rows, batch_size):
    return math.ceil(rows / batch_size)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """One full RunAll with TINY parameters; tests copy its data folder before changing it."""
    root = tmp_path_factory.mktemp("base")
    archive = make_archive(root / "aclImdb_tiny.tar.gz")
    with pipeline_config(root / "data", archive) as data:
        result = build([RunAll(**TINY)])
    return {"data": data, "archive": archive, "result": result}


@pytest.fixture
def copy_of_base(base, tmp_path):
    """A private copy of the finished base run (mtimes kept), configured as the data dir."""
    data = tmp_path / "data"
    shutil.copytree(base["data"], data, copy_function=shutil.copy2)
    with pipeline_config(data, base["archive"]):
        yield data


def folder_mtimes(data, families):
    return {family: mtimes(only_folder(data, family)) for family in families}


# ------------------------------------------------------------------------ full run

def test_run_all_runs_every_task_once(base):
    result = base["result"]
    assert result.scheduling_succeeded
    assert result.status.name == "SUCCESS", result.summary_text
    assert ran_families(result) == sorted(TASK_FAMILIES)
    for family in TASK_FAMILIES:
        only_folder(base["data"], family)
    assert hidden_leftovers(base["data"]) == []


def test_download_encode_and_featurize_artifacts(base):
    data = base["data"]
    download = only_folder(data, "DownloadDataset")
    assert (download / "aclImdb_v1.tar.gz").read_bytes() == base["archive"].read_bytes()
    manifest = read_json(download / "manifest.json")
    assert manifest["reviews"] == {"train/pos": 20, "train/neg": 20, "test/pos": 10,
                                   "test/neg": 10}
    assert manifest["documents"] == {"train": TRAIN_REVIEWS, "test": TEST_REVIEWS}

    encode = only_folder(data, "Encode")
    vocabulary = read_json(encode / "vocabulary.json")
    assert vocabulary["class_names"] == ["negative", "positive"]
    assert vocabulary["dataset"] == "aclimdb"
    with tarfile.open(base["archive"]) as tar:
        train_words = {w for m in tar.getmembers() if m.name.startswith("aclImdb/train/")
                       and m.name.endswith(".txt")
                       for w in tokenize(tar.extractfile(m).read().decode())}
    assert set(vocabulary["words"]) <= train_words
    assert len(vocabulary["words"]) == min(TINY["num_words"] - 4, len(train_words))
    assert vocabulary["source_sha256"] == manifest["sha256"]

    sequences = load_arrays(encode / "sequences.npz")
    for split, count in (("train", TRAIN_REVIEWS), ("test", TEST_REVIEWS)):
        offsets = sequences[f"{split}_offsets"]
        assert len(offsets) - 1 == count and len(sequences[f"{split}_names"]) == count
        assert (sequences[f"{split}_values"][offsets[:-1]] == 1).all()  # start markers
        assert sequences[f"{split}_values"].max() < TINY["num_words"]

    arrays = load_arrays(only_folder(data, "Featurize") / "features.npz")
    assert int(arrays["num_words"]) == TINY["num_words"]
    assert len(arrays["train_indptr"]) - 1 == TRAIN_REVIEWS
    assert len(arrays["test_indptr"]) - 1 == TEST_REVIEWS
    assert arrays["train_indices"].max() < TINY["num_words"]
    assert arrays["train_labels"].sum() == TRAIN_REVIEWS / 2


def test_split_artifacts(base):
    split = load_arrays(only_folder(base["data"], "SplitValidation") / "split.npz")
    val, train = split["val_rows"], split["train_rows"]
    assert len(val) == TINY["validation_size"] and len(train) == TRAIN_REVIEWS - len(val)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(TRAIN_REVIEWS))
    assert set(split) == {"train_rows", "val_rows"}  # row numbers only, no feature copies


def test_train_model_artifacts(base):
    folder = only_folder(base["data"], "TrainModel")
    history = pd.read_csv(folder / "history.csv")
    assert len(history) == TINY["epochs"]
    assert history["epoch"].tolist() == list(range(1, TINY["epochs"] + 1))
    for column in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert column in history.columns and np.isfinite(history[column]).all()

    model = load_model(folder / "model.keras")
    assert model.input_shape == (None, TINY["num_words"])
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == \
        [TINY["units"], TINY["units"], 1]
    train_rows = TRAIN_REVIEWS - TINY["validation_size"]
    assert int(model.optimizer.iterations.numpy()) == \
        TINY["epochs"] * steps(train_rows, TINY["batch_size"])
    training = read_json(folder / "training.json")
    assert training["training_documents"] == train_rows
    assert training["validation_documents"] == TINY["validation_size"]
    assert read_json(folder / "task.json")["parameters"]["epochs"] == str(TINY["epochs"])


def test_evaluate_test_artifacts(base):
    data = base["data"]
    folder = only_folder(data, "EvaluateTest")
    metrics = read_json(folder / "metrics.json")
    for key in ("loss", "accuracy", "precision", "recall", "f1", "roc_auc",
                "confusion_matrix"):
        assert key in metrics
    assert metrics["count"] == TEST_REVIEWS
    assert sum(map(sum, metrics["confusion_matrix"]["rows_true_columns_predicted"])) == \
        TEST_REVIEWS
    history = pd.read_csv(only_folder(data, "TrainModel") / "history.csv")
    assert metrics["final_epochs"] == best_epoch(history)  # final_epochs = auto
    assert metrics["training_documents"] == TRAIN_REVIEWS
    assert set(metrics["per_class"]) == {"negative", "positive"}
    assert sum(c["support"] for c in metrics["per_class"].values()) == TEST_REVIEWS

    # the saved final model gives the saved predictions, and they give the metrics
    from pipeline.features.multihot import MultiHot
    from pipeline.training import predict

    model = load_model(folder / "model.keras")
    assert int(model.optimizer.iterations.numpy()) == \
        metrics["final_epochs"] * steps(TRAIN_REVIEWS, TINY["batch_size"])
    features = load_arrays(only_folder(data, "Featurize") / "features.npz")
    test = MultiHot.from_arrays(features, "test", TINY["num_words"])
    saved = load_arrays(folder / "predictions.npz")
    assert saved["probabilities"].shape == (TEST_REVIEWS, 2)
    np.testing.assert_allclose(saved["probabilities"].sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(predict(model, test), saved["probabilities"], atol=1e-6)
    np.testing.assert_array_equal(saved["labels"], test.labels)
    assert saved["class_names"].tolist() == ["negative", "positive"]
    recomputed = classification_metrics(saved["labels"], saved["probabilities"],
                                        ["negative", "positive"])
    assert metrics["confusion_matrix"] == recomputed["confusion_matrix"]
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert metrics[key] == pytest.approx(recomputed[key]), key


def test_plot_and_summary_artifacts(base):
    data = base["data"]
    png = only_folder(data, "PlotHistory") / "history.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    import matplotlib.image

    image = matplotlib.image.imread(png)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image.std() > 0  # not a blank image

    summary = read_json(only_folder(data, "RunAll") / "summary.json")
    metrics = read_json(only_folder(data, "EvaluateTest") / "metrics.json")
    assert summary["test_accuracy"] == metrics["accuracy"]
    assert summary["test_loss"] == metrics["loss"]
    assert summary["chosen_epoch"] == metrics["final_epochs"]
    for key in ("model", "history", "validation_model", "metrics", "plot"):
        assert Path(summary[key]).exists(), key
    assert summary["parameters"]["epochs"] == str(TINY["epochs"])


# ------------------------------------------------------------------- reruns, changes

def test_second_build_runs_nothing(copy_of_base):
    before = mtimes(copy_of_base)
    result = build([RunAll(**TINY)])
    assert result.status.name == "SUCCESS"
    assert ran_families(result) == []
    assert "Did not run any tasks" in result.summary_text
    assert mtimes(copy_of_base) == before


def test_parameters_given_to_run_all_reach_train_model(copy_of_base):
    data = copy_of_base
    kept = folder_mtimes(data, ["DownloadDataset", "Encode", "SplitValidation", "Featurize"])
    old_train = only_folder(data, "TrainModel")
    old_train_files = mtimes(old_train)

    task = RunAll(**dict(TINY, epochs=4))
    assert task.requires()["train"].epochs == 4
    result = build([task])
    assert result.status.name == "SUCCESS", result.summary_text
    assert ran_families(result) == ["EvaluateTest", "PlotConfusion", "PlotHistory", "RunAll",
                                    "TrainModel"]

    assert folder_mtimes(data, ["DownloadDataset", "Encode", "SplitValidation", "Featurize"]) == kept
    train_folders = output_folders(data, "TrainModel")
    assert len(train_folders) == 2 and old_train in train_folders
    assert mtimes(old_train) == old_train_files  # the 3-epoch run is still there, untouched
    new_train = next(f for f in train_folders if f != old_train)
    assert len(pd.read_csv(new_train / "history.csv")) == 4
    assert read_json(new_train / "task.json")["parameters"]["epochs"] == "4"
    assert new_train == TrainModel(**dict(TINY, epochs=4)).output_dir


def test_final_epochs_2_trains_the_final_model_2_epochs(copy_of_base):
    data = copy_of_base
    kept = folder_mtimes(data, ["DownloadDataset", "Encode", "SplitValidation", "Featurize",
                                "TrainModel"])
    result = build([RunAll(**TINY, final_epochs="2")])
    assert result.status.name == "SUCCESS", result.summary_text
    assert ran_families(result) == ["EvaluateTest", "PlotConfusion", "PlotHistory", "RunAll"]
    assert folder_mtimes(data, list(kept)) == kept

    folder = EvaluateTest(**TINY, final_epochs="2").output_dir
    metrics = read_json(folder / "metrics.json")
    assert metrics["final_epochs"] == 2 and metrics["final_epochs_parameter"] == "2"
    model = load_model(folder / "model.keras")
    assert int(model.optimizer.iterations.numpy()) == 2 * steps(TRAIN_REVIEWS,
                                                                TINY["batch_size"])
    summary = read_json(RunAll(**TINY, final_epochs="2").output_dir / "summary.json")
    assert summary["chosen_epoch"] == 2


def test_a_diverged_training_is_reported_not_crashed_on(copy_of_base, caplog, capsys):
    """learning_rate 1e30: every loss is NaN. With final_epochs auto there is no epoch to
    choose, so EvaluateTest fails in one line; with a number the chain completes, the
    NaN epochs are gaps in the plot and the summary says the training diverged."""
    diverging = dict(TINY, learning_rate=1e30)
    result = build([RunAll(**diverging)])
    assert result.status.name == "FAILED"
    assert "TrainModel" in ran_families(result)
    failure = [r for r in caplog.records if "training diverged" in r.getMessage()]
    assert failure and all(r.exc_info is None for r in failure)
    assert not EvaluateTest(**diverging).complete()

    result = build([RunAll(**diverging, final_epochs="2")])
    assert result.status.name == "SUCCESS", result.summary_text
    history = pd.read_csv(TrainModel(**diverging).output_dir / "history.csv")
    assert history["val_loss"].isna().all()
    metrics = read_json(EvaluateTest(**diverging, final_epochs="2").output_dir / "metrics.json")
    assert math.isnan(metrics["loss"])
    png = PlotHistory(**diverging, final_epochs="2").output_dir / "history.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert "training diverged" in capsys.readouterr().out


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
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert {family: mtimes(only_folder(data, family)) for family in others} == others
    assert hidden_leftovers(data) == []


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


def test_forget_split_validation_then_rebuild(copy_of_base):
    """README "force a recomputation": forget a stage, rebuild; only it and everything
    downstream of it rerun; DownloadDataset, Encode and Featurize stay untouched."""
    from pipeline.forget import forget

    data = copy_of_base
    kept = folder_mtimes(data, ["DownloadDataset", "Encode", "Featurize"])
    downstream = ["SplitValidation", "TrainModel", "EvaluateTest", "PlotHistory",
                  "PlotConfusion", "RunAll"]
    before = folder_mtimes(data, downstream)
    expected = sorted(str(only_folder(data, family)) for family in downstream)
    deleted = forget(RunAll(**TINY), "SplitValidation")
    assert sorted(map(str, deleted)) == expected
    for family in downstream:
        assert output_folders(data, family) == [], family

    result = build([RunAll(**TINY)])
    assert result.status.name == "SUCCESS", result.summary_text
    assert ran_families(result) == sorted(downstream)
    assert folder_mtimes(data, ["DownloadDataset", "Encode", "Featurize"]) == kept
    after = folder_mtimes(data, downstream)
    for family in downstream:
        assert set(after[family]) == set(before[family])
        assert all(after[family][f] > before[family][f] for f in after[family]), family


def test_forget_command_uses_the_data_dir_given_on_its_command_line(copy_of_base, tmp_path,
                                                                      capsys):
    """`python -m pipeline.forget ... --pipeline-data-dir D` deletes under D, and only there."""
    from pipeline.forget import main

    configured = copy_of_base
    other = tmp_path / "other"
    shutil.copytree(configured, other, copy_function=shutil.copy2)
    untouched = folder_mtimes(configured, ["TrainModel", "EvaluateTest"])
    args = ["--num-words", "40", "--validation-size", "10", "--epochs", "3",
            "--batch-size", "8", "--units", "8", "--pipeline-data-dir", str(other)]

    assert main(["TrainModel", *args]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 5 and all(line.startswith(f"deleted {other}") for line in printed)
    for family in ("TrainModel", "EvaluateTest", "PlotHistory", "PlotConfusion", "RunAll"):
        assert output_folders(other, family) == [], family
    assert output_folders(other, "SplitValidation") != []
    assert folder_mtimes(configured, ["TrainModel", "EvaluateTest"]) == untouched


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


def test_same_parameters_in_a_fresh_data_dir_give_identical_results(base, tmp_path):
    with pipeline_config(tmp_path / "data", base["archive"]) as data:
        result = build([RunAll(**TINY)])
    assert result.status.name == "SUCCESS", result.summary_text
    assert ran_families(result) == sorted(TASK_FAMILIES)
    first = base["data"]
    for family in ("Encode", "SplitValidation", "Featurize", "TrainModel", "EvaluateTest",
                   "RunAll"):
        assert only_folder(data, family).name == only_folder(first, family).name

    assert (only_folder(data, "Encode") / "vocabulary.json").read_text() == \
        (only_folder(first, "Encode") / "vocabulary.json").read_text()
    for name, array in load_arrays(only_folder(first, "SplitValidation") / "split.npz").items():
        np.testing.assert_array_equal(
            load_arrays(only_folder(data, "SplitValidation") / "split.npz")[name], array)
    assert (only_folder(data, "TrainModel") / "history.csv").read_bytes() == \
        (only_folder(first, "TrainModel") / "history.csv").read_bytes()
    a = read_json(only_folder(first, "EvaluateTest") / "metrics.json")
    b = read_json(only_folder(data, "EvaluateTest") / "metrics.json")
    a.pop("training_seconds")
    b.pop("training_seconds")
    assert a == b
    np.testing.assert_array_equal(
        load_arrays(only_folder(first, "EvaluateTest") / "predictions.npz")["probabilities"],
        load_arrays(only_folder(data, "EvaluateTest") / "predictions.npz")["probabilities"])


def test_tasks_share_upstream_parameters():
    run_all = RunAll(**TINY)
    train = run_all.requires()["train"]
    assert isinstance(train, TrainModel)
    split, featurize = train.requires()["split"], train.requires()["features"]
    assert isinstance(split, SplitValidation) and isinstance(featurize, Featurize)
    assert (split.num_words, split.validation_size) == (TINY["num_words"],
                                                       TINY["validation_size"])
    assert featurize.representation == "multihot"
    assert isinstance(split.requires(), Encode)
    assert split.requires().task_id == featurize.requires().task_id  # one encoding for both
    # parameters that do not affect a task are not part of its id
    assert Encode(num_words=40).task_id == split.requires().task_id
    assert Featurize(num_words=40).task_id == featurize.task_id
    assert SplitValidation(**{k: v for k, v in TINY.items()
                              if k in ("num_words", "validation_size")}).task_id == \
        split.task_id


def test_experiment_defaults_are_read_when_a_task_is_built():
    """[experiment] in luigi.cfg is the default of every task that has the parameter,
    DownloadDataset's dataset included, and a change to it applies to tasks built after;
    the old name `source` still works there."""
    from pipeline import DownloadDataset

    with configured("experiment", dataset="keras_imdb", epochs=7, source=None) as config:
        assert DownloadDataset().dataset == "keras_imdb"
        assert Encode().requires().dataset == "keras_imdb"
        assert RunAll().epochs == 7 and TrainModel(epochs=3).epochs == 3
        config.remove_option("experiment", "dataset")
        config.set("experiment", "source", "keras")  # an old luigi.cfg, without dataset
        assert RunAll().dataset == "keras_imdb"
        assert RunAll().requires()["train"].dataset == "keras_imdb"
        assert RunAll(dataset="aclimdb").dataset == "aclimdb"  # a given value beats it
        config.set("experiment", "dataset", "aclimdb")  # both in luigi.cfg: they disagree
        with pytest.raises(PipelineError, match="source 'keras' in luigi.cfg .* contradicts"):
            RunAll()
    assert DownloadDataset().dataset == "aclimdb" and RunAll().epochs == 20
