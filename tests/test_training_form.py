"""The Train tab's form is generated from TrainConfig's fields, and validated by it."""

import panel as pn
import pytest

from ddviz.app.settings import AppSettings
from ddviz.app.training import TrainingPanel
from ddviz.config import describe
from ddviz.errors import ConfigError
from ddviz.train.config import TrainConfig


@pytest.fixture
def panel(tmp_path):
    dataset = tmp_path / "datasets" / "tiny"
    dataset.mkdir(parents=True)
    (dataset / "manifest.json").write_text("{}")
    return TrainingPanel(settings=AppSettings(data_dirs=[tmp_path], dataset_dirs=[tmp_path / "datasets"],
                                              models_dir=tmp_path, runs_dir=tmp_path / "runs"))


def test_one_widget_per_field_typed_and_bounded_as_the_field(panel):
    rows = {r["name"]: r for r in describe(TrainConfig)}
    assert set(panel.widgets) == set(rows) - {"train"}
    w = panel.widgets
    assert isinstance(w["sampling"], pn.widgets.Select)
    assert w["sampling"].options == ["uniform", "density", "error"]
    assert isinstance(w["method"], pn.widgets.Select) and w["method"].value == "deep_density"
    assert isinstance(w["steps"], pn.widgets.IntInput) and w["steps"].start == 1
    assert isinstance(w["focus"], pn.widgets.FloatInput) and (w["focus"].start, w["focus"].end) == (0, 1)
    assert isinstance(w["model.embedding_resnet"], pn.widgets.Checkbox)
    assert w["model.rcut"].name == "model.rcut (bohr)"
    assert w["model.fitting_widths"].value == "64, 64, 64"
    for name, widget in w.items():  # Panel's checkbox has no description
        assert isinstance(widget, pn.widgets.Checkbox) or widget.description == rows[name]["help"]


def test_the_form_gives_the_config_and_names_a_bad_field(panel):
    assert panel.config() == TrainConfig(train=[panel.dataset])  # untouched form: the defaults
    panel.widgets["steps"].value = 7
    panel.widgets["model.species"].value = "H, C"
    panel.widgets["model.fitting_widths"].value = "8, 8"
    cfg = panel.config()
    assert cfg.steps == 7 and cfg.model.species == ["H", "C"] and cfg.model.fitting_widths == [8, 8]
    panel.widgets["model.fitting_widths"].value = "8, wide"
    with pytest.raises(ConfigError) as info:
        panel.config()
    assert info.value.field == "model.fitting_widths[1]" and "training form" in str(info.value)
    panel.widgets["model.fitting_widths"].value = "8"
    panel.widgets["model.m2"].value = 64  # above m1: the cross-field rule
    with pytest.raises(ConfigError, match=r"\[model.m2\]"):
        panel.config()
