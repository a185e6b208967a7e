"""Distributed evaluation: a Dask cluster's zarr store equals the serial prediction."""

from pathlib import Path

import ase
import ase.io
import numpy as np
import pytest
import xarray as xr

from ddviz.evaluate import dask_grid
from ddviz.evaluate.predictor import Predictor
from ddviz.grid import Grid
from ddviz.io.netcdf import to_dataset
from ddviz.methods.deep_density.files import load_model
from ddviz.units import ang_to_bohr

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "water.safetensors"


@pytest.fixture(scope="module")
def water():
    return ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])


def test_zarr_equals_serial_prediction(water, tmp_path):
    grid = Grid.around(ang_to_bohr(water.positions), 0.3, 3.0)
    loads = dask_grid.LOADS["models"]
    result = dask_grid.predict_zarr(MODEL, water, grid, tmp_path / "w.zarr", workers=2,
                                    block_points=grid.size // 5, processes=False,
                                    provenance={"structure": "water"})
    assert result.blocks == 6 and result.points == grid.size
    # the workers share this process here: the model was loaded once for six slabs
    assert dask_grid.LOADS["models"] - loads == 1
    ds = xr.open_zarr(tmp_path / "w.zarr")
    model, _ = load_model(MODEL)
    serial = Predictor(model, device="cpu").predict_grid(water, grid)
    values = ds.density.values
    assert values.dtype == np.float32 and serial.max() > 0.1
    np.testing.assert_allclose(values, serial, rtol=1e-6, atol=1e-6 * serial.max())
    assert ds.density.encoding["chunks"] == (5, *grid.shape[1:])  # chunked by slab
    # the netCDF output's variables and attributes
    expected = to_dataset(_sample(water, grid, serial))
    assert set(ds.variables) == set(expected.variables)
    assert ds.attrs == expected.attrs
    for var in expected.variables:
        assert ds[var].attrs == expected[var].attrs, var
        if var != "density":
            np.testing.assert_array_equal(ds[var].values, expected[var].values)
    assert result.electrons == pytest.approx(float(serial.sum()) * grid.voxel_volume, rel=1e-5)


def _sample(atoms, grid, values):
    from ddviz.grid import Sample

    return Sample(atoms, grid, values, {"structure": "water"})


def test_cli_refuses_a_non_zarr_output(ddviz_cli, tmp_path):
    xyz = tmp_path / "w.xyz"
    ase.io.write(xyz, ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]))
    done = ddviz_cli("predict", MODEL, xyz, "-o", tmp_path / "w.nc", "--dask")
    assert done.returncode != 0 and ".zarr" in done.stderr
