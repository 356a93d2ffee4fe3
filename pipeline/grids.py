"""Grids: the same tasks over many parameter sets (CompareModels).

A grid is a task whose requirements are ordinary TrainModel and EvaluateTest tasks
with other parameters, so what they share (sequences, split, features) is computed
once, what exists already (RunAll's baseline) is reused, and ``--workers N`` trains N
of them at once. The plain functions behind it (variant files, the comparison table)
are in :mod:`pipeline.compare`.
"""
from pathlib import Path

import luigi

from . import storage
from .config import pipeline
from .errors import PipelineError
from .params import FinalParams
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
    files = {"csv": "comparison.csv", "markdown": "comparison.md",
             "val_loss": "val_loss.png", "val_accuracy": "val_accuracy.png",
             "test_accuracy": "test_accuracy.png"}

    def check_params(self):
        super().check_params()
        self.variant_params  # noqa: B018 - resolving checks every variant

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
        params = {key: value for key, value in self.param_kwargs.items() if key in known}
        model = known["model"].parse(str(spec["model"])) if "model" in spec else self.model
        try:
            unread = EvaluateTest.dependent - EvaluateTest.parameters_read(model)
        except PipelineError as exc:
            raise PipelineError(f"variant {name!r}: {exc}") from None
        params = {key: value for key, value in params.items() if key not in unread}
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

        digest = spec_digest({name: EvaluateTest(**params).task_id
                              for name, params in self.variant_params.items()})
        return Path(pipeline().data_dir) / self.get_task_family() / f"{self.task_id}_{digest}"

    def requires(self):
        train_params = dict(TrainModel.get_params())
        return {name: {"train": TrainModel(**{k: v for k, v in params.items()
                                              if k in train_params}),
                       "evaluate": EvaluateTest(**params)}
                for name, params in self.variant_params.items()}

    def run(self):
        from . import compare, plots

        rows, histories = [], {}
        selected = self.selected
        for name, inputs in self.input().items():
            history = storage.read_csv_columns(inputs["train"]["history"].path)
            histories[name] = history
            rows.append(compare.comparison_row(
                name, selected[name], history,
                storage.read_json(inputs["train"]["training"].path),
                storage.read_json(inputs["evaluate"]["metrics"].path)))
        with self.staged() as folder:
            compare.write_csv(rows, folder / self.files["csv"])
            compare.write_markdown(rows, folder / self.files["markdown"])
            plots.plot_curves(histories, "val_loss", folder / self.files["val_loss"],
                              "Validation loss")
            plots.plot_curves(histories, "val_accuracy", folder / self.files["val_accuracy"],
                              "Validation accuracy")
            plots.plot_test_accuracy(rows, folder / self.files["test_accuracy"])
        print(f"\nCompared {len(rows)} variants: {self.output()['markdown'].path}", flush=True)
