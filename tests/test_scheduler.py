"""The pipeline against a real central scheduler (``luigid``), started and stopped here.

Every test starts its own ``luigid`` on a free port of 127.0.0.1 with its own state
file and log folder (task ids do not include the data folder, so one scheduler per
test keeps runs in different data folders apart), runs the pipeline through the
``luigi`` command (or ``python -m pipeline``) in subprocesses on a tiny archive, and
reads the scheduler's JSON API. Every process a test starts is stopped at its end.
"""
import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest
from conftest import make_archive

# central schedulers and several client processes: minutes
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
LUIGI = BIN / "luigi"
LUIGID = BIN / "luigid"

FAMILIES = ("DownloadDataset", "Encode", "SplitValidation", "Featurize", "TrainModel",
            "EvaluateTest", "PlotHistory", "PlotConfusion", "RunAll")
UPSTREAM = ("DownloadDataset", "Encode", "SplitValidation", "Featurize")

# Configuration A (and B = A with --units 12) on the tiny archive: 40 training reviews.
SMALL = dict(num_words=40, validation_size=10, epochs=3, batch_size=8, units=8)
# A TrainModel that runs long enough (several seconds) to be watched, killed or outlived.
LONG = dict(SMALL, epochs=120, batch_size=2, final_epochs=1)

# [scheduler] of the luigid under test: a dead worker is noticed after 3 s, not 60 s.
FAST_DISCONNECT = {"worker_disconnect_delay": 3, "retry_delay": 1}

RUNNING_LINE = re.compile(r"running   ([A-Za-z]+)\(")


def cli_args(**params):
    args = []
    for name, value in params.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    return args


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout, interval=0.1, what="condition"):
    """Poll ``predicate`` until it returns something truthy; return that, or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def stop_process(proc, sig=signal.SIGTERM, timeout=15):
    """Signal ``proc``'s process group (it was started in its own session), then reap."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
    # children left behind (e.g. a pool) in the group
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


# ----------------------------------------------------------------------------- luigid

class Luigid:
    """One ``luigid`` on 127.0.0.1: start, stop, restart, and its JSON API."""

    def __init__(self, folder, scheduler=None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.state_path = self.folder / "state.pickle"
        self.logdir = self.folder / "log"
        self.logdir.mkdir(exist_ok=True)
        # luigid reads luigi.cfg from its working folder, as when started in the project
        # folder ([resources] training = 2 is enforced by the scheduler), then the
        # test's [scheduler] settings through LUIGI_CONFIG_PATH.
        shutil.copy(ROOT / "luigi.cfg", self.folder / "luigi.cfg")
        extra = "".join(f"{key} = {value}\n" for key, value in (scheduler or {}).items())
        (self.folder / "test.cfg").write_text(f"[scheduler]\n{extra}")
        self.proc = None
        self.starts = 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30):
        self.starts += 1
        env = dict(os.environ, LUIGI_CONFIG_PATH=str(self.folder / "test.cfg"))
        with open(self.folder / f"stdout-{self.starts}.txt", "wb") as out:
            self.proc = subprocess.Popen(
                [str(LUIGID), "--address", "127.0.0.1", "--port", str(self.port),
                 "--state-path", str(self.state_path), "--logdir", str(self.logdir)],
                cwd=self.folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        wait_for(self._healthy, timeout, what=f"luigid on port {self.port}")
        return self

    def _healthy(self):
        if self.proc.poll() is not None:
            pytest.fail(f"luigid exited with {self.proc.returncode}: "
                        + self.log()[-2000:])
        try:
            request = urllib.request.Request(self.url + "/", method="HEAD")
            with urllib.request.urlopen(request, timeout=2) as reply:
                return reply.status == 204
        except (TimeoutError, urllib.error.URLError, ConnectionError):
            return False

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None:
            stop_process(self.proc, sig)
            self.proc = None

    def log(self):
        path = self.logdir / "luigi-server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def api(self, method, **data):
        query = urllib.parse.urlencode({"data": json.dumps(data)})
        with urllib.request.urlopen(f"{self.url}/api/{method}?{query}", timeout=10) as reply:
            return json.loads(reply.read())["response"]

    def tasks(self, status=""):
        """task id -> task info, as the web page's task list gets them."""
        return self.api("task_list", status=status, upstream_status="", search="")

    def running(self, family):
        return [task_id for task_id, info in self.tasks("RUNNING").items()
                if info["name"] == family]


@pytest.fixture
def luigid_factory(tmp_path):
    started = []

    def start(scheduler=None, name="luigid"):
        server = Luigid(tmp_path / name, scheduler)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


# ---------------------------------------------------------------------------- clients

class Clients:
    """``luigi`` / ``python -m pipeline`` processes of one test, each logged to a file."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.cwd = self.folder / "cwd"
        self.cwd.mkdir(parents=True)
        shutil.copy(ROOT / "luigi.cfg", self.cwd / "luigi.cfg")
        self.locks = self.folder / "locks"
        self.procs = []

    def command(self, task, *, data, archive, port=None, module="pipeline", wrapper=False,
                extra=(), **params):
        if wrapper:
            head = [sys.executable, "-m", "pipeline", task]
        else:
            head = [str(LUIGI), "--module", module, task]
        where = (["--local-scheduler"] if port is None else
                 ["--scheduler-host", "127.0.0.1", "--scheduler-port", str(port)])
        return [*head, *where, "--pipeline-data-dir", str(data),
                "--DownloadDataset-url", str(archive), "--lock-pid-dir", str(self.locks),
                "--log-level", "DEBUG", *cli_args(**params), *extra]

    def _env(self):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                   PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
        env.pop("LUIGI_CONFIG_PATH", None)
        return env

    def start(self, command, name):
        log = self.folder / f"{name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(command, cwd=self.cwd, env=self._env(), stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        proc.log = log
        self.procs.append(proc)
        return proc

    def finish(self, proc, timeout):
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process(proc, signal.SIGKILL)
            pytest.fail(f"{proc.args[:4]} did not finish within {timeout} s:\n"
                        + output(proc)[-3000:])
        return proc.returncode

    def run(self, command, name, timeout):
        proc = self.start(command, name)
        self.finish(proc, timeout)
        return proc

    def stop_all(self):
        for proc in self.procs:
            stop_process(proc, signal.SIGKILL)


def output(proc):
    return proc.log.read_text(errors="replace")


def ran(proc):
    """Families of the tasks a client process started running."""
    return RUNNING_LINE.findall(output(proc))


@pytest.fixture
def clients(tmp_path):
    group = Clients(tmp_path / "clients")
    yield group
    group.stop_all()


# -------------------------------------------------------------------------- artifacts

def task_folders(data, family):
    """The complete (visible) output folders of a task family."""
    root = Path(data) / family
    if (root / "manifest.json").exists():  # DownloadDataset without a per-source folder
        return [root]
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def mtimes(data, families):
    return {str(path.relative_to(data)): path.stat().st_mtime_ns
            for family in families for folder in task_folders(data, family)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def copy_upstream(source, target, families=UPSTREAM):
    """Completed upstream task folders of ``source`` into a fresh data folder."""
    for family in families:
        for folder in task_folders(source, family):
            shutil.copytree(folder, Path(target) / folder.relative_to(source))


def _without_ids(obj):
    if isinstance(obj, dict):
        return {k: _without_ids(v) for k, v in obj.items()
                if k not in ("name", "shared_object_id")}
    if isinstance(obj, list):
        return [_without_ids(v) for v in obj]
    return obj


def _volatile(key):
    return "seconds" in key


def comparable(path, data):
    """What must be equal between two runs of the same configuration in two folders."""
    path = Path(path)
    if path.suffix == ".json":
        text = path.read_text(encoding="utf-8").replace(str(data), "<data>")
        obj = json.loads(text)
        return {k: v for k, v in obj.items() if not _volatile(k)} \
            if isinstance(obj, dict) else obj
    if path.suffix == ".npz":
        import numpy as np

        with np.load(path, allow_pickle=False) as arrays:
            return {key: arrays[key].tobytes() + str(arrays[key].dtype).encode()
                    for key in arrays.files}
    if path.suffix == ".keras":
        # A zip: the weight values (the HDF5 bytes differ from save to save), and the
        # architecture without the names Keras numbers per process (rm_sprop_1) and the
        # Python object ids it records; not the save date.
        import h5py

        with zipfile.ZipFile(path) as archive:
            config = _without_ids(json.loads(archive.read("config.json")))
            weights = {}
            with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as store:
                store.visititems(lambda name, item: weights.update(
                    {name: item[()].tobytes()}) if isinstance(item, h5py.Dataset) else None)
        return {"config": config, "weights": weights}
    if path.suffix == ".png":  # the image is drawn from the (compared) numbers
        return path.stat().st_size > 0
    return path.read_bytes()


def artifacts(data, families=FAMILIES):
    """``relative path -> comparable content`` of every complete task folder."""
    return {str(path.relative_to(data)): comparable(path, data)
            for family in families for folder in task_folders(data, family)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def hidden(data):
    return sorted(str(p.relative_to(data)) for p in Path(data).rglob(".*"))


# ------------------------------------------------------------------ shared reference run

@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return make_archive(tmp_path_factory.mktemp("archive") / "aclImdb_tiny.tar.gz",
                        per_class=(20, 10))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, archive):
    """One single-worker run with the local scheduler: RunAll of configuration A and
    TrainModel of A and B, the results every scheduler run must reproduce."""
    folder = tmp_path_factory.mktemp("reference")
    group = Clients(folder)
    data = folder / "data"
    try:
        proc = group.run(group.command("TwoModels", module="scheduler_tasks", data=data,
                                       archive=archive, other_units=12,
                                       extra=["--with-run-all", "--workers", "1"], **SMALL),
                         "reference", timeout=240)
    finally:
        group.stop_all()
    assert proc.returncode == 0, output(proc)[-3000:]
    assert sorted(ran(proc)) == sorted(FAMILIES + ("TrainModel", "TwoModels")), ran(proc)
    return data


def epoch_at_least(luigid, task_id, epoch):
    """The status message luigid shows for a training task, once at ``epoch`` or later."""
    message = luigid.api("get_task_status_message", task_id=task_id)["statusMessage"]
    match = re.match(rf"epoch (\d+)/{LONG['epochs']} · loss \S+ · val_loss \S+ · "
                     rf"val_accuracy \S+$",
                     message or "")
    return match if match and int(match.group(1)) >= epoch else None


def start_run_until_training(tmp_path, archive, reference, luigid, clients):
    """A long RunAll on complete upstream folders, started and seen training in luigid.

    Returns the data folder, the upstream folders' mtimes, the command, the running
    process and TrainModel's task id.
    """
    data = tmp_path / "data"
    copy_upstream(reference, data)
    before = mtimes(data, UPSTREAM)
    command = clients.command("RunAll", data=data, archive=archive, port=luigid.port, **LONG)
    first = clients.start(command, "first")
    task_id = wait_for(lambda: luigid.running("TrainModel"), 90,
                       what="TrainModel RUNNING in luigid")[0]
    return data, before, command, first, task_id


# ------------------------------------------------------------------------------ tests

def test_progress_is_reported_and_a_killed_worker_is_recovered(
        tmp_path, archive, reference, luigid_factory, clients):
    luigid = luigid_factory(FAST_DISCONNECT)
    # While TrainModel runs, luigid shows its epoch and a percentage (as the web page does).
    data, before, command, first, task_id = start_run_until_training(
        tmp_path, archive, reference, luigid, clients)

    def epoch_reported():
        return epoch_at_least(luigid, task_id, 2)

    match = wait_for(epoch_reported, 60, what="an epoch status message")
    progress = luigid.api("get_task_progress_percentage",
                          task_id=task_id)["progressPercentage"]
    # (read just after the message: it may still be the previous epoch's percentage)
    assert round(100 * (int(match.group(1)) - 1) / LONG["epochs"]) <= progress <= 100 \
        and progress > 0
    assert first.poll() is None, output(first)[-2000:]

    # SIGKILL the worker in the middle of training: no cleanup code runs at all.
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = time.monotonic()
    assert task_folders(data, "TrainModel") == []  # nothing partial is visible
    assert all(p.startswith("TrainModel/.") for p in hidden(data)), hidden(data)
    assert task_id in luigid.running("TrainModel")  # luigid has not noticed yet

    # After worker_disconnect_delay luigid gives the task up (task_list prunes dead workers).
    wait_for(lambda: task_id not in luigid.running("TrainModel"), 20, interval=0.5,
             what="luigid to drop the dead worker's task")
    assert time.monotonic() - killed_at >= 1.0
    assert luigid.tasks()[task_id]["status"] in ("FAILED", "PENDING")

    second = clients.run(command, "second", timeout=150)
    assert second.returncode == 0, output(second)[-3000:]
    assert sorted(ran(second)) == ["EvaluateTest", "PlotConfusion", "PlotHistory", "RunAll",
                                   "TrainModel"]
    assert mtimes(data, UPSTREAM) == before  # upstream reused, not rewritten
    assert len(task_folders(data, "RunAll")) == 1
    assert luigid.tasks()[task_id]["status"] == "DONE"


def test_luigid_shows_only_the_parameters_a_task_reads(tmp_path, luigid_factory):
    """What luigid shows of a task (its web page, its API) is what the task reads: an
    embedding TrainModel has maxlen and embedding_dim but no units, layers or wire_text;
    Encode has its dataset and num_words only."""
    from conftest import configured
    from luigi.rpc import RemoteScheduler
    from luigi.worker import Worker

    from pipeline import RunAll, TrainModel

    luigid = luigid_factory()
    with configured("pipeline", data_dir=tmp_path / "data"):
        train = TrainModel(num_words=40, validation_size=10, model="embedding", maxlen=12)
        run = RunAll(dataset="reuters", num_words=40)
        with Worker(scheduler=RemoteScheduler(luigid.url), worker_id="probe") as worker:
            assert worker.add(train) and worker.add(run)
    shown = luigid.tasks()
    assert shown[train.task_id]["params"] == train.to_str_params()
    params = shown[train.task_id]["params"]
    assert params["maxlen"] == "12" and params["embedding_dim"] == "100"
    for name in ("units", "layers", "activation", "wire_text", "final_epochs"):
        assert name not in params, name
        assert f"{name}=" not in shown[train.task_id]["display_name"], name
    by_family = {}
    for info in shown.values():
        by_family.setdefault(info["name"], []).append(info["params"])
    assert {"dataset": "aclimdb", "num_words": "40"} in by_family["Encode"]
    assert all(set(p) == {"dataset", "num_words"} | ({"min_topic_documents", "split_method",
                                                       "wire_text"} if p["dataset"] == "reuters"
                                                      else set())
               for p in by_family["Encode"])
    assert all("units" not in p and "maxlen" in p or "units" in p and "maxlen" not in p
               for family in ("TrainModel", "EvaluateTest") for p in by_family[family])
    reuters = shown[run.task_id]["params"]
    assert reuters == run.to_str_params() and reuters["wire_text"] == "body"
    assert reuters["units"] == "64" and "maxlen" not in reuters
    # Reuters's reference model, scheduled with its own parameters
    assert any(p.get("units") == "64,4" for p in by_family["EvaluateTest"])


def test_scheduler_not_reachable_fails_fast_in_one_line(tmp_path, archive, clients):
    port = free_port()  # nothing listens there
    data = tmp_path / "data"
    started = time.monotonic()
    proc = clients.run(clients.command("RunAll", data=data, archive=archive, port=port,
                                       **SMALL), "unreachable", timeout=60)
    elapsed = time.monotonic() - started
    text = output(proc)
    assert proc.returncode == 40, text[-3000:]  # [retcode] unhandled_exception
    assert elapsed < 15, f"took {elapsed:.1f} s"
    lines = [line for line in text.splitlines() if f"127.0.0.1:{port}" in line]
    assert lines == [f"ERROR: Cannot reach the central scheduler (luigid) at 127.0.0.1:{port}: "
                     "connection refused. Start luigid, check --scheduler-host/"
                     "--scheduler-port, or run with --local-scheduler."], text[-3000:]
    assert "Traceback" not in text
    assert "Failed pinging scheduler" not in text
    assert not data.exists()


def test_two_fits_in_parallel_match_a_sequential_run(
        tmp_path, archive, reference, luigid_factory, clients):
    luigid = luigid_factory()
    resources = {r["name"]: r["num_total"] for r in luigid.api("resource_list")}
    assert resources == {"training": 2}  # luigid enforces luigi.cfg's [resources]
    data = tmp_path / "data"
    proc = clients.run(clients.command("TwoModels", module="scheduler_tasks", data=data,
                                       archive=archive, port=luigid.port, other_units=12,
                                       extra=["--workers", "2"], **SMALL),
                       "parallel", timeout=180)
    text = output(proc)
    assert proc.returncode == 0, text[-3000:]
    assert sorted(ran(proc)) == ["DownloadDataset", "Encode", "Featurize", "SplitValidation",
                                 "TrainModel", "TrainModel", "TwoModels"]
    # Both fits were running at once: two starts before the first one finished.
    events = re.findall(r"(running|done) +TrainModel\(", text)
    assert events[:2] == ["running", "running"], events

    fits = task_folders(data, "TrainModel")
    assert len(fits) == 2
    for folder in fits:
        same = reference / "TrainModel" / folder.name
        assert (folder / "history.csv").read_text() == (same / "history.csv").read_text()
    statuses = {info["name"]: info["status"] for info in luigid.tasks().values()
                if info["name"] == "TrainModel"}
    assert statuses == {"TrainModel": "DONE"}


def test_three_processes_share_one_pipeline(tmp_path, archive, reference, luigid_factory,
                                            clients):
    luigid = luigid_factory()
    data = tmp_path / "data"
    # --no-lock: all three schedule at once (with the pid lock, the same command on one
    # machine would wait for the first one instead; python -m pipeline handles both).
    command = clients.command("RunAll", data=data, archive=archive, port=luigid.port,
                              wrapper=True, extra=["--no-lock"], **SMALL)
    procs = [clients.start(command, f"worker{i}") for i in range(3)]
    for proc in procs:
        clients.finish(proc, timeout=240)
    for proc in procs:
        assert proc.returncode == 0, output(proc)[-3000:]
    # Every task ran exactly once, in one of the three processes.
    runs = sorted(family for proc in procs for family in ran(proc))
    assert runs == sorted(FAMILIES), runs
    assert {info["status"] for info in luigid.tasks().values()} == {"DONE"}
    assert len(luigid.tasks()) == len(FAMILIES)
    # The artifacts are those of the single-worker run, and nothing is left half-written.
    assert hidden(data) == []
    folders = {str(folder.relative_to(data)) for family in FAMILIES
               for folder in task_folders(data, family)}
    assert len(folders) == len(FAMILIES)
    expected = {path: content for path, content in artifacts(reference).items()
                if any(path.startswith(folder + "/") for folder in folders)}
    got = artifacts(data)
    assert sorted(got) == sorted(expected)
    assert [path for path in got if got[path] != expected[path]] == []


def test_restarted_scheduler_retrains_nothing(tmp_path, archive, reference, luigid_factory,
                                              clients):
    luigid = luigid_factory({"worker_disconnect_delay": 30})
    data, before, command, first, task_id = start_run_until_training(
        tmp_path, archive, reference, luigid, clients)
    # (at least epoch 2: polling can miss an epoch when the machine is fast)
    wait_for(lambda: epoch_at_least(luigid, task_id, 2), 60, what="epoch 2")

    luigid.stop(signal.SIGTERM)  # saves its state on the way out
    assert luigid.state_path.exists()
    time.sleep(3)  # longer than the workers' RPC retries (3 attempts, 1 s apart)
    luigid.start()
    restored = luigid.tasks()
    # (a complete task's own requirements are never sent, so DownloadDataset and Encode
    # are absent)
    assert {restored[t]["name"] for t in restored if restored[t]["status"] == "DONE"} \
        == {"SplitValidation", "Featurize"}
    assert restored[task_id]["status"] == "RUNNING"

    clients.finish(first, timeout=150)
    second = clients.run(command, "second", timeout=150)
    assert second.returncode == 0, output(second)[-3000:]
    runs = ran(first) + ran(second)
    # Finished work is never redone: each task ran once over both runs (the upstream
    # folders were complete before, so they did not run at all).
    assert sorted(runs) == ["EvaluateTest", "PlotConfusion", "PlotHistory", "RunAll",
                            "TrainModel"], runs
    assert mtimes(data, UPSTREAM) == before
    assert first.returncode == 0, output(first)[-3000:]
    assert len(task_folders(data, "RunAll")) == 1


def test_failing_task_reports_its_error_through_luigid(
        tmp_path, archive, luigid_factory, clients):
    luigid = luigid_factory()
    data = tmp_path / "data"
    # 40 training reviews: holding 40 out for validation leaves nothing to train on.
    # The archive is not fetched yet, so this is only found when SplitValidation runs.
    command = clients.command("RunAll", data=data, archive=archive, port=luigid.port,
                              **dict(SMALL, validation_size=40))
    proc = clients.run(command, "failing", timeout=120)
    text = output(proc)
    assert proc.returncode == 30, text[-3000:]  # [retcode] task_failed
    # (Featurize does not need the split: it runs all the same)
    assert sorted(ran(proc)) == ["DownloadDataset", "Encode", "Featurize", "SplitValidation"]
    message = ("validation_size must be smaller than the number of training documents (40), "
               "got 40")
    failed = luigid.tasks("FAILED")
    assert [info["name"] for info in failed.values()] == ["SplitValidation"]
    (task_id,) = failed
    error = luigid.api("fetch_error", task_id=task_id)["error"]
    assert message in error
    assert "Traceback" not in error
    # The upstream tasks that succeeded keep their complete outputs; nothing is half-written.
    assert [len(task_folders(data, family)) for family in UPSTREAM] == [1, 1, 0, 1]
    assert hidden(data) == []
    before = mtimes(data, UPSTREAM)

    again = clients.run(command, "again", timeout=120)
    # Now that the archive's size is known the parameters are refused before any work.
    assert again.returncode in (30, 40), output(again)[-3000:]
    assert message in output(again)
    assert "Traceback" not in output(again)
    assert mtimes(data, UPSTREAM) == before
    assert hidden(data) == []
