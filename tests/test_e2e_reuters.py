"""End to end on the real Reuters-21578 archive, through the command line, with the
Reuters defaults (the book's 3.5): Keras's 46 topics and split, the book's figures.
Skipped when neither $TEXT_CLASSIFIER_CORPORA nor ../shared/data has the archive."""
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REAL_REUTERS, needs_corpus, run_luigi, working_folder

from pipeline.datasets.reuters import CLASS_NAMES
from pipeline.io.storage import load_arrays, read_json

pytestmark = needs_corpus(REAL_REUTERS.name)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e_reuters")
    cwd = working_folder(root)
    data = root / "data"
    args = ["--dataset", "reuters", "--DownloadDataset-url", REAL_REUTERS,
            "--pipeline-data-dir", data]
    completed = run_luigi(["RunAll", *args], cwd=cwd, timeout=900)
    return {"cwd": cwd, "data": data, "run": completed}


def test_keras_s_documents_topics_and_split(run):
    assert run["run"].returncode == 0, run["run"].stdout[-5000:]
    manifest = read_json(run["data"] / "DownloadDataset" / "reuters" / "manifest.json")
    assert manifest["corpus"]["documents"] == 21578
    assert manifest["corpus"]["files_differing_from_distribution_1_0"] == []
    selection = manifest["default_selection"]
    assert selection["kept"] == 11228 and selection["topics"] == 46
    assert selection["documents"] == {"train": 8982, "test": 2246}
    assert selection["left_out"] == {"without_topics": 10211,
                                     "first_topic_below_15_documents": 139}
    vocabulary = read_json(next((run["data"] / "Encode").glob("*/vocabulary.json")))
    assert vocabulary["class_names"] == list(CLASS_NAMES)  # keras's get_label_names()
    # the book's train_data[0] ("... said as a result of its december acquisition of space
    # co ...") and train_labels[10] == 3: Keras's split, newswire for newswire
    sequences = load_arrays(next((run["data"] / "Encode").glob("*/sequences.npz")))
    assert str(sequences["train_names"][0]) == "NEWID-2560"
    assert int(sequences["train_labels"][10]) == 3


def test_keras_text_reproduces_the_book_s_first_newswire():
    """wire_text = keras gives the book's decoded train_data[0] word for word (the book
    prints "? ? ?": the start mark and two words outside its 10,000)."""
    from pipeline.datasets import reuters
    from pipeline.ml.text import tokenize

    splits, _, _ = reuters.labelled_splits(reuters.read_corpus(REAL_REUTERS))
    first = tokenize(splits["train"][0][0].keras_text)
    book = ("said as a result of its december acquisition of space co it expects earnings "
            "per share in 1987 of 1 15 to 1 30 dlrs per share up from 70 cts in 1986 the "
            "company said pretax net should rise to nine to 10 mln dlrs from six mln dlrs "
            "in 1986 and rental operation revenues to 19 to 22 mln dlrs from 12 5 mln dlrs "
            "it said cash flow per share this year should be 2 50 to three dlrs reuter 3")
    assert " ".join(first[2:]) == book


def test_the_book_s_figures(run):
    summary = read_json(next((run["data"] / "RunAll").glob("*/summary.json")))
    assert summary["parameters"]["units"] == 64
    assert summary["parameters"]["validation_size"] == 1000
    assert summary["test_accuracy"] >= 0.86  # 0.879-0.889 over seeds 0-4
    assert 0.17 <= summary["baselines"]["random_labels"] <= 0.21  # the book: about 19 %
    assert 0.5 <= summary["references"]["bottleneck"]["test_accuracy"] \
        < summary["test_accuracy"]
    metrics = read_json(run["data"] / summary["metrics"])
    assert list(metrics["per_class"]) == list(CLASS_NAMES)
    assert sum(c["support"] for c in metrics["per_class"].values()) == 2246
    predictions = load_arrays((run["data"] / summary["metrics"]).with_name("predictions.npz"))
    assert predictions["probabilities"].shape == (2246, 46)
    assert "compare: random labels" in run["run"].stdout


def test_predict_and_decode_a_newswire(run):
    cli = str(Path(sys.executable).with_name("text-classifier"))
    common = ["--data-dir", str(run["data"]), "-p", "dataset=reuters"]
    wire = ("The company said its quarterly net profit rose to 12 mln dlrs, or 1.20 dlrs "
            "per share, and it raised its dividend")
    done = subprocess.run([cli, "predict", *common, wire], cwd=run["cwd"], text=True,
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert header == "id\tmost likely classes (probability)\ttext"
    top = row.split("\t")[1].split(" · ")
    assert len(top) == 3 and top[0].split()[0] == "earn"
    done = subprocess.run([cli, "decode", *common, "--split", "test", "--index", "0"],
                          cwd=run["cwd"], text=True, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("test document 0 (NEWID-")
    assert "Original text:" in done.stdout and "(not available" not in done.stdout
