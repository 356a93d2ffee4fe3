"""Reading a dataset archive member by member, streamed, with memory and work bounded.

:func:`members` yields each member of a tar archive (plain, gzip, bzip2, xz, or
Zstandard with the ``zstd`` extra), a zip archive or an extracted folder, in order.
Tar headers are read here, not by :mod:`tarfile`: its streaming mode takes a header
with a bad checksum in the middle of an archive for the end of the archive and drops
the members after it silently, and it reads pax headers and GNU long names whole into
memory, whatever size they claim. Here:

- every header is checked (checksum, numbers), and a bad one is an error naming its
  offset, never a silent end;
- ustar, GNU (long names, long link names, base-256 sizes), pax (``path``,
  ``linkpath``, ``size``) and old v7 headers are read; ``./`` and ``//`` in names are
  normalized (``./aclImdb/train`` is ``aclImdb/train``);
- a hard link, or a symbolic link to a regular member inside the archive, is read as
  that member (a second pass over the archive reads the targets, only when there are
  links); any other member that is not a file or a folder (a link to outside, a device,
  a sparse file, an unknown type) is yielded as *skipped* with the reason, so callers
  count and name it;
- a pax header or a long name is at most :data:`MAX_HEADER_BYTES`, the uncompressed
  archive at most :data:`MAX_ARCHIVE_BYTES` (a compression bomb stops there), a
  member read at most the caller's ``limit``;
- a zip archive whose members overlap (a zip bomb) is refused.

Errors are :class:`~pipeline.errors.PipelineError` naming the address the user gave.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import posixpath
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

from ..errors import PipelineError

#: The largest member :func:`members` reads into memory by default.
MAX_MEMBER_BYTES = 1 << 20
#: The largest uncompressed archive read (aclImdb_v1.tar.gz: 84 MB, about 0.5 GB as tar).
MAX_ARCHIVE_BYTES = 4 << 30
#: The largest pax header or GNU long name (a name is at most a few hundred bytes).
MAX_HEADER_BYTES = 1 << 20
#: The most links one archive may hold (each is remembered until the second pass).
MAX_LINKS = 250_000
#: The most entries of a zip's directory or of a folder (aclImdb: about 100,000 files).
MAX_ENTRIES = 2_000_000
#: How many links are followed from one name (a symbolic link to a link to ...).
MAX_LINK_DEPTH = 16

ACCEPTED = (".tar, .tar.gz (.tgz), .tar.bz2, .tar.xz, .tar.zst (with the zstd extra), "
            ".zip, or the extracted folder")

_ZERO_BLOCK = bytes(512)
_BUFFER = 1 << 16
_REGULAR = (b"0", b"\0", b"7")
_SPECIAL = {b"3": "a character device", b"4": "a block device", b"6": "a named pipe"}
_MAGICS = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"),
           (b"\x28\xb5\x2f\xfd", "zstd"), (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"))
#: What a decompressor or a file system raises for a corrupt or unreadable stream.
_STREAM_ERRORS: tuple[type[BaseException], ...] = (EOFError, OSError, zlib.error, lzma.LZMAError,
                                                   ValueError)


class Member(NamedTuple):
    """One member: ``read()`` gives its bytes (call it before asking for the next
    member); ``kind`` is ``file``, ``folder``, ``link`` (a link read as the member it
    names) or ``skipped`` (not read; ``note`` says why)."""

    name: str
    is_file: bool
    read: Callable[[], bytes]
    kind: str = "file"
    note: str = ""


def _nothing() -> bytes:
    return b""


def _constant(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def check_member_name(name: str, shown: object) -> None:
    """Refuse an absolute member name or one with ``..``."""
    if name.startswith("/") or ".." in name.split("/"):
        raise PipelineError(f"{shown}: unsafe path in archive: {name!r} (absolute or "
                            f"with '..')")


def normalize_name(raw: str) -> str:
    """``./aclImdb//train/`` -> ``aclImdb/train`` (absolute names keep their ``/``, to
    be refused)."""
    if "./" not in raw and "//" not in raw and not raw.endswith("/") and raw != ".":
        return raw
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    return ("/" if raw.startswith("/") else "") + "/".join(parts)


def archive_format(path: str | os.PathLike[str], shown: object = None) -> str:
    """``folder``, ``gzip``, ``bzip2``, ``xz``, ``zstd``, ``zip`` or ``tar``, from the
    content (the name does not matter); :class:`PipelineError` for anything else."""
    path = Path(path)
    if path.is_dir():
        return "folder"
    with open(path, "rb") as handle:
        head = handle.read(512)
    for magic, name in _MAGICS:
        if head.startswith(magic):
            return name
    if len(head) == 512 and (head == _ZERO_BLOCK or _checksum_ok(head)):
        return "tar"
    raise PipelineError(f"{shown or path}: not an archive this pipeline reads (accepted: "
                        f"{ACCEPTED})")


# ------------------------------------------------------------------------------ tar

class _Stream:
    """The uncompressed bytes of an archive, counted against :data:`MAX_ARCHIVE_BYTES`."""

    def __init__(self, raw: IO[bytes], shown: object) -> None:
        self.raw, self.shown, self.offset = raw, shown, 0

    def read(self, size: int) -> bytes:
        data = self.raw.read(size)
        self.offset += len(data)
        if self.offset > MAX_ARCHIVE_BYTES:
            raise PipelineError(f"{self.shown}: more than {MAX_ARCHIVE_BYTES / 2**30:.0f} GB "
                                f"uncompressed; not a dataset archive (a compression bomb?)")
        return data

    def exact(self, size: int, what: str) -> bytes:
        chunks, left = [], size
        while left > 0:
            chunk = self.read(min(left, 1 << 20))
            if not chunk:
                raise PipelineError(f"{self.shown}: archive is truncated or corrupt (ends "
                                    f"inside {what})")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def skip(self, size: int, what: str) -> None:
        while size > 0:
            chunk = self.read(min(size, 1 << 20))
            if not chunk:
                raise PipelineError(f"{self.shown}: archive is truncated or corrupt (ends "
                                    f"inside {what})")
            size -= len(chunk)

    def drain(self) -> None:
        """Read to the end: the decompressor then checks its CRC and length."""
        while self.read(1 << 20):
            pass


def _open_tar(path: Path, fmt: str, shown: object) -> IO[bytes]:
    if fmt == "gzip":
        return io.BufferedReader(gzip.open(path, "rb"), _BUFFER)
    if fmt == "bzip2":
        return bz2.open(path, "rb")
    if fmt == "xz":
        return lzma.open(path, "rb")
    if fmt == "zstd":
        try:
            import zstandard
        except ImportError:
            raise PipelineError(
                f"{shown}: a Zstandard-compressed archive (.tar.zst) needs the zstd extra: "
                f"pip install -c constraints.txt 'text-classifier-luigi[zstd]'; or give "
                f"it as {ACCEPTED.replace(', .tar.zst (with the zstd extra)', '')}") from None
        handle = open(path, "rb")
        reader = zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=True,
                                                            closefd=True)
        return io.BufferedReader(reader, _BUFFER)
    return open(path, "rb", buffering=_BUFFER)


def _checksum_ok(header: bytes) -> bool:
    try:
        stored = _number(header[148:156])
    except ValueError:
        return False
    unsigned = sum(header[:148]) + 256 + sum(header[156:])
    if stored == unsigned:
        return True
    signed = unsigned - 256 * sum(1 for b in header[:148] + header[156:] if b > 127)
    return stored == signed  # some old tars summed signed bytes


def _number(field: bytes) -> int:
    """A header's number: octal (NUL or space padded) or GNU base-256."""
    if field and field[0] in (0x80, 0xFF):
        value = int.from_bytes(field[1:], "big")
        return value - (1 << (8 * len(field) - 8)) if field[0] == 0xFF else value
    text = field.split(b"\0", 1)[0].strip()
    if not text:
        return 0
    if any(c not in b"01234567" for c in text):
        raise ValueError(field)
    return int(text, 8)


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _pax_records(data: bytes, shown: object, offset: int) -> dict[str, str]:
    """The ``length key=value\\n`` records of a pax header, read in one linear pass."""
    records, position = {}, 0
    while position < len(data) and data[position] != 0:
        space = data.find(b" ", position, position + 21)
        try:
            length = int(data[position:space]) if space > position else -1
        except ValueError:
            length = -1
        end = position + length
        if length < 5 or end > len(data) or data[end - 1:end] != b"\n" or \
                b"=" not in data[space + 1:end]:
            raise PipelineError(f"{shown}: archive is truncated or corrupt (a bad pax "
                                f"header at byte {offset:,})")
        key, _, value = data[space + 1:end - 1].partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        position = end
    return records


class _Raw(NamedTuple):
    """A tar member as its headers describe it (before links are resolved)."""

    name: str
    type: bytes
    size: int
    linkname: str
    sparse: bool


def _tar_entries(path: Path, fmt: str, shown: object, limit: int, what: str
                 ) -> Iterator[Member]:
    """The members of a tar archive, links as ``kind="link"`` with the target in
    ``note`` (resolved by :func:`members`)."""
    try:
        raw = _open_tar(path, fmt, shown)
    except OSError as exc:
        raise PipelineError(f"{shown}: not a readable archive ({exc.strerror or exc})") \
            from None
    stream = _Stream(raw, shown)
    try:
        yield from _tar_members(stream, shown, limit, what)
    except PipelineError:
        raise
    except _STREAM_ERRORS as exc:
        raise PipelineError(f"{shown}: archive is truncated or corrupt "
                            f"({' '.join(str(exc).split()) or type(exc).__name__})") from None
    finally:
        raw.close()


def _tar_members(stream: _Stream, shown: object, limit: int, what: str) -> Iterator[Member]:
    pax: dict[str, str] = {}
    long_name = long_link = None
    while True:
        offset = stream.offset
        header = stream.read(512)
        if not header and offset == 0:
            raise PipelineError(f"{shown}: an empty file, not an archive")
        if len(header) < 512:
            where = "inside a header" if header else "before its end-of-archive marker"
            raise PipelineError(f"{shown}: archive is truncated or corrupt (ends {where} at "
                                f"byte {offset:,})")
        if header == _ZERO_BLOCK:
            stream.drain()
            return
        if not _checksum_ok(header):
            raise PipelineError(f"{shown}: archive is truncated or corrupt (the header at byte "
                                f"{offset:,} has a bad checksum; the members after it would "
                                f"be lost)")
        typeflag = header[156:157]
        try:
            size = _number(header[124:136])
        except ValueError:
            raise PipelineError(f"{shown}: archive is truncated or corrupt (the header at "
                                f"byte {offset:,} has a bad size field)") from None
        if size < 0:
            raise PipelineError(f"{shown}: archive is truncated or corrupt (the header at "
                                f"byte {offset:,} has a negative size)")
        if typeflag in (b"x", b"g", b"L", b"K"):
            if size > MAX_HEADER_BYTES:
                what_header = "pax header" if typeflag in b"xg" else "long name"
                raise PipelineError(f"{shown}: a {what_header} of {size:,} bytes at byte "
                                    f"{offset:,}, more than the {MAX_HEADER_BYTES:,} a "
                                    f"header may have")
            data = stream.exact(size, "a header")
            stream.skip(-size % 512, "a header")
            if typeflag == b"x":
                pax = _pax_records(data, shown, offset)
            elif typeflag == b"g":
                _pax_records(data, shown, offset)  # checked; global values do not name members
            elif typeflag == b"L":
                long_name = _text(data)
            else:
                long_link = _text(data)
            continue
        magic = header[257:265]
        name = long_name if long_name is not None else _text(header[:100])
        if long_name is None and magic == b"ustar\x0000" and header[345] != 0:
            name = _text(header[345:500]) + "/" + name
        linkname = long_link if long_link is not None else _text(header[157:257])
        name = pax.get("path", name)
        linkname = pax.get("linkpath", linkname)
        sparse = typeflag == b"S" or any(key.startswith("GNU.sparse") for key in pax)
        if "size" in pax:
            try:
                size = int(pax["size"])
            except ValueError:
                raise PipelineError(f"{shown}: archive is truncated or corrupt (a pax size "
                                    f"{pax['size'][:20]!r} at byte {offset:,})") from None
        pax, long_name, long_link = {}, None, None
        is_folder = typeflag in (b"5", b"D") or (typeflag in _REGULAR and name.endswith("/"))
        has_data = typeflag not in (b"1", b"2", b"3", b"4", b"5", b"6")
        member = _Raw(normalize_name(name), typeflag, size if has_data else 0, linkname,
                      sparse)
        data_size = member.size
        state = {"left": data_size}

        def read(member: _Raw = member, state: dict[str, int] = state) -> bytes:
            if member.size > limit:
                raise PipelineError(f"{shown}: member {member.name} is {member.size:,} "
                                    f"bytes, more than the {limit:,} {what}")
            state["left"] = 0
            return stream.exact(member.size, f"member {member.name}")

        if is_folder:
            yield Member(member.name, False, _nothing, "folder")
        elif member.sparse:
            yield Member(member.name, False, _nothing, "skipped", "a sparse file")
        elif typeflag in _REGULAR:
            yield Member(member.name, True, read)
        elif typeflag == b"1":
            yield Member(member.name, False, _nothing, "link", normalize_name(linkname))
        elif typeflag == b"2":
            yield Member(member.name, False, _nothing, "link",
                         _symlink_target(member.name, linkname))
        elif typeflag in _SPECIAL:
            yield Member(member.name, False, _nothing, "skipped", _SPECIAL[typeflag])
        else:
            shown_type = typeflag.decode("latin-1")
            yield Member(member.name, False, _nothing, "skipped",
                         f"a member of unknown type {shown_type!r}")
        stream.skip(state["left"] + (-data_size % 512), f"member {member.name}")


def _symlink_target(name: str, linkname: str) -> str:
    """The member a symbolic link names, or ``""`` when it points outside the archive."""
    if not linkname or linkname.startswith("/"):
        return ""
    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), linkname))
    return "" if target.startswith("..") or target == "." else target


# ------------------------------------------------------------------------------ zip

def _zip_entries(path: Path, shown: object, limit: int, what: str) -> Iterator[Member]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise PipelineError(f"{shown}: not a readable zip archive, truncated or corrupt "
                            f"({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise PipelineError(f"{shown}: {len(infos):,} members, more than the "
                                f"{MAX_ENTRIES:,} a dataset archive may have")
        ordered = sorted(infos, key=lambda info: info.header_offset)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.header_offset + 30 + before.compress_size > after.header_offset:
                raise PipelineError(f"{shown}: members {before.filename} and "
                                    f"{after.filename} overlap: a zip bomb, not a dataset "
                                    f"archive")
        for info in infos:
            name = normalize_name(info.filename)
            mode = info.external_attr >> 16
            if info.is_dir():
                yield Member(name, False, _nothing, "folder")
            elif stat.S_ISLNK(mode):
                yield Member(name, False, _nothing, "skipped", "a symbolic link")
            else:
                def read(info: zipfile.ZipInfo = info, name: str = name) -> bytes:
                    if info.file_size > limit:
                        raise PipelineError(f"{shown}: member {name} is {info.file_size:,} "
                                            f"bytes, more than the {limit:,} {what}")
                    try:
                        return archive.read(info)
                    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError,
                            OSError, zlib.error, lzma.LZMAError, ValueError) as exc:
                        raise PipelineError(f"{shown}: member {name} cannot be read "
                                            f"({exc})") from None

                yield Member(name, True, read)


# --------------------------------------------------------------------------- folder

def _folder_entries(folder: Path, shown: object, limit: int, what: str) -> Iterator[Member]:
    """An extracted archive: the folder's own name, then its content, sorted; symbolic
    links are skipped (never followed out of the folder)."""
    root = folder.resolve()
    count = 0
    for current, folders, files in os.walk(root):
        folders.sort()
        relative = Path(current).relative_to(root.parent).as_posix()
        yield Member(relative, False, _nothing, "folder")
        for file in sorted(files) + [f for f in folders if (Path(current) / f).is_symlink()]:
            count += 1
            if count > MAX_ENTRIES:
                raise PipelineError(f"{shown}: more than {MAX_ENTRIES:,} files, not a "
                                    f"dataset folder")
            path = Path(current) / file
            name = f"{relative}/{file}"
            try:
                info = path.lstat()
            except OSError as exc:
                yield Member(name, False, _nothing, "skipped",
                             f"cannot be read ({exc.strerror or exc})")
                continue
            if stat.S_ISLNK(info.st_mode):
                yield Member(name, False, _nothing, "skipped", "a symbolic link")
            elif not stat.S_ISREG(info.st_mode):
                yield Member(name, False, _nothing, "skipped", "not a regular file")
            else:
                def read(path: Path = path, name: str = name) -> bytes:
                    with open(path, "rb") as handle:
                        data = handle.read(limit + 1)
                    if len(data) > limit:
                        raise PipelineError(f"{shown}: {name} is larger than the {limit:,} "
                                            f"{what}")
                    return data

                yield Member(name, True, read)
        folders[:] = [f for f in folders if not (Path(current) / f).is_symlink()]


# ------------------------------------------------------------------- what is skipped

#: How many skipped members a report names one by one (the others are counted).
NAMED_SKIPS = 1000


class Skipped:
    """What a reader left out of an archive, for its manifest: every member counted,
    ordinary ones (files that are not documents: a README, unlabelled reviews) by
    folder, unusual ones (links to outside, devices, duplicates, misnamed files) by
    name with the reason."""

    def __init__(self) -> None:
        self.count = 0
        self.by_folder: dict[str, int] = {}
        self.named: list[list[str]] = []

    def ordinary(self, name: str) -> None:
        self.count += 1
        folder = name.rsplit("/", 1)[0] if "/" in name else "."
        self.by_folder[folder] = self.by_folder.get(folder, 0) + 1

    def unusual(self, name: str, reason: str) -> None:
        self.count += 1
        if len(self.named) < NAMED_SKIPS:
            self.named.append([name, reason])

    @property
    def unusual_count(self) -> int:
        return self.count - sum(self.by_folder.values())

    def report(self) -> dict[str, object]:
        """``{"members": n, "by_folder": {...}, "named": [[name, reason], ...],
        "not_named": k}`` for the manifest."""
        return {"members": self.count, "by_folder": dict(sorted(self.by_folder.items())),
                "named": self.named, "not_named": self.unusual_count - len(self.named)}


# -------------------------------------------------------------------------- members

def _entries(path: Path, shown: object, limit: int, what: str) -> Iterator[Member]:
    try:
        fmt = archive_format(path)
    except OSError as exc:
        raise PipelineError(f"{shown}: not a readable archive ({exc.strerror or exc})") \
            from None
    except PipelineError:
        raise PipelineError(f"{shown}: not an archive this pipeline reads (accepted: "
                            f"{ACCEPTED})") from None
    if fmt == "folder":
        return _folder_entries(path, shown, limit, what)
    if fmt == "zip":
        return _zip_entries(path, shown, limit, what)
    return _tar_entries(path, fmt, shown, limit, what)


def members(path: Path | str, shown: object = None, limit: int = MAX_MEMBER_BYTES,
            what: str = "a member may have") -> Iterator[Member]:
    """Each :class:`Member` of the archive (or folder) at ``path``, streamed, in order;
    links last, each read as the member it names.

    ``read()`` gives a member's bytes and must be called before the next member is asked
    for; a member larger than ``limit`` bytes is refused when read ("more than the
    <limit> ``what``"). Errors name ``shown`` (else ``path``).
    """
    path = Path(path)
    shown = shown or path
    links: dict[str, str] = {}
    for member in _entries(path, shown, limit, what):
        if member.kind == "link":
            if len(links) >= MAX_LINKS:
                raise PipelineError(f"{shown}: more than {MAX_LINKS:,} links, not a "
                                    f"dataset archive")
            links[member.name] = member.note
            continue
        yield member
    if links:
        yield from _linked(path, shown, limit, what, links)


def _linked(path: Path, shown: object, limit: int, what: str, links: dict[str, str]
            ) -> Iterator[Member]:
    """The links of an archive, read in a second pass as the regular members they name."""
    wanted: dict[str, list[str]] = {}
    for name, target in links.items():
        for _ in range(MAX_LINK_DEPTH):
            if target not in links:
                break
            target = links[target]
        if not target:
            yield Member(name, False, _nothing, "skipped",
                         "a symbolic link to outside the archive")
        elif target in links:
            yield Member(name, False, _nothing, "skipped", "a loop of links")
        else:
            wanted.setdefault(target, []).append(name)
    for member in _entries(path, shown, limit, what):
        names = wanted.pop(member.name, None) if member.is_file else None
        if names:
            data = member.read()
            for name in names:
                yield Member(name, True, _constant(data), "link", member.name)
    for target, names in wanted.items():
        for name in names:
            yield Member(name, False, _nothing, "skipped",
                         f"a link to {target}, which is not a file of the archive")


def pack_folder(folder: Path, destination: Path, keep: Callable[[str], bool],
                shown: object, limit: int = MAX_MEMBER_BYTES,
                what: str = "a member may have") -> int:
    """Write the files of ``folder`` that ``keep(name)`` (names as :func:`members` gives
    them) into a gzip tar at ``destination``, in order, with fixed dates and owners, so
    the same files always give the same archive; returns how many were packed."""
    import tarfile

    packed = 0
    with open(destination, "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as zipped, \
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for member in _folder_entries(folder, shown, limit, what):
            if not member.is_file or not keep(member.name):
                continue
            data = member.read()
            info = tarfile.TarInfo(member.name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
            packed += 1
    return packed


__all__ = ["ACCEPTED", "MAX_ARCHIVE_BYTES", "MAX_MEMBER_BYTES", "Member", "Skipped",
           "archive_format", "check_member_name", "members", "normalize_name", "pack_folder"]

