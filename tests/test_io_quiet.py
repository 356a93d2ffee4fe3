"""TensorFlow started without its start-up lines on the terminal, its real errors kept."""
import os
import subprocess
import sys

import pytest
from conftest import ROOT

from pipeline.io.quiet import captured_stderr, without_noise

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1796476712.077873   31131 port.cc:153] oneDNN custom operations are on. "
    "You may see slightly different numerical results due to floating-point round-off "
    "errors from different computation orders.\n",
    "I0000 00:00:1796476712.078196   31131 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.\n",
    "E0000 00:00:1796476718.327872   31131 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild "
    "TensorFlow with the appropriate compiler flags.\n",
]


def test_start_up_lines_go_and_everything_else_stays():
    real = ["E0000 00:00:1.5   7 op_kernel.cc:1] OP_REQUIRES failed: out of memory\n",
            "Traceback (most recent call last):\n", "a line of the user's own\n"]
    assert without_noise(NOISE + real) == real


def test_what_c_code_writes_to_file_descriptor_2_is_captured():
    with captured_stderr() as lines:
        os.write(2, b"from C\n")
        os.write(2, b"and more")
    assert lines == ["from C\n", "and more"]


@pytest.mark.slow
def test_tensorflow_starts_without_a_line_on_the_terminal(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    code = ("import sys; from pipeline.io.quiet import start_tensorflow; start_tensorflow(); "
            "import keras; keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]); "
            "print('started', 'tensorflow' in sys.modules, file=sys.stderr)")
    completed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=dict(
        env, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == "started True\n"
