"""Reuters-21578 newswires (Distribution 1.0), read from the original SGML files.

The book's newswire example (Deep Learning with Python 3.5) uses Keras's ``reuters``
dataset, which Keras made from this corpus; its preprocessing code is no longer
published. This module rebuilds the same documents, labels and split from the 22 files
``reut2-000.sgm`` ... ``reut2-021.sgm``:

1. every ``<REUTERS>`` document whose ``<TOPICS>`` list is not empty, in file order,
   labelled with its first topic;
2. the topics with at least ``min_topic_documents`` (15) such documents are kept, the
   documents of the others left out: 46 topics, 11,228 newswires;
3. topic ``k`` is the ``k``-th kept topic to appear in the files (cocoa, grain, veg-oil,
   ...: the order of ``keras.datasets.reuters.get_label_names()``);
4. the test split of ``keras.datasets.reuters.load_data()``: the documents shuffled by
   ``np.random.RandomState(113)``, the last 20 % held out (8,982 training, 2,246 test).
   ``split_method = modapte`` uses the corpus's own ``LEWISSPLIT`` instead (the
   "ModApte" split of the literature: TRAIN for training, TEST for test, NOT-USED left
   out).

A newswire's text is its ``<BODY>``; a document without one (1,798 "BRIEF" items
are a title only, 737 "UNPROC" ones raw text) gives the text of its ``<TEXT>`` with the
markup removed. Character references (``&#3;``, ``&lt;``, ...) are decoded.
``wire_text = keras`` takes instead the text Keras's original script took
(``make_reuters_dataset``, no longer shipped with Keras): it looked for the next
``<BODY>`` in the file, so each of the 975 kept newswires without a body got the body of
a later one; that label noise is why the book's model stops near 0.79 where it reaches
0.88 on the newswires' own texts. Words are
then tokenized and encoded as every dataset is (:mod:`pipeline.ml.text`), with the
vocabulary from the training newswires only; Keras's word index saw all of them.

Nothing is dropped silently: :func:`read_corpus` counts what it read, kept and left
out, and why; a document that cannot be parsed stops the run with its file and line.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PipelineError
from ..io.archive import Skipped, archive_format, check_member_name, members, pack_folder
from ..io.download import fetch_file, local_path, sha256_of
from ..io.progress import say
from ..ml.text import SPLITS, Encoded, Split, build_vocabulary, encode_split, tokenize_documents
from ..params import Choice, Integer, Param, Values
from .base import Dataset, Plan, Progress

#: The 46 topics of the default filter, in label order (Keras's get_label_names()).
CLASS_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing",
    "money-supply", "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass",
    "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum",
    "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi",
    "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
    "dlr", "gas", "silver", "wpi", "hog", "lead")
ARCHIVE_NAME = "reuters21578.tar.gz"
OFFICIAL_URL = "https://kdd.ics.uci.edu/databases/reuters21578/reuters21578.tar.gz"

SGML_FILES = tuple(f"reut2-{k:03d}.sgm" for k in range(22))
#: SHA-256 of each SGML file of Distribution 1.0 (the files themselves, so that the
#: official archive, a repackaged copy and an extracted folder are checked alike).
SGML_SHA256 = {
    "reut2-000.sgm": "686f5cf549930e23184bcba2328c7d01348df20f7167ff25e6d3495090c3f822",
    "reut2-001.sgm": "b7fc3231dd9f95fb53518f8d5739d41524fa8dacdb21ddb7f612d9a475c14ea1",
    "reut2-002.sgm": "99f18068d0518952987dedd78c622e5c2a584e357d264d3754696c815f3e6628",
    "reut2-003.sgm": "24c0aec30c53acfeceff6df391a278282f61febdea3852e74f1ae01af088d5bd",
    "reut2-004.sgm": "726342c19a65873330b412378cd6a3f0d512035f5223146ddd60930c62eb6ff0",
    "reut2-005.sgm": "d09de619b6dd2d047d5124681f6df90550abaf592020d1c1ce338ae9b91522e7",
    "reut2-006.sgm": "b5535c0d66b01f4976f84621a4a795afbc00d2c4bd0a1b7ae426df6630fb361d",
    "reut2-007.sgm": "aa706007ec84a03537a3921ca976d60e11b3f99e4b9e9b2d5c81dd384d2c2062",
    "reut2-008.sgm": "a3994583694a00b7c744097c1d7eabfcf90f2e6650cc21663e46828035a336cb",
    "reut2-009.sgm": "29995f606dd1a9bdf907eacc9d879846c716860d9d9141676979474aaea39c7d",
    "reut2-010.sgm": "996df6008089bd09fa5b28a4d2eb0ee5f7b9d4601cde566fed3926ac82960fa3",
    "reut2-011.sgm": "d3a2782015247d9c2bffb8926267827fdd449c70d619435ef01a25a1c56a53ca",
    "reut2-012.sgm": "da31035d483851f2aebce5b66d779e5e2c0ac9dcfe098596c6d544e81c5604ab",
    "reut2-013.sgm": "8f7700bc0455fac3fcc12377ced4807b7df8aba1f21ecad059b9cc2b1cf0b8be",
    "reut2-014.sgm": "ef936bd3e0f36cf722afa9a6957563549775af32e9e28b4f539c8737ceda83ab",
    "reut2-015.sgm": "6d3bcec73eff871b8a5403588af814c4e50a0de6bc25707480522ab836f74026",
    "reut2-016.sgm": "be2f03a185fff70131f3b4fdbd6229b7ee2be077eba9691eaa597c8cfbda8812",
    "reut2-017.sgm": "f370e610b4b1342e41a98e0c426a08541044bd1d7e539674f32372a6060b73b5",
    "reut2-018.sgm": "a5f971bf25448e915781962309e669359a35fbcaf3017a806eca0590897f209a",
    "reut2-019.sgm": "d3b07097fba2633d130b4914aceba671645985248943ce9e39c289315339dffb",
    "reut2-020.sgm": "f6ad1b724125c202566c63b35ea0b5ee23881f8b7ed47a32829d5af05d8e860d",
    "reut2-021.sgm": "3f5196d32869723c9042aa5756805b4e90360f1f45ea17f4594fa0e2b3630b18",
}
#: The files are 0.6 to 1.6 MB; a member larger than this is not one of them.
MAX_SGML_BYTES = 16 << 20

KERAS_SEED, KERAS_TEST_FRACTION = 113, 0.2
SPLIT_METHODS = ("keras", "modapte")
WIRE_TEXTS = ("body", "keras")

MIN_TOPIC_DOCUMENTS = Param(
    "min_topic_documents", Integer(minimum=1), 15,
    "Keep the topics that label at least this many newswires (15 gives Keras's 46 topics)")
SPLIT_METHOD = Param(
    "split_method", Choice(SPLIT_METHODS), "keras",
    "keras (Keras's shuffled 80/20 split) or modapte (the corpus's LEWISSPLIT)")
WIRE_TEXT = Param(
    "wire_text", Choice(WIRE_TEXTS), "body",
    "body (each newswire's own text) or keras (the text Keras's original script took: "
    "the next BODY in the file for a newswire without one, as in the book's data)")


# ------------------------------------------------------------------------ parsing SGML

@dataclass
class Newswire:
    newid: str
    topics: list[str]
    lewissplit: str
    text: str       # what the model reads (BODY, or TEXT without markup)
    title: str = ""
    has_body: bool = True
    topics_attribute: str = ""  # TOPICS="YES" / "NO" / "BYPASS" (ModApte needs YES)
    keras_text: str = ""        # the text Keras's original script took (see the module doc)


#: A kept newswire and its label (topic number).
Labelled = tuple[Newswire, int]


# Parsing is linear in the file's size whatever it holds (an SGML file is at most
# 16 MB): tags are found with str.find from a position that only moves forward, never
# with a lazy regex such as <X>(.*?)</X>, which rescans to the end of the file from
# every unclosed <X> (quadratic on a file of unclosed tags).
_ATTR_RE = re.compile(r'(?<!\w)(\w+)="([^"]*)"')
_TAG_START_RE = re.compile(r"</?[A-Z]+\b")
_ENTITY_RE = re.compile(r"&(#\d{1,7}|lt|gt|amp|quot|apos);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def unescape(text: str) -> str:
    """SGML character references of the corpus decoded (``&#3;`` -> U+0003, ``&lt;``)."""
    def one(match: re.Match[str]) -> str:
        ref = match[1]
        if ref[0] == "#":
            code = int(ref[1:])
            return chr(code) if code <= 0x10FFFF else " "
        return _NAMED[ref]

    return _ENTITY_RE.sub(one, text) if "&" in text else text


class _Next:
    """The next position of ``needle`` at or after a position, for positions that never
    decrease: one pass over the text in all."""

    def __init__(self, text: str, needle: str) -> None:
        self.text, self.needle, self.found = text, needle, -2

    def at_or_after(self, position: int) -> int:
        if self.found == -2 or (self.found != -1 and self.found < position):
            self.found = self.text.find(self.needle, position)
        return self.found


def _keras_body(text: str, after_topics: int, bodies: _Next, closes: _Next) -> str:
    """What Keras's original script took as a newswire's body: from just after the
    document's ``<TOPICS>`` tag, the next ``<BODY>`` in the file (a later newswire's when
    this one has none) up to the next ``</``; Python's ``find`` returning -1 included
    (``rest[-1 + 6:]``, then ``body[:-1]``)."""
    start = bodies.at_or_after(after_topics)
    begin = start + len("<BODY>") if start != -1 else after_topics + len("<BODY>") - 1
    end = closes.at_or_after(begin)
    return text[begin:end] if end != -1 else text[begin:-1]


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _boundary(text: str, position: int) -> bool:
    """Whether no word character follows ``position`` (regex ``\b`` after a tag name)."""
    return position >= len(text) or not (text[position].isalnum() or text[position] == "_")


def _element(text: str, tag: str, start: int = 0, end: int | None = None,
             attributes: bool = False) -> tuple[int, int] | None:
    """``(content start, content end)`` of the first ``<tag>...</tag>`` in
    ``text[start:end]`` (``<tag ...>`` with ``attributes``), else None."""
    end = len(text) if end is None else end
    opening = f"<{tag}" if attributes else f"<{tag}>"
    position = start
    while True:
        found = text.find(opening, position, end)
        if found == -1:
            return None
        after = found + len(opening)
        if attributes:
            if not _boundary(text, after):
                position = after
                continue
            gt = text.find(">", after, end)
            if gt == -1:
                return None
            after = gt + 1
        close = text.find(f"</{tag}>", after, end)
        return None if close == -1 else (after, close)


def _strip_tags(text: str) -> str:
    """Every ``</?[A-Z]+\b[^>]*>`` replaced by a space, in one pass."""
    pieces, position, next_gt = [], 0, -2
    for match in _TAG_START_RE.finditer(text):
        if match.start() < position:
            continue
        if next_gt == -2 or (next_gt != -1 and next_gt < match.end()):
            next_gt = text.find(">", match.end())
        if next_gt == -1:
            break
        pieces += [text[position:match.start()], " "]
        position = next_gt + 1
    pieces.append(text[position:])
    return "".join(pieces)


def parse_sgml(text: str, file_name: str) -> list[Newswire]:
    """The :class:`Newswire` documents of one SGML file, in order, in time linear in
    the file's size.

    Raises :class:`PipelineError` naming the file and line of a document that opens and
    never closes, that has no NEWID, or whose TOPICS list is not closed.
    """
    documents: list[Newswire] = []
    bodies, closes = _Next(text, "<BODY>"), _Next(text, "</")
    position = 0
    while True:
        start = text.find("<REUTERS", position)
        if start == -1:
            break
        gt = text.find(">", start)
        close = text.find("</REUTERS>", gt) if gt != -1 and _boundary(text, start + 8) else -1
        if close == -1:
            raise PipelineError(f"{file_name}: the document at line {_line(text, start)} has "
                                f"no </REUTERS>: the file is truncated or broken")
        nested = text.find("<REUTERS", start + 1, close)
        if nested != -1:
            raise PipelineError(f"{file_name}: the document at line {_line(text, start)}"
                                f" has no </REUTERS> before the next one (line "
                                f"{_line(text, nested)}): the file is broken")
        attrs = dict(_ATTR_RE.findall(text, start + 8, gt))
        if "NEWID" not in attrs:
            raise PipelineError(f"{file_name}: the document at line "
                                f"{_line(text, start)} has no NEWID attribute")
        inner_start, inner_end = gt + 1, close

        def where(newid: str = attrs["NEWID"], at: int = inner_start) -> str:
            # counting lines costs a pass over the file: for errors only
            return f"{file_name}: NEWID {newid} (line {_line(text, at)})"

        topics_at = _element(text, "TOPICS", inner_start, inner_end)
        if topics_at is None and text.find("<TOPICS>", inner_start, inner_end) != -1:
            raise PipelineError(f"{where()}: <TOPICS> is not closed")
        topics = []
        if topics_at is not None:
            listed = text[topics_at[0]:topics_at[1]]
            at = 0
            while (found := _element(listed, "D", at)) is not None:
                topics.append(unescape(listed[found[0]:found[1]]).strip())
                at = found[1] + len("</D>")
            if listed.count("<D>") != listed.count("</D>") or listed.count("<D>") != len(topics):
                raise PipelineError(f"{where()}: a <D> of its TOPICS is not closed")
        text_at = _element(text, "TEXT", inner_start, inner_end, attributes=True)
        if text_at is None and text.find("<TEXT", inner_start, inner_end) != -1:
            raise PipelineError(f"{where()}: <TEXT> is not closed")
        content = text[text_at[0]:text_at[1]] if text_at else ""
        body_start = content.find("<BODY>")
        body = None
        if body_start != -1:
            body_end = content.find("</BODY>", body_start + 6)
            if body_end == -1:  # the regex (.*?)(?:</BODY>|$) stopped before a final \n
                body_end = len(content) - 1 if content.endswith("\n") else len(content)
            body = content[body_start + 6:body_end]
        title_at = _element(content, "TITLE")
        documents.append(Newswire(
            newid=attrs["NEWID"], topics=[t for t in topics if t],
            lewissplit=attrs.get("LEWISSPLIT", ""),
            text=unescape(body if body is not None else _strip_tags(content)),
            title=unescape(content[title_at[0]:title_at[1]]).strip() if title_at else "",
            has_body=body is not None, topics_attribute=attrs.get("TOPICS", ""),
            keras_text=_keras_body(text, topics_at[0], bodies, closes)
            if topics_at is not None and topics else ""))  # topics only with a match
        position = close + len("</REUTERS>")
    return documents


# ----------------------------------------------------------------------- the archive

def read_sgml_files(path: str | os.PathLike[str], shown: object = None,
                    skipped: Skipped | None = None) -> dict[str, bytes]:
    """``{file name: bytes}`` of the 22 SGML files in the archive (or extracted folder)
    at ``path``, found in any folder of it; every other member is counted in
    ``skipped``.

    Members are streamed one by one (never the whole archive in memory) and each is
    refused past :data:`MAX_SGML_BYTES`. Errors are one :class:`PipelineError` naming
    ``shown`` (the address the user gave), else ``path``.
    """
    shown = shown or path
    found: dict[str, bytes] = {}
    too_large = "a Reuters-21578 file may have (they are under 2 MB)"
    for member in members(Path(path), shown, MAX_SGML_BYTES, too_large):
        check_member_name(member.name, shown)
        name = member.name.rsplit("/", 1)[-1]
        if member.kind == "folder":
            continue
        if name not in SGML_FILES or not member.is_file:
            if skipped is not None:
                if member.is_file:
                    skipped.ordinary(member.name)
                else:
                    skipped.unusual(member.name, member.note)
            continue
        if name in found:
            raise PipelineError(f"{shown}: {name} appears twice in the archive")
        found[name] = member.read()
    missing = [name for name in SGML_FILES if name not in found]
    if len(missing) == len(SGML_FILES):
        raise PipelineError(f"{shown}: not Reuters-21578: no reut2-NNN.sgm files in it")
    if missing:
        raise PipelineError(f"{shown}: Reuters-21578 is incomplete: missing "
                            f"{', '.join(missing)}")
    return found


@dataclass
class Corpus:
    """What :func:`read_corpus` found: documents and the counts of the manifest."""

    newswires: list[Newswire]
    counts: dict[str, Any] = field(default_factory=dict)
    #: the members of the archive that are not its 22 SGML files
    skipped: dict[str, Any] = field(default_factory=dict)


def read_corpus(path: str | os.PathLike[str], shown: object = None) -> Corpus:
    """Every document of the archive, parsed, with counts; see :func:`parse_sgml`."""
    skipped = Skipped()
    files = read_sgml_files(path, shown, skipped)
    newswires: list[Newswire] = []
    for name in SGML_FILES:
        newswires.extend(parse_sgml(files[name].decode("latin-1"), name))
    modified = sorted(name for name, data in files.items()
                      if hashlib.sha256(data).hexdigest() != SGML_SHA256[name])
    counts = {"documents": len(newswires),
              "with_topics": sum(bool(n.topics) for n in newswires),
              "without_topics": sum(not n.topics for n in newswires),
              "without_body": sum(not n.has_body for n in newswires),
              "files_differing_from_distribution_1_0": modified}
    return Corpus(newswires, counts, skipped.report())


def select(newswires: Sequence[Newswire], min_topic_documents: int = 15
           ) -> tuple[list[Labelled], list[str], dict[str, int]]:
    """The labelled newswires: ``(kept, class_names, left_out)``.

    ``kept`` lists ``(newswire, label)`` in file order; ``left_out`` counts the documents
    without a topic and those whose first topic labels fewer than
    ``min_topic_documents`` newswires. Fewer than two topics left is an error.
    """
    from collections import Counter

    labelled = [n for n in newswires if n.topics]
    sizes = Counter(n.topics[0] for n in labelled)
    class_names = []
    for newswire in labelled:
        topic = newswire.topics[0]
        if sizes[topic] >= min_topic_documents and topic not in class_names:
            class_names.append(topic)
    if len(class_names) < 2:
        raise PipelineError(_too_few_topics(min_topic_documents, len(class_names),
                                            max(sizes.values(), default=0)))
    number = {name: k for k, name in enumerate(class_names)}
    kept = [(n, number[n.topics[0]]) for n in labelled if n.topics[0] in number]
    left_out = {"without_topics": len(newswires) - len(labelled),
                f"first_topic_below_{min_topic_documents}_documents":
                    len(labelled) - len(kept)}
    return kept, class_names, left_out


def _too_few_topics(min_topic_documents: int, left: int, largest: int) -> str:
    return (f"min_topic_documents {min_topic_documents} leaves {left} topic(s) (the largest "
            f"labels {largest} newswires); a classifier needs at least two: choose a smaller "
            f"min_topic_documents")


def split_documents(kept: list[Labelled], split_method: str = "keras"
                    ) -> tuple[dict[str, list[Labelled]], int]:
    """``{"train": [(newswire, label)...], "test": [...]}`` and the count left out.

    ``keras``: ``keras.datasets.reuters.load_data()``'s split (seed 113, last 20 % for
    test), in its shuffled order. ``modapte``: LEWISSPLIT TRAIN / TEST of the documents
    marked TOPICS="YES", in file order; the others are counted as left out.
    """
    import numpy as np

    if split_method == "keras":
        order = np.arange(len(kept))
        np.random.RandomState(KERAS_SEED).shuffle(order)
        cut = int(len(kept) * (1 - KERAS_TEST_FRACTION))
        shuffled = [kept[i] for i in order]
        return {"train": shuffled[:cut], "test": shuffled[cut:]}, 0
    parts: dict[str, list[Labelled]] = {"train": [], "test": []}
    for item in kept:
        split = _modapte_split(item[0])
        if split:
            parts[split].append(item)
    return parts, len(kept) - len(parts["train"]) - len(parts["test"])


def _modapte_split(newswire: Newswire) -> str | None:
    """ModApte (Lewis's README): LEWISSPLIT TRAIN or TEST among the TOPICS="YES" documents."""
    if newswire.topics_attribute != "YES":
        return None
    return {"TRAIN": "train", "TEST": "test"}.get(newswire.lewissplit)


def document_name(newswire: Newswire) -> str:
    """How outputs name a newswire: its NEWID, the corpus's own number."""
    return f"NEWID-{newswire.newid}"


def labelled_splits(corpus: Corpus, min_topic_documents: int = 15, split_method: str = "keras"
                    ) -> tuple[dict[str, list[Labelled]], list[str], dict[str, Any]]:
    """``(splits, class_names, report)`` of a parsed corpus, every step counted."""
    kept, class_names, left_out = select(corpus.newswires, min_topic_documents)
    splits, unused = split_documents(kept, split_method)
    if split_method == "modapte":
        left_out["not_in_modapte"] = unused  # LEWISSPLIT NOT-USED, or TOPICS not "YES"
    for split in SPLITS:
        if not splits[split]:
            raise PipelineError(f"split_method {split_method}: no {split} newswires among "
                                f"the {len(kept)} kept")
    report: dict[str, Any] = {"read": corpus.counts["documents"], "kept": len(kept) - unused,
              "left_out": left_out, "topics": len(class_names),
              "split_method": split_method,
              "documents": {split: len(splits[split]) for split in SPLITS}}
    return splits, class_names, report


def topic_counts(newswires: Iterable[Newswire]) -> list[list[Any]]:
    """``[[topic, newswires, ModApte training, ModApte test], ...]`` by first topic, in
    order of first appearance."""
    counts: dict[str, list[Any]] = {}
    for newswire in newswires:
        if newswire.topics:
            row = counts.setdefault(newswire.topics[0], [newswire.topics[0], 0, 0, 0])
            row[1] += 1
            split = _modapte_split(newswire)
            if split:
                row[2 if split == "train" else 3] += 1
    return list(counts.values())


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class Reuters(Dataset):
    """The 22 SGML files of Reuters-21578, labelled and split as Keras's ``reuters``."""

    name = "reuters"
    title = "Reuters-21578 newswires"
    class_names = CLASS_NAMES
    files = {"archive": ARCHIVE_NAME}
    addresses = {"url": "archive"}
    parameters = (MIN_TOPIC_DOCUMENTS, SPLIT_METHOD, WIRE_TEXT)
    #: The book's Reuters model (Deep Learning with Python 3.5): Dense(64) x 2, 1,000
    #: newswires held out for validation; the rest as for IMDB.
    defaults = {"units": 64, "validation_size": 1000}
    #: the book's 4-unit bottleneck (about 71 % in the book), trained beside the chosen
    #: model and reported in RunAll's summary
    references = {"bottleneck": {"model": "mlp", "layers": 2, "units": (64, 4)}}
    variants = "reuters.toml"

    def fetch(self, folder: Path, addresses: Mapping[str, str], *, sha256: str = "",
              progress: Progress | None = None) -> dict[str, Any]:
        """Fetch the archive into ``folder`` and parse it all; returns the manifest.

        Whatever the address, the 22 SGML files are checked against Distribution 1.0's
        hashes: the official archive must match; a local copy that differs is read, with a
        warning, and the manifest lists the files that differ. The manifest also counts the
        newswires of each first topic (:meth:`plan` plans any selection from them).
        """
        import logging

        url = addresses.get("url") or OFFICIAL_URL
        archive = Path(folder) / ARCHIVE_NAME
        source = local_path(url) if url != OFFICIAL_URL else None
        if source is not None and source.is_dir():  # the extracted files: packed
            corpus = read_corpus(source, shown=url)
            pack_folder(source, archive, lambda name: name.rsplit("/", 1)[-1] in SGML_FILES,
                        url, MAX_SGML_BYTES)
            digest, fmt = sha256_of(archive), "folder"
        else:
            digest = fetch_file(url, archive, name=ARCHIVE_NAME, sha256=sha256 or None,
                                progress=progress)
            fmt = archive_format(archive, url)
            corpus = read_corpus(archive, shown=url)
        differing = corpus.counts["files_differing_from_distribution_1_0"]
        if url == OFFICIAL_URL and differing:
            raise PipelineError(f"{url}: {', '.join(differing)} differ from Reuters-21578 "
                                f"Distribution 1.0 (SHA-256): corrupt download. Nothing was "
                                f"kept.")
        if differing:
            logging.getLogger("luigi-interface").warning(
                "%s: %s differ from Reuters-21578 Distribution 1.0 (SHA-256); read as they "
                "are", url, ", ".join(differing))
        _, _, report = labelled_splits(corpus)
        return {"source": url, "sha256": digest, "format": fmt, "corpus": corpus.counts,
                "skipped": corpus.skipped,
                "topics": topic_counts(corpus.newswires),
                "default_selection": report, "documents": report["documents"]}

    def plan(self, manifest: Mapping[str, Any], params: Values) -> Plan | None:
        """What :meth:`read` will give with these parameters, from the manifest's topic
        counts. Raises as :func:`select` does when fewer than two topics are left."""
        if "topics" not in manifest:
            return None
        minimum, method = int(params["min_topic_documents"]), params["split_method"]
        rows = [row for row in manifest["topics"] if row[1] >= minimum]
        if len(rows) < 2:
            largest = max((row[1] for row in manifest["topics"]), default=0)
            raise PipelineError(_too_few_topics(minimum, len(rows), largest))
        if method == "modapte":
            documents = {"train": sum(row[2] for row in rows),
                         "test": sum(row[3] for row in rows)}
        else:
            kept = sum(row[1] for row in rows)
            cut = int(kept * (1 - KERAS_TEST_FRACTION))
            documents = {"train": cut, "test": kept - cut}
        return Plan([row[0] for row in rows], documents)

    def read(self, folder: Path, num_words: int, params: Values) -> Encoded:
        """The labelled newswires of the archive in ``folder`` as integer sequences."""
        corpus = read_corpus(Path(folder) / ARCHIVE_NAME)
        splits, class_names, report = labelled_splits(
            corpus, int(params["min_topic_documents"]), str(params["split_method"]))
        say(f"parsed the newswires: {len(splits['train']):,} training and "
            f"{len(splits['test']):,} test ones in {len(class_names)} topics")
        report["wire_text"] = params["wire_text"]
        keras_text = params["wire_text"] == "keras"
        tokenized = {split: tokenize_documents(
            (label, document_name(newswire), newswire.keras_text if keras_text else newswire.text)
            for newswire, label in splits[split]) for split in SPLITS}
        vocabulary, counts = build_vocabulary(tokenized["train"], num_words)
        say(f"vocabulary: the {len(vocabulary):,} most frequent of "
            f"{len(tokenized['train'].words):,} distinct training words")
        encoded: dict[str, Split] = {}
        for split, data in tokenized.items():
            values, offsets = encode_split(data, vocabulary)
            encoded[split] = Split(values, offsets, data.labels, data.names)
        return Encoded(encoded, vocabulary, counts, class_names=class_names, report=report)

    def texts(self, folder: Path, split: str, params: Values
              ) -> Iterator[tuple[int, str, str]]:
        splits, _, _ = labelled_splits(read_corpus(Path(folder) / ARCHIVE_NAME),
                                       int(params["min_topic_documents"]),
                                       str(params["split_method"]))
        keras_text = params["wire_text"] == "keras"
        for newswire, label in splits[split]:
            yield label, document_name(newswire), \
                newswire.keras_text if keras_text else newswire.text

    def original_text(self, folder: Path, split: str, name: str, label: int) -> str | None:
        """The title and text of newswire ``name`` (``NEWID-<n>``) as published (control
        characters dropped)."""
        newid = name.removeprefix("NEWID-")
        for newswire in read_corpus(Path(folder) / ARCHIVE_NAME).newswires:
            if newswire.newid == newid:
                text = _CONTROL_RE.sub("", newswire.text).strip()
                if newswire.has_body and newswire.title:  # else the title is in the text
                    text = f"{newswire.title}\n\n{text}"
                return text
        return None
