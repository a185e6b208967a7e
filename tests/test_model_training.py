"""The ansatz and nets are trainable: Adam fits an analytic molecular density."""

import time

import numpy as np
import torch

from ddviz.methods.deep_density import DeepDensity, ModelConfig


def target(numbers, pos, points):
    """Atom-centred smooth exponentials, a different shape per species (e/bohr^3)."""
    amp = {8: 3.0, 1: 0.4}
    rate = {8: 1.6, 1: 2.4}
    d2 = ((points[:, None, :] - pos[None]) ** 2).sum(-1)
    terms = [amp[z] * (1 + 0.8 * np.sqrt(d2[:, k])) * np.exp(-rate[z] * np.sqrt(d2[:, k] + 0.3))
             for k, z in enumerate(numbers)]
    return np.sum(terms, axis=0)


def rel_l2(pred, ref):
    return float(torch.linalg.norm(pred - ref) / torch.linalg.norm(ref))


def test_adam_fits_an_analytic_density():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    numbers = np.array([8, 1, 1])
    pos = np.array([[0.0, 0.0, 0.0], [1.81, 0.0, 0.0], [-0.45, 1.75, 0.0]])
    model = DeepDensity(ModelConfig(species=["H", "O"], m1=16, m2=4, embedding_widths=[16],
                                    fitting_widths=[32, 32], rcut=5.0, rcut_smooth=3.0))
    points = pos[rng.integers(0, 3, 800)] + rng.normal(scale=1.3, size=(800, 3))
    ref = torch.tensor(target(numbers, pos, points), dtype=torch.float32)
    pts = torch.tensor(points, dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    start = time.perf_counter()
    with torch.no_grad():
        initial = rel_l2(model(model.prepare(numbers, pos), pts), ref)
    env = model.prepare(numbers, pos)
    for _ in range(250):
        env = model.refresh(env)  # parameters changed: recompute the atom sums
        loss = ((model(env, pts) - ref) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        final = rel_l2(model(model.prepare(numbers, pos), pts), ref)
    print(f"relative L2 {initial:.3f} -> {final:.4f} in {time.perf_counter() - start:.1f} s")
    assert final < 0.1 * initial and final < 0.05
