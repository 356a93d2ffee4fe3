"""CompareModels: shipped variants, bad variant input, and a small grid on a tiny archive."""
import csv
import json
import math

import pytest

from conftest import TINY, build, output_folders, ran_families
from pipeline import CompareModels, EvaluateTest, PipelineError, TrainModel
from pipeline.compare import SHIPPED, load_variants
from pipeline.grids import CompareModels as GridCompareModels
from pipeline.storage import read_csv_columns, read_json

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_compare_models_lives_in_grids_and_is_still_exported():
    assert CompareModels is GridCompareModels
    assert CompareModels.__module__ == "pipeline.grids"


def test_shipped_variants_are_the_issue_s_grid():
    variants = load_variants()
    assert SHIPPED.name == "variants.toml"
    assert len(variants) == 19
    assert variants["baseline"].keys() == {"description"}
    assert variants["fast_lr"]["learning_rate"] == 0.01
    assert variants["l2_first_fast_lr"].items() >= {"learning_rate": 0.01, "l2": 0.001,
                                                          "regularize": "first"}.items()
    assert variants["l1_l2_dropout"].items() >= {"l1": 0.001, "l2": 0.001,
                                                       "dropout": 0.5}.items()
    small = {"units": 4, "l1": 0.001, "l2": 0.001, "dropout": 0.5}
    for name, extra in {"small_dropout": {}, "small_dropout_lr_0002": {"learning_rate": 0.002},
                        "small_dropout_batch_256": {"batch_size": 256},
                        "small_dropout_batch_1024": {"batch_size": 1024},
                        "small_dropout_35_epochs_batch_256": {"epochs": 35, "batch_size": 256},
                        "small_dropout_15_epochs_batch_256": {"epochs": 15, "batch_size": 256},
                        }.items():
        assert variants[name].items() >= (small | extra).items(), name
    assert variants["tuned_small"].items() >= {"units": 8, "l2": 0.0005, "dropout": 0.5,
                                                    "learning_rate": 0.001, "epochs": 6,
                                                    "batch_size": 128}.items()
    assert variants["one_hidden_layer"]["layers"] == 1
    assert variants["three_hidden_layers"]["layers"] == 3
    assert variants["units_32"]["units"] == 32 and variants["units_64"]["units"] == 64
    assert variants["mse_loss"]["loss"] == "mse"
    assert variants["tanh_activation"]["activation"] == "tanh"


def test_every_shipped_variant_is_valid_and_distinct(data_dir):
    grid = CompareModels()
    assert list(grid.variant_params) == list(load_variants())
    ids = {name: EvaluateTest(**params).task_id for name, params in grid.variant_params.items()}
    assert len(set(ids.values())) == len(ids)  # no two variants share an output
    # the baseline is exactly RunAll's default configuration
    assert ids["baseline"] == EvaluateTest().task_id


@pytest.mark.parametrize("content, suffix, words", [
    ('[a]\nunits = "many"\n', ".toml", ["'a'", "'units'", "many"]),
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
        train = TrainModel(**{k: v for k, v in params.items()
                              if k in dict(TrainModel.get_params())})
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
    assert len(read_csv_columns(TrainModel(**{
        k: v for k, v in grid.variant_params["tuned_small"].items()
        if k in dict(TrainModel.get_params())}).output()["history"].path)["epoch"]) == 6
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
    from conftest import configured

    before = CompareModels(**TINY, variants="baseline").output_dir
    with configured("experiment", maxlen=200):
        assert CompareModels(**TINY, variants="baseline").output_dir == before
    assert CompareModels(**dict(TINY, units=9), variants="baseline").output_dir != before


def test_a_variant_that_changes_the_model_drops_the_base_model_parameters(data_dir):
    """Base units=8 (mlp's) does not follow a variant to the embedding model; a variant that
    sets a parameter its own model does not read is refused, naming the variant."""
    import json

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
