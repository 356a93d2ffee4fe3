"""Models: one module per model family, chosen by the ``model`` parameter.

Adding a model is one module (a :class:`~pipeline.models.base.Model` subclass) and one
line below; its parameters then appear in ``--help``, luigi.cfg and the checks by
themselves.
"""
from __future__ import annotations

from ..registry import Registry
from .base import Model, check_sizes
from .embedding import Embedding
from .glove import Glove
from .mlp import MLP
from .nbsvm import NBSVM
from .pooled import Pooled

REGISTRY: Registry[Model] = Registry("model", Model)
REGISTRY.register(MLP)
REGISTRY.register(Embedding)
REGISTRY.register(Pooled)
REGISTRY.register(Glove)
REGISTRY.register(NBSVM)

get = REGISTRY.get

__all__ = ["REGISTRY", "Model", "check_sizes", "get"]
