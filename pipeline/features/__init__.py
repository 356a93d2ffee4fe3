"""Representations: how encoded documents become a model's input, one module each.

Adding a representation is one module (a
:class:`~pipeline.features.base.Representation` subclass) and one line below.
"""
from __future__ import annotations

from ..registry import Registry
from .base import Arrays, Representation
from .multihot import MultiHotRepresentation
from .ngrams import NGrams
from .sequences import PaddedSequences

REGISTRY: Registry[Representation] = Registry("representation", Representation)
REGISTRY.register(MultiHotRepresentation)
REGISTRY.register(PaddedSequences)
REGISTRY.register(NGrams)

get = REGISTRY.get

__all__ = ["REGISTRY", "Arrays", "Representation", "get"]
