"""The library's public API has numpydoc docstrings: ruff's D rules pass on the whole package.

The convention and the ignored D rules come from pyproject.toml ([tool.ruff.lint]: numpy
convention, D105/D107/D401 ignored there with the reason), so this test and a plain
``ruff check`` agree. (``--select D`` on the command line would drop the configured ``ignore``,
so it is passed again.)
"""

from __future__ import annotations

import fnmatch
import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Sub-packages of ddviz left out of the check (none: the whole package follows the rules). A name
# here must be a real sub-package (test_pending_subpackages_exist).
PENDING: tuple[str, ...] = ()


def _ruff() -> list[str]:
    """The command that runs ruff: ``python -m ruff`` if installed for this Python, else the
    ``ruff`` binary on PATH."""
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    binary = shutil.which("ruff")
    if binary is None:
        pytest.fail("ruff is not installed (it is in the test extra: pip install -e '.[test]')")
    return [binary]


def _packages() -> list[Path]:
    """The top-level package folders that pyproject's setuptools ``include`` patterns name."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    found = [p for p in sorted(ROOT.iterdir())
             if (p / "__init__.py").is_file() and any(fnmatch.fnmatch(p.name, pat)
                                                      for pat in patterns)]
    assert found, f"no package folder matches {patterns}"
    return found


def _checked_paths() -> list[str]:
    """Every file and folder of the packages, less the PENDING sub-packages of ddviz."""
    paths = []
    for package in _packages():
        for entry in sorted(package.iterdir()):
            if package.name == "ddviz" and entry.name in PENDING:
                continue
            if entry.is_dir() and not (entry / "__init__.py").is_file():
                continue  # __pycache__ and other non-package folders
            if entry.is_dir() or entry.suffix == ".py":
                paths.append(str(entry.relative_to(ROOT)))
    return paths


def _ruff_d(*paths: str) -> subprocess.CompletedProcess:
    """``ruff check --select D`` with pyproject's ignored D rules, run in the checkout."""
    return subprocess.run([*_ruff(), "check", "--no-cache", "--select", "D", *_ignored_d(),
                           "--output-format", "concise", *paths],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def _ignored_d() -> list[str]:
    """``--ignore`` with the D rules that pyproject's [tool.ruff.lint] ignores (if any)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    ignored = [r for r in config["tool"]["ruff"]["lint"].get("ignore", []) if r.startswith("D")]
    return ["--ignore", ",".join(ignored)] if ignored else []


def test_public_api_docstrings_pass_ruff_d_rules():
    paths = _checked_paths()
    assert "ddviz/methods" in paths and "ddviz/grid.py" in paths
    result = _ruff_d(*paths)
    assert result.returncode == 0, (
        f"ruff's docstring rules fail (write numpydoc docstrings: summary line, blank line, "
        f"Parameters/Returns/Raises):\n{result.stdout}{result.stderr}")


def test_pending_subpackages_exist():
    # a stale name here would silently check nothing less than it claims
    for name in PENDING:
        assert (ROOT / "ddviz" / name / "__init__.py").is_file(), name


def test_check_catches_an_undocumented_public_function(tmp_path):
    # the same configuration finds a missing docstring and a two-line summary, so the check
    # above can fail
    module = tmp_path / "sample.py"
    module.write_text('"""A module."""\n\n\ndef public(x):\n    return x\n\n\n'
                      'def other(x):\n    """Two lines\n    of summary.\n    """\n    return x\n')
    result = subprocess.run([*_ruff(), "check", "--no-cache", "--select", "D", *_ignored_d(),
                             "--config", str(ROOT / "pyproject.toml"),
                             "--output-format", "concise", str(module)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "D103" in result.stdout and "D205" in result.stdout
