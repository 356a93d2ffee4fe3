"""``text-classifier`` finds the configuration and data folder the user means (--config,
$LUIGI_CONFIG_PATH, ./luigi.cfg; --data-dir, else the configuration's data_dir relative to
its file, else the user's data folder) and reads the pipeline parameters given with
--param, from any folder."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, TINY, build, make_archive, pipeline_config
from luigi.configuration import get_config

from pipeline import RunAll, cli

COMMAND = str(Path(sys.executable).with_name("text-classifier"))
TINY_PARAMS = [arg for name, value in TINY.items() for arg in ("-p", f"{name}={value}")]


def run_command(args, cwd, **env):
    """``text-classifier args`` in ``cwd``, with HOME (where the default data folder is)
    in ``cwd``'s parent."""
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", HOME=str(Path(cwd).parent / "home"),
                       **env)
    environment.pop("XDG_DATA_HOME", None)
    if "LUIGI_CONFIG_PATH" not in env:
        environment.pop("LUIGI_CONFIG_PATH", None)
    return subprocess.run([COMMAND, *args], cwd=cwd, env=environment, text=True,
                          capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project folder elsewhere: luigi.cfg with a relative data folder, and a finished run."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "luigi.cfg", root / "luigi.cfg")
    archive = make_archive(root / "aclImdb_tiny.tar.gz")
    with pipeline_config(root / "data", archive):
        assert build([RunAll(**TINY)]).status.name == "SUCCESS"
    return root


@pytest.fixture
def keep_data_dir():
    """cli.main sets [pipeline] data_dir of this process: put it back afterwards."""
    config = get_config()
    saved = config.get("pipeline", "data_dir", None)
    yield
    if saved is None:
        config.remove_option("pipeline", "data_dir")
    else:
        config.set("pipeline", "data_dir", saved)


def test_command_without_configuration_uses_the_user_s_data_folder_and_trains_nothing(
        project, tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    completed = run_command(["predict", "a fine film"], cwd=cwd)
    assert completed.returncode == 2
    data = tmp_path / "home" / ".local" / "share" / "text-classifier"
    assert completed.stderr.splitlines() == [
        f"configuration: built-in defaults; data folder: {data} (the default: no "
        f"configuration sets [pipeline] data_dir)",
        f"text-classifier: data folder {data} does not exist. Run the pipeline there first, "
        f"or give --config / --data-dir for the folder that holds your results"]
    assert list(cwd.iterdir()) == [] and not (tmp_path / "home").exists()


@pytest.mark.parametrize("how", ["option", "environment"])
def test_command_from_another_folder_finds_the_project(project, tmp_path, how):
    config = str(project / "luigi.cfg")
    if how == "option":
        completed = run_command(["predict", "--config", config, *TINY_PARAMS,
                                 "great brilliant film", "awful boring mess"], cwd=tmp_path)
    else:
        completed = run_command(["predict", *TINY_PARAMS, "great brilliant film",
                                 "awful boring mess"], cwd=tmp_path, LUIGI_CONFIG_PATH=config)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 3 and "Building" not in completed.stderr  # used the finished run
    assert list(tmp_path.iterdir()) == []
    # the relative data folder of the project's luigi.cfg, taken relative to that file
    assert f"configuration: {project / 'luigi.cfg'}; data folder: {project / 'data'}" \
        in completed.stderr


def test_the_project_s_luigi_cfg_in_the_current_folder_is_found(project):
    completed = run_command(["predict", *TINY_PARAMS, "great brilliant film"], cwd=project)
    assert completed.returncode == 0, completed.stderr
    assert len(completed.stdout.splitlines()) == 2 and "Building" not in completed.stderr
    assert f"data folder: {project / 'data'}" in completed.stderr


def test_a_luigi_cfg_in_the_current_folder_is_named_beside_the_one_given(project, tmp_path):
    """Luigi reads ./luigi.cfg whatever --config says: the command says so."""
    (tmp_path / "luigi.cfg").write_text("[core]\nautoload_range = false\n")
    completed = run_command(["predict", "--config", str(project / "luigi.cfg"), *TINY_PARAMS,
                             "a film"], cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert f"configuration: {tmp_path / 'luigi.cfg'}, {project / 'luigi.cfg'} (later files " \
           f"win); data folder: {project / 'data'}" in completed.stderr


def test_command_with_a_missing_data_folder_refuses_to_train(project, tmp_path):
    completed = run_command(["predict", "--config", str(project / "luigi.cfg"),
                             "--data-dir", str(tmp_path / "nowhere"), "a film"], cwd=tmp_path)
    assert completed.returncode == 2
    assert f"data folder {tmp_path / 'nowhere'} does not exist" in completed.stderr
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("before,after,bad", [
    (["-p", "epochs=abc"], ["-p", "seed=1"], "epochs"),
    (["-p", "seed=1"], ["-p", "epochs=abc"], "epochs"),
])
def test_command_params_before_and_after_the_subcommand_add_up(tmp_path, capsys, keep_data_dir,
                                                                before, after, bad):
    code = cli.main([*before, "--data-dir", str(tmp_path), "predict", *after, "a film"],
                    prog="text-classifier")
    assert code == 2
    assert f"--param {bad}: {bad} must be an integer from 1 to 1,000, got 'abc'" in \
        capsys.readouterr().err


@pytest.mark.parametrize("params,needle", [
    (["-p", "maxlen=150"], "text-classifier: maxlen is not a parameter of model 'mlp'"),
    (["-p", "colour=red"], "text-classifier: --param 'colour=red': expected NAME=VALUE with "
                           "NAME one of "),
    (["-p", "epochs"], "text-classifier: --param 'epochs': expected NAME=VALUE"),
    (["-p", "model=cnn"], "text-classifier: unknown model 'cnn'; choose one of mlp"),
])
def test_command_params_follow_the_parameter_rule(tmp_path, capsys, keep_data_dir, params,
                                                  needle):
    for command in (["predict", "a film"], ["decode"]):
        code = cli.main([*params, "--data-dir", str(tmp_path / "data"), *command],
                        prog="text-classifier")
        assert code == 2
        error = capsys.readouterr().err
        assert needle in error, error
        assert "Traceback" not in error
    assert not (tmp_path / "data").exists()


def test_dashes_in_param_names_are_underscores(tmp_path, capsys, keep_data_dir):
    code = cli.main(["-p", "batch-size=0", "--data-dir", str(tmp_path), "decode"],
                    prog="text-classifier")
    assert code == 2
    assert "--param batch_size: batch_size must be an integer from 1" in capsys.readouterr().err


def test_luigi_config_path_naming_two_files_is_refused(tmp_path):
    """Luigi reads one file from $LUIGI_CONFIG_PATH: a list is neither read nor
    reported as read."""
    for name in ("a.cfg", "b.cfg"):
        (tmp_path / name).write_text("[pipeline]\ndata_dir = d\n")
    env = dict(os.environ, LUIGI_CONFIG_PATH=f"{tmp_path / 'a.cfg'}:{tmp_path / 'b.cfg'}")
    for command in ([Path(sys.executable).with_name("text-classifier"), "predict", "x"],
                    [sys.executable, "-m", "pipeline", "RunAll", "--local-scheduler"]):
        completed = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True,
                                   text=True)
        assert completed.returncode == 2, completed.stderr
        assert "Luigi reads one file from it, not a list (2 paths joined by ':')" \
            in completed.stderr, completed.stderr
        assert "Traceback" not in completed.stderr


def test_an_empty_data_dir_is_refused(tmp_path):
    (tmp_path / "luigi.cfg").write_text("[pipeline]\ndata_dir =\n")
    completed = subprocess.run([sys.executable, "-m", "pipeline", "Encode",
                                "--local-scheduler"], cwd=tmp_path, capture_output=True,
                               text=True)
    assert completed.returncode != 0
    assert "[pipeline] data_dir is empty" in completed.stdout + completed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["luigi.cfg"]
