"""Plug-in registries: a plug-in that breaks its kind's contract is refused in one line
when it is registered; one that keeps it is one class and one registry line, and its
parameters then appear in --help, in luigi.cfg's defaults and in the checks by
themselves (a toy dataset and a toy model, tests/toy_plugins.py)."""
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import toy_plugins
from conftest import LUIGI, ROOT, build, configured, output_folders, pipeline_config

from pipeline import EvaluateTest, RunAll, TrainModel
from pipeline.errors import PipelineError, PluginError
from pipeline.io.storage import read_json
from pipeline.models import Model
from pipeline.models.mlp import UNITS
from pipeline.params import CATALOGUE, Integer, Param, Values
from pipeline.registry import Registry

HERE = Path(__file__).resolve().parent


@pytest.fixture
def toys():
    toy_plugins.register_toys()
    yield
    toy_plugins.remove_toys()


@pytest.fixture(autouse=True)
def _no_toys_left():
    yield
    toy_plugins.remove_toys()


class Complete(Model):
    """A model that keeps the contract (it is never trained here)."""

    name = "complete"
    representation = "multihot"
    parameters = ()

    def build(self, params: Values, num_words: int, num_classes: int, *, fast: bool,
              extra: Mapping[str, Any]) -> Any:
        raise AssertionError("not built in these tests")

    def describe(self, params: Values) -> str:
        return "complete"


def registered(plugin: type) -> Registry[Model]:
    registry: Registry[Model] = Registry("model", Model)
    registry.register(plugin)
    return registry


def refusal(plugin: type, registry: Registry[Model] | None = None) -> str:
    registry = registry or Registry("model", Model)
    with pytest.raises(PluginError) as caught:
        registry.register(plugin)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_complete_plug_in_is_registered_under_its_name():
    registry = registered(Complete)
    assert registry.names() == ("complete",)
    assert isinstance(registry.get("complete"), Complete)


def test_an_unknown_name_lists_the_registered_ones():
    with pytest.raises(PipelineError, match="unknown model 'nope'; choose one of complete"):
        registered(Complete).get("nope")


def test_a_missing_hook_is_named():
    class NoDescribe(Model):
        name, representation, parameters = "no_describe", "multihot", ()

        def build(self, params: Values, num_words: int, num_classes: int, *, fast: bool,
                  extra: Mapping[str, Any]) -> Any:
            return None

    assert refusal(NoDescribe) == ("model plug-in 'NoDescribe' does not implement describe "
                                   "of the Model contract")


def test_a_missing_attribute_is_named():
    class Nameless(Complete):
        pass

    del_name = type("Unnamed", (Model,), {
        "representation": "multihot", "parameters": (), "build": Complete.build,
        "describe": Complete.describe})
    assert refusal(del_name) == ("model plug-in 'Unnamed' does not define name of the Model "
                                 "contract")


def test_an_attribute_of_the_wrong_type_is_named():
    class Listed(Complete):
        name = "listed"
        parameters = [UNITS]  # a list, not a tuple

    assert refusal(Listed).startswith("model plug-in 'Listed': parameters must be tuple")


def test_a_parameter_that_is_not_a_declaration_is_refused():
    class Loose(Complete):
        name = "loose"
        parameters = ("units",)

    assert "its parameters must be Param declarations, got 'units'" in refusal(Loose)


def test_a_hook_without_the_contract_s_arguments_is_refused():
    class Short(Complete):
        name = "short"

        def describe(self) -> str:  # type: ignore[override]
            return "short"

    assert refusal(Short) == ("model plug-in 'Short': describe() lacks the argument(s) params "
                              "of the Model contract")


def test_a_class_outside_the_contract_is_refused():
    assert refusal(dict) == "model plug-in 'dict' is not a subclass of Model"


def test_two_plug_ins_of_one_name_are_refused():
    registry = registered(Complete)
    assert refusal(Complete, registry) == ("model plug-in 'Complete': a model named "
                                           "'complete' is registered already")


def test_a_second_different_declaration_of_a_parameter_name_is_refused():
    class OwnUnits(Complete):
        name = "own_units"
        parameters = (Param("units", Integer(1, 8), 4, "Units of the toy"),)

    message = refusal(OwnUnits)
    assert message.startswith("model own_units declares parameter units (an integer from 1 "
                              "to 8, default 4) unlike model mlp")
    assert CATALOGUE.get("units") is UNITS and "model own_units" not in CATALOGUE.owners["units"]


def test_the_same_declaration_shared_by_two_plug_ins_is_accepted():
    class SharedUnits(Complete):
        name = "shared_units"
        parameters = (UNITS,)

    registry = registered(SharedUnits)
    try:
        assert CATALOGUE.owners["units"] == ["model mlp", "model shared_units"]
    finally:
        registry.remove("shared_units")
    assert CATALOGUE.owners["units"] == ["model mlp"]


# ------------------------------------------------------ a toy plug-in, end to end

def test_toy_parameters_appear_in_help():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([str(LUIGI), "--module", "toy_plugins", "RunAll", "--help"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    help_text = " ".join(result.stdout.split())
    assert "--toy-noise TOY_NOISE" in help_text and "--toy-l2 TOY_L2" in help_text
    assert "read by dataset toy_weather" in help_text
    assert "read by model toy_logistic" in help_text


def test_toy_parameters_are_checked_by_their_declarations(toys, tmp_path):
    with pipeline_config(tmp_path / "data", ""):
        with pytest.raises(PipelineError, match=r"^toy_l2 must be a finite number >= 0, "
                                                r"got -1"):
            TrainModel(dataset="toy_weather", model="toy_logistic", toy_l2=-1)
        with pytest.raises(PipelineError, match="^toy_l2 is not a parameter of model 'mlp'"):
            TrainModel(dataset="toy_weather", model="mlp", toy_l2=0.1)
        with pytest.raises(PipelineError, match="^toy_noise is not a parameter of dataset "
                                                "'aclimdb'"):
            TrainModel(dataset="aclimdb", toy_noise=0.5)


def test_toy_defaults_come_from_their_declarations_then_luigi_cfg(toys, tmp_path):
    with pipeline_config(tmp_path / "data", ""):
        task = TrainModel(dataset="toy_weather", model="toy_logistic")
        assert (task.toy_l2, task.toy_noise, task.epochs, task.validation_size) == \
            (0.0, 0.0, 30, 20)
        with configured("experiment", toy_l2="0.25"), \
                configured("experiment.toy_logistic", epochs="7"):
            task = TrainModel(dataset="toy_weather", model="toy_logistic")
            assert (task.toy_l2, task.epochs) == (0.25, 7)
            assert task.to_str_params(only_significant=True)["toy_l2"] == "0.25"
        with configured("experiment", toy_l2="-3"):
            with pytest.raises(PipelineError, match=r"^\[experiment\] in luigi.cfg: toy_l2 "
                                                    r"must be a finite number >= 0"):
                TrainModel(dataset="toy_weather", model="toy_logistic")


@pytest.mark.slow
def test_toy_model_trains_on_toy_dataset_through_the_chain(toys, tmp_path):
    with pipeline_config(tmp_path / "data", ""):
        clean = RunAll(dataset="toy_weather", model="toy_logistic", num_words=30)
        noisy = RunAll(dataset="toy_weather", model="toy_logistic", num_words=30,
                       toy_noise=0.5)
        assert build([clean, noisy]).scheduling_succeeded
        accuracy = {task.toy_noise: read_json(task.output()["summary"].path)["test_accuracy"]
                    for task in (clean, noisy)}
        assert accuracy[0.0] >= 0.95  # the class words separate the classes
        assert accuracy[0.5] < accuracy[0.0]  # half the documents' words say the other class
        metrics = read_json(EvaluateTest(dataset="toy_weather", model="toy_logistic",
                                         num_words=30).output()["metrics"].path)
        assert metrics["count"] == 40 and list(metrics["per_class"]) == ["rainy", "sunny"]
        # the dataset's own parameter is part of Encode's id: one folder per value
        recorded = sorted(read_json(folder / "task.json")["parameters"]["toy_noise"]
                          for folder in output_folders(tmp_path / "data", "Encode"))
        assert recorded == ["0.0", "0.5"]
