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


@pytest.fixture(scope="session")
def ethane_dataset(tmp_path_factory):
    """A real, tiny dataset: 8 rattled ethane geometries, PySCF PBE/GTH valence densities stored
    as orbitals (compact .nc) with a manifest marking them all 'train'."""
    from ase.build import molecule

    from ddviz.reference.generate import Frame, Options, generate

    out = tmp_path_factory.mktemp("ethane")
    frames = []
    for i in range(8):
        atoms = molecule("C2H6")
        atoms.rattle(0.05, seed=i)
        atoms.info["split"] = "train"
        frames.append(Frame("ethane", i, atoms, "test"))
    generate(frames, out, Options(compact=True, workers=2, progress=False))
    return out
