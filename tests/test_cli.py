"""``text-classifier`` (pipeline/cli.py): predict and decode with a finished run's
artifacts, and bad arguments refused in one line."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY, build, make_archive, pipeline_config

from pipeline import Encode, EvaluateTest
from pipeline.datasets.aclimdb import iter_reviews
from pipeline.io.storage import load_arrays, read_json
from pipeline.ml.inference import NumpyMLP
from pipeline.ml.predict import Review, score

CLI = str(Path(sys.executable).with_name("text-classifier"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny archive's final model, vocabulary, tasks and data folder (trained once
    for the module)."""
    root = tmp_path_factory.mktemp("cli")
    archive = make_archive(root / "aclImdb_tiny.tar.gz")
    with pipeline_config(root / "data", archive) as data:
        evaluate = EvaluateTest(**dict(TINY, epochs=8))
        assert build([evaluate]).scheduling_succeeded
        encode = evaluate.clone(Encode)
        vocabulary = read_json(encode.output()["vocabulary"].path)
        yield (NumpyMLP.load(evaluate.output_dir / EvaluateTest.WEIGHTS), vocabulary,
               evaluate, encode, data, archive)


def _cli(*args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([CLI, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def _params(**overrides):
    return [item for name, value in dict(TINY, epochs=8, **overrides).items()
            for item in ("-p", f"{name}={value}")]


def test_cli_predict_and_decode(trained, cli_dir):
    from pipeline import features

    model, vocabulary, _, encode, data_dir, tiny_archive = trained
    common = ["--data-dir", str(data_dir), *_params()]
    result = _cli("predict", *common, "brilliant wonderful superb", "", cwd=cli_dir)
    assert result.returncode == 0, result.stderr
    assert "Building" not in result.stderr  # the finished run's artifacts are used
    header, first, second = result.stdout.strip().splitlines()
    assert header == "id\tP(positive)\tlabel   \ttext"
    assert "model: mlp 2x8 relu, rmsprop lr 0.001 on aclimdb, test accuracy " in result.stderr
    number, probability, label, text = first.split("\t")
    assert number == "1" and 0 <= float(probability) <= 1 and text == "brilliant wonderful superb"
    assert label.strip() == ("positive" if float(probability) >= 0.5 else "negative")
    expected = score(model, vocabulary, [Review("1", "brilliant wonderful superb")],
                     features.get("multihot"), {}, {})[0]
    assert float(probability) == pytest.approx(expected[1], abs=1e-4)  # P(positive)
    assert "empty text" in second

    result = _cli("decode", *common, "--split", "test", "--index", "2", cwd=cli_dir)
    assert result.returncode == 0, result.stderr
    for written in ("02", "\uff12"):  # the same number, however it is written
        assert _cli("decode", *common, "--split", "test", "--index", written,
                    cwd=cli_dir).stdout == result.stdout
    arrays = load_arrays(encode.output()["sequences"].path)
    expected_file = str(arrays["test_names"][2])
    assert expected_file in result.stdout
    label = ["negative", "positive"][int(arrays["test_labels"][2])]
    assert result.stdout.splitlines()[0] == \
        f"test document 2 ({expected_file}, {label}), as the model sees it:"
    original = [text for split, _, name, text in iter_reviews(tiny_archive, "test")
                if name == expected_file and split == "test"][0]
    assert original in result.stdout
    # the decoded line holds the review's words in order (all are in this vocabulary)
    decoded = result.stdout.splitlines()[1]
    assert decoded.split()[:3] == original.lower().replace(",", " ").split()[:3]


@pytest.mark.parametrize("args, message", [
    (["decode", "--index", "999"], "--index must be between 0 and"),
    (["decode", "--index", "two"], "index must be an integer >= 0, got 'two'"),
    (["predict", "-p", "nope=1", "x"], "--param 'nope=1'"),
    (["predict", "-p", "epochs=many", "x"],
     "--param epochs: epochs must be an integer from 1 to 1,000, got 'many'"),
    (["predict"], "either texts or --file"),
])
def test_cli_bad_arguments(trained, cli_dir, args, message):
    data_dir = trained[4]
    result = _cli(*args[:1], "--data-dir", str(data_dir), *_params(), *args[1:], cwd=cli_dir)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
