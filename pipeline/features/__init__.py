"""Representations: how encoded sequences become a model's input, one module each.

A representation module (``multihot.py``) defines:

``PARAMETERS``
    ``{name: luigi parameter}``: the parameters it reads besides ``num_words``, made with
    :func:`pipeline.config.experiment_default` (they are declared on the tasks for it;
    the ones another representation reads do not change its task ids).
``check(params)``
    raise :class:`~pipeline.errors.PipelineError` naming a bad value.
``build(split, num_words, **params)``
    a :class:`~pipeline.datasets.Split` -> the representation of its documents: an
    object with ``rows``, ``labels``, ``take(rows)``, ``to_arrays(prefix)`` and
    ``batches(batch_size, label_dtype, shuffle_seed, cache)`` (a ``tf.data.Dataset``).
``from_arrays(arrays, prefix, num_words, **params)``
    the same object back from the arrays of its ``.npz``.

A representation whose columns come from the training split (``ngrams.py``: its n-gram
list) defines ``build_splits(splits, num_words, texts=None, **params)`` instead: all
splits at once (``{name: Split}``, and ``{name: [text, ...]}`` when it sets ``READS_TEXT``
and the dataset has the documents' text), returning the arrays of ``features.npz``; and
``encode_texts(texts, vocabulary_arrays, encode_vocabulary, **params)`` for ``predict``.

Adding a representation is one module and one line in :data:`REPRESENTATIONS`.
"""
import importlib

from ..errors import PipelineError

REPRESENTATIONS = {
    "multihot": "pipeline.features.multihot",
    "sequences": "pipeline.features.sequences",
    "ngrams": "pipeline.features.ngrams",
}


def get(name):
    """The module of representation ``name``."""
    if name not in REPRESENTATIONS:
        raise PipelineError(f"unknown representation {name!r}; choose one of "
                            f"{', '.join(REPRESENTATIONS)}")
    return importlib.import_module(REPRESENTATIONS[name])


def all_parameters():
    """Every representation's parameters: ``{name: luigi parameter}``."""
    return {name: param for representation in REPRESENTATIONS
            for name, param in get(representation).PARAMETERS.items()}
