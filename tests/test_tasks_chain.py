"""The chain of tasks (pipeline/tasks/chain.py) on tiny archives, in process: each task's
artifacts, no-op reruns, parameters reaching upstream tasks, nested training subsets, a
second model on another representation, RunAll's summary and references, the Predict
task, DownloadDataset's addresses and its failures on bad archives."""
import math
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import (
    TASK_FAMILIES,
    TINY,
    build,
    configured,
    folder_mtimes,
    hidden_leftovers,
    make_archive,
    mtimes,
    only_folder,
    output_folders,
    pipeline_config,
    ran_families,
    run_luigi,
    tiny_cli_args,
)

from pipeline import (
    DownloadDataset,
    EvaluateTest,
    Featurize,
    PipelineError,
    PlotHistory,
    Predict,
    RunAll,
    TrainModel,
)
from pipeline.io.storage import load_arrays, read_json
from pipeline.ml.metrics import classification_metrics
from pipeline.ml.text import tokenize
from pipeline.ml.training import best_epoch
from pipeline.tasks import console
from pipeline.tasks.chain import describe

TRAIN_REVIEWS, TEST_REVIEWS = 40, 20  # make_archive's default per_class=(20, 10)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TASK_FAILED = 30  # luigi.cfg [retcode]
EMBEDDING = dict(num_words=40, validation_size=10, epochs=2, batch_size=8, model="embedding",
                 maxlen=12, embedding_dim=4)


def load_model(path):
    import keras

    return keras.models.load_model(path)


def steps(rows, batch_size):
    return math.ceil(rows / batch_size)





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
    assert download.name == "aclimdb"
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
    from pipeline.ml.training import predict

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
    assert (folder / "weights.npz").is_file()  # the mlp's numpy twin, for predict


def test_plot_and_summary_artifacts(base):
    data = base["data"]
    png = only_folder(data, "PlotHistory") / "history.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    import matplotlib.image

    image = matplotlib.image.imread(png)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image.std() > 0  # not a blank image
    assert (only_folder(data, "PlotConfusion") / "confusion_matrix.png").read_bytes()[:8] \
        == PNG_SIGNATURE

    summary = read_json(only_folder(data, "RunAll") / "summary.json")
    metrics = read_json(only_folder(data, "EvaluateTest") / "metrics.json")
    assert summary["test_accuracy"] == metrics["accuracy"]
    assert summary["test_loss"] == metrics["loss"]
    assert summary["chosen_epoch"] == metrics["final_epochs"]
    for key in ("model", "history", "validation_model", "metrics", "plot", "confusion_plot"):
        assert not Path(summary[key]).is_absolute(), key  # relative to the data folder
        assert (data / summary[key]).exists(), key
    assert summary["paths"].startswith("relative to the data folder")
    assert summary["parameters"]["epochs"] == TINY["epochs"]  # an int, not "3"
    assert summary["parameters"] == RunAll(**TINY).typed_params()
    assert "maxlen" not in summary["parameters"]  # only what RunAll of the mlp reads
    assert (summary["dataset"], summary["model_name"]) == ("aclimdb", "mlp")
    assert summary["references"] == {}  # IMDB has no reference models
    assert set(summary["baselines"]) >= {"random_labels"}


# ------------------------------------------------------------------- reruns, changes

def test_second_build_runs_nothing(copy_of_base):
    before = mtimes(copy_of_base)
    console.new_run()
    result = build([RunAll(**TINY)])
    assert result.status.name == "SUCCESS"
    assert ran_families(result) == []
    assert "Did not run any tasks" in result.summary_text
    assert mtimes(copy_of_base) == before
    printed = console.run_result()
    assert printed.startswith("Nothing to do: RunAll is already complete.")
    assert str(RunAll(**TINY).output()["summary"].path) in printed


@pytest.mark.slow
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

    upstream = ["DownloadDataset", "Encode", "SplitValidation", "Featurize"]
    assert folder_mtimes(data, upstream) == kept
    train_folders = output_folders(data, "TrainModel")
    assert len(train_folders) == 2 and old_train in train_folders
    assert mtimes(old_train) == old_train_files  # the 3-epoch run is still there, untouched
    new_train = next(f for f in train_folders if f != old_train)
    assert len(pd.read_csv(new_train / "history.csv")) == 4
    assert read_json(new_train / "task.json")["parameters"]["epochs"] == "4"
    assert new_train == TrainModel(**dict(TINY, epochs=4)).output_dir


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_diverged_training_is_reported_not_crashed_on(copy_of_base, caplog):
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

    console.new_run()
    result = build([RunAll(**diverging, final_epochs="2")])
    assert result.status.name == "SUCCESS", result.summary_text
    history = pd.read_csv(TrainModel(**diverging).output_dir / "history.csv")
    assert history["val_loss"].isna().all()
    metrics = read_json(EvaluateTest(**diverging, final_epochs="2").output_dir / "metrics.json")
    assert math.isnan(metrics["loss"])
    png = PlotHistory(**diverging, final_epochs="2").output_dir / "history.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert "training diverged" in console.run_result()


@pytest.mark.slow
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


# --------------------------------------------------- training subsets, another model

@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("chain")
    archive = make_archive(root / "aclImdb_tiny.tar.gz")
    with pipeline_config(root / "data", archive) as data:
        yield {"data": data, "archive": archive, "root": root}


@pytest.mark.slow
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


@pytest.mark.slow
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
    assert summary["parameters"]["maxlen"] == 12 and "units" not in summary["parameters"]
    # the book's model and this one share the split and the encoding
    assert len(list((data / "SplitValidation").iterdir())) == 1
    assert len(list((data / "Encode").iterdir())) == 1


def test_predict_with_a_model_that_has_no_numpy_twin_uses_keras(chain, tmp_path):
    import keras

    from pipeline.features.sequences import pad
    from pipeline.ml.text import encode_texts

    texts = ["great brilliant wonderful film", "awful boring worst waste"]
    source = tmp_path / "new.txt"
    source.write_text("\n".join(texts) + "\n")
    result = build([Predict(**EMBEDDING, input=str(source))])
    assert result.status.name == "SUCCESS", result.summary_text
    rows = pd.read_csv(only_folder(chain["data"], "Predict") / "predictions.csv")
    assert rows.columns.tolist() == ["id", "probability_positive", "label", "note"]

    # the same numbers as Keras's own predict on the padded sequences
    vocabulary = read_json(only_folder(chain["data"], "Encode") / "vocabulary.json")
    sequences = encode_texts(texts, vocabulary["words"])
    offsets = np.cumsum([0] + [len(s) for s in sequences])
    matrix = pad(np.concatenate(sequences).astype(np.int32), offsets, EMBEDDING["maxlen"])
    model = keras.models.load_model(EvaluateTest(**EMBEDDING).output_dir / "model.keras")
    expected = model.predict(matrix, verbose=0).reshape(-1)
    np.testing.assert_allclose(rows["probability_positive"], expected, atol=1e-6)


def test_predict_output_folder_follows_the_input_content(tmp_path):
    """An edited input file is scored again: its output folder is another one, and the
    same content again is the same folder."""
    with configured("pipeline", data_dir=tmp_path / "data"):
        source = tmp_path / "new.txt"
        source.write_text("a fine film\n")
        first = Predict(**TINY, input=str(source)).output_dir
        assert first.parent == tmp_path / "data" / "Predict"
        assert first.name.startswith(Predict(**TINY, input=str(source)).task_id + "_")
        source.write_text("a dull film\n")
        assert Predict(**TINY, input=str(source)).output_dir != first
        source.write_text("a fine film\n")
        assert Predict(**TINY, input=str(source)).output_dir == first
        with pytest.raises(PipelineError, match="input .*nowhere.txt: no such file"):
            Predict(**TINY, input=str(tmp_path / "nowhere.txt"))


# ------------------------------------------------------------ RunAll's references

def test_reuters_trains_the_book_s_bottleneck_beside_the_chosen_model(tmp_path):
    """A reference of the run's own model shares all its settings; one of another model
    shares the data (dataset, words, split, seed) and takes that model's defaults."""
    with configured("pipeline", data_dir=tmp_path / "data"):
        run = RunAll(dataset="reuters", epochs=7, seed=3, wire_text="keras")
        (name, bottleneck), = run.references().items()
        assert name == "bottleneck" and isinstance(bottleneck, EvaluateTest)
        assert (bottleneck.model, bottleneck.layers, bottleneck.units) == ("mlp", 2, (64, 4))
        assert (bottleneck.epochs, bottleneck.seed, bottleneck.wire_text) == (7, 3, "keras")
        assert bottleneck.validation_size == 1000  # Reuters's own default
        assert run.requires()["references"] == {"bottleneck": bottleneck}

        other = RunAll(dataset="reuters", model="embedding", seed=3, num_words=500,
                       wire_text="keras")
        reference = other.references()["bottleneck"]
        assert reference.model == "mlp" and reference.units == (64, 4)
        assert (reference.dataset, reference.num_words, reference.validation_size,
                reference.seed, reference.wire_text) == ("reuters", 500, 1000, 3, "keras")
        assert (reference.epochs, reference.batch_size) == (20, 512)  # mlp's, not embedding's
        assert RunAll().references() == {}


def test_describe_a_finished_run():
    summary = {"dataset": "reuters", "model_name": "mlp", "test_accuracy": 0.81234,
               "test_loss": 0.9, "chosen_epoch": 9, "model": "m.keras", "plot": "h.png",
               "confusion_plot": "c.png", "baselines": {"random_labels": 0.1899},
               "references": {"bottleneck": {"test_accuracy": 0.7134}}}
    text = describe(summary, "s.json")
    assert "reuters, mlp: test accuracy 0.8123, test loss 0.9000 (final model trained 9 " \
           "epochs)" in text
    assert "compare: random labels 0.1899, bottleneck 0.7134" in text
    assert "summary: s.json" in text and "confusion matrix: c.png" in text
    assert "warning" not in text
    diverged = describe(dict(summary, test_loss=float("nan")), "s.json")
    assert "warning: the test loss is not finite: training diverged" in diverged


# ---------------------------------------------------------------------- downloading

def test_download_reports_progress_to_the_scheduler(tmp_path, monkeypatch):
    from pipeline.io import download
    from pipeline.tasks import remote

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


def test_addresses_per_dataset_in_luigi_cfg(tmp_path):
    """[DownloadDataset] aclimdb_url beats the shared url for that dataset only; the
    command line's url beats both."""
    with configured("DownloadDataset", url="/shared.tar.gz",
                    aclimdb_url="/imdb/aclImdb_v1.tar.gz", keras_imdb_url=None) as config:
        assert DownloadDataset().addresses() == {"url": "/imdb/aclImdb_v1.tar.gz"}
        assert DownloadDataset(dataset="keras_imdb").addresses()["url"] == "/shared.tar.gz"
        config.set("DownloadDataset", "keras_imdb_url", "/keras/imdb.npz")
        assert DownloadDataset(dataset="keras_imdb").addresses()["url"] == "/keras/imdb.npz"
        assert DownloadDataset(url="/given.tar.gz").addresses() == {"url": "/given.tar.gz"}


def test_an_address_the_dataset_does_not_take_is_refused():
    """Given on the command line it is refused; set in luigi.cfg for keras_imdb, an
    aclimdb run leaves it alone."""
    with pytest.raises(PipelineError, match="dataset aclimdb has no word_index_url"):
        DownloadDataset(word_index_url="/tmp/imdb_word_index.json")
    with configured("DownloadDataset", word_index_url="/data/imdb_word_index.json"):
        assert DownloadDataset().word_index_url == "/data/imdb_word_index.json"
        from pipeline import Encode

        assert Encode().requires().dataset == "aclimdb"


def test_one_download_folder_per_dataset_whatever_the_address(tmp_path):
    with configured("pipeline", data_dir=tmp_path / "data"):
        assert DownloadDataset().output_dir == tmp_path / "data" / "DownloadDataset" / "aclimdb"
        assert DownloadDataset(url="/elsewhere.tar.gz").output_dir == \
            DownloadDataset().output_dir
        assert DownloadDataset(url="/elsewhere.tar.gz").task_id == DownloadDataset().task_id
        assert DownloadDataset(dataset="reuters").output_dir.name == "reuters"


def assert_clean_failure(completed, code, *needles):
    output = completed.stdout
    assert completed.returncode == code, output
    assert "Traceback" not in output, output
    for needle in needles:
        assert needle in output, output


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
    (not_gzip, "not an archive this pipeline reads (accepted: .tar, .tar.gz"),
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


# ------------------------------------------------------------------------- TensorBoard

@pytest.mark.slow
def test_tensorboard_logs_are_opt_in_and_change_no_task_id_or_number(cli_dir, tmp_path,
                                                                       tiny_archive):
    """--pipeline-tensorboard: TrainModel and EvaluateTest leave TensorBoard logs in their
    own folders, with the same ids and numbers as without; off by default."""
    pytest.importorskip("tensorboard", reason="pip install -c constraints.txt -e "
                                              "'.[tensorboard]'")
    from tensorboard_events import scalars

    off, on = tmp_path / "off", tmp_path / "on"
    for data, switch in ((off, []), (on, ["--pipeline-tensorboard"])):
        completed = run_luigi(["EvaluateTest", *tiny_cli_args(), "--DownloadDataset-url",
                               tiny_archive, "--pipeline-data-dir", data, *switch], cwd=cli_dir)
        assert completed.returncode == 0, completed.stdout
    for family in ("TrainModel", "EvaluateTest"):
        assert only_folder(off, family).name == only_folder(on, family).name
    assert not list(off.rglob("tensorboard")) and not list(off.rglob("*tfevents*"))
    train, evaluate = only_folder(on, "TrainModel"), only_folder(on, "EvaluateTest")
    assert (train / "history.csv").read_bytes() == \
        (only_folder(off, "TrainModel") / "history.csv").read_bytes()
    metrics = read_json(evaluate / "metrics.json")
    assert metrics == read_json(only_folder(off, "EvaluateTest") / "metrics.json") | {
        "training_seconds": metrics["training_seconds"]}
    history = pd.read_csv(train / "history.csv")
    logged = scalars(train / "tensorboard" / "validation")
    assert [v for _, v in logged["epoch_loss"]] == pytest.approx(history["val_loss"].tolist())
    test = scalars(evaluate / "tensorboard" / "test")
    assert test["epoch_accuracy"] == [(metrics["final_epochs"] - 1,
                                       pytest.approx(metrics["accuracy"]))]
    assert test["test_macro_f1"][0][1] == pytest.approx(metrics["macro_f1"])
    assert (evaluate / "tensorboard" / "train").is_dir()
    assert hidden_leftovers(on) == []


def test_tensorboard_without_its_package_is_one_line_before_any_work(tmp_path, monkeypatch,
                                                                     tiny_archive):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "tensorboard" else real(name, *args))
    with pipeline_config(tmp_path / "data", tiny_archive), \
            configured("pipeline", tensorboard="true"):
        with pytest.raises(PipelineError, match=r"tensorboard package: pip install .*"
                                                r"\.\[tensorboard\]"):
            EvaluateTest(**TINY)
        DownloadDataset()  # the tasks that do not fit are not concerned
    assert not (tmp_path / "data").exists()
