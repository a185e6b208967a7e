"""The 2D Kohn–Sham dataset (ddviz.toys.plane2d.data) and `ddviz dataset plane2d`: files, split by
potential, resume, seeds. Units: bohr, Ha, electrons/bohr^2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ddviz.errors import ConfigError, DdvizError
from ddviz.toys.plane2d import data
from ddviz.toys.plane2d.solver import ENERGY_KEYS

SMALL = {"n": 24, "functionals": ("lda",), "electrons": (2, 4), "workers": 1, "progress": False}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("plane2d")
    report = data.build(out, 10, seed=5, **SMALL)  # potentials 0..4; potential 4 is test
    return out, report


def test_build_writes_samples_and_manifest(built):
    out, report = built
    assert len(report.computed) == 10 and not report.failed and not report.skipped
    manifest = json.loads((out / data.MANIFEST).read_text())
    assert [s["file"] for s in manifest["samples"]] == [data.filename(i) for i in range(10)]
    for entry in manifest["samples"]:
        arrays, meta = data.load(out / entry["file"])
        assert all(a.dtype != object for a in arrays.values())
        assert arrays["v_ext"].shape == arrays["rho_lda"].shape == (24, 24)
        dA = (16.0 / 24) ** 2
        assert arrays["rho_lda"].sum() * dA == pytest.approx(entry["electrons"], rel=1e-6)
        energies = dict(zip(ENERGY_KEYS, arrays["energies_lda"]))
        assert energies == pytest.approx(entry["energies_Ha"]["lda"])
        # E_ext recomputed from the stored float32 arrays
        assert float(np.sum(arrays["v_ext"].astype(float) * arrays["rho_lda"])) * dA == \
            pytest.approx(energies["E_ext"], abs=1e-5)
        assert meta["recipe"] == manifest["recipe"]


def test_split_is_by_potential(built):
    out, _ = built
    samples = json.loads((out / data.MANIFEST).read_text())["samples"]
    splits = {}
    for s in samples:
        splits.setdefault(s["potential"], set()).add(s["split"])
    assert all(len(v) == 1 for v in splits.values())  # never the same potential in both
    assert splits[4] == {"test"} and splits[0] == {"train"}
    assert {s["electrons"] for s in samples if s["potential"] == 4} == {2, 4}
    assert {s["kind"] for s in samples} == {"sho", "random"}


def test_resume_skips_finished_and_redoes_missing(built):
    out, _ = built
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.npz")}
    target = out / data.filename(3)
    old, _ = data.load(target)
    target.unlink()
    (out / ".plane2d_00007.npz.abc.tmp").write_bytes(b"half")  # a stray temporary file
    report = data.build(out, 10, seed=5, **SMALL)
    assert report.computed == [data.filename(3)] and len(report.skipped) == 9
    new, _ = data.load(target)
    assert all(np.array_equal(old[k], new[k]) for k in old)  # the seed fixes the sample
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.npz")}
    assert all(after[k] == v for k, v in before.items() if k != data.filename(3))


def test_other_recipe_in_same_folder_is_refused(built):
    out, _ = built
    with pytest.raises(ConfigError, match="differs in seed"):
        data.build(out, 10, seed=6, **SMALL)


def test_new_seed_gives_new_potentials(tmp_path):
    data.build(tmp_path / "a", 1, seed=1, **SMALL)
    data.build(tmp_path / "b", 1, seed=2, **SMALL)
    va, _ = data.load(tmp_path / "a" / data.filename(0))
    vb, _ = data.load(tmp_path / "b" / data.filename(0))
    assert not np.allclose(va["v_ext"], vb["v_ext"])


def test_bad_sample_file_and_count(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DdvizError, match="not a readable plane2d sample"):
        data.load(bad)
    with pytest.raises(ConfigError, match="count"):
        data.build(tmp_path, 0, **SMALL)
    with pytest.raises(ConfigError, match="functional"):
        data.build(tmp_path, 1, functionals=("pbe",))


def test_cli_dataset_plane2d(tmp_path, ddviz_cli):
    out = tmp_path / "ds"
    proc = ddviz_cli("dataset", "plane2d", "-o", out, "--count", "2", "--seed", "3",
                     "--workers", "1", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "2 computed" in proc.stderr
    manifest = json.loads((out / data.MANIFEST).read_text())
    assert manifest["recipe"]["seed"] == 3 and manifest["recipe"]["n"] == 48
    assert set(manifest["samples"][0]["energies_Ha"]) == {"lda", "gga"}
    proc = ddviz_cli("dataset", "plane2d", "-o", out, "--count", "2", "--seed", "4",
                     "--no-progress")
    assert proc.returncode == 2 and "another recipe" in proc.stderr
