"""The documentation: the site builds strictly, the parameter reference is the code's and
``--help``'s, the README stays a front page, and the examples of every page run.

Pages mark their fenced blocks by language: ``sh`` blocks are run with bash and
``python`` blocks with Python, in page order, in one folder per page (a copy of
luigi.cfg pointing at tiny archives, so a page's commands run in seconds); an ``output``
block is checked against what the block before it printed; other languages (``text``,
``ini``, ``toml``, ``csv``, ...) are shown only. An HTML comment on the line before a
fence changes that: ``<!-- not run: why -->``, ``<!-- file: NAME -->`` (write the block
to NAME in the page's folder), ``<!-- exit: N -->`` (the block must exit with N).
CONTRIBUTING.md explains the same to writers.
"""
import configparser
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import NEGATIVE, NEUTRAL, POSITIVE, ROOT, make_archive
from test_datasets_reuters import FILLER, TOPIC_WORDS, corpus_files, write_archive
from test_ml_glove import vectors_text

DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = [*sorted(DOCS.rglob("*.md")), README, ROOT / "CONTRIBUTING.md"]
BIN = Path(sys.executable).parent

RUN = ("sh", "python")
SHOWN = ("output", "text", "ini", "toml", "json", "csv")
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)(?P<lang>[^\s`]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not run|file|exit):\s*(?P<value>.*?)\s*-->\s*$")


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    body: str
    marker: str = ""
    value: str = ""

    @property
    def where(self):
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def runs(self):
        return self.lang in RUN and self.marker not in ("not run", "file")


def blocks(page):
    """The fenced blocks of a page, with the marker on the line before each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found, k = [], 0
    while k < len(lines):
        opening = FENCE.match(lines[k])
        if not opening:
            k += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        end = k + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        body = "\n".join(line[indent:] for line in lines[k + 1:end]) + "\n"
        before = next((line for line in reversed(lines[:k]) if line.strip()), "")
        marker = MARKER.match(before)
        found.append(Block(page, k + 1, opening["lang"], body,
                           marker["kind"] if marker else "", marker["value"] if marker else ""))
        k = end + 1
    return found


# ------------------------------------------------------------------------- the site

def test_the_site_builds_strictly(tmp_path):
    """A broken link or anchor, or a page missing from the nav, fails the build."""
    pytest.importorskip("mkdocs", reason="the docs extra is not installed")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "getting-started" / "index.html").is_file()
    parameters = (tmp_path / "site" / "parameters" / "index.html").read_text(encoding="utf-8")
    assert 'id="num_words"' in parameters


def test_a_page_left_out_of_the_nav_fails_the_build(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs extra is not installed")
    project = tmp_path / "project"
    project.mkdir()
    (project / "docs").symlink_to(DOCS)
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    (project / "mkdocs.yml").write_text(config.replace("  - Benchmarks: benchmarks.md\n", ""),
                                        encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=project, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode != 0
    assert "benchmarks.md" in done.stderr


# --------------------------------------------------------------- parameter reference

def reference_entries():
    """``{parameter: {"Values": ..., "Default": ..., ...}}`` and the help text of each,
    read from docs/parameters.md."""
    text = (DOCS / "parameters.md").read_text(encoding="utf-8")
    entries = {}
    for section in re.split(r"^### ", text, flags=re.M)[1:]:
        title, _, rest = section.partition("\n")
        name = title.strip().strip("`")
        fields = dict(re.findall(r"^- \*\*(\w[\w ]*):\*\* (.*)$", rest, flags=re.M))
        fields["help"] = rest.strip().split("\n\n")[0]
        entries[name] = fields
    return entries


def test_the_parameter_reference_is_what_the_code_declares():
    done = subprocess.run([sys.executable, "-m", "pipeline.docs", "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + \
        "\ndocs/parameters.md is stale: run python -m pipeline.docs and commit it"


def test_the_reference_checker_notices_a_stale_page(tmp_path):
    stale = tmp_path / "parameters.md"
    stale.write_text((DOCS / "parameters.md").read_text(encoding="utf-8")
                     .replace("Which model", "Which classifier"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pipeline.docs", "--check", "--output",
                           str(stale)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "out of date" in done.stderr and "python -m pipeline.docs" in done.stderr


def task_help(family):
    """``{option name: description}`` of ``luigi --module pipeline <family> --help``
    (options of the task itself, without the ``--<family>-`` duplicates)."""
    env = dict(os.environ, COLUMNS="200", PYTHONPATH=str(ROOT))
    done = subprocess.run([str(BIN / "luigi"), "--module", "pipeline", family, "--help"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    options = done.stdout.split("\noptions:\n", 1)[1]
    found = {}
    for chunk in re.split(r"\n(?=  --)", options):
        match = re.match(r"\s*--([\w-]+)(?: [A-Z_0-9]+)?(.*)", chunk, flags=re.S)
        flag = match[1]
        if flag.startswith(f"{family}-") or flag in ("local-scheduler", "module", "help",
                                                     "help-all"):
            continue
        found[flag.replace("-", "_")] = " ".join(match[2].split())
    return found


def test_the_parameter_reference_agrees_with_help():
    """Every task's --help and the reference list the same parameters, with the same
    help, values, default and readers."""
    entries = reference_entries()
    families = set(re.findall(r"\b[A-Z][a-zA-Z]+\b", " ".join(
        entry.get("Tasks", "") for entry in entries.values())))
    assert {"RunAll", "TrainModel", "CompareModels", "LearningCurve"} <= families
    for family in sorted(families):
        shown = task_help(family)
        documented = {name for name, entry in entries.items()
                      if family in entry.get("Tasks", "").split(", ")}
        options = {name for name in shown if name not in entries}
        assert set(shown) - options == documented, family
        for name in documented:
            described, _, rest = shown[name].partition("; default ")
            default, _, readers = rest.partition("; read by ")
            entry = entries[name]
            assert entry["help"].endswith(".") and \
                described.startswith(f"{entry['help'][:-1]}: "), name
            assert entry["Values"].startswith(described[len(entry["help"]) + 1:]), name
            assert entry["Default"].startswith(f"`{default}`"), name
            assert entry["Read by"] == readers, name
        page = (DOCS / "parameters.md").read_text(encoding="utf-8")
        for option in options:
            assert f"`--{family}-{option.replace('_', '-')}`" in page, (family, option)
            assert " ".join(shown[option].split()) in " ".join(page.split()), (family, option)


# ------------------------------------------------------------------------- README

def slug(heading):
    """The anchor of a heading, as GitHub and MkDocs make it for these pages."""
    text = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower())
    return re.sub(r"[ ]+", "-", text)


def anchors(page):
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), flags=re.M)
    return {slug(heading) for heading in headings}


@pytest.mark.parametrize("page", [README, ROOT / "CONTRIBUTING.md"], ids=lambda p: p.name)
def test_links_of_the_front_pages_resolve(page):
    """Links to files of the repository exist, and so do the anchors they name."""
    text = page.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert links
    for link in links:
        if re.match(r"[a-z]+://", link):
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path) if path else page
        assert target.exists(), f"{page.name}: {link}"
        if anchor:
            assert anchor in anchors(target), f"{page.name}: {link}"


def test_the_readme_is_a_front_page():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200
    text = "\n".join(lines)
    for command in ("--dataset reuters", "--model glove", "--seeds 5", "--workers 2"):
        assert command in text, command


def test_ci_installs_as_the_readme_says():
    """.ci/run installs with the README's command, adding extras only."""
    readme = README.read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -c constraints.txt -e ." in readme
    installed = re.search(r"^pip install -c constraints.txt -e '\.\[([\w,]+)\]'$", ci, re.M)
    assert installed, "no install line in .ci/run"
    for extra in ("glove", "dev", "docs"):
        assert extra in installed[1].split(",")


# -------------------------------------------------------------------------- examples

@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_blocks_are_marked(page):
    """Every fence names a known language; markers sit on blocks they apply to and a
    block that is not run says why."""
    previous = None
    for block in blocks(page):
        assert block.lang in RUN + SHOWN, f"{block.where}: fence language {block.lang!r}"
        if block.marker == "not run":
            assert block.lang in RUN and len(block.value) > 10, block.where
        if block.marker == "exit":
            assert block.lang == "sh" and block.value.isdigit(), block.where
        if block.marker == "file":
            assert re.fullmatch(r"[\w.-]+", block.value), block.where
        if block.lang == "output":
            assert previous is not None and previous.lang in RUN, \
                f"{block.where}: an output block follows the block that prints it"
        previous = block


def test_commands_run_where_a_page_says():
    """A block not run because it "runs on" other pages repeats their run commands."""
    checked = 0
    for page in PAGES:
        for block in blocks(page):
            elsewhere = re.findall(r"runs on ([\w/.-]+\.md)", block.value) \
                if block.marker == "not run" else []
            if not elsewhere:
                continue
            run = {line.strip() for other in elsewhere for b in blocks(ROOT / other)
                   if b.runs for line in b.body.splitlines()}
            for line in filter(None, map(str.strip, block.body.splitlines())):
                assert line in run, f"{block.where}: {line!r} does not run on {elsewhere}"
            checked += 1
    assert checked


def tiny_sandbox(folder):
    """A project folder whose luigi.cfg points at tiny archives and small settings."""
    folder.mkdir()
    imdb = make_archive(folder / "aclImdb_tiny.tar.gz", per_class=(50, 20))
    reuters = write_archive(folder / "reuters_tiny.tar.gz", corpus_files())
    words = [*POSITIVE, *NEGATIVE, *NEUTRAL, *FILLER,
             *(word for topic in TOPIC_WORDS.values() for word in topic)]
    vectors = folder / "glove.6B.50d.txt"
    vectors.write_text(vectors_text(list(dict.fromkeys(words)), 50)[0], encoding="utf-8")
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "luigi.cfg", encoding="utf-8")
    small = {"epochs": "3", "batch_size": "8"}
    settings = {
        "pipeline": {"data_dir": "data"},
        "DownloadDataset": {"url": str(imdb), "reuters_url": str(reuters)},
        "DownloadVectors": {"url": str(vectors)},
        "experiment": {"num_words": "40", "validation_size": "20", "epochs": "8",
                       "batch_size": "8", "learning_rate": "0.01", "units": "8",
                       "maxlen": "20", "embedding_dim": "8"},
        "experiment.reuters": {"validation_size": "20", "units": "8"},
        "experiment.embedding": small, "experiment.pooled": small, "experiment.glove": small,
    }
    for section, values in settings.items():
        if not config.has_section(section):
            config.add_section(section)
        for key, value in values.items():
            config.set(section, key, value)
    with open(folder / "luigi.cfg", "w", encoding="utf-8") as file:
        config.write(file)
    (folder / "pipeline").symlink_to(ROOT / "pipeline")
    return folder


TOKEN = re.compile(r"<[^<>\s][^<>]*>|_[0-9a-f]{10}(?![0-9a-z])|\d+(?:[.,]\d+)*")


def line_pattern(line):
    """A shown output line as a pattern: numbers match any number, task-id hashes any
    hash, ``<placeholder>`` any text; blanks are collapsed."""
    parts, position = [], 0
    for match in TOKEN.finditer(line):
        parts.append(re.escape(line[position:match.start()]))
        token = match.group()
        parts.append(".+?" if token.startswith("<") else
                     "_[0-9a-f]{10}" if token.startswith("_") else r"\d+(?:[.,]\d+)*")
        position = match.end()
    parts.append(re.escape(line[position:]))
    return re.compile("".join(parts))


def squeeze(text):
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def check_output(shown, printed, where):
    """Each run of lines between ``...`` lines appears in order, as consecutive lines."""
    actual = squeeze(printed)
    start = 0
    chunks, chunk = [], []
    for line in squeeze(shown):
        if line == "...":
            chunks.append(chunk)
            chunk = []
        else:
            chunk.append(line)
    chunks.append(chunk)
    for lines in filter(None, chunks):
        patterns = [line_pattern(line) for line in lines]
        for k in range(start, len(actual) - len(patterns) + 1):
            if all(p.fullmatch(actual[k + j]) for j, p in enumerate(patterns)):
                start = k + len(patterns)
                break
        else:
            raise AssertionError(f"{where}: these shown lines are not, in this order, what "
                                 f"the block printed:\n" + "\n".join(lines)
                                 + "\n--- printed (end):\n" + "\n".join(actual[-40:]))


def run_block(block, folder):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", COLUMNS="80")
    env.pop("LUIGI_CONFIG_PATH", None)
    if block.lang == "sh":
        command, stdin = ["bash", "-e", "-o", "pipefail", "-c", block.body], None
    else:
        command, stdin = [sys.executable, "-"], block.body
    done = subprocess.run(command, cwd=folder, env=env, input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=900)
    expected = int(block.value) if block.marker == "exit" else 0
    assert done.returncode == expected, \
        f"{block.where}: exit {done.returncode}, expected {expected}\n{done.stdout[-4000:]}"
    return done.stdout


#: pages whose examples another test runs, comparing their output in its own way
RUN_ELSEWHERE = {DOCS / "python-api.md": "tests/test_api.py"}
RUNNABLE = [page for page in PAGES if page not in RUN_ELSEWHERE
            and any(block.runs for block in blocks(page))]


@pytest.mark.slow
@pytest.mark.examples
@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_examples_of_a_page_run(page, tmp_path):
    folder = tiny_sandbox(tmp_path / "project")
    printed = None
    for block in blocks(page):
        if block.marker == "file":
            (folder / block.value).write_text(block.body, encoding="utf-8")
        elif block.lang == "output":
            if printed is not None:
                check_output(block.body, printed, block.where)
        elif block.runs:
            printed = run_block(block, folder)
        elif block.lang in RUN:
            printed = None
