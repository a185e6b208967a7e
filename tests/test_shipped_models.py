"""The shipped model files are portable and documented."""

import json
from pathlib import Path

import pytest
from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted((ROOT / "models").glob("*.safetensors"))


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_shipped_model_metadata_names_no_machine_path(path):
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
    for key, text in metadata.items():
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        absolute = [s for s in _strings(value) if s.startswith(("/", "~")) or ":\\" in s]
        assert not absolute, f"{path.name} metadata {key!r} names machine paths: {absolute}"


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_every_shipped_model_has_a_card(path):
    cards = (ROOT / "models" / "README.md").read_text()
    assert path.name in cards
