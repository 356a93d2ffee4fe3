"""The grids as tasks (pipeline/tasks/grids.py): CompareModels over the shipped and
hand-written variants, several seeds, and LearningCurve over models, sizes and seeds, each
point an ordinary TrainModel/EvaluateTest computed once."""
import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY, build, configured, output_folders, ran_families

from pipeline import (
    CompareModels,
    DownloadDataset,
    EvaluateTest,
    LearningCurve,
    PipelineError,
    TrainModel,
)
from pipeline.io.storage import read_csv_columns, read_json
from pipeline.ml.compare import load_variants
from pipeline.tasks import grids
from pipeline.tasks.grids import VARIANTS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = dict(num_words=40, validation_size=10, maxlen=12, batch_size=8)


def train_of(params):
    """The TrainModel of an EvaluateTest's parameters."""
    return EvaluateTest(**params).clone(TrainModel)


# ------------------------------------------------------------------------ CompareModels

def test_compare_models_is_exported_by_the_package():
    assert CompareModels is grids.CompareModels and LearningCurve is grids.LearningCurve
    assert CompareModels.__module__ == "pipeline.tasks.grids"


def test_every_shipped_variant_is_valid_and_distinct(data_dir):
    grid = CompareModels()
    assert list(grid.variant_params) == list(load_variants(VARIANTS / "imdb.toml"))
    ids = {name: EvaluateTest(**params).task_id for name, params in grid.variant_params.items()}
    assert len(set(ids.values())) == len(ids)  # no two variants share an output
    # the baseline is exactly RunAll's default configuration
    assert ids["baseline"] == EvaluateTest().task_id


def test_every_shipped_reuters_variant_is_valid_and_distinct(data_dir):
    grid = CompareModels(dataset="reuters")
    assert list(grid.variant_params) == list(load_variants(VARIANTS / "reuters.toml"))
    ids = {name: EvaluateTest(**params).task_id for name, params in grid.variant_params.items()}
    assert len(set(ids.values())) == len(ids)
    assert ids["baseline"] == EvaluateTest(dataset="reuters").task_id
    assert grid.variant_params["bottleneck"]["units"] == (64, 4)


@pytest.mark.parametrize("content, suffix, words", [
    ('[a]\nunits = "many"\n', ".toml", ["'a'", "units must be an integer", "'many'"]),
    ("[a]\nunitz = 3\n", ".toml", ["'a'", "'unitz'"]),
    ("[a]\ndropout = 1.5\n", ".toml", ["'a'", "dropout"]),
    ("[a]\nactivation = 'wiggly'\n", ".toml", ["'a'", "activation", "wiggly"]),
    ("[a\n", ".toml", ["malformed"]),
    ('{"a": {"epochs": 0}}', ".json", ["'a'", "epochs"]),
    ('{"a": [1, 2]}', ".json", ["'a'", "table"]),
    ("{not json", ".json", ["malformed"]),
])
def test_bad_variants_file_fails_naming_variant_and_field(tmp_path, data_dir, content, suffix,
                                                          words):
    path = tmp_path / f"variants{suffix}"
    path.write_text(content)
    with pytest.raises(PipelineError) as error:
        CompareModels(variants_file=str(path))
    for word in words:
        assert word in str(error.value)
    assert not data_dir.exists()  # nothing ran, nothing written


def test_unknown_variant_name(data_dir):
    with pytest.raises(PipelineError, match="unknown variant 'nope'.*baseline"):
        CompareModels(variants="baseline,nope")


def test_bad_seeds_are_refused(data_dir):
    for seeds in (0, 101, "abc", "1.5"):
        with pytest.raises(PipelineError, match=f"seeds must be an integer from 1 to 100, "
                                                f"got {seeds!r}"):
            CompareModels(variants="baseline", seeds=seeds)


def test_grid_numbers_and_names_are_read_one_way(data_dir):
    """--seeds 03, 3 and a full-width 3, or variants written with blanks, are one grid."""
    grids = [CompareModels(variants=variants, seeds=seeds)
             for variants, seeds in (("baseline,l2", 3), (" baseline , l2", "03"),
                                     (("baseline", "l2"), "\uff13"))]
    assert len({grid.task_id for grid in grids}) == 1
    assert grids[0].seeds == 3 and grids[0].variants == ("baseline", "l2")
    curves = [LearningCurve(models=models, sizes=sizes, **SMALL)
              for models, sizes in (("embedding,glove", "10,50"), ("embedding, glove", "50,010"))]
    assert curves[0].task_id == curves[1].task_id and curves[0].sizes == (10, 50)


@pytest.mark.slow
def test_small_grid_from_real_histories_shared_upstream_and_no_rerun(data_dir):
    grid = CompareModels(variants="baseline,l2,tuned_small", **TINY)
    result = build([grid])
    assert result.scheduling_succeeded
    # sequences, features and split computed once for all variants
    assert len(output_folders(data_dir, "Encode")) == 1
    assert len(output_folders(data_dir, "Featurize")) == 1
    assert len(output_folders(data_dir, "SplitValidation")) == 1
    assert ran_families(result).count("Encode") == 1
    assert ran_families(result).count("Featurize") == 1
    assert len(output_folders(data_dir, "TrainModel")) == 3
    assert ran_families(result).count("TrainModel") == 3

    with open(grid.output()["csv"].path, newline="") as handle:
        rows = {row["variant"]: row for row in csv.DictReader(handle)}
    assert list(rows) == ["baseline", "l2", "tuned_small"]
    for name, params in grid.variant_params.items():
        train = train_of(params)
        history = read_csv_columns(train.output()["history"].path)
        metrics = read_json(EvaluateTest(**params).output()["metrics"].path)
        training = read_json(train.output()["training"].path)
        row = rows[name]
        best = min(range(len(history["val_loss"])), key=lambda i: history["val_loss"][i])
        assert int(row["best_epoch"]) == history["epoch"][best]
        assert math.isclose(float(row["min_val_loss"]), history["val_loss"][best])
        assert math.isclose(float(row["val_accuracy_at_best"]), history["val_accuracy"][best])
        assert math.isclose(float(row["last_val_loss"]), history["val_loss"][-1])
        assert math.isclose(float(row["test_accuracy"]), metrics["accuracy"])
        assert math.isclose(float(row["test_loss"]), metrics["loss"])
        assert int(row["trainable_parameters"]) == training["trainable_parameters"]
    # the variant's own epochs override the base's
    assert len(read_csv_columns(train_of(grid.variant_params["tuned_small"])
                                .output()["history"].path)["epoch"]) == 6
    # trainable parameters follow the architecture: 40*8+8 + 8*8+8 + 8+1 for 8 units
    assert int(rows["baseline"]["trainable_parameters"]) == 40 * 8 + 8 + 8 * 8 + 8 + 8 + 1

    markdown = open(grid.output()["markdown"].path).read()
    for name in rows:
        assert f"| {name} |" in markdown
    for key in ("val_loss", "val_accuracy", "test_accuracy"):
        assert open(grid.output()[key].path, "rb").read(8) == PNG_MAGIC

    again = build([CompareModels(variants="baseline,l2,tuned_small", **TINY)])
    assert ran_families(again) == []

    # a new grid reuses the trained baseline: only the new variant trains
    other = build([CompareModels(variants="baseline,fast_lr", **TINY)])
    assert ran_families(other).count("TrainModel") == 1
    for family in ("Encode", "SplitValidation", "Featurize"):
        assert ran_families(other).count(family) == 0, family


def test_variants_file_json_and_comparison_folder_follows_content(tmp_path, data_dir):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"wide": {"units": 12}}))
    before = CompareModels(variants_file=str(path), **TINY).output_dir
    path.write_text(json.dumps({"wide": {"units": 10}}))
    # Luigi hands back the same instance for the same parameters: it must still see
    # the edited file.
    grid = CompareModels(variants_file=str(path), **TINY)
    assert grid.output_dir != before
    assert grid.variant_params["wide"]["units"] == 10


def test_grid_folder_ignores_parameters_no_variant_reads(data_dir):
    """Another model's parameters (maxlen) do not change an all-mlp grid's folder, as they
    do not change its TrainModel and EvaluateTest ids; the mlp's own (units) do."""
    before = CompareModels(**TINY, variants="baseline").output_dir
    with configured("experiment", maxlen=200):
        assert CompareModels(**TINY, variants="baseline").output_dir == before
    assert CompareModels(**dict(TINY, units=9), variants="baseline").output_dir != before


def test_a_variant_that_changes_the_model_drops_the_base_model_parameters(data_dir):
    """Base units=8 (mlp's) does not follow a variant to the embedding model; a variant that
    sets a parameter its own model does not read is refused, naming the variant."""
    spec = {"emb": {"model": "embedding", "maxlen": 20}, "bad": {"model": "embedding",
                                                                "layers": 3}}
    path = data_dir.parent / "variants.json"
    path.write_text(json.dumps({"emb": spec["emb"]}))
    grid = CompareModels(**TINY, variants_file=str(path))
    params = grid.variant_params["emb"]
    assert "units" not in params and params["maxlen"] == 20
    both = data_dir.parent / "both.json"
    both.write_text(json.dumps(spec))
    with pytest.raises(PipelineError, match="variant 'bad': layers is not a parameter of "
                                            "model 'embedding'"):
        CompareModels(**TINY, variants_file=str(both))


@pytest.mark.slow
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
    # one seed: a folder of its own, and the variants keyed by their names alone
    single = CompareModels(variants="baseline,l2", **tiny)
    assert single.output_dir != grid.output_dir
    assert set(single.requires()) == {"baseline", "l2"}
    assert set(grid.requires()) == {f"{v} seed {s}" for v in ("baseline", "l2")
                                    for s in (0, 1, 2)}


# ------------------------------------------------------------------------ LearningCurve

def test_learning_curve_bad_input(data_dir):
    with pytest.raises(PipelineError, match="unknown model 'nope'"):
        LearningCurve(models="embedding,nope", **SMALL)
    for sizes in ("10,many", "0,10", "10,10", ""):
        with pytest.raises(PipelineError, match="sizes must be a comma-separated list of "
                                                "distinct integers >= 1, got"):
            LearningCurve(sizes=sizes, **SMALL)
    with pytest.raises(PipelineError, match="maxlen must be an integer from 1 to 100,000, "
                                            "got 0"):
        LearningCurve(**dict(SMALL, maxlen=0))
    with pytest.raises(PipelineError) as error:
        LearningCurve(model="embedding", **SMALL)
    assert str(error.value) == "LearningCurve takes --models (comma-separated), not model"
    with pytest.raises(PipelineError) as error:
        LearningCurve(train_size=10, **SMALL)
    assert str(error.value) == "LearningCurve takes --sizes, not train_size"
    with pytest.raises(PipelineError, match="units is not a parameter of models "
                                            "'embedding,glove'"):
        LearningCurve(units=8, **SMALL)
    # once the dataset is fetched (40 training reviews, 10 held out) sizes are checked at once
    assert build([DownloadDataset()]).scheduling_succeeded
    with pytest.raises(PipelineError, match="sizes: 31 is larger than the training split"):
        LearningCurve(sizes="10,31", **SMALL)


def test_the_first_model_gives_the_curve_s_defaults(data_dir):
    """The curve's own values are its first model's defaults; another model takes its own
    default where the curve was not told otherwise, and a value given to the curve
    reaches every model."""
    def settings(curve):
        return {name: (EvaluateTest(**params).epochs, EvaluateTest(**params).batch_size)
                for (name, _, _), params in curve.points.items()}

    curve = LearningCurve(models="embedding,mlp", sizes="10", seeds=1)
    assert (curve.epochs, curve.batch_size) == (10, 32)
    assert settings(curve) == {"embedding": (10, 32), "mlp": (20, 512)}
    curve = LearningCurve(models="mlp,embedding", sizes="10", seeds=1)
    assert (curve.epochs, curve.batch_size) == (20, 512)
    assert settings(curve) == {"mlp": (20, 512), "embedding": (10, 32)}
    given = LearningCurve(models="mlp,embedding", sizes="10", seeds=1, epochs=3)
    assert settings(given) == {"mlp": (3, 512), "embedding": (3, 32)}
    assert not {"curve_epochs", "curve_batch_size"} & set(dict(LearningCurve.get_params()))


@pytest.mark.slow
def test_learning_curve_from_real_histories_and_no_rerun(data_dir):
    from conftest import NEGATIVE, NEUTRAL, POSITIVE

    # tiny 50-dimensional GloVe vectors for a few of the reviews' words
    known = POSITIVE[:4] + NEGATIVE[:4] + NEUTRAL[:6] + ["zzz"]
    table = np.random.default_rng(0).normal(size=(len(known), 50)).astype(np.float32)
    vectors = data_dir.parent / "glove.6B.50d.txt"
    vectors.write_text("".join(word + " " + " ".join(repr(float(x)) for x in row) + "\n"
                               for word, row in zip(known, table)))
    with configured("DownloadVectors", url=str(vectors)):
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
            history = read_csv_columns(train_of(params).output()["history"].path)
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_curve_of_models_with_different_defaults_runs_and_says_what_each_trained(
        data_dir, monkeypatch):
    """mlp first, embedding second: the embedding points train the embedding's own 10
    epochs of 32, and the curve's title names each model's settings."""
    from pipeline.ml import plots

    titles = []
    original = plots.plot_learning_curve

    def plot_learning_curve(rows, summary, models, path, title):
        titles.append(title)
        return original(rows, summary, models, path, title)

    monkeypatch.setattr(plots, "plot_learning_curve", plot_learning_curve)
    curve = LearningCurve(models="mlp,embedding", sizes="20", seeds=1, embedding_dim=4,
                          **SMALL)
    result = build([curve])
    assert result.scheduling_succeeded, result.summary_text
    for (model, _, _), params in curve.points.items():
        history = read_csv_columns(train_of(params).output()["history"].path)
        assert len(history["epoch"]) == {"mlp": 20, "embedding": 10}[model]
    assert titles == ["IMDB movie reviews: test accuracy against training size (mlp: 20 "
                      "epochs, batch 8; embedding: 10 epochs, batch 8)"]


def test_a_grid_beyond_its_bound_is_refused_before_any_task_is_built(data_dir, tmp_path):
    sizes = ",".join(str(n) for n in range(1, 3400))
    with pytest.raises(PipelineError, match="2 models x 3399 sizes x 3 seeds is 20,394 "
                                            "points, more than the 10,000"):
        LearningCurve(models="embedding,glove", sizes=sizes, seeds=3)
    path = tmp_path / "v.toml"
    path.write_text("".join(f"[v{i}]\nepochs = {i % 10 + 1}\n" for i in range(200)))
    with pytest.raises(PipelineError, match="200 variants x 100 seeds is more than the "
                                            "10,000 runs"):
        CompareModels(variants_file=str(path), seeds=100)
