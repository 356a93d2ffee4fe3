"""The package as a whole: its layers import one way, no module imports itself back
through others, and importing it stays cheap (no numpy, TensorFlow or matplotlib)."""
import re
import subprocess
import sys

import pytest
from conftest import ROOT

grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (the dev extra)")


def module_cycles(package):
    """Cycles of direct imports between the package's modules (function-level imports
    included), each as a list of modules; a package's ``__init__`` importing its own
    submodules is not a cycle."""
    graph = grimp.build_graph(package)
    modules = sorted(graph.modules)
    imported = {module: {other for other in graph.find_modules_directly_imported_by(module)
                         if other in graph.modules
                         and not module.startswith(other + ".")}  # a child needs its parent
                for module in modules}
    cycles, state = [], {}

    def visit(module, path):
        state[module] = "open"
        for other in sorted(imported[module]):
            if state.get(other) == "open":
                cycles.append(path[path.index(other):] + [other])
            elif other not in state:
                visit(other, path + [other])
        state[module] = "done"

    for module in modules:
        if module not in state:
            visit(module, [module])
    return cycles


def test_no_module_imports_itself_back_through_others():
    assert module_cycles("pipeline") == []


def test_the_cycle_finder_finds_a_cycle(tmp_path, monkeypatch):
    package = tmp_path / "loop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from . import b\n")
    (package / "b.py").write_text("from . import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert module_cycles("loop") in ([["loop.a", "loop.b", "loop.a"]],
                                     [["loop.b", "loop.a", "loop.b"]])


def test_importing_the_package_loads_no_heavy_library():
    code = ("import sys, pipeline; heavy = [m for m in ('numpy', 'tensorflow', 'keras', "
            "'matplotlib', 'pandas', 'sklearn') if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"


#: ``luigi.x._y``, ``from luigi.x import _y``, and the private attributes of Luigi's
#: parameters and tasks reached through an object (``param._default``)
LUIGI_PRIVATE = re.compile(
    r"\bluigi(?:\.\w+)*\._\w+|\bfrom luigi[\w.]* import [^\n]*\b_\w+"
    r"|\._(?:no_value|default|value_iterator|get_value_from_config|get_value|is_batchable"
    r"|parse_or_no_value|warn_on_wrong_param_type|Register|task_family)\b"
    r"|getattr\([^)]*[\"'](?:_default|_no_value|_value_iterator)[\"']")


def luigi_private_names(text):
    return LUIGI_PRIVATE.findall(text)


def test_the_package_uses_no_private_name_of_luigi():
    """Only Luigi's public API: nothing from ``luigi`` whose name starts with ``_``."""
    found = {str(path.relative_to(ROOT)): luigi_private_names(path.read_text(encoding="utf-8"))
             for path in (ROOT / "pipeline").rglob("*.py")}
    assert {path: names for path, names in found.items() if names} == {}


def test_the_private_name_finder_finds_them():
    assert luigi_private_names("x = luigi.parameter._no_value\n") == [
        "luigi.parameter._no_value"]
    assert luigi_private_names("from luigi.task import _Register\n")
    assert luigi_private_names("shown = data_dir._default\n")
    assert luigi_private_names('default = getattr(param, "_default", None)\n')
    assert luigi_private_names("luigi.Parameter(default='')\nfrom luigi import Task\n") == []
