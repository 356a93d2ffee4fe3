"""Training-history figures (matplotlib, Agg backend: no display needed)."""


def plot_history(history, path, *, chosen_epoch=None, test_accuracy=None, title=None):
    """Two panels, loss and accuracy per epoch, training (dots) vs validation (line).

    ``history`` maps column names (epoch, loss, accuracy, val_loss, val_accuracy) to
    sequences: a pandas DataFrame or :func:`pipeline.storage.read_csv_columns`.

    ``chosen_epoch`` is marked with a vertical line on both panels; the test accuracy
    goes in the title. Writes a PNG to ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(11, 4.5), layout="constrained")
    epochs = history["epoch"]
    for axes, metric, label in zip(figure.subplots(1, 2), ("loss", "accuracy"),
                                   ("Loss", "Accuracy")):
        axes.plot(epochs, history[metric], "o", color="tab:blue", label=f"Training {label.lower()}")
        if f"val_{metric}" in history:
            axes.plot(epochs, history[f"val_{metric}"], "-", color="tab:orange",
                      label=f"Validation {label.lower()}")
        if chosen_epoch is not None:
            axes.axvline(chosen_epoch, color="gray", linestyle="--",
                         label=f"Chosen epoch ({chosen_epoch})")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("Epoch")
        axes.set_ylabel(label)
        axes.set_title(f"Training and validation {label.lower()}")
        axes.grid(alpha=0.3)
        axes.legend()
    heading = title or "IMDB review classifier"
    if test_accuracy is not None:
        heading += f" (test accuracy {test_accuracy:.4f})"
    figure.suptitle(heading)
    figure.savefig(path, format="png", dpi=100)
