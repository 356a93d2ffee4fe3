"""How long the report takes for many runs, on a synthetic data folder.

    python bench/bench_report.py                 # 500 runs
    python bench/bench_report.py --runs 2000 --without-figures 100

It writes a data folder of ``--runs`` finished runs (EvaluateTest, TrainModel,
PlotHistory and PlotConfusion folders as the tasks leave them: task.json, metrics.json,
training.json, history.csv, the two PNGs), on IMDB (two classes) and Reuters (46 topics),
three models, several seeds and unit counts, plus a CompareModels and a LearningCurve
folder. The figures are real PNGs drawn once by the plot functions and copied into each
run's folders; ``--without-figures N`` runs have none (as the runs of a grid), so the
report draws theirs.

It then times, each from a fresh report: collecting the folder (:func:`collect`), writing
the page (:func:`write_page`), the Report task through ``luigi.build`` (completeness
checks included), the whole ``text-classifier report`` command (process start included),
the next report after one more run (the images of the last report reused), and
``text-classifier runs``. The target is 2 s for 500 runs.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 2.0
REUTERS_TOPICS = [f"topic_{k}" for k in range(46)]


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def figures(folder: Path) -> dict[str, Path]:
    """One history and one confusion figure per dataset, drawn by the tasks' functions."""
    from pipeline.ml.plots import plot_confusion, plot_history

    folder.mkdir(parents=True, exist_ok=True)
    history: dict[str, list[float]] = {"epoch": [1, 2, 3, 4], "loss": [0.5, 0.3, 0.2, 0.15],
               "accuracy": [0.8, 0.9, 0.93, 0.95], "val_loss": [0.35, 0.29, 0.3, 0.33],
               "val_accuracy": [0.87, 0.89, 0.885, 0.88]}
    made = {}
    plot_history(history, folder / "history.png", chosen_epoch=2, test_accuracy=0.88,
                 title="IMDB movie reviews: mlp")
    made["history"] = folder / "history.png"
    plot_confusion([[11000, 1500], [1400, 11100]], ["negative", "positive"],
                   folder / "aclimdb.png")
    made["aclimdb"] = folder / "aclimdb.png"
    rng = random.Random(0)
    matrix = [[rng.randint(0, 5) + (200 if i == j else 0) for j in range(46)]
              for i in range(46)]
    plot_confusion(matrix, REUTERS_TOPICS, folder / "reuters.png")
    made["reuters"] = folder / "reuters.png"
    return made


def make_folder(data: Path, runs: int, without: int, drawn: dict[str, Path]) -> None:
    """``runs`` runs, the last ``without`` of them without figures."""
    rng = random.Random(1)
    for number in range(runs):
        # every run its own configuration; five seeds of each (groups over seeds)
        configuration = number // 5
        dataset = "reuters" if configuration % 3 == 2 else "aclimdb"
        model = ("mlp", "embedding", "nbsvm")[configuration % 4 % 3]
        classes = REUTERS_TOPICS if dataset == "reuters" else ["negative", "positive"]
        parameters = {"dataset": dataset, "model": model, "num_words": "10000",
                      "validation_size": "10000" if dataset == "aclimdb" else "1000",
                      "seed": str(number % 5), "train_size": "0", "epochs": "20",
                      "batch_size": "512", "optimizer": "rmsprop", "learning_rate": "0.001",
                      "loss": "auto", "units": str(8 + configuration),
                      "final_epochs": "auto"}
        key = f"{number:010x}"
        evaluate = data / "EvaluateTest" / f"EvaluateTest_{model}_{dataset}_{key}"
        train = data / "TrainModel" / f"TrainModel_{model}_{dataset}_{key}"
        accuracy = 0.85 + rng.random() * 0.05
        per_class = {name: {"precision": accuracy, "recall": accuracy, "f1": accuracy,
                            "support": 100} for name in classes}
        n = len(classes)
        write_json(evaluate / "metrics.json", {
            "accuracy": accuracy, "macro_f1": accuracy - 0.01, "weighted_f1": accuracy,
            "per_class": per_class,
            "confusion_matrix": {"labels": classes, "rows_true_columns_predicted": [
                [90 if i == j else 1 for j in range(n)] for i in range(n)]},
            "count": 100 * n, "loss": 0.3 + rng.random() * 0.05,
            **({"roc_auc": 0.95} if n == 2 else {}), "final_epochs": 3,
            "final_epochs_parameter": "auto", "training_documents": 25000,
            "training_seconds": 10 + rng.random()})
        write_json(evaluate / "task.json", {"task_family": "EvaluateTest",
                                            "task_id": evaluate.name, "parameters": parameters})
        train_parameters = {k: v for k, v in parameters.items() if k != "final_epochs"}
        write_json(train / "task.json", {"task_family": "TrainModel", "task_id": train.name,
                                         "parameters": train_parameters})
        write_json(train / "training.json", {"seconds": 20 + rng.random(),
                                             "trainable_parameters": 160305,
                                             "training_documents": 15000,
                                             "validation_documents": 10000})
        rows = ["epoch,accuracy,loss,val_accuracy,val_loss"]
        rows += [f"{e},{0.8 + e / 100},{0.5 - e / 30},{0.87 + e / 200},{0.35 - e / 100}"
                 for e in range(1, 21)]
        (train / "history.csv").write_text("\n".join(rows) + "\n")
        if number < runs - without:
            for family, file, source in (("PlotHistory", "history.png", drawn["history"]),
                                         ("PlotConfusion", "confusion_matrix.png",
                                          drawn[dataset])):
                folder = data / family / f"{family}_{model}_{dataset}_{key}"
                write_json(folder / "task.json", {"task_family": family, "task_id": folder.name,
                                                  "parameters": parameters})
                shutil.copyfile(source, folder / file)
    grid = data / "CompareModels" / "CompareModels_relu_16_aclimdb_x_0123456789"
    write_json(grid / "task.json", {"task_family": "CompareModels", "task_id": grid.name,
                                    "parameters": {"dataset": "aclimdb", "model": "mlp",
                                                   "seeds": "3"}})
    lines = ["variant,seed,parameters,trainable_parameters,best_epoch,min_val_loss,"
             "val_accuracy_at_best,last_val_loss,val_loss_rise,test_loss,test_accuracy,"
             "final_epochs,training_seconds,final_training_seconds"]
    lines += [f"v{v},{s},units={16 * v},1000,4,0.28,0.89,0.35,0.07,0.3,{0.88 + v / 1000},4,"
              f"20,12" for v in range(8) for s in range(3)]
    (grid / "comparison.csv").write_text("\n".join(lines) + "\n")
    for name in ("test_accuracy.png", "val_loss.png", "val_accuracy.png"):
        shutil.copyfile(drawn["history"], grid / name)
    curve = data / "LearningCurve" / "LearningCurve_relu_16_aclimdb_0123456789"
    write_json(curve / "task.json", {"task_family": "LearningCurve", "task_id": curve.name,
                                     "parameters": {"dataset": "aclimdb",
                                                    "models": "embedding,glove"}})
    lines = ["model,size,seed,best_epoch,val_accuracy,val_loss,test_accuracy,test_loss,"
             "training_documents,vocabulary_coverage,training_seconds,final_training_seconds"]
    lines += [f"{m},{n},{s},4,0.8,0.4,{0.5 + n / 40000},0.4,{n},,10,5"
              for m in ("embedding", "glove") for n in (10, 100, 1000, 15000) for s in range(3)]
    (curve / "learning_curve.csv").write_text("\n".join(lines) + "\n")
    shutil.copyfile(drawn["history"], curve / "learning_curve.png")


def timed(what: str, function: Callable[..., Any], *args: Any, **kwargs: Any
          ) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    seconds = time.perf_counter() - started
    print(f"  {what:<58} {seconds:7.2f} s", flush=True)
    return result, seconds


def command(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([str(Path(sys.executable).with_name("text-classifier")), *args],
                          env=env, capture_output=True, text=True, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--without-figures", type=int, default=0,
                        help="runs without PlotHistory/PlotConfusion (the report draws them)")
    parser.add_argument("--keep", help="write the data folder here and keep it")
    args = parser.parse_args()

    import luigi

    from pipeline.report import collect, write_page
    from pipeline.tasks import Report

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-report-"))
    data = root / "data"
    if data.exists():
        shutil.rmtree(data)
    print(f"Synthetic data folder: {args.runs} runs ({args.without_figures} without "
          f"figures) in {data}", flush=True)
    make_folder(data, args.runs, args.without_figures, figures(root / "drawn"))
    os.sync()  # the tasks' outputs are on disk when they are complete: so are these
    collection, collect_s = timed("collect (read every run and grid)", collect, data)
    assert len(collection.runs) == args.runs, collection.notes[:3]
    _, page_s = timed("write_page (page and images, a fresh folder)", write_page,
                      collection, root / "page")
    luigi.configuration.get_config().set("pipeline", "data_dir", str(data))
    result, task_s = timed("Report task (luigi.build, local scheduler)", luigi.build,
                           [Report()], local_scheduler=True, log_level="WARNING")
    assert result
    shutil.rmtree(data / "Report")  # the first report of the folder, images and all
    _, command_s = timed("text-classifier report (whole command, first report)", command,
                         ["--data-dir", str(data), "report"])
    # one more run: the next report links or draws only that run's images
    source = sorted((data / "EvaluateTest").iterdir())[-1]
    shutil.copytree(source, source.with_name(source.name[:-3] + "new"))
    _, next_s = timed("text-classifier report after one more run", command,
                      ["--data-dir", str(data), "report"])
    runs, runs_s = timed("text-classifier runs (whole command)", command,
                         ["--data-dir", str(data), "runs"])
    page = Path(Report().output()["page"].path)
    shown = json.loads((page.parent / "task.json").read_text())["images"]
    size = sum((data / "Report" / "images" / name).stat().st_size for name in shown)
    print(f"\nPage: {page.stat().st_size / 1e6:.1f} MB, {len(shown)} images ({size / 1e6:.0f} "
          f"MB, hard links to the tasks' figures where they exist, in Report/images/); "
          f"runs table: {len(runs.stdout.splitlines()) - 2} lines")
    verdict = "met" if command_s <= TARGET_SECONDS else "NOT met"
    print(f"Target: the report of {args.runs} runs in <= {TARGET_SECONDS:.0f} s "
          f"(text-classifier report: {command_s:.2f} s): {verdict}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
