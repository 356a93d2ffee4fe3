"""``python -m pipeline.forget``: delete a stage's outputs and those of everything
downstream of it, in one configuration's graph, so that the next run recomputes them."""
import shutil
import subprocess
import sys

import pytest
from conftest import (
    TINY,
    build,
    configured,
    folder_mtimes,
    mtimes,
    only_folder,
    output_folders,
    ran_families,
)
from luigi.task_register import Register

from pipeline import PipelineError, RunAll, TrainModel
from pipeline.forget import affected_tasks, forget, main

DOWNSTREAM_OF_SPLIT = ["SplitValidation", "TrainModel", "EvaluateTest", "PlotHistory",
                       "PlotConfusion", "RunAll"]
TINY_ARGS = ["--num-words", "40", "--validation-size", "10", "--epochs", "3",
             "--batch-size", "8", "--units", "8"]





@pytest.mark.slow
def test_forget_split_validation_then_rebuild(copy_of_base):
    """README "force a recomputation": forget a stage, rebuild; only it and everything
    downstream of it rerun; DownloadDataset, Encode and Featurize stay untouched."""
    data = copy_of_base
    kept = folder_mtimes(data, ["DownloadDataset", "Encode", "Featurize"])
    downstream = DOWNSTREAM_OF_SPLIT
    before = folder_mtimes(data, downstream)
    expected = sorted(str(only_folder(data, family)) for family in downstream)
    deleted = forget(RunAll(**TINY), "SplitValidation")
    assert sorted(map(str, deleted)) == expected
    for family in downstream:
        assert output_folders(data, family) == [], family

    result = build([RunAll(**TINY)])
    assert result.status.name == "SUCCESS", result.summary_text
    assert ran_families(result) == sorted(downstream)
    assert folder_mtimes(data, ["DownloadDataset", "Encode", "Featurize"]) == kept
    after = folder_mtimes(data, downstream)
    for family in downstream:
        assert set(after[family]) == set(before[family])
        assert all(after[family][f] > before[family][f] for f in after[family]), family


def test_forget_command_uses_the_data_dir_given_on_its_command_line(copy_of_base, tmp_path,
                                                                      capsys):
    """`python -m pipeline.forget ... --pipeline-data-dir D` deletes under D, and only there."""
    configured_data = copy_of_base
    other = tmp_path / "other"
    shutil.copytree(configured_data, other, copy_function=shutil.copy2)
    untouched = folder_mtimes(configured_data, ["TrainModel", "EvaluateTest"])
    args = [*TINY_ARGS, "--pipeline-data-dir", str(other)]

    assert main(["TrainModel", *args]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 5 and all(line.startswith(f"deleted {other}") for line in printed)
    for family in ("TrainModel", "EvaluateTest", "PlotHistory", "PlotConfusion", "RunAll"):
        assert output_folders(other, family) == [], family
    assert output_folders(other, "SplitValidation") != []
    assert folder_mtimes(configured_data, ["TrainModel", "EvaluateTest"]) == untouched


def test_a_dry_run_lists_and_deletes_nothing(copy_of_base, capsys):
    before = mtimes(copy_of_base)
    assert main(["Encode", *TINY_ARGS, "--dry-run"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 8  # everything but DownloadDataset is downstream of Encode
    assert all(line.startswith(f"would delete {copy_of_base}") for line in printed)
    assert mtimes(copy_of_base) == before


def test_the_reference_models_of_another_run_are_not_forgotten(tmp_path):
    """RunAll of Reuters requires the book's bottleneck model: a run of its own, which
    forgetting this run's TrainModel leaves alone."""
    with configured("pipeline", data_dir=tmp_path / "data"):
        run = RunAll(dataset="reuters")
        families = [task.get_task_family() for task in affected_tasks(run, "TrainModel")]
        assert sorted(families) == ["EvaluateTest", "PlotConfusion", "PlotHistory", "RunAll",
                                    "TrainModel"]
        assert families[-1] == "RunAll"  # the root last
        bottleneck = run.references()["bottleneck"]
        folders = [task.output_dir for task in affected_tasks(run, "TrainModel")]
        assert bottleneck.output_dir not in folders
        assert run.requires()["evaluate"].output_dir in folders
        assert forget(run, "TrainModel", dry_run=True) == []  # none of them exists


def test_a_family_not_in_the_graph_is_refused(tmp_path):
    with configured("pipeline", data_dir=tmp_path / "data"):
        with pytest.raises(PipelineError, match="no DownloadVectors task in the graph of "
                                                "RunAll"):
            forget(RunAll(), "DownloadVectors")


@pytest.mark.parametrize("args,needle", [
    (["TrainModel", "--epochs", "0"], "error: epochs must be an integer from 1 to 1,000"),
    (["TrainModel", "--model", "mlp", "--maxlen", "150"],
     "error: maxlen is not a parameter of model 'mlp'"),
    (["Colour"], "error: no Colour task in the graph of RunAll"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, args, needle):
    Register.clear_instance_cache()
    assert main([*args, "--pipeline-data-dir", str(tmp_path / "data")]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == captured.err.strip().splitlines()[0]
    assert captured.err.startswith(needle), captured.err
    assert captured.out == ""
    assert not (tmp_path / "data").exists()


def test_without_a_task_it_prints_its_usage(capsys):
    assert main([]) == 2
    assert "python -m pipeline.forget TrainModel" in capsys.readouterr().err
    assert main(["--dry-run"]) == 2


def test_a_value_on_the_command_line_beats_a_bad_one_in_luigi_cfg(cli_dir, tmp_path):
    cfg = cli_dir / "luigi.cfg"
    cfg.write_text(cfg.read_text().replace("\n[experiment]\n", "\n[experiment]\nepochs = abc\n"))
    data = tmp_path / "data"
    listed = subprocess.run([sys.executable, "-m", "pipeline.forget", "TrainModel", "--dry-run",
                             "--epochs", "3", "--pipeline-data-dir", str(data)],
                            cwd=cli_dir, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("nothing deleted: TrainModel was never run with these "
                                    f"parameters in {data}") and "Traceback" not in listed.stderr
    failed = subprocess.run([sys.executable, "-m", "pipeline.forget", "TrainModel", "--dry-run",
                             "--pipeline-data-dir", str(data)],
                            cwd=cli_dir, capture_output=True, text=True)
    assert failed.returncode == 2, failed.stderr
    assert "Traceback" not in failed.stderr
    assert "error: [experiment] in luigi.cfg: epochs must be an integer from 1 to 1,000, " \
           "got 'abc'" in failed.stderr
    assert not data.exists()


def test_a_configuration_never_run_deletes_nothing_and_names_the_closest_runs(copy_of_base,
                                                                               capsys):
    before = mtimes(copy_of_base)
    args = [*TINY_ARGS, "--pipeline-data-dir", str(copy_of_base)]
    args[args.index("--epochs") + 1] = "10"
    assert main(["TrainModel", *args]) == 0
    captured = capsys.readouterr()
    wanted = TrainModel(**dict(TINY, epochs=10)).output_dir.name
    ran = only_folder(copy_of_base, "TrainModel").name
    assert captured.out.splitlines() == [
        f"nothing deleted: TrainModel was never run with these parameters in "
        f"{copy_of_base} (no {wanted})",
        "closest TrainModel runs there (parameters that differ; '-' = not read):",
        f"  {ran}: epochs 3 (not 10)"]
    assert captured.err.startswith("configuration: ")
    assert mtimes(copy_of_base) == before


def test_a_family_never_run_at_all_says_so(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    assert main(["TrainModel", "--pipeline-data-dir", str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"nothing deleted: TrainModel was never run with these "
                               f"parameters in {data}")
    assert lines[1:] == ["no TrainModel run is recorded there at all"]
    assert list(data.iterdir()) == []


def test_only_existing_folders_are_listed(copy_of_base, capsys):
    shutil.rmtree(only_folder(copy_of_base, "PlotHistory"))
    assert main(["TrainModel", *TINY_ARGS, "--pipeline-data-dir", str(copy_of_base)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert sorted(line.split("/")[-2] for line in printed) == [
        "EvaluateTest", "PlotConfusion", "RunAll", "TrainModel"]
