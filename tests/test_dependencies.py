"""Every third-party package ddviz imports is declared in pyproject.toml (a fresh install has it)."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# imported only where the package that declares it is present (a dependency of a dependency that
# ddviz uses through it): the distribution that brings it
VIA = {"vtkmodules": "pyvista", "vtk": "pyvista", "bokeh": "panel", "param": "panel",
       "pandas": "xarray",
       "pydantic_core": "pydantic", "annotated_types": "pydantic", "e3nn": "e3nn", "tblite": "tblite", "playwright": "pytest-playwright"}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    return {re.split(r"[\[<>=!~; ]", s, maxsplit=1)[0].lower().replace("_", "-") for s in specs}


def _imported() -> set[str]:
    names = set()
    for path in (ROOT / "ddviz").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "ddviz"}


def test_every_imported_package_is_declared():
    dists = packages_distributions()
    declared = _declared()
    missing = {}
    for name in sorted(_imported()):
        candidates = {d.lower().replace("_", "-") for d in dists.get(name, [name])}
        via = VIA.get(name)
        if not candidates & declared and (via is None or via not in declared):
            missing[name] = sorted(candidates)
    assert not missing, f"imported but not in pyproject.toml: {missing}"
