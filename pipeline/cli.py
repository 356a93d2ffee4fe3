"""``text-classifier``: score documents, decode encoded ones, look at every result.

    text-classifier predict "This film was just brilliant" "A waste of two hours"
    text-classifier predict --file reviews.txt        # or a folder of .txt, or a .csv
    text-classifier decode --split train --index 0
    text-classifier predict --param epochs=10 "..."   # another configuration
    text-classifier --config ~/imdb/luigi.cfg predict "..."   # from any folder
    text-classifier report                  # every result as one HTML page
    text-classifier runs --sort accuracy    # the runs as a table; diff RUN RUN

It uses the artifacts of the configuration given by luigi.cfg and ``--param``
(default: RunAll's) under the configuration's data folder, and builds whatever is
missing through the Luigi tasks first. The configuration files are Luigi's
(``./luigi.cfg``, ``$LUIGI_CONFIG_PATH``) and ``--config``; the data folder is
``--data-dir``, else ``[pipeline] data_dir`` (relative to the file that sets it), else
``~/.local/share/text-classifier``, as for every entry point
(:mod:`pipeline.tasks.settings`). A data folder that does not exist yet is not created:
it stops and says so, rather than training from scratch in a new folder.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from . import cli_results
from .errors import PipelineError, user_error
from .params import Integer, Param
from .tasks import console, settings

CONFIG_ENV = settings.CONFIG_ENV
INDEX = Param("index", Integer(minimum=0), 0, "Position of the document in the split")


def locate(args: argparse.Namespace) -> Path:
    """Load the configuration the user means and print it with the data folder (one
    line on standard error); returns the data folder, absolute.

    ``--config`` is read after Luigi's own files (its values win); ``--data-dir`` is
    relative to the current folder; the rest is :func:`pipeline.tasks.settings.data_folder`.
    """
    if args.config:
        settings.use_config(args.config, f"--config {args.config}")
    if getattr(args, "log_level", None):
        os.environ[settings.LOG_LEVEL_ENV] = args.log_level
        settings.apply_defaults()
    if args.data_dir:
        set_data_dir(Path(args.data_dir).expanduser().absolute())
    data = settings.data_folder()
    console.new_run(show_result=False)
    console.announce()
    return data


def set_data_dir(folder: Path) -> None:
    """``[pipeline] data_dir`` of this process (an absolute folder)."""
    from luigi.configuration import get_config

    config = get_config()
    if not config.has_section("pipeline"):
        config.add_section("pipeline")
    config.set("pipeline", "data_dir", str(folder))


def _configuration(args: argparse.Namespace) -> tuple[Any, Any, Path]:
    """(EvaluateTest, Encode) task objects of the configuration the user asked for."""
    from .tasks import Encode, EvaluateTest

    data = locate(args)
    known = dict(EvaluateTest.get_params())
    params = {}
    for item in args.param:
        name, _, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if name not in known or not _:
            raise PipelineError(f"--param {item!r}: expected NAME=VALUE with NAME one of "
                                f"{', '.join(sorted(known))}")
        try:
            params[name] = known[name].parse(value)
        except ValueError as exc:
            raise PipelineError(f"--param {name}: {user_error(exc) or exc}") from None
    evaluate = EvaluateTest(**params)
    return evaluate, evaluate.clone(Encode), data


def _ensure(data: Path, *tasks: Any) -> None:
    """Build the tasks that are not complete yet (with the local scheduler, showing
    their progress as a run does)."""
    missing = [task for task in tasks if not task.complete()]
    if missing:
        import luigi

        if not data.is_dir():
            raise PipelineError(
                f"data folder {data} does not exist. Run the pipeline there first, or give "
                f"--config / --data-dir for the folder that holds your results")
        print(f"Building the missing artifacts in {data} first (this trains the model "
              f"once)...", file=sys.stderr, flush=True)
        if not luigi.build(missing, local_scheduler=True):
            raise PipelineError("building the missing artifacts failed: "
                                + ("; ".join(message for _, message in
                                             console.current_run().errors)
                                   or "the error is in the log above"))


def predict_command(args: argparse.Namespace) -> None:
    from .ml.predict import Review, describe_top, label_of, read_reviews
    from .tasks.chain import score_with

    if bool(args.texts) == bool(args.file):
        raise PipelineError("give either texts or --file, not both or neither")
    evaluate, encode, data = _configuration(args)
    _ensure(data, evaluate, encode)
    reviews = read_reviews(args.file) if args.file else \
        [Review(str(i), text) for i, text in enumerate(args.texts, start=1)]
    # the numpy twin when there is one: no TensorFlow, ~0.5 s instead of ~8
    probabilities, class_names = score_with(evaluate, reviews)
    print(model_line(evaluate), file=sys.stderr, flush=True)
    if len(class_names) == 2:
        print(f"id\tP({class_names[1]})\tlabel   \ttext")
    else:
        print("id\tmost likely classes (probability)\ttext")
    for review, probability in zip(reviews, probabilities, strict=True):
        label = label_of(probability, class_names)
        shown = "" if probability is None else \
            f"{probability[class_names.index(label)]:.4f}"
        if len(class_names) == 2 and probability is not None:
            shown = f"{probability[1]:.4f}"  # the book's "probability of positive"
        text = " ".join(review.text.split())
        text = text if len(text) <= 70 else text[:67] + "..."
        note = f"  [{'; '.join(review.notes)}]" if review.notes else ""
        if len(class_names) == 2 or probability is None:
            print(f"{review.id}\t{shown:>6}\t{label or '-':8}\t{text}{note}")
        else:  # several classes: the three most likely, then the text
            print(f"{review.id}\t{describe_top(probability, class_names)}\t{text}{note}")


def model_line(evaluate: Any) -> str:
    """Which model scores: its description, data and test accuracy, and where it is."""
    from .io import storage

    metrics = storage.read_json(evaluate.output()["metrics"].path)
    return (f"model: {evaluate.model_plugin.describe(evaluate.model_params())} on "
            f"{evaluate.dataset}, test accuracy {metrics['accuracy']:.4f} "
            f"({evaluate.output_dir})")


def decode_command(args: argparse.Namespace) -> None:
    from .io import storage
    from .ml.text import Split, decode_sequence
    from .tasks.base import VOCABULARY

    index = INDEX.parse(args.index)  # one parser for every number: 03 and ３ are 3
    assert isinstance(index, int)
    evaluate, encode, data = _configuration(args)
    _ensure(data, encode)
    split = Split.from_arrays(storage.load_arrays(encode.output()["sequences"].path),
                              args.split)
    if not 0 <= index < split.rows:
        raise PipelineError(f"--index must be between 0 and {split.rows - 1} for the "
                            f"{args.split} split, got {index}")
    args.index = index
    sequence = split.values[split.offsets[args.index]:split.offsets[args.index + 1]]
    label, name = int(split.labels[args.index]), str(split.names[args.index])
    vocabulary = storage.read_json(encode.output()["vocabulary"].path, VOCABULARY)
    class_names = vocabulary["class_names"]
    print(f"{args.split} document {args.index} ({name}, {class_names[label]}), "
          f"as the model sees it:")
    print(decode_sequence(sequence, vocabulary["words"]))
    source = Path(encode.input()["manifest"].path).parent
    original = evaluate.dataset_plugin.original_text(source, args.split, name, label) \
        if source.is_dir() else None
    print("\nOriginal text:")
    print(original if original is not None else
          "(not available: the dataset has no original texts, or its files were deleted)")


def _add_common(parser: argparse.ArgumentParser, default: Any) -> None:
    """Options of every subcommand, accepted before it or after it (``default``:
    ``argparse.SUPPRESS`` on the subcommand, so it does not overwrite the top level's)."""
    parser.add_argument("--config", default=default,
                        help="a luigi.cfg to read after Luigi's own (./luigi.cfg, "
                             f"${CONFIG_ENV}); its values win")
    parser.add_argument("--data-dir", default=default,
                        help="data folder (default: [pipeline] data_dir of the "
                             "configuration, relative to the file that sets it, else "
                             "~/.local/share/text-classifier)")
    parser.add_argument("--log-level", default=default, type=str.upper,
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="DEBUG shows all that Luigi, TensorFlow and Keras print "
                             f"(default INFO; also ${settings.LOG_LEVEL_ENV})")
    # its own destination on the subcommand: argparse would replace, not extend, the list
    # given before the subcommand
    parser.add_argument("--param", "-p", action="append", default=default,
                        dest="param" if default is None else "param_after",
                        metavar="NAME=VALUE",
                        help="a pipeline parameter of the configuration (repeatable)")


def _subcommand(commands: Any, name: str, function: Any, text: str
                ) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = commands.add_parser(name, help=text)
    sub.set_defaults(function=function)
    _add_common(sub, argparse.SUPPRESS)
    return sub


def add_predict(commands: Any) -> None:
    sub = _subcommand(commands, "predict", predict_command, "score documents")
    sub.add_argument("texts", nargs="*", help="document texts")
    sub.add_argument("--file", help=".txt (one document per line), folder of .txt, "
                                    "or .csv with a 'text' column")


def add_decode(commands: Any) -> None:
    sub = _subcommand(commands, "decode", decode_command, "show an encoded document")
    sub.add_argument("--split", choices=("train", "test"), default="train")
    sub.add_argument("--index", default="0",
                     help="position of the document in the split")


#: Each adds one subcommand to the parser.
SUBCOMMANDS = (add_predict, add_decode)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    prog = prog or Path(sys.argv[0]).name or "text-classifier"
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    _add_common(parser, None)
    commands = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(commands)
    cli_results.add_commands(commands, _add_common, locate)  # report, runs, diff
    args = parser.parse_args(argv)
    args.param = (args.param or []) + getattr(args, "param_after", [])
    try:
        args.function(args)
    except ValueError as exc:
        error = user_error(exc)
        if error is None:
            raise
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
