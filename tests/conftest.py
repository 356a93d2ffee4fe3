"""Shared fixtures: tiny aclImdb-layout archives, a data folder per test, the real archive."""
import io
import os
import random
import tarfile
from pathlib import Path

import luigi
import pytest
from luigi.configuration import get_config

ROOT = Path(__file__).resolve().parents[1]
#: Folder of the real corpora (aclImdb_v1_labelled.tar.gz, reuters21578_sgm.tar.gz) for
#: the slow tests and bench/; else ../shared/data beside the project is looked in.
CORPORA_ENV = "TEXT_CLASSIFIER_CORPORA"
SHARED_CORPORA = ROOT.parent / "shared" / "data"


def corpus(name):
    """The real archive ``name``: in $TEXT_CLASSIFIER_CORPORA, else in ../shared/data
    (the first that exists; the last place looked in when neither has it)."""
    places = [Path(os.environ[CORPORA_ENV]).expanduser()] if os.environ.get(CORPORA_ENV) \
        else []
    places.append(SHARED_CORPORA)
    for place in places:
        if (place / name).is_file():
            return place / name
    return places[-1] / name


def no_corpus(name):
    """The skip message of a test that needs the real archive ``name``."""
    where = os.environ.get(CORPORA_ENV)
    return (f"real archive {name} not found: set ${CORPORA_ENV} to the folder that holds "
            f"it ({'now ' + where if where else 'not set'}) or put it in {SHARED_CORPORA}")


def needs_corpus(name):
    """Marks of a test on the real archive ``name``: slow, skipped when it is missing."""
    return [pytest.mark.slow, pytest.mark.skipif(not corpus(name).is_file(),
                                                 reason=no_corpus(name))]


REAL_ARCHIVE = corpus("aclImdb_v1_labelled.tar.gz")
REAL_REUTERS = corpus("reuters21578_sgm.tar.gz")

POSITIVE = ["great", "brilliant", "wonderful", "loved", "superb", "moving", "best", "fun"]
NEGATIVE = ["awful", "boring", "worst", "waste", "terrible", "dull", "poor", "mess"]
NEUTRAL = ["the", "movie", "film", "a", "and", "plot", "actors", "it", "was", "this",
           "of", "story", "scene", "i", "director", "music"]


def review_text(rng, positive):
    """A short review: neutral filler plus words of its class, with <br /> and punctuation."""
    words = rng.choices(NEUTRAL, k=12) + rng.choices(POSITIVE if positive else NEGATIVE, k=4)
    rng.shuffle(words)
    half = len(words) // 2
    return (" ".join(words[:half]).capitalize() + ", isn't it?<br /><br />"
            + " ".join(words[half:]) + "!")


def make_archive(path, per_class=(20, 10), seed=0, extra_members=(), skip_folders=()):
    """Write a .tar.gz in the aclImdb layout: ``per_class`` = (train, test) reviews per class.

    ``extra_members`` is a list of ``(name, bytes)`` added as is; folders in
    ``skip_folders`` (e.g. ``"test/neg"``) get no reviews.
    """
    rng = random.Random(seed)
    with tarfile.open(path, "w:gz") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("aclImdb/README", b"tiny test archive\n")
        for split, count in zip(("train", "test"), per_class):
            for label in ("pos", "neg"):  # positives first, as in the real archive
                if f"{split}/{label}" in skip_folders:
                    continue
                for i in range(count):
                    rating = rng.choice([7, 8, 9, 10] if label == "pos" else [1, 2, 3, 4])
                    text = review_text(rng, label == "pos")
                    add(f"aclImdb/{split}/{label}/{i}_{rating}.txt", text.encode("utf-8"))
        for name, data in extra_members:
            add(name, data)
    return Path(path)


@pytest.fixture
def tiny_archive(tmp_path):
    return make_archive(tmp_path / "aclImdb_tiny.tar.gz")


@pytest.fixture
def data_dir(tmp_path, tiny_archive):
    """Point the pipeline at a fresh data folder and the tiny archive, restore afterwards."""
    with pipeline_config(tmp_path / "data", tiny_archive) as folder:
        yield folder


# Small, fast settings for task tests on the tiny archive.
TINY = dict(num_words=40, validation_size=10, epochs=3, batch_size=8, units=8)


def build(tasks, **kwargs):
    """Run tasks with the local scheduler; returns luigi's LuigiRunResult."""
    return luigi.build(tasks, local_scheduler=True, detailed_summary=True,
                       log_level="WARNING", **kwargs)


@pytest.fixture(autouse=True)
def _quiet_tensorflow(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_configure(config):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# --------------------------------------------------------------- shared helpers (tasks, CLI)

import contextlib  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

LUIGI = Path(sys.executable).with_name("luigi")
TASK_FAMILIES = ("DownloadDataset", "Encode", "SplitValidation", "Featurize", "TrainModel",
                 "EvaluateTest", "PlotHistory", "PlotConfusion", "RunAll")


@contextlib.contextmanager
def configured(section, **values):
    """luigi.cfg's ``[section]`` with these values (None: the key removed), put back after."""
    config = get_config()
    saved = {key: config.get(section, key, None) for key in values}
    def put(key, value):
        if value is not None:
            config.set(section, key, str(value))
        elif config.has_section(section):
            config.remove_option(section, key)

    try:
        for key, value in values.items():
            put(key, value)
        yield config
    finally:
        for key, value in saved.items():
            put(key, value)


@contextlib.contextmanager
def pipeline_config(folder, url):
    """Like the ``data_dir`` fixture, for any scope: data folder and archive url set."""
    with configured("pipeline", data_dir=folder), configured("DownloadDataset", url=url):
        yield Path(folder)


def ran_families(result):
    """Families of the tasks a ``build`` actually ran (not the already complete ones)."""
    from luigi.execution_summary import _summary_dict

    return sorted(task.get_task_family() for task in _summary_dict(result.worker)["completed"])


def output_folders(data, family):
    """The complete (visible, non-staging) output folders of a task family."""
    root = Path(data) / family
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if root.is_dir() else []


def only_folder(data, family):
    folders = output_folders(data, family)
    assert len(folders) == 1, f"expected one {family} folder, found {folders}"
    return folders[0]


def mtimes(folder):
    """``relative path -> st_mtime_ns`` of every file under ``folder``."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns
            for p in sorted(folder.rglob("*")) if p.is_file()}


def hidden_leftovers(data):
    """Hidden staging/temporary entries anywhere under the data folder."""
    return sorted(str(p) for p in Path(data).rglob(".*"))


def working_folder(root):
    """``root/cwd``: a folder to run ``luigi`` in, with a copy of the project's luigi.cfg."""
    folder = Path(root) / "cwd"
    folder.mkdir()
    shutil.copy(ROOT / "luigi.cfg", folder / "luigi.cfg")
    return folder


@pytest.fixture
def cli_dir(tmp_path):
    """A working folder for the ``luigi`` command with a copy of the project's luigi.cfg."""
    return working_folder(tmp_path)


def run_luigi(args, cwd, timeout=600, **kwargs):
    """Run ``luigi --module pipeline <args> --local-scheduler``; returns CompletedProcess
    with stdout and stderr merged in ``.stdout``."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("LUIGI_CONFIG_PATH", None)
    return subprocess.run([str(LUIGI), "--module", "pipeline", *map(str, args),
                           "--local-scheduler"],
                          cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, **kwargs)


def tiny_cli_args(**overrides):
    """TINY as command-line options (``--num-words 40 ...``)."""
    params = dict(TINY, **overrides)
    args = []
    for name, value in params.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    return args


# ------------------------------------------------------------------ one finished run

@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """One full RunAll with TINY parameters per test module; tests that change its data
    folder work on ``copy_of_base``."""
    from pipeline import RunAll

    root = tmp_path_factory.mktemp("base")
    archive = make_archive(root / "aclImdb_tiny.tar.gz")
    with pipeline_config(root / "data", archive) as data:
        result = build([RunAll(**TINY)])
    assert result.status.name == "SUCCESS", result.summary_text
    return {"data": data, "archive": archive, "result": result}


@pytest.fixture
def copy_of_base(base, tmp_path):
    """A private copy of the finished base run (mtimes kept), configured as the data dir."""
    data = tmp_path / "data"
    shutil.copytree(base["data"], data, copy_function=shutil.copy2)
    with pipeline_config(data, base["archive"]):
        yield data


def folder_mtimes(data, families):
    """``{family: mtimes of its only folder}``."""
    return {family: mtimes(only_folder(data, family)) for family in families}


def kill_group_when(process, ready, timeout, log, waiting_for):
    """Wait (at most ``timeout`` s) until ``ready()``, then SIGKILL the process group of
    ``process`` (started with ``start_new_session``), which must still be running; the
    group is killed whatever happens. ``log``: the file its output goes to, shown when
    it is not ``ready`` (``waiting_for`` says what was awaited) or finished too soon."""
    import signal
    import time

    try:
        deadline = time.monotonic() + timeout
        while not ready() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready(), f"no {waiting_for}:\n{log.read_text()}"
        assert process.poll() is None, f"finished before it could be killed:\n{log.read_text()}"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
