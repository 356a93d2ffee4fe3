"""Reading an archive member by member, streamed: pipeline/io/archive.py.

Every tar flavour, compression, zip and an extracted folder must give what tarfile (or
zipfile) gives member by member; links are read as the members they name; what is not
read is yielded as skipped with its reason; a corrupt header is an error, never a silent
end; headers, archives and zip directories that claim too much are refused early.
"""
import bz2
import gzip
import hashlib
import io
import lzma
import os
import tarfile
import zipfile

import pytest
from conftest import REAL_ARCHIVE, make_archive, no_corpus

from pipeline.errors import PipelineError
from pipeline.io import archive


def tarfile_members(path):
    """``(name, is_file, bytes or None)`` of each member, as tarfile reads them (names
    normalized as the reader normalizes them)."""
    with tarfile.open(path) as tar:
        return [(archive.normalize_name(m.name), m.isfile(),
                 tar.extractfile(m).read() if m.isfile() else None)
                for m in tar.getmembers()]


def scanned_members(path):
    """The same, as :func:`archive.members` reads them."""
    return [(m.name, m.is_file, m.read() if m.is_file else None)
            for m in archive.members(path)]


def _add(tar, name, data=b"", kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _sample(tar):
    folder = tarfile.TarInfo("aclImdb/train/")
    folder.type = tarfile.DIRTYPE
    tar.addfile(folder)
    for name, data in (("aclImdb/train/pos/1_9.txt", b"x" * 511),
                       ("aclImdb/train/pos/2_9.txt", b""),
                       ("a" * 90 + "/" + "b" * 90 + ".txt", b"prefix field" * 100),
                       ("aclImdb/train/pos/" + "x" * 300 + "_9.txt", b"long name")):
        _add(tar, name, data)


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT,
                                 tarfile.PAX_FORMAT])
@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_every_tar_flavour_reads_as_tarfile_reads_it(tmp_path, fmt, mode):
    path = tmp_path / f"a.{mode}"
    try:
        with tarfile.open(path, mode, format=fmt) as tar:
            _sample(tar)
    except ValueError:  # ustar cannot store a 300-character name
        assert fmt == tarfile.USTAR_FORMAT
        return
    assert scanned_members(path) == tarfile_members(path)


def test_a_zstandard_tar_is_read_with_the_extra_and_named_without_it(tmp_path, monkeypatch):
    zstandard = pytest.importorskip("zstandard")
    plain = tmp_path / "a.tar"
    with tarfile.open(plain, "w") as tar:
        _sample(tar)
    path = tmp_path / "a.tar.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    assert scanned_members(path) == tarfile_members(plain)
    monkeypatch.setitem(__import__("sys").modules, "zstandard", None)  # not installed
    with pytest.raises(PipelineError, match=r"needs the zstd extra: pip install .*\[zstd\]'; "
                                            r"or give it as \.tar, \.tar\.gz"):
        scanned_members(path)


def test_a_zip_and_an_extracted_folder_read_like_the_tar(tmp_path):
    tar_path = make_archive(tmp_path / "a.tar.gz", per_class=(3, 2))
    expected = {name: data for name, is_file, data in tarfile_members(tar_path) if is_file}
    zip_path = tmp_path / "a.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as packed:
        for name, data in expected.items():
            packed.writestr(name, data)
    folder = tmp_path / "extracted"
    with tarfile.open(tar_path) as tar:
        tar.extractall(folder, filter="data")
    for path in (zip_path, folder / "aclImdb"):
        found = {name: data for name, is_file, data in scanned_members(path) if is_file}
        assert found == expected, path


def test_dot_slash_prefixes_are_normalized(tmp_path):
    path = tmp_path / "dot.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        _add(tar, "./", kind=tarfile.DIRTYPE)
        _add(tar, "./aclImdb//train/pos/1_9.txt", b"good")
    names = [(m.name, m.kind) for m in archive.members(path)]
    assert names == [("", "folder"), ("aclImdb/train/pos/1_9.txt", "file")]


def test_links_are_read_as_their_targets_and_the_rest_is_skipped_with_a_reason(tmp_path):
    path = tmp_path / "links.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        _add(tar, "aclImdb/train/pos/1_9.txt", b"the original")
        _add(tar, "aclImdb/test/pos/1_9.txt", kind=tarfile.LNKTYPE,
             linkname="aclImdb/train/pos/1_9.txt")                    # a hard link
        _add(tar, "aclImdb/test/pos/2_9.txt", kind=tarfile.SYMTYPE,
             linkname="../../train/pos/1_9.txt")                       # inside: read
        _add(tar, "aclImdb/test/pos/3_9.txt", kind=tarfile.SYMTYPE,
             linkname="/etc/passwd")                                   # outside: skipped
        _add(tar, "aclImdb/test/pos/4_9.txt", kind=tarfile.SYMTYPE,
             linkname="5_9.txt")                                       # target after it
        _add(tar, "aclImdb/test/pos/5_9.txt", b"later")
        _add(tar, "aclImdb/test/pos/6_9.txt", kind=tarfile.FIFOTYPE)
        _add(tar, "aclImdb/test/pos/7_9.txt", kind=tarfile.LNKTYPE, linkname="nowhere.txt")
    found = {m.name: (m.kind, m.read() if m.is_file else m.note)
             for m in archive.members(path)}
    assert found == {
        "aclImdb/train/pos/1_9.txt": ("file", b"the original"),
        "aclImdb/test/pos/1_9.txt": ("link", b"the original"),
        "aclImdb/test/pos/2_9.txt": ("link", b"the original"),
        "aclImdb/test/pos/3_9.txt": ("skipped", "a symbolic link to outside the archive"),
        "aclImdb/test/pos/4_9.txt": ("link", b"later"),
        "aclImdb/test/pos/5_9.txt": ("file", b"later"),
        "aclImdb/test/pos/6_9.txt": ("skipped", "a named pipe"),
        "aclImdb/test/pos/7_9.txt": ("skipped", "a link to nowhere.txt, which is not a file "
                                                "of the archive")}


def test_a_bad_checksum_in_the_middle_is_an_error_not_the_end(tmp_path):
    """tarfile's streaming mode stops at such a header as if the archive ended there and
    drops the members after it without a word: here it is an error naming the offset."""
    good = make_archive(tmp_path / "a.tar.gz", per_class=(6, 3))
    data = bytearray(gzip.decompress(good.read_bytes()))
    offsets = [m.offset for m in tarfile.open(good).getmembers()]
    middle = offsets[len(offsets) // 2]
    data[middle] ^= 1                                # a name changed, checksum not fixed
    path = tmp_path / "bad_checksum.tar.gz"
    path.write_bytes(gzip.compress(bytes(data)))
    with tarfile.open(path, "r|gz") as tar:
        assert len(list(tar)) == len(offsets) // 2  # tarfile: fewer members, no error
    given = []
    with pytest.raises(PipelineError, match=f"the header at byte {middle:,} has a bad "
                                            f"checksum; the members after it would be lost"):
        for member in archive.members(path):
            given.append(member.name)
    assert len(given) == len(offsets) // 2


def test_headers_that_claim_too_much_are_refused_before_they_are_read(tmp_path):
    """A 2 MB pax header or GNU long name (tarfile reads either whole into memory)."""
    for kind in (b"x", b"L"):
        path = tmp_path / f"big_{kind.decode()}.tar"
        header = tarfile.TarInfo("././@LongLink")
        header.type, header.size = kind, 2 << 20
        with open(path, "wb") as handle:
            handle.write(header.tobuf(tarfile.GNU_FORMAT))
            handle.write(b"9" * (2 << 20))
        with pytest.raises(PipelineError, match="of 2,097,152 bytes at byte 0, more than "
                                                "the 1,048,576 a header may have"):
            list(archive.members(path))


def test_an_archive_past_its_uncompressed_bound_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_ARCHIVE_BYTES", 1 << 20)
    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        _add(tar, "zeros.bin", bytes(2 << 20))
    assert path.stat().st_size < 10_000
    with pytest.raises(PipelineError, match="more than 0 GB uncompressed; not a dataset "
                                            "archive"):
        list(archive.members(path))


def test_overlapping_zip_members_are_a_bomb(tmp_path):
    """Two directory entries pointing at the same compressed data (a zip bomb's trick)."""
    path = tmp_path / "overlap.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as packed:
        packed.writestr("a.txt", b"a" * 1000)
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    entry = bytes(data[central:data.index(b"PK\x05\x06")])
    end = bytearray(data[data.index(b"PK\x05\x06"):])
    end[8:10] = end[10:12] = (2).to_bytes(2, "little")           # two entries
    end[12:16] = (2 * len(entry)).to_bytes(4, "little")         # directory size
    path.write_bytes(bytes(data[:central]) + entry + entry.replace(b"a.txt", b"b.txt")
                     + bytes(end))
    with pytest.raises(PipelineError, match="members a.txt and b.txt overlap: a zip bomb"):
        list(archive.members(path))


@pytest.mark.parametrize("content,needle", [
    (b"", "not an archive this pipeline reads (accepted: .tar, .tar.gz"),
    (b"<html>404</html>" * 100, "not an archive this pipeline reads"),
    (bz2.compress(b"not a tar" * 100), "archive is truncated or corrupt"),
    (lzma.compress(b"not a tar" * 100), "archive is truncated or corrupt"),
])
def test_what_is_not_an_archive_is_one_line(tmp_path, content, needle):
    path = tmp_path / "x.tar"
    path.write_bytes(content)
    with pytest.raises(PipelineError, match="^" + str(path)) as error:
        list(archive.members(path))
    assert needle in str(error.value)


def test_a_folder_never_follows_links_out(tmp_path):
    folder = tmp_path / "aclImdb"
    (folder / "train" / "pos").mkdir(parents=True)
    (folder / "train" / "pos" / "1_9.txt").write_text("good")
    (folder / "train" / "pos" / "2_9.txt").symlink_to("/etc/passwd")
    os.mkfifo(folder / "train" / "pos" / "3_9.txt")
    found = {m.name: (m.kind, m.note) for m in archive.members(folder) if m.kind != "folder"}
    assert found == {"aclImdb/train/pos/1_9.txt": ("file", ""),
                     "aclImdb/train/pos/2_9.txt": ("skipped", "a symbolic link"),
                     "aclImdb/train/pos/3_9.txt": ("skipped", "not a regular file")}


def _digests(pairs):
    return [(name, is_file, hashlib.sha256(data).hexdigest() if data is not None else None)
            for name, is_file, data in pairs]


@pytest.mark.slow
@pytest.mark.skipif(not REAL_ARCHIVE.exists(), reason=no_corpus(REAL_ARCHIVE.name))
def test_the_real_archive_is_read_as_tarfile_reads_it():
    with tarfile.open(REAL_ARCHIVE) as tar:
        expected = _digests((m.name, m.isfile(), tar.extractfile(m).read() if m.isfile()
                             else None) for m in tar)
    scanned = _digests((m.name, m.is_file, m.read() if m.is_file else None)
                       for m in archive.members(REAL_ARCHIVE))
    assert len(scanned) == len(expected) > 50_000
    assert scanned == expected
