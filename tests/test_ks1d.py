"""The 1D Kohn–Sham solver: analytic cases, electron count, Fermi level, mixing, characters, forces."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg

from ddviz.errors import ConvergenceError
from ddviz.toys.chain1d import solver as ks1d
from ddviz.toys.chain1d.md import displaced_chain, equilibrium_chain
from ddviz.toys.chain1d.solver import (
    Chain,
    ChainSettings,
    diagonalise,
    occupations,
    solve,
    uniform_chain,
)


def test_free_electrons_match_plane_waves():
    length, n = 10.0, 64
    eigs, orbs = diagonalise(np.zeros(n), length, np.array([0.0, 0.2]), 7)
    for k, e in zip((0.0, 0.2), eigs):
        g = 2 * np.pi * np.arange(-3, 4) / length
        np.testing.assert_allclose(e, np.sort(0.5 * (g + k) ** 2), atol=1e-12)
    h = length / n
    np.testing.assert_allclose((np.abs(orbs[0]) ** 2).sum(axis=0) * h, 1.0, atol=1e-12)


def test_harmonic_well_levels():
    """A wide cell with V = w^2 x^2 / 2: levels w (m + 1/2), spectrally accurate."""
    length, n, w = 40.0, 256, 0.5
    x = np.arange(n) * length / n - length / 2
    eigs, _ = diagonalise(0.5 * w**2 * x**2, length, np.array([0.0]), 5)
    np.testing.assert_allclose(eigs[0], w * (np.arange(5) + 0.5), atol=1e-9)


def test_cosine_potential_against_independent_plane_wave_diagonalisation():
    """Non-interacting density in V = 2 u cos(2 pi x / L) vs a plane-wave (Mathieu) matrix."""
    length, n, u, nocc = 6.0, 48, 0.7, 3
    x = np.arange(n) * length / n
    _, orbs = diagonalise(2 * u * np.cos(2 * np.pi * x / length), length, np.array([0.0]), nocc)
    dens = (np.abs(orbs[0]) ** 2).sum(axis=1)
    m = np.arange(-15, 16)
    g = 2 * np.pi * m / length
    ham = np.diag(0.5 * g**2) + u * (np.eye(m.size, k=1) + np.eye(m.size, k=-1))
    _, c = scipy.linalg.eigh(ham)
    psi = np.exp(1j * np.outer(x, g)) @ c[:, :nocc] / math.sqrt(length)
    np.testing.assert_allclose(dens, (np.abs(psi) ** 2).sum(axis=1), atol=1e-11)


def test_fermi_level_bisection():
    eigs = np.array([[-1.0, -0.5, 0.0, 0.5], [-0.9, -0.4, 0.1, 0.6]])
    w = np.array([0.25, 0.75])
    for ne in (1.0, 3.3, 4.0, 6.5):
        f, mu = occupations(eigs, w, ne, 0.01)
        assert 2 * np.sum(w[:, None] * f) == pytest.approx(ne, abs=1e-11)
    f, mu = occupations(eigs, w, 4.0, 1e-3)  # gap between -0.4 and 0.0: mu in the middle
    assert -0.4 < mu < 0.0


@pytest.fixture(scope="module")
def metal():
    return solve(displaced_chain("metallic", 8, 0.2, 1), ChainSettings(nk=2))


@pytest.fixture(scope="module")
def insulator():
    return solve(displaced_chain("insulating", 8, 0.2, 1), ChainSettings(nk=2))


def test_scf_converges_and_conserves_electrons(metal, insulator):
    for res in (metal, insulator):
        assert res.residuals[-1] < 1e-10
        assert res.density.sum() * res.h == pytest.approx(res.chain.electrons, abs=1e-10)
        assert res.density.min() > 0


def test_pulay_kerker_beats_linear_mixing():
    chain = displaced_chain("metallic", 8, 0.2, 1)
    settings = ChainSettings(nk=2, max_iter=60)
    pulay = solve(chain, settings)
    assert pulay.iterations <= 25
    lin = solve(chain, settings, mixer="linear", raise_on_failure=False)  # alpha 0.3, no Kerker
    assert lin.iterations == 60 and lin.residuals[-1] > 1e3 * settings.tol
    with pytest.raises(ConvergenceError):
        solve(chain, settings, mixer="linear")


def test_gap_insulating_vs_metallic():
    from ddviz.toys.chain1d.response import dense_gap

    ins = solve(equilibrium_chain("insulating", 8), ChainSettings(nk=2))
    met = solve(equilibrium_chain("metallic", 8), ChainSettings(nk=2))
    assert dense_gap(ins, 16) > 0.5
    assert dense_gap(met, 16) < 1e-3


def test_forces_are_minus_energy_gradient(metal, insulator):
    """Hellmann–Feynman forces vs central differences of the Mermin free energy."""
    for res in (metal, insulator):
        for atom in (0, 3):
            e = []
            for sign in (1, -1):
                pos = res.chain.positions.copy()
                pos[atom] += sign * 1e-3
                e.append(solve(res.chain.moved(pos), res.settings, density=res.density).energy)
            fd = -(e[0] - e[1]) / 2e-3
            assert res.forces[atom] == pytest.approx(fd, abs=2e-6)
        assert abs(res.forces.sum()) < 1e-8  # no net force (translation invariance)


def test_translation_shifts_the_density(metal):
    h = metal.h
    shift = 5
    moved = metal.chain.moved(metal.chain.positions + shift * h)
    res = solve(moved, metal.settings, density=np.roll(metal.density, shift))
    np.testing.assert_allclose(res.density, np.roll(metal.density, shift), atol=1e-9)
    assert res.energy == pytest.approx(metal.energy, abs=1e-9)


def test_mixed_chain_has_both_species():
    chain = equilibrium_chain("mixed", 8)
    assert chain.symbols.count("Ne") == 2 and chain.symbols.count("Li") == 6
    res = solve(chain, ChainSettings(nk=2))
    assert np.abs(res.forces).max() < 1e-4  # relaxed


def test_unknown_species_is_a_ddviz_error():
    from ddviz.errors import DdvizError

    with pytest.raises(DdvizError):
        Chain(8.0, ["Xx"], [1.0])
    with pytest.raises(DdvizError):
        ks1d.make_mixer("broyden", 8.0)
    assert uniform_chain(["Li"] * 3).length == pytest.approx(12.0)


def test_characters_table_has_one_row_per_chain():
    from ddviz.toys.chain1d.response import characters_table

    row = {"gap_Ha": 1.1862, "decay_bare": 0.91, "decay_scf": 0.8, "far_bare": 0.0123,
           "far_scf": 0.0046}
    lines = characters_table({"insulating": row, "metallic": {**row, "gap_Ha": 0.0}}).splitlines()
    assert len(lines) == 3 and lines[0].split()[:3] == ["chain", "gap", "(Ha)"]
    assert lines[1].split() == ["insulating", "1.1862", "0.91", "0.80", "0.012", "0.005"]
    assert lines[2].split()[:2] == ["metallic", "0.0000"]
