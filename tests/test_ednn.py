"""EDNN and DCIGN (ddviz.methods.ednn, ddviz.methods.dcign) on 2D Kohn–Sham systems: the tiling's
sum rule, extensivity, exact electron counts, bad input, model files, training and the CLI.
Units: bohr, Ha, electrons/bohr^2; pixels of h = 1/3 bohr.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ddviz.errors import DdvizError, ModelFileError
from ddviz.methods import load_model as load_any
from ddviz.methods.dcign.config import ModelConfig as DCIGNConfig
from ddviz.methods.dcign.files import load_model as load_dcign
from ddviz.methods.dcign.files import save_model as save_dcign
from ddviz.methods.dcign.model import DCIGN
from ddviz.methods.ednn.config import ModelConfig
from ddviz.methods.ednn.data import InputError, load_images
from ddviz.methods.ednn.evaluate import extensivity, two_systems
from ddviz.methods.ednn.files import load_model, save_model
from ddviz.methods.ednn.model import EDNN
from ddviz.toys.plane2d import data

H = 16.0 / 48
SMALL = {"n": 32, "length": 32 / 3, "functionals": ("lda",), "electrons": (2, 4), "workers": 1,
         "progress": False}  # h = 1/3 bohr as in the 48 x 48 dataset


def gaussian_density(n=48, centre=(24.0, 24.0), width=4.0, electrons=2):
    """A smooth density (n, n) electrons/bohr^2 centred at ``centre`` (pixels)."""
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    g = np.exp(-((i - centre[0]) ** 2 + (j - centre[1]) ** 2) / (2 * width**2))
    return g * electrons / (g.sum() * H**2)


def random_ednn(seed=0, **kw) -> EDNN:
    """An EDNN with random (non-zero) output weights and non-trivial statistics."""
    torch.manual_seed(seed)
    model = EDNN(ModelConfig(**kw))
    torch.nn.init.normal_(model.net[-1].weight, std=0.3)
    torch.nn.init.normal_(model.net[-1].bias, std=0.3)
    with torch.no_grad():
        model.energy_mean.copy_(torch.linspace(-1.0, 1.0, 6))
        model.energy_std.copy_(torch.linspace(0.1, 0.6, 6))
    return model.eval()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("plane2d")
    data.build(out, 8, seed=11, **SMALL)  # potentials 0..3, all train; N = 2, 4
    return out


# --- the tiling -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,transform", [("rho", "linear"), ("rho", "sqrt_log"),
                                            ("v_ext", "linear")])
def test_zero_padding_changes_no_prediction(kind, transform):
    model = random_ednn(input=kind, transform=transform)
    if kind == "rho":
        image = gaussian_density(electrons=4)
        small, big = model.predict(image), None
        padded = np.zeros((64, 64))
        padded[5:53, 9:57] = image  # off the tile grid: every tile boundary moves
        big = model.predict(padded)
    else:
        rng = np.random.default_rng(1)
        image = rng.uniform(-3, 3, (48, 48))
        small = model.predict(image, electrons=4)
        padded, mean = np.zeros((64, 64)), np.zeros((64, 64))
        padded[5:53, 9:57] = image
        mean[5:53, 9:57] = 4 / (48 * 48 * H**2)
        big = model.predict(padded, mean_density=mean)
    for key in small:
        assert abs(small[key][0]) > 1e-3
        assert big[key][0] == pytest.approx(small[key][0], rel=1e-5, abs=1e-5)


def test_tile_contributions_sum_to_output_and_match_tile_by_tile():
    model = random_ednn(input="rho")
    a = gaussian_density()
    a[32:] = 0.0  # no electrons in the last two rows of tiles
    x = torch.from_numpy(np.stack([a, gaussian_density(centre=(20, 30))])[:, None]
                         .astype(np.float32))
    with torch.no_grad():
        tiles = model.tile_contributions(x)
        literal = model.tile_forward(x)
        total = model(x)
    assert tiles.shape == (2, 6, 6, 6)  # 48 px / focus 8
    torch.testing.assert_close(tiles.sum(dim=(2, 3)), total)
    torch.testing.assert_close(literal, tiles, rtol=1e-5, atol=1e-6)
    assert (tiles[0, :, 4:] == 0).all() and (tiles[0, :, :4] != 0).all()  # empty: nothing


def test_two_separated_systems_add_up():
    model = random_ednn(input="rho")
    a = gaussian_density(width=3.0, electrons=2)
    b = gaussian_density(centre=(22.0, 26.0), width=4.0, electrons=6)
    canvas = two_systems(a, b)
    assert canvas.shape == (96, 96)
    assert canvas.sum() * H**2 == pytest.approx(8.0)
    e = extensivity(model, a, b)
    for key in e["sum"]:
        assert e["together"][key] == pytest.approx(e["sum"][key], rel=1e-5, abs=1e-5)
        assert e["a"][key] != pytest.approx(e["b"][key], rel=1e-3)


# --- DCIGN ----------------------------------------------------------------------------------------
def test_dcign_density_positive_with_exact_electron_count():
    torch.manual_seed(0)
    model = DCIGN(DCIGNConfig()).eval()
    rng = np.random.default_rng(0)
    v = rng.uniform(-4, 4, (3, 48, 48))
    rho = model.predict(v, np.array([2, 4, 6]))
    assert rho.shape == (3, 48, 48)
    assert (rho > 0).all()
    np.testing.assert_allclose(rho.sum(axis=(1, 2)) * H**2, [2, 4, 6], rtol=1e-6)
    with pytest.raises(InputError, match="divisible"):
        model.predict(rng.uniform(size=(50, 50)), 2)


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.zeros(48), np.zeros((4, 4)), np.zeros((2, 2, 48, 48)),
                                 "text", np.full((48, 48), np.nan)])
def test_bad_images_are_refused(bad):
    ednn = EDNN(ModelConfig(input="v_ext"))
    dcign = DCIGN(DCIGNConfig())
    for predict in (ednn.predict, dcign.predict):
        with pytest.raises(InputError) as info:
            predict(bad, 2)
        assert isinstance(info.value, DdvizError)
        assert "v_ext" in str(info.value)
    with pytest.raises(InputError, match="electron"):
        ednn.predict(np.zeros((48, 48)))
    with pytest.raises(InputError, match="shape"):
        ednn(torch.zeros(1, 1, 48, 48))  # a density where the model reads (v_ext, N/A)


def test_tile_config_must_match_dilations():
    with pytest.raises(DdvizError, match="context"):
        ModelConfig(context=6)
    with pytest.raises(DdvizError, match="density_functional"):
        ModelConfig(input="v_ext", density_functional="lda")


# --- model files ----------------------------------------------------------------------------------
def test_model_files_round_trip(tmp_path):
    ednn = random_ednn(input="v_ext", context=12, dilations=[1, 2, 4, 4, 1])
    save_model(ednn, tmp_path / "e.safetensors", {"note": "test"})
    loaded, meta = load_model(tmp_path / "e.safetensors")
    assert meta["user"] == {"note": "test"}
    assert meta["architecture"]["tile_bohr"]["context"] == pytest.approx(4.0)
    v = np.random.default_rng(2).uniform(-2, 2, (48, 48))
    for key, value in ednn.predict(v, 4).items():
        assert loaded.predict(v, 4)[key] == pytest.approx(value, rel=1e-6)
    torch.manual_seed(1)
    dcign = DCIGN(DCIGNConfig(channels=[8, 16]))
    save_dcign(dcign, tmp_path / "d.safetensors")
    again, _ = load_dcign(tmp_path / "d.safetensors")
    np.testing.assert_array_equal(again.predict(v, 2), dcign.predict(v, 2))
    assert isinstance(load_any(tmp_path / "e.safetensors")[0], EDNN)  # the registry's reader
    assert isinstance(load_any(tmp_path / "d.safetensors")[0], DCIGN)
    with pytest.raises(ModelFileError, match="format"):
        load_model(tmp_path / "d.safetensors")
    from safetensors.torch import load_file, save_file

    tensors = load_file(tmp_path / "e.safetensors")
    from safetensors import safe_open

    with safe_open(str(tmp_path / "e.safetensors"), "pt") as f:
        header = f.metadata()
    tensors["energy_std"][0] = float("nan")
    save_file(tensors, str(tmp_path / "nan.safetensors"), metadata=header)
    with pytest.raises(ModelFileError, match="non-finite"):
        load_model(tmp_path / "nan.safetensors")
    del tensors["energy_std"]
    save_file(tensors, str(tmp_path / "missing.safetensors"), metadata=header)
    with pytest.raises(ModelFileError, match="energy_std"):
        load_model(tmp_path / "missing.safetensors")
    save_file(load_file(tmp_path / "e.safetensors"), str(tmp_path / "v9.safetensors"),
              metadata={**header, "format_version": "9"})
    with pytest.raises(ModelFileError, match="version"):
        load_model(tmp_path / "v9.safetensors")


# --- training and the CLI on real 2D Kohn–Sham data ------------------------------------------------
@pytest.mark.parametrize("method,model", [("ednn", {"input": "rho"}),
                                          ("ednn", {"input": "v_ext", "channels": 8}),
                                          ("dcign", {"channels": [8, 16]})])
def test_training_lowers_the_loss(dataset, tmp_path, method, model):
    from ddviz.train import TrainConfig, Trainer

    config = TrainConfig(method=method, train=[str(dataset)], validation_snapshots=2, steps=40,
                         snapshots_per_step=6, lr=1e-2, lr_final=3e-3, validate_every=40,
                         checkpoint_every=1000, threads=1, model=model)
    trainer = Trainer(config, tmp_path / "run")
    assert len(trainer.method.val_set) == 2 and len(trainer.method.train_set) == 6

    def full_loss():
        every = (np.arange(len(trainer.method.train_set)), 0)
        with torch.no_grad():
            return float(trainer.method.loss(trainer.model, every))

    before = full_loss()
    assert trainer.fit() == "finished"
    assert full_loss() < 0.8 * before
    assert (tmp_path / "run" / "model.safetensors").is_file()


def test_cli_train_and_evaluate(dataset, tmp_path, ddviz_cli):
    images = load_images(dataset)
    assert len(images) == 8 and images.pixel == pytest.approx(H)
    for name, method, model in (("e", "ednn", 'input = "rho"\nchannels = 8'),
                                ("d", "dcign", "channels = [8, 16]")):
        (tmp_path / f"{name}.toml").write_text(
            f'method = "{method}"\ntrain = ["{dataset}"]\nvalidation_snapshots = 2\nsteps = 4\n'
            f'snapshots_per_step = 4\nvalidate_every = 2\nthreads = 1\n[model]\n{model}\n')
        r = ddviz_cli("train", tmp_path / f"{name}.toml", "--run", tmp_path / name, "--quiet",
                      "--output", tmp_path / f"{name}.safetensors")
        assert r.returncode == 0, r.stderr
        # the summary prints the method's own score: EDNN's is not a relative error in %
        assert ("(MAE / spread)" in r.stdout) == (method == "ednn") and (
            "%" in r.stdout) == (method == "dcign"), r.stdout
        r = ddviz_cli("evaluate", tmp_path / f"{name}.safetensors", dataset, "--json")
        assert r.returncode == 0, r.stderr
        pooled = json.loads(r.stdout)["pooled"]
        assert pooled["n"] == 8
        if method == "ednn":
            assert set(pooled["mae_mha"]) == {"E_kin", "E_ext", "E_H", "E_x", "E_c", "E_tot"}
            assert all(v > 0 for v in pooled["mae_mha"].values())
        else:
            assert 0 < pooled["rel_l1"] < 2 and 0 < pooled["rel_l2"]
            assert pooled["electrons_max_err"] < 1e-4
    r = ddviz_cli("evaluate", tmp_path / "e.safetensors", tmp_path, "--json")
    assert r.returncode == 2 and "manifest" in r.stderr
