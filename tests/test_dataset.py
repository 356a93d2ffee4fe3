"""Reading, checking and encoding the archive: pipeline/datasets/text.py (words to
sequences), pipeline/datasets/download.py (fetching) and pipeline/datasets/aclimdb.py
(the archive and the dataset interface)."""
import gzip
import hashlib
import http.server
import io
import socket
import tarfile
import threading
from collections import Counter
from functools import partial

import numpy as np
import pytest

from conftest import REAL_ARCHIVE, make_archive
from pipeline import datasets
from pipeline.datasets import Encoded, Split, aclimdb, download
from pipeline.datasets.aclimdb import (
    iter_reviews, read_review, tokenize_archive, tokenize_split, validate_archive)
from pipeline.datasets.download import describe_progress, fetch_file
from pipeline.datasets.text import (
    INDEX_FROM, MIN_NUM_WORDS, OOV, PAD, RESERVED, START, UNUSED, build_vocabulary,
    decode_sequence, encode_split, encode_texts, tokenize, tokenize_documents,
    vocabulary_size, word_index)
from pipeline.errors import PipelineError


def fetch_archive(url, destination, sha256=None, **kwargs):
    """The old ``fetch_archive``: :func:`fetch_file` for the aclImdb archive."""
    return fetch_file(url, destination, name=aclimdb.ARCHIVE_NAME, sha256=sha256, **kwargs)


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


# ------------------------------------------------------------------------- tokenize

class TestTokenize:
    def test_line_breaks_are_word_boundaries_not_words(self):
        assert tokenize("Good<br />bad<br/>ugly<BR>end<BR />x") == \
            ["good", "bad", "ugly", "end", "x"]
        assert "br" not in tokenize("One.<br /><br />Two.")

    def test_punctuation_dropped_and_lowercased(self):
        assert tokenize("Wow!!! The BEST film, (ever)... 10/10; \"really\"?") == \
            ["wow", "the", "best", "film", "ever", "10", "10", "really"]

    def test_apostrophes_inside_words_are_kept(self):
        assert tokenize("Don't stop; it's rock'n'roll") == ["don't", "stop", "it's", "rock'n'roll"]

    def test_apostrophes_outside_words_are_dropped(self):
        assert tokenize("'quoted' words' 'here") == ["quoted", "words", "here"]
        assert tokenize("o''clock ' ''") == ["o", "clock"]

    def test_unicode_letters_are_words(self):
        assert tokenize("Café NAÏVE l'Été Ωμέγα ДА 東京") == \
            ["café", "naïve", "l'été", "ωμέγα", "да", "東京"]

    def test_underscores_and_digits(self):
        assert tokenize("foo_bar 1990s") == ["foo", "bar", "1990s"]

    def test_empty(self):
        assert tokenize("") == []
        assert tokenize("<br /> !?... ''") == []


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

    def test_decode_sequence(self):
        vocabulary = ["the", "film", "great"]
        assert decode_sequence([1, 4, 5, 2, 6, 0, 0], vocabulary) == "the film ? great"
        encoded = encode_texts(["The film was GREAT"], vocabulary)[0]
        assert decode_sequence(encoded, vocabulary) == "the film ? great"
        assert decode_sequence([1, 3], vocabulary) == "?"


# ----------------------------------------------------------------------------- fetching

def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TestFetch:
    def test_from_path(self, tiny_archive, tmp_path):
        destination = tmp_path / "copy.tar.gz"
        digest = fetch_archive(str(tiny_archive), destination)
        assert destination.read_bytes() == tiny_archive.read_bytes()
        assert digest == sha256_of(tiny_archive)

    def test_from_file_url(self, tiny_archive, tmp_path):
        destination = tmp_path / "copy.tar.gz"
        digest = fetch_archive(tiny_archive.as_uri(), destination)
        assert destination.read_bytes() == tiny_archive.read_bytes()
        assert digest == sha256_of(tiny_archive)

    def test_file_url_with_escaped_characters(self, tmp_path):
        source = make_archive(tmp_path / "my archive %.tar.gz")
        destination = tmp_path / "copy.tar.gz"
        fetch_archive(source.as_uri(), destination)
        assert destination.read_bytes() == source.read_bytes()

    def test_matching_sha256_accepted_in_any_case(self, tiny_archive, tmp_path):
        expected = sha256_of(tiny_archive).upper()
        assert fetch_archive(str(tiny_archive), tmp_path / "c", sha256=expected) == \
            expected.lower()

    def test_sha256_mismatch(self, tiny_archive, tmp_path):
        wrong = "0" * 64
        with pytest.raises(PipelineError, match="SHA-256") as error:
            fetch_archive(str(tiny_archive), tmp_path / "copy.tar.gz", sha256=wrong)
        assert sha256_of(tiny_archive) in str(error.value) and wrong in str(error.value)

    def test_missing_path(self, tmp_path):
        with pytest.raises(PipelineError, match="--DownloadDataset-url"):
            fetch_archive(str(tmp_path / "nowhere.tar.gz"), tmp_path / "copy.tar.gz")

    def test_unreachable_http_url(self, tmp_path):
        url = f"http://127.0.0.1:{free_port()}/aclImdb_v1.tar.gz"
        with pytest.raises(PipelineError) as error:
            fetch_archive(url, tmp_path / "copy.tar.gz", timeout=10)
        message = str(error.value)
        assert "--DownloadDataset-url" in message and url in message
        assert error.value.__cause__ is None and error.value.__suppress_context__

    def test_http_download(self, tiny_archive, tmp_path):
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        handler = partial(Quiet, directory=str(tiny_archive.parent))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            port = server.server_address[1]
            destination = tmp_path / "downloaded.tar.gz"
            digest = fetch_archive(f"http://127.0.0.1:{port}/{tiny_archive.name}",
                                   destination, sha256=sha256_of(tiny_archive))
            assert destination.read_bytes() == tiny_archive.read_bytes()
            assert digest == sha256_of(tiny_archive)
            missing = f"http://127.0.0.1:{port}/missing.tar.gz"
            with pytest.raises(PipelineError, match="(?i)404|not found") as error:
                fetch_archive(missing, tmp_path / "x")
            assert missing in str(error.value)
        finally:
            server.shutdown()
            server.server_close()


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
        with pytest.raises(PipelineError, match="not a readable"):
            validate_archive(path)
        with pytest.raises(PipelineError, match="not a readable"):
            list(iter_reviews(path))

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
            aclimdb.fetch(staging, url=str(path))
        assert str(path) in str(error.value) and str(staging) not in str(error.value)
        assert not (tmp_path.parent / "escape.txt").exists()


# ------------------------------------------------------------- text: the index convention

class TestIndexConvention:
    def test_reserved_indices(self):
        assert (PAD, START, OOV, UNUSED, INDEX_FROM) == (0, 1, 2, 3, 3)
        assert RESERVED == {0: "<pad>", 1: "<start>", 2: "<unknown>", 3: "<unused>"}
        assert MIN_NUM_WORDS == 5  # indices 0-3 reserved, one word at index 4

    @pytest.mark.parametrize("num_words, size", [(0, 0), (3, 0), (4, 0), (5, 1), (10, 6),
                                                 (10000, 9996)])
    def test_vocabulary_size(self, num_words, size):
        assert vocabulary_size(num_words) == size

    def test_word_index(self):
        assert word_index(["the", "film", "great"]) == {"the": 4, "film": 5, "great": 6}
        assert word_index([]) == {}


class TestTokenizeDocuments:
    def test_ids_offsets_labels_and_names_in_order(self):
        documents = [(1, "0_9.txt", "The film, the END."), (0, "1_2.txt", ""),
                     (2, "x", "film<br />noir")]
        split = tokenize_documents(iter(documents))  # any iterable, read once
        assert split.words == ["the", "film", "end", "noir"]  # ids by first appearance
        assert split.ids.tolist() == [0, 1, 0, 2, 1, 3]
        assert split.ids.dtype == np.int32
        assert split.offsets.tolist() == [0, 4, 4, 6] and split.offsets.dtype == np.int64
        assert split.labels.tolist() == [1, 0, 2] and split.labels.dtype == np.int16
        assert split.names.tolist() == ["0_9.txt", "1_2.txt", "x"]
        for k, (_, _, doc) in enumerate(documents):
            ids = split.ids[split.offsets[k]:split.offsets[k + 1]]
            assert [split.words[i] for i in ids] == tokenize(doc)

    def test_no_documents(self):
        split = tokenize_documents([])
        assert split.words == [] and split.ids.size == 0 and split.offsets.tolist() == [0]
        assert split.labels.size == 0 and split.names.size == 0

    def test_equals_the_archive_s_own_tokenizing(self, tiny_archive):
        documents = [(label, name, review) for _, label, name, review
                     in iter_reviews(tiny_archive, "train")]
        direct = tokenize_documents(documents)
        from_archive = tokenize_split(tiny_archive, "train")
        assert direct.words == from_archive.words
        np.testing.assert_array_equal(direct.ids, from_archive.ids)
        np.testing.assert_array_equal(direct.offsets, from_archive.offsets)
        np.testing.assert_array_equal(direct.labels, from_archive.labels)
        np.testing.assert_array_equal(direct.names, from_archive.names)


# ------------------------------------------------------------- download: progress

class TestProgress:
    def test_local_file_increasing_byte_counts_and_total(self, tmp_path, monkeypatch):
        source = make_archive(tmp_path / "a.tar.gz", per_class=(60, 30))
        size = source.stat().st_size
        monkeypatch.setattr(download, "CHUNK", 1000)        # many chunks
        monkeypatch.setattr(download, "PROGRESS_EVERY", 0.0)  # report every one
        calls = []
        digest = fetch_file(str(source), tmp_path / "copy", name="a.tar.gz",
                            progress=lambda name, done, total: calls.append((done, total)))
        assert digest == sha256_of(source)
        assert len(calls) >= size // 1000
        assert all(total == size for _, total in calls)
        done = [d for d, _ in calls]
        assert all(b > a for a, b in zip(done, done[1:]))  # strictly increasing, no repeat
        assert done[0] == 1000 and done[-1] == size
        assert all(d % 1000 == 0 for d in done if d != size)  # one chunk at a time

    def test_progress_is_throttled_but_always_ends_with_the_total(self, tmp_path, monkeypatch):
        source = make_archive(tmp_path / "a.tar.gz", per_class=(60, 30))
        size = source.stat().st_size
        monkeypatch.setattr(download, "CHUNK", 1000)
        calls = []
        fetch_file(source.as_uri(), tmp_path / "copy", name="a.tar.gz",
                   progress=lambda name, done, total: calls.append((done, total)))
        assert calls[-1] == (size, size)
        assert len(calls) < size // 1000  # about once a second, not once per chunk

    def test_no_callback_is_fine(self, tiny_archive, tmp_path):
        assert fetch_file(str(tiny_archive), tmp_path / "c", name="x") == sha256_of(tiny_archive)

    def test_http_progress_knows_the_content_length(self, tiny_archive, tmp_path):
        server, port = serve(tiny_archive.parent)
        try:
            calls = []
            fetch_file(f"http://127.0.0.1:{port}/{tiny_archive.name}", tmp_path / "d",
                       name="a.tar.gz", progress=lambda name, d, t: calls.append((d, t)))
            size = tiny_archive.stat().st_size
            assert calls[-1] == (size, size)
        finally:
            server.shutdown()
            server.server_close()

    def test_describe_progress(self):
        mb = 1 << 20
        message, percent = describe_progress("aclImdb_v1.tar.gz", 12 * mb, 48 * mb)
        assert message == "aclImdb_v1.tar.gz: 12.0 of 48.0 MB (25 %)"
        assert percent == pytest.approx(25.0)
        message, percent = describe_progress("imdb.npz", 3 * mb // 2, None)
        assert message == "imdb.npz: 1.5 MB" and percent is None

    def test_messages_name_the_file_and_its_option(self, tmp_path):
        with pytest.raises(PipelineError) as error:
            fetch_file(str(tmp_path / "no.json"), tmp_path / "c", name="imdb_word_index.json",
                       parameter="word_index_url")
        message = str(error.value)
        assert str(tmp_path / "no.json") in message
        assert "--DownloadDataset-word-index-url /path/to/imdb_word_index.json" in message
        assert "word_index_url = /path/to/imdb_word_index.json under [DownloadDataset]" \
            in message


def serve(folder):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


# ------------------------------------------------------------- aclimdb: the dataset interface

class TestAclImdbInterface:
    def test_registry(self):
        assert datasets.get("aclimdb") is aclimdb
        assert aclimdb.CLASS_NAMES == ("negative", "positive")
        assert aclimdb.FILES == {"archive": "aclImdb_v1.tar.gz"}
        assert aclimdb.ADDRESSES == {"url": "archive"}
        with pytest.raises(PipelineError, match="unknown dataset 'imdb2'.*aclimdb"):
            datasets.get("imdb2")

    def test_fetch_copies_checks_and_counts(self, tmp_path):
        source = make_archive(tmp_path / "a.tar.gz", per_class=(7, 3))
        folder = tmp_path / "fetched"
        folder.mkdir()
        progress = []
        manifest = aclimdb.fetch(folder, url=str(source),
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
            aclimdb.fetch(folder, url=str(tiny_archive), sha256="1" * 64)
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
            aclimdb.fetch(staging, url=str(truncated))
        message = str(error.value)
        assert str(truncated) in message
        assert str(staging) not in message and "staging" not in message

    def test_layout_error_names_the_url_given(self, tmp_path):
        path = make_archive(tmp_path / "partial.tar.gz", skip_folders=("test/pos",))
        staging = tmp_path / ".staging-x"
        staging.mkdir()
        with pytest.raises(PipelineError, match="not the aclImdb layout") as error:
            aclimdb.fetch(staging, url=path.as_uri())
        assert path.as_uri() in str(error.value) and str(staging) not in str(error.value)

    def test_missing_file(self, tmp_path):
        with pytest.raises(PipelineError, match="--DownloadDataset-url") as error:
            aclimdb.fetch(tmp_path, url=str(tmp_path / "nowhere.tar.gz"))
        assert "nowhere.tar.gz" in str(error.value)

    @pytest.mark.parametrize("num_words", [5, 9, 1000])
    def test_read_encodes_both_splits_by_keras_rules(self, tmp_path, corpus, num_words):
        path, train_texts, test_texts = corpus
        folder = tmp_path / "fetched"
        folder.mkdir()
        (folder / "aclImdb_v1.tar.gz").write_bytes(path.read_bytes())
        encoded = aclimdb.read(folder, num_words)
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

    def test_split_arrays_round_trip(self, tmp_path, tiny_archive):
        folder = tmp_path / "fetched"
        folder.mkdir()
        (folder / "aclImdb_v1.tar.gz").write_bytes(tiny_archive.read_bytes())
        split = aclimdb.read(folder, 40).splits["test"]
        arrays = split.to_arrays("test")
        assert set(arrays) == {"test_values", "test_offsets", "test_labels", "test_names"}
        back = Split.from_arrays(arrays, "test")
        for field in ("values", "offsets", "labels", "names"):
            np.testing.assert_array_equal(getattr(back, field), getattr(split, field))
        assert back.rows == 20

    def test_original_text(self, tmp_path, corpus):
        path, _, _ = corpus
        folder = tmp_path / "fetched"
        folder.mkdir()
        (folder / "aclImdb_v1.tar.gz").write_bytes(path.read_bytes())
        assert aclimdb.original_text(folder, "test", "0_8.txt", 1) == \
            "testonly testonly testonly great"
        assert aclimdb.original_text(folder, "train", "1_2.txt", 0) == "It was dull. DULL!"
        assert aclimdb.original_text(folder, "train", "1_2.txt", 1) is None  # not in pos/
        assert aclimdb.original_text(folder, "test", "9_8.txt", 1) is None
        assert read_review(folder / "aclImdb_v1.tar.gz", "train", "pos", "0_8.txt") == \
            "Great great film.<br />Loved it!"


# ------------------------------------------------------- the fast tar header scanner

def _tarfile_members(path):
    with tarfile.open(path) as tar:
        return [(m.name, m.isfile(), tar.extractfile(m).read() if m.isfile() else None)
                for m in tar.getmembers()]


def _scanned_members(path):
    from pipeline.datasets.aclimdb import _members

    return [(name, is_file, read() if is_file else None)
            for name, is_file, read in _members(path)]


def test_scanner_reads_what_tarfile_reads(tmp_path):
    archive = make_archive(tmp_path / "a.tar.gz", per_class=(7, 3))
    with tarfile.open(tmp_path / "b.tar.gz", "w:gz", format=tarfile.USTAR_FORMAT) as tar:
        folder = tarfile.TarInfo("aclImdb/train/")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for name, data in (("aclImdb/train/pos/1_9.txt", b"x" * 511),
                           ("aclImdb/train/pos/2_9.txt", b""),
                           ("a" * 90 + "/" + "b" * 90 + ".txt", b"prefix field" * 100)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    for path in (archive, tmp_path / "b.tar.gz"):
        from pipeline.datasets.aclimdb import scan_tar

        scan_tar(gzip.decompress(path.read_bytes()))  # the fast path takes these
        assert _scanned_members(path) == _tarfile_members(path)


def test_unusual_headers_go_through_tarfile(tmp_path):
    """A pax header (a 300-character name) and a symbolic link: the scanner gives up,
    tarfile reads them, and the results are the same as tarfile's own."""
    from pipeline.datasets.aclimdb import _UnusualTar, scan_tar

    path = tmp_path / "pax.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("aclImdb/train/pos/" + "x" * 300 + "_9.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
        link = tarfile.TarInfo("aclImdb/train/pos/9_9.txt")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(_UnusualTar):
        scan_tar(gzip.decompress(path.read_bytes()))
    assert _scanned_members(path) == _tarfile_members(path)
    assert [is_file for _, is_file, _ in _scanned_members(path)] == [True, False]


def test_scanner_refuses_a_header_with_a_bad_checksum(tmp_path):
    from pipeline.datasets.aclimdb import _UnusualTar, scan_tar

    data = bytearray(gzip.decompress(make_archive(tmp_path / "a.tar.gz").read_bytes()))
    data[0] ^= 1  # the first member's name, without fixing its checksum
    with pytest.raises(_UnusualTar):
        scan_tar(bytes(data))


@pytest.mark.skipif(not REAL_ARCHIVE.exists(), reason="real archive not available")
def test_scanner_agrees_with_tarfile_on_the_real_archive():
    from pipeline.datasets.aclimdb import scan_tar

    data = gzip.decompress(REAL_ARCHIVE.read_bytes())
    scanned = scan_tar(data)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    assert [(name, is_file, size) for name, is_file, _, size in scanned] == \
        [(m.name, m.isfile(), m.size) for m in members]
    assert [start for _, _, start, _ in scanned] == [m.offset_data for m in members]
