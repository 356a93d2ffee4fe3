"""Datasets: one module per source of documents, behind the contract of :mod:`.base`.

Adding a dataset is one module (a :class:`~pipeline.datasets.base.Dataset` subclass)
and one line below; its parameters then appear in ``--help``, luigi.cfg's sections and
the checks by themselves.
"""
from __future__ import annotations

from ..registry import Registry
from .aclimdb import AclImdb
from .base import Dataset, Plan
from .keras_imdb import KerasImdb
from .keras_reuters import KerasReuters
from .reuters import Reuters

REGISTRY: Registry[Dataset] = Registry("dataset", Dataset)
REGISTRY.register(AclImdb)
REGISTRY.register(KerasImdb)
REGISTRY.register(Reuters)
REGISTRY.register(KerasReuters)

get = REGISTRY.get

__all__ = ["REGISTRY", "Dataset", "Plan", "get"]
