"""Field cases (issue 12): small real-world files with the values a correct reader gives.

They are read from ../shared/field-cases (beside the checkout, or where env DDVIZ_FIELD_CASES
points; skipped when absent) and from the
gzipped copies in tests/data/field_cases (always), through the real CLI. The expected values come
from each case's case.json.
"""

import gzip
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

import ddviz.io as dio

SHARED = Path(os.environ.get("DDVIZ_FIELD_CASES") or ROOT.parent / "shared" / "field-cases")
COPIES = ROOT / "tests" / "data" / "field_cases"
MODEL = ROOT / "models" / "water.safetensors"
CASES = ["fortran-d-exponent", "vasp-aeccar-name", "chgcar-three-scale", "cube-no-atoms",
         "cif-partial-occupancy"]


@pytest.fixture(scope="module", params=["shared", "copies"])
def cases(request, tmp_path_factory):
    """case name -> folder of plain (uncompressed) files."""
    if request.param == "shared":
        if not SHARED.is_dir():
            pytest.skip(f"{SHARED} is absent")
        return {c: SHARED / c for c in CASES}
    root = tmp_path_factory.mktemp("field")
    out = {}
    for c in CASES:
        (root / c).mkdir()
        for f in (COPIES / c).iterdir():
            if f.suffix == ".gz":
                with gzip.open(f) as src, open(root / c / f.stem, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            else:
                shutil.copy(f, root / c / f.name)
        out[c] = root / c
    return out


def expected(case):
    return json.loads((COPIES / case / "case.json").read_text())["expected"]


def info(ddviz_cli, path, *extra):
    proc = ddviz_cli("info", path, "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def one_line_exit_2(proc, name):
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(err) == 1 and name in err[0] and "Traceback" not in proc.stderr, err
    return err[0]


def test_fortran_d_exponents(cases, ddviz_cli):
    got = info(ddviz_cli, cases["fortran-d-exponent"] / "water_dexp.cube")
    want = expected("fortran-d-exponent")
    assert got["natoms"] == want["natoms"]
    assert got["electrons"] == pytest.approx(want["electrons"], abs=1e-4)


def test_vasp_name_aeccar2(cases, ddviz_cli):
    got = info(ddviz_cli, cases["vasp-aeccar-name"] / "AECCAR2")
    assert got["electrons"] == pytest.approx(expected("vasp-aeccar-name")["electrons"], abs=1e-4)


def test_chgcar_three_scale_factors(cases, ddviz_cli):
    want = expected("chgcar-three-scale")
    folder = cases["chgcar-three-scale"]
    chg, pos = info(ddviz_cli, folder / "CHGCAR"), info(ddviz_cli, folder / "POSCAR")
    assert chg["cell_bohr"][2][2] == pytest.approx(want["cell_z_bohr"], abs=1e-3)
    np.testing.assert_allclose(pos["cell_bohr"], chg["cell_bohr"], atol=1e-6)
    sample = dio.read(folder / "CHGCAR")
    o = sample.atoms.get_chemical_symbols().index("O")
    assert sample.atoms.positions[o, 2] * 1.8897261246 == pytest.approx(want["O_z_bohr"], abs=1e-3)
    assert sample.density.values.max() == pytest.approx(want["density_max_e_per_bohr3"], abs=1e-3)


def test_no_atoms_info_works_evaluate_refuses(cases, ddviz_cli):
    path = cases["cube-no-atoms"] / "no_atoms.cube"
    want = expected("cube-no-atoms")
    got = info(ddviz_cli, path)
    assert got["natoms"] == want["info"]["natoms"] == 0
    assert got["electrons"] == pytest.approx(want["info"]["electrons"], abs=1e-4)
    line = one_line_exit_2(ddviz_cli("evaluate", MODEL, path), "no_atoms.cube")
    assert "no atoms" in line
    line = one_line_exit_2(ddviz_cli("predict", MODEL, path, "-o", path.parent / "p.cube"),
                           "no_atoms.cube")
    assert "no atoms" in line and not (path.parent / "p.cube").exists()


def test_partial_occupancy_refused(cases, ddviz_cli, tmp_path):
    path = cases["cif-partial-occupancy"] / "ice_Ih_disordered_H.cif"
    proc = ddviz_cli("predict", MODEL, path, "-o", tmp_path / "ice.cube")
    line = one_line_exit_2(proc, "ice_Ih_disordered_H.cif")
    assert "occup" in line.lower() and not (tmp_path / "ice.cube").exists()


def test_gzipped_copies_read_as_the_plain_files(cases):
    """The .gz copies (compressed, VASP names behind .gz) give the same data as the plain files."""
    for case, name in [("fortran-d-exponent", "water_dexp.cube"), ("vasp-aeccar-name", "AECCAR2"),
                       ("chgcar-three-scale", "CHGCAR")]:
        plain, packed = dio.read(cases[case] / name), dio.read(COPIES / case / f"{name}.gz")
        np.testing.assert_array_equal(packed.density.values, plain.density.values)
        np.testing.assert_array_equal(packed.atoms.positions, plain.atoms.positions)
    pos = dio.read_structure(COPIES / "chgcar-three-scale" / "POSCAR.gz")
    np.testing.assert_allclose(pos.cell, dio.read_structure(cases["chgcar-three-scale"] / "POSCAR").cell)
