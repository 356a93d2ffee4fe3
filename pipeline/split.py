"""Holding out a validation set: row numbers only, so one split serves every representation."""


def split_rows(num_rows, validation_size, seed):
    """A seeded shuffle of ``range(num_rows)`` cut into (training rows, validation rows).

    The IMDB archive lists every positive review before every negative one, so taking
    the first rows without shuffling would give a one-class validation set. The
    training rows come in shuffled order, so their first ``n`` are a random subset of
    size ``n``, nested in every larger one (``train_size``, for learning curves).
    """
    import numpy as np

    order = np.random.default_rng(seed).permutation(num_rows)
    return order[validation_size:], order[:validation_size]


def training_subset(train_rows, train_size):
    """The first ``train_size`` training rows (all of them for 0).

    Raises :class:`PipelineError` when there are fewer: a first run cannot check
    ``train_size`` when its task is built (the dataset's size is not known yet).
    """
    from .errors import PipelineError

    if train_size > len(train_rows):
        raise PipelineError(f"train_size must be at most the number of training documents "
                            f"left after validation ({len(train_rows)}), got {train_size}")
    return train_rows if not train_size else train_rows[:train_size]
