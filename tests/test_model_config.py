"""ModelConfig: JSON round trip and validation errors that name the field."""

import json

import pytest

from ddviz.config import describe
from ddviz.errors import ConfigError
from ddviz.methods.deep_density import DeepDensity, ModelConfig


def test_round_trip_through_json():
    cfg = ModelConfig(species=["H", "O"], m1=16, m2=4, fitting_widths=[32, 32], dtype="float64")
    again = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    docs = {row["name"]: row["help"] for row in describe(ModelConfig)}
    assert set(docs) == set(cfg.to_dict()) and all(docs.values())


@pytest.mark.parametrize("change, field", [
    ({"species": ["H", "Xx"]}, "species"),
    ({"species": ["H", "H"]}, "species"),
    ({"rcut": -1.0}, "rcut"),
    ({"rcut": "6"}, "rcut"),
    ({"rcut_smooth": 7.0}, "rcut_smooth"),
    ({"softening": 0}, "softening"),
    ({"sel": float("nan")}, "sel"),
    ({"m1": 0}, "m1"),
    ({"m2": 64}, "m2"),
    ({"m1": 2.5}, "m1"),
    ({"embedding_widths": [8, 0]}, "embedding_widths"),
    ({"embedding_widths": [8, 2.5]}, "embedding_widths[1]"),
    ({"fitting_widths": "64"}, "fitting_widths"),
    ({"fitting_resnet": "yes"}, "fitting_resnet"),
    ({"activation": "relu"}, "activation"),
    ({"dtype": "float16"}, "dtype"),
    ({"rcutt": 5.0}, "rcutt"),
])
def test_bad_values_name_the_field(change, field):
    data = {**ModelConfig(species=["H"]).to_dict(), **change}
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict(data)
    assert info.value.field == field
    assert field in str(info.value)
    with pytest.raises(ConfigError) as info:  # the same on construction from keywords
        ModelConfig(**data)
    assert info.value.field == field


def test_a_model_needs_species():
    with pytest.raises(ConfigError, match="species"):
        DeepDensity(ModelConfig(species=[]))


def test_unknown_species_in_structure_is_config_error():
    model = DeepDensity(ModelConfig(species=["H", "O"], m1=4, m2=2, embedding_widths=[4],
                                    fitting_widths=[8]))
    with pytest.raises(ConfigError, match=r"\['C', 'N'\]"):
        model.prepare([1, 6, 7, 6], [[0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0, 2]])
