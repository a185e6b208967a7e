"""Configs validate on construction and assignment; errors name the field (and the file)."""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Literal

import pytest

from ddviz.config import (
    Config,
    describe,
    from_dict,
    load_file,
    option,
    to_dict,
    to_toml,
)
from ddviz.errors import ConfigError
from ddviz.methods.deep_density.config import ModelConfig
from ddviz.train.config import TrainConfig


class Inner(Config):
    width: int = option(16, "layer width", ge=1)


class Outer(Config):
    name: str = option("run", "a name")
    lr: float = option(1e-3, "learning rate", unit="1/step", ge=0.0)
    loss: Literal["mse", "rel_l2"] = option("mse", "loss")
    layers: list[int] = option([8, 8], "widths")
    inner: Inner = option(Inner, "nested")


def test_round_trip_and_nested_defaults_are_independent():
    a = from_dict(Outer, {"lr": 1, "inner": {"width": 4}, "layers": [3]})
    assert a.lr == 1.0 and isinstance(a.lr, float) and a.inner.width == 4 and a.layers == [3]
    assert from_dict(Outer, to_dict(a)) == a
    b, c = Outer(), Outer()
    b.layers.append(1)
    assert c.layers == [8, 8] and c.inner is not b.inner
    t1, t2 = TrainConfig(), TrainConfig()
    t1.train.append("x")
    t1.model.species.append("H")
    assert t2.train == [] and t2.model.species == [] and t1.model is not t2.model


@pytest.mark.parametrize("data, field, words", [
    ({"lrr": 1}, "lrr", "unknown option"),
    ({"lr": "fast"}, "lr", "valid number"),
    ({"lr": -1}, "lr", "greater than or equal to 0"),
    ({"lr": float("inf")}, "lr", "finite"),
    ({"loss": "l1"}, "loss", "'mse' or 'rel_l2'"),
    ({"layers": [1, "x"]}, "layers[1]", "valid integer"),
    ({"layers": 3}, "layers", "valid list"),
    ({"inner": {"width": 0}}, "inner.width", "greater than or equal to 1"),
    ({"inner": 3}, "inner", "inner"),
])
def test_bad_values_name_the_field(data, field, words):
    with pytest.raises(ConfigError, match=words) as info:
        from_dict(Outer, data, source="run.toml")
    assert info.value.field == field and "run.toml" in str(info.value)


@pytest.mark.parametrize("make, field", [
    (lambda: TrainConfig(steps=-5), "steps"),
    (lambda: TrainConfig(lr=-1), "lr"),
    (lambda: TrainConfig(sampling="bogus"), "sampling"),
    (lambda: TrainConfig(focus=1.5), "focus"),
    (lambda: TrainConfig(steps=2.5), "steps"),
    (lambda: TrainConfig(stepz=10), "stepz"),
    (lambda: TrainConfig(method="bogus"), "method"),
    (lambda: ModelConfig(m1=0), "m1"),
    (lambda: ModelConfig(dtype="float16"), "dtype"),
    (lambda: TrainConfig(model={"m1": 0}), "model.m1"),
    (lambda: TrainConfig(model={"m1": 4}), "model.m2"),  # cross-field: m2 <= m1
    (lambda: TrainConfig(model={"dtype": "float16"}), "model.dtype"),
    (lambda: TrainConfig(model={"fitting_widths": [8, "x"]}), "model.fitting_widths[1]"),
    (lambda: TrainConfig(model=Inner()), "model"),
])
def test_invalid_configs_raise_on_construction(make, field):
    with pytest.raises(ConfigError) as info:
        make()
    assert info.value.field == field and f"[{field}]" in str(info.value)


def test_the_issue_example_names_every_bad_field():
    with pytest.raises(ConfigError) as info:
        TrainConfig(steps=-5, lr=-1, sampling="bogus", model={"m1": 0, "dtype": "float16"})
    message = str(info.value)
    for name in ("steps", "lr", "sampling", "model.m1", "model.dtype"):
        assert name in message


def test_invalid_assignments_raise_and_keep_the_old_value():
    cfg = TrainConfig()
    for name, value in [("steps", -1), ("sampling", "bogus"), ("lr", "fast"), ("nope", 1),
                        ("method", "bogus"), ("model", 3)]:
        with pytest.raises(ConfigError) as info:
            setattr(cfg, name, value)
        assert info.value.field == name
    assert cfg.steps == 2000 and cfg.sampling == "density" and not hasattr(cfg, "nope")
    for name, value in [("m1", 0), ("m2", 64), ("dtype", "float16"), ("species", ["Xx"]),
                        ("rcut_smooth", 7.0)]:
        with pytest.raises(ConfigError) as info:
            setattr(cfg.model, name, value)
        assert info.value.field == f"model.{name}", info.value
    assert to_dict(cfg.model) == to_dict(ModelConfig())  # cross-field failures undone too
    cfg.model = {"m1": 4, "m2": 2}  # a table is read as the method's ModelConfig
    assert isinstance(cfg.model, ModelConfig) and cfg.model.m1 == 4
    cfg.steps, cfg.model.m1 = 7, 8
    assert cfg.steps == 7 and cfg.model.m1 == 8


def test_deepcopy_gives_an_equal_independent_config():
    cfg = TrainConfig(train=["a"], model={"species": ["H"]})
    other = copy.deepcopy(cfg)
    assert other == cfg and other.model is not cfg.model
    other.model.species.append("O")
    assert cfg.model.species == ["H"]
    with pytest.raises(ConfigError, match=r"\[model.m1\]"):
        other.model.m1 = 0


def test_describe_documents_every_field():
    rows = {r["name"]: r for r in describe(Outer)}
    assert set(rows) == {"name", "lr", "loss", "layers", "inner.width"}
    assert rows["loss"]["choices"] == ("mse", "rel_l2") and rows["inner.width"]["minimum"] == 1
    assert all(r["help"] for r in rows.values()) and rows["lr"]["unit"] == "1/step"
    assert rows["layers"]["type"] == "list[int]" and rows["lr"]["type"] == "float"
    train = {r["name"]: r for r in describe(TrainConfig)}
    assert train["method"]["choices"] == ("dcign", "deep_density", "ednn", "hamiltonian",
                                          "kinetic")  # the registry's
    assert train["model.rcut"]["unit"] == "bohr" and train["focus"]["maximum"] == 1.0
    assert {r["name"] for r in describe(TrainConfig(steps=5))} == set(train)
    assert {r["name"]: r["default"] for r in describe(TrainConfig(steps=5))}["steps"] == 5


def test_load_file_formats_and_errors(tmp_path):
    (tmp_path / "a.toml").write_text('lr = 0.5\n[inner]\nwidth = 2\n')
    (tmp_path / "a.yaml").write_text('lr: 0.5\ninner:\n  width: 2\n')
    assert load_file(tmp_path / "a.toml") == load_file(tmp_path / "a.yaml")
    (tmp_path / "bad.toml").write_text('lr = = 1\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_file(tmp_path / "bad.toml")
    with pytest.raises(ConfigError, match="cannot read"):
        load_file(tmp_path / "missing.toml")


def test_to_toml_round_trips_through_the_toml_parser(tmp_path):
    cfg = Outer(name='a "quoted" name', lr=0.25, layers=[1, 2], inner=Inner(width=3))
    (tmp_path / "c.toml").write_text(to_toml(cfg))
    assert from_dict(Outer, load_file(tmp_path / "c.toml")) == cfg
    train = TrainConfig(steps=17, train=["x/y"], sampling="error",
                        model={"species": ["H", "C"], "rcut": 5.5, "fitting_widths": [8]})
    (tmp_path / "t.toml").write_text(to_toml(train, documented=True))
    assert TrainConfig.from_file(tmp_path / "t.toml") == train


def test_a_bad_file_names_the_file_and_the_field(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("steps = 10\n[model]\nm1 = 0\n")
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_file(path)
    assert info.value.field == "model.m1" and str(path) in str(info.value)


def test_template_reads_back_to_the_defaults(tmp_path):
    import tomllib

    from ddviz.train.config import template

    text = template()
    assert tomllib.loads(text)["steps"] == TrainConfig().steps
    for row in describe(TrainConfig):  # every field documented
        assert f"# {row['help']}" in text
    path = tmp_path / "template.toml"
    path.write_text(text)
    assert TrainConfig.from_file(path) == TrainConfig()


@pytest.mark.parametrize("method", ["deep_density", "kinetic", "hamiltonian", "ednn", "dcign"])
def test_template_of_each_method_reads_back_to_its_model_defaults(method, tmp_path):
    import tomllib

    from ddviz.train.config import METHOD_OPTIONS, model_config_class, template, unused_options

    path = tmp_path / f"{method}.toml"
    path.write_text(template(method))
    config = TrainConfig.from_file(path)
    assert config.method == method and config.model == model_config_class(method)()
    assert config == TrainConfig(method=method, model={})
    for row in describe(model_config_class(method)):  # its model fields, documented
        assert f"# {row['help']}" in path.read_text()
    # only the options the method reads: the loop's own and those its METHOD declares
    skipped = set(unused_options(method))
    assert set(tomllib.loads(path.read_text())) == set(TrainConfig.model_fields) - skipped
    assert skipped == (set() if method == "deep_density" else set(METHOD_OPTIONS))
    if method != "deep_density":  # no help text of the template speaks of probe points
        assert "probe" not in path.read_text().lower()


def test_the_loops_own_options_speak_of_no_one_methods_sampling_or_optimiser():
    """Options every method's template shows (seed, init, ...) name no method-only concept."""
    from ddviz.train.config import METHOD_OPTIONS

    method_only = ("probe", "descriptor", "l-bfgs", "lbfgs", *METHOD_OPTIONS)
    for row in describe(TrainConfig):
        if row["name"] in METHOD_OPTIONS or row["name"].split(".")[0] in ("method", "model"):
            continue
        said = [word for word in method_only if word in row["help"].lower()]
        assert not said, f"{row['name']}: {row['help']!r} speaks of {said}"


def test_template_on_the_command_line_lists_only_the_methods_options(ddviz_cli, tmp_path):
    """`ddviz train --template kinetic` has no probe-point options; Deep Density's has them."""
    import tomllib

    kinetic = ddviz_cli("train", "--template", "kinetic")
    deep = ddviz_cli("train", "--template")
    assert kinetic.returncode == 0 and deep.returncode == 0, kinetic.stderr + deep.stderr
    top_kinetic, top_deep = tomllib.loads(kinetic.stdout), tomllib.loads(deep.stdout)
    for name in ("focus", "sampling", "nuclear", "nuclear_sigma", "points_per_snapshot"):
        assert name not in top_kinetic and name in top_deep
        assert f"\n{name} = " not in kinetic.stdout and f"\n{name} = " in deep.stdout
    assert top_kinetic["steps"] == top_deep["steps"] == TrainConfig().steps
    (tmp_path / "k.toml").write_text(kinetic.stdout)
    assert TrainConfig.from_file(tmp_path / "k.toml").method == "kinetic"


def test_configs_and_the_training_form_import_without_torch():
    code = ("import sys; import ddviz.train.config, ddviz.app.training as t; "
            "t.TrainingPanel(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
