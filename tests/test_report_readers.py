"""Tolerant readers of task outputs (pipeline/report/readers.py): a damaged file is None
and one note naming it, never an exception; the digest follows what was read."""
import json
import math

import pytest

from pipeline.report import readers
from pipeline.report.readers import Reader


def test_json_object_reads_an_object_and_notes_nothing(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"accuracy": 0.5, "loss": math.nan}))
    reader = Reader(tmp_path)
    value = reader.json_object(tmp_path / "metrics.json")
    assert value["accuracy"] == 0.5 and math.isnan(value["loss"])
    assert reader.notes == []


@pytest.mark.parametrize("content, words", [
    (b"{not json", ["metrics.json", "not valid JSON"]),
    (b"[1, 2]", ["metrics.json", "JSON list, not an object"]),
    (b"\xff\xfe\x00", ["metrics.json", "not UTF-8"]),
    (b"[" * 100_000 + b"]" * 100_000, ["metrics.json", "nested too deeply"]),
    (b"", ["metrics.json", "not valid JSON"]),
])
def test_damaged_json_is_none_and_one_note(tmp_path, content, words):
    (tmp_path / "metrics.json").write_bytes(content)
    reader = Reader(tmp_path)
    assert reader.json_object(tmp_path / "metrics.json") is None
    assert len(reader.notes) == 1 and "\n" not in reader.notes[0]
    for word in words:
        assert word in reader.notes[0]


def test_missing_and_folder_and_oversized_files(tmp_path, monkeypatch):
    reader = Reader(tmp_path)
    assert reader.json_object(tmp_path / "gone.json") is None
    assert reader.json_object(tmp_path / "gone.json", required=False) is None
    (tmp_path / "folder.json").mkdir()
    assert reader.json_object(tmp_path / "folder.json") is None
    monkeypatch.setattr(readers, "MAX_BYTES", 10)
    (tmp_path / "big.json").write_text(json.dumps({"a": "x" * 20}))
    size = (tmp_path / "big.json").stat().st_size
    assert reader.json_object(tmp_path / "big.json") is None
    assert reader.notes == ["gone.json: missing", "folder.json: not a file",
                            f"big.json: {size} bytes, more than the 10 a report reads; "
                            f"not read"]


def test_history_reads_numbers_blank_cells_as_nan_and_refuses_text(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n1,0.7,0.69\n2,,0.6\n")
    reader = Reader(tmp_path)
    history = reader.history(path)
    assert history["epoch"] == [1.0, 2.0] and history["val_loss"] == [0.69, 0.6]
    assert math.isnan(history["loss"][1])
    path.write_text("epoch,loss\n1,0.7\n2,<b>bad</b>\n")
    assert reader.history(path) is None
    path.write_text("loss\n0.7\n")
    assert reader.history(path) is None
    assert reader.notes == ["history.csv: line 3: loss is not a number; not read",
                            "history.csv: has no epochs (an 'epoch' column and one row per "
                            "epoch); not read"]


def test_csv_rows_keep_text_and_survive_ragged_lines(tmp_path):
    path = tmp_path / "comparison.csv"
    path.write_text('variant,parameters\nbase,"l2=0.001, dropout=0.5"\nshort\n')
    rows = Reader(tmp_path).csv_rows(path)
    assert rows == [{"variant": "base", "parameters": "l2=0.001, dropout=0.5"},
                    {"variant": "short", "parameters": ""}]


def test_digest_follows_what_was_read(tmp_path):
    (tmp_path / "a.json").write_text('{"x": 1}')

    def digest(*names):
        reader = Reader(tmp_path)
        for name in names:
            reader.json_object(tmp_path / name, required=False)
        return reader.digest()

    first = digest("a.json", "b.json")
    assert digest("a.json", "b.json") == first  # unchanged folder, same digest
    (tmp_path / "b.json").write_text("{}")
    second = digest("a.json", "b.json")
    assert second != first  # a new file
    (tmp_path / "a.json").write_text('{"x": 2}')
    assert digest("a.json", "b.json") not in (first, second)  # an edited one


def test_number_or_none_refuses_booleans_and_text():
    assert readers.number_or_none(True) is None
    assert readers.number_or_none("0.25") == 0.25
    assert readers.number_or_none("abc") is None
    assert readers.number_or_none([1]) is None
    assert readers.finite_or_none(math.inf) is None
