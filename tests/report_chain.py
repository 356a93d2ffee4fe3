"""A small data folder of real runs for the report's tests, made once per test session.

Two models (mlp and nbsvm) with two seeds each, a CompareModels grid of two variants and
a LearningCurve of two sizes and two seeds, all on the tiny archive of conftest: nine
finished runs, four groups over seeds, two grids. Tests that change the folder work on a
copy (:func:`copy_of`). Not collected by pytest.
"""
import atexit
import shutil
import tempfile
from pathlib import Path

from conftest import TINY, build, make_archive, pipeline_config

#: nbsvm reads no units; it trains on the same data as the mlp
NBSVM = dict(model="nbsvm", num_words=40, validation_size=10, epochs=3, batch_size=8)
SEEDS = (0, 1)
_made: dict[str, Path] = {}


def chain_folder():
    """``(data folder, archive)`` of the tiny chain (built on first use)."""
    if "data" not in _made:
        from pipeline import CompareModels, LearningCurve, RunAll

        root = Path(tempfile.mkdtemp(prefix="report-chain-"))
        atexit.register(shutil.rmtree, root, True)
        archive = make_archive(root / "aclImdb_tiny.tar.gz")
        with pipeline_config(root / "data", archive):
            tasks = [RunAll(**dict(TINY, seed=seed)) for seed in SEEDS]
            tasks += [RunAll(**dict(NBSVM, seed=seed)) for seed in SEEDS]
            tasks += [CompareModels(variants="baseline,l2", **TINY),
                      LearningCurve(models="mlp", sizes="6,20", seeds=2, **TINY)]
            result = build(tasks)
            assert result.scheduling_succeeded, result.summary_text
        _made.update(data=root / "data", archive=archive)
    return _made["data"], _made["archive"]


def copy_of(destination):
    """A copy of the chain's data folder at ``destination`` (without any report)."""
    data, _ = chain_folder()
    shutil.copytree(data, destination, symlinks=True, ignore=shutil.ignore_patterns("Report"))
    return Path(destination)


class Page:
    """A report page parsed with the standard library: its tables by id (each row's
    attributes and cell texts), its resources, its script and its visible text."""

    def __init__(self, markup):
        from html.parser import HTMLParser

        self.tables, self.resources, self.scripts, self.elements = {}, [], 0, []
        self.text_parts = []
        page = self

        class Parser(HTMLParser):
            def __init__(self):
                super().__init__(convert_charrefs=True)
                self.table, self.row, self.cell, self.hidden_depth, self.stack = \
                    None, None, None, 0, []

            def handle_starttag(self, tag, attrs):
                attrs = dict(attrs)
                page.elements.append((tag, attrs))
                if tag == "script":
                    page.scripts += 1
                for name in ("src", "href", "srcset", "poster", "data"):
                    if attrs.get(name):
                        page.resources.append(attrs[name])
                if tag == "table":
                    self.table = page.tables.setdefault(attrs.get("id") or f"#{len(page.tables)}",
                                                        [])
                elif tag == "tr" and self.table is not None:
                    self.row = (attrs, [])
                    self.table.append(self.row)
                elif tag in ("td", "th") and self.row is not None:
                    self.cell = []
                if tag not in ("br", "img", "meta", "input", "link"):
                    self.stack.append((tag, "hidden" in attrs))

            def handle_endtag(self, tag):
                if tag in ("td", "th") and self.cell is not None and self.row is not None:
                    self.row[1].append(" ".join("".join(self.cell).split()))
                    self.cell = None
                elif tag == "table":
                    self.table, self.row = None, None
                while self.stack:
                    if self.stack.pop()[0] == tag:
                        break

            def handle_data(self, data):
                if self.cell is not None:
                    self.cell.append(data)
                hidden = any(flag for _, flag in self.stack) or \
                    any(tag in ("script", "style", "title") for tag, _ in self.stack)
                if not hidden:
                    page.text_parts.append(data)

        Parser().feed(markup)
        self.text = " ".join(" ".join(self.text_parts).split())

    def rows(self, table_id, visible_only=False):
        """``[(attributes, [cell text, ...]), ...]`` of a table's body rows."""
        rows = self.tables[table_id][1:]
        return [row for row in rows if not (visible_only and "hidden" in row[0])]

    def column(self, table_id, name):
        """The texts of one column of a table, by its heading."""
        heads = self.tables[table_id][0][1]
        index = heads.index(name)
        return [cells[index] for _, cells in self.rows(table_id)]
