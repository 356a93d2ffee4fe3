"""Atomic outputs and the files tasks write: pipeline/io/storage.py."""
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from pipeline.io import storage


def entries(folder):
    return sorted(p.name for p in folder.iterdir())


class TestStagedDir:
    def test_success_renames_into_place(self, tmp_path):
        final = tmp_path / "out" / "Task_abc"
        with storage.staged_dir(final) as staging:
            assert staging.is_dir() and staging.parent == final.parent
            assert staging.name.startswith(".") and "staging" in staging.name
            assert not final.exists()  # nothing visible while writing
            (staging / "a.txt").write_text("a")
            (staging / "sub").mkdir()
            (staging / "sub" / "b.txt").write_text("b")
        assert (final / "a.txt").read_text() == "a"
        assert (final / "sub" / "b.txt").read_text() == "b"
        assert not staging.exists()
        assert entries(final.parent) == ["Task_abc"]  # no hidden leftovers

    def test_exception_leaves_nothing(self, tmp_path):
        final = tmp_path / "Task_abc"
        with pytest.raises(RuntimeError, match="boom"):
            with storage.staged_dir(final) as staging:
                (staging / "half.txt").write_text("half written")
                raise RuntimeError("boom")
        assert not final.exists()
        assert entries(tmp_path) == []

    def test_keyboard_interrupt_leaves_nothing(self, tmp_path):
        final = tmp_path / "Task_abc"
        with pytest.raises(KeyboardInterrupt):
            with storage.staged_dir(final) as staging:
                (staging / "half.txt").write_text("half written")
                raise KeyboardInterrupt
        assert entries(tmp_path) == []

    def test_exception_keeps_the_previous_output(self, tmp_path):
        final = tmp_path / "Task_abc"
        final.mkdir()
        (final / "old.txt").write_text("old")
        with pytest.raises(ValueError):
            with storage.staged_dir(final) as staging:
                (staging / "new.txt").write_text("new")
                raise ValueError
        assert entries(final) == ["old.txt"]
        assert entries(tmp_path) == ["Task_abc"]

    def test_a_rerun_swaps_the_output_in_one_step(self, tmp_path, monkeypatch):
        """Where the system can (Linux), the previous output is exchanged with the new one
        atomically: a reader never finds the folder missing."""
        final = tmp_path / "Task_abc"
        final.mkdir()
        (final / "old.txt").write_text("old")
        monkeypatch.setattr(storage.os, "replace", None)  # never used for the swap
        with storage.staged_dir(final) as staging:
            (staging / "new.txt").write_text("new")
        assert entries(final) == ["new.txt"]
        assert entries(tmp_path) == ["Task_abc"]

    def test_replaces_an_existing_output_completely(self, tmp_path):
        final = tmp_path / "Task_abc"
        final.mkdir()
        (final / "old.txt").write_text("old")
        (final / "same.txt").write_text("old version")
        with storage.staged_dir(final) as staging:
            (staging / "same.txt").write_text("new version")
            (staging / "new.txt").write_text("new")
            assert (final / "old.txt").exists()  # the old output stays until the end
        assert entries(final) == ["new.txt", "same.txt"]
        assert (final / "same.txt").read_text() == "new version"
        assert entries(tmp_path) == ["Task_abc"]  # no ".old" or staging folder left

    def test_leftover_of_a_dead_process_is_removed(self, tmp_path):
        final = tmp_path / "Task_abc"
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            host = socket.gethostname()
            stale = tmp_path / f".Task_abc.staging-{host}-{dead.pid}.x1y2z3"
            busy = tmp_path / f".Task_abc.staging-{host}-{alive.pid}.a1b2c3"
            other = tmp_path / f".Other_abc.staging-{host}-{dead.pid}.q1w2e3"
            for folder in (stale, busy, other):
                folder.mkdir()
                (folder / "model.keras").write_bytes(b"half")
            with storage.staged_dir(final) as staging:
                (staging / "done.txt").write_text("done")
            assert not stale.exists(), "staging folder of a dead process was not cleaned"
            assert busy.exists(), "staging folder of a live process must be left alone"
            assert other.exists(), "another task's staging folder must be left alone"
            assert entries(final) == ["done.txt"]
        finally:
            alive.kill()
            alive.wait()

    def test_output_folder_has_the_permissions_of_a_folder_the_user_makes(self, tmp_path):
        """Not mkdtemp's private 0700: on a shared file system other users' workers
        must be able to read the outputs."""
        plain = tmp_path / "plain"
        plain.mkdir()
        final = tmp_path / "Task_abc"
        with storage.staged_dir(final) as staging:
            (staging / "a.txt").write_text("a")
        assert final.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777

    def test_failed_second_rename_puts_the_previous_output_back(self, tmp_path, monkeypatch):
        final = tmp_path / "Task_abc"
        final.mkdir()
        (final / "old.txt").write_text("old")
        replace, calls = os.replace, []

        def failing_second(src, dst):
            calls.append((src, dst))
            if len(calls) == 2:
                raise OSError("disk gone")
            replace(src, dst)

        monkeypatch.setattr(storage.os, "replace", failing_second)
        monkeypatch.setattr(storage, "_exchange", lambda a, b: False)  # the two-step swap
        with pytest.raises(OSError, match="disk gone"):
            with storage.staged_dir(final) as staging:
                (staging / "new.txt").write_text("new")
        assert entries(final) == ["old.txt"]
        assert entries(tmp_path) == ["Task_abc"]

    def test_killed_between_the_two_renames_leaves_nothing_behind(self, tmp_path):
        """kill -9 of a forced rerun right after the old output was moved aside: no
        output (the task reruns), and the moved-aside copy is cleared by the next write."""
        final = tmp_path / "Task_abc"
        final.mkdir()
        (final / "old.txt").write_text("old")
        script = (
            "import os, sys\n"
            "from pipeline.io import storage\n"
            "replace, calls = os.replace, []\n"
            "def dying(src, dst):\n"
            "    calls.append(src)\n"
            "    if len(calls) == 2:\n"
            "        os._exit(9)\n"
            "    replace(src, dst)\n"
            "storage.os.replace = dying\n"
            "storage._exchange = lambda a, b: False  # the two-step swap\n"
            "with storage.staged_dir(sys.argv[1]) as staging:\n"
            "    (staging / 'new.txt').write_text('new')\n")
        killed = subprocess.run([sys.executable, "-c", script, str(final)])
        assert killed.returncode == 9
        assert not final.exists()
        assert [name for name in entries(tmp_path) if name.endswith("-old")]
        with storage.staged_dir(final) as staging:
            (staging / "rerun.txt").write_text("rerun")
        assert entries(tmp_path) == ["Task_abc"]
        assert entries(final) == ["rerun.txt"]


class TestFiles:
    def test_arrays_round_trip(self, tmp_path):
        arrays = {"a": np.arange(10, dtype=np.int64), "b": np.array([0.5, 1.5], np.float32),
                  "names": np.array(["0_9.txt", "12_1.txt"]), "n": np.int64(7)}
        storage.save_arrays(tmp_path / "x.npz", **arrays)
        back = storage.load_arrays(tmp_path / "x.npz")
        assert set(back) == set(arrays)
        for key, value in arrays.items():
            np.testing.assert_array_equal(back[key], value)
            assert back[key].dtype == np.asarray(value).dtype
        assert (tmp_path / "x.npz").exists() and entries(tmp_path) == ["x.npz"]

    def test_load_only_some_arrays(self, tmp_path):
        """``only``: the named arrays and nothing else (SplitValidation reads one)."""
        arrays = {"train_offsets": np.array([0, 3, 5], np.int64),
                  "train_values": np.arange(5, dtype=np.int32),
                  "test_offsets": np.array([0, 2], np.int64)}
        storage.save_arrays(tmp_path / "x.npz", **arrays)
        back = storage.load_arrays(tmp_path / "x.npz", only=("train_offsets",))
        assert list(back) == ["train_offsets"]
        np.testing.assert_array_equal(back["train_offsets"], arrays["train_offsets"])
        assert back["train_offsets"].dtype == np.int64
        both = storage.load_arrays(tmp_path / "x.npz", only=["test_offsets", "train_values"])
        assert list(both) == ["test_offsets", "train_values"]
        np.testing.assert_array_equal(both["train_values"], arrays["train_values"])
        assert storage.load_arrays(tmp_path / "x.npz", only=()) == {}
        with pytest.raises(storage.DamagedFileError, match="x.npz: no array 'missing'"):
            storage.load_arrays(tmp_path / "x.npz", only=("missing",))

    def test_pickled_arrays_are_refused(self, tmp_path):
        path = tmp_path / "evil.npz"
        np.savez(path, objects=np.array([{"a": 1}, None], dtype=object))
        with pytest.raises(ValueError, match="(?i)pickle"):
            storage.load_arrays(path)

    def test_json_round_trip(self, tmp_path):
        obj = {"b": [1, 2.5, None], "a": {"é": "ü"}, "t": True}
        storage.write_json(tmp_path / "x.json", obj)
        assert storage.read_json(tmp_path / "x.json") == obj
        text = (tmp_path / "x.json").read_text(encoding="utf-8")
        assert text.endswith("\n") and text.index('"a"') < text.index('"b"')  # sorted keys

    def test_csv_columns_read_as_pandas_wrote_them(self, tmp_path):
        """A history as TrainModel writes it, NaN epochs (empty cells) included."""
        import pandas as pd

        frame = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.5, np.nan, 0.25],
                              "val_loss": [np.nan, np.inf, 0.125]})
        frame.to_csv(tmp_path / "h.csv", index=False)
        back = storage.read_csv_columns(tmp_path / "h.csv")
        assert list(back) == ["epoch", "loss", "val_loss"]
        for column in frame:
            np.testing.assert_array_equal(back[column], frame[column].to_numpy(float))


def test_this_process_counts_as_alive():
    # the staging names carry the writer's pid: the cleanup must never take ours for dead
    assert storage._pid_alive(os.getpid())
