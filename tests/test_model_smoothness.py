"""Smoothness at the cutoff and at nuclei, and reuse of the per-structure precompute."""

import numpy as np
import torch
from torch import nn

from ddviz.methods.deep_density import DeepDensity, ModelConfig


def model64(seed=0):
    torch.manual_seed(seed)
    model = DeepDensity(ModelConfig(species=["H", "O"], m1=8, m2=4, embedding_widths=[8],
                                    fitting_widths=[16], rcut=5.0, rcut_smooth=2.5,
                                    dtype="float64"))
    for net in model.fitting_nets:
        nn.init.normal_(net.head.weight, std=0.3)
    return model


def value_and_grad(model, env, points):
    points = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    rho = model(env, points)
    (grad,) = torch.autograd.grad(rho.sum(), points)
    return rho.detach().numpy(), grad.numpy()


def test_single_atom_density_vanishes_smoothly_at_rcut():
    model = model64()
    env = model.prepare([8], np.zeros((1, 3)))
    eps = np.array([4e-2, 2e-2, 1e-2])
    direction = np.array([0.6, -0.48, 0.64])
    rho, grad = value_and_grad(model, env, (5.0 - eps)[:, None] * direction)
    assert (rho > 0).all()
    np.testing.assert_allclose(rho[:-1] / rho[1:], 8.0, rtol=0.1)  # ~ eps^3
    g = np.linalg.norm(grad, axis=1)
    np.testing.assert_allclose(g[:-1] / g[1:], 4.0, rtol=0.1)  # ~ eps^2
    rho, grad = value_and_grad(model, env, np.array([5.0, 5.0001, 7.0])[:, None] * direction)
    assert (rho == 0).all() and (grad == 0).all()


def crossing_line(center, h=1e-3, n=60):
    """Points along a line that crosses the sphere |r - center| = 5 (= rcut) near x = 4.87."""
    x = 4.87 + np.arange(-n, n + 1) * h
    points = np.stack([x, np.full_like(x, 1.0), np.full_like(x, 0.5)], axis=1) + center
    assert np.ptp(np.sign(np.linalg.norm(points - center, axis=1) - 5.0)) == 2
    return points


def test_single_atom_field_is_c2_across_its_cutoff_sphere():
    """Second differences have no jump where the point leaves the sphere (a C1 taper fails)."""
    model = model64(1)
    env = model.prepare([8], np.zeros((1, 3)))
    h = 1e-3
    rho, _ = value_and_grad(model, env, crossing_line(np.zeros(3), h))
    second = (rho[2:] - 2 * rho[1:-1] + rho[:-2]) / h**2
    assert np.abs(second).max() > 0
    assert np.abs(np.diff(second)).max() <= 0.05 * np.abs(second).max()


def test_field_value_and_gradient_continuous_across_a_cutoff_sphere():
    """With a second atom inside, autograd gradients match finite differences across rcut."""
    model = model64(1)
    env = model.prepare([8, 1], np.array([[0.0, 0.0, 0.0], [2.5, 0.8, 0.0]]))
    h = 1e-3
    rho, grad = value_and_grad(model, env, crossing_line(np.zeros(3), h))
    fd = (rho[2:] - rho[:-2]) / (2 * h)
    np.testing.assert_allclose(grad[1:-1, 0], fd, rtol=1e-4, atol=1e-9)
    assert np.abs(np.diff(rho)).max() <= 2 * h * np.abs(grad[:, 0]).max()


def test_gradient_finite_at_nuclei_and_field_smooth_there():
    model = model64(2)
    pos = np.array([[0.0, 0.0, 0.0], [1.8, 0.0, 0.0]])
    env = model.prepare([8, 1], pos)
    rho, grad = value_and_grad(model, env, pos)
    assert np.isfinite(rho).all() and np.isfinite(grad).all() and (rho > 0).all()
    h = 1e-4
    offsets = np.array([[h, 0, 0], [-h, 0, 0]])
    near, _ = value_and_grad(model, env, pos[1] + offsets)
    np.testing.assert_allclose((near[0] - near[1]) / (2 * h), grad[1, 0], rtol=1e-4, atol=1e-8)


def test_prepare_once_then_chunks_equals_one_shot():
    model = model64(3)
    rng = np.random.default_rng(0)
    cell = np.array([[5.0, 0.0, 0.0], [1.0, 5.5, 0.0], [0.5, -0.7, 6.0]])
    pos = rng.uniform(0, 1, (5, 3)) @ cell
    numbers = [8, 1, 1, 8, 1]
    points = torch.tensor(rng.uniform(-0.5, 1.5, (400, 3)) @ cell)
    env = model.prepare(numbers, pos, cell, True)
    with torch.no_grad():
        chunks = torch.cat([model(env, c) for c in points.split(37)])
        whole = model(model.prepare(numbers, pos, cell, True), points)
        refreshed = model(model.refresh(env), points)
    torch.testing.assert_close(chunks, whole, rtol=1e-13, atol=0)
    torch.testing.assert_close(refreshed, whole, rtol=1e-13, atol=0)
