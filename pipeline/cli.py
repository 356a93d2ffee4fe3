"""``imdb-sentiment``: score reviews and decode encoded ones from the command line.

    imdb-sentiment predict "This film was just brilliant" "A waste of two hours"
    imdb-sentiment predict --file reviews.txt        # or a folder of .txt, or a .csv
    imdb-sentiment decode --split train --index 0
    imdb-sentiment predict --param epochs=10 "..."   # another configuration

It uses the artifacts of the configuration given by luigi.cfg and ``--param``
(default: RunAll's) under ``--data-dir`` (default: ``[pipeline] data_dir``), and
builds whatever is missing through the Luigi tasks first.
"""
import argparse
import sys
from pathlib import Path

from luigi.configuration import get_config

from .errors import PipelineError, user_error


def _configuration(args):
    """(EvaluateTest, Vectorize) task objects of the configuration the user asked for."""
    from .tasks import EvaluateTest, Vectorize

    if args.data_dir:
        get_config().set("pipeline", "data_dir", args.data_dir)
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
        except ValueError:
            raise PipelineError(f"--param {name}: invalid value {value!r}") from None
    evaluate = EvaluateTest(**params)
    return evaluate, evaluate.clone(Vectorize)


def _ensure(*tasks):
    """Build the tasks that are not complete yet (with the local scheduler)."""
    missing = [task for task in tasks if not task.complete()]
    if missing:
        import luigi

        print("Building the missing artifacts first (this trains the model once)...",
              file=sys.stderr, flush=True)
        if not luigi.build(missing, local_scheduler=True, log_level="WARNING"):
            raise PipelineError("building the missing artifacts failed; the error is in "
                                "the log above")


def predict_command(args):
    from . import storage
    from .inference import NumpyMLP
    from .predict import Review, label_of, read_reviews, score

    if bool(args.texts) == bool(args.file):
        raise PipelineError("give either review texts or --file, not both or neither")
    evaluate, vectorize = _configuration(args)
    _ensure(evaluate, vectorize)
    reviews = read_reviews(args.file) if args.file else \
        [Review(str(i), text) for i, text in enumerate(args.texts, start=1)]
    vocabulary = storage.read_json(vectorize.output()["vocabulary"].path)
    model = NumpyMLP.load(evaluate.output()["weights"].path)  # no TensorFlow: ~0.5 s, not ~8
    probabilities = score(model, vocabulary["words"], vocabulary["num_words"], reviews)
    for review, probability in zip(reviews, probabilities):
        shown = "" if probability is None else f"{probability:.4f}"
        text = " ".join(review.text.split())
        text = text if len(text) <= 70 else text[:67] + "..."
        note = f"  [{'; '.join(review.notes)}]" if review.notes else ""
        print(f"{review.id}\t{shown:>6}\t{label_of(probability) or '-':8}\t{text}{note}")


def decode_command(args):
    import numpy as np

    from . import storage
    from .dataset import decode_sequence, read_review

    _, vectorize = _configuration(args)
    _ensure(vectorize)
    prefix = args.split
    with np.load(vectorize.output()["vectors"].path, allow_pickle=False) as data:
        offsets = data[f"{prefix}_sequence_offsets"]
        count = len(offsets) - 1
        if not 0 <= args.index < count:
            raise PipelineError(f"--index must be between 0 and {count - 1} for the "
                                f"{prefix} split, got {args.index}")
        sequence = data[f"{prefix}_sequence_values"][offsets[args.index]:
                                                     offsets[args.index + 1]]
        label = int(data[f"{prefix}_labels"][args.index])
        file_name = str(data[f"{prefix}_files"][args.index])
    words = storage.read_json(vectorize.output()["vocabulary"].path)["words"]
    print(f"{prefix} review {args.index} ({file_name}, "
          f"{'positive' if label else 'negative'}), as the model sees it:")
    print(decode_sequence(sequence, words))
    archive = vectorize.input().get("archive")  # source=keras has no original texts
    original = None if archive is None or not Path(archive.path).exists() else \
        read_review(archive.path, prefix, "pos" if label else "neg", file_name)
    print("\nOriginal text:")
    print(original if original is not None else
          "(not available: the source has no original texts, or the archive was deleted)")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="imdb-sentiment", description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, function, text in (("predict", predict_command, "score reviews"),
                                 ("decode", decode_command, "show an encoded review")):
        sub = commands.add_parser(name, help=text)
        sub.set_defaults(function=function)
        sub.add_argument("--data-dir", help="data folder (default: [pipeline] data_dir)")
        sub.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                         help="a pipeline parameter of the configuration (repeatable)")
        if name == "predict":
            sub.add_argument("texts", nargs="*", help="review texts")
            sub.add_argument("--file", help=".txt (one review per line), folder of .txt, "
                                            "or .csv with a 'text' column")
        else:
            sub.add_argument("--split", choices=("train", "test"), default="train")
            sub.add_argument("--index", type=int, default=0,
                             help="position of the review in the split (archive order)")
    args = parser.parse_args(argv)
    try:
        args.function(args)
    except ValueError as exc:
        error = user_error(exc)
        if error is None:
            raise
        print(f"imdb-sentiment: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
