"""Faults a fresh user found: each ends in one line on stderr and exit 2 (or reads right)."""

import json

import pytest
from conftest import ROOT


@pytest.mark.parametrize("args, words", [
    (["predict", ROOT / "models/ethane.safetensors", ROOT / "examples/ethane.xyz", "-o", "OUT",
      "--spacing", "nan"], "spacing"),
    (["predict", ROOT / "models/ethane.safetensors", ROOT / "examples/ethane.xyz", "-o", "OUT",
      "--format", "foo"], "invalid choice: 'foo'"),
    (["nosuchcommand"], "invalid choice"),
])
def test_bad_options_are_one_line(ddviz_cli, tmp_path, args, words):
    args = [tmp_path / "x.cube" if a == "OUT" else a for a in args]
    r = ddviz_cli(*args)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1 and words in err[0], r.stderr
    assert not (tmp_path / "x.cube").exists()


def test_info_refuses_a_truncated_model(ddviz_cli, tmp_path):
    data = (ROOT / "models/ethane.safetensors").read_bytes()
    for n in (20_000, len(data) - 1000):
        cut = tmp_path / f"cut{n}.safetensors"
        cut.write_bytes(data[:n])
        r = ddviz_cli("info", cut)
        assert r.returncode == 2 and "truncated" in r.stderr and str(cut) in r.stderr, r.stderr


def test_info_reads_a_plane2d_dataset(ddviz_cli, tmp_path):
    manifest = {"recipe": {"functionals": ["lda"], "n": 24},
                "samples": [{"file": "a.npz", "split": "train"}, {"file": "b.npz", "split": "test"},
                            {"file": "c.npz", "split": "train"}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    r = ddviz_cli("info", tmp_path, "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["snapshots"] == {"test": 1, "train": 2} and info["total"] == 3
