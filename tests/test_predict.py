"""Predictor: chunking, OOM retry, memmap output, ASE units, dtype."""

import ase
import numpy as np
import pytest
import torch
from torch import nn

from ddviz.device import default_device
from ddviz.errors import ConfigError, DdvizError
from ddviz.evaluate.predictor import Predictor, is_out_of_memory
from ddviz.grid import Grid
from ddviz.methods.deep_density import DeepDensity, ModelConfig
from ddviz.units import BOHR_PER_ANGSTROM


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    model = DeepDensity(ModelConfig(species=["H", "O"], m1=8, m2=4, embedding_widths=[8],
                                    fitting_widths=[16], rcut=4.0, rcut_smooth=2.0))
    for net in model.fitting_nets:
        nn.init.normal_(net.head.weight, std=0.3)
    return model


@pytest.fixture(scope="module")
def water():
    return ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])


def one_shot(model, atoms, points, dtype=torch.float64):
    m = DeepDensity(model.config).to(dtype)
    m.load_state_dict(model.state_dict())
    env = m.prepare(atoms.numbers, atoms.positions * BOHR_PER_ANGSTROM)
    with torch.no_grad():
        return m(env, torch.tensor(points, dtype=dtype)).numpy()


def test_chunked_grid_equals_one_chunk(model, water):
    grid = Grid.around(water.positions * BOHR_PER_ANGSTROM, spacing=0.5, margin=3.0)
    seen = []
    small = Predictor(model, device="cpu", dtype="float64", memory_budget_bytes=300_000)
    values = small.predict_grid(water, grid, progress=lambda done, total: seen.append(done))
    assert values.shape == grid.shape and values.dtype == np.float64
    assert len(seen) > 3 and seen[-1] == grid.size and seen == sorted(seen)
    expected = one_shot(model, water, grid.points()).reshape(grid.shape)
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-14)
    big = Predictor(model, device="cpu").predict_grid(water, grid)
    assert big.dtype == np.float32
    np.testing.assert_allclose(big, expected, rtol=1e-5, atol=1e-6 * expected.max())


def test_out_of_memory_halves_and_retries(model, water, monkeypatch):
    predictor = Predictor(model, device="cpu", dtype=torch.float64)
    real, calls = predictor._forward, []

    def flaky(env, points):
        calls.append(len(points))
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if len(calls) == 2:
            raise RuntimeError("DefaultCPUAllocator: can't allocate: out of memory")
        return real(env, points)

    monkeypatch.setattr(predictor, "_forward", flaky)
    points = np.random.default_rng(0).uniform(-3, 5, (3000, 3))
    values = predictor.predict_points(water, points)
    assert calls[1] == calls[0] // 2 and calls[2] == calls[0] // 4
    np.testing.assert_allclose(values, one_shot(model, water, points), rtol=1e-12, atol=1e-14)


def test_other_errors_propagate(model, water, monkeypatch):
    predictor = Predictor(model, device="cpu")
    monkeypatch.setattr(predictor, "_forward", lambda env, p: (_ for _ in ()).throw(
        RuntimeError("shape mismatch")))
    with pytest.raises(RuntimeError, match="shape mismatch"):
        predictor.predict_points(water, np.zeros((5, 3)))
    assert is_out_of_memory(RuntimeError("CUDA out of memory")) and not is_out_of_memory(
        ValueError("out of memory"))


def test_memmap_output(model, water, tmp_path):
    grid = Grid.around(water.positions * BOHR_PER_ANGSTROM, spacing=0.6, margin=2.0)
    out = np.lib.format.open_memmap(tmp_path / "rho.npy", mode="w+", dtype=np.float32,
                                    shape=grid.shape)
    predictor = Predictor(model, device="cpu", memory_budget_bytes=200_000)
    result = predictor.predict_grid(water, grid, out=out)
    assert result is out
    out.flush()
    np.testing.assert_allclose(np.load(tmp_path / "rho.npy"), one_shot(
        model, water, grid.points()).reshape(grid.shape), rtol=1e-5, atol=1e-7)
    with pytest.raises(DdvizError, match="shape"):
        predictor.predict_grid(water, grid, out=np.empty((2, 2, 2)))


def test_structures_periodic_atoms_and_tuples(model):
    atoms = ase.Atoms("OH", positions=[[0.2, 0.3, 0.1], [1.1, 0.2, 0.4]],
                      cell=[[2.5, 0, 0], [0.4, 2.6, 0], [0.2, 0.3, 2.4]], pbc=True)
    predictor = Predictor(model, device="cpu", dtype="float64")
    points = np.random.default_rng(1).uniform(0, 5, (200, 3))
    from_atoms = predictor.predict_points(atoms, points)
    as_tuple = (atoms.numbers, atoms.positions * BOHR_PER_ANGSTROM,
                np.asarray(atoms.cell) * BOHR_PER_ANGSTROM, True)
    np.testing.assert_allclose(predictor.predict_points(as_tuple, points), from_atoms, rtol=1e-14)
    env = predictor.environment(atoms)
    np.testing.assert_allclose(predictor.predict_points(env, points), from_atoms, rtol=1e-14)
    shifted = predictor.predict_points(atoms, points + as_tuple[2][0])
    np.testing.assert_allclose(shifted, from_atoms, rtol=1e-10)


def test_unknown_species_and_device(model):
    with pytest.raises(ConfigError, match="C"):
        Predictor(model, device="cpu").predict_points(ase.Atoms("CO"), np.zeros((1, 3)))
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert Predictor(model).model is model or not torch.cuda.is_available()


def test_pair_batches_give_the_same_density(model, water):
    """Pairs evaluated in batches (Predictor's bounded working memory) sum to the same field."""
    points = np.random.default_rng(2).uniform(-3, 5, (500, 3))
    env = Predictor(model, device="cpu", dtype="float64").environment(water)
    m = Predictor(model, device="cpu", dtype="float64").model
    with torch.inference_mode():
        whole = m(env, torch.tensor(points))
        batched = m(env, torch.tensor(points), pair_batch=7)
    assert (env.cells.query(torch.tensor(points))[0].numel()) > 7 * 10  # many batches
    np.testing.assert_allclose(batched.numpy(), whole.numpy(), rtol=1e-13, atol=1e-15)
