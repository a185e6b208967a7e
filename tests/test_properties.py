"""Properties of a density on its grid against analytic values and PySCF's own integrals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import erf

from ddviz.errors import DdvizError, UnsupportedError
from ddviz.evaluate import properties as P
from ddviz.grid import Grid, Sample
from ddviz.units import DEBYE_PER_E_BOHR, ang_to_bohr

# two normalised Gaussians N (a/pi)^(3/2) exp(-a |r - R|^2) and two point cores
EXPONENTS = np.array([1.3, 0.8])  # 1/bohr^2
WEIGHTS = np.array([2.0, 1.5])  # e
CENTRES = np.array([[0.3, -0.2, 0.1], [1.5, 0.9, -0.4]])  # bohr
CORES = np.array([[0.0, 0.0, 0.0], [1.8, 0.7, 0.0]])  # bohr
CORE_CHARGES = np.array([2.0, 1.0])  # e: the system has charge -0.5


def gaussians(grid):
    pts = grid.points()
    return sum(w * (a / np.pi) ** 1.5 * np.exp(-a * ((pts - c) ** 2).sum(1))
               for w, a, c in zip(WEIGHTS, EXPONENTS, CENTRES)).reshape(grid.shape)


def analytic_hartree():
    e = 0.0
    for wi, ai, ci in zip(WEIGHTS, EXPONENTS, CENTRES):
        for wj, aj, cj in zip(WEIGHTS, EXPONENTS, CENTRES):
            p, d = ai * aj / (ai + aj), np.linalg.norm(ci - cj)
            e += 0.5 * wi * wj * (2 * np.sqrt(p / np.pi) if d == 0 else erf(np.sqrt(p) * d) / d)
    return e


def buckingham(points, charges):
    d = np.asarray(points)
    second = (d * np.asarray(charges)[:, None]).T @ d
    return 0.5 * (3 * second - np.trace(second) * np.eye(3))


def test_two_gaussians_analytic():
    grid = Grid.around(np.vstack([CENTRES, CORES]), 0.2, 5.0)
    rho = gaussians(grid)
    origin = np.array([0.4, -0.1, 0.2])
    m = P.multipoles(rho, grid, CORES, CORE_CHARGES, origin_bohr=origin)
    assert m["electrons"] == pytest.approx(WEIGHTS.sum(), abs=1e-8)
    assert m["charge_e"] == pytest.approx(-0.5, abs=1e-8)
    dipole = CORE_CHARGES @ (CORES - origin) - WEIGHTS @ (CENTRES - origin)
    np.testing.assert_allclose(m["dipole_e_bohr"], dipole, atol=1e-8)
    np.testing.assert_allclose(m["dipole_debye"], dipole * DEBYE_PER_E_BOHR, atol=1e-7)
    # a Gaussian's spread (isotropic) drops out of the traceless quadrupole
    quad = buckingham(CORES - origin, CORE_CHARGES) - buckingham(CENTRES - origin, WEIGHTS)
    np.testing.assert_allclose(m["quadrupole_e_bohr2"], quad, atol=1e-7)
    assert np.trace(m["quadrupole_e_bohr2"]) == pytest.approx(0, abs=1e-10)
    assert P.hartree_energy(rho, grid) == pytest.approx(analytic_hartree(), rel=1e-8)


def test_hartree_of_a_non_orthogonal_grid():
    vectors = np.array([[0.2, 0.0, 0.0], [0.07, 0.19, 0.0], [0.03, -0.05, 0.21]])
    grid = Grid(np.array([-5.0, -5.0, -5.0]) + np.array([-2.0, 0.0, 0.0]), vectors, (70, 56, 52))
    grid = Grid(CENTRES.mean(0) - 0.5 * grid.cell.sum(0), vectors, grid.shape)
    rho = gaussians(grid)
    assert P.electrons(rho, grid) == pytest.approx(WEIGHTS.sum(), abs=1e-6)
    assert P.hartree_energy(rho, grid) == pytest.approx(analytic_hartree(), rel=1e-6)


def test_periodic_hartree_of_a_neutral_pair():
    # +/- Gaussians 1 bohr apart (dipole 1 e*bohr) in a cubic cell, k = 0 dropped: the isolated
    # value plus the dipole images' energy -2 pi mu^2 / (3 V) (Makov & Payne, PRB 51, 4014, 1995)
    grid = Grid.periodic(np.eye(3) * 16.0, (64, 64, 64))
    pts = grid.points() - 8.0
    g = (1 / np.pi) ** 1.5
    rho = g * (np.exp(-((pts - [0.5, 0, 0]) ** 2).sum(1))
               - np.exp(-((pts + [0.5, 0, 0]) ** 2).sum(1))).reshape(grid.shape)
    isolated = 2 * 0.5 * 2 * np.sqrt(0.5 / np.pi) - erf(np.sqrt(0.5) * 1.0) / 1.0
    assert P.hartree_energy(rho, grid, pbc=False) == pytest.approx(isolated, rel=1e-9)
    images = -2 * np.pi / (3 * 16.0 ** 3)  # -5.1e-4 Ha; measured residual 3e-6 Ha
    assert P.hartree_energy(rho, grid) == pytest.approx(isolated + images, abs=1e-5)


def test_potential_slice_far_from_a_neutral_atom():
    grid = Grid.around(np.zeros((1, 3)), 0.2, 6.0)
    pts = grid.points()
    rho = 2 * (1.0 / np.pi) ** 1.5 * np.exp(-(pts ** 2).sum(1)).reshape(grid.shape)
    phi = P.electrostatic_potential_slice(rho, grid, np.zeros((1, 3)), [2.0], axis=2)
    assert phi.shape == grid.shape[:2]
    plane = grid.points_at(np.arange(grid.size).reshape(grid.shape)[:, :, grid.shape[2] // 2]
                           .ravel())
    r = np.linalg.norm(plane, axis=1)
    expected = 2 * (1 - erf(r)) / r  # screened: 2/r - 2 erf(r)/r
    np.testing.assert_allclose(phi.ravel(), expected, atol=1e-6)
    with pytest.raises(DdvizError, match="plane index"):
        P.electrostatic_potential_slice(rho, grid, np.zeros((1, 3)), [2.0], axis=0, index=999)


def test_refusals():
    grid = Grid.around(np.zeros((1, 3)), 0.5, 2.0)
    with pytest.raises(DdvizError, match="values"):
        P.electrons(np.zeros(5), grid)
    with pytest.raises(DdvizError, match="core charges"):
        P.multipoles(np.zeros(grid.shape), grid, np.zeros((2, 3)), [1.0])
    line = Sample(__import__("ase").Atoms("H"), Grid(np.zeros(3), np.eye(3), (5, 1, 1)),
                  np.zeros(5), ndim=1)
    with pytest.raises(UnsupportedError, match="1D"):
        P.sample_properties(line)


@pytest.fixture(scope="module")
def water():
    """Water: PySCF PBE/GTH-PBE/gth-dzvp at grid level 1, its density matrix and grids."""
    from ase.build import molecule

    from ddviz.reference.scf import SCFSettings, compute

    atoms = molecule("H2O")
    result = compute(atoms, SCFSettings())
    coeff, occ = result.orbitals.coeff, result.orbitals.occ
    return atoms, result.orbitals, (coeff * occ) @ coeff.T


def pyscf_values(atoms, dm):
    from pyscf import dft

    from ddviz.reference.scf import SCFSettings, build_mol

    mf = dft.RKS(build_mol(atoms, SCFSettings()))
    dipole = mf.dip_moment(dm=dm, unit="Debye", verbose=0)
    return dipole, 0.5 * np.einsum("ij,ji", dm, mf.get_j(dm=dm))


@pytest.mark.parametrize("margin, dipole_tol_debye, hartree_tol_ha",
                         # measured: 3.4e-3 D, 2.3e-3 Ha (4 bohr box); 6e-7 D, 4e-6 Ha (6 bohr)
                         [(4.0, 0.01, 5e-3), (6.0, 2e-5, 2e-5)])
def test_water_against_pyscf(water, margin, dipole_tol_debye, hartree_tol_ha):
    atoms, orbitals, dm = water
    grid = Grid.around(ang_to_bohr(atoms.positions), 0.2, margin)
    props = P.properties(orbitals.evaluate_grid(grid), grid, atoms)
    dipole, hartree = pyscf_values(atoms, dm)
    assert np.abs(np.asarray(props["dipole_debye"]) - dipole).max() < dipole_tol_debye
    assert props["dipole_norm_debye"] == pytest.approx(np.linalg.norm(dipole),
                                                       abs=dipole_tol_debye)
    assert abs(props["hartree_ha"] - hartree) < hartree_tol_ha
    assert props["electrons"] == pytest.approx(8.0, abs=2e-3)
    assert props["core_charge_e"] == 8.0


def test_cli_properties(water, tmp_path, ddviz_cli):
    from ddviz import io

    atoms, orbitals, dm = water
    grid = Grid.around(ang_to_bohr(atoms.positions), 0.2, 6.0)
    path = tmp_path / "water.cube"
    io.write(Sample(atoms, grid, orbitals.evaluate_grid(grid)), path)
    out = ddviz_cli("properties", path, "--json")
    assert out.returncode == 0, out.stderr
    props = json.loads(out.stdout)
    dipole, hartree = pyscf_values(atoms, dm)
    np.testing.assert_allclose(props["dipole_debye"], dipole, atol=1e-3)  # cube: 6 digits
    assert abs(props["hartree_ha"] - hartree) < 1e-3
    assert len(props["quadrupole_e_bohr2"]) == 3
    text = ddviz_cli("properties", path)
    assert "debye" not in text.stdout and " D, |mu|" in text.stdout, text.stderr
    periodic = json.loads(ddviz_cli("properties", path, "--json", "--pbc").stdout)
    assert periodic["pbc"] and periodic["dipole_debye"] is None
    assert periodic["electrons"] == pytest.approx(props["electrons"])
    bad = ddviz_cli("properties", tmp_path / "missing.cube")
    assert bad.returncode == 2 and "missing.cube" in bad.stderr


@pytest.mark.parametrize("pbc", [(False, False, False), (True, True, True)])
def test_near_nuclei_points_by_brute_force(pbc):
    from ddviz.evaluate.metrics import metrics, near_nuclei

    vectors = np.array([[0.2, 0.0, 0.0], [0.05, 0.21, 0.0], [0.0, 0.03, 0.19]])
    grid = Grid(np.zeros(3), vectors, (30, 24, 26), pbc)
    nuclei = np.array([[0.0, 0.0, 0.0], [3.1, 2.0, 2.5], [-9.0, 0.0, 0.0]])
    pts = grid.points()
    d = pts[:, None, :] - nuclei[None]
    if all(pbc):
        frac = d @ np.linalg.inv(grid.cell)
        d = (frac - np.rint(frac)) @ grid.cell
    close = np.flatnonzero((np.linalg.norm(d, axis=-1) <= 0.5).any(axis=1))
    assert close.size > 20
    np.testing.assert_array_equal(near_nuclei(grid, nuclei, 0.5), close)
    rng = np.random.default_rng(0)
    ref = rng.random(grid.shape)
    pred = ref + 0.1 * rng.standard_normal(grid.shape)
    m = metrics(pred, ref, grid, nuclei)
    err = np.abs(pred - ref).ravel()[close].sum() / ref.ravel()[close].sum()
    assert m["rel_l1_near_nuclei"] == pytest.approx(err) and m["points_near_nuclei"] == close.size
    assert metrics(pred, ref, grid)["rel_l1_near_nuclei"] is None


def test_a_grid_too_large_for_the_hartree_fft_keeps_the_other_properties(monkeypatch):
    from ase import Atoms

    grid = Grid.around(np.zeros((1, 3)), 0.3, 3.0)
    pts = grid.points()
    rho = 2 * (1.0 / np.pi) ** 1.5 * np.exp(-(pts ** 2).sum(1)).reshape(grid.shape)
    monkeypatch.setattr(P, "MAX_FFT_POINTS", grid.size)  # the padded grid is ~8x larger
    with pytest.raises(DdvizError, match="over the limit"):
        P.hartree_energy(rho, grid)
    props = P.properties(rho, grid, Atoms("He"))  # He: 2 valence electrons, neutral
    assert props["hartree_ha"] is None and props["electrons"] == pytest.approx(2.0, abs=1e-4)
    assert props["dipole_norm_debye"] == pytest.approx(0.0, abs=1e-9)


def test_an_all_electron_density_is_completed_by_the_bare_nuclei():
    from ase.build import molecule

    from ddviz.evaluate.properties import ALL_ELECTRON, core_charges

    water = molecule("H2O")
    assert list(core_charges(water, ALL_ELECTRON)) == [8.0, 1.0, 1.0]
    assert list(core_charges(water)) == [6.0, 1.0, 1.0]  # GTH-PBE valence
