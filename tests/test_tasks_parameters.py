"""The parameter rule (pipeline/tasks/parameters.py): a task holds exactly the parameters
it reads; a parameter it does not read, given through any door, is refused naming both;
defaults come in the documented order; every value has one canonical form, so one id
per meaning."""
import re

import pytest
from conftest import TINY, configured, run_luigi
from luigi.cmdline_parser import CmdlineParser

from pipeline import (
    DownloadDataset,
    Encode,
    EvaluateTest,
    Featurize,
    PipelineError,
    PlotHistory,
    RunAll,
    SplitValidation,
    TrainModel,
    datasets,
    features,
    models,
)
from pipeline.tasks.parameters import TRAIN

UNHANDLED, SCHEDULING_ERROR = 40, 35  # luigi.cfg [retcode]


@pytest.fixture(autouse=True)
def _empty_data_folder(tmp_path):
    """Tasks are built against an empty data folder: no manifest changes their checks."""
    with configured("pipeline", data_dir=tmp_path / "data"):
        yield


def significant(task):
    return task.to_str_params(only_significant=True)


def reads(task_cls, dataset="aclimdb", model=None, representation=None):
    """The declared parameters a task of ``task_cls`` should read with these plug-ins."""
    names = set(task_cls.always)
    names |= {p.name for p in datasets.get(dataset).parameters}
    if model:
        chosen = models.get(model)
        names |= {p.name for p in chosen.parameters}
        names |= {p.name for p in features.get(chosen.representation).parameters}
    if representation:
        names |= {p.name for p in features.get(representation).parameters}
    return names


# ------------------------------------------------------------- ids hold what is read

def test_tasks_share_upstream_parameters():
    run_all = RunAll(**TINY)
    train = run_all.requires()["train"]
    assert isinstance(train, TrainModel)
    split, featurize = train.requires()["split"], train.requires()["features"]
    assert isinstance(split, SplitValidation) and isinstance(featurize, Featurize)
    assert (split.num_words, split.validation_size) == (TINY["num_words"],
                                                       TINY["validation_size"])
    assert featurize.representation == "multihot"
    assert isinstance(split.requires(), Encode)
    assert split.requires().task_id == featurize.requires().task_id  # one encoding for both
    # parameters that do not affect a task are not part of its id
    assert Encode(num_words=40).task_id == split.requires().task_id
    assert Featurize(num_words=40).task_id == featurize.task_id
    assert SplitValidation(**{k: v for k, v in TINY.items()
                              if k in ("num_words", "validation_size")}).task_id == \
        split.task_id


@pytest.mark.parametrize("task_cls,kwargs,expected", [
    (TrainModel, {"model": "embedding"}, reads(TrainModel, model="embedding")),
    (TrainModel, {}, reads(TrainModel, model="mlp")),
    (RunAll, {"dataset": "reuters"}, reads(RunAll, "reuters", model="mlp")),
    (EvaluateTest, {"model": "nbsvm"}, reads(EvaluateTest, model="nbsvm")),
    (Featurize, {"representation": "sequences"},
     reads(Featurize, representation="sequences")),
    (Featurize, {}, reads(Featurize, representation="multihot")),
    (Encode, {"dataset": "reuters"}, reads(Encode, "reuters")),
    (SplitValidation, {}, reads(SplitValidation)),
    (DownloadDataset, {}, {"dataset"}),
])
def test_a_task_id_and_repr_hold_exactly_the_parameters_it_reads(task_cls, kwargs, expected):
    task = task_cls(**kwargs)
    assert set(significant(task)) == expected
    assert set(re.findall(r"(\w+)=", repr(task))) == expected


def test_an_embedding_model_shows_no_mlp_or_reuters_parameters():
    """What luigid, task.json and RunAll's summary show come from to_str_params()."""
    train = TrainModel(model="embedding")
    shown = train.to_str_params()
    for name in ("units", "layers", "activation", "dropout", "wire_text",
                 "min_topic_documents", "ngram_range", "glove_dim", "final_epochs"):
        assert name not in shown, name
        assert f"{name}=" not in repr(train), name
    assert shown["maxlen"] == "150" and shown["embedding_dim"] == "100"
    assert "wire_text" in RunAll(dataset="reuters").to_str_params()
    assert "wire_text" not in RunAll().to_str_params()


def test_parameters_a_task_does_not_read_are_none_on_it():
    embedding = TrainModel(model="embedding")
    assert embedding.units is None and embedding.layers is None
    assert embedding.maxlen == 150
    assert TrainModel().maxlen is None and TrainModel().units == 16
    assert Encode().wire_text is None
    assert Encode(dataset="reuters").wire_text == "body"


def test_none_given_counts_as_not_given():
    embedding = TrainModel(model="embedding")
    assert TrainModel(model="embedding", units=None).task_id == embedding.task_id
    assert TrainModel(model="embedding", units=None, maxlen=None).maxlen == 150
    assert RunAll(epochs=None).epochs == 20
    assert RunAll(epochs=None).task_id == RunAll().task_id


def test_parameters_a_model_does_not_read_stay_out_of_its_task_ids():
    """Other models' parameters changed in luigi.cfg do not change the ids of the book's
    model, and the reverse."""
    mlp = RunAll()
    assert RunAll(model="mlp").task_id == mlp.task_id
    embedding = TrainModel(model="embedding")
    assert "maxlen" in significant(embedding)
    assert "units" not in significant(embedding)
    with configured("experiment", maxlen=77, units=64):
        assert RunAll().task_id != mlp.task_id  # units is mlp's
        assert RunAll(units=16).task_id == mlp.task_id  # maxlen is not
        assert TrainModel(model="embedding").task_id != embedding.task_id  # maxlen is
        assert TrainModel(model="embedding", maxlen=150).task_id == embedding.task_id


# ------------------------------------------------------------ refusals, from Python

@pytest.mark.parametrize("task_cls,params,name,chooser", [
    (RunAll, {"maxlen": 100}, "maxlen", "model 'mlp'"),
    (TrainModel, {"model": "mlp", "truncating": "post"}, "truncating", "model 'mlp'"),
    (EvaluateTest, {"model": "embedding", "units": 32}, "units", "model 'embedding'"),
    (RunAll, {"model": "embedding", "dropout": 0.5}, "dropout", "model 'embedding'"),
    (Featurize, {"maxlen": 20}, "maxlen", "representation 'multihot'"),
])
def test_a_parameter_the_chosen_model_does_not_read_is_refused(task_cls, params, name,
                                                                chooser):
    """`--model mlp --maxlen 100` must not silently do nothing: one line naming both."""
    with pytest.raises(PipelineError) as error:
        task_cls(**params)
    assert f"{name} is not a parameter of {chooser}" in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("task_cls,params,name,chooser", [
    (TrainModel, {"model": "mlp", "maxlen": 150}, "maxlen", "model 'mlp'"),
    (RunAll, {"maxlen": 150}, "maxlen", "model 'mlp'"),
    (TrainModel, {"model": "embedding", "units": 16}, "units", "model 'embedding'"),
    (RunAll, {"model": "embedding", "layers": 2}, "layers", "model 'embedding'"),
    (Featurize, {"representation": "multihot", "padding": "pre"}, "padding",
     "representation 'multihot'"),
    (Encode, {"wire_text": "body"}, "wire_text", "dataset 'aclimdb'"),
])
def test_an_unread_parameter_is_refused_even_at_its_default_value(task_cls, params, name,
                                                                   chooser):
    with pytest.raises(PipelineError) as error:
        task_cls(**params)
    message = str(error.value)
    assert message.startswith(f"{name} is not a parameter of {chooser}, which reads "), message
    assert f"leave {name} out or choose a {chooser.split()[0]} that reads it" in message


def test_the_refusal_lists_what_the_choice_reads():
    with pytest.raises(PipelineError) as error:
        TrainModel(model="mlp", maxlen=150)
    listed = str(error.value).split("which reads ", 1)[1].split(";", 1)[0].split(", ")
    assert set(listed) == reads(TrainModel, model="mlp") - set(TRAIN)


def test_a_dataset_parameter_is_refused_naming_the_dataset():
    """wire_text belongs to the Reuters datasets: given for IMDB the refusal names the
    dataset chosen, not the model, and lists the dataset's own parameters."""
    for task_cls in (Encode, TrainModel, RunAll):
        with pytest.raises(PipelineError) as error:
            task_cls(wire_text="keras")
        message = str(error.value)
        assert message.startswith("wire_text is not a parameter of dataset 'aclimdb'"), \
            message


def test_unknown_names_and_positional_arguments_are_refused():
    with pytest.raises(PipelineError, match="RunAll has no parameter 'colour'; see luigi "
                                            "--module pipeline RunAll --help"):
        RunAll(colour="red")
    with pytest.raises(PipelineError, match="Encode has no parameter 'units'"):
        Encode(units=16)  # a parameter of the chain, but never Encode's
    with pytest.raises(PipelineError, match="DownloadDataset has no parameter 'num_words'"):
        DownloadDataset(num_words=40)
    with pytest.raises(PipelineError, match="takes its parameters by name, not by position"):
        RunAll("aclimdb")


@pytest.mark.parametrize("task_cls,params,name", [
    (TrainModel, {"epochs": 0}, "epochs"),
    (TrainModel, {"epochs": -3}, "epochs"),
    (RunAll, {"epochs": 0}, "epochs"),
    (Encode, {"num_words": 0}, "num_words"),
    (RunAll, {"num_words": -1}, "num_words"),
    (Encode, {"num_words": 2}, "num_words must be an integer from 5 to 2,000,000"),
    (RunAll, {"num_words": 4}, "num_words must be an integer from 5 to 2,000,000"),
    (TrainModel, {"activation": "relux"}, "activation"),
    (RunAll, {"optimizer": "adamm"}, "optimizer"),
    (TrainModel, {"loss": "crossentropy"}, "loss"),
    (TrainModel, {"batch_size": 0}, "batch_size"),
    (TrainModel, {"units": 0}, "units"),
    (TrainModel, {"layers": 0}, "layers"),
    (TrainModel, {"dropout": 1.0}, "dropout"),
    (TrainModel, {"learning_rate": 0.0}, "learning_rate"),
    (TrainModel, {"l2": -0.1}, "l2"),
    (TrainModel, {"l2": float("inf")}, "l2 must be a finite number"),
    (RunAll, {"l1": float("nan")}, "l1"),
    (TrainModel, {"learning_rate": float("inf")}, "learning_rate must be a finite number"),
    (SplitValidation, {"validation_size": 0}, "validation_size"),
    (SplitValidation, {"seed": -1}, "seed"),
    (RunAll, {"seed": 2**32}, "seed must be an integer from 0 to 4,294,967,295"),
    (EvaluateTest, {"final_epochs": "x"}, "final_epochs"),
    (EvaluateTest, {"final_epochs": "0"}, "final_epochs"),
    (EvaluateTest, {"final_epochs": "-1"}, "final_epochs"),
    (RunAll, {"final_epochs": "2.5"}, "final_epochs"),
    (PlotHistory, {"final_epochs": ""}, "final_epochs"),
    (RunAll, {"dataset": "imdbb"}, "unknown dataset 'imdbb'; choose one of aclimdb"),
    (DownloadDataset, {"dataset": "reuterz"}, "unknown dataset"),
    (RunAll, {"model": "cnn"}, "unknown model 'cnn'; choose one of mlp"),
    (Featurize, {"representation": "tfidf"}, "unknown representation 'tfidf'"),
    (RunAll, {"train_size": -1}, "train_size"),
    (RunAll, {"model": "embedding", "maxlen": 0}, "maxlen must be an integer from 1"),
    (Featurize, {"representation": "sequences", "padding": "middle"},
     "unknown padding 'middle'; choose one of pre, post"),
    (RunAll, {"model": "embedding", "embedding_dim": 0}, "embedding_dim"),
])
def test_invalid_parameter_fails_at_construction(task_cls, params, name):
    with pytest.raises(PipelineError, match=name) as error:
        task_cls(**params)
    assert isinstance(error.value, ValueError)
    assert str(list(params.values())[-1]) in str(error.value)  # the bad value, given last


@pytest.mark.parametrize("value", ["auto", "1", "4", "20"])
def test_valid_final_epochs(value):
    assert EvaluateTest(final_epochs=value).final_epochs == value


# ------------------------------------------------------ typed values, one id per meaning

@pytest.mark.parametrize("task_cls,one,other", [
    (TrainModel, {"units": "16"}, {"units": 16}),
    (TrainModel, {"units": "64, 4"}, {"units": (64, 4)}),
    (TrainModel, {"units": [64, 4]}, {"units": (64, 4)}),
    (TrainModel, {"learning_rate": "1e-3"}, {"learning_rate": 0.001}),
    (TrainModel, {"learning_rate": 1e-3}, {}),
    (TrainModel, {"epochs": 20.0}, {}),
    (TrainModel, {"epochs": "\uff12\uff10"}, {"epochs": 20}),  # full-width digits
    (TrainModel, {"epochs": " 20 "}, {"epochs": 20}),
    (TrainModel, {"dropout": -0.0}, {"dropout": 0}),
    (EvaluateTest, {"final_epochs": 4}, {"final_epochs": "4"}),
    (EvaluateTest, {"final_epochs": "AUTO"}, {}),
    (TrainModel, {"dataset": " aclimdb "}, {}),
    (TrainModel, {"model": "glove", "trainable": "TRUE"}, {"model": "glove", "trainable": True}),
    (TrainModel, {"model": "nbsvm", "ngram_range": "1-3"}, {"model": "nbsvm"}),
    (TrainModel, {"model": "nbsvm", "ngram_range": (1, 3)}, {"model": "nbsvm"}),
])
def test_one_meaning_one_task_id(task_cls, one, other):
    assert task_cls(**one).task_id == task_cls(**other).task_id


@pytest.mark.parametrize("params,needle", [
    ({"epochs": True}, "epochs must be an integer from 1 to 1,000, got True"),
    ({"epochs": "1.0"}, "epochs must be an integer from 1 to 1,000, got '1.0'"),
    ({"epochs": 1.5}, "epochs must be an integer from 1 to 1,000, got 1.5"),
    ({"units": "16,"}, "units must be an integer, or one per layer"),
    ({"model": "glove", "trainable": "yes"}, "trainable must be true or false, got 'yes'"),
])
def test_values_of_the_wrong_type_are_refused(params, needle):
    with pytest.raises(PipelineError, match=re.escape(needle)):
        TrainModel(**params)


def test_the_command_line_and_python_give_the_same_task():
    args = ["TrainModel", "--units", "016", "--learning-rate", "1e-3", "--epochs", "\uff13"]
    with CmdlineParser.global_instance(args) as parser:
        from_cli = parser.get_task_obj()
    assert from_cli.task_id == TrainModel(units=16, epochs=3).task_id
    assert (from_cli.units, from_cli.learning_rate, from_cli.epochs) == (16, 0.001, 3)


# ----------------------------------------------------------------------------- defaults

def test_experiment_defaults_are_read_when_a_task_is_built():
    """[experiment] in luigi.cfg is the default of every task that has the parameter,
    DownloadDataset's dataset included, and a change to it applies to tasks built after."""
    with configured("experiment", dataset="keras_imdb", epochs=7) as config:
        assert DownloadDataset().dataset == "keras_imdb"
        assert Encode().requires().dataset == "keras_imdb"
        assert RunAll().epochs == 7 and TrainModel(epochs=3).epochs == 3
        assert RunAll().requires()["train"].dataset == "keras_imdb"
        assert RunAll(dataset="aclimdb").dataset == "aclimdb"  # a given value beats it
        config.set("experiment", "epochs", "9")
        assert RunAll().epochs == 9
    assert DownloadDataset().dataset == "aclimdb" and RunAll().epochs == 20


def test_a_model_s_own_defaults_come_before_experiment():
    """The sequence models train the notebook's 10 epochs of batch 32 unless told
    otherwise; [experiment.<model>] overrides that, the command line beats both."""
    assert (TrainModel(model="embedding").epochs, TrainModel(model="embedding").batch_size) \
        == (10, 32)
    assert (TrainModel().epochs, TrainModel().batch_size) == (20, 512)
    assert TrainModel(model="pooled", batch_size=64).batch_size == 64
    with configured("experiment", epochs=5, batch_size=128):
        assert (TrainModel(model="embedding").epochs,
                TrainModel(model="embedding").batch_size) == (10, 32)
        assert (TrainModel().epochs, TrainModel().batch_size) == (5, 128)
    with configured("experiment.embedding", batch_size=16):
        assert TrainModel(model="embedding").batch_size == 16
        assert TrainModel(model="pooled").batch_size == 32
        assert TrainModel().batch_size == 512


def test_defaults_in_the_documented_order():
    """[experiment.<dataset>], the dataset's defaults, [experiment.<model>], the model's
    defaults, [experiment], the declaration: the first that has a value wins."""
    reuters = dict(dataset="reuters")
    assert TrainModel(**reuters).units == 64  # Reuters's own default (the book's)
    assert TrainModel(**reuters).validation_size == 1000
    assert TrainModel().units == 16  # the declaration's
    with configured("experiment", units=32, epochs=5):
        assert TrainModel().units == 32  # [experiment] beats the declaration
        assert TrainModel(**reuters).units == 64  # the dataset's default beats [experiment]
        assert TrainModel(model="embedding", **reuters).epochs == 10  # so does the model's
        with configured("experiment.mlp", units=128):
            assert TrainModel().units == 128  # [experiment.<model>] beats [experiment]
            assert TrainModel(**reuters).units == 64  # the dataset's default beats it
            with configured("experiment.reuters", units=8):
                assert TrainModel(**reuters).units == 8  # [experiment.<dataset>] first
                assert TrainModel().units == 128
        with configured("experiment.reuters", epochs=3):
            assert TrainModel(model="embedding", **reuters).epochs == 3  # before the model's
            assert TrainModel(model="embedding").epochs == 10
        assert TrainModel(units=4, **reuters).units == 4  # a given value beats them all


def test_a_task_section_value_counts_as_given():
    """[TrainModel] epochs = 4 is TrainModel's value, above every [experiment*] default;
    what RunAll passes down beats it, as any value given in Python does."""
    with configured("TrainModel", epochs=4), configured("experiment.mlp", epochs=5):
        assert TrainModel().epochs == 4
        assert RunAll().epochs == 5
        assert RunAll().requires()["train"].epochs == 5


def test_a_bad_default_names_its_section():
    with configured("experiment.embedding", batch_size="x"):
        with pytest.raises(PipelineError, match=re.escape(
                "[experiment.embedding] in luigi.cfg: batch_size must be an integer from 1 "
                "to 1,048,576, got 'x'")):
            TrainModel(model="embedding")
        assert TrainModel().batch_size == 512  # the mlp does not read that section
    with configured("TrainModel", epochs="x"):
        with pytest.raises(PipelineError, match=re.escape(
                "[TrainModel] in luigi.cfg: epochs must be an integer from 1 to 1,000, "
                "got 'x'")):
            TrainModel()


# ------------------------------------------------- refusals from a task's config section

def test_an_unread_parameter_in_the_task_section_is_refused_even_at_its_default():
    """[TrainModel] maxlen = 150 is maxlen's default, but the mlp does not read it: a
    TrainModel of the mlp is refused; one of the embedding model reads it."""
    with configured("TrainModel", maxlen=150):
        with pytest.raises(PipelineError) as error:
            TrainModel(**TINY)
        assert str(error.value).startswith("maxlen is not a parameter of model 'mlp'")
        assert TrainModel(model="embedding").maxlen == 150
    with configured("RunAll", layers=2):
        with pytest.raises(PipelineError, match="layers is not a parameter of model "
                                                "'embedding'"):
            RunAll(model="embedding")


# --------------------------------------------------------------------- the command line

def assert_clean_failure(completed, code, *needles):
    output = completed.stdout
    assert completed.returncode == code, output
    assert "Traceback" not in output, output
    for needle in needles:
        assert needle in output, output


@pytest.mark.parametrize("args,needle", [
    (["--epochs", "0"], "epochs must be an integer from 1 to 1,000, got '0'"),
    (["--num-words", "0"], "num_words"),
    (["--activation", "foo"], "activation"),
    (["--optimizer", "nope"], "optimizer"),
    (["--final-epochs", "two"], "final_epochs"),
])
def test_cli_invalid_parameter(cli_dir, tmp_path, args, needle):
    data = tmp_path / "data"
    completed = run_luigi(["RunAll", *args, "--pipeline-data-dir", data], cwd=cli_dir)
    assert_clean_failure(completed, UNHANDLED, needle)
    assert not data.exists()


def test_cli_non_integer_parameter(cli_dir, tmp_path):
    """A value that is not a number at all is bad input too: same clean failure."""
    data = tmp_path / "data"
    completed = run_luigi(["RunAll", "--epochs", "abc", "--pipeline-data-dir", data],
                          cwd=cli_dir)
    assert completed.returncode != 0
    assert not data.exists()
    assert_clean_failure(completed, completed.returncode, "epochs", "abc")


def refusal_lines(completed, name):
    return [line for line in completed.stdout.splitlines()
            if f"{name} is not a parameter of" in line]


def test_cli_mlp_with_maxlen_at_its_default_is_refused_in_one_line(cli_dir, tmp_path):
    data = tmp_path / "data"
    completed = run_luigi(["RunAll", "--model", "mlp", "--maxlen", "150",
                           "--pipeline-data-dir", data], cwd=cli_dir)
    assert_clean_failure(completed, UNHANDLED)
    lines = refusal_lines(completed, "maxlen")
    assert len(lines) == 1 and lines[0].startswith(
        "ERROR: maxlen is not a parameter of model 'mlp', which reads "), completed.stdout
    assert not data.exists()


def test_cli_unread_parameter_in_the_task_section_is_refused_in_one_line(cli_dir, tmp_path):
    """[TrainModel] maxlen = 150 in luigi.cfg: TrainModel of the mlp is refused, whether
    it is the task run or one RunAll requires (then Luigi cannot schedule RunAll)."""
    config = cli_dir / "luigi.cfg"
    config.write_text(config.read_text() + "\n[TrainModel]\nmaxlen = 150\n")
    data = tmp_path / "data"
    for task, code in (("TrainModel", UNHANDLED), ("RunAll", SCHEDULING_ERROR)):
        completed = run_luigi([task, "--pipeline-data-dir", data], cwd=cli_dir)
        assert_clean_failure(completed, code)
        lines = refusal_lines(completed, "maxlen")
        assert len(lines) == 1 and "of model 'mlp'" in lines[0], completed.stdout
        assert not data.exists()


def test_cli_unread_parameter_given_to_an_upstream_task_is_refused_in_one_line(cli_dir,
                                                                              tmp_path):
    data = tmp_path / "data"
    completed = run_luigi(["RunAll", "--TrainModel-maxlen", "150",
                           "--pipeline-data-dir", data], cwd=cli_dir)
    assert_clean_failure(completed, SCHEDULING_ERROR)
    lines = refusal_lines(completed, "maxlen")
    assert len(lines) == 1 and "of model 'mlp'" in lines[0], completed.stdout
    assert not data.exists()


def test_cli_bad_value_in_luigi_cfg(cli_dir, tmp_path):
    """A bad [experiment] default in luigi.cfg: one line naming the file, the section and
    the parameter, no traceback, nothing written."""
    cfg = cli_dir / "luigi.cfg"
    cfg.write_text(cfg.read_text().replace("\n[experiment]\n", "\n[experiment]\nepochs = abc\n"))
    data = tmp_path / "data"
    completed = run_luigi(["RunAll", "--pipeline-data-dir", data], cwd=cli_dir)
    assert_clean_failure(completed, UNHANDLED,
                         "[experiment] in luigi.cfg: epochs must be an integer from 1 to "
                         "1,000, got 'abc'")
    assert not data.exists()


def test_cli_help_lists_every_parameter_a_task_may_read(cli_dir):
    completed = run_luigi(["TrainModel", "--help"], cwd=cli_dir)
    assert completed.returncode == 0, completed.stdout
    for name in reads(TrainModel, "reuters", model="mlp") | reads(TrainModel, model="glove") \
            | reads(TrainModel, model="nbsvm"):
        assert f"--{name.replace('_', '-')}" in completed.stdout, name
    assert "--final-epochs" not in completed.stdout  # TrainModel never reads it
