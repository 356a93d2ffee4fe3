"""Reuters benchmark: the pipeline on the real Reuters-21578 archive, with the book's figures.

Run from the project folder, on a quiet machine::

    python bench/bench_reuters.py                 # RunAll from empty, no-op rerun, 5 seeds
    python bench/bench_reuters.py --seeds 0 --archive /path/to/reuters21578.tar.gz
    python bench/bench_reuters.py --wire-text keras   # the book's data: Keras's texts

It times ``luigi --module pipeline RunAll --local-scheduler --dataset reuters`` from an
empty data folder (wall time and peak memory of the whole process tree; the run includes
the book's 4-unit bottleneck reference), then the identical command again (a no-op), then
RunAll for seeds 0 ... N-1 (each: the split, the weights and the batch order change) and
prints each seed's test accuracy with their mean and range. The classic notebook has no
Reuters part: the references are the book's own figures (Deep Learning with Python 3.5:
about 0.78-0.80 test accuracy, the random baseline about 0.19, the 4-unit bottleneck about
0.71). Targets: RunAll from empty <= 30 s, no-op <= 0.5 s, accuracy >= 0.78.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import LUIGI, ROOT, corpus, count_arg, measure, measure_or_exit  # noqa: E402

BOOK = {"test_accuracy": "0.78-0.80", "random_labels": "about 0.19", "bottleneck": "about 0.71"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", default=str(corpus("reuters21578_sgm.tar.gz")),
                        help="default: $TEXT_CLASSIFIER_CORPORA/reuters21578_sgm.tar.gz, else "
                             "../shared/data/")
    parser.add_argument("--seeds", type=count_arg, default=5, metavar="N")
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    parser.add_argument("--wire-text", default="body", choices=("body", "keras"),
                        help="keras: the text Keras's original script took (the book's data)")
    args = parser.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    data = Path(tempfile.mkdtemp(prefix="reuters-bench-"))
    base = [LUIGI, "--module", "pipeline", "RunAll", "--local-scheduler", "--dataset",
            "reuters", "--DownloadDataset-url", args.archive, "--pipeline-data-dir", str(data),
            "--wire-text", args.wire_text]
    results: dict[str, Any] = {}
    try:
        wall, rss, _ = measure_or_exit(base, "RunAll", cwd=ROOT, env=env)
        summary = json.loads(next(data.glob("RunAll/*/summary.json")).read_text())
        results["run"] = {"wall_s": round(wall, 2), "peak_rss_mb": round(rss),
                          "test_accuracy": round(summary["test_accuracy"], 4),
                          "chosen_epoch": summary["chosen_epoch"],
                          "random_labels": round(summary["baselines"]["random_labels"], 4),
                          "bottleneck": round(
                              summary["references"]["bottleneck"]["test_accuracy"], 4)}
        wall, _, out, code = measure(base, cwd=ROOT, env=env)
        results["noop_rerun_s"] = round(wall, 2)
        results["noop_said_nothing_to_do"] = code == 0 and "Nothing to do" in out
        accuracies = {}
        for seed in range(args.seeds):
            before = set(data.glob("RunAll/*/summary.json"))
            measure_or_exit(base + ["--seed", str(seed)], f"RunAll --seed {seed}",
                            cwd=ROOT, env=env)
            new = set(data.glob("RunAll/*/summary.json")) - before
            found = json.loads(new.pop().read_text()) if new else summary
            accuracies[seed] = (round(found["test_accuracy"], 4),
                                round(found["references"]["bottleneck"]["test_accuracy"], 4))
            print(f"seed {seed}: test accuracy {accuracies[seed][0]}, bottleneck "
                  f"{accuracies[seed][1]}", flush=True)
        if accuracies:
            values = [a for a, _ in accuracies.values()]
            narrow = [b for _, b in accuracies.values()]
            results["seeds"] = {"test_accuracy": {s: a for s, (a, _) in accuracies.items()},
                                "mean": round(sum(values) / len(values), 4),
                                "min": min(values), "max": max(values),
                                "bottleneck_mean": round(sum(narrow) / len(narrow), 4)}
    finally:
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    report(results)


def report(results: dict[str, Any]) -> None:
    run = results["run"]
    print(f"\n{'':28}{'book (3.5)':>14}{'pipeline':>12}")
    print(f"{'test accuracy (seed 0)':28}{BOOK['test_accuracy']:>14}{run['test_accuracy']:>12}")
    print(f"{'random-label baseline':28}{BOOK['random_labels']:>14}{run['random_labels']:>12}")
    print(f"{'4-unit bottleneck':28}{BOOK['bottleneck']:>14}{run['bottleneck']:>12}")
    print(f"RunAll from an empty data folder: {run['wall_s']} s, peak RSS "
          f"{run['peak_rss_mb']} MB; no-op rerun {results['noop_rerun_s']} s")
    checks = [("RunAll from empty <= 30 s", run["wall_s"] <= 30),
              ("no-op rerun <= 0.5 s", results["noop_rerun_s"] <= 0.5),
              ("test accuracy >= 0.78", run["test_accuracy"] >= 0.78)]
    if "seeds" in results:
        seeds = results["seeds"]
        print(f"test accuracy over {len(seeds['test_accuracy'])} seeds: mean {seeds['mean']}, "
              f"min {seeds['min']}, max {seeds['max']} (bottleneck mean "
              f"{seeds['bottleneck_mean']})")
        checks.append(("every seed >= 0.78", seeds["min"] >= 0.78))
    for label, ok in checks:
        print(f"  [{'ok' if ok else 'MISS'}] {label}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
