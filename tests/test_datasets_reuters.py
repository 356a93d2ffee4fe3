"""Reuters-21578 from its SGML files: pipeline/datasets/reuters.py.

The SGML reader and its quirks, the topic filter, label order, the two splits, the
dataset's defaults and parameters, bad input, and the chain on tiny SGML files written
here (Keras's reuters.npz: test_datasets_keras_reuters.py; the real corpus:
test_e2e_reuters.py)."""
import csv
import io
import random
import tarfile
from pathlib import Path

import numpy as np
import pytest
from conftest import build, configured, output_folders, pipeline_config, run_luigi, working_folder
from npz_files import write_reuters_npz

from pipeline import PipelineError, Predict, RunAll, TrainModel
from pipeline.datasets import Plan, reuters
from pipeline.datasets.reuters import Reuters
from pipeline.io.storage import load_arrays, read_json
from pipeline.ml.text import tokenize

PLUGIN = Reuters()
#: The dataset's own parameters at their defaults (Keras's 46 topics and split).
DEFAULTS = {"min_topic_documents": 15, "split_method": "keras", "wire_text": "body"}

# Each topic has words of its own; documents also share filler words.
TOPIC_WORDS = {"cocoa": ["cocoa", "bean", "bahia"], "grain": ["wheat", "corn", "harvest"],
               "earn": ["profit", "dividend", "quarter"], "acq": ["merger", "stake", "bid"]}
FILLER = ["the", "said", "mln", "dlrs", "it", "in", "of", "and", "company", "year"]


def document(newid, topics, body=None, *, split="TRAIN", kind="", title="TITLE"):
    """One <REUTERS> element in the corpus's layout (with its control-character refs)."""
    topics_xml = "".join(f"<D>{t}</D>" for t in topics)
    if body is None:
        text = (f'<TEXT TYPE="BRIEF">&#2;\n******<TITLE>{title}</TITLE>Blah blah blah.\n'
                f'&#3;\n\n</TEXT>')
    else:
        attribute = f' TYPE="{kind}"' if kind else ""
        text = (f"<TEXT{attribute}>&#2;\n<TITLE>{title}</TITLE>\n<DATELINE>    NEW YORK, "
                f"March 3 - </DATELINE><BODY>{body}\n Reuter\n&#3;</BODY></TEXT>")
    return (f'<REUTERS TOPICS="{"YES" if topics else "NO"}" LEWISSPLIT="{split}" '
            f'CGISPLIT="TRAINING-SET" OLDID="{9000 + int(newid)}" NEWID="{newid}">\n'
            f"<DATE>26-FEB-1987 15:01:01.79</DATE>\n<TOPICS>{topics_xml}</TOPICS>\n"
            f"<PLACES><D>usa</D></PLACES>\n<PEOPLE></PEOPLE>\n{text}\n</REUTERS>\n")


def corpus_files(per_topic=(("cocoa", 30), ("grain", 25), ("earn", 40), ("acq", 35)),
                 rare=("zinc", 3), untopical=12, seed=0):
    """``{file name: bytes}`` of 22 SGML files: topics in the order given (each document's
    first topic), a rare topic, documents without topics, a BRIEF one, entities."""
    rng = random.Random(seed)
    docs = []
    topics = [t for t, n in per_topic for _ in range(n)] + [rare[0]] * rare[1]
    rng.shuffle(topics)
    # the first documents introduce the topics in per_topic's order
    order = [t for t, _ in per_topic]
    for topic in order:
        topics.remove(topic)
    topics = order + topics
    for k, topic in enumerate(topics, start=1):
        words = rng.choices(TOPIC_WORDS.get(topic, ["zinc", "metal"]), k=5) + \
            rng.choices(FILLER, k=8)
        rng.shuffle(words)
        second = ["usa"] if k % 5 == 0 else []
        body = " ".join(words).capitalize() + " &lt;ACME&gt; &amp; co."
        docs.append(document(k, [topic] + second, body,
                             split="TEST" if k % 4 == 0 else "TRAIN"))
    start = len(topics) + 1
    for k in range(start, start + untopical):
        docs.append(document(k, [], " ".join(rng.choices(FILLER, k=10))))
    docs.append(document(start + untopical, ["earn"], None, title="ACME PROFIT UP"))
    files = dict.fromkeys(reuters.SGML_FILES, "")
    chunk = -(-len(docs) // len(files))  # consecutive documents per file, as the corpus
    for k, doc in enumerate(docs):
        files[reuters.SGML_FILES[k // chunk]] += doc
    return {name: ('<!DOCTYPE lewis SYSTEM "lewis.dtd">\n' + text).encode("latin-1")
            for name, text in files.items()}


def write_archive(path, files, folder="reuters21578/", extra=()):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [*((folder + n, d) for n, d in files.items()), *extra]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return Path(path)


@pytest.fixture
def tiny_reuters(tmp_path):
    return write_archive(tmp_path / "reuters_tiny.tar.gz", corpus_files())


# ------------------------------------------------------------------------ the reader

def test_parse_decodes_entities_and_takes_the_body():
    text = document(7, ["grain", "wheat"], "Wheat &lt;up&gt; 5&#127; pct &amp; more")
    (newswire,) = reuters.parse_sgml(text, "x.sgm")
    assert newswire.newid == "7" and newswire.topics == ["grain", "wheat"]
    assert newswire.lewissplit == "TRAIN" and newswire.title == "TITLE"
    assert newswire.text.startswith("Wheat <up> 5\x7f pct & more")
    # the dateline and the title are not part of the text; the control characters drop
    assert tokenize(newswire.text) == ["wheat", "up", "5", "pct", "more", "reuter"]


def test_a_document_without_body_gives_its_text_without_markup():
    (brief,) = reuters.parse_sgml(document(3, ["earn"], None, title="ACME &amp; CO UP"), "x")
    assert not brief.has_body and brief.title == "ACME & CO UP"
    assert tokenize(brief.text) == ["acme", "co", "up", "blah", "blah", "blah"]


def test_unclosed_body_and_empty_topics():
    text = document(4, [], "x").replace("</BODY>", "")
    (newswire,) = reuters.parse_sgml(text, "x")
    assert newswire.topics == [] and tokenize(newswire.text) == ["x", "reuter"]


@pytest.mark.parametrize("damage,message", [
    (lambda t: t.replace("</REUTERS>", "", 1), "has no </REUTERS> before the next one (line"),
    (lambda t: t[:t.rindex("</REUTERS>")], "has no </REUTERS>: the file is truncated"),
    (lambda t: t.replace('NEWID="2"', ""), "has no NEWID attribute"),
    (lambda t: t.replace("</TOPICS>", "", 1), "<TOPICS> is not closed"),
    (lambda t: t.replace("<D>a</D>", "<D>a"), "a <D> of its TOPICS is not closed"),
    (lambda t: t.replace("</TEXT>", "", 1), "<TEXT> is not closed"),
])
def test_a_broken_document_names_file_and_line(damage, message):
    text = damage(document(1, ["a"], "x") + document(2, ["b"], "y"))
    with pytest.raises(PipelineError, match="^reut2-003.sgm: ") as error:
        reuters.parse_sgml(text, "reut2-003.sgm")
    assert message in str(error.value)


def test_select_labels_by_first_appearance_and_counts_what_it_leaves_out():
    files = corpus_files()
    newswires = [n for name in reuters.SGML_FILES
                 for n in reuters.parse_sgml(files[name].decode("latin-1"), name)]
    kept, class_names, left_out = reuters.select(newswires, min_topic_documents=15)
    # in file order, the first topic of each document; the first appearances
    first_seen = []
    for n in newswires:
        if n.topics and n.topics[0] != "zinc" and n.topics[0] not in first_seen:
            first_seen.append(n.topics[0])
    assert class_names == first_seen and set(class_names) == set(TOPIC_WORDS)
    assert left_out == {"without_topics": 12, "first_topic_below_15_documents": 3}
    assert len(kept) == 30 + 25 + 41 + 35  # earn: 40 + the BRIEF one
    assert all(class_names[label] == n.topics[0] for n, label in kept)
    _, more, _ = reuters.select(newswires, min_topic_documents=3)  # the rare topic too
    assert set(more) == set(TOPIC_WORDS) | {"zinc"}


def test_a_filter_that_leaves_one_topic_is_refused():
    newswires = [reuters.Newswire(str(k), ["earn"] if k < 20 else ["acq"], "TRAIN", "x")
                 for k in range(25)]
    with pytest.raises(PipelineError, match="min_topic_documents 10 leaves 1 topic"):
        reuters.select(newswires, 10)


def test_keras_split_is_load_data_s(tmp_path, monkeypatch):
    """Keras's own load_data, on a reuters.npz of the kept newswires in file order (each
    newswire's one word is its position), puts the same newswires in train and test, in
    the same order, as split_documents."""
    from keras.src.datasets import reuters as keras_module

    kept = [(reuters.Newswire(str(k), ["t"], "TRAIN", ""), k % 3) for k in range(53)]
    path = write_reuters_npz(tmp_path / "reuters.npz", [[k + 1] for k in range(53)],
                             [label for _, label in kept])
    monkeypatch.setattr(keras_module, "get_file", lambda *args, **kw: str(path))
    (x_train, y_train), (x_test, _) = keras_module.load_data(path=str(path), num_words=1000)
    splits, unused = reuters.split_documents(kept, "keras")
    assert unused == 0
    # load_data's x is [1, rank + 3]: rank k + 1 is newswire k
    assert [int(n.newid) for n, _ in splits["train"]] == [x[1] - 4 for x in x_train]
    assert [int(n.newid) for n, _ in splits["test"]] == [x[1] - 4 for x in x_test]
    assert [label for _, label in splits["train"]] == list(y_train)


def test_modapte_split_follows_lewissplit_among_topics_yes():
    kinds = [("TRAIN", "YES"), ("TEST", "YES"), ("NOT-USED", "YES"), ("TRAIN", "YES"),
             ("TRAIN", "NO"), ("TEST", "BYPASS")]
    kept = [(reuters.Newswire(str(k), ["t"], split, "", topics_attribute=attribute), 0)
            for k, (split, attribute) in enumerate(kinds)]
    splits, unused = reuters.split_documents(kept, "modapte")
    assert [n.newid for n, _ in splits["train"]] == ["0", "3"]
    assert [n.newid for n, _ in splits["test"]] == ["1"] and unused == 3


def test_keras_text_is_the_next_body_in_the_file():
    """Keras's original script took, for a newswire without a BODY, the next BODY in its
    file (and kept the character references): wire_text = keras reproduces that."""
    text = (document(1, ["earn"], "First &lt;body&gt;") + document(2, ["acq"], None)
            + document(3, [], "Third body") + document(4, ["earn"], None))
    wires = reuters.parse_sgml(text, "x.sgm")
    assert wires[0].keras_text.startswith("First &lt;body&gt;")
    assert wires[1].keras_text.startswith("Third body")  # the next BODY: document 3's
    assert wires[2].keras_text == ""  # no topic: the script never looked for its body
    # no BODY after it: the script's find() gave -1, so it read from <TOPICS> + 5
    after = text.index("<TOPICS>", text.index('NEWID="4"')) + len("<TOPICS>")
    assert wires[3].keras_text == text[after + 5:text.index("</", after + 5)]
    assert tokenize(wires[1].text) == ["title", "blah", "blah", "blah"]


# ------------------------------------------------------------------------ the archive

def test_archive_with_files_at_the_top_as_the_official_one(tmp_path):
    archive = write_archive(tmp_path / "top.tar.gz", corpus_files(), folder="",
                            extra=[("README.txt", b"readme"), ("lewis.dtd", b"dtd")])
    corpus = reuters.read_corpus(archive)
    assert corpus.counts["documents"] == 30 + 25 + 40 + 35 + 3 + 12 + 1
    assert corpus.counts["without_body"] == 1
    assert len(corpus.counts["files_differing_from_distribution_1_0"]) == 22


@pytest.mark.parametrize("make,message", [
    (lambda p: write_archive(p, {"other.txt": b"x"}), "not Reuters-21578: no reut2-NNN.sgm"),
    (lambda p: write_archive(p, {k: v for k, v in corpus_files().items()
                                 if k != "reut2-005.sgm"}),
     "Reuters-21578 is incomplete: missing reut2-005.sgm"),
    (lambda p: p.write_bytes(write_archive(p, corpus_files()).read_bytes()[:3000]),
     "archive is truncated or corrupt"),
    (lambda p: write_archive(p, corpus_files(), extra=[("../evil.sgm", b"x")]),
     "unsafe path in archive: '../evil.sgm'"),
])
def test_bad_archives(tmp_path, make, message):
    path = tmp_path / "bad.tar.gz"
    make(path)
    with pytest.raises(PipelineError, match=f"^{path}: ") as error:
        reuters.read_sgml_files(path)
    assert message in str(error.value)


def test_read_encodes_with_a_training_vocabulary(tiny_reuters, tmp_path):
    folder = tmp_path / "fetched"
    folder.mkdir()
    (folder / reuters.ARCHIVE_NAME).write_bytes(tiny_reuters.read_bytes())
    encoded = PLUGIN.read(folder, 30, DEFAULTS)
    assert encoded.class_names == list(TOPIC_WORDS)  # the order corpus_files introduces
    assert encoded.report["documents"] == {"train": 104, "test": 27}  # int(131 * 0.8)
    train = encoded.splits["train"]
    assert train.rows == 104 and all(str(n).startswith("NEWID-") for n in train.names)
    assert set(train.labels.tolist()) <= set(range(4))
    # the vocabulary and its counts come from the training newswires only
    from collections import Counter

    splits, _, _ = reuters.labelled_splits(reuters.read_corpus(tiny_reuters))
    counted = Counter(w for newswire, _ in splits["train"] for w in tokenize(newswire.text))
    assert encoded.counts == [counted[w] for w in encoded.vocabulary]
    assert encoded.vocabulary == sorted(counted, key=lambda w: (-counted[w], w))[:26]
    text = PLUGIN.original_text(folder, "train", str(train.names[0]), 0)
    assert text.startswith("TITLE\n\n") and "<ACME> & co." in text


# ------------------------------------------------------------ per-dataset defaults

def test_reuters_defaults_are_the_book_s_and_stay_overridable():
    assert TrainModel(dataset="reuters").units == 64
    assert TrainModel(dataset="reuters").validation_size == 1000
    assert TrainModel(dataset="keras_reuters").units == 64
    assert TrainModel().units == 16 and TrainModel().validation_size == 10000
    assert TrainModel(dataset="reuters", units=32).units == 32
    with configured("experiment", units=24):
        # the dataset's own default is more specific than [experiment]
        assert TrainModel(dataset="reuters").units == 64 and TrainModel().units == 24
    with configured("experiment.reuters", units=128, validation_size=500):
        task = TrainModel(dataset="reuters")
        assert (task.units, task.validation_size) == (128, 500)
        assert TrainModel().units == 16
    with configured("TrainModel", units=8):  # [TaskName] beats both
        assert TrainModel(dataset="reuters").units == 8


def test_dataset_parameters_reach_only_their_dataset():
    imdb = RunAll()
    assert "min_topic_documents" not in imdb.to_str_params(only_significant=True)
    assert RunAll(dataset="reuters").to_str_params(True)["min_topic_documents"] == "15"
    with pytest.raises(PipelineError, match="min_topic_documents is not a parameter of "
                                            "dataset 'aclimdb'"):
        RunAll(min_topic_documents=5)
    with pytest.raises(PipelineError, match="unknown split_method 'random'"):
        RunAll(dataset="reuters", split_method="random")
    with pytest.raises(PipelineError, match="units gives 3 layer sizes"):
        RunAll(dataset="reuters", units="64,4,4")


def test_a_filter_is_planned_from_the_manifest_before_any_work(tmp_path):
    """Once the corpus is fetched, the topics and split sizes of any filter are known when
    a task is built: class count checks, validation_size checks and a filter that leaves
    fewer than two topics all come before any work."""
    from pipeline import DownloadDataset

    archive = write_archive(tmp_path / "reuters.tar.gz", corpus_files())
    with pipeline_config(tmp_path / "data", str(archive)):
        assert build([DownloadDataset(dataset="reuters")]).status.name == "SUCCESS"
        small = dict(dataset="reuters", validation_size=20)
        two = RunAll(**small, min_topic_documents=31)
        assert two.class_names == ["earn", "acq"]  # 41 and 35 newswires
        RunAll(**small, min_topic_documents=31, loss="binary_crossentropy")
        assert RunAll(**small).class_names == list(TOPIC_WORDS)
        with pytest.raises(PipelineError, match="min_topic_documents 42 leaves 0 topic"):
            RunAll(**small, min_topic_documents=42)
        # 76 kept: 60 for training; modapte: the TRAIN ones of the kept topics
        with pytest.raises(PipelineError, match="number of training documents \\(60\\)"):
            TrainModel(dataset="reuters", min_topic_documents=31, validation_size=60)
        manifest = read_json(tmp_path / "data" / "DownloadDataset" / "reuters" / "manifest.json")
        planned = PLUGIN.plan(manifest, dict(DEFAULTS, min_topic_documents=31,
                                             split_method="modapte"))
        splits, names, _ = reuters.labelled_splits(reuters.read_corpus(archive), 31, "modapte")
        assert planned == Plan(names, {split: len(splits[split]) for split in ("train", "test")})


def test_references_of_another_model_share_only_the_data():
    """RunAll --model embedding on Reuters still gets the mlp bottleneck, with the mlp's
    own defaults and without embedding's parameters; forget leaves it alone."""
    from pipeline.forget import affected_tasks

    run = RunAll(dataset="reuters", model="embedding", maxlen=40, seed=3)
    bottleneck = run.references()["bottleneck"]
    assert (bottleneck.model, bottleneck.units, bottleneck.seed) == ("mlp", (64, 4), 3)
    assert (bottleneck.epochs, bottleneck.batch_size) == (20, 512)  # not embedding's 10/32
    assert "maxlen" not in bottleneck.to_str_params(only_significant=True)
    mlp = RunAll(dataset="reuters", epochs=7).references()["bottleneck"]
    assert mlp.epochs == 7  # a reference of the run's own model shares its settings
    forgotten = affected_tasks(RunAll(dataset="reuters"), "TrainModel")
    assert {t.units for t in forgotten if isinstance(t, TrainModel)} == {64}


@pytest.mark.parametrize("base", [dict(layers=3), dict(units="64,4"), dict(units=32),
                                  dict(model="embedding")])
def test_the_shipped_reuters_grid_runs_from_any_base(base):
    from pipeline import EvaluateTest
    from pipeline.tasks.grids import CompareModels

    grid = CompareModels(dataset="reuters", **base)
    shapes = {name: (EvaluateTest(**params).layers, EvaluateTest(**params).units)
              for name, params in grid.variant_params.items()}
    assert shapes == {"baseline": (2, 64), "bottleneck": (2, (64, 4)), "units_32": (2, 32),
                      "units_128": (2, 128), "one_layer": (1, 64), "three_layers": (3, 64)}


# ------------------------------------------------------------------------ the chain

TINY_REUTERS = dict(dataset="reuters", num_words=40, validation_size=20, epochs=25,
                    batch_size=16, units=16, learning_rate=0.01)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("reuters")
    archive = write_archive(root / "reuters_tiny.tar.gz", corpus_files())
    with pipeline_config(root / "data", str(archive)):
        task = RunAll(**TINY_REUTERS)
        result = build([task])
        yield {"data": root / "data", "task": task, "result": result, "root": root,
               "archive": archive}


@pytest.mark.slow
def test_chain_runs_with_topic_names_references_and_baselines(chain):
    assert chain["result"].status.name == "SUCCESS", chain["result"].summary_text
    summary = read_json(chain["task"].output()["summary"].path)
    data = chain["data"]  # summary.json's paths are relative to the data folder
    metrics = read_json(data / summary["metrics"])
    names = read_json(next((chain["data"] / "Encode").glob("*/vocabulary.json")))["class_names"]
    assert set(names) == set(TOPIC_WORDS)
    assert list(metrics["per_class"]) == names
    assert metrics["confusion_matrix"]["labels"] == names
    assert metrics["accuracy"] > 0.8  # each topic has words of its own
    # the book's references: the 4-unit bottleneck trained beside it, the random baseline
    reference = summary["references"]["bottleneck"]
    assert reference["parameters"]["units"] == [64, 4]  # typed
    assert 0 <= reference["test_accuracy"] <= 1
    labels = load_arrays((data / summary["metrics"]).with_name("predictions.npz"))["labels"]
    shares = np.bincount(labels) / len(labels)
    assert summary["baselines"]["random_labels"] == pytest.approx(float((shares ** 2).sum()))
    assert summary["baselines"]["majority_class"] == pytest.approx(float(shares.max()))
    assert (data / summary["confusion_plot"]).stat().st_size > 10_000


@pytest.mark.slow
def test_predict_gives_the_three_likeliest_topics(chain, tmp_path):
    source = tmp_path / "wires.txt"
    source.write_text("cocoa bean bahia cocoa said the company\n"
                      "merger stake bid said mln dlrs\n")
    with pipeline_config(chain["data"], str(chain["archive"])):
        task = Predict(**TINY_REUTERS, input=str(source))
        assert build([task]).status.name == "SUCCESS"
    with open(task.output()["predictions"].path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["label"] for row in rows] == ["cocoa", "acq"]
    for row in rows:
        top = row["top_3"].split(" · ")
        assert len(top) == 3 and top[0].split()[0] == row["label"]


@pytest.mark.slow
def test_cli_rerun_is_a_no_op_and_a_broken_file_is_one_line(chain, tmp_path):
    cwd = working_folder(tmp_path)
    args = ["RunAll", "--pipeline-data-dir", chain["data"],
            "--DownloadDataset-url", chain["archive"]]
    for name, value in TINY_REUTERS.items():
        args += [f"--{name.replace('_', '-')}", value]
    completed = run_luigi(args, cwd=cwd)
    assert completed.returncode == 0 and "Nothing to do" in completed.stdout, completed.stdout

    files = corpus_files()
    files["reut2-004.sgm"] = files["reut2-004.sgm"].replace(b"</REUTERS>", b"", 1)
    broken = write_archive(tmp_path / "broken.tar.gz", files)
    data = tmp_path / "data"
    completed = run_luigi([*args[:1], "--pipeline-data-dir", data, "--DownloadDataset-url",
                           broken, *args[5:]], cwd=cwd)
    assert completed.returncode == 30 and "Traceback" not in completed.stdout
    assert "reut2-004.sgm: the document at line" in completed.stdout
    assert output_folders(data, "DownloadDataset") == []

    # the corpus is fetched: the filter is refused when the task is built, before any work
    completed = run_luigi([*args, "--min-topic-documents", "1000"], cwd=cwd)
    assert completed.returncode == 40 and "Traceback" not in completed.stdout
    assert "min_topic_documents 1000 leaves 0 topic(s)" in completed.stdout
