"""The Luigi wiring: the parameter rule, the chain of tasks, the grids, the report."""
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
from .report import Report

__all__ = ["CompareModels", "DownloadDataset", "DownloadVectors", "Encode", "EvaluateTest",
           "Featurize", "LearningCurve", "PipelineTask", "PlotConfusion", "PlotHistory",
           "Predict", "Report", "RunAll", "SplitValidation", "TrainModel", "pipeline"]
