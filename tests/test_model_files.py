"""Model files: round trip, atomic writes and one clear error per kind of corruption."""

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ddviz.errors import ModelFileError
from ddviz.methods.deep_density import DeepDensity, ModelConfig, load_model, save_model


def tiny_model():
    torch.manual_seed(0)
    return DeepDensity(ModelConfig(species=["H", "O"], m1=8, m2=4, embedding_widths=[8],
                                   fitting_widths=[16]))


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.safetensors"
    model = tiny_model()
    with torch.no_grad():
        model.fitting_nets[0].head.bias.fill_(0.1)
    save_model(model, path, {"trained_on": "water", "validation": {"rel_l2": 0.05}})
    return model, path


def rewrite(path, edit_tensors=None, edit_header=None):
    """Rewrite a model file with its tensors and/or header changed."""
    with safe_open(str(path), framework="pt") as f:
        header = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if edit_tensors:
        edit_tensors(tensors)
    if edit_header:
        edit_header(header)
    save_file(tensors, str(path), metadata=header)


def test_round_trip(saved, tmp_path):
    model, path = saved
    loaded, meta = load_model(path)
    assert meta["user"] == {"trained_on": "water", "validation": {"rel_l2": 0.05}}
    assert meta["units"] == {"length": "bohr", "density": "e/bohr^3"}
    assert meta["species"] == ["H", "O"] and meta["cutoffs"]["rcut"] == model.config.rcut
    assert meta["format_version"] == 3 and loaded.config == model.config
    pos = np.array([[0.0, 0.0, 0.0], [1.8, 0.0, 0.0]])
    points = torch.tensor(np.random.default_rng(0).uniform(-2, 4, (50, 3)), dtype=torch.float32)
    with torch.no_grad():
        a = model(model.prepare([8, 1], pos), points)
        b = loaded(loaded.prepare([8, 1], pos), points)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]  # no temporaries


def test_missing_file_and_not_safetensors(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "absent.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_text("this is not a model")
    with pytest.raises(ModelFileError, match="not a readable safetensors") as info:
        load_model(bad)
    assert str(bad) in str(info.value)
    pickle = tmp_path / "pickle.safetensors"
    torch.save(tiny_model().state_dict(), pickle)
    with pytest.raises(ModelFileError, match="safetensors"):
        load_model(pickle)


def _set(key, value):
    def edit(d):
        if value is None:
            d.pop(key)
        else:
            d[key] = value
    return edit


@pytest.mark.parametrize("edit_tensors, edit_header, message", [
    (_set("rate", None), None, r"missing weights \['rate'\]"),
    (_set("extra.weight", torch.zeros(2)), None, r"unexpected weights \['extra.weight'\]"),
    (_set("rate", torch.zeros(3)), None, r"rate has shape \(3,\), expected \(2,\)"),
    (_set("offset", torch.tensor([0.0, float("nan")])), None, "offset has non-finite"),
    (_set("lin0", torch.tensor([0.0, float("inf")])), None, "lin0 has non-finite"),
    (None, _set("format_version", "4"), "unknown format version 4"),
    (None, _set("format_version", "true"), "unknown format version True"),
    (None, _set("format", "something-else"), "not a ddviz model file"),
    (None, _set("config", None), r"\[config\]: missing metadata"),
    (None, _set("config", "{not json"), "invalid JSON"),
    (None, _set("config", json.dumps({"species": ["H", "O"], "m2": 99})), "m2"),
])
def test_corrupt_files_name_the_problem(saved, edit_tensors, edit_header, message):
    _, path = saved
    rewrite(path, edit_tensors, edit_header)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_unserialisable_metadata_is_refused(tmp_path):
    with pytest.raises(ModelFileError, match="metadata"):
        save_model(tiny_model(), tmp_path / "m.safetensors", {"bad": object()})
    assert not list(tmp_path.iterdir())


def test_version_1_files_load_with_identity_normalisation(tmp_path):
    """A version-1 file (before the descriptor normalisation buffers) loads as today's model
    with mean 0 and std 1, which computes exactly what the version-1 model computed."""
    path = tmp_path / "v1.safetensors"
    model = tiny_model()
    save_model(model, path)
    rewrite(path, _drop_normalisation, _set("format_version", "1"))
    loaded, meta = load_model(path)
    assert meta["format_version"] == 1
    assert torch.equal(loaded.descriptor_mean, torch.zeros_like(model.descriptor_mean))
    assert torch.equal(loaded.descriptor_std, torch.ones_like(model.descriptor_std))
    pos = np.array([[0.0, 0.0, 0.0], [1.8, 0.0, 0.0]])
    points = torch.tensor(np.random.default_rng(1).uniform(-2, 4, (50, 3)), dtype=torch.float32)
    with torch.no_grad():
        a = model(model.prepare([8, 1], pos), points)
        b = loaded(loaded.prepare([8, 1], pos), points)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def _drop_normalisation(tensors):
    del tensors["descriptor_mean"], tensors["descriptor_std"]


def test_registry_loads_a_model_file_by_its_format(saved, tmp_path):
    from ddviz.methods import load_model as load_any
    from ddviz.methods import model_format

    model, path = saved
    assert model_format(path) == "ddviz-deep-density"
    loaded, meta = load_any(path)
    assert isinstance(loaded, DeepDensity) and meta["user"]["trained_on"] == "water"
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())
    rewrite(path, edit_header=_set("format", "ddviz-unknown-map"))
    with pytest.raises(ModelFileError, match="no method reads model files of format") as info:
        load_any(path)
    assert str(path) in str(info.value)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\xff" * 20)
    with pytest.raises(ModelFileError, match="not a readable safetensors"):
        load_any(bad)
    with pytest.raises(ModelFileError, match="no such model file"):
        load_any(tmp_path / "absent.safetensors")
