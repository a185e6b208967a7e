"""Cell-list neighbour search against brute force over explicitly enumerated periodic images."""

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ddviz.errors import ConfigError
from ddviz.neighbors import CellList, atom_pairs, perpendicular_widths, point_pairs

TOL = 1e-7  # pairs this close to rcut may go either way


def brute_force(points, positions, rcut, cell, pbc):
    """Set of (p, i, shift) with |point - (x_i + shift @ cell)| < rcut, and the ambiguous ones."""
    if cell is None or not any(pbc):
        ranges = [[0]] * 3
    else:
        pfrac = points @ np.linalg.inv(cell)
        afrac = positions @ np.linalg.inv(cell)
        widths = perpendicular_widths(torch.tensor(cell)).numpy()
        span = np.abs(pfrac).max(initial=0) + np.abs(afrac).max(initial=0)
        ranges = [range(-math.ceil(span + rcut / widths[a] + 1),
                        math.ceil(span + rcut / widths[a] + 1) + 1) if pbc[a] else [0]
                  for a in range(3)]
    shifts = np.array(list(itertools.product(*ranges)), dtype=float)
    images = positions[:, None, :] + (shifts @ cell if cell is not None else shifts)[None]
    d = np.linalg.norm(points[:, None, None, :] - images[None], axis=-1)  # (M, N, K)
    sure = {(p, i, tuple(int(v) for v in shifts[k]))
            for p, i, k in zip(*np.nonzero(d < rcut - TOL))}
    maybe = {(p, i, tuple(int(v) for v in shifts[k]))
             for p, i, k in zip(*np.nonzero(np.abs(d - rcut) <= TOL))}
    return sure, maybe


def as_set(p, i, shift):
    return {(int(a), int(b), tuple(int(v) for v in s)) for a, b, s in zip(p, i, shift.tolist())}


def check_same(found, sure, maybe):
    assert sure <= found, f"missed {sorted(sure - found)[:5]}"
    assert found <= sure | maybe, f"extra {sorted(found - sure - maybe)[:5]}"


@st.composite
def systems(draw, periodic=True):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    natoms = draw(st.integers(1, 6))
    rcut = draw(st.floats(0.8, 5.0))
    if periodic:
        lengths = np.array([draw(st.floats(0.7, 9.0)) for _ in range(3)])
        cell = np.diag(lengths) + rng.uniform(-0.45, 0.45, (3, 3)) * lengths[:, None]
        pbc = tuple(draw(st.lists(st.booleans(), min_size=3, max_size=3)))
        positions = rng.uniform(-0.5, 1.5, (natoms, 3)) @ cell
        points = rng.uniform(-1.5, 2.5, (12, 3)) @ cell
    else:
        cell, pbc = None, (False,) * 3
        positions = rng.uniform(-4, 4, (natoms, 3))
        points = rng.uniform(-10, 10, (20, 3))
    return points, positions, rcut, cell, pbc


@settings(max_examples=60, deadline=None)
@given(systems(periodic=True))
def test_point_pairs_match_brute_force_triclinic(system):
    points, positions, rcut, cell, pbc = system
    p, i, shift, vec = point_pairs(torch.tensor(points), torch.tensor(positions), rcut, cell, pbc)
    check_same(as_set(p, i, shift), *brute_force(points, positions, rcut, cell, pbc))
    expect = points[p] - positions[i] - shift.numpy() @ cell
    np.testing.assert_allclose(vec.numpy(), expect, atol=1e-12)
    assert (torch.linalg.norm(vec, dim=1) < rcut + 1e-9).all()


@settings(max_examples=40, deadline=None)
@given(systems(periodic=True))
def test_atom_pairs_match_brute_force_triclinic(system):
    _, positions, rcut, cell, pbc = system
    i, j, shift, vec = atom_pairs(torch.tensor(positions), rcut, cell, pbc)
    sure, maybe = brute_force(positions, positions, rcut, cell, pbc)
    self_pair = {(a, a, (0, 0, 0)) for a in range(len(positions))}
    check_same(as_set(i, j, shift), sure - self_pair, maybe)
    np.testing.assert_allclose(vec.numpy(), positions[j] + shift.numpy() @ cell - positions[i],
                               atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(systems(periodic=False))
def test_open_system_matches_brute_force(system):
    points, positions, rcut, cell, pbc = system
    p, i, shift, _ = point_pairs(torch.tensor(points), torch.tensor(positions), rcut)
    check_same(as_set(p, i, shift), *brute_force(points, positions, rcut, None, pbc))
    i, j, shift, _ = atom_pairs(torch.tensor(positions), rcut)
    sure, maybe = brute_force(positions, positions, rcut, None, pbc)
    check_same(as_set(i, j, shift), {s for s in sure if s[0] != s[1]}, maybe)


def test_tiny_cell_many_images():
    cell = np.array([[1.0, 0.0, 0.0], [0.4, 1.1, 0.0], [0.3, -0.2, 0.9]])
    positions = np.array([[0.1, 0.2, 0.3], [0.5, 0.5, 0.5]])
    points = np.array([[0.0, 0.0, 0.0], [7.3, -2.0, 4.0]])
    p, i, shift, _ = point_pairs(torch.tensor(points), torch.tensor(positions), 3.0, cell, True)
    sure, maybe = brute_force(points, positions, 3.0, cell, (True,) * 3)
    check_same(as_set(p, i, shift), sure, maybe)
    assert len(sure) > 100  # rcut spans several cells


def test_far_points_and_empty_structure():
    cells = CellList(torch.zeros(1, 3), 2.0)
    p, i, shift = cells.query(torch.tensor([[1e12, -1e12, 5.0], [1.0, 0.0, 0.0]]))
    assert p.tolist() == [1] and i.tolist() == [0]
    empty = CellList(torch.zeros(0, 3), 2.0)
    assert empty.query(torch.zeros(4, 3))[0].numel() == 0


def test_periodic_without_cell_is_config_error():
    with pytest.raises(ConfigError, match="cell"):
        CellList(torch.zeros(1, 3), 2.0, None, True)
    with pytest.raises(ConfigError, match="degenerate"):
        CellList(torch.zeros(1, 3), 2.0, np.ones((3, 3)), True)
