"""Deep Density on the 1D Kohn–Sham chains: grid-only probe points, 1D invariances through the
3D classes (partly periodic cell diag(L, 1, 1), pbc (T, F, F)), training and evaluation."""

import json

import numpy as np
import pytest
import torch
from conftest import CHAIN_MODEL, chain_config
from torch import nn

from ddviz import io
from ddviz.methods.deep_density import DeepDensity, ModelConfig
from ddviz.methods.deep_density.batches import ProbeSampler
from ddviz.train import Trainer

SMALL_1D = ModelConfig(**CHAIN_MODEL)


def test_grid_only_probe_points_are_grid_points_with_their_values(chain_files):
    sample = io.read(chain_files / "chain_0.nc")
    assert sample.orbitals is None
    sampler = ProbeSampler(sample, "density", focus=0.7, sigma=2.0)
    points, values = sampler.draw(500, np.random.default_rng(1))
    h = sample.grid.spacing[0]
    assert np.all(points[:, 1:] == 0.0)  # open transverse axes: clamped onto the line
    steps = points[:, 0] / h
    np.testing.assert_allclose(steps, np.rint(steps), atol=1e-9)
    assert points[:, 0].min() >= 0 and points[:, 0].max() < sample.cell_bohr[0, 0]  # wrapped
    np.testing.assert_array_equal(values, sample.density.values[np.rint(steps).astype(int), 0, 0])
    # a point just left of the cell wraps to the last grid point
    idx = sampler.nearest_grid_index([[-0.6 * h, 0.3, -0.2], [1e3, 5.0, 5.0]])
    assert idx.tolist() == [[sample.grid.shape[0] - 1, 0, 0], [int(np.rint(1e3 / h)) % 80, 0, 0]]


def random_1d_model(seed=0):
    torch.manual_seed(seed)
    model = DeepDensity(ModelConfig(**{**SMALL_1D.to_dict(), "species": ["Li", "Ne"],
                                       "dtype": "float64"}))
    for net in model.fitting_nets:
        nn.init.normal_(net.head.weight, std=0.3)
    return model


def chain_density(model, numbers, x_atoms, length, x_points):
    pos = np.zeros((len(x_atoms), 3))
    pos[:, 0] = x_atoms
    pts = np.zeros((len(x_points), 3))
    pts[:, 0] = x_points
    env = model.prepare(numbers, pos, np.diag([length, 1.0, 1.0]), (True, False, False))
    with torch.no_grad():
        return model(env, torch.as_tensor(pts)).numpy()


def test_1d_prediction_is_invariant_to_translation_images_and_supercells():
    model = random_1d_model()
    rng = np.random.default_rng(2)
    length = 10.0  # shorter than 2 rcut: atoms meet their own periodic images
    numbers = np.array([10, 3, 3])
    x = np.array([1.0, 4.2, 7.1]) + rng.normal(0, 0.2, 3)
    pts = rng.uniform(-3, 13, 200)
    ref = chain_density(model, numbers, x, length, pts)
    assert np.all(ref > 0) and np.ptp(ref) > 0.1 * ref.max()
    shift = 2.345
    moved = chain_density(model, numbers, x + shift, length, pts + shift)
    np.testing.assert_allclose(moved, ref, rtol=1e-10, atol=1e-12)
    images = chain_density(model, numbers, x + np.array([length, -2 * length, 0]), length, pts)
    np.testing.assert_allclose(images, ref, rtol=1e-10, atol=1e-12)
    periodic = chain_density(model, numbers, x, length, pts + 3 * length)
    np.testing.assert_allclose(periodic, ref, rtol=1e-10, atol=1e-12)
    double = chain_density(model, np.tile(numbers, 2), np.concatenate([x, x + length]),
                           2 * length, pts)
    np.testing.assert_allclose(double, ref, rtol=1e-10, atol=1e-12)
    # the images really matter: an open (non-periodic) chain gives another density
    pos = np.zeros((3, 3))
    pos[:, 0] = x
    env = model.prepare(numbers, pos, None, False)
    pts3 = np.zeros((len(pts), 3))
    pts3[:, 0] = pts
    with torch.no_grad():
        open_chain = model(env, torch.as_tensor(pts3)).numpy()
    assert np.abs(open_chain - ref).max() > 1e-3 * ref.max()




def test_training_on_chains_reduces_the_error_and_evaluate_reports_it(chain_files, tmp_path,
                                                                     ddviz_cli):
    trainer = Trainer(chain_config(chain_files), tmp_path / "run")
    first = trainer.validate()
    assert first["points"] == 2 * 80  # validation on the full 1D grids (80 points each)
    assert trainer.fit() == "finished"
    assert trainer.best["rel_l1"] < 0.5 * first["rel_l1"]
    assert trainer.config.model.species == ["Li", "Ne"]
    files = sorted(str(p) for p in chain_files.glob("*.nc"))[-2:]
    out = ddviz_cli("evaluate", str(tmp_path / "run" / "model.safetensors"), *files, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["pooled"]["points"] == 160
    assert result["pooled"]["rel_l1"] == pytest.approx(trainer.best["rel_l1"], rel=1e-4)
    assert result["pooled"]["electrons_ref"] == pytest.approx(2 * 5.0, abs=1e-6)


def test_explorer_shows_a_chain_as_line_plots(chain_files):
    import holoviews as hv

    from ddviz.app import Explorer

    ref = io.read(chain_files / "chain_1.nc")
    ex = Explorer(structure=ref.atoms, model=random_1d_model(), reference=ref)
    c = ex.comparison
    assert c is not None and c.ndim == 1
    assert not ex.inputs.alert.visible and "relative L1" in ex.state.message
    assert ex.scene is None and len(ex.slices.panes) == 0  # no 3D view, no slices
    layout = ex.view.view[0].object
    density, error = layout
    curves = {el.label: el for el in density if isinstance(el, hv.Curve)}
    assert set(curves) == {"reference", "predicted"} and error.label == "error"
    assert "bohr" in curves["reference"].kdims[0].name
    assert "electrons/bohr" in curves["reference"].vdims[0].name
    x = curves["reference"].dimension_values(0)
    np.testing.assert_allclose(x, np.arange(80) * ref.grid.spacing[0])
    np.testing.assert_allclose(curves["reference"].dimension_values(1), ref.density.values.ravel())
    np.testing.assert_allclose(error.dimension_values(1), c.predicted.ravel() - c.reference.ravel())
    ex.state.slice_axis = "a"  # slice controls do nothing for a 1D view
    assert len(ex.slices.panes) == 0


def test_trainer_copies_the_config_and_validation_keeps_dtype_and_mode(chain_files, tmp_path):
    """The caller's config is not completed in place; validating a float64 model evaluates it
    in float64 (the same numbers as a float64 Predictor) and leaves its modes as they were."""
    from ddviz.evaluate.metrics import error_sums, pooled
    from ddviz.evaluate.predictor import Predictor

    config = chain_config(chain_files, model=ModelConfig(**{**SMALL_1D.to_dict(),
                                                            "dtype": "float64"}))
    trainer = Trainer(config, tmp_path / "run")
    assert config.model.species == [] and trainer.config.model.species == ["Li", "Ne"]
    model = trainer.model
    model.fitting_nets[0].eval()  # a mixed state must come back as it was
    modes = {name: m.training for name, m in model.named_modules()}
    metrics = trainer.validate()
    assert model.dtype == torch.float64
    assert {name: m.training for name, m in model.named_modules()} == modes
    assert model.training and not model.fitting_nets[0].training
    predictor = Predictor(model, device="cpu", dtype=torch.float64)
    assert predictor.model is model  # no float32 copy
    method = trainer.method
    direct = pooled([error_sums(predictor.predict_grid(s.atoms, s.grid), s.density.values,
                                s.grid) for s in method.val_samples])
    assert metrics["rel_l1"] == direct["rel_l1"] and metrics["rel_l2"] == direct["rel_l2"]
    model.train()
    model.eval()
    trainer.validate()
    assert not any(m.training for m in model.modules())


def test_error_sampling_puts_points_where_the_model_is_worst(chain_files, tmp_path):
    from ddviz.methods.deep_density.batches import draw_by_error

    trainer = Trainer(chain_config(chain_files, sampling="error", focus=1.0), tmp_path / "run")
    method, model = trainer.method, trainer.model
    sampler = method.samplers[0]

    def predict(points):
        with torch.no_grad():
            return method.forward(model, 0, points).numpy()

    chosen, ref = draw_by_error(sampler, 400, 1.0, np.random.default_rng(0), predict)
    plain, plain_ref = sampler.draw(400, np.random.default_rng(0))
    assert chosen.shape == plain.shape == (400, 3)
    err_chosen = np.abs(predict(chosen) - ref).mean()
    err_plain = np.abs(predict(plain) - plain_ref).mean()
    assert err_chosen > 1.3 * err_plain
    # focus 0: exactly the plain draw
    same, _ = draw_by_error(sampler, 400, 0.0, np.random.default_rng(0), predict)
    np.testing.assert_array_equal(same, plain)
