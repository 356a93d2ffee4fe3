"""Holding out a validation set by row numbers (pipeline/ml/split.py)."""
import numpy as np
import pytest

from pipeline.errors import PipelineError
from pipeline.ml.split import check_sizes, split_rows, training_subset


@pytest.mark.parametrize("num_rows,validation_size", [(100, 30), (25000, 10000), (2, 1)])
def test_split_is_disjoint_and_covering(num_rows, validation_size):
    train, val = split_rows(num_rows, validation_size, seed=42)
    assert len(val) == validation_size and len(train) == num_rows - validation_size
    assert not set(train.tolist()) & set(val.tolist())
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(num_rows))


def test_split_is_deterministic_per_seed():
    first = split_rows(1000, 300, seed=7)
    second = split_rows(1000, 300, seed=7)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    other = split_rows(1000, 300, seed=8)
    assert set(other[1].tolist()) != set(first[1].tolist())


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_split_is_shuffled_over_a_positives_first_archive(seed):
    # like the archive: all positive reviews first, then all negative ones
    labels = np.repeat([1, 0], 500)
    train, val = split_rows(len(labels), 200, seed)
    assert not np.array_equal(np.sort(val), np.arange(200))
    # both classes in both parts, in roughly the archive's 50/50 proportion
    assert 0.35 < labels[val].mean() < 0.65
    assert 0.35 < labels[train].mean() < 0.65
    # and not merely a sorted selection: the order is shuffled too
    assert not np.array_equal(train, np.sort(train))


def test_training_subset_is_the_first_rows_and_nested():
    train, val = split_rows(100, 30, seed=3)
    split = {"train_rows": train, "val_rows": val}
    np.testing.assert_array_equal(training_subset(split, 0), train)  # 0 = all
    small, large = training_subset(split, 10), training_subset(split, 40)
    np.testing.assert_array_equal(small, train[:10])
    np.testing.assert_array_equal(large, train[:40])
    assert set(small.tolist()) <= set(large.tolist())  # nested, for learning curves
    np.testing.assert_array_equal(training_subset(split, 70), train)
    with pytest.raises(PipelineError, match=r"left after validation \(70\), got 71"):
        training_subset(split, 71)


def test_check_sizes_names_the_parameter():
    check_sizes(100, 30, 70)
    with pytest.raises(PipelineError, match=r"validation_size must be smaller than the number "
                                            r"of training documents \(100\), got 100"):
        check_sizes(100, 100)
    with pytest.raises(PipelineError, match="train_size must be at most"):
        check_sizes(100, 30, 71)
