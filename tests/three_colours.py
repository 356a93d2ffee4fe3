"""A test-only dataset of three classes, plugged into the registry by tests/test_ml_heads.py.

Documents are made of colour words of their class plus filler; ``fetch`` writes them as
JSON into the download folder, ``read`` encodes them with the pipeline's own tokenizer and
vocabulary, exactly as a real dataset plug-in does. Not collected by pytest.
"""
import json
import random
from pathlib import Path

from pipeline.datasets import Dataset
from pipeline.ml.text import (
    SPLITS,
    Encoded,
    Split,
    build_vocabulary,
    encode_split,
    tokenize_documents,
)

WORDS = {0: ["ruby", "cherry", "blood", "brick"], 1: ["grass", "leaf", "lime", "moss"],
         2: ["sky", "sea", "navy", "ice"]}
FILLER = ["the", "a", "it", "was", "and", "of"]


class ThreeColours(Dataset):
    """30 training and 10 test documents per colour, generated."""

    name = "three_colours"
    title = "Three colours"
    class_names = ("red", "green", "blue")
    files = {"documents": "documents.json"}
    addresses = {"url": "documents"}

    def fetch(self, folder, addresses, *, sha256="", progress=None):
        rng = random.Random(0)
        documents = {split: [(label, " ".join(rng.choices(WORDS[label], k=4)
                                              + rng.choices(FILLER, k=6)))
                             for _ in range(count) for label in (0, 1, 2)]
                     for split, count in (("train", 30), ("test", 10))}
        (Path(folder) / self.files["documents"]).write_text(json.dumps(documents))
        return {"source": "generated", "sha256": "",
                "documents": {split: len(docs) for split, docs in documents.items()}}

    def read(self, folder, num_words, params):
        documents = json.loads((Path(folder) / self.files["documents"]).read_text())
        tokenized = {split: tokenize_documents((label, f"{split}-{i}", text)
                                               for i, (label, text)
                                               in enumerate(documents[split]))
                     for split in SPLITS}
        vocabulary, counts = build_vocabulary(tokenized["train"], num_words)
        splits = {split: Split(*encode_split(data, vocabulary), data.labels, data.names)
                  for split, data in tokenized.items()}
        return Encoded(splits, vocabulary, counts)

    def original_text(self, folder, split, name, label):
        documents = json.loads((Path(folder) / self.files["documents"]).read_text())
        return documents[split][int(name.rsplit("-", 1)[1])][1]
