"""Hostile and absurd input, across modules: bombs in tar and npz archives, special files,
odd encodings, absurd values, kills. Each attack is built in a temp folder; the checks
are the one-line message, the exit code, bounded memory (the child's peak RSS, from
``resource.getrusage``) and that nothing complete-looking is left behind."""
import io
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import LUIGI, ROOT, hidden_leftovers, make_archive, output_folders, tiny_cli_args

from pipeline import Encode, EvaluateTest, RunAll, TrainModel
from pipeline.errors import PipelineError

TASK_FAILED, UNHANDLED = 30, 40  # luigi.cfg [retcode]
MB = 1 << 20


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, produced as read (an archive member that is never in memory)."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _add(tar, name, size=None, data=None):
    info = tarfile.TarInfo(name)
    info.size = len(data) if data is not None else size
    tar.addfile(info, io.BytesIO(data) if data is not None else _Zeros(size))


def measured(command, cwd, timeout=300):
    """Run ``command``; returns ``(CompletedProcess with stdout+stderr, peak RSS in MB of
    the process tree's largest process)``, measured by a wrapper of its own."""
    wrapper = ("import resource, subprocess, sys\n"
               "code = subprocess.run(sys.argv[1:]).returncode\n"
               "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
               "sys.exit(code)\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("LUIGI_CONFIG_PATH", None)
    completed = subprocess.run([sys.executable, "-c", wrapper, *map(str, command)], cwd=cwd,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=timeout)
    peak = int(completed.stdout.rsplit("PEAK_RSS_KB", 1)[1].split()[0]) / 1024
    return completed, peak


def luigi_args(*args):
    return [str(LUIGI), "--module", "pipeline", *map(str, args), "--local-scheduler"]


def assert_one_line_failure(completed, code, *needles):
    output = completed.stdout
    assert completed.returncode == code, output
    assert "Traceback" not in output, output
    for needle in needles:
        assert any(needle in line for line in output.splitlines()), (needle, output)


# ------------------------------------------------------------------------ tar bombs

@pytest.mark.slow
def test_a_huge_member_named_like_a_review_is_refused_with_bounded_memory(cli_dir, tmp_path):
    """64 MB of zeros (64 KB compressed) as one review: refused when read, and no
    process grows by more than the member limit; nothing of Encode is left."""
    archive = make_archive(tmp_path / "aclImdb_bomb.tar.gz", per_class=(6, 4))
    bomb = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive) as good, tarfile.open(bomb, "w:gz") as tar:
        for member in good.getmembers():
            tar.addfile(member, good.extractfile(member))
        _add(tar, "aclImdb/train/pos/999_9.txt", size=64 * MB)
    assert bomb.stat().st_size < 2 * MB
    data = tmp_path / "data"
    completed, peak = measured(luigi_args("Encode", "--num-words", "40", "--DownloadDataset-url",
                                          bomb, "--pipeline-data-dir", data), cli_dir)
    assert_one_line_failure(completed, TASK_FAILED, "member aclImdb/train/pos/999_9.txt is "
                            "67,108,864 bytes, more than the 1,048,576")
    assert peak < 400, f"peak RSS {peak:.0f} MB"
    assert output_folders(data, "Encode") == []
    assert not [p for p in hidden_leftovers(data) if "Encode" in p]


@pytest.mark.slow
def test_members_nobody_reads_are_streamed_past(tmp_path):
    """A 256 MB member that is not a review: the archive is read member by member, so
    reading its reviews stays far below the member's size."""
    archive = make_archive(tmp_path / "a.tar.gz", per_class=(3, 2))
    big = tmp_path / "big.tar.gz"
    with tarfile.open(archive) as good, tarfile.open(big, "w:gz", compresslevel=1) as tar:
        _add(tar, "aclImdb/train/unsup/huge.bin", size=256 * MB)
        for member in good.getmembers():
            tar.addfile(member, good.extractfile(member))
    script = ("import sys\nfrom pipeline.datasets.aclimdb import tokenize_archive, "
              "validate_archive\nprint(validate_archive(sys.argv[1]))\n"
              "print(len(tokenize_archive(sys.argv[1])['train'].names))\n")
    completed, peak = measured([sys.executable, "-c", script, big], ROOT)
    assert completed.returncode == 0, completed.stdout
    assert "'train/pos': 3" in completed.stdout and "\n6\n" in completed.stdout
    assert peak < 200, f"peak RSS {peak:.0f} MB"


def test_too_many_distinct_words_are_refused(tmp_path, monkeypatch):
    from pipeline.datasets import aclimdb
    from pipeline.ml import text

    monkeypatch.setattr(text, "MAX_DISTINCT_WORDS", 50)
    words = " ".join(f"w{i}" for i in range(60)).encode()
    archive = make_archive(tmp_path / "a.tar.gz", per_class=(2, 2),
                           extra_members=[("aclImdb/train/pos/77_9.txt", words)])
    with pytest.raises(PipelineError, match="train reviews hold more than .* 50 distinct"):
        aclimdb.tokenize_archive(archive, parallel=False)


# ------------------------------------------------------------------------ npz bombs

def _npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _keras_npz(path, extra=(), **replace):
    x = np.empty(2, dtype=object)
    x[0], x[1] = [1, 2, 3], [4, 5]
    members = {"x_train": _npy(x), "y_train": _npy(np.array([0, 1])),
               "x_test": _npy(x), "y_test": _npy(np.array([1, 0]))}
    members.update(replace)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
        for name, size in extra:
            with archive.open(name, "w", force_zip64=True) as member:
                chunk = bytes(MB)
                for _ in range(size // MB):
                    member.write(chunk)
    return path


def test_an_unused_npz_member_is_never_read(tmp_path):
    path = _keras_npz(tmp_path / "imdb.npz", extra=[("junk.npy", 200 * MB)])
    assert path.stat().st_size < 2 * MB
    script = ("import sys\nfrom pipeline.datasets.keras_imdb import read_npz_safely\n"
              "print(len(read_npz_safely(sys.argv[1])['x_train']))\n")
    completed, peak = measured([sys.executable, "-c", script, path], ROOT)
    assert completed.returncode == 0 and completed.stdout.startswith("2\n"), completed.stdout
    assert peak < 150, f"peak RSS {peak:.0f} MB"


def test_an_oversized_npz_member_is_refused_before_it_is_read(tmp_path):
    from pipeline.datasets import keras_imdb
    from pipeline.io import safe_npz

    path = _keras_npz(tmp_path / "imdb.npz")
    original = safe_npz.MAX_MEMBER_BYTES
    try:
        safe_npz.MAX_MEMBER_BYTES = 10
        with pytest.raises(PipelineError, match=r"member x_train.npy is \d+ bytes uncompressed,"
                                                r" more than the 10"):
            keras_imdb.read_npz_safely(path)
    finally:
        safe_npz.MAX_MEMBER_BYTES = original


def test_an_npy_header_declaring_7_tib_is_refused(tmp_path):
    from pipeline.datasets.keras_imdb import read_npz_safely

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<i8", "fortran_order": False, "shape": (2**40,)})
    path = _keras_npz(tmp_path / "imdb.npz", y_train=header.getvalue() + bytes(16))
    with pytest.raises(PipelineError, match=r"y_train.npy: its header declares "
                                            r"8,796,093,022,208 bytes"):
        read_npz_safely(path)


def test_a_deeply_nested_word_index_is_one_line(tmp_path):
    from pipeline.datasets.keras_imdb import read_word_index

    path = tmp_path / "imdb_word_index.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(PipelineError, match="nested too deeply"):
        read_word_index(path)


# --------------------------------------------------------------------- absurd values

@pytest.mark.parametrize("task_cls,params,needle", [
    (Encode, {"num_words": 20_000_000}, "num_words must be an integer from 5 to 2,000,000"),
    (TrainModel, {"num_words": 2_000_000, "units": 512},
     re.escape("would have 1,024,263,681 weights (num_words 2,000,000")),
    (TrainModel, {"units": 65536, "layers": 3}, "weights"),
    (TrainModel, {"units": 1_000_000}, re.escape("units must be an integer, or one per "
                                                 "layer (64,4), from 1 to 65,536")),
    (TrainModel, {"layers": 1000}, "layers must be an integer from 1 to 64"),
    (TrainModel, {"epochs": 1_000_000}, "epochs must be an integer from 1 to 1,000"),
    (RunAll, {"batch_size": 10**9}, "batch_size must be an integer from 1 to 1,048,576"),
    (EvaluateTest, {"final_epochs": "100000"}, "final_epochs must be auto, or an integer "
                                               "from 1 to 1,000"),
    (TrainModel, {"model": "embedding", "embedding_dim": 100, "maxlen": 100_000},
     "activation values"),
    (TrainModel, {"model": "embedding", "embedding_dim": 4096, "num_words": 1_000_000},
     "weights"),
])
def test_absurd_sizes_are_refused_before_any_work_with_the_reason(task_cls, params, needle):
    with pytest.raises(PipelineError, match=needle):
        task_cls(**params)


def test_absurd_num_words_on_the_command_line(cli_dir, tmp_path):
    data = tmp_path / "data"
    completed, peak = measured(luigi_args("RunAll", "--num-words", "20000000",
                                          "--pipeline-data-dir", data), cli_dir)
    assert_one_line_failure(completed, UNHANDLED,
                            "num_words must be an integer from 5 to 2,000,000")
    assert not data.exists()
    assert peak < 400


# -------------------------------------------------------------- special files, encodings

def _written(name, data):
    def make(tmp):
        (tmp / name).write_bytes(data)
        return tmp / name
    return make


@pytest.mark.parametrize("make,needle", [
    (lambda tmp: Path("/dev/zero"), "not a regular file"),
    (lambda tmp: tmp, "not a regular file"),
    (_written("v.toml", b"[a]\nepochs = 3 # \xff\xfe\n"), "not UTF-8 text"),
    (_written("v.json", b"[" * 100_000), "variants file"),
    (_written("v.toml", b"#" * (2 * MB)), "larger than 1,048,576 bytes"),
])
def test_bad_variants_files(tmp_path, make, needle):
    from pipeline.ml.compare import load_variants

    path = make(tmp_path)
    with pytest.raises(PipelineError, match=needle) as error:
        load_variants(path)
    assert str(path) in str(error.value)


def test_variants_file_dev_zero_on_the_command_line(cli_dir, tmp_path):
    data = tmp_path / "data"
    completed, peak = measured(luigi_args("CompareModels", "--variants-file", "/dev/zero",
                                          "--pipeline-data-dir", data), cli_dir, timeout=120)
    assert completed.returncode != 0
    assert_one_line_failure(completed, completed.returncode,
                            "variants file /dev/zero: not a regular file")
    assert peak < 400


def test_a_special_file_as_dataset_address(cli_dir, tmp_path):
    data = tmp_path / "data"
    completed, _ = measured(luigi_args("DownloadDataset", "--DownloadDataset-url", "/dev/zero",
                                       "--pipeline-data-dir", data), cli_dir, timeout=120)
    assert_one_line_failure(completed, TASK_FAILED, "no file at /dev/zero")
    assert output_folders(data, "DownloadDataset") == []


# ------------------------------------------------------------- predict: one bad entry

def test_predict_notes_unreadable_entries_and_scores_the_rest(tmp_path):
    from pipeline.ml.predict import MAX_DOCUMENT_BYTES, read_reviews

    folder = tmp_path / "reviews"
    folder.mkdir()
    (folder / "a.txt").write_text("a fine film")
    (folder / "b.txt").mkdir()                      # a folder named like a review
    os.mkfifo(folder / "c.txt")                     # a pipe: reading would block
    (folder / "d.txt").write_bytes(b"x" * (MAX_DOCUMENT_BYTES + 1))
    (folder / "e.txt").symlink_to(folder / "missing")
    (folder / "f.txt").write_bytes(b"caf\xe9 ok")
    reviews = {r.id: r for r in read_reviews(folder)}
    assert reviews["a.txt"].text == "a fine film" and not reviews["a.txt"].unreadable
    assert reviews["f.txt"].notes == ["invalid UTF-8 replaced"]
    for name in ("b.txt", "c.txt", "d.txt", "e.txt"):
        assert reviews[name].unreadable, name
        assert reviews[name].notes[0].startswith("unreadable: "), reviews[name].notes
    assert "larger than 1,048,576 bytes" in reviews["d.txt"].notes[0]


def test_predict_csv_with_a_huge_field_and_nul_bytes(tmp_path):
    from pipeline.ml.predict import MAX_DOCUMENT_BYTES, read_reviews

    path = tmp_path / "r.csv"
    path.write_bytes(b"id,text\n1,good\n2,\"" + b"y" * (MAX_DOCUMENT_BYTES + 10)
                     + b"\"\n3,bad\x00film\n4,fine\n")
    reviews = read_reviews(path)
    texts = [(r.id, r.unreadable) for r in reviews]
    assert ("1", False) in texts and ("4", False) in texts and ("3", False) in texts
    assert any(r.unreadable and "field larger" in r.notes[0] for r in reviews), texts


@pytest.mark.parametrize("make,needle", [
    (lambda tmp: Path("/dev/zero"), "not a regular file"),
    (lambda tmp: (os.mkfifo(tmp / "p.txt"), tmp / "p.txt")[1], "not a regular file"),
])
def test_predict_input_that_is_a_special_file(tmp_path, make, needle):
    from pipeline.ml.predict import read_reviews

    path = make(tmp_path)
    with pytest.raises(PipelineError, match=needle):
        read_reviews(path)


def test_scoring_skips_unreadable_entries(tmp_path):
    from pipeline import features
    from pipeline.ml.predict import Review, _unreadable, score

    class Model:
        num_inputs = 10

        def predict(self, data):
            return np.full((data.rows, 1), 0.75)

    reviews = [Review("1", "good film"), _unreadable("2", "not a regular file"),
               Review("3", "")]
    vocabulary = {"words": ["good", "film"], "num_words": 10,
                  "class_names": ["negative", "positive"]}
    probabilities = score(Model(), vocabulary, reviews, features.get("multihot"), {}, {})
    assert probabilities[0] is not None and probabilities[1] is None
    assert probabilities[2] is None
    assert reviews[1].notes == ["unreadable: not a regular file"]
    assert reviews[2].notes == ["empty text"]


# ---------------------------------------------------------------- kills: no orphans

def _slow_archive(path, reviews=300, words=3000):
    """Reviews long enough that tokenizing takes a few seconds (about 40 MB of text)."""
    import random

    rng = random.Random(1)
    vocabulary = [f"w{i}" for i in range(5000)]
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for split in ("train", "test"):
            for label, rating in (("pos", 9), ("neg", 2)):
                for i in range(reviews):
                    text = " ".join(rng.choices(vocabulary, k=words)).encode()
                    _add(tar, f"aclImdb/{split}/{label}/{i}_{rating}.txt", data=text)
    return path


def _descendants(pid):
    """Pids of every living descendant of ``pid`` (from /proc)."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def slow_archive(tmp_path_factory):
    return _slow_archive(tmp_path_factory.mktemp("slow") / "aclImdb_slow.tar.gz")


@pytest.mark.parametrize("how,workers", [(signal.SIGKILL, 1), (signal.SIGTERM, 1),
                                         (signal.SIGKILL, 2), (signal.SIGINT, 1),
                                         (signal.SIGINT, 2)])
@pytest.mark.slow
def test_stopping_luigi_during_encode_leaves_no_process_and_resumes(cli_dir, tmp_path,
                                                                    slow_archive, how,
                                                                    workers):
    data = tmp_path / "data"
    command = luigi_args("Encode", "--num-words", "1000", "--DownloadDataset-url",
                         slow_archive, "--pipeline-data-dir", data, "--workers", workers)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("LUIGI_CONFIG_PATH", None)
    with open(tmp_path / "log", "w") as log:
        process = subprocess.Popen(command, cwd=cli_dir, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            # wait for the tokenizers: two processes below the one running Encode
            deadline, helpers = time.monotonic() + 120, []
            while time.monotonic() < deadline and process.poll() is None:
                helpers = _descendants(process.pid)
                if len(helpers) >= workers + 1 and (data / "DownloadDataset").exists() \
                        and any(p.name == "aclimdb" for p in
                                (data / "DownloadDataset").iterdir()):
                    break
                time.sleep(0.02)
            assert process.poll() is None and len(helpers) >= workers + 1, \
                (tmp_path / "log").read_text()
            time.sleep(0.3)
            helpers = _descendants(process.pid)
            if how == signal.SIGINT:
                os.killpg(process.pid, how)  # Ctrl-C: the whole foreground group
            else:
                os.kill(process.pid, how)
            process.wait(timeout=30)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and any(map(_alive, helpers)):
                time.sleep(0.1)
            survivors = [pid for pid in helpers if _alive(pid)]
            assert not survivors, f"still running after 5 s: {survivors}"
            if how == signal.SIGINT:  # Ctrl-C: one line, from every process
                log = (tmp_path / "log").read_text()
                assert "Traceback" not in log and "KeyboardInterrupt" not in log, log
                assert "interrupted (Ctrl-C): the stage that was running kept nothing" in log
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert output_folders(data, "Encode") == []
    rerun = subprocess.run(command, cwd=cli_dir, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout
    assert len(output_folders(data, "Encode")) == 1
    assert hidden_leftovers(data) == []


# ------------------------------------------------ resource problems: one line, no traceback

def test_data_folder_that_is_a_file(cli_dir, tmp_path):
    data = tmp_path / "data"
    data.write_text("not a folder")
    completed, _ = measured(luigi_args("RunAll", "--pipeline-data-dir", data), cli_dir)
    assert_one_line_failure(completed, UNHANDLED, f"data folder {data}: {data} is a file, "
                                                  f"not a folder")
    assert data.read_text() == "not a folder"


def test_data_folder_below_a_file(cli_dir, tmp_path):
    (tmp_path / "file").write_text("x")
    data = tmp_path / "file" / "data"
    completed, _ = measured(luigi_args("Encode", "--pipeline-data-dir", data), cli_dir)
    assert_one_line_failure(completed, UNHANDLED, "is a file, not a folder")


def _mount_tmpfs(path, options):
    path.mkdir(exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    return path


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@needs_root
def test_read_only_data_folder_is_refused_before_any_work(cli_dir, tmp_path, tiny_archive):
    data = _mount_tmpfs(tmp_path / "ro", "size=1m,ro")
    try:
        completed, _ = measured(luigi_args("Encode", "--num-words", "40",
                                           "--DownloadDataset-url", tiny_archive,
                                           "--pipeline-data-dir", data), cli_dir)
        assert_one_line_failure(completed, UNHANDLED,
                                f"data folder {data}: {data} is on a read-only file system")
        assert "DownloadDataset" not in completed.stdout.split("is on a read-only")[0] \
            or "running" not in completed.stdout
    finally:
        subprocess.run(["umount", str(data)], check=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a folder without w permission")
def test_data_folder_without_write_permission(cli_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o555)
    try:
        completed, _ = measured(luigi_args("Encode", "--pipeline-data-dir", data), cli_dir)
        assert_one_line_failure(completed, UNHANDLED, "is read-only for this user")
    finally:
        data.chmod(0o755)


@pytest.mark.slow
@needs_root
def test_full_disk_is_one_line_and_leaves_nothing(cli_dir, tmp_path):
    archive = make_archive(tmp_path / "aclImdb_disk.tar.gz", per_class=(200, 100))
    data = _mount_tmpfs(tmp_path / "small", "size=4m")
    try:
        download = luigi_args("DownloadDataset", "--DownloadDataset-url", archive,
                              "--pipeline-data-dir", data)
        encode = luigi_args("Encode", "--num-words", "40", "--DownloadDataset-url", archive,
                            "--pipeline-data-dir", data)
        completed, _ = measured(download, cli_dir)
        assert completed.returncode == 0, completed.stdout
        stats = os.statvfs(data)
        filler = data / "filler"
        with open(filler, "wb") as handle:  # leave 8 KB: Encode's files do not fit
            handle.write(bytes(stats.f_bavail * stats.f_frsize - 8192))
        completed, _ = measured(encode, cli_dir)
        assert_one_line_failure(completed, TASK_FAILED, "No space left on device",
                                "free some space, or give another data folder")
        assert output_folders(data, "Encode") == []
        assert hidden_leftovers(data) == []
        filler.unlink()
        completed, _ = measured(encode, cli_dir)
        assert completed.returncode == 0, completed.stdout
        assert len(output_folders(data, "Encode")) == 1
    finally:
        subprocess.run(["umount", str(data)], check=False)


@needs_root
def test_full_disk_while_copying_the_archive(cli_dir, tmp_path):
    archive = make_archive(tmp_path / "aclImdb_big.tar.gz", per_class=(3000, 10))
    data = _mount_tmpfs(tmp_path / "tiny", "size=64k")
    try:
        completed, _ = measured(luigi_args("DownloadDataset", "--DownloadDataset-url", archive,
                                           "--pipeline-data-dir", data), cli_dir)
        assert_one_line_failure(completed, TASK_FAILED, "No space left on device")
        assert output_folders(data, "DownloadDataset") == []
        assert hidden_leftovers(data) == []
    finally:
        subprocess.run(["umount", str(data)], check=False)


def test_out_of_memory_is_one_line():
    from pipeline.errors import user_error

    class ResourceExhaustedError(Exception):
        pass

    for exc in (MemoryError(), ResourceExhaustedError("OOM when allocating tensor")):
        error = user_error(exc)
        assert isinstance(error, PipelineError)
        assert "out of memory" in str(error) and "batch_size" in str(error)
    assert user_error(KeyError("a bug")) is None  # our own bugs keep their traceback


@pytest.mark.parametrize("content,needle", [
    (b"[pipeline]\ndata_dir = d\xff\n", "not UTF-8 text"),
    (b"[pipeline\n", "not a valid configuration file"),
    (b"#" * (2 * MB), "larger than 1,048,576 bytes"),
    (None, "not a regular file"),
])
def test_cli_bad_configuration_files(tmp_path, content, needle):
    config = tmp_path / "my.cfg"
    if content is None:
        config.mkdir()
    else:
        config.write_bytes(content)
    completed, peak = measured([Path(sys.executable).with_name("text-classifier"), "--config",
                                config, "predict", "a text"], tmp_path)
    assert completed.returncode == 2, completed.stdout
    assert "Traceback" not in completed.stdout
    assert f"text-classifier: --config {config}: {needle}" in completed.stdout


@pytest.mark.slow
def test_predict_task_scores_the_readable_entries_of_a_hostile_folder(tmp_path, data_dir):
    """A folder with a pipe, a folder and an oversized file named like reviews among good
    ones: the task neither blocks nor fails; each bad entry has a note, the rest scores."""
    import csv

    from conftest import TINY, build

    from pipeline import Predict
    from pipeline.ml.predict import MAX_DOCUMENT_BYTES

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "1.txt").write_text("great brilliant loved")
    os.mkfifo(folder / "2.txt")
    (folder / "3.txt").mkdir()
    (folder / "4.txt").write_bytes(b"awful " * (MAX_DOCUMENT_BYTES // 6 + 1))
    (folder / "5.txt").write_text("awful dull mess")
    task = Predict(input=str(folder), **TINY)
    assert build([task]).scheduling_succeeded
    with open(task.output()["predictions"].path, newline="") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    assert sorted(rows) == ["1.txt", "2.txt", "3.txt", "4.txt", "5.txt"]
    for name in ("1.txt", "5.txt"):
        assert 0 <= float(rows[name]["probability_positive"]) <= 1 and rows[name]["note"] == ""
    for name in ("2.txt", "3.txt", "4.txt"):
        assert rows[name]["probability_positive"] == "" and rows[name]["label"] == ""
        assert rows[name]["note"].startswith("unreadable: "), rows[name]


@pytest.mark.parametrize("make", [lambda tmp: "/dev/zero",
                                  lambda tmp: (os.mkfifo(tmp / "p.txt"), str(tmp / "p.txt"))[1]])
def test_predict_task_refuses_a_special_input_before_any_work(tmp_path, data_dir, make):
    from conftest import TINY

    from pipeline import Predict

    with pytest.raises(PipelineError, match="not a regular file"):
        Predict(input=make(tmp_path), **TINY)
    assert not data_dir.exists()


# ------------------------------------------------------------ racing runs, no lock

def test_an_output_written_by_a_racing_run_meanwhile_is_kept(tmp_path, monkeypatch):
    """Run B finds no output and computes; just before B renames its folder into place,
    run A does: B keeps A's (same parameters, same result) instead of failing. (A
    finished output found earlier is swapped with B's in one atomic step.)"""
    from pipeline.io import storage

    final = tmp_path / "Task_abc"
    replace = os.replace

    def racing(src, dst):
        Path(dst).mkdir()
        (Path(dst) / "theirs.txt").write_text("A")
        replace(src, dst)

    monkeypatch.setattr(storage.os, "replace", racing)
    with storage.staged_dir(final) as staging:
        (staging / "mine.txt").write_text("B")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Task_abc"]
    assert [p.name for p in final.iterdir()] == ["theirs.txt"]


@pytest.mark.slow
def test_racing_runs_without_the_lock_all_succeed(cli_dir, tmp_path):
    archive = make_archive(tmp_path / "aclImdb_race.tar.gz", per_class=(40, 20))
    data = tmp_path / "data"
    command = luigi_args("RunAll", *tiny_cli_args(), "--DownloadDataset-url", archive,
                         "--pipeline-data-dir", data, "--no-lock")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("LUIGI_CONFIG_PATH", None)
    racers = [subprocess.Popen(command, cwd=cli_dir, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [racer.communicate(timeout=600)[0] for racer in racers]
    for racer, output in zip(racers, outputs):
        assert racer.returncode == 0, output
        assert "Traceback" not in output, output
    for family in ("DownloadDataset", "Encode", "SplitValidation", "Featurize", "TrainModel",
                   "EvaluateTest", "PlotHistory", "RunAll"):
        assert len(output_folders(data, family)) == 1, family
    assert hidden_leftovers(data) == []


@pytest.mark.parametrize("content,needle", [
    (b"[pipeline]\ndata_dir = d\xff\n", "luigi.cfg: not UTF-8 text"),
    (b"[pipeline\n", "luigi.cfg: not a valid configuration file"),
])
def test_a_bad_luigi_cfg_in_the_folder_is_one_line(tmp_path, content, needle):
    """Luigi parses ./luigi.cfg when it is imported; python -m pipeline and
    text-classifier check it first."""
    (tmp_path / "luigi.cfg").write_bytes(content)
    bin_dir = Path(sys.executable).parent
    for command, program in (([sys.executable, "-m", "pipeline", "RunAll", "--local-scheduler"],
                              "pipeline"),
                             ([bin_dir / "text-classifier", "predict", "a text"],
                              "text-classifier")):
        completed, _ = measured(command, tmp_path)
        assert completed.returncode == 2, completed.stdout
        assert "Traceback" not in completed.stdout, completed.stdout
        assert f"{program}: {needle}" in completed.stdout, completed.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["luigi.cfg"]


@pytest.mark.parametrize("cut", [-2000, -600, -100])
def test_an_archive_cut_inside_a_review_is_one_line(tmp_path, cut):
    """Cut (uncompressed and gzip) inside the last review's bytes: the error comes while
    the caller reads that member, and is still a PipelineError naming the file."""
    import gzip

    from pipeline.datasets.aclimdb import iter_reviews

    big = b"word " * 2000
    archive = make_archive(tmp_path / "a.tar.gz", per_class=(2, 2),
                           extra_members=[("aclImdb/test/neg/99_1.txt", big)])
    tar = gzip.decompress(archive.read_bytes())
    end = tar.index(big) + len(big)
    for path, data in ((tmp_path / "cut.tar", tar[:end + cut]),
                       (tmp_path / "cut.tar.gz", gzip.compress(tar)[:cut])):
        path.write_bytes(data)
        with pytest.raises(PipelineError, match="truncated or corrupt|not an archive"):
            list(iter_reviews(path))


# ------------------------------------------------------- one way to read a number

def test_a_grid_s_number_that_is_not_one_is_one_line(cli_dir, tmp_path):
    data = tmp_path / "data"
    for args, needle in ((("CompareModels", "--seeds", "abc"),
                          "seeds must be an integer from 1 to 100, got 'abc'"),
                         (("LearningCurve", "--sizes", "10,many"),
                          "sizes must be a comma-separated list of distinct integers >= 1")):
        completed, peak = measured(luigi_args(*args, "--pipeline-data-dir", data), cli_dir)
        assert_one_line_failure(completed, UNHANDLED, needle)
        print(f"{args[0]}: exit {completed.returncode}, peak {peak:.0f} MB")
    assert not data.exists()


def test_every_door_gives_one_value_and_one_task_id(cli_dir, tmp_path):
    """03, 3 and a full-width 3 from the command line, luigi.cfg and Python: one task."""
    from conftest import configured

    ids = {EvaluateTest(final_epochs=value).task_id for value in (3, "3", "03", "\uff13")}
    with configured("experiment", final_epochs="\uff10\uff13"):
        ids.add(EvaluateTest().task_id)
    with configured("EvaluateTest", final_epochs=" 03 "):
        ids.add(EvaluateTest().task_id)
    assert len(ids) == 1
    forget = subprocess.run([sys.executable, "-m", "pipeline.forget", "EvaluateTest",
                             "--final-epochs", "\uff13", "--dry-run", "--pipeline-data-dir",
                             tmp_path / "data"], cwd=cli_dir, capture_output=True, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert forget.returncode == 0, forget.stderr
    # never run here: forget names the configuration's one task id and deletes nothing
    assert f"(no {ids.pop()})" in forget.stdout


# ----------------------------------------------------- cost within the stated bounds

def _measured_python(script, *args, cwd=ROOT):
    """``(CompletedProcess, peak RSS MB, wall seconds)`` of a Python snippet."""
    start = time.monotonic()
    completed, peak = measured([sys.executable, "-c", script, *args], cwd)
    return completed, peak, time.monotonic() - start


def test_a_dotted_key_50000_levels_deep_is_refused_in_linear_time(tmp_path):
    """100 KB of TOML that took tomllib 9.8 GB: refused before tomllib sees it."""
    path = tmp_path / "v.toml"
    path.write_text("[a]\n" + ".".join(["a"] * 50_000) + " = 1\n")
    script = ("import sys\nfrom pipeline.ml.compare import load_variants\n"
              "from pipeline.errors import PipelineError\n"
              "try:\n    load_variants(sys.argv[1])\nexcept PipelineError as e:\n"
              "    print(e)\n")
    completed, peak, seconds = _measured_python(script, path)
    assert "a key nested more than 64 levels deep (line 2)" in completed.stdout
    print(f"dotted key of 50,000 levels ({path.stat().st_size:,} bytes): refused in "
          f"{seconds:.2f} s, peak {peak:.0f} MB")
    assert peak < 200


def test_a_configuration_that_expands_to_gigabytes_is_one_line(tmp_path):
    """Ten levels of values that each name the one below ten times: 2 KB of luigi.cfg
    that Luigi would expand to 10**10 bytes when the value is read."""
    lines = ["[pipeline]", "v0 = xxxxxxxxxx"]
    lines += [f"v{k} = " + f"%(v{k - 1})s" * 10 for k in range(1, 11)]
    lines += ["data_dir = %(v10)s"]
    (tmp_path / "luigi.cfg").write_text("\n".join(lines) + "\n")
    for command in ([sys.executable, "-m", "pipeline", "RunAll", "--local-scheduler"],
                    [str(LUIGI), "--module", "pipeline", "RunAll", "--local-scheduler"]):
        completed, peak = measured(command, tmp_path)
        assert completed.returncode == 2, completed.stdout
        assert "Traceback" not in completed.stdout
        assert "luigi.cfg: [pipeline] v6 expands to more than 1,048,576 bytes" \
            in completed.stdout, completed.stdout
        assert peak < 400
    assert sorted(p.name for p in tmp_path.iterdir()) == ["luigi.cfg"]


@pytest.mark.parametrize("content,needle", [
    ("[pipeline]\ndata_dir = 100%\n", "a '%' must be written '%%'"),
    ("[pipeline]\ndata_dir = ${NO_SUCH_VARIABLE_HERE}\n",
     "${NO_SUCH_VARIABLE_HERE} names an environment variable that is not set"),
])
def test_a_value_luigi_cannot_expand_is_one_line(tmp_path, content, needle):
    (tmp_path / "luigi.cfg").write_text(content)
    completed, _ = measured([str(LUIGI), "--module", "pipeline", "RunAll",
                             "--local-scheduler"], tmp_path)
    assert completed.returncode == 2 and "Traceback" not in completed.stdout
    assert needle in completed.stdout, completed.stdout


def test_sgml_of_unclosed_tags_is_parsed_in_linear_time():
    """About 8 MB each (the SGML bound is 16 MB) of unclosed tags, attributes without
    values, unclosed documents and bodies: the lazy regexes took time quadratic in the
    size (hours); the parser takes one pass."""
    script = (
        "import time\nfrom pipeline.datasets.reuters import parse_sgml\n"
        "attrs = ' '.join(['a'] * 1_000_000)\n"
        "inputs = {\n"
        " 'tags': '<REUTERS NEWID=\"1\"><TOPICS>' + '<D>x</D>' * 100_000 + '</TOPICS>"
        "<TEXT>' + '<A ' * 1_000_000 + '&lt;' * 500_000 + '</TEXT></REUTERS>',\n"
        " 'attributes': f'<REUTERS {attrs} NEWID=\"1\"></REUTERS>',\n"
        " 'documents': '<REUTERS NEWID=\"1\">' * 400_000,\n"
        " 'bodies': '<REUTERS NEWID=\"1\"><TOPICS><D>x</D></TOPICS></REUTERS>' * 150_000,\n"
        "}\n"
        "for name, text in inputs.items():\n"
        "    start = time.monotonic()\n"
        "    try:\n        parse_sgml(text, 'x.sgm')\n"
        "    except Exception as e:\n        print(str(e)[:60])\n"
        "    print(name, len(text), 'chars', round(time.monotonic() - start, 2), 's')\n")
    completed, peak, _ = _measured_python(script)
    assert completed.returncode == 0, completed.stdout
    timings = [line for line in completed.stdout.splitlines() if " chars " in line]
    assert len(timings) == 4, completed.stdout
    print(f"SGML, peak {peak:.0f} MB:", "; ".join(timings))
    assert "the document at line 1 has no </REUTERS>" in completed.stdout
    for line in timings:
        assert float(line.split("chars")[1].split()[0]) < 60  # the regexes needed hours


# ------------------------------------------------------ archives as people pack them

def _repack(source, path, how):
    """The tiny archive's members repacked another way: zip, bz2, xz, zst, with ./
    prefixes, with a hard-linked review, or as an extracted folder."""
    with tarfile.open(source) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers() if m.isfile()]
    if how == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as packed:
            for member, data in members:
                packed.writestr(member.name, data)
        return path
    if how == "folder":
        for member, data in members:
            (path / member.name).parent.mkdir(parents=True, exist_ok=True)
            (path / member.name).write_bytes(data)
        (path / "aclImdb" / "train" / "pos" / "link_9.txt").symlink_to("/etc/passwd")
        return path / "aclImdb"
    mode = {"bz2": "w:bz2", "xz": "w:xz"}.get(how, "w:gz")
    raw = path.with_suffix(".tar") if how == "zst" else path
    with tarfile.open(raw, "w" if how == "zst" else mode,
                      format=tarfile.PAX_FORMAT) as tar:
        for member, data in members:
            member.name = ("./" + member.name) if how == "dot" else member.name
            tar.addfile(member, io.BytesIO(data))
        if how == "links":
            link = tarfile.TarInfo("aclImdb/train/pos/1000_9.txt")
            link.type, link.linkname = tarfile.LNKTYPE, members[-1][0].name
            tar.addfile(link)
            outside = tarfile.TarInfo("aclImdb/train/pos/1001_9.txt")
            outside.type, outside.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(outside)
    if how == "zst":
        import zstandard

        path.write_bytes(zstandard.ZstdCompressor().compress(raw.read_bytes()))
    return path


@pytest.mark.parametrize("how", ["zip", "bz2", "xz", "zst", "dot", "links", "folder"])
def test_archives_packed_as_people_pack_them_are_read_with_every_review(tmp_path, how):
    from conftest import pipeline_config

    from pipeline import DownloadDataset
    from pipeline.datasets.aclimdb import survey

    if how == "zst":
        pytest.importorskip("zstandard")
    source = make_archive(tmp_path / "a.tar.gz", per_class=(6, 3))
    expected, _, _ = survey(source)
    target = tmp_path / "repacked"
    if how == "folder":
        target.mkdir()
    target = _repack(source, target, how)
    with pipeline_config(tmp_path / "data", target):
        task = DownloadDataset()
        assert luigi_build([task])
        manifest = json_of(task.output()["manifest"].path)
    extra = 1 if how == "links" else 0
    assert manifest["reviews"] == dict(expected, **{"train/pos": expected["train/pos"] + extra})
    named = dict(map(tuple, manifest["skipped"]["named"]))
    if how == "links":
        assert named == {"aclImdb/train/pos/1001_9.txt":
                         "a symbolic link to outside the archive"}
    elif how == "folder":
        assert named == {"aclImdb/train/pos/link_9.txt": "a symbolic link"}
    else:
        assert named == {}
    assert manifest["skipped"]["by_folder"] == {"aclImdb": 1}  # the README


def luigi_build(tasks):
    import luigi

    return luigi.build(tasks, local_scheduler=True, log_level="WARNING")


def json_of(path):
    import json

    return json.loads(Path(path).read_text())


# --------------------------------------------------- outputs edited or damaged by hand

@pytest.fixture
def finished(tmp_path):
    """A data folder with a finished tiny RunAll, and a working folder whose luigi.cfg
    points at it."""
    archive = make_archive(tmp_path / "aclImdb_tiny.tar.gz", per_class=(20, 10))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    data = tmp_path / "data"
    (cwd / "luigi.cfg").write_text((ROOT / "luigi.cfg").read_text().replace(
        "data_dir = data", f"data_dir = {data}").replace("url =\n", f"url = {archive}\n"))
    completed = subprocess.run(luigi_args("RunAll", *tiny_cli_args()), cwd=cwd,
                               capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return cwd, data


def _commands(cwd):
    params = [arg for pair in zip(["-p"] * 5, [f"{k}={v}" for k, v in
                                              {"num_words": 40, "validation_size": 10,
                                               "epochs": 3, "batch_size": 8,
                                               "units": 8}.items()]) for arg in pair]
    tc = Path(sys.executable).with_name("text-classifier")
    return {"RunAll": luigi_args("RunAll", *tiny_cli_args()),
            "predict": [tc, *params, "predict", "a fine film"],
            "decode": [tc, *params, "decode", "--index", "0"],
            "forget": [sys.executable, "-m", "pipeline.forget", "Encode",
                       *tiny_cli_args(), "--dry-run"]}


@pytest.mark.slow
@pytest.mark.parametrize("damage,file,needle", [
    (lambda text: '{"documents": [1, 2], "sha256": "x"}', "DownloadDataset/aclimdb/manifest.json",
     "'documents' must be {'train': count, 'test': count}"),
    (lambda text: "[]", "DownloadDataset/aclimdb/manifest.json",
     "a JSON list where an object is expected"),
    (lambda text: text[:len(text) // 2], "Encode/*/vocabulary.json", "not valid JSON"),
])
def test_an_edited_output_is_one_line_for_every_command_that_reads_it(finished, damage,
                                                                      file, needle):
    cwd, data = finished
    (path,) = data.glob(file)
    path.write_text(damage(path.read_text()))
    for name, command in _commands(cwd).items():
        if "vocabulary" in file and name in ("RunAll", "forget"):
            continue  # a finished RunAll and forget read the manifest, not the vocabulary
        completed, peak = measured(command, cwd)
        assert completed.returncode != 0, (name, completed.stdout)
        assert "Traceback" not in completed.stdout, (name, completed.stdout)
        line = next((line for line in completed.stdout.splitlines() if needle in line), None)
        assert line is not None, (name, completed.stdout)
        assert str(path) in line and "delete" in line, (name, line)
        print(f"{name}: exit {completed.returncode}, peak {peak:.0f} MB: {line[:120]}")


@pytest.mark.slow
def test_a_truncated_npz_and_nan_metrics_are_named(finished):
    from pipeline.io import storage

    _, data = finished
    (predictions,) = data.glob("EvaluateTest/*/predictions.npz")
    predictions.write_bytes(predictions.read_bytes()[:200])
    with pytest.raises(PipelineError, match="predictions.npz: not a readable .npz file.*"
                                            "python -m pipeline.forget EvaluateTest"):
        storage.load_arrays(predictions)
    (metrics,) = data.glob("EvaluateTest/*/metrics.json")
    metrics.write_text(metrics.read_text().replace('"accuracy": ', '"accuracy": NaN, "x": '))
    with pytest.raises(PipelineError, match="'accuracy' must be a number from 0 to 1, "
                                            "got 'nan'"):
        from pipeline.tasks.base import METRICS

        storage.read_json(metrics, METRICS)
