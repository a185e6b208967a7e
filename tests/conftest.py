"""Shared fixtures: run the real CLI in a subprocess, small real structures."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ddviz.train import Callback

ROOT = Path(__file__).resolve().parents[1]


def run_ddviz(*args, timeout=300, cwd=None, env=None) -> subprocess.CompletedProcess:
    """Run ``python -m ddviz ARGS`` with this checkout first on the path; returns the completed process."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), full_env.get("PYTHONPATH", "")])
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "ddviz", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=full_env)


@contextlib.contextmanager
def app_server(root, **dirs):
    """`panel serve app.py` on a free local port, ddviz's folders from ``dirs``; yields the app URL.

    ``dirs``: DDVIZ_* settings by lower-case name (data_dirs, dataset_dirs, models_dir, runs_dir,
    cache_dir); TMPDIR is ``root/server-tmp`` (made here), the log ``root/server.log``. Waits for
    /liveness (up to 180 s: the server pays its warm-up first), stops the server at exit.
    """
    from ddviz.app.server import panel_command

    root = Path(root)
    (root / "server-tmp").mkdir(exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(root / "server-tmp"),
               **{f"DDVIZ_{k.upper()}": str(v) for k, v in dirs.items()})
    with open(root / "server.log", "w") as log:
        proc = subprocess.Popen(panel_command(port=port), env=env, stdout=log,
                                stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                urllib.request.urlopen(url + "/liveness", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the app server did not answer /liveness within 180 s")
        yield url + "/app"
    finally:
        proc.terminate()
        try:
            proc.wait(60)  # at exit the worker finishes the evaluation it is running
        except subprocess.TimeoutExpired:  # a loaded machine: the test's checks are done
            proc.kill()
            proc.wait(30)


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


@pytest.fixture(scope="session")
def app_files(ethane_dataset, tmp_path_factory):
    """Folders for the app: data/ (a structure and its reference), models/ (a small model trained
    for 40 steps on the real ethane dataset), runs/. Returns a dict of paths."""
    import shutil

    from ddviz import io
    from ddviz.methods.deep_density.config import ModelConfig
    from ddviz.train import MODEL, TrainConfig, Trainer

    root = tmp_path_factory.mktemp("app")
    data, models, runs = root / "data", root / "models", root / "runs"
    for d in (data, models, runs):
        d.mkdir()
    shutil.copy(ethane_dataset / "ethane_0007.nc", data / "ethane_ref.nc")
    io.read_structure(data / "ethane_ref.nc").write(data / "ethane.xyz")
    cfg = TrainConfig(train=[str(ethane_dataset)], validation_snapshots=2, validation_stride=3,
                      steps=40, points_per_snapshot=512, validate_every=20, seed=1,
                      model=ModelConfig(m1=8, m2=4, embedding_widths=[8], fitting_widths=[16]))
    Trainer(cfg, runs / "fixture").fit()
    shutil.copy(runs / "fixture" / MODEL, models / "tiny-ethane.safetensors")
    return {"root": root, "data": data, "models": models, "runs": runs,
            "dataset": ethane_dataset}


@pytest.fixture
def app_settings(app_files):
    from ddviz.app.settings import AppSettings

    return AppSettings(data_dirs=[app_files["data"]], dataset_dirs=[app_files["dataset"]],
                       models_dir=app_files["models"], runs_dir=app_files["runs"],
                       cache_dir=app_files["root"] / "cache")


@pytest.fixture(scope="session")
def kinetic_dataset(tmp_path_factory):
    """Five real kinetic-2e samples (seed 0) built through the CLI; sample 4 (HeH+) is the
    test split's one."""
    out = tmp_path_factory.mktemp("kinetic-2e") / "k2e"
    res = run_ddviz("dataset", "kinetic-2e", "-o", out, "--count", "5", "--seed", "0",
                    "--workers", "1", "--no-progress")
    assert res.returncode == 0, res.stderr
    return out


@pytest.fixture(scope="module")
def water_comparison():
    """A synthetic comparison on water's standard-like grid (0.3 bohr, 3 bohr margin): reference
    = atom-centred Gaussians (e/bohr^3), prediction = reference plus a smooth 5 % ripple."""
    import numpy as np
    from ase.build import molecule

    from ddviz.evaluate.comparison import Comparison
    from ddviz.grid import Grid
    from ddviz.units import ang_to_bohr

    atoms = molecule("H2O")
    grid = Grid.around(ang_to_bohr(atoms.positions), spacing=0.3, margin=3.0)
    pts = grid.points()
    ref = sum(np.exp(-np.sum((pts - p) ** 2, axis=1)) for p in ang_to_bohr(atoms.positions))
    ref = ref.reshape(grid.shape)
    return Comparison(atoms, grid, ref * (1 + 0.05 * np.cos(pts[:, 1]).reshape(grid.shape)), ref)


# 1D chains for Deep Density training tests (test_chain_model, test_precision)
CHAIN_MODEL = dict(m1=8, m2=4, embedding_widths=[8], fitting_widths=[16, 16], rcut=6.0,
                   rcut_smooth=3.0, sel=1.0)


@pytest.fixture(scope="session")
def chain_files(tmp_path_factory):
    """Six displaced 4-atom mixed chains (Ne Li Li Li, L = 16 bohr), written by ddviz.io."""
    from ddviz import io
    from ddviz.toys.chain1d.data import to_sample
    from ddviz.toys.chain1d.md import displaced_chain
    from ddviz.toys.chain1d.solver import ChainSettings, solve

    folder = tmp_path_factory.mktemp("chains")
    for seed in range(6):
        res = solve(displaced_chain("mixed", 4, 0.3, seed), ChainSettings(nk=4))
        io.write(to_sample(res, {"seed": seed}), folder / f"chain_{seed}.nc")
    return folder


def chain_config(folder, **kw):
    """A small Deep Density training config on the chains of ``folder`` (``kw`` overrides)."""
    from ddviz.methods.deep_density import ModelConfig
    from ddviz.train import TrainConfig

    base = {"train": [str(folder)], "validation_snapshots": 2, "validation_stride": 1,
            "steps": 40, "snapshots_per_step": 2, "points_per_snapshot": 80,
            "sampling": "uniform", "validate_every": 20, "checkpoint_every": 100,
            "log_every": 10, "lr": 1e-2, "lr_final": 3e-3, "seed": 0, "device": "cpu",
            "model": ModelConfig(**CHAIN_MODEL)}
    return TrainConfig(**{**base, **kw})


class StopAt(Callback):
    """A training callback that asks the trainer to stop once it has logged step ``step``."""

    def __init__(self, step):
        self.step = step

    def on_log(self, trainer, entry):
        if trainer.step >= self.step:
            trainer.request_stop()
