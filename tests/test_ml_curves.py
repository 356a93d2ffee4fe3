"""Learning curves (pipeline/ml/curves.py): the lists LearningCurve reads, a point's row
from its artifacts, the means and spreads over seeds, the verdict between two models and
the tables."""
import csv
import math
import statistics

import pytest

from pipeline.errors import PipelineError
from pipeline.ml import curves


def test_parse_list():
    assert curves.parse_list("embedding, glove", "models") == ["embedding", "glove"]
    assert curves.parse_list("10,50,", "sizes", int) == [10, 50]
    for text, message in [("", "sizes must list at least one value, got ''"),
                          ("10,many", "sizes must be a comma-separated list of integers, got "
                                      "'10,many'"),
                          ("10,20,10", "sizes lists a value twice: '10,20,10'")]:
        with pytest.raises(PipelineError) as error:
            curves.parse_list(text, "sizes", int)
        assert str(error.value) == message


HISTORY = {"epoch": [1, 2, 3], "val_loss": [0.6, 0.4, 0.5], "val_accuracy": [0.6, 0.8, 0.75]}


def test_point_row_from_the_artifacts():
    row = curves.point_row("glove", 20, 1, HISTORY,
                           {"vocabulary_coverage": 0.9, "seconds": 3.0},
                           {"accuracy": 0.7, "loss": 0.55, "training_documents": 20,
                            "training_seconds": 2.0})
    assert row == {"model": "glove", "size": 20, "seed": 1, "best_epoch": 2,
                   "val_accuracy": 0.8, "val_loss": 0.4, "test_accuracy": 0.7,
                   "test_loss": 0.55, "training_documents": 20, "vocabulary_coverage": 0.9,
                   "training_seconds": 3.0, "final_training_seconds": 2.0}
    assert set(row) == set(curves.COLUMNS)
    diverged = curves.point_row("mlp", 20, 0, dict(HISTORY, val_loss=[math.nan] * 3), {},
                                {"accuracy": 0.5, "loss": math.nan})
    assert diverged["best_epoch"] is None and diverged["val_accuracy"] is None
    assert diverged["vocabulary_coverage"] is None  # a model without pretrained vectors


def rows_of(accuracies):
    """``{(model, size): [test accuracy per seed]}`` -> rows as point_row gives them."""
    return [{"model": model, "size": size, "seed": seed, "best_epoch": seed + 1,
             "val_accuracy": 0.5 + accuracy / 2, "test_accuracy": accuracy}
            for (model, size), values in accuracies.items()
            for seed, accuracy in enumerate(values)]


def test_summarize_over_seeds():
    rows = rows_of({("a", 10): [0.6, 0.7, 0.8], ("a", 20): [0.9]})
    summary = curves.summarize(rows)
    assert [(s["model"], s["size"], s["seeds"]) for s in summary] == [("a", 10, 3), ("a", 20, 1)]
    first = summary[0]
    assert first["mean_test_accuracy"] == pytest.approx(0.7)
    assert first["std_test_accuracy"] == pytest.approx(statistics.stdev([0.6, 0.7, 0.8]))
    assert (first["min_test_accuracy"], first["max_test_accuracy"]) == (0.6, 0.8)
    assert first["mean_val_accuracy"] == pytest.approx(0.85)
    assert first["mean_best_epoch"] == pytest.approx(2.0)
    assert summary[1]["std_test_accuracy"] == 0.0
    assert curves.spread([1, 3]) == (2.0, pytest.approx(math.sqrt(2)), 1.0, 3.0)


def test_verdicts_say_whether_the_ranges_over_seeds_overlap():
    summary = curves.summarize(rows_of({("a", 10): [0.6, 0.7], ("b", 10): [0.8, 0.9],
                                        ("a", 20): [0.8, 0.9], ("b", 20): [0.85, 0.95]}))
    found = curves.verdicts(summary, ["a", "b"])
    assert [(v["size"], v["apart"], v["better"]) for v in found] == [
        (10, True, "b"), (20, False, "neither (within spread)")]
    assert found[0]["difference"] == pytest.approx(0.2)
    assert found[0]["spread"] == pytest.approx(statistics.stdev([0.6, 0.7]))
    assert curves.verdicts(summary, ["a"]) == []


def test_tables(tmp_path):
    rows = rows_of({("embedding", 20): [0.6, 0.7], ("glove", 20): [0.75, 0.85]})
    curves.write_csv(rows, tmp_path / "learning_curve.csv")
    with open(tmp_path / "learning_curve.csv", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert list(read[0]) == list(curves.COLUMNS)
    assert [(r["model"], r["seed"], r["test_accuracy"]) for r in read] == [
        ("embedding", "0", "0.6"), ("embedding", "1", "0.7"), ("glove", "0", "0.75"),
        ("glove", "1", "0.85")]
    curves.write_markdown(rows, ["embedding", "glove"], tmp_path / "learning_curve.md")
    markdown = (tmp_path / "learning_curve.md").read_text()
    assert f"| glove | 20 | 2 | 0.8000 | {statistics.stdev([0.75, 0.85]):.4f} |" in markdown
    assert "## glove minus embedding" in markdown
    assert "| 20 | 0.1500 |" in markdown
