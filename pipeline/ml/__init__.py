"""The machine-learning core: plain functions on arrays and files, no Luigi, no configuration.

Text to sequences (``text``), the validation split (``split``), fitting and evaluating
(``training``, ``heads``, ``metrics``), scoring new documents (``inference``,
``predict``), pretrained vectors (``glove``), and the tables and figures of grids and
runs (``compare``, ``curves``, ``plots``). Tests call these without Luigi.
"""
