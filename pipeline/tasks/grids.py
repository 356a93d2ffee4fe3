"""Grids: the same tasks over many parameter sets (CompareModels, LearningCurve).

A grid is a task whose requirements are ordinary TrainModel and EvaluateTest tasks
with other parameters, so what they share (sequences, split, features) is computed
once, what exists already (RunAll's baseline) is reused, and ``--workers N`` trains N
of them at once. The plain functions behind it (variant files, the tables) are in
:mod:`pipeline.ml.compare` and :mod:`pipeline.ml.curves`.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import luigi

from .. import models
from ..errors import PipelineError
from ..io import storage
from ..params import CATALOGUE, Integer, IntegerSet, Names, Param, Text, Value
from .base import HISTORY, METRICS, TRAINING, PipelineTask, data_folder, fetched_manifest
from .chain import EvaluateTest, TrainModel
from .parameters import FINAL, Chosen, Own, default, pinned_settings, settings_state

MAX_SEEDS = 100
VARIANTS = Path(__file__).resolve().parents[1] / "variants"

_SEEDS_NOTE = "each seed trains every run once more; means over 3 to 10 seeds are usual"
VARIANT_NAMES = Param("variants", Names("variant names", empty=True), "",
                      "Variants to train, by name (default: every variant of the variants "
                      "file)")
VARIANTS_FILE = Param("variants_file", Text("path of a TOML or JSON file"), "",
                      "File of variants (default: the dataset's shipped grid, "
                      "pipeline/variants/imdb.toml or reuters.toml)")
COMPARE_SEEDS = Param("seeds", Integer(1, MAX_SEEDS), 1,
                      "Train every variant with this many seeds (its seed, seed + 1, ...) "
                      "and report mean and standard deviation", _SEEDS_NOTE)
CURVE_MODELS = Param("models", Names("model names"), "embedding,glove",
                     "Models to compare, the first one's defaults for the curve's settings")
CURVE_SIZES = Param("sizes", IntegerSet(minimum=1), "10,50,100,200,500,1000,2000,5000,15000",
                    "Training sizes (the first N documents of the seeded training split)")
CURVE_SEEDS = Param("seeds", Integer(1, MAX_SEEDS), 3,
                    "Seeds per point: seed, seed + 1, ... (each its own split and "
                    "initialisation)", _SEEDS_NOTE)


def passed_on(grid: PipelineTask, chosen: Chosen, model: str) -> dict[str, Value]:
    """The grid's values that an EvaluateTest of ``model`` reads.

    A value the grid holds only because it is its own model's default (the mlp's 20
    epochs of 512) gives way to ``model``'s default (the sequence models' 10 of 32); a
    value given to the grid is passed on as it is.
    """
    target = Chosen(chosen.dataset, (models.get(model),))
    found = {}
    for name in EvaluateTest.reads(target) & grid.param_kwargs.keys():
        value = grid.param_kwargs[name]
        if name != "model" and chosen.model is not target.model and \
                value == default(name, chosen) and default(name, target) != value:
            continue
        found[name] = value
    return {**found, "model": model}


def pair(params: dict[str, Value]) -> dict[str, luigi.Task]:
    """The TrainModel and EvaluateTest of one parameter set (EvaluateTest's parameters)."""
    evaluate = EvaluateTest(**params)
    return {"train": evaluate.clone(TrainModel), "evaluate": evaluate}


def checked(label: str, build: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``build(*args, **kwargs)``, its PipelineError prefixed with ``label``."""
    try:
        return build(*args, **kwargs)
    except PipelineError as exc:
        raise PipelineError(f"{label}: {exc}") from None


class CompareModels(PipelineTask):
    """A grid of model variants trained and evaluated side by side."""

    always = FINAL
    chooses = ("dataset", "model")
    variants = Own[tuple[str, ...]](VARIANT_NAMES)
    variants_file = Own[str](VARIANTS_FILE)
    seeds = Own[int](COMPARE_SEEDS)
    files = {"csv": "comparison.csv", "markdown": "comparison.md",
             "val_loss": "val_loss.png", "val_accuracy": "val_accuracy.png",
             "test_accuracy": "test_accuracy.png"}

    def check_params(self) -> None:
        super().check_params()
        self.variant_params  # noqa: B018 - resolving checks every variant

    # Luigi reuses task instances with equal parameters: what the variants file gives is
    # kept with the file's path and content hash and the settings, and
    # read again when either changes, so an edited file is never seen stale while a grid
    # of 10,000 variants is resolved once, not at every complete() and requires().
    @property
    def variants_path(self) -> Path:
        return Path(self.variants_file).expanduser() if self.variants_file else \
            VARIANTS / self.dataset_plugin.variants

    def _plan(self) -> dict[str, Any]:
        """``{"selected": {name: spec}, "params": {name: parameters}, "runs": {(name,
        seed): EvaluateTest}, "digest": str}``, cached as said above."""
        import hashlib

        from ..ml.compare import MAX_VARIANTS_BYTES

        path = self.variants_path
        try:  # by content: two edits within a clock tick keep the time and maybe the size
            with open(path, "rb") as handle:
                content = handle.read(MAX_VARIANTS_BYTES + 1) if path.is_file() else b""
            stamp: tuple[Any, ...] | None = (str(path), hashlib.sha256(content).digest())
        except OSError:
            stamp = None  # load_variants says what is wrong
        key = (stamp, settings_state())
        cached = self.__dict__.get("_plan_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        with pinned_settings():
            plan = self._resolve(path)
        self.__dict__["_plan_cache"] = (key, plan)
        return plan

    def _resolve(self, path: Path) -> dict[str, Any]:
        from ..ml.compare import MAX_VARIANTS, load_variants, select_variants, spec_digest

        selected = select_variants(load_variants(path), self.variants)
        if len(selected) * self.seeds > MAX_VARIANTS:
            raise PipelineError(f"{len(selected):,} variants x {self.seeds} seeds is more "
                                f"than the {MAX_VARIANTS:,} runs one grid may have; select "
                                f"fewer variants (--variants) or seeds")
        params, runs = {}, {}
        for name, spec in selected.items():
            params[name], task = checked(f"variant {name!r}", self._variant, spec)
            for k in range(self.seeds):
                runs[name, self.seed + k] = task if k == 0 else \
                    EvaluateTest(**dict(params[name], seed=self.seed + k))
        if self.seeds == 1:
            digest = spec_digest({name: runs[name, self.seed].task_id for name in params})
        else:
            digest = spec_digest({f"{name} {seed}": task.task_id
                                  for (name, seed), task in runs.items()})
        return {"selected": selected, "params": params, "runs": runs, "digest": digest}

    @property
    def selected(self) -> dict[str, dict[str, Any]]:
        return dict(self._plan()["selected"])

    @property
    def variant_params(self) -> dict[str, dict[str, Value]]:
        return dict(self._plan()["params"])

    def _variant(self, spec: dict[str, Any]) -> tuple[dict[str, Value], EvaluateTest]:
        """The base parameters with the variant's changes, each value read by its
        declaration (a variant that switches model takes that model's defaults), and the
        EvaluateTest they give."""
        known = set(EvaluateTest.candidates())
        for field in spec:
            if field != "description" and field not in known:
                raise PipelineError(f"unknown field {field!r}; fields are "
                                    f"{', '.join(sorted(known))}")
        model = str(CATALOGUE.get("model").normalize(spec.get("model", self.model)))
        chosen = Chosen(self.dataset_plugin, (self.model_plugin,))
        params = passed_on(self, chosen, model)
        for field, value in spec.items():
            if field != "description":
                params[field] = CATALOGUE.get(field).normalize(value)
        # refuses what the variant's model does not read
        return params, EvaluateTest(**params)

    @property
    def runs(self) -> dict[tuple[str, int], dict[str, Value]]:
        """``{(variant, seed): EvaluateTest parameters}``: each variant with each seed."""
        params = self._plan()["params"]
        return {(name, seed): dict(params[name], seed=seed)
                for name, seed in self._plan()["runs"]}

    def key(self, name: str, seed: int) -> str:
        return name if self.seeds == 1 else f"{name} seed {seed}"

    @property
    def output_dir(self) -> Path:
        """One folder per grid: the variants' names and their EvaluateTest ids (which hold
        exactly the parameters each variant's model reads)."""
        return data_folder() / self.get_task_family() / \
            f"{self.task_id}_{self._plan()['digest']}"

    def requires(self) -> dict[str, dict[str, luigi.Task]]:
        """``{variant: {"train", "evaluate"}}``; with several seeds
        ``{"variant seed N": ...}`` for each seed."""
        with pinned_settings():
            return {self.key(name, seed): {"train": task.clone(TrainModel), "evaluate": task}
                    for (name, seed), task in self._plan()["runs"].items()}

    def run(self) -> None:
        from ..ml import compare, plots

        rows, histories = [], {}
        selected = self.selected
        required = self.input()
        for name, seed in self.runs:
            inputs = required[self.key(name, seed)]
            history = storage.read_csv_columns(inputs["train"]["history"].path, HISTORY)
            histories[self.key(name, seed)] = history
            rows.append(compare.comparison_row(
                name, selected[name], history,
                storage.read_json(inputs["train"]["training"].path, TRAINING),
                storage.read_json(inputs["evaluate"]["metrics"].path, METRICS), seed=seed))
        summary = compare.summarize_seeds(rows) if self.seeds > 1 else None
        with self.staged() as folder:
            compare.write_csv(rows, folder / self.files["csv"])
            compare.write_markdown(rows, folder / self.files["markdown"], summary=summary)
            plots.plot_curves(histories, "val_loss", folder / self.files["val_loss"],
                              "Validation loss")
            plots.plot_curves(histories, "val_accuracy", folder / self.files["val_accuracy"],
                              "Validation accuracy")
            if summary:
                plots.plot_test_accuracy_spread(summary, folder / self.files["test_accuracy"],
                                                rows=rows)
            else:
                plots.plot_test_accuracy(rows, folder / self.files["test_accuracy"])

    def describe_result(self) -> str:
        return (f"\nCompared {len(self.variant_params)} variants"
                f"{f' x {self.seeds} seeds' if self.seeds > 1 else ''}: "
                f"{self.output()['markdown'].path}\n  plots:   {self.output_dir}")


class LearningCurve(PipelineTask):
    """Test accuracy against training size: each model trained on the first N documents
    of the seeded training split, for several seeds, as ordinary TrainModel/EvaluateTest
    tasks (each point computed once and reused by later curves).

        luigi --module pipeline LearningCurve --local-scheduler --models embedding,glove \\
            --sizes 10,50,100,200,500,1000,2000,5000,15000 --seeds 3 --workers 2

    The first model's defaults apply to the curve's own values (epochs, batch size, ...);
    every other model takes its own defaults where the curve was not told otherwise.
    """

    always = tuple(name for name in FINAL if name not in ("model", "train_size"))
    chooses = ("dataset", "model")
    refused = {"model": "LearningCurve takes --models (comma-separated), not model",
               "train_size": "LearningCurve takes --sizes, not train_size"}
    models = Own[tuple[str, ...]](CURVE_MODELS)
    sizes = Own[tuple[int, ...]](CURVE_SIZES)
    seeds = Own[int](CURVE_SEEDS)
    files = {"csv": "learning_curve.csv", "markdown": "learning_curve.md",
             "plot": "learning_curve.png"}

    @classmethod
    def choose(cls, value: Callable[[str, Chosen], Value]) -> Chosen:
        chosen = super().choose(value)
        names = value("models", chosen)
        assert isinstance(names, tuple)
        return Chosen(chosen.dataset, tuple(models.get(str(name)) for name in names))

    @property
    def chosen(self) -> Chosen:
        return Chosen(self.dataset_plugin, tuple(models.get(name) for name in self.models))

    @property
    def model_list(self) -> list[str]:
        return [model.name for model in self.chosen.models]

    def check_params(self) -> None:
        super().check_params()
        plan = self.plan()
        manifest = fetched_manifest(self.dataset)
        documents = plan.documents if plan else (manifest or {}).get("documents", {})
        available = documents.get("train") if isinstance(documents, dict) else None
        for size in self.sizes:
            if isinstance(available, int) and size > available - self.validation_size:
                raise PipelineError(
                    f"sizes: {size} is larger than the training split ({available} training "
                    f"documents - validation_size {self.validation_size} = "
                    f"{available - self.validation_size})")
        for (model, _, _), params in self.points.items():
            checked(f"model {model!r}", EvaluateTest, **params)

    @property
    def points(self) -> dict[tuple[str, int, int], dict[str, Value]]:
        """``{(model, size, seed): EvaluateTest parameters}`` (at most 10,000 of them;
        derived once per version of the settings)."""
        from ..ml.compare import MAX_VARIANTS

        count = len(self.models) * len(self.sizes) * self.seeds
        if count > MAX_VARIANTS:
            raise PipelineError(f"{len(self.models)} models x {len(self.sizes)} sizes x "
                                f"{self.seeds} seeds is {count:,} points, more than the "
                                f"{MAX_VARIANTS:,} one curve may have")
        key = settings_state()
        cached = self.__dict__.get("_points_cache")
        if cached is None or cached[0] != key:
            with pinned_settings():
                cached = (key, self._points())
            self.__dict__["_points_cache"] = cached
        return {point: dict(params) for point, params in cached[1].items()}

    def _points(self) -> dict[tuple[str, int, int], dict[str, Value]]:
        sizes = self.sizes
        chosen = self.chosen
        found = {}
        for model in self.model_list:
            params = passed_on(self, chosen, model)
            for size in sizes:
                for k in range(self.seeds):
                    found[model, size, self.seed + k] = dict(
                        params, train_size=size, seed=self.seed + k)
        return found

    def requires(self) -> dict[str, dict[str, luigi.Task]]:
        return {f"{model} {size} {seed}": pair(params)
                for (model, size, seed), params in self.points.items()}

    def run(self) -> None:
        from ..ml import curves, plots

        required = self.input()
        rows = []
        settings = {}
        for (model, size, seed), params in self.points.items():
            inputs = required[f"{model} {size} {seed}"]
            # a model's own defaults are not in params (passed_on leaves them out)
            evaluate = EvaluateTest(**params)
            settings[model] = f"{evaluate.epochs} epochs, batch {evaluate.batch_size}"
            rows.append(curves.point_row(
                model, size, seed,
                storage.read_csv_columns(inputs["train"]["history"].path, HISTORY),
                storage.read_json(inputs["train"]["training"].path, TRAINING),
                storage.read_json(inputs["evaluate"]["metrics"].path, METRICS)))
        names = self.model_list
        shown = "; ".join(dict.fromkeys(settings.values())) if len(set(settings.values())) \
            == 1 else "; ".join(f"{model}: {text}" for model, text in settings.items())
        title = (f"{self.dataset_plugin.title}: test accuracy against training size "
                 f"({shown})")
        with self.staged() as folder:
            curves.write_csv(rows, folder / self.files["csv"])
            curves.write_markdown(rows, names, folder / self.files["markdown"])
            plots.plot_learning_curve(rows, curves.summarize(rows), names,
                                      folder / self.files["plot"], title)

    def describe_result(self) -> str:
        return (f"\nLearning curve of {', '.join(self.model_list)} over "
                f"{len(self.points)} points: {self.output()['markdown'].path}\n"
                f"  plot:    {self.output()['plot'].path}")
