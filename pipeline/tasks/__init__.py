"""The Luigi wiring: the parameter rule, the chain of tasks, the grids, the search."""
from __future__ import annotations

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
from .tune import Tune

__all__ = ["CompareModels", "DownloadDataset", "DownloadVectors", "Encode", "EvaluateTest",
           "Featurize", "LearningCurve", "PipelineTask", "PlotConfusion", "PlotHistory",
           "Predict", "RunAll", "SplitValidation", "TrainModel", "Tune", "pipeline"]
