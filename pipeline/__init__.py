"""The text classifiers of Deep Learning with Python as a resumable Luigi pipeline.

Run the whole chain, from any folder (the data folder: ``[pipeline] data_dir`` of
./luigi.cfg, relative to that file, else ~/.local/share/text-classifier; each run names
it on standard error)::

    luigi --module pipeline RunAll --local-scheduler
    luigi --module pipeline RunAll --local-scheduler --DownloadDataset-url ~/aclImdb_v1.tar.gz
    luigi --module pipeline RunAll --local-scheduler --epochs 10 --final-epochs 4
    luigi --module pipeline RunAll --local-scheduler --dataset keras_imdb --model mlp
    luigi --module pipeline RunAll --local-scheduler --dataset reuters
    luigi --module pipeline LearningCurve --local-scheduler --models embedding,glove --workers 2
    luigi --module pipeline Report --local-scheduler      # every result as one HTML page
    luigi --module pipeline Tune --local-scheduler --trials 50 --workers 2

From Python: :mod:`pipeline.api` (``api.run("RunAll", data_dir=..., epochs=10)``).

Importing this package supplies the Luigi settings the pipeline needs where no luigi.cfg
sets them (exit codes, checks, log level: :mod:`pipeline.tasks.settings`). It is cheap:
it loads Luigi, the plug-ins' declarations and the task classes only; numpy, pandas,
TensorFlow and matplotlib are imported by the tasks that need them.

Layers, each importing only those below it: ``tasks`` (the Luigi wiring), the plug-ins
(``datasets``, ``features``, ``models``), ``ml`` (plain functions), ``io``
(infrastructure), and ``params``, ``registry``, ``errors`` at the bottom.
"""
import atexit
import gc

# python -m pipeline, text-classifier: before Luigi reads them; plain luigi has read
# them already, but expands no value before it imports this package
from .io.configcheck import check_luigi_configs

check_luigi_configs()

# On exit, skip the interpreter's last full garbage collection: after TensorFlow it
# walks millions of objects for ~1 s (matplotlib: ~0.2 s), only to free memory the OS
# takes back anyway. Exit handlers (Luigi's, TensorFlow's, logging's flush, weakref
# finalizers) still run; only objects caught in reference cycles are left to the OS.
atexit.register(gc.freeze)

from . import api  # noqa: E402
from .errors import PipelineError  # noqa: E402
from .tasks import (  # noqa: E402
    CompareModels,
    DownloadDataset,
    DownloadVectors,
    Encode,
    EvaluateTest,
    Featurize,
    LearningCurve,
    PlotConfusion,
    PlotHistory,
    Predict,
    Report,
    RunAll,
    SplitValidation,
    TrainModel,
    Tune,
)

__all__ = ["api", "CompareModels", "DownloadDataset", "DownloadVectors", "Encode", "EvaluateTest",
           "Featurize", "LearningCurve", "PipelineError", "PlotConfusion", "PlotHistory",
           "Predict", "Report", "RunAll", "SplitValidation", "TrainModel", "Tune"]
