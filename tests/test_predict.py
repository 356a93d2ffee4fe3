"""Predictions on new reviews and decoding: reading inputs, scoring, the task, the CLI."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY, build
from pipeline import EvaluateTest, PipelineError, PredictReviews, Vectorize
from pipeline.dataset import iter_reviews
from pipeline.inference import NumpyMLP
from pipeline.predict import Review, read_reviews, score
from pipeline.storage import load_arrays, read_json

CLI = str(Path(sys.executable).with_name("imdb-sentiment"))


def test_read_text_file_keeps_bad_lines(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_bytes(b"a fine film\n\n\xff\xfe broken bytes\nlast one\n")
    reviews = read_reviews(path)
    assert [r.id for r in reviews] == ["1", "2", "3", "4"]
    assert reviews[0].text == "a fine film" and reviews[1].text == ""
    assert reviews[2].notes == ["invalid UTF-8 replaced"] and "\ufffd" in reviews[2].text
    assert reviews[3].text == "last one"


def test_read_folder_and_csv(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    (folder / "b.txt").write_text("second")
    (folder / "a.txt").write_text("first")
    (folder / "ignored.md").write_text("not a review")
    assert [(r.id, r.text) for r in read_reviews(folder)] == [("a.txt", "first"),
                                                              ("b.txt", "second")]
    table = tmp_path / "r.csv"
    table.write_text('id,text\nx1,"good, really good"\nx2,\n')
    assert [(r.id, r.text) for r in read_reviews(table)] == [("x1", "good, really good"),
                                                             ("x2", "")]
    numbered = tmp_path / "n.csv"
    numbered.write_text("text\nfirst\nsecond\n")
    assert [r.id for r in read_reviews(numbered)] == ["1", "2"]


def test_csv_with_a_bad_byte_notes_only_its_row(tmp_path):
    table = tmp_path / "r.csv"
    table.write_bytes(b'id,text\na,"fine film"\nb,"broken \xff bytes"\nc,"also fine"\n')
    reviews = read_reviews(table)
    assert [r.notes for r in reviews] == [[], ["invalid UTF-8 replaced"], []]
    assert reviews[1].text == "broken \ufffd bytes" and reviews[2].text == "also fine"


@pytest.mark.parametrize("name, content, message", [
    ("empty.txt", b"", "no reviews"),
    ("nocol.csv", b"id,body\n1,x\n", "no 'text' column"),
    ("missing.txt", None, "no such file"),
])
def test_bad_inputs_fail_clearly(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PipelineError, match=message):
        read_reviews(path)


@pytest.fixture
def trained(data_dir):
    """The tiny archive's final model and vocabulary (trained once per test)."""
    evaluate = EvaluateTest(**dict(TINY, epochs=8))
    assert build([evaluate]).scheduling_succeeded
    vectorize = evaluate.clone(Vectorize)
    vocabulary = read_json(vectorize.output()["vocabulary"].path)
    return (NumpyMLP.load(evaluate.output()["weights"].path), vocabulary, evaluate, vectorize)


def test_scoring_raw_text_equals_the_pipeline_s_own_predictions(trained, tiny_archive):
    model, vocabulary, evaluate, _ = trained
    texts = [text for _, _, _, text in iter_reviews(tiny_archive, "test")]
    reviews = [Review(str(i), text) for i, text in enumerate(texts)]
    probabilities = score(model, vocabulary["words"], vocabulary["num_words"], reviews)
    stored = load_arrays(evaluate.output()["predictions"].path)["probabilities"]
    np.testing.assert_allclose(probabilities, stored, rtol=1e-6, atol=1e-7)


def test_notes_for_empty_and_unknown_reviews(trained):
    model, vocabulary, _, _ = trained
    reviews = [Review("1", "brilliant wonderful"), Review("2", "   "),
               Review("3", "zzzz qqqq xxxx")]
    probabilities = score(model, vocabulary["words"], vocabulary["num_words"], reviews)
    assert probabilities[1] is None and reviews[1].notes == ["empty review"]
    assert reviews[2].notes == ["no known words"]
    assert 0.0 <= probabilities[0] <= 1.0 and 0.0 <= probabilities[2] <= 1.0
    assert reviews[0].notes == []


def test_model_and_vocabulary_must_belong_together(trained):
    model, vocabulary, _, _ = trained
    with pytest.raises(PipelineError, match="do not belong together"):
        score(model, vocabulary["words"], vocabulary["num_words"] + 1, [Review("1", "x")])


def test_predict_task_writes_every_row(tmp_path, data_dir):
    path = tmp_path / "mine.txt"
    path.write_bytes(b"great brilliant loved\n\nawful dull mess\n\xff great\n")
    task = PredictReviews(input=str(path), **TINY)
    assert build([task]).scheduling_succeeded
    with open(task.output()["predictions"].path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == ["1", "2", "3", "4"]
    assert rows[1]["probability_positive"] == "" and rows[1]["note"] == "empty review"
    assert rows[3]["note"] == "invalid UTF-8 replaced"
    for row in (rows[0], rows[2], rows[3]):
        probability = float(row["probability_positive"])
        assert row["label"] == ("positive" if probability >= 0.5 else "negative")
    # editing the input gives a new output folder instead of a stale answer
    before = task.output_dir
    path.write_text("one more\n")
    assert PredictReviews(input=str(path), **TINY).output_dir != before


def test_predict_task_missing_input_fails_before_work(tmp_path, data_dir):
    with pytest.raises(PipelineError, match="input .*no such file"):
        PredictReviews(input=str(tmp_path / "nope.txt"), **TINY)


def _cli(*args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([CLI, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def _params(**overrides):
    return [item for name, value in dict(TINY, epochs=8, **overrides).items()
            for item in ("-p", f"{name}={value}")]


def test_cli_predict_and_decode(trained, cli_dir, data_dir, tiny_archive):
    _, vocabulary, _, vectorize = trained
    common = ["--data-dir", str(data_dir), *_params()]
    result = _cli("predict", *common, "brilliant wonderful superb", "", cwd=cli_dir)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    number, probability, label, text = first.split("\t")
    assert number == "1" and 0 <= float(probability) <= 1 and text == "brilliant wonderful superb"
    assert label.strip() == ("positive" if float(probability) >= 0.5 else "negative")
    assert "empty review" in second

    result = _cli("decode", *common, "--split", "test", "--index", "2", cwd=cli_dir)
    assert result.returncode == 0, result.stderr
    arrays = load_arrays(vectorize.output()["vectors"].path)
    expected_file = str(arrays["test_files"][2])
    assert expected_file in result.stdout
    original = [text for split, _, name, text in iter_reviews(tiny_archive, "test")
                if name == expected_file and split == "test"][0]
    assert original in result.stdout
    # the decoded line holds the review's words in order (all are in this vocabulary)
    decoded = result.stdout.splitlines()[1]
    assert decoded.split()[:3] == original.lower().replace(",", " ").split()[:3]


@pytest.mark.parametrize("args, message", [
    (["decode", "--index", "999"], "--index must be between 0 and"),
    (["predict", "-p", "nope=1", "x"], "--param 'nope=1'"),
    (["predict", "-p", "epochs=many", "x"], "--param epochs: invalid value"),
    (["predict"], "either review texts or --file"),
])
def test_cli_bad_arguments(trained, cli_dir, data_dir, args, message):
    result = _cli(*args[:1], "--data-dir", str(data_dir), *_params(), *args[1:], cwd=cli_dir)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
