"""The CUDA path (skipped without a GPU; run by benchmarks/device_check.sh), and float16
autocast, whose change of the error is what the GPU path would use."""

from pathlib import Path

import numpy as np
import pytest
import torch

from ddviz.evaluate.predictor import Predictor
from ddviz.io.snapshots import load_snapshots, snapshot_files
from ddviz.methods.deep_density.files import load_model

ROOT = Path(__file__).resolve().parents[1]
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.fixture(scope="module")
def water8():
    sample = load_snapshots(snapshot_files(ROOT / "assets" / "datasets" / "water8", "test")[:1])[0]
    model, _ = load_model(ROOT / "models" / "water.safetensors")
    return model, sample


def _rel_l1(values, ref):
    return float(np.abs(values - ref).sum() / np.abs(ref).sum())


def test_autocast_float16_keeps_the_error(water8):
    """float16 matmuls change rel L1 against the reference by less than 1e-4 (CPU here).

    The fitting nets' heads (the exponents of the ansatz) stay in float32; in float16 they cost
    the water model fine-tuned with the core factor 1.09e-4.
    """
    model, sample = water8
    points = sample.grid.every(12).points()  # the reference from the orbitals at these only
    ref = sample.values_at(points)
    plain = Predictor(model, device="cpu").predict_points(sample.atoms, points)
    mixed = Predictor(model, device="cpu", autocast="float16").predict_points(sample.atoms, points)
    assert not np.array_equal(plain, mixed)  # the matmuls did run in float16
    assert abs(_rel_l1(mixed, ref) - _rel_l1(plain, ref)) < 1e-4


@cuda
def test_cuda_equals_cpu(water8):
    model, sample = water8
    grid = sample.grid.every(4)
    cpu = Predictor(model, device="cpu").predict_grid(sample.atoms, grid)
    gpu = Predictor(model, device="cuda")
    assert gpu.pair_batch > Predictor(model, device="cpu").pair_batch  # larger batches
    values = gpu.predict_grid(sample.atoms, grid)
    np.testing.assert_allclose(values, cpu, rtol=1e-4, atol=1e-6 * cpu.max())


@cuda
def test_cuda_grouped_equals_reference(water8):
    model, sample = water8
    model = model.to("cuda")
    pts = torch.as_tensor(sample.grid.every(5).points(), dtype=torch.float32, device="cuda")
    with torch.inference_mode():
        env = model.prepare(sample.atoms.numbers, sample.atoms.positions / 0.529177210903)
        a = model(env, pts, pair_batch=1 << 16)
        b = model(env, pts, pair_batch=1 << 16, grouped=False)
    torch.testing.assert_close(a, b, rtol=2e-6, atol=1e-6 * float(b.max()))


@cuda
def test_cuda_float16_autocast_keeps_the_error(water8):
    model, sample = water8
    points = sample.grid.every(3).points()
    ref = sample.values_at(points)
    plain = Predictor(model, device="cuda").predict_points(sample.atoms, points)
    mixed = Predictor(model, device="cuda", autocast="float16").predict_points(sample.atoms, points)
    assert abs(_rel_l1(mixed, ref) - _rel_l1(plain, ref)) < 1e-4
