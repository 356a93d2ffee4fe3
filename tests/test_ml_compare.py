"""Variant files and the comparison table (pipeline/ml/compare.py): the shipped grids,
bad files refused in one line, and the rows and tables written from a run's artifacts."""
import csv
import math
import re
import statistics

import pytest

from pipeline.errors import PipelineError
from pipeline.ml import compare
from pipeline.ml.compare import load_variants, select_variants
from pipeline.tasks.grids import VARIANTS


def test_shipped_imdb_variants_are_the_grid_of_the_book_s_model():
    variants = load_variants(VARIANTS / "imdb.toml")
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


def test_shipped_reuters_variants_are_the_book_s_newswire_experiments():
    variants = load_variants(VARIANTS / "reuters.toml")
    assert list(variants) == ["baseline", "bottleneck", "units_32", "units_128", "one_layer",
                              "three_layers"]
    assert all(spec["model"] == "mlp" for spec in variants.values())
    assert variants["bottleneck"]["units"] == "64,4" and variants["bottleneck"]["layers"] == 2
    assert variants["baseline"].items() >= {"layers": 2, "units": 64}.items()


@pytest.mark.parametrize("content, suffix, message", [
    ("[a\n", ".toml", "malformed"),
    ("{not json", ".json", "malformed"),
    ('{"a": [1, 2]}', ".json", "variant 'a' must be a table of parameters, got list"),
    ('[1, 2]', ".json", "expected a table of variants"),
    ("", ".toml", "expected a table of variants"),
    ('{"a": {"units": [8, 4]}}', ".json",
     "variant 'a': field 'units' must be a number or a string, got [8, 4]"),
    ("[a]\ntrainable = true\n", ".toml",
     "variant 'a': field 'trainable' must be a number or a string, got True"),
    ("[a]\n[a.b]\nc = 1\n", ".toml",
     "variant 'a': field 'b' must be a number or a string, got {'c': 1}"),
])
def test_bad_variants_files_are_one_line(tmp_path, content, suffix, message):
    path = tmp_path / f"variants{suffix}"
    path.write_text(content)
    with pytest.raises(PipelineError, match=re.escape(message)) as error:
        load_variants(path)
    assert "\n" not in str(error.value)


def test_a_missing_variants_file_is_one_line(tmp_path):
    with pytest.raises(PipelineError, match="variants file .*missing.toml"):
        load_variants(tmp_path / "missing.toml")


def test_select_variants_in_the_order_asked():
    variants = {"a": {}, "b": {"units": 4}, "c": {"l2": 0.1}}
    assert list(select_variants(variants, "")) == ["a", "b", "c"]
    assert list(select_variants(variants, " c, a ,")) == ["c", "a"]
    with pytest.raises(PipelineError) as error:
        select_variants(variants, "a,nope")
    assert str(error.value) == "unknown variant 'nope'; known variants: a, b, c"


def test_describe_overrides_and_the_spec_digest():
    assert compare.describe_overrides({"description": "the book's"}) == "(base)"
    assert compare.describe_overrides({"description": "x", "l2": 0.001, "dropout": 0.5}) == \
        "l2=0.001, dropout=0.5"
    assert compare.spec_digest({"a": 1, "b": 2}) == compare.spec_digest({"b": 2, "a": 1})
    assert compare.spec_digest({"a": 1}) != compare.spec_digest({"a": 2})
    assert len(compare.spec_digest({})) == 10


HISTORY = {"epoch": [1, 2, 3, 4], "val_loss": [0.5, 0.3, 0.35, 0.45],
           "val_accuracy": [0.7, 0.86, 0.85, 0.84]}
TRAINING = {"trainable_parameters": 160305, "seconds": 12.5}
METRICS = {"loss": 0.31, "accuracy": 0.875, "final_epochs": 2, "training_seconds": 7.0}


def test_comparison_row_from_the_artifacts():
    row = compare.comparison_row("l2", {"description": "x", "l2": 0.001}, HISTORY, TRAINING,
                                 METRICS, seed=3)
    assert list(row) == list(compare.COLUMNS)
    assert row == {"variant": "l2", "seed": 3, "parameters": "l2=0.001",
                   "trainable_parameters": 160305, "best_epoch": 2, "min_val_loss": 0.3,
                   "val_accuracy_at_best": 0.86, "last_val_loss": 0.45,
                   "val_loss_rise": pytest.approx(0.15), "test_loss": 0.31,
                   "test_accuracy": 0.875, "final_epochs": 2, "training_seconds": 12.5,
                   "final_training_seconds": 7.0}
    diverged = compare.comparison_row("d", {}, dict(HISTORY, val_loss=[math.nan] * 4),
                                      TRAINING, METRICS)
    assert diverged["best_epoch"] is None and diverged["val_loss_rise"] is None


def test_summarize_seeds_and_the_tables(tmp_path):
    rows = [compare.comparison_row(name, {}, HISTORY, TRAINING, dict(METRICS, accuracy=acc),
                                   seed=seed)
            for name, accuracies in (("a", (0.8, 0.9, 0.85)), ("b", (0.7,)))
            for seed, acc in enumerate(accuracies)]
    summary = compare.summarize_seeds(rows)
    assert [(s["variant"], s["seeds"]) for s in summary] == [("a", 3), ("b", 1)]
    assert summary[0]["mean_test_accuracy"] == pytest.approx(0.85)
    assert summary[0]["std_test_accuracy"] == pytest.approx(statistics.stdev([0.8, 0.9, 0.85]))
    assert (summary[0]["min_test_accuracy"], summary[0]["max_test_accuracy"]) == (0.8, 0.9)
    assert summary[1]["std_test_accuracy"] == 0.0
    compare.write_csv(rows, tmp_path / "comparison.csv")
    with open(tmp_path / "comparison.csv", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert [(r["variant"], r["seed"], r["test_accuracy"]) for r in read] == [
        ("a", "0", "0.8"), ("a", "1", "0.9"), ("a", "2", "0.85"), ("b", "0", "0.7")]
    compare.write_markdown(rows, tmp_path / "comparison.md", summary=summary)
    markdown = (tmp_path / "comparison.md").read_text()
    assert "## Mean and spread over 3 seeds" in markdown
    assert f"| a | 3 | 0.8500 | {statistics.stdev([0.8, 0.9, 0.85]):.4f} | 0.8000 | 0.9000 |" \
        in markdown
    # every run, best test accuracy first
    runs = [line for line in markdown.splitlines()
            if line.startswith(("| a | 1 |", "| a | 0 |", "| b | 0 |"))]
    assert [line.split(" | ")[:2] for line in runs] == [["| a", "1"], ["| a", "0"], ["| b", "0"]]


@pytest.mark.parametrize("text", [
    "[a]\n" + ".".join(["a"] * 70) + " = 1\n",                # a dotted key
    "[" + ".".join(["a"] * 70) + "]\nepochs = 3\n",           # a dotted table
])
def test_deeply_dotted_keys_are_refused_before_tomllib(tmp_path, text):
    path = tmp_path / "v.toml"
    path.write_text(text)
    with pytest.raises(PipelineError, match=r"a key nested more than 64 levels deep"):
        load_variants(path)


def test_dots_inside_strings_and_comments_are_not_keys(tmp_path):
    path = tmp_path / "v.toml"
    dots = "." * 100
    path.write_text(f'[a]\ndescription = "{dots}" # {dots}\nnote = \'{dots}\'\n'
                    f'long = """{dots}\n{dots}"""\nepochs = 3\n')
    assert load_variants(path)["a"]["epochs"] == 3


def test_too_many_variants_are_refused(tmp_path):
    from pipeline.ml.compare import MAX_VARIANTS

    path = tmp_path / "v.toml"
    path.write_text("".join(f"[v{i}]\n" for i in range(MAX_VARIANTS + 1)))
    with pytest.raises(PipelineError, match="10,001 variants, more than the 10,000"):
        load_variants(path)
