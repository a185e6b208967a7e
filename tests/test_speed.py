"""Evaluation speed paths: FLOP count, species-grouped kernel, torch.compile fallback."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from ddviz.evaluate.predictor import Predictor
from ddviz.io.snapshots import load_snapshots, snapshot_files
from ddviz.methods.deep_density import DeepDensity, ModelConfig
from ddviz.methods.deep_density.cost import flops_per_pair
from ddviz.methods.deep_density.files import load_model
from ddviz.methods.deep_density.model import species_pair_density
from ddviz.units import BOHR_PER_ANGSTROM

ROOT = Path(__file__).resolve().parents[1]
# every shipped Deep Density model and a test structure of its dataset
SHIPPED = {"aluminium": "al32", "water": "water8", "water-box": "water32-box", "ethane": "ethane",
           "isobutane": "isobutane", "n-butane": "n-butane", "organic": "qm9"}


def test_shipped_list_is_complete():
    deep_density = set()
    for path in (ROOT / "models").glob("*.safetensors"):
        try:
            load_model(path)
        except Exception:  # another method's file
            continue
        deep_density.add(path.stem)
    assert deep_density == set(SHIPPED)


def _structure_and_points(dataset, n, seed=0):
    sample = load_snapshots(snapshot_files(ROOT / "assets" / "datasets" / dataset, "test")[:1])[0]
    pos = sample.atoms.positions * BOHR_PER_ANGSTROM
    rng = np.random.default_rng(seed)
    return sample.atoms, rng.uniform(pos.min(0) - 3, pos.max(0) + 3, (n, 3))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_grouped_equals_reference_on_shipped_models(name):
    model, _ = load_model(ROOT / "models" / f"{name}.safetensors")
    atoms, points = _structure_and_points(SHIPPED[name], 3000)
    predictor = Predictor(model, device="cpu")
    env = predictor.environment(atoms)
    pts = torch.as_tensor(points, dtype=torch.float32)
    with torch.inference_mode():
        # small pair batches: batches that cross species boundaries in the reference path
        grouped = model(env, pts, pair_batch=777).numpy()
        reference = model(env, pts, pair_batch=777, grouped=False).numpy()
    assert reference.max() > 1e-3 and np.count_nonzero(reference) > 1000
    np.testing.assert_allclose(grouped, reference, rtol=2e-6, atol=1e-6 * reference.max())


def test_grouped_path_keeps_gradients():
    torch.manual_seed(0)
    model = DeepDensity(ModelConfig(species=["H", "O"], m1=8, m2=4, embedding_widths=[8],
                                    fitting_widths=[16], dtype="float64"))
    for net in model.fitting_nets:
        torch.nn.init.normal_(net.head.weight, std=0.3)
    env = model.prepare([8, 1, 1], [[0, 0, 0], [1.8, 0, 0], [-0.5, 1.7, 0]])
    pts = torch.rand(50, 3, dtype=torch.float64) * 4 - 2
    grads = []
    for grouped in (True, False):
        model.zero_grad()
        model(model.refresh(env), pts, pair_batch=17, grouped=grouped).sum().backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]))
    assert grads[1].abs().max() > 0
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-10, atol=1e-12)


def test_flop_count_matches_torch_flop_counter():
    model, _ = load_model(ROOT / "models" / "water.safetensors")
    env = model.prepare([8, 1, 1], [[0, 0, 0], [1.8, 0, 0], [-0.5, 1.7, 0]])
    _, i, vec = model.point_pairs(env, torch.rand(40, 3) * 3)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.pair_density(env, i, vec)
    flops = flops_per_pair(model.config)
    assert counter.get_total_flops() == flops["matmul"] * len(i)
    assert flops["matmul"] < flops["total"] < 1.05 * flops["matmul"]


def test_compile_fallback_gives_the_eager_result(monkeypatch):
    """Where torch.compile fails, a warning and the eager kernel: the same numbers."""
    model, _ = load_model(ROOT / "models" / "water.safetensors")
    atoms, points = _structure_and_points("water8", 2000, seed=1)
    expected = Predictor(model, device="cpu").predict_points(atoms, points)

    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(torch, "compile", broken)
    with pytest.warns(RuntimeWarning, match="torch.compile unavailable"):
        predictor = Predictor(model, device="cpu", compile=True)
    assert not predictor.compiled
    assert model._kernel is species_pair_density  # the caller's model was not changed
    np.testing.assert_array_equal(predictor.predict_points(atoms, points), expected)


def test_cpu_fallback_when_cuda_is_absent(monkeypatch):
    """device 'auto' without CUDA: the CPU, float32, the CPU chunk sizes."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model, _ = load_model(ROOT / "models" / "water.safetensors")
    predictor = Predictor(model)
    assert predictor.device.type == "cpu" and predictor.dtype == torch.float32
    assert predictor.max_chunk_points == 1 << 14
