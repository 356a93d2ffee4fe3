"""Figures that read right: nothing cut off at the edges, colours and numbers on one scale,
whole epochs, accuracy gaps shown without bars from a cut axis."""
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from pipeline.ml import plots

IMDB_TITLE = ("IMDB movie reviews: mlp 2x16 relu, rmsprop lr 0.001\n"
              "confusion matrix on the test documents (rows normalised, %)")


def rendered(figure):
    """The figure drawn (layout done) and its renderer."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def inside(figure, artist, renderer):
    box = artist.get_window_extent(renderer)
    width, height = figure.bbox.width, figure.bbox.height
    return box.x0 >= -0.5 and box.y0 >= -0.5 and box.x1 <= width + 0.5 and box.y1 <= height + 0.5


def confusion(classes, seed=0):
    rng = np.random.RandomState(seed)
    counts = rng.randint(1, 40, size=classes) ** 2
    matrix = np.zeros((classes, classes), int)
    for row in range(classes):
        weights = np.full(classes, 0.2 / (classes - 1))
        weights[row] = 0.8
        matrix[row] = rng.multinomial(counts[row], weights / weights.sum())
    return matrix


@pytest.mark.parametrize("classes", [2, 46])
def test_confusion_title_and_colour_bar_label_fit_in_the_figure(classes):
    names = [f"topic-{i}" for i in range(classes)]
    figure = plots.confusion_figure(confusion(classes), names, IMDB_TITLE)
    renderer = rendered(figure)
    titles = [text for text in figure.findobj(Text) if text.get_text() == IMDB_TITLE]
    assert len(titles) == 1 and inside(figure, titles[0], renderer)
    colour_bar = figure.axes[1]
    label = colour_bar.yaxis.label
    assert label.get_text() and inside(figure, label, renderer)


def test_confusion_cells_and_colour_bar_share_one_scale_in_percent():
    matrix = [[90, 10], [30, 70]]
    figure = plots.confusion_figure(matrix, ["negative", "positive"])
    axes, colour_bar = figure.axes
    image = axes.get_images()[0]
    assert image.get_clim() == (0.0, 100.0)
    np.testing.assert_allclose(image.get_array(), [[90, 10], [30, 70]])
    cells = sorted(int(text.get_text()) for text in axes.texts)
    assert cells == [10, 30, 70, 90]  # the numbers written are the coloured values
    assert "%" in colour_bar.yaxis.label.get_text()
    assert colour_bar.get_ylim() == (0.0, 100.0)


def test_curves_have_whole_epoch_ticks():
    histories = {f"v{k}": {"epoch": [1, 2, 3, 4], "val_loss": [0.4, 0.3, 0.31, 0.32]}
                 for k in range(3)}
    figure = plots.curves_figure(histories, "val_loss", "Validation loss")
    rendered(figure)
    ticks = figure.axes[0].get_xticks()
    visible = [tick for tick in ticks if 1 <= tick <= 4]
    assert visible and all(float(tick).is_integer() for tick in visible), ticks


def bars(axes):
    return [patch for patch in axes.patches if isinstance(patch, Rectangle)]


def test_a_small_accuracy_gap_is_not_drawn_as_bars_from_a_cut_axis():
    rows = [{"variant": "baseline", "test_accuracy": 0.8846},
            {"variant": "dropout", "test_accuracy": 0.8876}]
    figure = plots.accuracy_figure(rows)
    axes = figure.axes[0]
    assert bars(axes) == []  # dots: no length that starts at a cut-off axis
    low, high = axes.get_xlim()
    gap = 0.8876 - 0.8846
    assert high - low >= 5 * gap  # the axis is not stretched to make 0.003 look large
    assert low < 0.8846 and high > 0.8876
    assert "seed" in axes.get_xlabel()  # says one seed's noise is of that size


def test_the_spread_over_seeds_is_shown_with_every_seed():
    rows = [{"variant": name, "seed": seed, "test_accuracy": value}
            for name, values in (("baseline", (0.881, 0.885, 0.888)),
                                 ("dropout", (0.884, 0.887, 0.892)))
            for seed, value in enumerate(values)]
    summary = []
    for name in ("baseline", "dropout"):
        values = [row["test_accuracy"] for row in rows if row["variant"] == name]
        summary.append({"variant": name, "seeds": 3, "mean_test_accuracy": np.mean(values),
                        "std_test_accuracy": np.std(values, ddof=1),
                        "min_test_accuracy": min(values), "max_test_accuracy": max(values)})
    figure = plots.accuracy_spread_figure(summary, rows)
    axes = figure.axes[0]
    assert bars(axes) == []
    seeds = [line for line in axes.get_lines() if line.get_label() == "one seed"]
    assert len(seeds) == 1 and sorted(seeds[0].get_xdata()) == sorted(
        row["test_accuracy"] for row in rows)
    low, high = axes.get_xlim()
    assert low <= 0.881 and high >= 0.892
    assert "standard deviation" in axes.get_xlabel()


def test_plot_functions_write_pngs(tmp_path):
    rows = [{"variant": "a", "test_accuracy": 0.8}, {"variant": "b", "test_accuracy": 0.81}]
    plots.plot_test_accuracy(rows, tmp_path / "bars.png")
    plots.plot_confusion(confusion(3), ["a", "b", "c"], tmp_path / "confusion.png")
    plots.plot_curves({"a": {"epoch": [1, 2], "loss": [1.0, 0.5]}}, "loss",
                      tmp_path / "curves.png", "Loss")
    for name in ("bars.png", "confusion.png", "curves.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
