"""netCDF4 (HDF5), the native format, through xarray + h5netcdf.

Variables (units attribute on each): ``density`` (a, b, c) in the Sample's units (e/bohr^3; a 1D
chain's electrons/bohr), zlib-compressed, dtype kept (absent when only orbitals are stored); ``grid_shape`` (axis,); ``grid_origin`` (xyz,) bohr;
``grid_vectors`` (axis, xyz) bohr, rows = voxel steps; ``grid_pbc`` (axis,) 0/1;
``atom_numbers`` (atom,); ``atom_positions`` (atom, xyz) bohr; ``cell`` (axis, xyz) bohr;
``atoms_pbc`` (axis,) 0/1; and the orbitals of :class:`ddviz.orbitals.OrbitalDensity`.
Global attributes: ``ddviz_format_version``, ``ndim`` (1, 2 or 3: the Sample's) and ``provenance``
(a JSON string).

Version 1 files (before ``ndim``) are read too: their ``density`` says e/bohr^3 even for a chain,
so their ndim is guessed from the grid as ddviz did then (one axis of several points: a 1D chain
in electrons/bohr, else 3D in e/bohr^3).
"""

from __future__ import annotations

import json
import os

import h5py
import numpy as np
import xarray as xr

from ddviz.errors import DdvizError, FileFormatError, UnsupportedError
from ddviz.grid import DIMS, Grid, Sample, atoms_from_bohr, check_ndim, line_axes
from ddviz.io._common import check_points, max_points_limit, open_binary
from ddviz.io.hdf5 import check_hdf5
from ddviz.orbitals import VAR_COEFF, VAR_OCC, OrbitalDensity
from ddviz.units import LENGTH_UNIT, ang_to_bohr

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: no ndim attribute, density always labelled e/bohr^3
ATTR_VERSION = "ddviz_format_version"
ATTR_NDIM = "ndim"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_UNITS = {"grid_shape": "1", "grid_origin": LENGTH_UNIT,  # density: the Sample's units
          "grid_vectors": LENGTH_UNIT, "grid_pbc": "1", "atom_numbers": "1",
          "atom_positions": LENGTH_UNIT, "cell": LENGTH_UNIT, "atoms_pbc": "1",
          VAR_COEFF: "1", VAR_OCC: "electrons"}


def write(sample: Sample, path, *, name=None, values: bool | None = None) -> None:
    """Write ``sample``; ``values=False`` stores only the orbitals (default: values if stored)."""
    values = sample.has_values if values is None else values
    ds = to_dataset(sample, name=name or path, values=values)
    encoding = {var: {"_FillValue": None} for var in ds.data_vars}
    if values:
        encoding["density"].update(zlib=True, complevel=4)
    ds.to_netcdf(path, engine="h5netcdf", format="NETCDF4", encoding=encoding)


def to_dataset(sample: Sample, *, name=None, values: bool = True) -> xr.Dataset:
    """The dataset :func:`write` stores (also the layout of ``ddviz predict --dask``'s zarr).

    Parameters
    ----------
    sample : ddviz.grid.Sample
        Its density may be a dask-backed DataArray (kept lazy).
    name : str, optional
        The file named in errors.
    values : bool
        Include the ``density`` variable.

    Returns
    -------
    xarray.Dataset
        Variables and attributes as the module docstring lists them.

    Raises
    ------
    DdvizError
        Neither values nor orbitals to store.
    """
    if not values and sample.orbitals is None:
        raise DdvizError("a sample without orbitals must be written with its grid values",
                         path=name)
    grid, atoms = sample.grid, sample.atoms
    data = {
        "grid_shape": (("axis",), np.asarray(grid.shape, dtype=np.int64)),
        "grid_origin": (("xyz",), grid.origin),
        "grid_vectors": (("axis", "xyz"), grid.vectors),
        "grid_pbc": (("axis",), np.asarray(grid.pbc, dtype=np.int8)),
        "atom_numbers": (("atom",), np.asarray(atoms.numbers, dtype=np.int32)),
        "atom_positions": (("atom", "xyz"), ang_to_bohr(atoms.positions).reshape(-1, 3)),
        "cell": (("axis", "xyz"), ang_to_bohr(np.asarray(atoms.cell))),
        "atoms_pbc": (("axis",), np.asarray(atoms.pbc, dtype=np.int8)),
    }
    attrs = {ATTR_VERSION: FORMAT_VERSION, ATTR_NDIM: sample.ndim,
             "provenance": json.dumps(sample.provenance, default=str)}
    if values:
        density = sample.density.data
        data["density"] = (DIMS, density if hasattr(density, "dask") else np.asarray(density))
    if sample.orbitals is not None:
        orb_vars, orb_attrs = sample.orbitals.to_vars()
        data.update(orb_vars)
        attrs.update(orb_attrs)
    ds = xr.Dataset(data, attrs=attrs)
    for var in ds.data_vars:
        ds[var].attrs["units"] = sample.units if var == "density" else _UNITS.get(var, "1")
    return ds


def _sniff(path) -> None:
    with open_binary(path) as f:
        head = f.read(8)
    if head.startswith(b"CDF"):
        raise UnsupportedError("netCDF3 classic files are not supported (ddviz reads netCDF4/HDF5)",
                               path=path)
    if head != HDF5_MAGIC:
        raise FileFormatError("not a netCDF4/HDF5 file (no HDF5 signature)", path=path)


def _open(path, max_points: int | None) -> xr.Dataset:
    _sniff(path)
    check_hdf5(path, max_points_limit(max_points))  # no outside data, no sparse or bomb storage
    try:  # h5py first: it fails cleanly where h5netcdf leaves a half-built object behind
        with h5py.File(path, "r") as f:
            ours = "grid_shape" in f
    except Exception as exc:
        raise FileFormatError(f"unreadable HDF5 file: {exc}", path=path) from None
    if not ours:
        raise FileFormatError("not a ddviz netCDF file (no grid_shape variable)", path=path)
    try:
        return xr.open_dataset(path, engine="h5netcdf", decode_cf=False, cache=False,
                               phony_dims="access")
    except Exception as exc:  # h5py/HDF5 raise OSError, KeyError, ValueError... on hostile files
        raise FileFormatError(f"unreadable netCDF4/HDF5 file: {exc}", path=path) from None


def _array(ds, var, path, shape, max_points, kind="f") -> np.ndarray:
    """Variable ``var`` as an array of ``shape`` (-1: any length), checked before it is loaded."""
    if var not in ds.variables:
        raise FileFormatError("variable missing", path=path, field=var)
    v = ds.variables[var]
    if v.ndim != len(shape) or any(s >= 0 and s != n for s, n in zip(shape, v.shape)):
        raise FileFormatError(f"expected shape {tuple(shape)}, got {v.shape}", path=path, field=var)
    check_points(v.shape, max_points, path)
    if v.dtype.kind not in ("fiu" if kind == "f" else "iu"):
        raise FileFormatError(f"expected {'numbers' if kind == 'f' else 'integers'}, got dtype "
                              f"{v.dtype}", path=path, field=var)
    out = np.asarray(v.values)
    if out.dtype.kind == "f" and not np.all(np.isfinite(out)):
        raise FileFormatError("values must be finite (found NaN or Inf)", path=path, field=var)
    return out


def _atoms(ds, path, max_points):
    numbers = _array(ds, "atom_numbers", path, (-1,), max_points, "i")
    if numbers.size and (numbers.min() < 0 or numbers.max() > 118):
        raise FileFormatError("atomic numbers must be 0..118", path=path, field="atom_numbers")
    positions = _array(ds, "atom_positions", path, (numbers.size, 3), max_points)
    cell = _array(ds, "cell", path, (3, 3), max_points)
    pbc = _array(ds, "atoms_pbc", path, (3,), max_points, "i").astype(bool)
    return numbers, positions, atoms_from_bohr(numbers, positions, cell, pbc)


def _guarded(path, fn):
    """Run fn(); anything but a DdvizError from h5py/xarray becomes a FileFormatError."""
    try:
        return fn()
    except DdvizError as exc:
        if exc.path is None:
            cls = FileFormatError if type(exc) is DdvizError else type(exc)
            raise cls(exc.detail, path=path, field=exc.field) from None
        raise
    except Exception as exc:
        raise FileFormatError(f"unreadable netCDF4/HDF5 content: {type(exc).__name__}: {exc}",
                              path=path) from None


def read(path, max_points: int) -> Sample:
    """A Sample; values (if stored) are read at once, orbitals-only files evaluate them lazily."""
    def body():
        with _open(path, max_points) as ds:
            version = _version(ds, path)
            shape = _array(ds, "grid_shape", path, (3,), max_points, "i")
            if shape.min() < 1:
                raise FileFormatError(f"grid shape must be positive, got {shape.tolist()}",
                                      path=path, field="grid_shape")
            check_points(shape.tolist(), max_points, path)
            grid = Grid(_array(ds, "grid_origin", path, (3,), max_points),
                        _array(ds, "grid_vectors", path, (3, 3), max_points), tuple(shape),
                        tuple(_array(ds, "grid_pbc", path, (3,), max_points, "i").astype(bool)))
            numbers, positions, atoms = _atoms(ds, path, max_points)
            for var in (VAR_COEFF, VAR_OCC):  # finite, within the limit
                if var in ds.variables:
                    _array(ds, var, path, (-1,) * ds.variables[var].ndim, max_points)
            orbitals = OrbitalDensity.from_dataset(ds, numbers, positions)
            density = None
            if "density" in ds.variables:
                density = _array(ds, "density", path, grid.shape, max_points)
                if density.dtype.kind != "f":
                    raise FileFormatError(f"expected float values, got {density.dtype}", path=path,
                                          field="density")
            elif orbitals is None:
                raise FileFormatError("neither density values nor orbitals stored", path=path,
                                      field="density")
            try:
                provenance = json.loads(str(ds.attrs.get("provenance", "{}")))
            except ValueError:
                provenance = None
            if not isinstance(provenance, dict):
                raise FileFormatError("expected a JSON object", path=path, field="provenance")
            ndim, units = _ndim_units(ds, path, version, grid)
            return Sample(atoms, grid, density, provenance, orbitals=orbitals, ndim=ndim,
                          units=units)
    return _guarded(path, body)


def _version(ds, path) -> int:
    """The file's format version, one of :data:`READABLE_VERSIONS`."""
    version = ds.attrs.get(ATTR_VERSION)
    try:
        number = int(np.asarray(version).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        number = None
    if number not in READABLE_VERSIONS:
        raise FileFormatError(f"expected {ATTR_VERSION} = one of "
                              f"{', '.join(map(str, READABLE_VERSIONS))}, got {version!r}",
                              path=path, field=ATTR_VERSION)
    return number


def _ndim_units(ds, path, version: int, grid: Grid) -> tuple[int, str]:
    """(ndim, density units): stored (version 2) or guessed from the grid (version 1)."""
    if version == 1:
        return check_ndim(grid, 1 if line_axes(grid) == 1 else 3)
    raw = ds.attrs.get(ATTR_NDIM)
    try:
        ndim = int(np.asarray(raw).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        raise FileFormatError(f"expected 1, 2 or 3, got {raw!r}", path=path,
                              field=ATTR_NDIM) from None
    units = None
    if "density" in ds.variables:
        units = ds.variables["density"].attrs.get("units")
        if not isinstance(units, str):
            raise FileFormatError(f"expected a units attribute (text), got {units!r}", path=path,
                                  field="density")
    return check_ndim(grid, ndim, units)  # its DdvizError becomes a FileFormatError (_guarded)


def read_atoms(path):
    """The atoms (Å) stored in ``path``, without reading grid values."""
    def body():
        with _open(path, None) as ds:
            return _atoms(ds, path, None)[2]
    return _guarded(os.fspath(path), body)
