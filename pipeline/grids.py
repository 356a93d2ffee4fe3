"""Grids: the same tasks over many parameter sets (CompareModels, LearningCurve).

A grid is a task whose requirements are ordinary TrainModel and EvaluateTest tasks
with other parameters, so what they share (sequences, split, features) is computed
once, what exists already (RunAll's baseline) is reused, and ``--workers N`` trains N
of them at once. The plain functions behind it (variant files, the comparison table)
are in :mod:`pipeline.compare` and :mod:`pipeline.curves`.
"""
from pathlib import Path

import luigi

from . import storage
from .config import experiment_default, pipeline
from .errors import PipelineError
from .params import Choice, FinalParams, known_training_documents
from .tasks import EvaluateTest, PipelineTask, TrainModel


class CompareModels(FinalParams, PipelineTask):
    """A grid of model variants trained and evaluated side by side."""

    variants = luigi.Parameter(
        default="", description="Comma-separated variant names (default: every variant "
                                "of the variants file)")
    variants_file = luigi.Parameter(
        default="", description="TOML or JSON file of variants (default: the dataset's "
                                "shipped grid, pipeline/variants.toml for IMDB, "
                                "pipeline/variants_reuters.toml for Reuters)")
    seeds = luigi.IntParameter(
        default=1, description="Train every variant with this many seeds (its seed, seed + "
                               "1, ...) and report mean and standard deviation")
    files = {"csv": "comparison.csv", "markdown": "comparison.md",
             "val_loss": "val_loss.png", "val_accuracy": "val_accuracy.png",
             "test_accuracy": "test_accuracy.png"}

    def check_params(self):
        super().check_params()
        if not 1 <= self.seeds <= MAX_SEEDS:
            raise PipelineError(f"seeds must be between 1 and {MAX_SEEDS}, got {self.seeds}")
        self.variant_params  # noqa: B018 - resolving checks every variant

    @property
    def runs(self):
        """``{(variant, seed): EvaluateTest parameters}``: each variant with each seed."""
        return {(name, params["seed"] + k): dict(params, seed=params["seed"] + k)
                for name, params in self.variant_params.items() for k in range(self.seeds)}

    # Luigi reuses task instances with equal parameters, so the variants are read from
    # the file on each use rather than once: an edited file is never seen stale.
    @property
    def selected(self):
        from .compare import load_variants, select_variants

        return select_variants(load_variants(self.variants_file or self.shipped_variants()),
                               self.variants)

    def shipped_variants(self):
        """The dataset's own grid (``VARIANTS`` in its module), else the book's IMDB one."""
        from .compare import SHIPPED

        name = getattr(self.dataset_module, "VARIANTS", None)
        return SHIPPED.with_name(name) if name else None

    @property
    def variant_params(self):
        return {name: self._variant_params(name, spec) for name, spec in self.selected.items()}

    def _variant_params(self, name, spec):
        """The base parameters with the variant's overrides, checked and typed.

        Of the base's model-dependent parameters, a variant keeps those its own model
        reads (a variant that changes the model takes that model's defaults for the rest).
        """
        known = dict(EvaluateTest.get_params())
        model = known["model"].parse(str(spec["model"])) if "model" in spec else self.model
        try:
            params = base_for(self, model)
        except PipelineError as exc:
            raise PipelineError(f"variant {name!r}: {exc}") from None
        if model != self.model:
            # what the base took from its own model's defaults (the mlp's 20 epochs of
            # 512) gives way to the variant's model's (the sequence models' 10 of 32)
            defaults = EvaluateTest(dataset=self.dataset, model=self.model).param_kwargs
            own = EvaluateTest(dataset=self.dataset, model=model).param_kwargs
            params = {key: value for key, value in params.items()
                      if not (key in EvaluateTest.dependent and value == defaults.get(key)
                              and own.get(key) != value)}
        for field, value in spec.items():
            if field == "description":
                continue
            if field not in known:
                raise PipelineError(f"variant {name!r}: unknown field {field!r}; fields are "
                                    f"{', '.join(sorted(known))}")
            try:
                params[field] = known[field].parse(str(value))
            except ValueError:
                raise PipelineError(f"variant {name!r}: field {field!r} has an invalid "
                                    f"value {value!r}") from None
        try:
            EvaluateTest(**params)
        except PipelineError as exc:
            raise PipelineError(f"variant {name!r}: {exc}") from None
        return params

    @property
    def output_dir(self):
        """One folder per grid: the variants' names and their EvaluateTest ids (which hold
        exactly the parameters each variant's model reads)."""
        from .compare import spec_digest

        if self.seeds == 1:
            digest = spec_digest({name: EvaluateTest(**params).task_id
                                  for name, params in self.variant_params.items()})
        else:
            digest = spec_digest({f"{name} {seed}": EvaluateTest(**params).task_id
                                  for (name, seed), params in self.runs.items()})
        return Path(pipeline().data_dir) / self.get_task_family() / f"{self.task_id}_{digest}"

    def requires(self):
        """``{variant: {"train", "evaluate"}}``; with several seeds
        ``{"variant seed N": ...}`` for each seed."""
        runs = self.runs
        return {(name if self.seeds == 1 else f"{name} seed {seed}"): pair(params)
                for (name, seed), params in runs.items()}

    def run(self):
        from . import compare, plots

        rows, histories = [], {}
        selected = self.selected
        required = self.input()
        for name, seed in self.runs:
            inputs = required[name if self.seeds == 1 else f"{name} seed {seed}"]
            history = storage.read_csv_columns(inputs["train"]["history"].path)
            histories[name if self.seeds == 1 else f"{name} seed {seed}"] = history
            row = compare.comparison_row(
                name, selected[name], history,
                storage.read_json(inputs["train"]["training"].path),
                storage.read_json(inputs["evaluate"]["metrics"].path), seed=seed)
            rows.append(row)
        summary = compare.summarize_seeds(rows) if self.seeds > 1 else None
        with self.staged() as folder:
            compare.write_csv(rows, folder / self.files["csv"])
            compare.write_markdown(rows, folder / self.files["markdown"], summary=summary)
            plots.plot_curves(histories, "val_loss", folder / self.files["val_loss"],
                              "Validation loss")
            plots.plot_curves(histories, "val_accuracy", folder / self.files["val_accuracy"],
                              "Validation accuracy")
            if summary:
                plots.plot_test_accuracy_spread(summary, folder / self.files["test_accuracy"])
            else:
                plots.plot_test_accuracy(rows, folder / self.files["test_accuracy"])
        print(f"\nCompared {len(self.variant_params)} variants"
              f"{f' x {self.seeds} seeds' if self.seeds > 1 else ''}: "
              f"{self.output()['markdown'].path}", flush=True)


MAX_SEEDS = 100


def base_for(grid, model):
    """The grid's EvaluateTest parameters that ``model`` reads or that every model shares
    (the others take ``model``'s defaults); an unknown model raises PipelineError."""
    known = dict(EvaluateTest.get_params())
    unread = EvaluateTest.dependent - EvaluateTest.parameters_read(model)
    return {key: value for key, value in grid.param_kwargs.items()
            if key in known and key not in unread}


def pair(params):
    """The TrainModel and EvaluateTest of one parameter set (EvaluateTest's parameters)."""
    train_params = dict(TrainModel.get_params())
    return {"train": TrainModel(**{k: v for k, v in params.items() if k in train_params}),
            "evaluate": EvaluateTest(**params)}


class LearningCurve(FinalParams, PipelineTask):
    """Test accuracy against training size: each model trained on the first N documents
    of the seeded training split, for several seeds, as ordinary TrainModel/EvaluateTest
    tasks (each point computed once and reused by later curves).

        luigi --module pipeline LearningCurve --local-scheduler --models embedding,glove \\
            --sizes 10,50,100,200,500,1000,2000,5000,15000 --seeds 3 --workers 2
    """

    models = luigi.Parameter(
        default="embedding,glove", description="Comma-separated models to compare")
    sizes = luigi.Parameter(
        default="10,50,100,200,500,1000,2000,5000,15000",
        description="Comma-separated training sizes (first N documents of the seeded "
                    "training split)")
    seeds = luigi.IntParameter(
        default=3, description="Seeds per point: seed, seed + 1, ... (each its own split "
                               "and initialisation)")
    # The notebook's training settings, not the multi-hot model's 20 epochs of 512:
    # [experiment] curve_epochs / curve_batch_size, or --epochs / --batch-size.
    epochs = experiment_default(luigi.IntParameter, "curve_epochs", 10,
                                description="Epochs of each point's run with validation")
    batch_size = experiment_default(luigi.IntParameter, "curve_batch_size", 32,
                                    description="Mini-batch size of each point")
    files = {"csv": "learning_curve.csv", "markdown": "learning_curve.md",
             "plot": "learning_curve.png"}

    @staticmethod
    def parameters_read(models):
        from . import curves, models as registry

        read = set()
        for name in curves.parse_list(models, "models"):
            read |= registry.reads(name)
        return read

    #: the models chosen decide which model-dependent parameters the curve reads
    choice = Choice("models", FinalParams.dependent, parameters_read)

    def unread_parameters(self):
        """Besides the parameters none of its models reads, a curve has no use for
        ``model`` and ``train_size`` (``models``, ``sizes``): left out of its id."""
        return super().unread_parameters() | {"model", "train_size"}

    def check_params(self):
        from . import curves

        super().check_params()
        if self.train_size:
            raise PipelineError("LearningCurve takes --sizes, not train_size")
        if not 1 <= self.seeds <= MAX_SEEDS:
            raise PipelineError(f"seeds must be between 1 and {MAX_SEEDS}, got {self.seeds}")
        if self.model != type(self).model.configured_default(self.get_task_family(), "model"):
            raise PipelineError("LearningCurve takes --models (comma-separated), not model")
        available = known_training_documents(self.dataset, self.dataset_params())
        for size in curves.parse_list(self.sizes, "sizes", int):
            if size < 1:
                raise PipelineError(f"sizes must be positive integers, got {size}")
            if available is not None and size > available - self.validation_size:
                raise PipelineError(
                    f"sizes: {size} is larger than the training split ({available} training "
                    f"documents - validation_size {self.validation_size} = "
                    f"{available - self.validation_size})")
        self.check_points()

    @property
    def model_list(self):
        from .curves import parse_list

        return parse_list(self.models, "models")

    @property
    def points(self):
        """``{(model, size, seed): EvaluateTest parameters}``."""
        from .curves import parse_list

        sizes = parse_list(self.sizes, "sizes", int)
        found = {}
        for model in self.model_list:
            params = base_for(self, model)
            for size in sizes:
                for k in range(self.seeds):
                    found[model, size, self.seed + k] = dict(
                        params, model=model, train_size=size, seed=self.seed + k)
        return found

    def check_points(self):
        """Build every point's EvaluateTest: a bad parameter of one model fails here."""
        for (model, size, seed), params in self.points.items():
            try:
                EvaluateTest(**params)
            except PipelineError as exc:
                raise PipelineError(f"model {model!r}: {exc}") from None

    def requires(self):
        return {f"{model} {size} {seed}": pair(params)
                for (model, size, seed), params in self.points.items()}

    def run(self):
        from . import curves, plots

        required = self.input()
        rows = []
        for model, size, seed in self.points:
            inputs = required[f"{model} {size} {seed}"]
            rows.append(curves.point_row(
                model, size, seed, storage.read_csv_columns(inputs["train"]["history"].path),
                storage.read_json(inputs["train"]["training"].path),
                storage.read_json(inputs["evaluate"]["metrics"].path)))
        models = self.model_list
        title = (f"{self.dataset_module.TITLE}: test accuracy against training size "
                 f"({self.epochs} epochs, batch {self.batch_size})")
        with self.staged() as folder:
            curves.write_csv(rows, folder / self.files["csv"])
            curves.write_markdown(rows, models, folder / self.files["markdown"])
            plots.plot_learning_curve(rows, curves.summarize(rows), models,
                                      folder / self.files["plot"], title)
        print(f"\nLearning curve of {', '.join(models)} over {len(rows)} points: "
              f"{self.output()['markdown'].path}", flush=True)
