"""Tune: a hyperparameter search whose every trial is an ordinary TrainModel.

    luigi --module pipeline Tune --local-scheduler --trials 50 --workers 2
    luigi --module pipeline Tune --local-scheduler --model nbsvm --space my_space.toml

Optuna's TPE sampler (seeded with ``--seed``) proposes the trials; each is the
TrainModel of the fixed parameters (the command line's and the defaults) with the
trial's values, yielded to Luigi as a dynamic dependency, a batch at a time (as many
as ``--workers``, or ``--batch``). So a trial run before (by RunAll, a grid or an
earlier search) is not trained again, and trials run in parallel like any tasks. Its
objective comes from the validation history alone (:mod:`pipeline.ml.search`). Once
``--trials`` trials are finished, the best configuration and the default one are
trained and tested with ``--seeds`` seeds (ordinary EvaluateTest tasks): the only
place the test set is read.

The study lives in the data folder, ``studies/<name>/journal.log`` (Optuna's journal
file storage, with its file lock), so a killed search resumes where it stopped, an
identical command trains nothing, a larger ``--trials`` continues the same study, and
several processes (``python -m pipeline Tune`` against one luigid, on machines sharing
the data folder) work on one study without repeating a trial.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import luigi

from ..errors import PipelineError, user_error
from ..io import storage
from ..ml.search import OBJECTIVES
from ..params import CATALOGUE, Choice, Integer, Param, Text, Value
from .base import HISTORY, METRICS, TRAINING, PipelineTask, data_folder
from .chain import DownloadDataset, EvaluateTest, TrainModel
from .grids import MAX_SEEDS
from .parameters import FINAL, Chosen, Own, default

logger = logging.getLogger("luigi-interface")

SPACES = Path(__file__).resolve().parents[1] / "spaces"
MAX_TRIALS = 10_000
MAX_BATCH = 256
STUDIES = "studies"
JOURNAL = "journal.log"
STUDY_FILE = "study.json"
_STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _is_spread(value: Any) -> bool:
    """best.json's test accuracies: the best and default configurations' spread."""
    keys = ("seeds", "mean_test_accuracy", "std_test_accuracy", "min_test_accuracy",
            "max_test_accuracy")
    return isinstance(value, dict) and {"best", "default"} <= set(value) and all(
        isinstance(row, dict) and all(storage.is_number(row.get(key)) for key in keys)
        for row in value.values())


#: best.json as describe_result reads it back
BEST: storage.Shape = {
    key: (check, what) for key, check, what in (
        ("dataset", lambda value: isinstance(value, str), "a dataset name"),
        ("model", lambda value: isinstance(value, str), "a model name"),
        ("trial", storage.is_count, "a trial number"),
        ("objective", lambda value: isinstance(value, str), "an objective"),
        ("value", storage.is_finite, "a number"),
        ("searched", lambda value: isinstance(value, dict), "an object"),
        ("run_all", lambda value: isinstance(value, str), "a command"),
        ("apart", lambda value: value is None or isinstance(value, bool), "true, false or null"),
        ("test_accuracy", _is_spread,
         "the best and default configurations' test accuracies"))}

SPACE = Param("space", Text("path of a TOML file"), "",
              "TOML file of the search space (default: the model's shipped space, "
              "pipeline/spaces/<model>.toml)")
TRIALS = Param("trials", Integer(1, MAX_TRIALS), 50,
               "Finished trials to reach (the study keeps earlier ones: raise it to continue "
               "a search)")
SEEDS = Param("seeds", Integer(1, MAX_SEEDS), 5,
              "Seeds of the final comparison on the test set (seed, seed + 1, ...) for the "
              "best and the default configuration")
OBJECTIVE = Param("objective", Choice(tuple(OBJECTIVES)), "val_loss",
                  "What a trial is judged on, from its validation history: val_loss "
                  "(lowest) or val_accuracy (highest)")
STUDY = Param("study", Text("study name"), "",
              "Name of the study in <data_dir>/studies/ (default: <dataset>-<model>- and a "
              "hash of the fixed parameters, the space and the objective)")
BATCH = Param("batch", Integer(0, MAX_BATCH), 0,
              "Trials proposed at once and trained side by side (0: as many as --workers); "
              "it changes which trials a new study draws, yet is not part of the task id")

#: What every trial's TrainModel reads that a search must not change, and why.
FIXED = {
    "dataset": "a search compares configurations on one dataset: choose it with --dataset",
    "model": "a space is searched for one model: choose it with --model",
    "seed": "every trial trains with --seed, and the final comparison with --seeds seeds",
    "validation_size": "it changes what the objective measures: fix it with "
                       "--validation-size",
    "train_size": "it changes what the objective measures: fix it with --train-size",
    "epochs": "each trial finds its best epoch in its validation history (the final model "
              "trains that many epochs) and a longer run can only score as well or better: "
              "fix the length of every trial with --epochs",
}
LOSS_SCALES = ("different losses give validation losses on different scales: search it "
               "with --objective val_accuracy")


def searchable(chosen: Chosen, objective: str) -> tuple[dict[str, Param], dict[str, str]]:
    """``(parameters a trial may change, {parameter: why not} for the others a trial's
    TrainModel reads)`` with these plug-ins and this objective."""
    refused = dict(FIXED)
    if chosen.dataset is not None:
        for param in chosen.dataset.parameters:
            refused[param.name] = (f"it belongs to dataset {chosen.dataset.name}: a search "
                                   f"compares configurations on fixed documents")
    if objective == "val_loss":
        refused["loss"] = LOSS_SCALES
    reads = TrainModel.reads(chosen)
    return ({name: CATALOGUE.get(name) for name in CATALOGUE.params
             if name in reads and name not in refused},
            {name: why for name, why in refused.items() if name in reads})


def study_folder(name: str) -> Path:
    """Where study ``name`` is kept in the data folder."""
    return data_folder() / STUDIES / name


class Tune(PipelineTask):
    """A seeded TPE search over a model's parameters; every trial an ordinary TrainModel,
    judged on its validation history; then the best configuration against the default
    one on the test set over several seeds."""

    always = FINAL
    chooses = ("dataset", "model")
    space = Own[str](SPACE)
    trials = Own[int](TRIALS)
    seeds = Own[int](SEEDS)
    objective = Own[str](OBJECTIVE)
    study = Own[str](STUDY)
    batch = Own[int](BATCH, significant=False)
    files = {"trials_csv": "trials.csv", "trials_md": "trials.md", "best": "best.json",
             "history": "optimization_history.png", "importance": "param_importances.png",
             "comparison_csv": "comparison.csv", "comparison_md": "comparison.md",
             "comparison_png": "comparison.png"}

    # ------------------------------------------------------------------ what is searched

    @property
    def chosen(self) -> Chosen:
        return Chosen(self.dataset_plugin, (self.model_plugin,))

    @property
    def space_path(self) -> Path:
        if self.space:
            return Path(self.space).expanduser()
        path = SPACES / f"{self.model}.toml"
        if not path.is_file():
            raise PipelineError(f"model {self.model!r} has no shipped search space "
                                f"({path.name}): give one with --space")
        return path

    # The space is read from its file on each use, as CompareModels reads its variants:
    # Luigi reuses task instances, and an edited file must never be seen stale.
    @property
    def search_space(self) -> Any:
        from ..ml.search import load_space

        allowed, refused = searchable(self.chosen, str(self.objective))
        return load_space(self.space_path, allowed, refused, f"model {self.model!r}")

    @property
    def declarations(self) -> dict[str, Param]:
        return {name: CATALOGUE.get(name) for name in TrainModel.reads(self.chosen)}

    @property
    def base(self) -> dict[str, Value]:
        """The default configuration: what an EvaluateTest reads, as this task holds it."""
        reads = EvaluateTest.reads(self.chosen)
        return {name: value for name, value in self.param_kwargs.items() if name in reads}

    @property
    def train_base(self) -> dict[str, Value]:
        reads = TrainModel.reads(self.chosen)
        return {name: value for name, value in self.base.items() if name in reads}

    def signature(self, space: Any) -> dict[str, Any]:
        """What makes a study: the fixed parameters of its trials, the space, the
        objective (the sampler is seeded with the fixed ``seed``)."""
        fixed = {name: self.declarations[name].serialize(value)
                 for name, value in self.train_base.items() if name not in space.names}
        return {"dataset": self.dataset, "model": self.model,
                "objective": str(self.objective), "fixed": fixed,
                "space": space.canonical()}

    def study_name(self, signature: Mapping[str, Any]) -> str:
        from ..ml.search import digest

        return str(self.study) or f"{self.dataset}-{self.model}-{digest(signature)}"

    # ---------------------------------------------------------------------------- checks

    def check_params(self) -> None:
        super().check_params()
        if importlib.util.find_spec("optuna") is None:
            raise PipelineError("Tune needs Optuna, which is not installed: pip install -c "
                                "constraints.txt -e '.[tune]' (from the project folder)")
        kind = CATALOGUE.get("seed").kind
        last = kind.maximum if isinstance(kind, Integer) and kind.maximum is not None \
            else 2 ** 32 - 1
        if self.seed + self.seeds - 1 > last:
            raise PipelineError(f"seeds {self.seed} to {self.seed + self.seeds - 1} go past the "
                                f"largest seed, {last:,}: give a smaller --seed or --seeds")
        if self.study and not _STUDY_NAME.fullmatch(str(self.study)):
            raise PipelineError(f"study name {self.study!r}: use 1 to 100 letters, digits, "
                                f"'.', '_' or '-', starting with a letter or digit")
        space = self.search_space
        signature = self.signature(space)
        check_study(study_folder(self.study_name(signature)), signature)

    # --------------------------------------------------------------------------- outputs

    @property
    def output_dir(self) -> Path:
        """One folder per search: its task id and the study (name, space, fixed values)."""
        from ..ml.search import digest

        signature = self.signature(self.search_space)
        key = digest({"study": self.study_name(signature), "signature": signature})
        return data_folder() / self.get_task_family() / f"{self.task_id}_{key}"

    def at_once(self) -> int:
        """Trials proposed at once: ``--batch``, else the number of Luigi workers."""
        if self.batch:
            return int(self.batch)
        from luigi.interface import core

        try:
            return max(1, min(MAX_BATCH, int(core().workers)))
        except (TypeError, ValueError):
            return 1

    # ------------------------------------------------------------------------ the search

    def trial_task(self, space: Any, drawn: Mapping[str, Any]) -> TrainModel:
        """The TrainModel of a trial's draws (a PipelineError for a configuration the
        model refuses: units that do not match layers, a model too large, ...)."""
        from ..ml.search import trial_values

        values = trial_values(space, drawn, self.declarations)
        return TrainModel(**{**self.train_base, **values})

    def requires(self) -> DownloadDataset:
        """The documents every trial reads (a static dependency: the run that asked for
        the search knows it and ends with its result, however many workers it has)."""
        return self.clone(DownloadDataset)

    def run(self) -> Iterator[Any]:
        from ..ml.search import trial_values

        space = self.search_space
        signature = self.signature(space)
        name = self.study_name(signature)
        search = Search(self, space, name, signature)
        while True:
            waiting = search.settle()
            finished = search.finished()
            self.report(f"{len(finished)} of {self.trials} trials finished"
                        f"{search.best_text(finished)}",
                        100 * min(len(finished), self.trials) / self.trials)
            if len(finished) >= self.trials:
                break
            # Trials still training (after a kill, or another process's) are waited for
            # beside this pass's own batch: each process keeps its workers busy.
            room = min(self.at_once(), self.trials - len(finished) - len(waiting))
            todo = waiting + search.propose(max(0, room))
            if todo:
                search.mark_waiting(todo)
                yield [task for _, task in todo]

        chosen = search.finished()[:self.trials]
        # a finished trial whose TrainModel folder was deleted since (forget, by hand) is
        # trained again, deterministically, for its row of the tables
        gone = [task for task in search.trained(chosen) if not task.complete()]
        if gone:
            yield gone
        best = search.best(chosen)
        best_values = trial_values(space, best.params, self.declarations)
        configurations = {"best": {**self.base, **best_values}, "default": dict(self.base)}
        evaluations = {(which, self.seed + k): EvaluateTest(**dict(params, seed=self.seed + k))
                       for which, params in configurations.items() for k in range(self.seeds)}
        yield list(evaluations.values())
        self.write(search, chosen, best, best_values, evaluations)

    def write(self, search: Search, chosen: Sequence[Any], best: Any,
              best_values: Mapping[str, Value], evaluations: Mapping[tuple[str, int],
                                                                     EvaluateTest]) -> None:
        """Every output of the search, written at once."""
        from ..ml import plots
        from ..ml import search as ml

        shown = sorted([*chosen, *search.interrupted(chosen[-1].number)],
                       key=lambda trial: trial.number)
        rows = [search.row(trial) for trial in shown]
        comparison = []
        for (which, seed), evaluate in evaluations.items():
            metrics = storage.read_json(evaluate.output()["metrics"].path, METRICS)
            history = storage.read_csv_columns(
                evaluate.clone(TrainModel).output()["history"].path, HISTORY)
            result = ml.outcome(history, "val_loss")
            comparison.append({"configuration": which, "seed": seed,
                               "test_accuracy": metrics["accuracy"],
                               "test_loss": metrics["loss"],
                               "final_epochs": metrics["final_epochs"],
                               "val_loss": result.val_loss,
                               "val_accuracy": result.val_accuracy})
        summary = ml.summarize(comparison)
        same = evaluations["best", self.seed].task_id == evaluations["default", self.seed].task_id
        compared = None if same else ml.verdict(summary[0], summary[1])
        title = f"{self.dataset_plugin.title}: {self.model} search"
        searched = dict(best_values)
        record = self.best_record(search, best, searched, summary, compared)
        folder_shown = search.folder
        about = [f"Study `{search.name}` ({folder_shown}); space {search.space.source}: "
                 f"{search.space.describe()}.",
                 f"Fixed: {', '.join(f'{k}={v}' for k, v in search.signature['fixed'].items())}."]
        with self.staged() as folder:
            ml.write_trials_csv(rows, search.space.names, folder / self.files["trials_csv"])
            ml.write_trials_markdown(rows, search.space.names, folder / self.files["trials_md"],
                                     title=title, objective=str(self.objective), about=about,
                                     best=best.number)
            storage.write_json(folder / self.files["best"], record, sort_keys=False)
            ml.plot_search(chosen, str(self.objective), folder / self.files["history"],
                           folder / self.files["importance"], title)
            ml.write_comparison_csv(comparison, folder / self.files["comparison_csv"])
            ml.write_comparison_markdown(
                comparison, summary, compared,
                {"best": f"trial {best.number}: " + _assignments(searched),
                 "default": "the fixed parameters alone (" +
                            _assignments({k: self.base[k] for k in searched}) + ")"},
                folder / self.files["comparison_md"],
                f"{title}: the best configuration against the default on the test set")
            plots.plot_test_accuracy_spread(summary, folder / self.files["comparison_png"])

    def describe_result(self) -> str:
        record = storage.read_json(self.output()["best"].path, BEST)
        return describe(record, str(self.output_dir))

    def best_record(self, search: Search, best: Any, searched: Mapping[str, Value],
                    summary: Sequence[Mapping[str, Any]], compared: Mapping[str, Any] | None
                    ) -> dict[str, Any]:
        """best.json: the best trial's parameters, ready for RunAll or luigi.cfg."""
        declared = self.declarations
        chosen = self.chosen
        given = {name: value for name, value in self.train_base.items()
                 if name not in searched and name not in ("dataset", "model")
                 and value != default(name, chosen)}
        if self.final_epochs != default("final_epochs", chosen):
            given["final_epochs"] = self.final_epochs
        everything = {**given, **searched}

        def text(name: str, value: Value) -> str:
            param = declared.get(name) or CATALOGUE.get(name)
            return param.serialize(value)

        options = " ".join(f"--{name.replace('_', '-')} {text(name, value)}"
                           for name, value in everything.items())
        config = "\n".join([f"[experiment.{self.dataset}]",
                            *(f"{name} = {text(name, value)}" for name, value in
                              everything.items())])
        spread = {row["configuration"]: {key: row[key] for key in
                                         ("seeds", "mean_test_accuracy", "std_test_accuracy",
                                          "min_test_accuracy", "max_test_accuracy")}
                  for row in summary}
        return {
            "dataset": self.dataset, "model": self.model, "study": search.name,
            "study_folder": str(search.folder), "trial": best.number,
            "objective": str(self.objective), "value": best.value,
            "searched": {name: _json_value(value) for name, value in searched.items()},
            "parameters": {"dataset": self.dataset, "model": self.model,
                           **{name: _json_value(value) for name, value in everything.items()}},
            "run_all": f"luigi --module pipeline RunAll --local-scheduler --dataset "
                       f"{self.dataset} --model {self.model} {options}".rstrip(),
            "luigi_cfg": config,
            "test_accuracy": spread,
            "apart": None if compared is None else compared["apart"],
            "difference": None if compared is None else compared["difference"],
        }


def _json_value(value: Value) -> Any:
    return ",".join(map(str, value)) if isinstance(value, tuple) else value


def _assignments(values: Mapping[str, Value]) -> str:
    def shown(value: Value) -> str:
        if isinstance(value, float):
            return f"{value:g}"
        return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)

    return ", ".join(f"{name}={shown(value)}" for name, value in values.items()) or \
        "nothing searched"


def describe(record: Mapping[str, Any], folder: str) -> str:
    """A short human summary of a finished search."""
    spread = record["test_accuracy"]

    def line(which: str) -> str:
        row = spread[which]
        return (f"{which} {row['mean_test_accuracy']:.4f} ± {row['std_test_accuracy']:.4f} "
                f"({row['min_test_accuracy']:.4f}-{row['max_test_accuracy']:.4f})")

    shown = ", ".join(f"{k}={v}" for k, v in record["searched"].items())
    verdict = ("" if record["apart"] is None else
               f"; apart: {'yes' if record['apart'] else 'no'}")
    seeds = spread["best"]["seeds"]
    return (f"\nSearch of {record['model']} on {record['dataset']}: best trial "
            f"{record['trial']}, {record['objective']} {record['value']:.4f} ({shown})\n"
            f"  test accuracy over {seeds} seed{'s' if seeds != 1 else ''}: {line('best')}; "
            f"{line('default')}{verdict}\n"
            f"  results: {folder}\n  rerun:   {record['run_all']}\n")


# --------------------------------------------------------------------------- the study

def check_study(folder: Path, signature: Mapping[str, Any]) -> None:
    """Refuse a study folder written for another search (another space, other fixed
    parameters or objective), in one line, before any trial."""
    from ..ml.search import signature_difference

    path = folder / STUDY_FILE
    try:
        with open(path, "rb") as handle:
            text = handle.read(storage.MAX_JSON_BYTES + 1)
        if len(text) > storage.MAX_JSON_BYTES:
            raise ValueError(f"larger than {storage.MAX_JSON_BYTES:,} bytes")
        recorded = json.loads(text.decode("utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError, RecursionError) as exc:
        raise PipelineError(f"study {folder.name}: cannot read {path} ({exc}); delete "
                            f"{folder} to start the study over") from None
    theirs = recorded.get("signature") if isinstance(recorded, dict) else None
    if theirs != json.loads(json.dumps(signature)):
        difference = signature_difference(dict(signature), theirs if isinstance(theirs, dict)
                                          else {})
        raise PipelineError(
            f"study {folder.name} ({folder}) was written by another search, differing in "
            f"{difference} (this run vs the study's); give --study another name, or delete "
            f"that folder to start over")


def record_study(folder: Path, name: str, signature: Mapping[str, Any]) -> None:
    """Write study.json once (the first process to create the study wins; the others
    are checked against it)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / STUDY_FILE
    if not path.exists():
        temporary = folder / f".{STUDY_FILE}.{os.getpid()}"
        storage.write_json(temporary, {"name": name, "signature": signature})
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    check_study(folder, signature)


class Search:
    """One pass of a Tune task over its study: what is finished, what is still to
    train, what to propose next. Built anew each time Luigi resumes the task."""

    def __init__(self, tune: Tune, space: Any, name: str, signature: Mapping[str, Any]
                 ) -> None:
        import optuna
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

        from ..ml.search import OBJECTIVES, within

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.tune, self.space, self.name, self.signature = tune, space, name, signature
        self.folder = study_folder(name)
        record_study(self.folder, name, signature)
        journal = str(self.folder / JOURNAL)
        # the open lock (an exclusive create) also holds on NFS v3 and later
        backend = JournalFileBackend(journal, lock_obj=JournalFileOpenLock(journal))
        self.study = optuna.create_study(
            study_name=name, storage=JournalStorage(backend),
            direction=OBJECTIVES[str(tune.objective)], load_if_exists=True)
        if not self.study.trials:
            start = within(space, tune.train_base, tune.declarations)
            if start is not None:  # the default configuration is the first trial
                self.study.enqueue_trial(start, skip_if_exists=True)

    # ------------------------------------------------------------------------ the trials

    def drawn(self, trial: Any) -> bool:
        """Whether the trial has a value of every parameter of the space (a process killed
        while Optuna drew them leaves a trial without: it is not counted)."""
        return set(self.space.names) <= set(trial.params)

    def finished(self) -> list[Any]:
        """The finished trials (complete or failed), in order, without those interrupted
        while their parameters were drawn."""
        from optuna.trial import TrialState

        done = (TrialState.COMPLETE, TrialState.FAIL)
        return sorted((t for t in self.study.get_trials(deepcopy=False)
                       if t.state in done and self.drawn(t)), key=lambda t: t.number)

    def interrupted(self, before: int) -> list[Any]:
        """The trials numbered below ``before`` interrupted while they were drawn."""
        return [t for t in self.study.get_trials(deepcopy=False)
                if t.number < before and not self.drawn(t)]

    def best(self, trials: Sequence[Any]) -> Any:
        from optuna.trial import TrialState

        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        if not complete:
            first = self.row(trials[0])["error"] if trials else ""
            raise PipelineError(f"no trial of study {self.name} completed: all {len(trials)} "
                                f"failed (trial 0: {first}); see {self.folder}")
        sign = 1 if self.study.direction.name == "MINIMIZE" else -1
        return min(complete, key=lambda t: (sign * t.value, t.number))

    def best_text(self, trials: Sequence[Any]) -> str:
        from optuna.trial import TrialState

        if not any(t.state == TrialState.COMPLETE for t in trials):
            return ""
        best = self.best(trials)
        return f"; best so far: trial {best.number}, {self.tune.objective} {best.value:.4f}"

    def settle(self) -> list[tuple[int, TrainModel]]:
        """Tell the study every running trial whose TrainModel is done or failed; return
        the others (trials of this or of another process still to train)."""
        from optuna.trial import TrialState

        waiting = []
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if not self.drawn(trial):
                # being drawn by another process (or its process was killed meanwhile:
                # then it is never counted); telling it would break the other's draw
                continue
            try:
                task = self.tune.trial_task(self.space, trial.params)
            except PipelineError as exc:
                self.tell(trial.number, None, str(exc))
                continue
            done = task.complete()
            found = None if done else failure(self.folder, task)
            if done:
                self.tell(trial.number, self.result(task).value)
            elif found is not None:
                self.tell(trial.number, None, found)
            else:
                waiting.append((trial.number, task))
                continue
            (self.folder / "waiting" / task.task_id).unlink(missing_ok=True)
        return waiting

    def propose(self, count: int) -> list[tuple[int, TrainModel]]:
        """Ask the sampler for ``count`` trials. A configuration the model refuses is a
        failed trial at once; one whose TrainModel exists is told at once (reused)."""
        import optuna
        from optuna.trial import TrialState

        new: list[tuple[int, TrainModel]] = []
        if count <= 0:
            return new
        # Seeded by the search's seed and the study's size: a resumed search draws anew
        # rather than repeating the draws of its first pass.
        key = f"{self.tune.seed}:{len(self.study.trials)}".encode()
        self.study.sampler = optuna.samplers.TPESampler(
            seed=int.from_bytes(hashlib.sha256(key).digest()[:4], "big"))
        distributions = self.space.distributions()
        for _ in range(count):
            trial = self.study.ask(distributions)
            try:
                task = self.tune.trial_task(self.space, trial.params)
            except PipelineError as exc:
                trial.set_user_attr("error", str(exc))
                self.study.tell(trial, state=TrialState.FAIL)
                continue
            reused = task.complete()
            trial.set_user_attr("reused", reused)
            if reused:
                self.tell(trial.number, self.result(task).value)
            else:
                new.append((trial.number, task))
        return new

    def tell(self, number: int, value: float | None, error: str = "") -> None:
        """Finish trial ``number`` with its objective, or as failed (None) with ``error``
        kept for the tables."""
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.trial import TrialState

        if value is None and error:
            errors = self.folder / "errors"
            errors.mkdir(exist_ok=True)
            temporary = errors / f".{number}.{os.getpid()}"
            temporary.write_text(error, encoding="utf-8")
            os.replace(temporary, errors / f"{number}.txt")
        try:
            if value is None:
                self.study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
            else:
                self.study.tell(number, value, skip_if_finished=True)
        except UpdateFinishedTrialError:  # another process told it first
            pass

    def mark_waiting(self, todo: Sequence[tuple[int, TrainModel]]) -> None:
        """Note the TrainModels this study waits for: a failure of one is recorded for it
        (:func:`record_failure`)."""
        waiting = self.folder / "waiting"
        waiting.mkdir(exist_ok=True)
        for _, task in todo:
            (waiting / task.task_id).touch()
            # a failure recorded by an earlier attempt is not this attempt's
            (self.folder / "failed" / f"{task.task_id}.txt").unlink(missing_ok=True)

    def trained(self, trials: Sequence[Any]) -> list[TrainModel]:
        """The TrainModels of the complete trials among ``trials``."""
        from optuna.trial import TrialState

        tasks = []
        for trial in trials:
            if trial.state == TrialState.COMPLETE:
                try:
                    tasks.append(self.tune.trial_task(self.space, trial.params))
                except PipelineError:
                    continue
        return tasks

    def result(self, task: TrainModel) -> Any:
        from ..ml.search import outcome

        history = storage.read_csv_columns(task.output()["history"].path, HISTORY)
        return outcome(history, str(self.tune.objective))

    # ---------------------------------------------------------------------------- tables

    def row(self, trial: Any) -> dict[str, Any]:
        """The row of trials.csv of a finished trial."""
        from optuna.trial import TrialState

        from ..ml.search import trial_row, trial_values

        state = {TrialState.COMPLETE: "complete", TrialState.FAIL: "failed"}.get(
            trial.state, trial.state.name.lower()) if self.drawn(trial) else "interrupted"
        reused = trial.user_attrs.get("reused")
        try:
            values = trial_values(self.space, trial.params, self.tune.declarations)
        except PipelineError as exc:
            return trial_row(trial.number, state, {}, error=self.error(trial, str(exc)))
        try:
            task = self.tune.trial_task(self.space, trial.params)
        except PipelineError as exc:
            return trial_row(trial.number, state, values, error=self.error(trial, str(exc)))
        if trial.state != TrialState.COMPLETE:
            diverged = task.complete() and self.result(task).value is None
            return trial_row(trial.number, state, values, reused=reused, error=self.error(
                trial, f"diverged: {self.tune.objective} is never finite; try a smaller "
                       f"learning_rate" if diverged else "failed"))
        result = self.result(task)
        training = storage.read_json(task.output()["training"].path, TRAINING)
        return trial_row(trial.number, state, values, result, training["seconds"],
                         reused)

    def error(self, trial: Any, otherwise: str) -> str:
        """Why a trial failed: as recorded when it was told, else ``otherwise``."""
        if trial.user_attrs.get("error"):
            return str(trial.user_attrs["error"])
        try:
            return (self.folder / "errors" / f"{trial.number}.txt").read_text(
                encoding="utf-8").strip() or otherwise
        except OSError:
            return otherwise


# ------------------------------------------------------------------ failures of trials

def failure(folder: Path, task: luigi.Task) -> str | None:
    """The error of a trial's TrainModel that failed while the study waited for it."""
    path = folder / "failed" / f"{task.task_id}.txt"
    try:
        return path.read_text(encoding="utf-8").strip() or "failed"
    except OSError:
        return None


def record_failure(task: luigi.Task, message: str) -> None:
    """Record a TrainModel's failure in every study that waits for it, so that the
    search counts it as a failed trial instead of training it again."""
    try:
        for marker in (data_folder() / STUDIES).glob(f"*/waiting/{task.task_id}"):
            failed = marker.parent.parent / "failed"
            failed.mkdir(exist_ok=True)
            temporary = failed / f".{task.task_id}.{os.getpid()}"
            temporary.write_text(message.strip().splitlines()[0] if message.strip()
                                 else "failed", encoding="utf-8")
            os.replace(temporary, failed / f"{task.task_id}.txt")
    except OSError as exc:  # never in the way of Luigi's own failure handling
        logger.warning("could not record the failure of %s for its search: %s",
                       task.task_id, exc)


@TrainModel.event_handler(luigi.Event.FAILURE)
def _trial_failed(task: TrainModel, exception: BaseException) -> None:
    shown = user_error(exception)
    record_failure(task, str(shown) if shown is not None else
                   f"{type(exception).__name__}: {exception}")


@TrainModel.event_handler(luigi.Event.PROCESS_FAILURE)
def _trial_died(task: TrainModel, message: str) -> None:
    record_failure(task, f"its process died ({message})")


@TrainModel.event_handler(luigi.Event.TIMEOUT)
def _trial_timed_out(task: TrainModel, message: str) -> None:
    record_failure(task, f"timed out ({message})")


__all__ = ["FIXED", "SPACES", "Tune", "searchable"]
