"""`ddviz --help` and `ddviz info` start without torch, PySCF or Panel (imports, not timing);
checks made before any computation (outputs, grid sizes) answer in one line with exit 2."""

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT

HEAVY = ("torch", "pyscf", "panel")
PROBE = ("import runpy, sys, json\n"
         "sys.argv = ['ddviz'] + sys.argv[1:]\n"
         "try:\n"
         "    runpy.run_module('ddviz', run_name='__main__')\n"
         "except SystemExit as e:\n"
         "    code = e.code\n"
         "sys.stderr.write('\\nMODULES ' + json.dumps({'code': code, 'modules': sorted(m for m in "
         "sys.modules if m.split('.')[0] in %r)}) + '\\n')\n" % (HEAVY,))


def imported_by(*args):
    """(exit code, heavy modules imported) of `python -m ddviz ARGS` in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True,
                          text=True, timeout=120, env=env)
    line = proc.stderr.rsplit("MODULES ", 1)[-1]
    found = json.loads(line)
    return found["code"], found["modules"]


@pytest.fixture(scope="module")
def cube(tmp_path_factory):
    from ase.build import molecule

    import ddviz.io as dio
    from ddviz.grid import Grid, Sample
    from ddviz.units import ang_to_bohr

    atoms = molecule("H2O")
    grid = Grid.around(ang_to_bohr(atoms.positions), 0.5, 3.0)
    path = tmp_path_factory.mktemp("startup") / "water.cube"
    dio.write(Sample(atoms, grid, [[[0.1] * grid.shape[2]] * grid.shape[1]] * grid.shape[0]),
              path)
    return path


@pytest.mark.parametrize("args", [["--help"], ["info", "--help"], ["predict", "--help"],
                                  ["serve", "--help"], ["train", "--help"]])
def test_help_imports_no_heavy_library(args):
    code, modules = imported_by(*args)
    assert code == 0
    assert modules == [], f"ddviz {' '.join(args)} imported {modules}"


def test_info_of_a_cube_imports_no_heavy_library(cube):
    code, modules = imported_by("info", cube)
    assert code in (0, None)
    assert modules == []


def test_info_of_a_model_imports_no_heavy_library():
    code, modules = imported_by("info", ROOT / "models" / "ethane.safetensors", "--json")
    assert code in (0, None) and modules == []


def test_the_probe_sees_heavy_imports():
    """The probe itself can fail: predict's run imports torch."""
    code, modules = imported_by("predict", ROOT / "models/ethane.safetensors",
                                ROOT / "examples/ethane.xyz", "-o", ROOT / "pyproject.toml" / "x.cube")
    assert code == 2 and "torch" not in modules  # refused before the model is loaded
    code, modules = imported_by("evaluate", ROOT / "models/ethane.safetensors",
                                ROOT / "examples/ethane_reference.nc", "--json")
    assert code in (0, None) and "torch" in modules


def test_command_help_shows_no_restructuredtext_markup():
    """The commands' descriptions are their module docstrings, written for Sphinx too."""
    from ddviz.cli import COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    marked = [name for name in COMMANDS
              if re.search(r"``|:[a-z]+:`", sub.choices[name].format_help())]
    assert not marked, f"help with reST markup: {marked}"
