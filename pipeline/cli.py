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
missing through the Luigi tasks first. The configuration is ``--config``, else
$LUIGI_CONFIG_PATH, else ./luigi.cfg; a relative data folder is taken relative to
the configuration file. Without any of them it stops and says so, rather than
training from scratch in a new data/ under the current folder.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from luigi.configuration import add_config_path, get_config

from . import cli_results
from .errors import PipelineError, user_error
from .params import Integer, Param

CONFIG_ENV = "LUIGI_CONFIG_PATH"
INDEX = Param("index", Integer(minimum=0), 0, "Position of the document in the split")


def check_config(path: Path, shown: str) -> None:
    """A configuration file must be a regular, small, UTF-8 INI file: else one line."""
    from .io.configcheck import ConfigError
    from .io.configcheck import check_config as check

    try:
        check(path, shown)
    except ConfigError as exc:
        raise PipelineError(str(exc)) from None


def locate(args: argparse.Namespace) -> tuple[Path | None, Path]:
    """Load the configuration the user means; returns ``(config file or None, data dir)``.

    The data folder is ``--data-dir``, else ``[pipeline] data_dir`` of the configuration
    (relative to the configuration file's folder), as an absolute path.
    """
    if args.config:
        config = Path(args.config).expanduser()
        check_config(config, f"--config {args.config}")
        add_config_path(str(config))
    elif os.environ.get(CONFIG_ENV):
        from .io.configcheck import ConfigError, config_path_from_environment

        try:
            named = config_path_from_environment()
        except ConfigError as exc:
            raise PipelineError(str(exc)) from None
        assert named is not None
        config = named
        check_config(config, f"${CONFIG_ENV} names {config}")
    elif Path("luigi.cfg").exists():
        config = Path("luigi.cfg")
        check_config(config, "./luigi.cfg")
    else:
        config = None
    if args.data_dir:
        data = Path(args.data_dir).expanduser()
    elif config is not None:
        configured = get_config().get("pipeline", "data_dir", "data").strip()
        if not configured:
            raise PipelineError(f"{config}: [pipeline] data_dir is empty; give the data "
                                f"folder (data_dir = data), or --data-dir")
        data = Path(configured).expanduser()
        if not data.is_absolute():
            data = config.resolve().parent / data
    else:
        raise PipelineError(
            "no configuration: there is no luigi.cfg in this folder and neither --config "
            f"nor ${CONFIG_ENV} is set. Run from the project folder, or give --config "
            "/path/to/luigi.cfg (or --data-dir /path/to/data for the built-in defaults)")
    data = data.resolve()
    get_config().set("pipeline", "data_dir", str(data))
    read = [str(config.resolve())] if config is not None else []
    if config is not None and Path("luigi.cfg").is_file() and \
            Path("luigi.cfg").resolve() != config.resolve():
        read.append(f"./luigi.cfg (read by luigi too; {config.name}'s values win)")
    print(f"configuration: {'; '.join(read) or 'built-in defaults'}; data folder: {data}",
          file=sys.stderr, flush=True)
    return config, data


def _configuration(args: argparse.Namespace) -> tuple[Any, Any, Path | None, Path]:
    """(EvaluateTest, Encode) task objects of the configuration the user asked for."""
    from .tasks import Encode, EvaluateTest

    config, data = locate(args)
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
    return evaluate, evaluate.clone(Encode), config, data


def _ensure(config: Path | None, data: Path, *tasks: Any) -> None:
    """Build the tasks that are not complete yet (with the local scheduler)."""
    missing = [task for task in tasks if not task.complete()]
    if missing:
        import luigi

        if not data.is_dir():
            raise PipelineError(
                f"data folder {data} does not exist (configuration: "
                f"{config or 'built-in defaults'}). Run the pipeline there first, or give "
                f"--config / --data-dir for the folder that holds your results")
        print(f"Building the missing artifacts in {data} first (configuration: "
              f"{config or 'built-in defaults'}; this trains the model once)...",
              file=sys.stderr, flush=True)
        if not luigi.build(missing, local_scheduler=True, log_level="WARNING"):
            raise PipelineError("building the missing artifacts failed; the error is in "
                                "the log above")


def predict_command(args: argparse.Namespace) -> None:
    from .ml.predict import Review, describe_top, label_of, read_reviews
    from .tasks.chain import score_with

    if bool(args.texts) == bool(args.file):
        raise PipelineError("give either texts or --file, not both or neither")
    evaluate, encode, config, data = _configuration(args)
    _ensure(config, data, evaluate, encode)
    reviews = read_reviews(args.file) if args.file else \
        [Review(str(i), text) for i, text in enumerate(args.texts, start=1)]
    # the numpy twin when there is one: no TensorFlow, ~0.5 s instead of ~8
    probabilities, class_names = score_with(evaluate, reviews)
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


def decode_command(args: argparse.Namespace) -> None:
    from .io import storage
    from .ml.text import Split, decode_sequence
    from .tasks.base import VOCABULARY

    index = INDEX.parse(args.index)  # one parser for every number: 03 and ３ are 3
    assert isinstance(index, int)
    evaluate, encode, config, data = _configuration(args)
    _ensure(config, data, encode)
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
                        help=f"luigi.cfg of the project (default: ${CONFIG_ENV}, else "
                             "./luigi.cfg)")
    parser.add_argument("--data-dir", default=default,
                        help="data folder (default: [pipeline] data_dir of the "
                             "configuration, relative to its folder)")
    # its own destination on the subcommand: argparse would replace, not extend, the list
    # given before the subcommand
    parser.add_argument("--param", "-p", action="append", default=default,
                        dest="param" if default is None else "param_after",
                        metavar="NAME=VALUE",
                        help="a pipeline parameter of the configuration (repeatable)")


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    prog = prog or Path(sys.argv[0]).name or "text-classifier"
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    _add_common(parser, None)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, function, text in (("predict", predict_command, "score documents"),
                                 ("decode", decode_command, "show an encoded document")):
        sub = commands.add_parser(name, help=text)
        sub.set_defaults(function=function)
        _add_common(sub, argparse.SUPPRESS)
        if name == "predict":
            sub.add_argument("texts", nargs="*", help="document texts")
            sub.add_argument("--file", help=".txt (one document per line), folder of .txt, "
                                            "or .csv with a 'text' column")
        else:
            sub.add_argument("--split", choices=("train", "test"), default="train")
            sub.add_argument("--index", default="0",
                             help="position of the document in the split")
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
