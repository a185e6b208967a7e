"""The AO layout and the Wigner-D matrices of PySCF's spherical shells (DeepH-E3's core check)."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import molecule

from ddviz.methods.hamiltonian.basis import AOLayout, element_shells, wigner_d
from ddviz.methods.hamiltonian.data import (
    HamiltonianSample,
    HamiltonianSCF,
    random_rotation,
    reference,
)
from ddviz.units import ang_to_bohr


def test_def2_svp_shells():
    assert element_shells("O", "def2-svp") == (0, 0, 0, 1, 1, 2)
    assert element_shells("H", "def2-svp") == (0, 0, 1)
    layout = AOLayout.from_symbols(["O", "H", "H"], "def2-svp")
    assert layout.offsets == (0, 14, 19, 24) and layout.nao == 24


@pytest.mark.parametrize("l", [1, 2, 3])
def test_wigner_d_rotates_pyscf_functions(l):
    """phi_m(r) = sum_n D_mn phi_n(R^T r) for PySCF's own real functions (O def2-TZVP, up to f).

    PySCF's functions keep their orientation when the molecule turns; the turned functions
    phi_n(R^T r) are related to them by D, hence F' = D F D^T.
    """
    from pyscf import gto

    mol = gto.M(atom="O 0 0 0", basis="def2-tzvp", spin=0, verbose=0)
    shell = [i for i in range(mol.nbas) if mol.bas_angular(i) == l][0]
    start = sum(2 * mol.bas_angular(i) + 1 for i in range(shell))
    idx = slice(start, start + 2 * l + 1)
    rng = np.random.default_rng(l)
    points = rng.normal(size=(40, 3))
    rot = random_rotation(rng)
    phi = mol.eval_gto("GTOval_sph", points)[:, idx]
    phi_turned = mol.eval_gto("GTOval_sph", points @ rot)[:, idx]  # phi(R^T r)
    d = wigner_d(l, rot)
    np.testing.assert_allclose(phi, phi_turned @ d.T, atol=1e-12)
    assert np.abs(phi - phi_turned).max() > 1e-3
    np.testing.assert_allclose(d @ d.T, np.eye(2 * l + 1), atol=1e-12)


def test_rotated_water_blocks_are_rotated():
    """Recomputed F and S of a rotated water: every block equals D_I B_IJ D_J^T (SCF tolerance)."""
    water = molecule("H2O")
    pos = ang_to_bohr(water.positions)
    rot = random_rotation(np.random.default_rng(7))
    settings = HamiltonianSCF()
    a = reference(water.numbers, pos, settings)
    b = reference(water.numbers, pos @ rot.T, settings)
    layout = AOLayout.from_symbols(water.get_chemical_symbols(), "def2-svp")
    for i in range(3):
        for j in range(3):
            di = AOLayout.from_symbols([water.get_chemical_symbols()[i]], "def2-svp").rotation(rot)
            dj = AOLayout.from_symbols([water.get_chemical_symbols()[j]], "def2-svp").rotation(rot)
            np.testing.assert_allclose(layout.block(b["overlap"], i, j),
                                       di @ layout.block(a["overlap"], i, j) @ dj.T, atol=1e-10)
            np.testing.assert_allclose(layout.block(b["fock"], i, j),
                                       di @ layout.block(a["fock"], i, j) @ dj.T, atol=5e-6)
    # the whole-matrix form, and an unrotated block that differs: the check can fail
    d = layout.rotation(rot)
    assert np.abs(d @ a["fock"] @ d.T - b["fock"]).max() < 5e-6
    assert np.abs(a["fock"] - b["fock"]).max() > 1e-2
    # generalised eigenproblem of the stored matrices gives PySCF's orbital energies
    import scipy.linalg

    np.testing.assert_allclose(scipy.linalg.eigh(a["fock"], a["overlap"], eigvals_only=True),
                               a["mo_energy"], atol=1e-5)


def test_sample_file_round_trip(tmp_path):
    water = molecule("H2O")
    pos = ang_to_bohr(water.positions)
    ref = reference(water.numbers, pos, HamiltonianSCF(grids_level=1, conv_tol=1e-8))
    sample = HamiltonianSample(water.numbers, pos, ref["fock"], ref["overlap"],
                               ref["density_matrix"], ref["mo_energy"], ref["mo_occ"],
                               "def2-svp", {"energy_Ha": ref["energy"]})
    sample.write(tmp_path / "s.nc")
    back = HamiltonianSample.read(tmp_path / "s.nc")
    np.testing.assert_array_equal(back.fock, ref["fock"])
    assert back.layout.shells == ((0, 0, 0, 1, 1, 2), (0, 0, 1), (0, 0, 1))
    assert back.nelectron == 10
