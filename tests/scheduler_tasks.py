"""Test-only Luigi tasks for tests/test_scheduler.py (loaded with ``--module scheduler_tasks``).

Not collected by pytest (the name does not start with ``test_``).
"""
import luigi

from pipeline.tasks import RunAll, TrainModel
from pipeline.tasks.parameters import FINAL, Parameterized


class TwoModels(Parameterized, luigi.WrapperTask):
    """TrainModel at ``--units`` and at ``--other-units``: two fits on one shared split.

    It reads what RunAll reads (the parameter rule of the pipeline's tasks). With
    ``--with-run-all`` it also requires the whole RunAll chain of the first configuration
    (used for the single-worker reference run).
    """

    always = FINAL
    chooses = ("dataset", "model")
    other_units = luigi.IntParameter(description="Units of the second configuration")
    with_run_all = luigi.BoolParameter(default=False)

    def requires(self):
        tasks = [self.clone(TrainModel), self.clone(TrainModel, units=self.other_units)]
        if self.with_run_all:
            tasks.append(self.clone(RunAll))
        return tasks
