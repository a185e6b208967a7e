"""Hostile files: data from outside the file, sizes the file cannot back, nesting, slow reads.

Each file is built for real (h5py, safetensors, text) and read through ddviz's public readers; a
refusal must be a DdvizError subclass naming the file, and an outside file's content must never
appear in what is read or said.
"""

from __future__ import annotations

import json
import shutil
import struct
import time

import h5py
import numpy as np
import pytest
from ase.build import molecule

import ddviz.io as dio
from ddviz.errors import DdvizError, FileFormatError, ModelFileError, TooLargeError
from ddviz.grid import Grid, Sample
from ddviz.io import safe_json
from ddviz.io.budget import ReadTimeoutError, read_with_budget
from ddviz.methods import load_model, model_format
from ddviz.methods.deep_density import files as model_files

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
SECRET = 27182.818  # the outside file's values


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    d = tmp_path_factory.mktemp("seed")
    grid = Grid([-2.0, -2.0, -2.0], np.eye(3) * 0.5, (4, 3, 7))
    dio.write(Sample(molecule("H2O"), grid, np.random.default_rng(0).random(grid.shape)),
              d / "s.nc")
    np.full(4 * 3 * 7, SECRET).tofile(d / "secret.bin")
    return d


def _variant(seed, tmp_path, edit):
    path = tmp_path / "hostile.nc"
    shutil.copy(seed / "s.nc", path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def _replace_density(f, **kwargs):
    attrs = {k: v for k, v in f["density"].attrs.items() if k != "DIMENSION_LIST"}
    del f["density"]
    d = f.create_dataset("density", **kwargs)
    for k, v in attrs.items():
        d.attrs[k] = v
    return d


def _outside(seed):
    def external(f):
        _replace_density(f, shape=(4, 3, 7), dtype="f8",
                         external=[(str(seed / "secret.bin"), 0, h5py.h5f.UNLIMITED)])

    def virtual(f):
        layout = h5py.VirtualLayout(shape=(4, 3, 7), dtype="f8")
        layout[...] = h5py.VirtualSource(str(seed / "outside.nc"), "density", shape=(4, 3, 7))
        del f["density"]
        f.create_virtual_dataset("density", layout)

    def external_link(f):
        del f["density"]
        f["density"] = h5py.ExternalLink(str(seed / "outside.nc"), "/density")

    def soft_link(f):
        f["elsewhere"] = f["density"][...]
        del f["density"]
        f["density"] = h5py.SoftLink("/elsewhere")

    return {"external storage": external, "virtual dataset": virtual,
            "external link": external_link, "soft link": soft_link}


@pytest.mark.parametrize("kind", ["external storage", "virtual dataset", "external link",
                                  "soft link"])
def test_hdf5_reaching_outside_the_file_is_refused(seed, tmp_path, kind):
    outside = seed / "outside.nc"
    if not outside.exists():  # what a virtual dataset or external link points at: the secret
        shutil.copy(seed / "s.nc", outside)
        with h5py.File(outside, "r+") as f:
            f["density"][...] = SECRET
    path = _variant(seed, tmp_path, _outside(seed)[kind])
    with h5py.File(path, "r") as f:  # the file really does reach out (h5py follows it)
        if kind != "soft link":
            assert np.all(f["density"][...] == SECRET)
    for read in (dio.read, dio.read_structure):
        with pytest.raises(FileFormatError) as info:
            read(path)
        assert str(path) in str(info.value) and "density" in str(info.value)
        assert str(int(SECRET)) not in str(info.value)
    expected = {"external storage": "external storage", "virtual dataset": "virtual dataset",
                "external link": "external link", "soft link": "soft link"}[kind]
    assert expected in str(info.value)


def test_sparse_chunked_variable_declaring_580_cubed_is_refused_before_reading(seed, tmp_path):
    def sparse(f):
        f["grid_shape"][...] = [580, 580, 580]
        _replace_density(f, shape=(580, 580, 580), dtype="f8", chunks=(58, 58, 58),
                         compression="gzip")

    path = _variant(seed, tmp_path, sparse)
    assert path.stat().st_size < 100_000  # 1.56 GB declared in a few kB
    start = time.perf_counter()
    with pytest.raises(FileFormatError, match="sparse storage"):
        dio.read(path)  # below the default 2e8-point limit: the storage check refuses it
    assert time.perf_counter() - start < 5
    with pytest.raises(TooLargeError):
        dio.read(path, max_points=10**6)


def test_over_declared_contiguous_and_chunked_storage_is_refused(seed, tmp_path):
    def contiguous(f):  # declared 64^3 values, no data allocated
        f["grid_shape"][...] = [64, 64, 64]
        _replace_density(f, shape=(64, 64, 64), dtype="f8")

    with pytest.raises(FileFormatError, match="stores none"):
        dio.read(_variant(seed, tmp_path, contiguous))


def test_zeroed_chunk_index_is_a_clean_error_not_a_hang(tmp_path):
    grid = Grid([-2.0, -2.0, -2.0], np.eye(3) * 0.2, (40, 40, 40))  # several chunks
    path = tmp_path / "zeroed.nc"
    dio.write(Sample(molecule("H2O"), grid, np.random.default_rng(0).random(grid.shape)), path)
    data = bytearray(path.read_bytes())
    nodes = [i for i in range(len(data)) if data[i:i + 4] == b"TREE"]  # v1 B-tree: chunk index
    assert nodes
    for i in nodes:
        data[i + 4:i + 64] = bytes(60)
    path.write_bytes(bytes(data))
    start = time.perf_counter()
    with pytest.raises(FileFormatError, match="B-tree"):
        read_with_budget(path, 30)
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_hdf5_values_are_refused(seed, tmp_path, bad):
    def poison(f):
        f["density"][1, 2, 3] = bad

    with pytest.raises(FileFormatError, match="finite"):
        dio.read(_variant(seed, tmp_path, poison))


# --- JSON nesting in model files ----------------------------------------------------------------
def _rewrite_header(src, dst, change):
    data = src.read_bytes()
    size = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + size])
    text = change(header)
    blob = (text if isinstance(text, str) else json.dumps(header)).encode()
    dst.write_bytes(struct.pack("<Q", len(blob)) + blob + data[8 + size:])
    return dst


@pytest.mark.parametrize("key", ["config", "user", "species"])
def test_deeply_nested_model_metadata_is_a_clean_model_file_error(tmp_path, key):
    def nest(header):
        header["__metadata__"][key] = "[" * 100_000 + "]" * 100_000

    path = _rewrite_header(ROOT / "models" / "water.safetensors", tmp_path / "m.safetensors",
                           nest)
    with pytest.raises(ModelFileError, match="nested more than") as info:
        load_model(path)
    assert info.value.field == key and str(path) in str(info.value)


def test_deeply_nested_safetensors_header_is_a_clean_model_file_error(tmp_path):
    def nest(header):
        return json.dumps(header)[:-1] + ', "x": ' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "}"

    path = _rewrite_header(ROOT / "models" / "water.safetensors", tmp_path / "m.safetensors",
                           nest)
    with pytest.raises(ModelFileError, match="nested more than"):
        model_format(path)


def test_safe_json_counts_depth_outside_strings():
    assert safe_json.nesting_depth('{"a": [1, {"b": "[[[[[["}]}') == 3
    assert safe_json.loads('{"a": [1, {"b": "]]"}]}') == {"a": [1, {"b": "]]"}]}
    with pytest.raises(safe_json.JSONError, match="nested more than 3"):
        safe_json.loads("[[[[1]]]]", max_depth=3)
    with pytest.raises(safe_json.JSONError):
        safe_json.loads("[" * 5)  # unclosed


def test_huge_weights_in_a_model_file_are_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    src = ROOT / "models" / "water.safetensors"
    tensors = load_file(str(src))
    key = next(k for k in tensors if k.endswith("head.weight"))
    tensors[key].view(-1)[0] = 2e37  # a bit flip in an exponent: finite, and ruinous
    from safetensors import safe_open

    with safe_open(str(src), framework="pt") as f:
        metadata = f.metadata()
    save_file(tensors, str(tmp_path / "m.safetensors"), metadata=metadata)
    with pytest.raises(ModelFileError, match="magnitude") as info:
        model_files.load_model(tmp_path / "m.safetensors")
    assert info.value.field == key


# --- extxyz before ASE ----------------------------------------------------------------------------
@pytest.mark.parametrize("comment, match", [
    ("Properties=species:S:1:pos:R:1000000000", "count 1..16"),
    ("Properties=species:S:1:pos:R:3:charge", "triples"),
    (" ".join(f"k{i}=1" for i in range(5000)), "key=value pairs"),
    ("a=" + "x" * 100_000, "longer than"),
    ("Properties=species:S:1:pos:R:3:charge:R:1", "expected 5 columns"),
], ids=["huge-count", "not-triples", "many-pairs", "long-comment", "columns"])
def test_extxyz_lies_are_refused_before_ase_parses_them(tmp_path, comment, match):
    path = tmp_path / "bad.extxyz"
    path.write_text(f"2\n{comment}\nH 0 0 0\nH 0 0 1\n")
    start = time.perf_counter()
    with pytest.raises(FileFormatError, match=match) as info:
        dio.read_structures(path)
    assert time.perf_counter() - start < 2 and str(path) in str(info.value)


def test_extxyz_with_a_singular_lattice_is_read_or_refused_cleanly(tmp_path):
    path = tmp_path / "flat.extxyz"
    path.write_text('2\nLattice="1 1 1 1 1 1 1 1 1" Properties=species:S:1:pos:R:3\n'
                    "H 0 0 0\nH 0 0 1\n")
    try:
        frames = dio.read_structures(path)
    except DdvizError as exc:
        assert str(path) in str(exc)
    else:
        assert np.allclose(frames[0].positions[1], [0, 0, 1])


# --- wall-clock budget --------------------------------------------------------------------------
def test_read_with_budget_returns_raises_and_times_out(tmp_path, seed):
    sample = read_with_budget(seed / "s.nc", 30)
    assert sample.density.shape == (4, 3, 7)
    (tmp_path / "bad.cube").write_text("garbage\n")
    with pytest.raises(FileFormatError):
        read_with_budget(tmp_path / "bad.cube", 30)
    start = time.perf_counter()
    with pytest.raises(ReadTimeoutError, match="longer than 0.2 s") as info:
        read_with_budget(seed / "s.nc", 0.2, reader=lambda p: time.sleep(1.5))
    assert time.perf_counter() - start < 1.0 and str(seed / "s.nc") in str(info.value)


def test_comparison_job_reads_within_its_budget(seed):
    from ddviz.evaluate.job import ComparisonJob

    job = ComparisonJob()
    job.read_seconds = 0.0  # no read finishes in no time: the clean error, not a hang
    with pytest.raises(ReadTimeoutError):
        job.load(seed / "s.nc", molecule("H2O"))


# --- the Train tab's init path ------------------------------------------------------------------
@pytest.fixture
def training(tmp_path):
    from ddviz.app.settings import AppSettings
    from ddviz.app.training import TrainingPanel

    (tmp_path / "datasets" / "tiny").mkdir(parents=True)
    (tmp_path / "datasets" / "tiny" / "manifest.json").write_text("{}")
    (tmp_path / "models").mkdir()
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "models" / "water.safetensors", tmp_path / "models" / "water.safetensors")
    shutil.copy(ROOT / "models" / "water.safetensors", tmp_path / "outside.safetensors")
    (tmp_path / "data" / "escape.safetensors").symlink_to(tmp_path / "outside.safetensors")
    settings = AppSettings(data_dirs=[tmp_path / "data"], dataset_dirs=[tmp_path / "datasets"],
                           models_dir=tmp_path / "models", runs_dir=tmp_path / "runs")
    return TrainingPanel(settings=settings)


@pytest.mark.parametrize("init", ["/etc/passwd", "../outside.safetensors", "{tmp}/outside.safetensors",
                                  "escape.safetensors", "missing.safetensors"])
def test_train_tab_init_outside_the_folders_is_refused(training, tmp_path, init):
    from ddviz.app.settings import PathError

    training.widgets["init"].value = init.format(tmp=tmp_path)
    with pytest.raises(PathError) as info:
        training.config()
    assert info.value.field == "init"


def test_train_tab_init_inside_the_models_folder_is_resolved(training, tmp_path):
    training.widgets["init"].value = "water.safetensors"
    assert training.config().init == str((tmp_path / "models" / "water.safetensors").resolve())
    (tmp_path / "models" / "notes.txt").write_text("x")
    training.widgets["init"].value = "notes.txt"
    with pytest.raises(DdvizError, match="safetensors"):
        training.config()
