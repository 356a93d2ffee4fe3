"""Reading a tar archive member by member, streamed: pipeline/io/archive.py.

:func:`members` reads plain ustar/GNU headers itself and hands the archive to tarfile at
the first header it does not trust; either way it must give what tarfile gives. A spy on
``tarfile.open`` inside the module tells which of the two read an archive.
"""
import gzip
import hashlib
import io
import tarfile
from types import SimpleNamespace

import pytest
from conftest import REAL_ARCHIVE, make_archive, no_corpus

from pipeline.errors import PipelineError
from pipeline.io import archive


@pytest.fixture
def tarfile_opened(monkeypatch):
    """The calls of ``tarfile.open`` made by pipeline.io.archive (the slow path)."""
    calls = []

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return tarfile.open(*args, **kwargs)

    monkeypatch.setattr(archive, "tarfile", SimpleNamespace(
        open=spy, TarError=tarfile.TarError, TarInfo=tarfile.TarInfo))
    return calls


def tarfile_members(path):
    """``(name, is_file, bytes or None)`` of each member, as tarfile reads them."""
    with tarfile.open(path) as tar:
        return [(m.name, m.isfile(), tar.extractfile(m).read() if m.isfile() else None)
                for m in tar.getmembers()]


def scanned_members(path):
    """The same, as :func:`archive.members` reads them."""
    return [(name, is_file, read() if is_file else None)
            for name, is_file, read in archive.members(path)]


def test_plain_headers_are_read_without_tarfile_and_as_tarfile_reads_them(tmp_path,
                                                                          tarfile_opened):
    """Folders, a file of 511 bytes, an empty file and a name split into the ustar prefix
    field: the fast reader takes them all and gives what tarfile gives."""
    aclimdb_like = make_archive(tmp_path / "a.tar.gz", per_class=(7, 3))
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
    for path in (aclimdb_like, tmp_path / "b.tar.gz"):
        expected = tarfile_members(path)
        tarfile_opened.clear()
        assert scanned_members(path) == expected
        assert tarfile_opened == [], f"{path.name}: the fast reader handed it to tarfile"


def test_unusual_headers_go_through_tarfile(tmp_path, tarfile_opened):
    """A pax header (a 300-character name) and a symbolic link: the fast reader gives up,
    tarfile reads them, and the results are the same as tarfile's own."""
    path = tmp_path / "pax.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("aclImdb/train/pos/" + "x" * 300 + "_9.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
        link = tarfile.TarInfo("aclImdb/train/pos/9_9.txt")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    expected = tarfile_members(path)
    tarfile_opened.clear()
    scanned = scanned_members(path)
    assert tarfile_opened, "the pax header was not handed to tarfile"
    assert scanned == expected
    assert [is_file for _, is_file, _ in scanned] == [True, False]


def test_a_header_with_a_bad_checksum_is_not_trusted(tmp_path, tarfile_opened):
    """The first member's name changed without fixing its checksum: the fast reader
    yields nothing from that header and hands the archive to tarfile, which refuses it."""
    data = bytearray(gzip.decompress(make_archive(tmp_path / "a.tar.gz").read_bytes()))
    data[0] ^= 1
    path = tmp_path / "bad_checksum.tar.gz"
    path.write_bytes(gzip.compress(bytes(data)))
    given = []
    with pytest.raises(PipelineError, match="truncated or corrupt") as error:
        for name, _, _ in archive.members(path):
            given.append(name)
    assert given == []
    assert tarfile_opened, "the bad header was not handed to tarfile"
    assert str(path) in str(error.value)


def _digests(pairs):
    return [(name, is_file, hashlib.sha256(data).hexdigest() if data is not None else None)
            for name, is_file, data in pairs]


@pytest.mark.slow
@pytest.mark.skipif(not REAL_ARCHIVE.exists(), reason=no_corpus(REAL_ARCHIVE.name))
def test_the_real_archive_is_read_without_tarfile_and_as_tarfile_reads_it(tarfile_opened):
    with tarfile.open(REAL_ARCHIVE) as tar:
        expected = _digests((m.name, m.isfile(), tar.extractfile(m).read() if m.isfile()
                             else None) for m in tar)
    tarfile_opened.clear()
    scanned = _digests((name, is_file, read() if is_file else None)
                       for name, is_file, read in archive.members(REAL_ARCHIVE))
    assert tarfile_opened == []
    assert len(scanned) == len(expected) > 50_000
    assert scanned == expected
