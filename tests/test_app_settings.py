import os

import pytest
from conftest import ROOT

from ddviz.app.settings import AppSettings, PathError
from ddviz.errors import ConfigError


@pytest.fixture
def settings(tmp_path):
    data = tmp_path / "data"
    models = tmp_path / "models"
    (data / "sub").mkdir(parents=True)
    models.mkdir()
    (data / "sub" / "mol.xyz").write_text("1\n\nH 0 0 0\n")
    (tmp_path / "secret.txt").write_text("no")
    os.symlink(tmp_path / "secret.txt", data / "escape.xyz")
    return AppSettings(data_dirs=[data], models_dir=models, runs_dir=tmp_path / "runs",
                       max_upload_bytes=10)


def test_files_inside_are_found_and_escapes_refused(settings, tmp_path):
    assert settings.safe_path("sub/mol.xyz").name == "mol.xyz"
    for bad in ["../secret.txt", "sub/../../secret.txt", str(tmp_path / "secret.txt"),
                "escape.xyz", "missing.xyz"]:
        with pytest.raises(PathError, match="inside the configured folders"):
            settings.safe_path(bad)
    listed = settings.files((".xyz",))
    assert list(listed) == ["data/sub/mol.xyz"]  # the escaping symlink is not offered


def test_upload_limit(settings):
    settings.check_upload("small.xyz", b"123")
    with pytest.raises(PathError, match="above the"):
        settings.check_upload("big.xyz", b"x" * 11)


def test_defaults_come_from_the_environment(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("DDVIZ_DATA_DIRS", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    monkeypatch.setenv("DDVIZ_MODELS_DIR", str(tmp_path / "m"))
    monkeypatch.setenv("DDVIZ_MAX_UPLOAD_MB", "2")
    monkeypatch.setenv("DDVIZ_CACHE_DIR", "off")
    s = AppSettings()
    assert s.data_dirs == [(tmp_path / "a").resolve(), (tmp_path / "b").resolve()]
    assert s.models_dir == (tmp_path / "m").resolve() and s.max_upload_bytes == 2 * 2**20
    assert s.cache_dir is None
    monkeypatch.setenv("DDVIZ_MAX_UPLOAD_MB", "lots")
    with pytest.raises(ConfigError) as info:
        AppSettings()
    assert info.value.field == "DDVIZ_MAX_UPLOAD_MB" and "'lots'" in str(info.value)
    monkeypatch.delenv("DDVIZ_MAX_UPLOAD_MB")
    with pytest.raises(ConfigError, match="max_upload_bytes"):
        AppSettings(max_upload_bytes=0)


def test_the_default_model_covers_the_default_structure(tmp_path):
    """With the shipped models (aluminium sorts first), a water example gets a model knowing H
    and O, the cluster model (water-box sorts before it; organic knows H and O too but more
    besides), a water box the box model, an aluminium cell the aluminium model, ethane the ethane
    model (not the organic one, which sorts after it but covers it too) and methanol, which only
    the organic model covers, that one."""
    from ddviz.app.explore.inputs import InputsPanel
    from ddviz.app.explore.state import ExploreState
    from ddviz.shipped import shipped_dir

    models = shipped_dir("models")
    assert sorted(p.name for p in models.glob("*.safetensors"))[0] == "aluminium.safetensors"
    for name, expected in (("water8.xyz", "water.safetensors"),
                           ("al32.nc", "aluminium.safetensors"),
                           ("water32-box.nc", "water-box.safetensors"),
                           ("ethane.xyz", "ethane.safetensors"),
                           ("methanol.xyz", "organic.safetensors")):
        data = tmp_path / name.split(".")[0]
        data.mkdir()
        folder = ROOT / "assets" / "datasets" / name.split(".")[0]
        source = (shipped_dir("examples") / name if name.endswith(".xyz") else
                  sorted(folder.glob(f"{folder.name}_*.nc"))[0])
        (data / name).write_bytes(source.read_bytes())
        state = ExploreState()
        InputsPanel(state, AppSettings(data_dirs=[data], models_dir=models, cache_dir=None),
                    lambda: tmp_path)
        assert state.structure.endswith(name) and state.model.endswith(expected), state.model


def test_a_model_header_is_read_once_per_file_version(tmp_path):
    """model_periodic and model_species share one read of the header, read again when the file
    is replaced (another modification time)."""
    import json

    from ddviz.app.explore.inputs import model_header, model_periodic, model_species
    from ddviz.methods.deep_density.files import load_model, save_model

    path = tmp_path / "m.safetensors"
    path.write_bytes((ROOT / "models" / "water-box.safetensors").read_bytes())
    first = model_header(path)
    assert model_header(path) is first  # cached: not read again
    assert model_species(path) == {"H", "O"} and model_periodic(path)  # a box model
    model, meta = load_model(path)
    user = json.loads(json.dumps(meta["user"]))
    user["training"]["periodic"] = False
    save_model(model, path, user)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert model_header(path) is not first and not model_periodic(path)
    assert model_species(tmp_path / "missing.safetensors") == set() == set(model_header(path / "x"))
