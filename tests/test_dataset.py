"""Reading, checking and encoding the archive: pipeline/dataset.py."""
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

from conftest import make_archive
from pipeline.dataset import (
    INDEX_FROM, OOV, START, build_vocabulary, decode_sequence, encode_split, encode_texts,
    fetch_archive, iter_reviews, tokenize, tokenize_archive, tokenize_split, validate_archive)
from pipeline.errors import PipelineError


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

    def test_labels_and_files_follow_the_folders(self, tiny_archive):
        test = tokenize_split(tiny_archive, "test")
        assert len(test.labels) == 20 and test.labels.sum() == 10
        for label, name in zip(test.labels, test.files):
            rating = int(name.split("_")[1].split(".")[0])
            assert (rating >= 7) == bool(label)

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
        assert repr(name) in str(error.value)
        with pytest.raises(PipelineError, match="unsafe path"):
            list(iter_reviews(path))
        assert not (tmp_path.parent / "escape.txt").exists()
