"""Hostile text in data files must never run: payloads planted in every text field of every format.

PySCF's basis and pseudopotential loaders hand any line that is not plain numbers to ``eval`` and
open any string that names an existing file; ddviz once passed a netCDF file's ``orbital_basis``
attribute to them. Each payload below would create a marker file if it ran. Every file is read,
described by ``ddviz info`` (a real subprocess) and, where it holds orbitals or a model, used.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from ase.build import molecule

import ddviz.io as dio
from ddviz.errors import ConfigError, DdvizError, FileFormatError
from ddviz.grid import Grid, Sample
from ddviz.orbitals import OrbitalDensity
from ddviz.units import ang_to_bohr


def _payloads(marker) -> list[str]:
    """Strings that run Python (creating ``marker``) if a parser evaluates them."""
    # hex-encoded path: PySCF's basis parser upper-cases nothing but turns 'D' into 'e'
    code = f"open(bytes.fromhex('{str(marker).encode().hex()}').decode(),'w').write('x')"
    basis_file = marker.parent / "basis.nw"
    basis_file.write_text(f"H S\n({code},1.0)\n")
    return [
        f"H S\n({code},1.0)\n",  # NWChem basis text: eval of the number line
        f"H GTH\n1\n0 0 0 1 1\n({code},1.0)\n",  # CP2K basis text (the 'GTH' branch)
        f"({code},1)",  # a bare expression
        str(basis_file),  # a path: PySCF opens and parses the file it names
    ]


def _h2_orbitals():
    from pyscf import dft, gto

    atoms = molecule("H2")
    mol = gto.M(atom=[(s, p) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)],
                basis="sto-3g", verbose=0)
    mf = dft.RKS(mol)
    mf.xc = "pbe"
    mf.kernel()
    occ = mf.mo_occ > 0
    orbitals = OrbitalDensity(atoms.numbers, ang_to_bohr(atoms.positions), "sto-3g", "",
                              mf.mo_coeff[:, occ], mf.mo_occ[occ])
    return atoms, orbitals


@pytest.fixture(scope="module")
def clean_files(tmp_path_factory):
    """One valid file per format (netCDF with orbitals, cube, CHGCAR, xyz, POSCAR, cif)."""
    d = tmp_path_factory.mktemp("clean")
    atoms, orbitals = _h2_orbitals()
    grid = Grid.around(ang_to_bohr(atoms.positions), spacing=0.6, margin=2.0)
    sample = Sample(atoms, grid, None, {"code": "test"}, orbitals=orbitals)
    dio.write(sample, d / "h2.nc", values=False)
    valued = Sample(atoms, grid, orbitals.evaluate_grid(grid), {"code": "test"})
    dio.write(valued, d / "h2.cube")
    cell = molecule("H2")
    cell.cell = [4.0, 4.0, 4.0]
    cell.pbc = True
    cell.center()
    from ddviz.grid import Grid as G

    pgrid = G.periodic(ang_to_bohr(cell.cell), (8, 8, 8))
    dio.write(Sample(cell, pgrid, np.full(pgrid.shape, 0.01)), d / "CHGCAR")
    dio.write(Sample(cell, pgrid, np.full(pgrid.shape, 0.01)), d / "cell.cube")  # ddviz pbc=
    assert dio.read(d / "cell.cube").grid.pbc == (True, True, True)
    cell.write(d / "h2.xyz", format="extxyz")
    cell.write(d / "POSCAR", format="vasp")
    cell.write(d / "h2.cif", format="cif")
    return d


def _text_variants(path, payload) -> list[tuple[str, bytes]]:
    """(field, file bytes) with ``payload`` planted in each text field of the file at ``path``."""
    name = path.name
    raw = path.read_bytes()
    one_line = payload.replace("\n", " ")
    if name.endswith(".cube"):
        lines = raw.decode().splitlines(keepends=True)
        token = "ddviz pbc=" + one_line  # a payload in ddviz's pbc token, ahead of and after it
        return [(f"comment line {i + 1}", "".join(lines[:i] + [text + "\n"] + lines[i + 1:])
                 .encode()) for i in (0, 1)
                for text in (one_line, token, token + " T T T", one_line + " ddviz pbc=T T T")]
    if name in ("CHGCAR", "POSCAR"):
        lines = raw.decode().splitlines(keepends=True)
        return [("comment", "".join([one_line + "\n"] + lines[1:]).encode()),
                ("species", "".join(lines[:5] + [one_line + "\n"] + lines[6:]).encode())]
    if name.endswith(".xyz"):
        lines = raw.decode().splitlines(keepends=True)
        return [("comment", "".join(lines[:1] + [one_line + "\n"] + lines[2:]).encode()),
                ("info key", "".join(lines[:1] + [f'x="{one_line}" ' + lines[1]] + lines[2:])
                 .encode()),
                ("symbol", "".join(lines[:2] + [one_line.replace(" ", "") + " 0 0 0\n"] + lines[3:])
                 .encode())]
    if name.endswith(".cif"):
        text = raw.decode()
        return [("data block", text.replace("data_", "data_" + one_line.replace(" ", "_"), 1)
                 .encode()),
                ("tag value", (text + f"\n_chemical_name_common '{one_line}'\n").encode())]
    raise AssertionError(name)


def _netcdf_variants(path, payload, tmp_path) -> list[tuple[str, object]]:
    """(attribute, path of a copy with ``payload`` in that attribute) for every text attribute."""
    out = []
    with h5py.File(path, "r") as f:
        attrs = [("/", a) for a in f.attrs] + [(v, a) for v in f for a in f[v].attrs
                                               if isinstance(f[v].attrs[a], (str, bytes))]
    for k, (obj, attr) in enumerate(attrs):
        copy = tmp_path / f"payload_{k}.nc"
        copy.write_bytes(path.read_bytes())
        with h5py.File(copy, "r+") as f:
            f[obj].attrs[attr] = payload
        out.append((f"{obj}:{attr}", copy))
    return out


def _use(path):
    """Read the file as ddviz does and use what it holds (orbitals evaluated)."""
    try:
        fmt = dio.format_of(path)
        if fmt.density:
            sample = dio.read(path)
            if sample.orbitals is not None:
                sample.orbitals.evaluate(np.zeros((2, 3)))
        else:
            dio.read_structures(path)
    except DdvizError:
        pass  # a clean refusal is fine; running the payload is not


@pytest.mark.parametrize("name", ["h2.cube", "cell.cube", "CHGCAR", "POSCAR", "h2.xyz",
                                  "h2.cif"])
def test_text_formats_run_no_payload(clean_files, tmp_path, name, ddviz_cli):
    marker = tmp_path / "marker"
    for k, payload in enumerate(_payloads(marker)):
        for field, data in _text_variants(clean_files / name, payload):
            target = tmp_path / f"{k}" / name
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(data)
            _use(target)
            assert not marker.exists(), f"{name} {field}: payload {k} ran"
    # the CLI once, on the last variant of each kind
    ddviz_cli("info", target)
    assert not marker.exists()


def test_netcdf_attributes_run_no_payload(clean_files, tmp_path, ddviz_cli):
    marker = tmp_path / "marker"
    seen = set()
    for k, payload in enumerate(_payloads(marker)):
        for attr, copy in _netcdf_variants(clean_files / "h2.nc", payload, tmp_path):
            seen.add(attr)
            _use(copy)
            assert not marker.exists(), f"netCDF {attr}: payload {k} ran"
            if attr.endswith("orbital_basis"):
                with pytest.raises(FileFormatError, match="unknown basis name"):
                    dio.read(copy)
                r = ddviz_cli("info", copy)
                assert r.returncode == 2 and str(copy) in r.stderr and not marker.exists()
    assert {"/:orbital_basis", "/:orbital_pseudo", "/:provenance"} <= seen


def test_allowed_names_still_load_and_evaluate(clean_files):
    sample = dio.read(clean_files / "h2.nc")
    assert sample.orbitals.basis == "sto-3g"
    assert abs(sample.orbitals.evaluate_grid(sample.grid).sum() * sample.grid.voxel_volume - 2.0) < 0.05


def test_basis_spelling_is_the_allow_lists(clean_files, tmp_path):
    copy = tmp_path / "spelled.nc"
    copy.write_bytes((clean_files / "h2.nc").read_bytes())
    with h5py.File(copy, "r+") as f:
        f.attrs["orbital_basis"] = "STO_3G"
    assert dio.read(copy).orbitals.basis == "sto-3g"


def test_scf_settings_refuse_unknown_names(tmp_path):
    from ddviz.reference.scf import SCFSettings

    marker = tmp_path / "marker"
    for payload in _payloads(marker):
        for field in ("basis", "pseudo", "auxbasis"):
            with pytest.raises(ConfigError, match=field):
                SCFSettings(**{field: payload})
    assert SCFSettings(basis="GTH-DZVP").basis == "gth-dzvp"
    assert not marker.exists()


def test_model_metadata_runs_no_payload(tmp_path, ddviz_cli):
    from safetensors import safe_open
    from safetensors.torch import save_file

    from ddviz.methods.deep_density import files

    model_path = tmp_path / "m.safetensors"
    from ddviz.methods.deep_density.config import ModelConfig
    from ddviz.methods.deep_density.model import DeepDensity

    files.save_model(DeepDensity(ModelConfig(species=["H"], m1=4, m2=2, embedding_widths=[4],
                                             fitting_widths=[4])), model_path)
    with safe_open(str(model_path), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iter)
        header = f.metadata()
    marker = tmp_path / "marker"
    for payload in _payloads(marker):
        for key in header:
            evil = dict(header)
            evil[key] = json.dumps(payload) if key != "format" else payload
            target = tmp_path / f"evil_{key}.safetensors"
            save_file(tensors, str(target), metadata=evil)
            try:
                files.load_model(target)
            except DdvizError:
                pass
            assert not marker.exists(), key
    ddviz_cli("info", target)
    assert not marker.exists()
