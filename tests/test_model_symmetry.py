"""Invariance of the predicted density: translation, rotation, permutation, periodic images."""

import numpy as np
import pytest
import torch
from torch import nn

from ddviz.methods.deep_density import DeepDensity, ModelConfig

TOL = {"float32": 1e-5, "float64": 1e-10}


def small_model(dtype="float64", seed=0, **kw):
    """A small model whose fitting heads are random, so the descriptor really matters."""
    torch.manual_seed(seed)
    cfg = dict(species=["H", "C", "O"], m1=8, m2=4, embedding_widths=[8], fitting_widths=[16, 16],
               rcut=5.0, rcut_smooth=2.5, dtype=dtype)
    model = DeepDensity(ModelConfig(**{**cfg, **kw}))
    for net in model.fitting_nets:
        nn.init.normal_(net.head.weight, std=0.3)
    return model


def molecule(rng, natoms=6):
    pos = [rng.uniform(0, 5, 3)]
    while len(pos) < natoms:
        x = rng.uniform(0, 5, 3)
        if min(np.linalg.norm(x - p) for p in pos) > 1.6:
            pos.append(x)
    return np.array([8, 6, 1, 1, 6, 1][:natoms]), np.array(pos)


def triclinic(rng):
    cell = np.array([[6.5, 0.0, 0.0], [1.8, 6.0, 0.0], [-1.2, 1.1, 5.8]])
    frac = np.array([[0.1, 0.2, 0.3], [0.4, 0.45, 0.2], [0.7, 0.1, 0.8], [0.3, 0.8, 0.6]])
    return np.array([8, 1, 1, 6]), frac @ cell, cell


def density(model, numbers, pos, points, cell=None, pbc=False):
    env = model.prepare(numbers, pos, cell, pbc)
    with torch.no_grad():
        return model(env, points).double().numpy()


def rel(a, b):
    return np.abs(a - b).max() / np.abs(a).max()


def random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    return request.param


def test_molecule_invariances(dtype):
    rng = np.random.default_rng(1)
    model = small_model(dtype)
    numbers, pos = molecule(rng)
    points = rng.uniform(-2, 7, (300, 3))
    ref = density(model, numbers, pos, points)
    assert ref.max() > 1e-2 and ref.min() >= 0
    t = rng.uniform(-3, 3, 3)
    assert rel(ref, density(model, numbers, pos + t, points + t)) <= TOL[dtype]
    rot = random_rotation(rng)
    assert rel(ref, density(model, numbers, pos @ rot.T, points @ rot.T)) <= TOL[dtype]
    same = np.array([0, 4, 3, 5, 1, 2])  # O stays, C<->C, H's rotate
    assert (numbers[same] == numbers).all()
    assert rel(ref, density(model, numbers[same], pos[same], points)) <= TOL[dtype]


def test_periodic_invariances(dtype):
    rng = np.random.default_rng(2)
    model = small_model(dtype)
    numbers, pos, cell = triclinic(rng)
    points = rng.uniform(-0.2, 1.2, (300, 3)) @ cell
    ref = density(model, numbers, pos, points, cell, True)
    assert ref.max() > 1e-2
    tol = TOL[dtype]
    # an atom moved by a lattice vector; a point moved by a lattice vector
    moved = pos.copy()
    moved[2] += 2 * cell[0] - cell[2]
    assert rel(ref, density(model, numbers, moved, points, cell, True)) <= tol
    assert rel(ref, density(model, numbers, pos, points + cell[1] - cell[0], cell, True)) <= tol
    # a different origin: everything shifted, atoms wrapped back into the new cell
    t = np.array([2.3, -1.1, 0.7])
    frac = (pos + t) @ np.linalg.inv(cell)
    wrapped = (frac - np.floor(frac)) @ cell
    assert rel(ref, density(model, numbers, wrapped, points + t, cell, True)) <= tol
    # an equivalent cell (unimodular change of basis) and a rotation of the whole crystal
    basis = np.array([[1, 1, 0], [0, 1, 0], [0, -1, 1]])
    assert rel(ref, density(model, numbers, pos, points, basis @ cell, True)) <= tol
    rot = random_rotation(rng)
    assert rel(ref, density(model, numbers, pos @ rot.T, points @ rot.T, cell @ rot.T, True)) <= tol
    # permutation of same-species atoms (the two hydrogens)
    same = np.array([0, 2, 1, 3])
    assert rel(ref, density(model, numbers[same], pos[same], points, cell, True)) <= tol


def test_small_periodic_cell_differs_from_open():
    """Images matter: rcut exceeds the cell width, so the periodic density is larger."""
    model = small_model("float64")
    numbers, pos, cell = np.array([1]), np.zeros((1, 3)), np.eye(3) * 3.0
    points = np.array([[1.5, 1.5, 1.5]])
    open_ = density(model, numbers, pos, points)
    periodic = density(model, numbers, pos, points, cell, True)
    assert periodic[0] > 7.9 * open_[0]  # all 8 corner atoms are equally far
