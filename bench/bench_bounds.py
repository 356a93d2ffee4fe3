"""Every reader at its stated bound: wall time and peak memory, each in a fresh process.

Run from the project folder, on a quiet machine::

    python bench/bench_bounds.py            # every case (a few minutes)
    python bench/bench_bounds.py --quick    # the same cases at a quarter of their size
    python bench/bench_bounds.py --only toml,grid

Each case builds its input in a temporary folder (the worst shape we know for that
reader: a dotted key as deep as the file allows, a CSV whose every row opens a quote,
SGML of unclosed tags, a gzip bomb, ...), then runs the reader in a child process and
prints the input's size, what the reader said (the first line of its error, or "read"),
the wall time and the child's peak resident memory (``ru_maxrss``). The figures of
docs/bounds.md come from here.
"""
from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1 << 20

_CASE = textwrap.dedent("""
    import sys, time
    start = time.monotonic()
    try:
        exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"),
             {"__name__": "__bench__", "ARGS": sys.argv[2:]})
        said = "read"
    except Exception as exc:  # the reader's refusal is the expected outcome
        said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    print(f"RESULT\\t{time.monotonic() - start:.2f}\\t{said}")
""")
# A small process between this one and the case: ru_maxrss of a process forked from a
# large one starts at its parent's size; a grandchild of a small process does not.
_WRAPPER = textwrap.dedent("""
    import resource, subprocess, sys
    subprocess.run([sys.executable, "-c", sys.argv[1], *sys.argv[2:]])
    print("PEAK", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
""")


def run(snippet: str, *args: object) -> tuple[float, float, str]:
    """``(seconds, peak MB, what it said)`` of ``snippet`` in a fresh interpreter."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(textwrap.dedent(snippet))
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", _WRAPPER, _CASE, handle.name,
                           *map(str, args)], capture_output=True, text=True, env=env, cwd=ROOT)
    os.unlink(handle.name)
    line = next((line for line in done.stdout.splitlines() if line.startswith("RESULT")),
                None)
    peak = next((float(line.split()[1]) for line in done.stdout.splitlines()
                 if line.startswith("PEAK")), float("nan"))
    if line is None:
        return float("nan"), peak, f"failed: {done.stderr.strip()[-200:]}"
    _, seconds, said = line.split("\t", 2)
    return float(seconds), peak, said


# ------------------------------------------------------------------------------ cases

def case_toml(folder: Path, scale: float) -> tuple[int, str, tuple[object, ...]]:
    """A variants file at its 1 MB bound: one dotted key as deep as it fits."""
    path = folder / "deep.toml"
    depth = int((1 * MB - 10) * scale) // 2
    path.write_text("[a]\n" + ".".join(["a"] * depth) + " = 1\n")
    return path.stat().st_size, """
        from pipeline.ml.compare import load_variants
        load_variants(ARGS[0])
    """, (path,)


def case_variants(folder: Path, scale: float) -> tuple[int, str, tuple[object, ...]]:
    """10,000 variants (the bound) with two parameters each."""
    path = folder / "many.toml"
    count = int(10_000 * scale)
    path.write_text("".join(f"[v{i}]\nepochs = {1 + i % 999}\nunits = {1 + i // 999}\n"
                            for i in range(count)))
    return path.stat().st_size, """
        from pipeline.ml.compare import load_variants
        assert len(load_variants(ARGS[0])) > 0
    """, (path,)


def case_grid(folder: Path, scale: float) -> tuple[int, str, tuple[object, ...]]:
    """Planning CompareModels over 10,000 variants: build, requires(), complete()."""
    path = folder / "grid.toml"
    count = int(10_000 * scale)
    path.write_text("".join(f"[v{i}]\nepochs = {1 + i % 999}\nunits = {1 + i // 999}\n"
                            for i in range(count)))
    return path.stat().st_size, """
        from luigi.configuration import get_config
        import pipeline
        get_config().set("pipeline", "data_dir", ARGS[1])
        grid = pipeline.CompareModels(variants_file=ARGS[0])
        assert len(grid.requires()) > 0 and not grid.complete()
    """, (path, folder / "data")


def case_config(folder: Path, scale: float) -> tuple[int, str, tuple[object, ...]]:
    """A configuration whose references would expand to 10**10 bytes."""
    path = folder / "luigi.cfg"
    lines = ["[pipeline]", "v0 = xxxxxxxxxx"]
    lines += [f"v{k} = " + f"%(v{k - 1})s" * 10 for k in range(1, 11)]
    path.write_text("\n".join(lines) + "\n")
    return path.stat().st_size, """
        from pipeline.io.configcheck import check_config
        check_config(ARGS[0])
    """, (path,)


def case_csv(folder: Path, scale: float) -> tuple[int, str, tuple[object, ...]]:
    """A predict CSV at its bounds (64 MB, 1,000,000 documents) whose every row opens a
    quote it never closes."""
    path = folder / "broken.csv"
    rows = int(1_000_000 * scale)
    path.write_text("id,text\n" + ('x,"' + "y" * 60 + "\n") * rows)
    return path.stat().st_size, """
        from pipeline.ml.predict import read_reviews
        read_reviews(ARGS[0])
    """, (path,)


def case_sgml(folder: Path, scale: float) -> tuple[int, str, tuple[object, ...]]:
    """A 16 MB SGML file (the bound) of unclosed tags and topic lists."""
    path = folder / "x.sgm"
    unit = '<REUTERS NEWID="1"><TOPICS><D>x</D></TOPICS><TEXT><A <B </TEXT></REUTERS>'
    path.write_text(unit * int(16 * MB * scale / len(unit)))
    return path.stat().st_size, """
        from pipeline.datasets.reuters import parse_sgml
        parse_sgml(open(ARGS[0], encoding="latin-1").read(), "x.sgm")
    """, (path,)


def _gzip_tar(path: Path, size: int) -> None:
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("aclImdb/train/unsup/zeros.bin")
        info.size = size

        class Zeros(io.RawIOBase):
            left = size

            def readable(self) -> bool:
                return True

            def readinto(self, buffer: object) -> int:
                view = memoryview(buffer)  # type: ignore[arg-type]
                n = min(len(view), self.left)
                view[:n] = bytes(n)
                self.left -= n
                return n

        tar.addfile(info, Zeros())


def case_tar_bomb(folder: Path, scale: float) -> tuple[int, str, tuple[object, ...]]:
    """A gzip tar that decompresses past the 4 GB bound (one member of zeros)."""
    path = folder / "bomb.tar.gz"
    _gzip_tar(path, int((4 << 30) * scale) + MB)
    return path.stat().st_size, """
        from pipeline.io import archive
        archive.MAX_ARCHIVE_BYTES = int(archive.MAX_ARCHIVE_BYTES * float(ARGS[1]))
        for member in archive.members(ARGS[0]):
            pass
    """, (path, scale)


def case_real_archive(folder: Path, scale: float) -> tuple[int, str, tuple[object, ...]]:
    """The real labelled IMDB archive, every member read (../shared/data)."""
    path = ROOT.parent / "shared" / "data" / "aclImdb_v1_labelled.tar.gz"
    if not path.exists():
        return 0, "raise RuntimeError('no real archive')", ()
    return path.stat().st_size, """
        from pipeline.datasets.aclimdb import survey
        print(survey(ARGS[0])[0])
    """, (path,)


def case_json(folder: Path, scale: float) -> tuple[int, str, tuple[object, ...]]:
    """A vocabulary.json at the 128 MB bound of JSON outputs (short words)."""
    import json

    path = folder / "Encode" / "x" / "vocabulary.json"
    path.parent.mkdir(parents=True)
    words = int(128 * MB * scale) // 13 - 10
    path.write_text(json.dumps({"words": [f"w{i:07d}" for i in range(words)],
                                "num_words": 10, "class_names": ["a", "b"]}))
    return path.stat().st_size, """
        from pipeline.io import storage
        from pipeline.tasks.base import VOCABULARY
        storage.read_json(ARGS[0], VOCABULARY)
    """, (path,)


def case_npz(folder: Path, scale: float) -> tuple[int, str, tuple[object, ...]]:
    """An output .npz whose array header declares 8 TB."""
    import zipfile

    import numpy as np

    path = folder / "Featurize" / "x" / "features.npz"
    path.parent.mkdir(parents=True)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<i8", "fortran_order": False, "shape": (2**40,)})
    with zipfile.ZipFile(path, "w") as packed:
        packed.writestr("train_values.npy", header.getvalue() + bytes(16))
    return path.stat().st_size, """
        from pipeline.io import storage
        storage.load_arrays(ARGS[0])
    """, (path,)


CASES: dict[str, Callable[[Path, float], tuple[int, str, tuple[object, ...]]]] = {
    "toml": case_toml, "variants": case_variants, "grid": case_grid, "config": case_config,
    "csv": case_csv, "sgml": case_sgml, "tar_bomb": case_tar_bomb,
    "real_archive": case_real_archive, "json": case_json, "npz": case_npz}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of each bound")
    parser.add_argument("--only", default="", help="comma-separated cases: " + ", ".join(CASES))
    args = parser.parse_args()
    scale = 0.25 if args.quick else 1.0
    chosen = [name for name in args.only.split(",") if name] or list(CASES)
    print(f"{'case':14}{'input':>12}{'seconds':>9}{'peak MB':>9}  result")
    for name in chosen:
        with tempfile.TemporaryDirectory() as folder:
            size, snippet, case_args = CASES[name](Path(folder), scale)
            start = time.monotonic()
            seconds, peak, said = run(snippet, *case_args)
            del start
            print(f"{name:14}{size / MB:>10.1f}MB{seconds:>9.2f}{peak:>9.0f}  {said[:90]}",
                  flush=True)


if __name__ == "__main__":
    main()
