"""TensorFlow started without its start-up chatter on the terminal.

Importing TensorFlow writes about ten lines straight to the process's standard error
(file descriptor 2), before its own logging is set up, so ``TF_CPP_MIN_LOG_LEVEL``
does not hide them: absl's "All log messages before absl::InitializeLog()", oneDNN's
"custom operations are on", "Could not find cuda drivers", and, when it first looks for
a GPU on a machine without one, ``E0000 ... failed call to cuInit: ... CUDA error``,
which reads as a failure although it is not. :func:`start_tensorflow` imports
TensorFlow and probes its devices with file descriptor 2 captured, then writes back
every captured line that is not such start-up information, so a real error is still
seen. Nothing here changes how TensorFlow computes.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

#: Lines of TensorFlow's start-up that inform and do not need the user: absl's preamble,
#: absl-format info and warning lines, the CPU-instructions note, a failed GPU probe.
START_UP_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to "
    r"STDERR"
    r"|[IW]\d{4} [\d:.]+\s+\d+ \S+:\d+\] .*"
    r"|E\d{4} [\d:.]+\s+\d+ cuda\w*\.cc:\d+\] failed call to cuInit.*"
    r"|To enable the following instructions: .*in other operations, rebuild TensorFlow "
    r"with the appropriate compiler flags\.")


@contextmanager
def captured_stderr() -> Iterator[list[str]]:
    """Capture what is written to file descriptor 2 (C libraries included) inside the
    block; the list holds the captured lines afterwards."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines += sink.read().decode("utf-8", "replace").splitlines(keepends=True)


def without_noise(lines: list[str]) -> list[str]:
    """The captured lines that are not TensorFlow's start-up information."""
    return [line for line in lines if not START_UP_NOISE.fullmatch(line.rstrip("\r\n"))]


def start_tensorflow(quiet: bool = True) -> None:
    """Import TensorFlow and find its devices (once per process); with ``quiet``, keep
    its start-up information off the terminal, its C++ log to errors
    (``TF_CPP_MIN_LOG_LEVEL=2`` unless set already) and its Python log to errors."""
    if "tensorflow" in sys.modules or not quiet:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with captured_stderr() as lines:
        import tensorflow as tf

        tf.config.list_physical_devices()
    # its Python warnings too: "tf.function retracing" after a few trainings in one
    # process (a search's trials) is advice to TensorFlow's users, not to ours
    tf.get_logger().setLevel(logging.ERROR)
    kept = without_noise(lines)
    if kept:
        sys.stderr.write("".join(kept))
        sys.stderr.flush()
