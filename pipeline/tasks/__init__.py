"""The Luigi wiring: the parameter rule, the chain of tasks, the grids, the report, the
search, the settings the package supplies to Luigi and what a run shows on the terminal."""
from __future__ import annotations

# settings: Luigi's settings before anything reads them; console: its event handlers
from . import console, settings  # noqa: F401
from .base import PipelineTask, pipeline
from .chain import (
                    DownloadDataset,
                    DownloadVectors,
                    Encode,
                    EvaluateTest,
                    Featurize,
                    PlotConfusion,
                    PlotHistory,
                    Predict,
                    RunAll,
                    SplitValidation,
                    TrainModel,
)
from .grids import CompareModels, LearningCurve
from .report import Report
from .tune import Tune

__all__ = ["CompareModels", "DownloadDataset", "DownloadVectors", "Encode", "EvaluateTest",
           "Featurize", "LearningCurve", "PipelineTask", "PlotConfusion", "PlotHistory",
           "Predict", "Report", "RunAll", "SplitValidation", "TrainModel", "Tune", "pipeline"]
