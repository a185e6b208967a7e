from __future__ import annotations

from dataclasses import dataclass

import pytest

from ddviz.config import describe, from_dict, load_file, option, to_dict
from ddviz.errors import ConfigError


@dataclass
class Inner:
    width: int = option(16, "layer width", minimum=1)


@dataclass
class Outer:
    name: str = option("run", "a name")
    lr: float = option(1e-3, "learning rate", minimum=0.0)
    loss: str = option("mse", "loss", choices=("mse", "rel_l2"))
    layers: list[int] = option([8, 8], "widths")
    inner: Inner = option(Inner(), "nested")


def test_round_trip_and_nested_defaults_are_independent():
    a = from_dict(Outer, {"lr": 1, "inner": {"width": 4}, "layers": [3]})
    assert a.lr == 1.0 and isinstance(a.lr, float) and a.inner.width == 4 and a.layers == [3]
    assert from_dict(Outer, to_dict(a)) == a
    b, c = Outer(), Outer()
    b.layers.append(1)
    assert c.layers == [8, 8] and c.inner is not b.inner


@pytest.mark.parametrize("data, field, words", [
    ({"lrr": 1}, "lrr", "unknown option"),
    ({"lr": "fast"}, "lr", "expected a finite number"),
    ({"lr": -1}, "lr", ">= 0.0"),
    ({"loss": "l1"}, "loss", "one of"),
    ({"layers": [1, "x"]}, "layers[1]", "an integer"),
    ({"inner": {"width": 0}}, "inner.width", ">= 1"),
    ({"inner": 3}, "inner", "table"),
])
def test_bad_values_name_the_field(data, field, words):
    with pytest.raises(ConfigError, match=words) as info:
        from_dict(Outer, data, source="run.toml")
    assert info.value.field == field and "run.toml" in str(info.value)


def test_describe_documents_every_field():
    rows = {r["name"]: r for r in describe(Outer)}
    assert set(rows) == {"name", "lr", "loss", "layers", "inner.width"}
    assert rows["loss"]["choices"] == ("mse", "rel_l2") and rows["inner.width"]["minimum"] == 1
    assert all(r["help"] for r in rows.values())
    assert rows["layers"]["type"] == "list[int]" and rows["lr"]["type"] == "float"


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
    from ddviz.config import to_toml

    cfg = Outer(name='a "quoted" name', lr=0.25, layers=[1, 2], inner=Inner(width=3))
    (tmp_path / "c.toml").write_text(to_toml(cfg))
    assert from_dict(Outer, load_file(tmp_path / "c.toml")) == cfg
