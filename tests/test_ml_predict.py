"""Scoring new documents (pipeline/ml/predict.py): reading inputs, scoring them encoded as
the training documents were, the predictions file, and the Predict task that writes it."""
import csv
import os

import numpy as np
import pytest
from conftest import TINY, build, make_archive, pipeline_config

from pipeline import Encode, EvaluateTest, PipelineError, Predict, features
from pipeline.datasets.aclimdb import iter_reviews
from pipeline.io.storage import load_arrays, read_json
from pipeline.ml.inference import NumpyMLP
from pipeline.ml.predict import Review, label_of, read_reviews, score, write_predictions
from pipeline.tasks.chain import score_with

MULTIHOT = features.get("multihot")


def score_multihot(model, vocabulary, reviews):
    """``score`` with the book's representation (no parameters, nothing fitted)."""
    return score(model, vocabulary, reviews, MULTIHOT, {}, {})


# ---------------------------------------------------------------------- reading inputs

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
    ("empty.txt", b"", "no documents"),
    ("nocol.csv", b"id,body\n1,x\n", "no 'text' column"),
    ("missing.txt", None, "no such file"),
])
def test_bad_inputs_fail_clearly(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PipelineError, match=message):
        read_reviews(path)


# --------------------------------------------------------------------------- scoring

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny archive's final model and vocabulary (trained once for the module; its
    data folder stays configured while the module's tests run)."""
    root = tmp_path_factory.mktemp("scoring")
    archive = make_archive(root / "aclImdb_tiny.tar.gz")
    with pipeline_config(root / "data", archive):
        evaluate = EvaluateTest(**dict(TINY, epochs=8))
        assert build([evaluate]).scheduling_succeeded
        encode = evaluate.clone(Encode)
        vocabulary = read_json(encode.output()["vocabulary"].path)
        yield (NumpyMLP.load(evaluate.output_dir / EvaluateTest.WEIGHTS), vocabulary,
               evaluate, encode)


def test_scoring_raw_text_equals_the_pipeline_s_own_predictions(trained, tiny_archive):
    model, vocabulary, evaluate, _ = trained
    assert vocabulary["class_names"] == ["negative", "positive"]
    assert vocabulary["dataset"] == "aclimdb" and vocabulary["num_words"] == TINY["num_words"]
    texts = [text for _, _, _, text in iter_reviews(tiny_archive, "test")]
    reviews = [Review(str(i), text) for i, text in enumerate(texts)]
    probabilities = score_multihot(model, vocabulary, reviews)
    assert all(p.shape == (2,) for p in probabilities)
    stored = load_arrays(evaluate.output()["predictions"].path)
    assert stored["probabilities"].shape == (len(texts), 2)
    assert stored["class_names"].tolist() == ["negative", "positive"]
    np.testing.assert_allclose(np.stack(probabilities), stored["probabilities"],
                               rtol=1e-6, atol=1e-7)
    # the stored labels are the test reviews' classes, in the archive's order
    labels = [label for _, label, _, _ in iter_reviews(tiny_archive, "test")]
    assert stored["labels"].tolist() == labels


def test_notes_for_empty_and_unknown_reviews(trained):
    model, vocabulary, _, _ = trained
    reviews = [Review("1", "brilliant wonderful"), Review("2", "   "),
               Review("3", "zzzz qqqq xxxx")]
    probabilities = score_multihot(model, vocabulary, reviews)
    assert probabilities[1] is None and reviews[1].notes == ["empty text"]
    assert reviews[2].notes == ["no known words"]
    for probability in (probabilities[0], probabilities[2]):
        assert probability.shape == (2,)
        assert ((0.0 <= probability) & (probability <= 1.0)).all()
        assert probability.sum() == pytest.approx(1.0)
    assert reviews[0].notes == []


def test_scoring_with_the_task_s_representation_is_scoring_with_multihot(trained):
    """score_with picks the representation, its parameters and the scorer that the
    EvaluateTest's model reads: for the mlp, the multi-hot rows and the numpy twin."""
    model, vocabulary, evaluate, _ = trained
    assert evaluate.representation_plugin is MULTIHOT
    texts = ["brilliant wonderful", "awful dull mess", "the movie", ""]
    expected = score_multihot(model, vocabulary, [Review(str(i), t) for i, t in enumerate(texts)])
    found, class_names = score_with(evaluate, [Review(str(i), t) for i, t in enumerate(texts)])
    assert class_names == ["negative", "positive"]
    assert found[3] is None and expected[3] is None
    np.testing.assert_array_equal(np.stack(found[:3]), np.stack(expected[:3]))


def test_model_and_vocabulary_must_belong_together(trained):
    model, vocabulary, _, _ = trained
    with pytest.raises(PipelineError) as error:
        score_multihot(model, dict(vocabulary, num_words=vocabulary["num_words"] + 1),
                       [Review("1", "x")])
    assert str(error.value) == ("model and words do not belong together: the model takes 40 "
                                "inputs, the words give 41")
    # more words than the index space of num_words holds
    extra = 36 + 1 - len(vocabulary["words"])  # vocabulary_size(40) = 36
    with pytest.raises(PipelineError) as error:
        score_multihot(model, dict(vocabulary, words=vocabulary["words"]
                                   + [f"x{i}" for i in range(extra)]), [Review("1", "x")])
    assert str(error.value) == ("the vocabulary holds 37 words, more than num_words=40 has "
                                "room for: it does not belong to this model")


def test_scoring_with_a_three_class_model():
    """score() with a softmax twin: one row of three class probabilities per review."""
    import keras

    from pipeline.features.multihot import multi_hot
    from pipeline.ml.inference import export_weights
    from pipeline.ml.text import encode_texts
    from pipeline.models.mlp import build_model

    keras.utils.set_random_seed(2)
    words = ["good", "bad", "plot", "music", "actor"]
    vocabulary = {"words": words, "num_words": 9, "class_names": ["a", "b", "c"]}
    model = build_model(num_words=9, num_classes=3, units=4)
    mlp = NumpyMLP(export_weights(model))
    texts = ["good plot", "", "bad bad music", "unseen words"]
    reviews = [Review(str(i), t) for i, t in enumerate(texts)]
    probabilities = score_multihot(mlp, vocabulary, reviews)
    assert probabilities[1] is None and reviews[1].notes == ["empty text"]
    assert reviews[3].notes == ["no known words"]
    sequences = encode_texts([texts[i] for i in (0, 2, 3)], words)
    values = np.asarray([v for s in sequences for v in s], dtype=np.int32)
    offsets = np.cumsum([0] + [len(s) for s in sequences])
    data = multi_hot(values, offsets, np.zeros(3, np.int16), 9)
    expected = model.predict(data.batches(8), verbose=0)
    got = np.stack([probabilities[i] for i in (0, 2, 3)])
    assert got.shape == (3, 3)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)


# --------------------------------------------------------------- labels and the CSV

def test_label_of():
    assert label_of(np.array([0.3, 0.7]), ["negative", "positive"]) == "positive"
    assert label_of(np.array([0.5, 0.5]), ["negative", "positive"]) == "positive"  # >= 0.5
    assert label_of(np.array([0.51, 0.49]), ["negative", "positive"]) == "negative"
    assert label_of(np.array([0.2, 0.5, 0.3]), ["a", "b", "c"]) == "b"
    assert label_of(None, ["negative", "positive"]) == ""


def test_write_predictions_binary_columns(tmp_path):
    reviews = [Review("a", "x"), Review("b", "", ["empty text"]),
               Review("c", "y", ["no known words"])]
    probabilities = [np.array([0.25, 0.75]), None, np.array([0.9, 0.1])]
    path = tmp_path / "p.csv"
    write_predictions(reviews, probabilities, ["negative", "positive"], path)
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["id", "probability_positive", "label", "note"],
                    ["a", "0.750000", "positive", ""],
                    ["b", "", "", "empty text"],
                    ["c", "0.100000", "negative", "no known words"]]


def test_write_predictions_three_classes(tmp_path):
    reviews = [Review("1", "x"), Review("2", "", ["empty text"])]
    path = tmp_path / "p.csv"
    write_predictions(reviews, [np.array([0.2, 0.1, 0.7]), None], ["a", "b", "c"], path)
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["id", "label", "probability", "top_3", "note"],
                    ["1", "c", "0.700000", "c 0.7000 · a 0.2000 · b 0.1000", ""],
                    ["2", "", "", "", "empty text"]]


# ---------------------------------------------------------------------- the Predict task

@pytest.mark.slow
def test_predict_task_writes_every_row(tmp_path, data_dir):
    path = tmp_path / "mine.txt"
    path.write_bytes(b"great brilliant loved\n\nawful dull mess\n\xff great\n")
    task = Predict(input=str(path), **TINY)
    assert build([task]).scheduling_succeeded
    with open(task.output()["predictions"].path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == ["1", "2", "3", "4"]
    assert rows[1]["probability_positive"] == "" and rows[1]["note"] == "empty text"
    assert rows[3]["note"] == "invalid UTF-8 replaced"
    for row in (rows[0], rows[2], rows[3]):
        probability = float(row["probability_positive"])
        assert row["label"] == ("positive" if probability >= 0.5 else "negative")
    # editing the input gives a new output folder instead of a stale answer
    before = task.output_dir
    path.write_text("one more\n")
    assert Predict(input=str(path), **TINY).output_dir != before


@pytest.mark.slow
def test_predict_task_equals_scoring_by_hand(tmp_path, data_dir):
    path = tmp_path / "mine.csv"
    path.write_text('id,text\nr1,"great brilliant, loved it"\nr2,awful dull mess\n')
    task = Predict(input=str(path), **TINY)
    assert build([task]).scheduling_succeeded
    evaluate = EvaluateTest(**TINY)
    vocabulary = read_json(evaluate.clone(Encode).output()["vocabulary"].path)
    model = NumpyMLP.load(evaluate.output_dir / EvaluateTest.WEIGHTS)
    expected = score_multihot(model, vocabulary, [Review("r1", "great brilliant, loved it"),
                                                  Review("r2", "awful dull mess")])
    with open(task.output()["predictions"].path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["id"] for row in rows] == ["r1", "r2"]
    for row, probability in zip(rows, expected):
        assert float(row["probability_positive"]) == pytest.approx(probability[1], abs=1e-6)
        assert row["label"] == label_of(probability, ["negative", "positive"])


def test_predict_task_missing_input_fails_before_work(tmp_path, data_dir):
    with pytest.raises(PipelineError, match="input .*no such file"):
        Predict(input=str(tmp_path / "nope.txt"), **TINY)
    assert not data_dir.exists()


# ------------------------------------------------------------ CSV rows that break the rules

@pytest.mark.parametrize("content,expected", [
    # an unclosed quote: the row is read as its own line, the next rows as theirs
    ('id,text\n1,"good film\n2,bad film\n3,fine\n',
     [("1", "good film\n", "malformed CSV at line 2"), ("2", "bad film", ""),
      ("3", "fine", "")]),
    # text after a closing quote, and a quote that a later row closes
    ('id,text\n1,"good film\n2,"bad film"\n3,"fine" ok\n',
     [("1", "good film\n", "malformed CSV at line 2"), ("2", "bad film", ""),
      ("3", "fine ok", "malformed CSV at line 4")]),
    # a legitimate field over two lines and doubled quotes stay as they are
    ('id,text\n1,"two\nlines"\n2,"a ""quoted"" word"\n',
     [("1", "two\nlines", ""), ("2", 'a "quoted" word', "")]),
    # the same id twice: both scored, both noted
    ("id,text\n7,one\n7,two\n",
     [("7", "one", "id '7' is given to 2 rows"), ("7", "two", "id '7' is given to 2 rows")]),
])
def test_a_broken_csv_row_never_takes_its_neighbours(tmp_path, content, expected):
    path = tmp_path / "r.csv"
    path.write_text(content)
    reviews = read_reviews(path)
    assert [(r.id, r.text) for r in reviews] == [(i, t) for i, t, _ in expected]
    for review, (_, _, note) in zip(reviews, expected):
        assert not review.unreadable
        assert note in "; ".join(review.notes) if note else review.notes == []


def test_reading_a_csv_of_broken_rows_is_linear(tmp_path):
    """A million rows that each open a quote: each failed attempt stops at the next quote,
    so the whole file is read in one pass or so (measured, generously bounded)."""
    import time

    path = tmp_path / "r.csv"
    figures = []
    for rows in (200_000, 400_000):
        path.write_text("id,text\n" + 'x,"yyyy\n' * rows)
        start = time.monotonic()
        assert len(read_reviews(path)) == rows
        figures.append((rows, time.monotonic() - start))
    print("broken CSV rows:", ", ".join(f"{n:,} rows {s:.2f} s" for n, s in figures))
    assert figures[1][1] < 6 * figures[0][1] + 1  # twice the rows: about twice the time


def test_folder_entries_are_read_whatever_their_name(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "UPPER.TXT").write_text("loud review")
    (folder / ".hidden.txt").write_text("quiet review")
    (folder / os.fsdecode(b"caf\xe9.txt")).write_text("latin-1 name")
    reviews = {r.id: r for r in read_reviews(folder)}
    assert reviews["UPPER.TXT"].text == "loud review"
    assert reviews[".hidden.txt"].text == "quiet review"
    assert reviews["caf\ufffd.txt"].notes == ["file name is not UTF-8"]
    out = tmp_path / "p.csv"
    write_predictions(list(reviews.values()), [None] * 3, ["negative", "positive"], out)
    assert "caf\ufffd.txt" in out.read_text(encoding="utf-8")
