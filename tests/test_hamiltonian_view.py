"""What the app shows of a Hamiltonian model: block errors, levels, the implied density compared.

On a real held-out sample of the hamiltonian-water dataset (tests/data/hamiltonian/water1_test.nc:
one water, PySCF RKS PBE/def2-SVP, 29 kB) and the shipped models/hamiltonian-water.safetensors.
"""

from __future__ import annotations

from pathlib import Path

import holoviews as hv
import numpy as np
import pytest

from ddviz.errors import DdvizError, UnsupportedError
from ddviz.methods import load_model
from ddviz.methods.hamiltonian.data import HamiltonianSample, reference
from ddviz.methods.hamiltonian.evaluate import MEV, block_errors, evaluate, orbital_levels
from ddviz.methods.hamiltonian.predict import core_orbitals, from_fock, predict

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "hamiltonian" / "water1_test.nc"


@pytest.fixture(scope="module")
def sample():
    return HamiltonianSample.read(SAMPLE)


@pytest.fixture(scope="module")
def model():
    return load_model(ROOT / "models" / "hamiltonian-water.safetensors")[0]


def test_block_errors_locate_a_perturbed_block(sample):
    layout = sample.layout
    f = sample.fock
    bad = f.copy()
    bad[layout.atom_slice(0), layout.atom_slice(2)] += 2e-3  # O-H2 block and its transpose
    bad[layout.atom_slice(2), layout.atom_slice(0)] += 2e-3
    bad[layout.atom_slice(1), layout.atom_slice(1)] -= 5e-4  # H1 on-site
    err = block_errors(bad, f, layout)
    expected = np.zeros((3, 3))
    expected[0, 2] = expected[2, 0] = 2e-3
    expected[1, 1] = 5e-4
    assert err.shape == (3, 3)
    assert np.allclose(err, expected, atol=1e-15)
    with pytest.raises(DdvizError, match="do not fit"):
        block_errors(bad[:-1, :-1], f[:-1, :-1], layout)


def test_reference_levels_are_pyscf_orbital_energies_and_levels_compare(sample, model):
    ref = from_fock(sample.numbers, sample.positions_bohr, sample.fock, sample.overlap,
                    sample.basis)
    assert np.allclose(ref.eigenvalues, sample.mo_energy, atol=1e-7)  # PySCF's own
    assert ref.nocc == 5 and ref.seconds == 0.0
    pred = predict(model, sample.numbers, sample.positions_bohr)
    levels = orbital_levels(pred, ref)
    assert levels.occupied_mae == pytest.approx(
        np.abs(pred.eigenvalues[:5] - sample.mo_energy[:5]).mean(), rel=1e-6)
    assert levels.gap("reference") == pytest.approx(sample.mo_energy[5] - sample.mo_energy[4])
    assert levels.gap("predicted") == pytest.approx(pred.lumo - pred.homo)
    window = levels.window(below=3, above=2)
    assert [(k, kind) for k, kind, *_ in window] == [
        (2, "occupied"), (3, "occupied"), (4, "occupied"), (5, "virtual"), (6, "virtual")]
    assert window[2][2:] == (pred.homo, ref.homo)
    other = from_fock(sample.numbers[:2], sample.positions_bohr[:2], sample.fock[:15, :15],
                      sample.overlap[:15, :15], sample.basis)
    with pytest.raises(DdvizError, match="differ"):
        orbital_levels(pred, other)


def test_core_orbitals_and_the_valence_density(sample):
    from ddviz.grid import Grid

    assert core_orbitals([8, 1, 1]) == 1
    assert core_orbitals([6, 6, 1, 1, 1, 1, 1, 1]) == 2
    assert core_orbitals([1, 1]) == 0
    with pytest.raises(UnsupportedError):
        core_orbitals([92], "gth-pbe")
    ref = from_fock(sample.numbers, sample.positions_bohr, sample.fock, sample.overlap,
                    sample.basis)
    grid = Grid.around(sample.positions_bohr, 0.15, 5.0)
    valence = ref.orbitals("gth-pbe").evaluate_grid(grid).sum() * grid.voxel_volume
    assert valence == pytest.approx(8.0, abs=0.05)  # the O 1s left out
    assert ref.orbitals().occ.sum() == 10.0 and ref.orbitals("gth-pbe").occ.sum() == 8.0


def test_reference_reports_scf_cycles():
    seen = []
    out = reference([1, 1], [[0, 0, 0], [0, 0, 1.4]], progress=lambda c, e: seen.append((c, e)))
    assert len(seen) >= 2 and [c for c, _ in seen] == list(range(1, len(seen) + 1))
    assert seen[-1][1] == pytest.approx(out["energy"], abs=1e-6)


def test_view_against_reference_matches_the_evaluation(sample, model):
    from ddviz.evaluate.hamiltonian import compute, sample_atoms
    from ddviz.grid import Grid

    view = compute(sample_atoms(sample), model, fock=sample)
    c = view.comparison
    assert view.valence is None and view.against.startswith("the reference F")
    assert c.grid.is_close(Grid.around(sample.positions_bohr))  # the standard grid
    assert c.pseudo == "all-electron"
    stats = evaluate(model, [("s", sample)])
    assert c.metrics()["rel_l1"] == pytest.approx(stats["rel_l1"], rel=1e-6)
    assert view.h_mae * MEV == pytest.approx(stats["h_mae_mev"], rel=1e-6)
    assert view.levels.occupied_mae * MEV == pytest.approx(stats["occ_mae_mev"], rel=1e-6)
    assert view.block_error.shape == (3, 3)
    assert view.block_error.mean() == pytest.approx(
        np.mean([np.abs(view.prediction.hamiltonian - sample.fock)[
            sample.layout.atom_slice(i), sample.layout.atom_slice(j)].mean()
            for i in range(3) for j in range(3)]))
    assert f"relative L1 {c.metrics()['rel_l1']:.3%}" in view.summary()
    electrons = c.predicted.sum() * c.grid.voxel_volume
    assert 9.0 < electrons < 10.5  # all electrons (the O core on a 0.2 bohr grid: a little off)


def test_view_against_deep_density_is_valence(sample, model):
    from ddviz.evaluate.evaluation import compute_comparison
    from ddviz.evaluate.hamiltonian import compute, sample_atoms

    dd = load_model(ROOT / "models" / "water.safetensors")[0]
    atoms = sample_atoms(sample)
    view = compute(atoms, model, fock=sample, deep_density=dd)
    assert view.valence == "gth-pbe" and "Deep Density" in view.against
    assert np.array_equal(view.comparison.reference, compute_comparison(atoms, dd).predicted)
    electrons = view.comparison.predicted.sum() * view.comparison.grid.voxel_volume
    assert electrons == pytest.approx(8.0, abs=0.1)
    assert view.comparison.metrics()["rel_l1"] < 0.5  # the same molecule's valence density
    no_ref = compute(atoms, model)
    assert no_ref.comparison.reference is None and no_ref.levels.reference is None
    assert np.isnan(no_ref.levels.occupied_mae) and no_ref.levels.gap("reference") is None
    assert [r for *_, r in no_ref.levels.window(3, 2)] == [None] * 5
    assert np.array_equal(no_ref.levels.predicted, no_ref.prediction.eigenvalues)
    with pytest.raises(DdvizError, match="not of these atoms"):
        compute(atoms, model, fock={"fock": sample.fock[:5, :5], "overlap": sample.overlap})


def test_plots(sample, model):
    from ddviz.evaluate.hamiltonian import compute, sample_atoms
    from ddviz.viz.hamiltonian import block_error_map, level_diagram

    view = compute(sample_atoms(sample), model, fock=sample)
    window = view.levels.window(4, 3)
    for unit, factor in (("eV", 27.211386245988), ("Ha", 1.0)):
        diagram = level_diagram(window, unit)
        occupied = diagram.get(1).data
        assert len(occupied) == 2 * 4 and diagram.get(2).data.shape[0] == 2 * 3
        assert occupied["y0"].iloc[0] == pytest.approx(window[0][2] * factor)
        assert f"({unit})" in diagram.get(1).kdims[1].pprint_label
        hv.render(diagram, backend="bokeh")
    heat = block_error_map(view.block_error * MEV, ["O", "H", "H"])
    assert sorted(set(heat.data["atom I"])) == ["0 O", "1 H", "2 H"]
    assert heat.data["error"].max() == pytest.approx(view.block_error.max() * MEV)
    hv.render(heat, backend="matplotlib")
    with pytest.raises(ValueError):
        level_diagram(window, "kcal")
    with pytest.raises(ValueError):
        block_error_map(view.block_error, ["O", "H"])


def test_view_against_a_valence_density_file(sample, model):
    """A GTH valence reference (PySCF, its own grid): the implied valence density is compared."""
    from ddviz.evaluate.hamiltonian import compute, sample_atoms
    from ddviz.grid import Grid, Sample
    from ddviz.reference.scf import SCFSettings
    from ddviz.reference.scf import compute as scf

    atoms = sample_atoms(sample)
    grid = Grid.around(sample.positions_bohr, 0.3, 3.0)  # not the standard grid
    ref = Sample(atoms, grid, orbitals=scf(atoms, SCFSettings(threads=1)).orbitals)
    view = compute(atoms, model, density=ref)
    c = view.comparison
    assert view.valence == "gth-pbe" and "valence" in view.against
    assert c.grid.is_close(grid) and c.pseudo == "gth-pbe"
    assert np.allclose(c.reference, ref.orbitals.evaluate_grid(grid))
    expected = view.prediction.orbitals("gth-pbe").evaluate_grid(grid)
    assert np.allclose(c.predicted, expected)
    assert c.metrics()["rel_l1"] < 0.5 and view.levels.reference is None
