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
from ..params import CATALOGUE, Value
from .base import PipelineTask, data_folder, fetched_manifest
from .chain import EvaluateTest, TrainModel
from .parameters import FINAL, Chosen, default

MAX_SEEDS = 100
VARIANTS = Path(__file__).resolve().parents[1] / "variants"


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
    variants = luigi.Parameter(
        default="", description="Comma-separated variant names (default: every variant "
                                "of the variants file)")
    variants_file = luigi.Parameter(
        default="", description="TOML or JSON file of variants (default: the dataset's "
                                "shipped grid, pipeline/variants/imdb.toml or reuters.toml)")
    seeds = luigi.IntParameter(
        default=1, description="Train every variant with this many seeds (its seed, seed + "
                               "1, ...) and report mean and standard deviation")
    files = {"csv": "comparison.csv", "markdown": "comparison.md",
             "val_loss": "val_loss.png", "val_accuracy": "val_accuracy.png",
             "test_accuracy": "test_accuracy.png"}

    def check_params(self) -> None:
        super().check_params()
        if not 1 <= self.seeds <= MAX_SEEDS:
            raise PipelineError(f"seeds must be between 1 and {MAX_SEEDS}, got {self.seeds}")
        self.variant_params  # noqa: B018 - resolving checks every variant

    # Luigi reuses task instances with equal parameters, so the variants are read from
    # the file on each use rather than once: an edited file is never seen stale.
    @property
    def selected(self) -> dict[str, dict[str, Any]]:
        from ..ml.compare import load_variants, select_variants

        path = Path(self.variants_file) if self.variants_file else \
            VARIANTS / self.dataset_plugin.variants
        return select_variants(load_variants(path), self.variants)

    @property
    def variant_params(self) -> dict[str, dict[str, Value]]:
        return {name: checked(f"variant {name!r}", self._variant, spec)
                for name, spec in self.selected.items()}

    def _variant(self, spec: dict[str, Any]) -> dict[str, Value]:
        """The base parameters with the variant's changes, each value read by its
        declaration; a variant that switches model takes that model's defaults."""
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
        EvaluateTest(**params)  # refuses what the variant's model does not read
        return params

    @property
    def runs(self) -> dict[tuple[str, int], dict[str, Value]]:
        """``{(variant, seed): EvaluateTest parameters}``: each variant with each seed."""
        return {(name, self.seed + k): dict(params, seed=self.seed + k)
                for name, params in self.variant_params.items() for k in range(self.seeds)}

    def key(self, name: str, seed: int) -> str:
        return name if self.seeds == 1 else f"{name} seed {seed}"

    @property
    def output_dir(self) -> Path:
        """One folder per grid: the variants' names and their EvaluateTest ids (which hold
        exactly the parameters each variant's model reads)."""
        from ..ml.compare import spec_digest

        if self.seeds == 1:
            digest = spec_digest({name: EvaluateTest(**params).task_id
                                  for name, params in self.variant_params.items()})
        else:
            digest = spec_digest({f"{name} {seed}": EvaluateTest(**params).task_id
                                  for (name, seed), params in self.runs.items()})
        return data_folder() / self.get_task_family() / f"{self.task_id}_{digest}"

    def requires(self) -> dict[str, dict[str, luigi.Task]]:
        """``{variant: {"train", "evaluate"}}``; with several seeds
        ``{"variant seed N": ...}`` for each seed."""
        return {self.key(name, seed): pair(params) for (name, seed), params in self.runs.items()}

    def run(self) -> None:
        from ..ml import compare, plots

        rows, histories = [], {}
        selected = self.selected
        required = self.input()
        for name, seed in self.runs:
            inputs = required[self.key(name, seed)]
            history = storage.read_csv_columns(inputs["train"]["history"].path)
            histories[self.key(name, seed)] = history
            rows.append(compare.comparison_row(
                name, selected[name], history,
                storage.read_json(inputs["train"]["training"].path),
                storage.read_json(inputs["evaluate"]["metrics"].path), seed=seed))
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
    models = luigi.Parameter(
        default="embedding,glove", description="Comma-separated models to compare")
    sizes = luigi.Parameter(
        default="10,50,100,200,500,1000,2000,5000,15000",
        description="Comma-separated training sizes (first N documents of the seeded "
                    "training split)")
    seeds = luigi.IntParameter(
        default=3, description="Seeds per point: seed, seed + 1, ... (each its own split "
                               "and initialisation)")
    files = {"csv": "learning_curve.csv", "markdown": "learning_curve.md",
             "plot": "learning_curve.png"}

    @classmethod
    def choose(cls, value: Callable[[str, Chosen], Value]) -> Chosen:
        from ..ml.curves import parse_list

        chosen = super().choose(value)
        names = parse_list(str(value("models", chosen)), "models")
        return Chosen(chosen.dataset, tuple(models.get(name) for name in names))

    @property
    def chosen(self) -> Chosen:
        from ..ml.curves import parse_list

        return Chosen(self.dataset_plugin,
                      tuple(models.get(name) for name in parse_list(self.models, "models")))

    @property
    def model_list(self) -> list[str]:
        return [model.name for model in self.chosen.models]

    def check_params(self) -> None:
        from ..ml.curves import parse_list

        super().check_params()
        if not 1 <= self.seeds <= MAX_SEEDS:
            raise PipelineError(f"seeds must be between 1 and {MAX_SEEDS}, got {self.seeds}")
        plan = self.plan()
        manifest = fetched_manifest(self.dataset)
        documents = plan.documents if plan else (manifest or {}).get("documents", {})
        available = documents.get("train") if isinstance(documents, dict) else None
        for size in parse_list(self.sizes, "sizes", int):
            if size < 1:
                raise PipelineError(f"sizes must be positive integers, got {size}")
            if isinstance(available, int) and size > available - self.validation_size:
                raise PipelineError(
                    f"sizes: {size} is larger than the training split ({available} training "
                    f"documents - validation_size {self.validation_size} = "
                    f"{available - self.validation_size})")
        for (model, _, _), params in self.points.items():
            checked(f"model {model!r}", EvaluateTest, **params)

    @property
    def points(self) -> dict[tuple[str, int, int], dict[str, Value]]:
        """``{(model, size, seed): EvaluateTest parameters}``."""
        from ..ml.curves import parse_list

        sizes = parse_list(self.sizes, "sizes", int)
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
                model, size, seed, storage.read_csv_columns(inputs["train"]["history"].path),
                storage.read_json(inputs["train"]["training"].path),
                storage.read_json(inputs["evaluate"]["metrics"].path)))
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
