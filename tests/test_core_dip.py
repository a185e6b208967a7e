"""The density at pseudopotential cores: the core factor of the ansatz (``core_dip``), model files
without it, fine-tuning into it, and probe points near the nuclei (issue 17, item 2)."""

import json
import math

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ddviz.errors import DdvizError
from ddviz.grid import Grid
from ddviz.methods.deep_density import DeepDensity, ModelConfig, load_model, save_model
from ddviz.methods.deep_density.batches import ProbeSampler

TINY = {"species": ["H", "O"], "m1": 8, "m2": 4, "embedding_widths": [8], "fitting_widths": [16]}
WATER = np.array([[0.0, 0.0, 0.0], [1.43, 1.1, 0.0], [-1.43, 1.1, 0.0]])  # O, H, H (bohr)


def tiny_model(**options) -> DeepDensity:
    torch.manual_seed(0)
    return DeepDensity(ModelConfig(**TINY, **options))


def points_near(centres, n=300, sigma=0.6, seed=0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    pts = centres[rng.integers(0, len(centres), n)] + sigma * rng.standard_normal((n, 3))
    return torch.tensor(pts, dtype=torch.float32)


def test_core_factor_makes_the_density_vanish_at_the_nucleus_with_positive_c0_c1():
    """With a = 1 the per-atom density is 0 at the nucleus and grows as d^2, while c0, c1 > 0
    (softplus) and the plain factor is untouched far from it; both kernel paths agree."""
    model = tiny_model(core_dip=True, core_width=0.2)
    with torch.no_grad():
        model.core_depth.fill_(1.0)
    env = model.prepare([8], WATER[:1])
    d = torch.tensor([0.0, 0.01, 0.02, 1.5])
    pts = torch.stack([d, torch.zeros(4), torch.zeros(4)], dim=1)
    plain = tiny_model()
    with torch.no_grad():
        rho = model(env, pts)
        rho_plain = plain(plain.prepare([8], WATER[:1]), pts)
    assert float(torch.nn.functional.softplus(model.lin0[1].detach())) > 0.4  # c0 stays positive
    assert rho[0] == 0.0 and rho_plain[0] > 0.1
    assert rho[2] / rho[1] == pytest.approx(4.0, rel=0.01)  # ~ d^2 at the core
    assert rho[3] == pytest.approx(float(rho_plain[3]) * (1 - np.exp(-(1.5 / 0.2) ** 2)),
                                   rel=1e-6)
    env = model.prepare([8, 1, 1], WATER)
    pts = points_near(WATER)
    with torch.no_grad():
        grouped = model(env, pts, pair_batch=97)
        reference = model(env, pts, grouped=False)
    torch.testing.assert_close(grouped, reference, rtol=1e-5, atol=1e-7)


def _fit(model, env, pts, ref, steps=300):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.mean(torch.abs(model(env, pts) - ref))
        loss.backward()
        opt.step()
    with torch.no_grad():
        return model(env, pts)


def test_core_factor_learns_a_dipped_radial_profile():
    """Fitted to a single-atom density that falls to 0 at the nucleus (the shape of the GTH
    oxygen valence density: ~d^2 inside 0.2 bohr, a maximum near 0.4 bohr), the model with the
    core factor is far closer within 0.2 bohr than the plain ansatz trained the same way."""
    rng = np.random.default_rng(3)
    direction = rng.standard_normal((600, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    d = np.concatenate([rng.uniform(0, 0.3, 300), rng.uniform(0.3, 4.0, 300)])
    pts = torch.tensor(d[:, None] * direction, dtype=torch.float32)
    ref = torch.tensor((1 - np.exp(-(d / 0.25) ** 2)) * 1.5 * np.exp(-1.6 * d),
                       dtype=torch.float32)
    near = torch.tensor(d < 0.2)
    errors = {}
    for core in (False, True):
        model = tiny_model(core_dip=core)
        env = model.prepare([8], WATER[:1])
        pred = _fit(model, env, pts, ref)
        errors[core] = float((pred - ref)[near].abs().sum() / ref[near].abs().sum())
    assert errors[True] < 0.3 * errors[False], errors
    assert float(model.core_depth[1].detach().clamp(0, 1)) > 0.5  # the oxygen's dip was learned


def _rewrite(path, edit):
    with safe_open(str(path), framework="pt") as f:
        header = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    edit(header)
    save_file(tensors, str(path), metadata=header)


def test_version_2_files_load_and_predict_unchanged(tmp_path):
    """A file written before the core factor (format 2, no core options in its config) loads as
    the plain ansatz and predicts bit for bit what the model it holds predicts."""
    model = tiny_model()
    with torch.no_grad():
        model.fitting_nets[1].head.bias.fill_(0.2)
    path = tmp_path / "v2.safetensors"
    save_model(model, path)

    def to_version_2(header):
        config = json.loads(header["config"])
        assert config.pop("core_dip") is False and config.pop("core_width") == 0.25
        header["config"], header["format_version"] = json.dumps(config), "2"

    _rewrite(path, to_version_2)
    loaded, meta = load_model(path)
    assert meta["format_version"] == 2 and not loaded.config.core_dip
    assert not any(k.startswith("core_") for k in loaded.state_dict())
    pts = points_near(WATER)
    with torch.no_grad():
        a = model(model.prepare([8, 1, 1], WATER), pts)
        b = loaded(loaded.prepare([8, 1, 1], WATER), pts)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_core_model_starts_from_a_plain_file_exactly(tmp_path):
    """Fine-tuning (``init``) a core_dip run from a plain model file: the run's model predicts
    exactly what the file's does (a = 0), and a file with the core factor round-trips."""
    from ddviz.methods.deep_density.training import DeepDensityTraining
    from ddviz.train import TrainConfig
    from ddviz.train.run_dir import TrainingError

    plain = tiny_model()
    with torch.no_grad():
        plain.lin1.add_(0.3)
    src = tmp_path / "plain.safetensors"
    save_model(plain, src)
    cfg = TrainConfig(model=ModelConfig(**TINY, core_dip=True, core_width=0.15))
    training = DeepDensityTraining.__new__(DeepDensityTraining)  # no data needed to load weights
    training.config, training.device = cfg, torch.device("cpu")
    model = DeepDensity(cfg.model)
    training.start_from(model, src)
    assert torch.equal(model.core_depth, torch.zeros(2))
    pts = points_near(WATER, seed=4)
    with torch.no_grad():
        a = plain(plain.prepare([8, 1, 1], WATER), pts)
        b = model(model.prepare([8, 1, 1], WATER), pts)
        model.core_depth.fill_(0.8)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    dst = tmp_path / "core.safetensors"
    save_model(model, dst)
    loaded, meta = load_model(dst)
    assert meta["format_version"] == 3 and loaded.config.core_dip
    assert "(1 - a exp(-(d/w)^2))" in meta["architecture"]["ansatz"]
    with torch.no_grad():
        torch.testing.assert_close(loaded(loaded.prepare([8, 1, 1], WATER), pts),
                                   model(model.prepare([8, 1, 1], WATER), pts), rtol=0, atol=0)
    training.config = TrainConfig(model=ModelConfig(**TINY))  # a plain run from a core file
    with pytest.raises(TrainingError, match="has the core factor"):
        training.start_from(DeepDensity(training.config.model), dst)


class _Sample:
    """The part of a Sample a ProbeSampler reads."""

    def __init__(self):
        self.grid = Grid(origin=np.full(3, -5.0), vectors=np.eye(3) * 0.5, shape=(21, 21, 21),
                         pbc=(False, False, False))
        self.positions_bohr = WATER
        self.orbitals = object()


def test_near_nucleus_probes_sample_the_nuclear_region():
    """A share ``nuclear`` of the probes lies near the nuclei (Gaussians of nuclear_sigma: in 3D
    the distance is below 0.2 bohr for 1 - erf-type share ~0.21 at sigma 0.25); the rest are drawn
    exactly as without the option, and the default leaves the random stream untouched."""
    sample = _Sample()
    n = 4000
    old = ProbeSampler(sample, "density", 0.5).draw_points(n - 1000, np.random.default_rng(7))
    new = ProbeSampler(sample, "density", 0.5, nuclear=0.25, nuclear_sigma=0.25)
    pts = new.draw_points(n, np.random.default_rng(7))
    assert pts.shape == (n, 3)
    np.testing.assert_array_equal(pts[:n - 1000], old)
    nearest = np.linalg.norm(pts[:, None, :] - WATER[None], axis=2).min(axis=1)
    within = (nearest[n - 1000:] < 0.2).mean()
    sigma_r = 0.2 / 0.25  # P(|x| < r) for a 3D Gaussian: chi distribution with 3 dof
    expected = (math.erf(sigma_r / np.sqrt(2))
                - np.sqrt(2 / np.pi) * sigma_r * np.exp(-sigma_r ** 2 / 2))
    assert within == pytest.approx(expected, abs=0.04)
    assert (nearest[:n - 1000] < 0.2).mean() < 0.1 * within
    with pytest.raises(DdvizError, match="nuclear"):
        ProbeSampler(sample, nuclear=1.5)


def test_shipped_water_model_is_accurate_near_the_nuclei():
    """The issue's criterion on a water8 test snapshot (exact reference from its orbitals):
    rel L1 on random points within 0.2 bohr of the nuclei is within 3x the rel L1 on random
    grid points of the whole grid; and at the oxygen cores the prediction dips with the
    reference."""
    from pathlib import Path

    from ddviz import io
    from ddviz.evaluate.predictor import structure_from_atoms

    root = Path(__file__).resolve().parents[1]
    model, _ = load_model(root / "models" / "water.safetensors")
    assert model.config.core_dip
    sample = io.read(root / "assets" / "datasets" / "water8" / "water8_0040.nc")
    env = model.prepare(*structure_from_atoms(sample.atoms))
    rng = np.random.default_rng(0)
    grid_pts = sample.grid.points(0, sample.grid.size)[rng.choice(sample.grid.size, 20000,
                                                                  replace=False)]
    pos = sample.positions_bohr
    u = rng.standard_normal((len(pos) * 50, 3))
    u *= (0.2 * rng.random(len(u)) ** (1 / 3) / np.linalg.norm(u, axis=1))[:, None]
    near = np.repeat(pos, 50, axis=0) + u  # uniform in the 0.2-bohr balls

    def rel_l1(points):
        with torch.no_grad():
            pred = model(env, points).numpy().astype(float)
        ref = sample.values_at(points)
        return np.abs(pred - ref).sum() / np.abs(ref).sum()

    whole, close = rel_l1(grid_pts), rel_l1(near)
    assert close <= 3 * whole, (close, whole)
    oxygen = pos[np.array(sample.atoms.get_atomic_numbers()) == 8]
    with torch.no_grad():
        at_core = model(env, oxygen).numpy()
    assert at_core.max() < 0.5 * sample.values_at(oxygen + [0.3, 0.0, 0.0]).min()

