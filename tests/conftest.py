"""Shared fixtures: run the real CLI in a subprocess, small real structures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_ddviz(*args, timeout=300, cwd=None, env=None) -> subprocess.CompletedProcess:
    """Run ``python -m ddviz ARGS`` with this checkout first on the path; returns the completed process."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), full_env.get("PYTHONPATH", "")])
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "ddviz", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=full_env)


@pytest.fixture
def ddviz_cli():
    return run_ddviz
