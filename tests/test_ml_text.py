"""Words to integer sequences and back, Keras's index convention: pipeline/ml/text.py.

The rules applied to a whole archive (vocabulary from the training reviews, encoding of
both splits) are checked with the dataset that reads it, in test_datasets_aclimdb.py.
"""
import numpy as np
import pytest

from pipeline.datasets.aclimdb import AclImdb
from pipeline.ml.text import (
    INDEX_FROM,
    MIN_NUM_WORDS,
    OOV,
    PAD,
    RESERVED,
    START,
    UNUSED,
    Split,
    decode_sequence,
    encode_texts,
    tokenize,
    tokenize_documents,
    vocabulary_size,
    word_index,
)


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

    def test_decode_sequence(self):
        vocabulary = ["the", "film", "great"]
        assert decode_sequence([1, 4, 5, 2, 6, 0, 0], vocabulary) == "the film ? great"
        encoded = encode_texts(["The film was GREAT"], vocabulary)[0]
        assert decode_sequence(encoded, vocabulary) == "the film ? great"
        assert decode_sequence([1, 3], vocabulary) == "?"


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


def test_split_arrays_round_trip(tmp_path, tiny_archive):
    """A split read by a dataset survives ``to_arrays`` / ``from_arrays`` (what Encode
    writes and the later tasks read)."""
    folder = tmp_path / "fetched"
    folder.mkdir()
    (folder / "aclImdb_v1.tar.gz").write_bytes(tiny_archive.read_bytes())
    split = AclImdb().read(folder, 40, {}).splits["test"]
    arrays = split.to_arrays("test")
    assert set(arrays) == {"test_values", "test_offsets", "test_labels", "test_names"}
    back = Split.from_arrays(arrays, "test")
    for field in ("values", "offsets", "labels", "names"):
        np.testing.assert_array_equal(getattr(back, field), getattr(split, field))
    assert back.rows == 20
