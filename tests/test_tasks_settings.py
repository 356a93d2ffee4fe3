"""The settings the package supplies to Luigi and the data folder, the same for every entry
point, in any folder, with or without a luigi.cfg."""
import os
import subprocess
import sys

import pytest
from conftest import LUIGI, ROOT, configured, tiny_cli_args
from luigi.cmdline_parser import CmdlineParser

from pipeline.tasks import settings

TASK_FAILED, UNHANDLED = 30, 40


def environment(home, **extra):
    """A user's environment: no luigi.cfg named, no TensorFlow setting, HOME in tmp."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("LUIGI_CONFIG_PATH", "TF_CPP_MIN_LOG_LEVEL", "XDG_DATA_HOME",
                          settings.LOG_LEVEL_ENV)}
    return dict(env, HOME=str(home), PYTHONPATH=str(ROOT), **extra)


def python(code, cwd, env):
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=120)


@pytest.fixture
def bare(tmp_path):
    """An empty folder to run in (no luigi.cfg) and a HOME of its own."""
    (tmp_path / "run").mkdir()
    (tmp_path / "home").mkdir()
    return {"cwd": tmp_path / "run", "home": tmp_path / "home"}


def test_without_luigi_cfg_the_package_supplies_exit_codes_and_checks(bare):
    code = ("import pipeline; from luigi.configuration import get_config as g; "
            "from luigi.retcodes import retcode; r = retcode(); print(r.task_failed, "
            "r.unhandled_exception, r.scheduling_error, r.already_running, r.not_run, "
            "r.missing_data, g().getboolean('worker', 'check_complete_on_run'), "
            "g().get('core', 'log_level'), g().getint('core', 'rpc_retry_attempts'), "
            "g().getint('resources', 'training'))")
    completed = python(code, bare["cwd"], environment(bare["home"]))
    assert completed.stdout.split() == ["30", "40", "35", "10", "25", "20", "True", "INFO",
                                        "3", "2"], completed.stderr


def test_a_luigi_cfg_value_wins_over_the_built_in_one(bare):
    (bare["cwd"] / "luigi.cfg").write_text("[retcode]\ntask_failed = 3\n"
                                          "[core]\nlog_level = WARNING\n")
    code = ("import pipeline; from luigi.retcodes import retcode; "
            "from luigi.configuration import get_config as g; "
            "print(retcode().task_failed, retcode().unhandled_exception, "
            "g().get('core', 'log_level'))")
    completed = python(code, bare["cwd"], environment(bare["home"]))
    assert completed.stdout.split() == ["3", "40", "WARNING"], completed.stderr
    again = python(code, bare["cwd"], environment(bare["home"],
                                                  TEXT_CLASSIFIER_LOG_LEVEL="debug"))
    assert again.stdout.split() == ["3", "40", "DEBUG"]  # the variable beats the file


def test_without_any_setting_the_data_folder_is_the_user_s(bare, monkeypatch, tmp_path):
    with configured("pipeline", data_dir=None):
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
        monkeypatch.setenv("HOME", str(bare["home"]))
        assert settings.data_folder() == bare["home"] / ".local" / "share" / "text-classifier"
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert settings.data_folder() == tmp_path / "xdg" / "text-classifier"
        assert "(the default: no configuration sets [pipeline] data_dir)" in \
            settings.describe_setup()


def test_a_relative_data_dir_given_on_the_command_line_or_in_python_is_the_current_folder_s(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with CmdlineParser.global_instance(["RunAll", "--pipeline-data-dir", "here/data"]):
        assert settings.data_folder() == tmp_path / "here" / "data"
    with configured("pipeline", data_dir="set/in/python"):
        assert settings.data_folder() == tmp_path / "set" / "in" / "python"


@pytest.mark.parametrize("how", ["LUIGI_CONFIG_PATH", "current folder"])
def test_a_relative_data_dir_in_a_configuration_is_relative_to_that_file(bare, tmp_path, how):
    project = tmp_path / "project"
    project.mkdir()
    (project / "luigi.cfg").write_text("[pipeline]\ndata_dir = results/../data\n")
    code = ("from pipeline.tasks import settings; print(settings.data_folder()); "
            "print(settings.describe_setup())")
    if how == "LUIGI_CONFIG_PATH":
        completed = python(code, bare["cwd"], environment(
            bare["home"], LUIGI_CONFIG_PATH=str(project / "luigi.cfg")))
    else:
        completed = python(code, project, environment(bare["home"]))
    folder, line = completed.stdout.splitlines()
    assert folder == str(project / "data"), completed.stderr
    assert line == f"configuration: {project / 'luigi.cfg'}; data folder: {project / 'data'}"


def run_luigi_here(args, bare, module=False):
    command = [sys.executable, "-m", "pipeline"] if module else [str(LUIGI), "--module",
                                                                  "pipeline"]
    return subprocess.run([*command, *map(str, args), "--local-scheduler"], cwd=bare["cwd"],
                          env=environment(bare["home"]), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)


@pytest.mark.parametrize("module", [False, True], ids=["luigi", "python -m pipeline"])
def test_outside_the_project_a_failing_task_exits_30_and_ends_with_its_error(bare, module):
    completed = run_luigi_here(["RunAll", "--DownloadDataset-url", "/nonexistent.tar.gz",
                                "--pipeline-data-dir", "out"], bare, module)
    assert completed.returncode == TASK_FAILED, completed.stdout
    lines = completed.stdout.splitlines()
    assert lines[0] == f"configuration: built-in defaults; data folder: {bare['cwd'] / 'out'}"
    assert lines[-1].startswith("error: DownloadDataset: no file at /nonexistent.tar.gz. "
                                "Give the path of a copy of aclImdb_v1.tar.gz with "
                                "--DownloadDataset-url")
    assert "Traceback" not in completed.stdout
    assert list(bare["cwd"].iterdir()) == [] and list(bare["home"].iterdir()) == []


@pytest.mark.parametrize("module", [False, True], ids=["luigi", "python -m pipeline"])
def test_outside_the_project_a_bad_parameter_exits_40_in_one_line(bare, module):
    completed = run_luigi_here(["RunAll", "--epochs", "0"], bare, module)
    assert completed.returncode == UNHANDLED, completed.stdout
    assert completed.stdout.splitlines() == [
        "ERROR: epochs must be an integer from 1 to 1,000, got '0' (the book's models stop "
        "improving after about 4; more only runs for hours)"]
    assert list(bare["cwd"].iterdir()) == [] and list(bare["home"].iterdir()) == []


def test_luigi_config_path_naming_no_file_is_one_line(bare):
    completed = subprocess.run([sys.executable, "-m", "pipeline", "RunAll",
                                "--local-scheduler"], cwd=bare["cwd"], text=True,
                               env=environment(bare["home"], LUIGI_CONFIG_PATH="nope.cfg"),
                               capture_output=True, timeout=120)
    assert completed.returncode == 2
    assert completed.stderr == ("pipeline: $LUIGI_CONFIG_PATH names nope.cfg: no such file "
                                "(Luigi would run without it)\n")


def test_a_run_without_data_dir_writes_to_the_user_s_data_folder(bare, tiny_archive):
    completed = run_luigi_here(["Encode", "--DownloadDataset-url", tiny_archive,
                                *tiny_cli_args()[:2]], bare)
    assert completed.returncode == 0, completed.stdout
    data = bare["home"] / ".local" / "share" / "text-classifier"
    assert completed.stdout.splitlines()[0] == (
        f"configuration: built-in defaults; data folder: {data} (the default: no "
        f"configuration sets [pipeline] data_dir)")
    assert sorted(path.name for path in data.iterdir()) == ["DownloadDataset", "Encode"]
    assert list(bare["cwd"].iterdir()) == []
    assert completed.stdout.splitlines()[-1].startswith(f"Encode complete: {data / 'Encode'}/")
