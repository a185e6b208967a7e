"""Fuzzing: malformed files thrown at every reader may only raise DdvizError subclasses.

:func:`test_seeded_mutation_fuzzer` runs the seeded mutation fuzzer of ``benchmarks/fuzz.py`` (bit
flips, truncations, duplicated/deleted lines, huge numbers, NaN, nested JSON, declared-size
inflation, HDF5 sparse/external storage) over cube, CHGCAR, netCDF, xyz/extxyz, POSCAR, cif
and safetensors seeds, each case in a memory-capped worker process with a wall-clock budget; the
hypothesis tests below add pure garbage and huge declared grid sizes. A reader either returns
finite data or raises DdvizError.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ddviz.io as dio
from benchmarks import fuzz
from ddviz.errors import DdvizError

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
CASES = 350  # a few hundred cases, ~50 of each seed; `benchmarks/fuzz.py --cases 10000` for more


def test_seeded_mutation_fuzzer(tmp_path):
    result = fuzz.run(CASES, seed=12, workers=2, timeout=30.0, folder=tmp_path)
    assert result["failures"] == []
    counts = result["counts"]
    assert sum(counts.values()) == CASES
    assert counts["refused"] > CASES / 2 and counts["valid"] > 0
    assert set(result["by_format"]) == set(fuzz.SEEDS)  # every format fuzzed
    for name, outcomes in result["by_format"].items():
        assert outcomes.get("refused", 0) > 0, name


def test_fuzzer_cases_are_reproducible(tmp_path):
    seeds = fuzz.make_seeds(tmp_path / "seeds")
    n = len(fuzz.SEEDS)
    text = [i for i in range(3 * n) if fuzz.SEEDS[i % n] != "s.nc"]  # HDF5 stores timestamps
    first = [fuzz.make_case(seeds, i, 3, tmp_path / "a")[0].read_bytes() for i in text]
    again = [fuzz.make_case(seeds, i, 3, tmp_path / "b")[0].read_bytes() for i in text]
    assert first == again and len(set(first)) == len(text)


def _check_reads(path, density: bool):
    try:
        if density:
            sample = dio.read(path, max_points=10**13)
            assert np.all(np.isfinite(sample.density.values))
        atoms = dio.read_structure(path)
        assert np.all(np.isfinite(atoms.positions))
    except DdvizError as exc:
        assert path.name in str(exc) and "\n" not in str(exc).strip()


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["g.cube", "CHGCAR", "g.nc", "g.xyz", "g.cif"]))
def test_pure_garbage(tmp_path, data, name):
    (tmp_path / name).write_bytes(data)
    _check_reads(tmp_path / name, not name.endswith((".xyz", ".cif")))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-10**13, 10**13), min_size=3, max_size=3))
def test_huge_declared_sizes_cube_and_chgcar(tmp_path_factory, dims):
    tmp = tmp_path_factory.mktemp("huge")
    axes = "\n".join(f"{n} 0.2 0 0".replace("0.2 0 0", v) for n, v in
                     zip(dims, ["0.2 0 0", "0 0.2 0", "0 0 0.2"]))
    (tmp / "h.cube").write_text(f"c\nc\n1 0 0 0\n{axes}\n1 1 0 0 0\n1 2 3\n")
    (tmp / "CHGCAR").write_text("Si\n1\n5 0 0\n0 5 0\n0 0 5\nSi\n1\nDirect\n0 0 0\n\n"
                                + " ".join(map(str, dims)) + "\n1 2 3\n")
    for name in ("h.cube", "CHGCAR"):
        _check_reads(tmp / name, True)
