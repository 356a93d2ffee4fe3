"""Search spaces, trials' values, the objective and the tables of a search
(pipeline/ml/search.py), as plain functions: spaces read through the parameters'
declarations and refused in one line, values drawn by Optuna made parameter values,
the objective read from a validation history only."""
import csv
import math

import pytest

from pipeline import datasets, models
from pipeline.errors import PipelineError
from pipeline.ml import search
from pipeline.ml.search import load_space, outcome, parse_space, trial_values, within
from pipeline.params import CATALOGUE
from pipeline.tasks.parameters import Chosen
from pipeline.tasks.tune import SPACES, searchable

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def mlp_params(objective="val_loss"):
    return searchable(Chosen(datasets.get("aclimdb"), (models.get("mlp"),)), objective)


def space_of(tmp_path, text, objective="val_loss", model="mlp", dataset="aclimdb"):
    allowed, refused = searchable(Chosen(datasets.get(dataset), (models.get(model),)),
                                  objective)
    path = tmp_path / "space.toml"
    path.write_text(text, encoding="utf-8")
    return load_space(path, allowed, refused, f"model {model!r}")


# ------------------------------------------------------------------------------ spaces

def test_a_space_reads_choices_ranges_log_ranges_and_grids(tmp_path):
    space = space_of(tmp_path, """
units = [16, 32, 64]
layers = {low = 1, high = 3}
learning_rate = {low = 1e-4, high = 1e-2, log = true}
[dropout]
low = 0
high = 0.6
step = 0.1
""")
    assert space.names == ["units", "layers", "learning_rate", "dropout"]
    units, layers, rate, dropout = space.dimensions
    assert (units.kind, units.choices) == ("choice", (16, 32, 64))
    assert (layers.kind, layers.low, layers.high, layers.log) == ("int", 1, 3, False)
    assert (rate.kind, rate.low, rate.high, rate.log) == ("float", 1e-4, 1e-2, True)
    assert (dropout.kind, dropout.low, dropout.high, dropout.step) == ("float", 0.0, 0.6, 0.1)
    distributions = space.distributions()
    assert distributions["units"].choices == (16, 32, 64)
    assert distributions["layers"].low == 1 and distributions["layers"].high == 3
    assert distributions["learning_rate"].log is True
    assert distributions["dropout"].step == 0.1
    assert space.describe() == ("units [16, 32, 64]; layers 1 to 3; learning_rate 0.0001 to "
                                "0.01 (log); dropout 0 to 0.6 step 0.1")


def test_choices_are_read_by_their_declaration(tmp_path):
    space = space_of(tmp_path, 'units = ["64,4", [32, 8], "１６"]\n'
                               'activation = ["relu", " tanh"]\n')
    units, activation = space.dimensions
    # a tuple is kept as its text for Optuna, a number as a number
    assert units.choices == ("64,4", "32,8", 16)
    assert activation.choices == ("relu", "tanh")


@pytest.mark.parametrize("text, words", [
    ("unitz = [8, 16]\n", ["unknown parameter 'unitz'", "did you mean units?"]),
    ("colour = [1, 2]\n", ["unknown parameter 'colour'", "parameters are", "learning_rate"]),
    ("maxlen = [100, 200]\n", ["maxlen is not a parameter of model 'mlp'", "which reads",
                               "leave it out"]),
    ("epochs = {low = 5, high = 30}\n", ["epochs cannot be searched", "best epoch",
                                         "--epochs"]),
    ("seed = [0, 1]\n", ["seed cannot be searched", "--seeds"]),
    ("model = ['mlp', 'nbsvm']\n", ["model cannot be searched", "--model"]),
    ("loss = ['mse', 'binary_crossentropy']\n", ["loss cannot be searched",
                                                 "--objective val_accuracy"]),
    ("units = []\n", ["units", "list of choices is empty"]),
    ("units = [8, 8]\n", ["the choice 8 is listed twice"]),
    ("units = [8, 0]\n", ["units must be", "got 0"]),
    ("activation = ['relu', 'wiggly']\n", ["unknown activation 'wiggly'"]),
    ("layers = {low = 3, high = 1}\n", ["layers", "reversed", "low 3 > high 1"]),
    ("layers = {low = 2, high = 2}\n", ["layers", "range 2 to 2 is empty"]),
    ("learning_rate = {low = 0, high = 0.1, log = true}\n",
     ["learning_rate must be", "> 0", "got 0.0"]),
    ("l2 = {low = 0, high = 0.01, log = true}\n", ["l2", "log range must lie above 0",
                                                   "low is 0"]),
    ("dropout = {low = 0.0, high = 1.0}\n", ["dropout must be", "< 1", "got 1.0"]),
    ("dropout = {low = 0.0, high = 0.5, step = 0.2}\n", ["not a whole number of steps"]),
    ("dropout = {low = 0.1, high = 0.5, step = 0.1, log = true}\n", ["log or step, not both"]),
    ("layers = {low = 1, high = 3.5}\n", ["layers", "high must be an integer", "3.5"]),
    ("layers = {low = 1}\n", ["layers", "no high"]),
    ("layers = {low = 1, high = 3, by = 1}\n", ["unknown key 'by'"]),
    ("activation = {low = 1, high = 2}\n", ["activation takes one of", "list of choices"]),
    ("units = 16\n", ["units = 16 is one value", "--units 16"]),
    ("units = [{a = 1}]\n", ["a choice must be a value"]),
    ("", ["names no parameter"]),
    ("units = [8\n", ["malformed TOML"]),
])
def test_a_bad_space_is_one_line_naming_the_file_and_the_parameter(tmp_path, text, words):
    with pytest.raises(PipelineError) as error:
        space_of(tmp_path, text)
    message = str(error.value)
    assert "\n" not in message
    assert "space.toml" in message
    for word in words:
        assert word in message


def test_the_loss_may_be_searched_on_validation_accuracy(tmp_path):
    space = space_of(tmp_path, "loss = ['binary_crossentropy', 'mse']\n",
                     objective="val_accuracy")
    assert space.dimensions[0].choices == ("binary_crossentropy", "mse")


def test_a_dataset_s_own_parameters_are_not_searched(tmp_path):
    with pytest.raises(PipelineError, match="wire_text cannot be searched: it belongs to "
                                            "dataset reuters"):
        space_of(tmp_path, "wire_text = ['body', 'keras']\n", dataset="reuters")


def test_space_files_are_bounded_before_they_are_parsed(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("a" + ".a" * 5000 + " = 1\n")
    with pytest.raises(PipelineError, match="more than 1,000 dots"):
        search.read_space_file(path)
    path.write_text("# " + "x" * (search.MAX_SPACE_BYTES + 10) + "\n")
    with pytest.raises(PipelineError, match="larger than"):
        search.read_space_file(path)
    with pytest.raises(PipelineError, match="no such file"):
        search.read_space_file(tmp_path / "missing.toml")


@pytest.mark.parametrize("model", sorted(models.REGISTRY.names()))
@pytest.mark.parametrize("dataset", ["aclimdb", "reuters"])
def test_every_model_has_a_shipped_space_that_its_declarations_accept(model, dataset):
    allowed, refused = searchable(Chosen(datasets.get(dataset), (models.get(model),)),
                                  "val_loss")
    space = load_space(SPACES / f"{model}.toml", allowed, refused, f"model {model!r}")
    assert len(space.dimensions) >= 3
    for dim in space.dimensions:
        param = CATALOGUE.get(dim.name)
        if dim.kind == "choice":
            for choice in dim.choices:
                param.normalize(choice)
        else:
            param.normalize(dim.low)
            param.normalize(dim.high)


# ------------------------------------------------------------------------ trials' values

def test_drawn_numbers_are_rounded_snapped_and_read_by_their_declarations(tmp_path):
    space = space_of(tmp_path, """
learning_rate = {low = 1e-4, high = 1e-2, log = true}
dropout = {low = 0.0, high = 0.6, step = 0.1}
l2 = {low = 0.0, high = 0.001}
layers = {low = 1, high = 3}
units = ["64,4", 16]
""")
    allowed, _ = mlp_params()
    values = trial_values(space, {"learning_rate": 0.000123456, "dropout": 0.30000000000000004,
                                  "l2": 0.0009996, "layers": 2, "units": "64,4"}, allowed)
    assert values == {"learning_rate": 0.000123, "dropout": 0.3, "l2": 0.001, "layers": 2,
                      "units": (64, 4)}
    assert isinstance(values["layers"], int)
    # a draw rounded past its range's end is brought back inside it
    values = trial_values(space, {"learning_rate": 0.0099996, "dropout": 0.6, "l2": 0.0,
                                  "layers": 3, "units": 16}, allowed)
    assert values["learning_rate"] == 0.01 and values["l2"] == 0.0
    with pytest.raises(PipelineError, match="no value of units: it was interrupted"):
        trial_values(space, {"learning_rate": 0.001, "dropout": 0.0, "l2": 0.0, "layers": 1},
                     allowed)


def test_a_configuration_is_within_a_space_only_when_every_value_is(tmp_path):
    space = space_of(tmp_path, """
units = [16, 32]
learning_rate = {low = 1e-4, high = 1e-2, log = true}
dropout = {low = 0.0, high = 0.6, step = 0.1}
""")
    allowed, _ = mlp_params()
    base = {"units": 16, "learning_rate": 0.001, "dropout": 0.0}
    assert within(space, base, allowed) == {"units": 16, "learning_rate": 0.001, "dropout": 0.0}
    assert within(space, dict(base, units=8), allowed) is None
    assert within(space, dict(base, dropout=0.25), allowed) is None  # off the grid
    assert within(space, dict(base, learning_rate=0.1), allowed) is None


# ----------------------------------------------------------------------------- objective

HISTORY = {"epoch": [1.0, 2.0, 3.0, 4.0], "loss": [0.6, 0.4, 0.3, 0.2],
           "accuracy": [0.7, 0.8, 0.85, 0.9], "val_loss": [0.5, 0.31, 0.35, float("nan")],
           "val_accuracy": [0.8, 0.86, 0.87, float("nan")]}


def test_the_objective_is_the_lowest_validation_loss_at_its_epoch():
    result = outcome(HISTORY, "val_loss")
    assert result == search.Outcome(0.31, 2, 0.31, 0.86)


def test_the_objective_can_be_the_best_validation_accuracy():
    result = outcome(HISTORY, "val_accuracy")
    assert result == search.Outcome(0.87, 3, 0.35, 0.87)


def test_a_history_that_is_never_finite_has_no_objective():
    nan = float("nan")
    assert outcome({"epoch": [1.0, 2.0], "val_loss": [nan, nan], "val_accuracy": [0.5, nan]},
                   "val_loss").value is None
    with pytest.raises(PipelineError, match="unknown objective 'test_accuracy'"):
        outcome(HISTORY, "test_accuracy")


# -------------------------------------------------------------------------- identities

def test_a_signature_difference_names_what_changed():
    mine = {"objective": "val_loss", "space": {"units": {"choices": [16, 32]}},
            "fixed": {"epochs": "20"}}
    theirs = {"objective": "val_loss", "space": {"units": {"choices": [8, 16]}},
              "fixed": {"epochs": "10"}}
    assert search.signature_difference(mine, theirs) == (
        "fixed (epochs: 20 vs 10); space (units: [16, 32] vs [8, 16])")
    assert search.digest(mine) != search.digest(theirs)
    assert search.digest(mine) == search.digest(dict(reversed(list(mine.items()))))


# ------------------------------------------------------------------------------ tables

def test_trial_tables_list_every_trial_best_first(tmp_path):
    rows = [search.trial_row(0, "complete", {"units": 16, "learning_rate": 0.001},
                             search.Outcome(0.30, 4, 0.30, 0.88), 9.5, False),
            search.trial_row(1, "failed", {"units": 64, "learning_rate": 0.5},
                             search.Outcome(None), 3.0, False, "diverged"),
            search.trial_row(2, "complete", {"units": 32, "learning_rate": 0.000316},
                             search.Outcome(0.28, 3, 0.28, 0.89), 12.0, True)]
    search.write_trials_csv(rows, ["units", "learning_rate"], tmp_path / "trials.csv")
    with open(tmp_path / "trials.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == [*search.TRIAL_COLUMNS, "units", "learning_rate", "error"]
    assert [r["trial"] for r in table] == ["0", "1", "2"]
    assert table[1]["state"] == "failed" and table[1]["error"] == "diverged"
    assert float(table[2]["objective"]) == 0.28 and table[2]["reused"] == "True"
    search.write_trials_markdown(rows, ["units", "learning_rate"], tmp_path / "trials.md",
                                 title="A search", objective="val_loss", best=2)
    text = (tmp_path / "trials.md").read_text()
    assert "3 trials: 2 complete, 1 failed" in text
    best_part = text.split("## The best 2 trials")[1].split("## Every trial")[0]
    lines = [line for line in best_part.splitlines() if line.startswith("| ")][1:]
    assert lines[0].startswith("| 2 **best** | 0.2800") and "0.000316" in lines[0]
    assert lines[1].startswith("| 0 | 0.3000")
    assert "| 1 | failed |" in text and "diverged" in text


def test_best_against_default_gives_means_spreads_and_whether_they_are_apart(tmp_path):
    rows = [{"configuration": which, "seed": seed, "test_accuracy": accuracy,
             "test_loss": 0.3, "final_epochs": 4, "val_loss": 0.3, "val_accuracy": 0.88}
            for which, values in {"best": (0.893, 0.895, 0.891),
                                  "default": (0.884, 0.886, 0.881)}.items()
            for seed, accuracy in enumerate(values)]
    summary = search.summarize(rows)
    best, default = summary
    assert best["seeds"] == 3 and math.isclose(best["mean_test_accuracy"], 0.893)
    assert math.isclose(best["std_test_accuracy"], 0.002)
    assert (best["min_test_accuracy"], best["max_test_accuracy"]) == (0.891, 0.895)
    compared = search.verdict(best, default)
    assert compared["apart"] is True and compared["better"] == "best"
    assert math.isclose(compared["difference"], 0.893 - 0.8836666666666666)
    overlapping = search.summarize([dict(r, test_accuracy=0.885 + 0.01 * r["seed"])
                                    for r in rows])
    assert search.verdict(*overlapping)["apart"] is False
    search.write_comparison_markdown(rows, summary, compared, {"best": "units=32",
                                                               "default": "units=16"},
                                     tmp_path / "comparison.md", "Best against default")
    text = (tmp_path / "comparison.md").read_text()
    assert "| best | 3 | 0.8930 | 0.0020 | 0.8910 | 0.8950 |" in text
    assert "Best minus default: +0.0093" in text and "apart" in text
    assert "- **best**: units=32" in text


def test_search_figures_come_from_optuna_trials(tmp_path):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(6):
        trial = study.ask()
        units = trial.suggest_categorical("units", [16, 32])
        rate = trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
        study.tell(trial, 0.3 + 0.001 * units + rate)
    import matplotlib

    style = matplotlib.rcParams["axes.facecolor"]
    search.plot_search(study.trials, "val_loss", tmp_path / "history.png",
                       tmp_path / "importance.png", "A search")
    assert matplotlib.rcParams["axes.facecolor"] == style  # Optuna's style kept to them
    for name in ("history.png", "importance.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC
    # one trial is enough for both figures
    search.plot_search(study.trials[:1], "val_loss", tmp_path / "h1.png", tmp_path / "i1.png",
                       "One trial")
    assert (tmp_path / "i1.png").read_bytes()[:8] == PNG_MAGIC


def test_parse_space_takes_an_already_read_table():
    allowed, refused = mlp_params()
    space = parse_space({"units": [8, 16]}, "inline", allowed, refused)
    assert space.source == "inline" and space.canonical() == {"units": {"choices": [8, 16]}}
