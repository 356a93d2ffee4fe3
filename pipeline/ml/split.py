"""Holding out a validation set: row numbers only, so one split serves every representation."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def split_rows(num_rows: int, validation_size: int, seed: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """A seeded shuffle of ``range(num_rows)`` cut into (training rows, validation rows).

    The IMDB archive lists every positive review before every negative one, so taking
    the first rows without shuffling would give a one-class validation set. The
    training rows come in shuffled order, so their first ``n`` are a random subset of
    size ``n``, nested in every larger one (``train_size``, for learning curves).
    """
    import numpy as np

    order = np.random.default_rng(seed).permutation(num_rows)
    return order[validation_size:], order[:validation_size]


def check_sizes(training_documents: int, validation_size: int, train_size: int = 0) -> None:
    """Raise :class:`PipelineError` unless ``validation_size`` leaves training documents and
    ``train_size`` fits in what is left. Checked when a task is built (from the dataset's
    manifest, once it is fetched) and again on the real rows."""
    from ..errors import PipelineError

    if validation_size >= training_documents:
        raise PipelineError(f"validation_size must be smaller than the number of training "
                            f"documents ({training_documents}), got {validation_size}")
    left = training_documents - validation_size
    if train_size > left:
        raise PipelineError(f"train_size must be at most the number of training documents "
                            f"left after validation ({left}), got {train_size}")


def training_subset(split: Mapping[str, np.ndarray], train_size: int) -> np.ndarray:
    """The training rows of a split (``train_rows``, ``val_rows``): the first
    ``train_size`` of them, all of them for 0."""
    train_rows, val_rows = split["train_rows"], split["val_rows"]
    check_sizes(len(train_rows) + len(val_rows), len(val_rows), train_size)
    return train_rows[:train_size] if train_size else train_rows
