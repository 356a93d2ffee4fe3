"""The IMDB reviews read straight from aclImdb_v1.tar.gz: pipeline/datasets/aclimdb.py.

The archive's layout and its errors, the vocabulary from the training reviews and Keras's
encoding rules applied to whole archives (the rules themselves: test_ml_text.py), and the
dataset's hooks (fetch, read, original_text).
"""
import gzip
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import textwrap
from collections import Counter

import numpy as np
import pytest
from conftest import ROOT, make_archive

from pipeline import datasets
from pipeline.datasets import aclimdb
from pipeline.datasets.aclimdb import (
    AclImdb,
    iter_reviews,
    read_review,
    tokenize_archive,
    tokenize_split,
    validate_archive,
)
from pipeline.errors import PipelineError
from pipeline.ml.text import (
    INDEX_FROM,
    OOV,
    START,
    Encoded,
    Split,
    build_vocabulary,
    encode_split,
    encode_texts,
    tokenize,
    tokenize_documents,
    vocabulary_size,
)

PLUGIN = AclImdb()


def write_reviews(path, reviews):
    """An aclImdb-layout archive with exactly the given reviews.

    ``reviews`` maps ``"train/pos"`` etc. to a list of texts; folders not given get
    one neutral review so the layout is complete.
    """
    with tarfile.open(path, "w:gz") as tar:
        for folder in ("train/pos", "train/neg", "test/pos", "test/neg"):
            texts = reviews.get(folder, ["filler"])
            for i, text in enumerate(texts):
                data = text.encode("utf-8")
                info = tarfile.TarInfo(f"aclImdb/{folder}/{i}_{8 if 'pos' in folder else 2}.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def split_sequences(values, offsets):
    return [values[offsets[k]:offsets[k + 1]].tolist() for k in range(len(offsets) - 1)]


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetched_folder(tmp_path, archive):
    """A DownloadDataset-like folder holding ``archive`` under the dataset's file name."""
    folder = tmp_path / "fetched"
    folder.mkdir()
    (folder / "aclImdb_v1.tar.gz").write_bytes(archive.read_bytes())
    return folder


# ------------------------------------------------------------------ vocabulary, encoding

def reference_encoding(train_texts, texts, num_words):
    """Keras's imdb rules, written out: rank r (1 = most frequent training word, ties
    alphabetical) -> r + 3, start 1, unknown 2, nothing >= num_words."""
    counts = Counter(w for text in train_texts for w in tokenize(text))
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    index = {w: r + INDEX_FROM for r, w in enumerate(ranked, start=1)}
    return [[1] + [index[w] if index.get(w, num_words) < num_words else 2
                   for w in tokenize(text)] for text in texts]


@pytest.fixture
def corpus(tmp_path):
    reviews = {
        "train/pos": ["Great great film.<br />Loved it!", "A great cast; don't miss it.",
                      "zeta alpha great"],
        "train/neg": ["Awful film, awful acting.", "It was dull. DULL!", "alpha zeta beta"],
        # 'testonly' is the most frequent word of the test reviews, never in training
        "test/pos": ["testonly testonly testonly great", "Loved it, testonly"],
        "test/neg": ["testonly awful unknownword", "dull dull testonly"],
    }
    path = write_reviews(tmp_path / "corpus.tar.gz", reviews)
    train_texts = reviews["train/pos"] + reviews["train/neg"]
    test_texts = reviews["test/pos"] + reviews["test/neg"]
    return path, train_texts, test_texts


class TestVocabulary:
    def test_from_training_reviews_only(self, corpus):
        path, train_texts, _ = corpus
        train = tokenize_split(path, "train")
        vocabulary, counts = build_vocabulary(train, num_words=1000)
        train_words = {w for t in train_texts for w in tokenize(t)}
        assert set(vocabulary) == train_words
        assert "testonly" not in vocabulary and "unknownword" not in vocabulary
        expected = Counter(w for t in train_texts for w in tokenize(t))
        assert counts == [expected[w] for w in vocabulary]

    def test_most_frequent_first_ties_alphabetical(self, corpus):
        path, train_texts, _ = corpus
        vocabulary, counts = build_vocabulary(tokenize_split(path, "train"), num_words=1000)
        assert counts == sorted(counts, reverse=True)
        for (w1, c1), (w2, c2) in zip(zip(vocabulary, counts), zip(vocabulary[1:], counts[1:])):
            if c1 == c2:
                assert w1 < w2, f"tie {w1!r}/{w2!r} ({c1}) not alphabetical"
        assert vocabulary[0] == "great"

    def test_ties_do_not_depend_on_archive_order(self, tmp_path):
        # same words, opposite order of first appearance
        a = write_reviews(tmp_path / "a.tar.gz", {"train/pos": ["zeta beta alpha"]})
        b = write_reviews(tmp_path / "b.tar.gz", {"train/pos": ["alpha beta zeta"]})
        va, _ = build_vocabulary(tokenize_split(a, "train"), num_words=100)
        vb, _ = build_vocabulary(tokenize_split(b, "train"), num_words=100)
        assert va == vb == ["alpha", "beta", "filler", "zeta"]

    def test_size_is_num_words_minus_4(self, corpus):
        path, train_texts, _ = corpus
        train = tokenize_split(path, "train")
        distinct = len({w for t in train_texts for w in tokenize(t)})
        for num_words in (4, 5, 9, distinct + 4, distinct + 50):
            vocabulary, _ = build_vocabulary(train, num_words)
            assert len(vocabulary) == min(num_words - 4, distinct)
        assert build_vocabulary(train, 1)[0] == []


class TestEncoding:
    @pytest.mark.parametrize("num_words", [5, 8, 12, 1000])
    def test_keras_rules(self, corpus, num_words):
        path, train_texts, test_texts = corpus
        tokenized = tokenize_archive(path, parallel=False)
        vocabulary, _ = build_vocabulary(tokenized["train"], num_words)
        for split, texts in (("train", train_texts), ("test", test_texts)):
            values, offsets = encode_split(tokenized[split], vocabulary)
            got = split_sequences(values, offsets)
            assert got == reference_encoding(train_texts, texts, num_words)
            assert values.max() < num_words
            assert (values[offsets[:-1]] == START).all()
            assert (values != 0).all() and (values != 3).all()
            assert values.dtype == np.int32 and offsets[-1] == len(values)

    def test_unknown_words_and_test_only_words_are_2(self, corpus):
        path, _, _ = corpus
        tokenized = tokenize_archive(path, parallel=False)
        vocabulary, _ = build_vocabulary(tokenized["train"], 1000)
        values, offsets = encode_split(tokenized["test"], vocabulary)
        first = split_sequences(values, offsets)[0]  # "testonly testonly testonly great"
        assert first == [START, OOV, OOV, OOV, vocabulary.index("great") + 4]

    def test_most_frequent_word_is_4(self, corpus):
        path, _, _ = corpus
        tokenized = tokenize_archive(path, parallel=False)
        vocabulary, _ = build_vocabulary(tokenized["train"], 1000)
        values, offsets = encode_split(tokenized["train"], vocabulary)
        assert split_sequences(values, offsets)[0][:3] == [START, 4, 4]  # "Great great"

    def test_parallel_tokenizing_equals_serial(self, tiny_archive):
        serial = tokenize_archive(tiny_archive, parallel=False)
        parallel = tokenize_archive(tiny_archive, parallel=True)
        for split in ("train", "test"):
            assert serial[split].words == parallel[split].words
            np.testing.assert_array_equal(serial[split].ids, parallel[split].ids)
            np.testing.assert_array_equal(serial[split].offsets, parallel[split].offsets)
            np.testing.assert_array_equal(serial[split].labels, parallel[split].labels)
            np.testing.assert_array_equal(serial[split].names, parallel[split].names)

    def test_labels_and_names_follow_the_folders(self, tiny_archive):
        test = tokenize_split(tiny_archive, "test")
        assert len(test.labels) == 20 and test.labels.sum() == 10
        assert test.labels.dtype == np.int16  # class numbers: 0 negative, 1 positive
        assert set(test.labels.tolist()) == {0, 1}
        for label, name in zip(test.labels, test.names):
            rating = int(name.split("_")[1].split(".")[0])
            assert (rating >= 7) == bool(label)
            assert aclimdb.CLASS_NAMES[label] == ("positive" if rating >= 7 else "negative")

    def test_encode_texts_equals_archive_path(self, tmp_path, corpus):
        path, train_texts, _ = corpus
        new = ["Great!<br />Zeta, ALPHA and beta... don't", "never seen words here",
               "", "awful awful 'great'"]
        archive = write_reviews(tmp_path / "new.tar.gz", {"test/pos": new})
        vocabulary, _ = build_vocabulary(tokenize_split(path, "train"), 9)
        values, offsets = encode_split(tokenize_split(archive, "test"), vocabulary)
        from_archive = split_sequences(values, offsets)[:len(new)]
        assert encode_texts(new, vocabulary) == from_archive
        assert from_archive == reference_encoding(train_texts, new, 9)

    def test_tokenize_split_equals_tokenize_documents_on_its_reviews(self, tiny_archive):
        documents = [(label, name, review) for _, label, name, review
                     in iter_reviews(tiny_archive, "train")]
        direct = tokenize_documents(documents)
        from_archive = tokenize_split(tiny_archive, "train")
        assert direct.words == from_archive.words
        np.testing.assert_array_equal(direct.ids, from_archive.ids)
        np.testing.assert_array_equal(direct.offsets, from_archive.offsets)
        np.testing.assert_array_equal(direct.labels, from_archive.labels)
        np.testing.assert_array_equal(direct.names, from_archive.names)


# ---------------------------------------------------------------------- validating

class TestValidateArchive:
    def test_good_archive_counts(self, tmp_path):
        path = make_archive(tmp_path / "a.tar.gz", per_class=(7, 3))
        assert validate_archive(path) == {"train/neg": 7, "train/pos": 7,
                                          "test/neg": 3, "test/pos": 3}

    def test_non_review_members_are_ignored(self, tmp_path):
        path = make_archive(tmp_path / "a.tar.gz", per_class=(2, 1), extra_members=[
            ("aclImdb/train/unsup/0_0.txt", b"unlabelled"),
            ("aclImdb/train/pos/notes.txt", b"not a review"),
            ("aclImdb/imdb.vocab", b"the\nand\n")])
        assert validate_archive(path)["train/pos"] == 2
        reviews = list(iter_reviews(path))
        assert len(reviews) == 6
        assert all(text not in ("unlabelled", "not a review") for *_, text in reviews)

    @pytest.mark.parametrize("folder", ["train/pos", "test/neg"])
    def test_missing_folder(self, tmp_path, folder):
        path = make_archive(tmp_path / "a.tar.gz", skip_folders=(folder,))
        with pytest.raises(PipelineError, match="not the aclImdb layout") as error:
            validate_archive(path)
        assert f"aclImdb/{folder}/" in str(error.value)
        assert str(path) in str(error.value)

    def test_not_an_archive(self, tmp_path):
        path = tmp_path / "random.tar.gz"
        path.write_bytes(np.random.default_rng(0).bytes(5000))
        for read in (validate_archive, lambda path: list(iter_reviews(path))):
            with pytest.raises(PipelineError, match=r"not an archive this pipeline reads "
                                                    r"\(accepted: \.tar, \.tar\.gz"):
                read(path)

    def test_empty_file(self, tmp_path):
        path = tmp_path / "empty.tar.gz"
        path.write_bytes(b"")
        with pytest.raises(PipelineError):
            validate_archive(path)

    def test_gzip_of_something_else(self, tmp_path):
        path = tmp_path / "text.tar.gz"
        path.write_bytes(gzip.compress(b"just some text, not a tar file\n" * 100))
        with pytest.raises(PipelineError):
            validate_archive(path)

    @pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
    def test_truncated(self, tmp_path, fraction):
        good = make_archive(tmp_path / "good.tar.gz", per_class=(60, 30))
        data = good.read_bytes()
        path = tmp_path / "truncated.tar.gz"
        path.write_bytes(data[:int(len(data) * fraction)])
        with pytest.raises(PipelineError, match="truncated or corrupt|not a readable"):
            validate_archive(path)
        with pytest.raises(PipelineError, match="truncated or corrupt|not a readable"):
            list(iter_reviews(path))

    def test_corrupt_bytes_in_the_middle(self, tmp_path):
        good = make_archive(tmp_path / "good.tar.gz", per_class=(60, 30))
        data = bytearray(good.read_bytes())
        middle = len(data) // 2
        data[middle:middle + 64] = bytes(64)  # zeroed block inside the deflate stream
        path = tmp_path / "corrupt.tar.gz"
        path.write_bytes(bytes(data))
        with pytest.raises(PipelineError, match="truncated or corrupt|not a readable"):
            validate_archive(path)
        with pytest.raises(PipelineError, match="truncated or corrupt|not a readable"):
            list(iter_reviews(path))

    @pytest.mark.parametrize("name", [
        "aclImdb/train/pos/../../../escape.txt",
        "../aclImdb/train/pos/0_9.txt",
        "/etc/aclImdb/train/pos/0_9.txt",
        "/tmp/evil.txt",
    ])
    def test_unsafe_member_names(self, tmp_path, name):
        path = make_archive(tmp_path / "a.tar.gz", per_class=(2, 1),
                            extra_members=[(name, b"evil")])
        assert name in [m.name for m in tarfile.open(path).getmembers()]  # stored as is
        with pytest.raises(PipelineError, match="unsafe path") as error:
            validate_archive(path)
        assert repr(name) in str(error.value) and str(path) in str(error.value)
        with pytest.raises(PipelineError, match="unsafe path") as error:
            list(iter_reviews(path))
        assert str(path) in str(error.value)
        # fetching names the address the user gave, not the staging copy
        staging = tmp_path / ".staging-x"
        staging.mkdir()
        with pytest.raises(PipelineError, match="unsafe path") as error:
            PLUGIN.fetch(staging, {"url": str(path)}, progress=None, sha256="")
        assert str(path) in str(error.value) and str(staging) not in str(error.value)
        assert not (tmp_path.parent / "escape.txt").exists()


# ------------------------------------------------------------- the dataset's hooks

class TestAclImdbInterface:
    def test_registry(self):
        assert isinstance(datasets.get("aclimdb"), AclImdb)
        assert datasets.get("aclimdb").name == "aclimdb"
        assert AclImdb.class_names == aclimdb.CLASS_NAMES == ("negative", "positive")
        assert AclImdb.files == {"archive": "aclImdb_v1.tar.gz"}
        assert AclImdb.addresses == {"url": "archive"}
        with pytest.raises(PipelineError, match="unknown dataset 'imdb2'.*aclimdb"):
            datasets.get("imdb2")

    def test_fetch_copies_checks_and_counts(self, tmp_path):
        source = make_archive(tmp_path / "a.tar.gz", per_class=(7, 3))
        folder = tmp_path / "fetched"
        folder.mkdir()
        progress = []
        manifest = PLUGIN.fetch(folder, {"url": str(source)}, sha256="",
                                progress=lambda name, d, t: progress.append((d, t)))
        assert (folder / "aclImdb_v1.tar.gz").read_bytes() == source.read_bytes()
        assert manifest["documents"] == {"train": 14, "test": 6}
        assert manifest["reviews"] == {"train/neg": 7, "train/pos": 7,
                                       "test/neg": 3, "test/pos": 3}
        assert manifest["sha256"] == sha256_of(source) and manifest["source"] == str(source)
        assert progress[-1] == (source.stat().st_size, source.stat().st_size)

    def test_fetch_with_a_wrong_sha256(self, tmp_path, tiny_archive):
        folder = tmp_path / "fetched"
        folder.mkdir()
        with pytest.raises(PipelineError, match="SHA-256") as error:
            PLUGIN.fetch(folder, {"url": str(tiny_archive)}, sha256="1" * 64, progress=None)
        assert str(tiny_archive) in str(error.value)

    @pytest.mark.parametrize("fraction", [0.3, 0.95])
    def test_truncated_archive_error_names_the_path_given(self, tmp_path, fraction):
        good = make_archive(tmp_path / "good.tar.gz", per_class=(60, 30))
        truncated = tmp_path / "given" / "truncated.tar.gz"
        truncated.parent.mkdir()
        data = good.read_bytes()
        truncated.write_bytes(data[:int(len(data) * fraction)])
        staging = tmp_path / ".staging-destination"
        staging.mkdir()
        with pytest.raises(PipelineError, match="truncated or corrupt|not a readable") as error:
            PLUGIN.fetch(staging, {"url": str(truncated)}, sha256="", progress=None)
        message = str(error.value)
        assert str(truncated) in message
        assert str(staging) not in message and "staging" not in message

    def test_layout_error_names_the_url_given(self, tmp_path):
        path = make_archive(tmp_path / "partial.tar.gz", skip_folders=("test/pos",))
        staging = tmp_path / ".staging-x"
        staging.mkdir()
        with pytest.raises(PipelineError, match="not the aclImdb layout") as error:
            PLUGIN.fetch(staging, {"url": path.as_uri()}, sha256="", progress=None)
        assert path.as_uri() in str(error.value) and str(staging) not in str(error.value)

    def test_missing_file(self, tmp_path):
        with pytest.raises(PipelineError, match="--DownloadDataset-url") as error:
            PLUGIN.fetch(tmp_path, {"url": str(tmp_path / "nowhere.tar.gz")}, sha256="",
                         progress=None)
        assert "nowhere.tar.gz" in str(error.value)

    @pytest.mark.parametrize("num_words", [5, 9, 1000])
    def test_read_encodes_both_splits_by_keras_rules(self, tmp_path, corpus, num_words):
        path, train_texts, test_texts = corpus
        folder = fetched_folder(tmp_path, path)
        encoded = PLUGIN.read(folder, num_words, {})
        assert isinstance(encoded, Encoded) and set(encoded.splits) == {"train", "test"}
        for split, texts in (("train", train_texts), ("test", test_texts)):
            data = encoded.splits[split]
            assert isinstance(data, Split) and data.rows == len(texts)
            # write_reviews adds pos before neg, as the texts list them
            assert split_sequences(data.values, data.offsets) == \
                reference_encoding(train_texts, texts, num_words)
            assert data.labels.dtype == np.int16
            assert data.labels.tolist() == [1] * (len(texts) // 2) + [0] * (len(texts) // 2)
            assert data.names.tolist() == [f"{i}_{r}.txt" for r in (8, 2)
                                           for i in range(len(texts) // 2)]
        vocabulary, counts = build_vocabulary(tokenize_split(path, "train"), num_words)
        assert encoded.vocabulary == vocabulary and encoded.counts == counts
        assert len(encoded.vocabulary) <= vocabulary_size(num_words)

    def test_original_text(self, tmp_path, corpus):
        path, _, _ = corpus
        folder = fetched_folder(tmp_path, path)
        assert PLUGIN.original_text(folder, "test", "0_8.txt", 1) == \
            "testonly testonly testonly great"
        assert PLUGIN.original_text(folder, "train", "1_2.txt", 0) == "It was dull. DULL!"
        assert PLUGIN.original_text(folder, "train", "1_2.txt", 1) is None  # not in pos/
        assert PLUGIN.original_text(folder, "test", "9_8.txt", 1) is None
        assert read_review(folder / "aclImdb_v1.tar.gz", "train", "pos", "0_8.txt") == \
            "Great great film.<br />Loved it!"


def test_a_tokenizer_stopped_by_ctrl_c_ends_the_encoding_as_ctrl_c():
    """Ctrl-C reaches the forked tokenizers and the process the user started at once; a
    tokenizer that stops first must not make Encode fail with its exit (a traceback):
    the process that waits for it stops as Ctrl-C stops it. Run in a fresh process:
    the tokenizers fork only where TensorFlow is not loaded."""
    code = textwrap.dedent("""
        from pipeline.datasets import aclimdb
        from pipeline.io.lifeline import INTERRUPTED

        def stopped(path, split):
            raise SystemExit(INTERRUPTED)

        aclimdb.tokenize_split = stopped
        try:
            aclimdb.tokenize_archive("unused.tar.gz")
        except KeyboardInterrupt:
            print("stopped as Ctrl-C")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.stdout.strip() == "stopped as Ctrl-C", done.stderr
