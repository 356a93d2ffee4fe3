"""Parameter declarations: one way to read each kind of value, whatever door it comes
through (text from the command line or luigi.cfg, Python values from code or variants
files), one canonical value per meaning, one line naming the parameter for the rest."""
import math

import numpy as np
import pytest

from pipeline.errors import PipelineError, PluginError
from pipeline.params import (
    AutoOrInteger,
    Catalogue,
    Choice,
    Flag,
    Integer,
    IntegerRange,
    Integers,
    Name,
    Number,
    Param,
    parse_integer,
)

EPOCHS = Param("epochs", Integer(1, 1000), 20, "Epochs", "more only runs for hours")
RATE = Param("learning_rate", Number(minimum=0.0, low_open=True), 0.001, "Learning rate")
DROPOUT = Param("dropout", Number(0.0, 1.0, high_open=True), 0.0, "Dropout")
SIDE = Param("padding", Choice(("pre", "post")), "pre", "Padding side")
UNITS = Param("units", Integers(1, 64), 16, "Units")
RANGE = Param("ngram_range", IntegerRange(1, 3), "1,3", "N-grams")
FINAL = Param("final_epochs", AutoOrInteger(1, 1000), "auto", "Final epochs")
FLAG = Param("trainable", Flag(), False, "Fine-tune")


@pytest.mark.parametrize("text, value", [
    ("3", 3), ("03", 3), (" 3 ", 3), ("+3", 3), ("３", 3), ("1000", 1000)])
def test_integers_written_differently_are_one_value(text, value):
    assert EPOCHS.parse(text) == value
    assert isinstance(EPOCHS.parse(text), int)


@pytest.mark.parametrize("value", [3, 3.0, np.int64(3), np.int32(3), "3"])
def test_python_integers_of_any_type_are_one_value(value):
    assert EPOCHS.normalize(value) == 3 and type(EPOCHS.normalize(value)) is int


@pytest.mark.parametrize("text", ["abc", "1.5", "1e3", "٣", "", "3 4", "0x10", "1_0"])
def test_text_that_is_not_an_integer_is_refused(text):
    with pytest.raises(ValueError):
        parse_integer(text)


@pytest.mark.parametrize("value", [0, 1001, -1, "0", True, 2.5, None, [3], "abc"])
def test_integers_out_of_range_or_of_another_type_are_one_line(value):
    with pytest.raises(PipelineError) as caught:
        EPOCHS.normalize(value)
    assert str(caught.value) == (f"epochs must be an integer from 1 to 1,000, got {value!r} "
                                 f"(more only runs for hours)")


@pytest.mark.parametrize("value, expected", [
    ("0.001", 0.001), ("1e-3", 0.001), (0.001, 0.001), (np.float32(0.5), 0.5), (1, 1.0),
    ("１e-3", 0.001)])
def test_numbers_read_as_floats(value, expected):
    assert RATE.normalize(value) == pytest.approx(expected)
    assert type(RATE.normalize(value)) is float


@pytest.mark.parametrize("value", ["0", 0, -1, "nan", "inf", math.inf, math.nan, "abc",
                                   "1_000", True])
def test_numbers_outside_an_open_bound_or_not_finite_are_refused(value):
    with pytest.raises(PipelineError, match=r"^learning_rate must be a finite number > 0, "):
        RATE.normalize(value)


def test_bounds_are_closed_or_open_as_declared():
    assert DROPOUT.normalize(0) == 0.0
    with pytest.raises(PipelineError, match=r"dropout must be a finite number >= 0 and < 1, "
                                            r"got 1"):
        DROPOUT.normalize(1)
    assert DROPOUT.normalize(-0.0) == 0.0 and math.copysign(1, DROPOUT.normalize(-0.0)) == 1


def test_numbers_serialize_so_that_they_parse_back_to_the_same_value():
    for value in (0.001, 1e-7, 0.1 + 0.2, 3.0):
        assert RATE.parse(RATE.serialize(RATE.normalize(value))) == value


def test_choices_name_the_allowed_values():
    assert SIDE.parse(" post ") == "post"
    with pytest.raises(PipelineError, match=r"^unknown padding 'middle'; choose one of pre, "
                                            r"post$"):
        SIDE.parse("middle")
    with pytest.raises(PipelineError):
        SIDE.normalize(1)


def test_per_layer_integers_keep_one_number_an_int():
    assert UNITS.parse("16") == 16 and UNITS.normalize(16) == 16
    assert UNITS.parse("64, 4") == (64, 4) == UNITS.normalize([64, 4])
    assert UNITS.normalize((16,)) == 16
    assert UNITS.serialize((64, 4)) == "64,4" and UNITS.serialize(16) == "16"
    for bad in ("0", "64,0", "a,b", "", (), "65"):
        with pytest.raises(PipelineError, match="^units must be an integer, or one per layer"):
            UNITS.normalize(bad)


def test_integer_ranges_have_one_written_form():
    assert {RANGE.normalize(v) for v in ("1,3", "1-3", " 1 , 3", (1, 3), [1, 3])} == {"1,3"}
    for bad in ("3,1", "0,2", "1,4", "1", "1,2,3", "a,b", ""):
        with pytest.raises(PipelineError, match=r"^ngram_range must be 'min,max' with 1 <= "
                                                r"min <= max <= 3, got"):
            RANGE.normalize(bad)


def test_auto_or_an_integer_is_text_with_one_form():
    assert FINAL.normalize("auto") == "auto" == FINAL.parse("AUTO")
    assert FINAL.parse("03") == "3" == FINAL.normalize(3) == FINAL.parse("３")
    for bad in ("0", "abc", "1.5", 1001):
        with pytest.raises(PipelineError, match="^final_epochs must be auto, or an integer "
                                                "from 1 to 1,000"):
            FINAL.normalize(bad)


def test_flags_are_true_or_false():
    assert FLAG.parse("True") is True and FLAG.parse("false") is False
    assert FLAG.serialize(True) == "true"
    for bad in ("yes", "1", 1, None):
        with pytest.raises(PipelineError, match="^trainable must be true or false"):
            FLAG.normalize(bad)


def test_names_are_any_non_empty_text():
    name = Param("model", Name("model"), "mlp", "Which model")
    assert name.parse(" mlp ") == "mlp"
    with pytest.raises(PipelineError, match="^model must be the name of a model"):
        name.parse("  ")


def test_a_declaration_keeps_its_default_canonical_and_refuses_a_bad_one():
    assert Param("units", Integers(1, 64), "8", "Units").default == 8
    with pytest.raises(PluginError, match=r"^parameter units: its default 0 is not an "
                                          r"integer, or one per layer"):
        Param("units", Integers(1, 64), 0, "Units")
    with pytest.raises(PluginError, match="is not an identifier"):
        Param("two words", Integer(), 1, "Bad name")


def test_the_catalogue_keeps_one_declaration_per_name_and_who_reads_it():
    catalogue = Catalogue()
    catalogue.declare("model a", EPOCHS)
    catalogue.declare("model b", EPOCHS)
    assert catalogue.owners["epochs"] == ["model a", "model b"]
    other = Param("epochs", Integer(1, 10), 5, "Epochs")
    with pytest.raises(PluginError, match=r"^model c declares parameter epochs \(an integer "
                                          r"from 1 to 10, default 5\) unlike model a, model b"):
        catalogue.declare("model c", other)
    version = catalogue.version
    catalogue.forget("model a")
    catalogue.forget("model b")
    assert "epochs" not in catalogue.params and catalogue.version > version
    catalogue.declare("model c", other)
    assert catalogue.get("epochs") is other


def test_lists_of_names_and_of_integers_have_one_canonical_value():
    from pipeline.params import Digest, IntegerSet, Names, Text

    models = Param("models", Names("model names"), "mlp", "Models")
    sizes = Param("sizes", IntegerSet(minimum=1), "10", "Sizes")
    assert models.parse(" embedding , glove") == ("embedding", "glove") \
        == models.normalize(["embedding", "glove"])
    assert sizes.parse("50, 010,\uff12\uff10") == (10, 20, 50) == sizes.normalize([50, 10, 20])
    for bad in ("", "a,,b", "a,a"):
        with pytest.raises(PipelineError, match="models must be a comma-separated list of "
                                                "distinct model names"):
            models.parse(bad)
    for bad in ("", "0", "10,10", "1.5", "ten"):
        with pytest.raises(PipelineError, match="sizes must be a comma-separated list of "
                                                "distinct integers >= 1"):
            sizes.parse(bad)
    digest = Param("sha256", Digest(), "", "Hash")
    assert digest.parse("AB" * 32) == "ab" * 32 and digest.parse("") == ""
    with pytest.raises(PipelineError, match="sha256 must be empty or a SHA-256 of 64"):
        digest.parse("abc")
    path = Param("input", Text("path", empty=False), "-", "Input")
    assert path.parse(" reviews.csv ") == "reviews.csv"
    with pytest.raises(PipelineError, match="input must be a non-empty path"):
        path.parse("  ")
