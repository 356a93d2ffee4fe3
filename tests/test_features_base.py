"""The representation registry (pipeline/features/__init__.py) and what each
representation declares against the contract of pipeline/features/base.py."""
import pytest

from pipeline import features
from pipeline.errors import PipelineError
from pipeline.features import Representation
from pipeline.features.multihot import MultiHotRepresentation
from pipeline.features.ngrams import NGrams
from pipeline.features.sequences import PaddedSequences


def test_representation_registry():
    assert features.REGISTRY.names() == ("multihot", "sequences", "ngrams")
    assert type(features.get("multihot")) is MultiHotRepresentation
    assert type(features.get("sequences")) is PaddedSequences
    assert type(features.get("ngrams")) is NGrams
    assert all(isinstance(r, Representation) for r in features.REGISTRY)
    multihot = features.get("multihot")
    assert multihot.parameters == () and multihot.check({}) is None
    # multihot reads no parameter of its own: all of them are the sequences' and n-grams'
    found = [param.name for representation in features.REGISTRY
             for param in representation.parameters]
    assert found == [*(p.name for p in features.get("sequences").parameters),
                     *(p.name for p in features.get("ngrams").parameters)]
    assert sorted(found) == ["maxlen", "min_df", "ngram_range", "padding", "punctuation",
                             "truncating"]
    with pytest.raises(PipelineError) as error:
        features.get("bag")
    assert str(error.value) == ("unknown representation 'bag'; choose one of multihot, "
                                "sequences, ngrams")


def test_only_the_n_grams_read_text_and_keep_what_they_learned():
    assert [(r.name, r.reads_text, r.fitted, r.unit) for r in features.REGISTRY] == [
        ("multihot", False, (), "words"), ("sequences", False, (), "words"),
        ("ngrams", True, ("vocabulary_keys", "vocabulary_words"), "n-grams")]
