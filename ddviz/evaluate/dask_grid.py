"""Grid prediction on a Dask cluster, written to a chunked zarr store (``ddviz predict --dask``).

The grid is cut into slabs of whole planes along its first axis (about ``block_points`` points
each); each slab is one task. A worker loads the model once (:func:`worker_predictor`, cached
per process) and prepares the structure once, evaluates its slab with the chunked
:class:`~ddviz.evaluate.predictor.Predictor` and writes it straight into its zarr chunk (no grid
values travel through the scheduler). A worker's memory is therefore bounded by one slab
(4 bytes a point) plus the Predictor's chunk budget and the model. The store holds the variables
and attributes of ddviz's netCDF output (:func:`ddviz.io.netcdf.to_dataset`) and opens with
``xarray.open_zarr``; an unwritten slab reads as NaN.

Workers need ddviz importable (installed, or on ``PYTHONPATH``) and the model file at the same
path. By default a ``LocalCluster`` of single-threaded worker processes, one per core.
"""

from __future__ import annotations

import hashlib
import os
import resource
import threading
import time
from dataclasses import dataclass

import numpy as np

from ddviz.errors import DdvizError
from ddviz.grid import Grid, Sample

DEFAULT_BLOCK_POINTS = 1 << 22  # 4 Mi points: 16 MiB of float32 per slab
LOADS = {"models": 0}  # model loads in this process (a worker's count, for tests)


@dataclass
class DaskResult:
    """What :func:`predict_zarr` reports.

    Attributes
    ----------
    path : str
        The zarr store.
    points : int
        Grid points.
    blocks : int
        Slabs (tasks).
    electrons : float
        Sum of the density times the voxel volume (e).
    seconds : float
        Wall time from the cluster's start to the last write.
    peak_rss_bytes : dict of str to int
        Peak resident memory of each worker process (bytes).
    store_bytes : int
        Size of the store on disk.
    """

    path: str
    points: int
    blocks: int
    electrons: float
    seconds: float
    peak_rss_bytes: dict
    store_bytes: int


_LOCK = threading.Lock()
_PREDICTORS: dict = {}


def worker_predictor(model_path: str, stamp: tuple, device: str | None, threads: int):
    """The worker's Predictor of a model file, loaded once per process (thread-safe).

    Parameters
    ----------
    model_path : str
        Model file.
    stamp : tuple
        ``(size, mtime)`` of the file: a changed file is loaded again.
    device : str or None
        Predictor device.
    threads : int
        torch threads of this worker.

    Returns
    -------
    ddviz.evaluate.predictor.Predictor
    """
    import torch

    from ddviz.evaluate.predictor import Predictor
    from ddviz.methods.deep_density.files import load_model

    key = (model_path, stamp, device)
    with _LOCK:
        if key not in _PREDICTORS:
            torch.set_num_threads(threads)
            LOADS["models"] += 1
            _PREDICTORS.clear()
            _PREDICTORS[key] = Predictor(load_model(model_path)[0], device=device)
        return _PREDICTORS[key]


_ENVIRONMENTS: dict = {}


def _environment(predictor, key: str, structure):
    with _LOCK:
        if key not in _ENVIRONMENTS:
            _ENVIRONMENTS.clear()
            _ENVIRONMENTS[key] = predictor.environment(structure)
        return _ENVIRONMENTS[key]


def evaluate_slab(model_path: str, stamp: tuple, device, threads: int, structure, key: str,
                  grid: Grid, start: int, stop: int, store: str) -> tuple[float, int]:
    """Evaluate planes ``start:stop`` of the grid's first axis and write them to the store.

    Runs on a worker.

    Parameters
    ----------
    model_path, stamp, device, threads
        See :func:`worker_predictor`.
    structure : tuple
        ``(numbers, positions_bohr, cell_bohr or None, pbc)``.
    key : str
        Identifies the structure (the worker's environment cache).
    grid : Grid
        The whole grid.
    start, stop : int
        Planes of the first axis.
    store : str
        The zarr store (its ``density`` array is written in place).

    Returns
    -------
    float
        Sum of the slab's values (e/bohr^3).
    int
        This worker's peak resident memory so far (bytes).
    """
    import zarr

    predictor = worker_predictor(model_path, stamp, device, threads)
    env = _environment(predictor, key, structure)
    slab = Grid(grid.origin + start * grid.vectors[0], grid.vectors,
                (stop - start, *grid.shape[1:]))
    values = predictor.predict_grid(env, slab)
    zarr.open_array(store, path="density", mode="r+")[start:stop] = values
    return float(values.sum(dtype=np.float64)), resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss * 1024


def predict_zarr(model_path, atoms, grid: Grid, store, *, address: str | None = None,
                 workers: int | None = None, block_points: int = DEFAULT_BLOCK_POINTS,
                 device: str | None = "cpu", provenance: dict | None = None,
                 progress=None, processes: bool = True) -> DaskResult:
    """Predict the density on ``grid`` with a Dask cluster and write a zarr store.

    Parameters
    ----------
    model_path : path-like
        Deep Density model file (read by every worker).
    atoms : ase.Atoms
        The structure (Å).
    grid : Grid
        Where to evaluate (bohr).
    store : path-like
        The zarr store to write (a folder; replaced).
    address : str, optional
        A running scheduler's address; None: a ``LocalCluster`` of ``workers``
        single-threaded processes (default one per core), closed afterwards.
    workers : int, optional
        LocalCluster workers.
    block_points : int
        Points per slab (task), rounded to whole planes (at least one): the memory per worker.
    device : str, optional
        Each worker's Predictor device ("cpu", "cuda", None for automatic).
    provenance : dict, optional
        Stored as the netCDF output's ``provenance`` attribute.
    progress : callable, optional
        ``progress(done, total)`` after each slab.
    processes : bool
        LocalCluster workers as processes (default) or threads of this process.

    Returns
    -------
    DaskResult

    Raises
    ------
    DdvizError
        The store's name does not end in ``.zarr``.
    """
    import dask.array as da
    import xarray as xr
    from dask.distributed import Client, LocalCluster, as_completed

    from ddviz.evaluate.predictor import structure_from_atoms
    from ddviz.io.netcdf import to_dataset

    store = os.fspath(store)
    if not store.endswith(".zarr"):
        raise DdvizError("a Dask prediction writes a zarr store: give a name ending in .zarr",
                         path=store)
    model_path = os.path.abspath(model_path)
    stat = os.stat(model_path)
    stamp = (stat.st_size, stat.st_mtime_ns)
    plane = int(np.prod(grid.shape[1:]))
    planes = max(1, min(grid.shape[0], block_points // max(plane, 1)))
    lazy = da.zeros(grid.shape, dtype=np.float32, chunks=(planes, *grid.shape[1:]))
    template = to_dataset(Sample(atoms, grid, xr.DataArray(lazy, dims=("a", "b", "c")),
                                 provenance))
    template.to_zarr(store, mode="w", compute=False, zarr_format=2,
                     encoding={"density": {"chunks": (planes, *grid.shape[1:])}})
    structure = structure_from_atoms(atoms)
    key = hashlib.sha256(b"".join(np.ascontiguousarray(x, dtype=float).tobytes()
                                  for x in structure[:2])).hexdigest()
    start = time.perf_counter()
    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=processes, dashboard_address=None)
    try:
        with Client(address or cluster) as client:
            futures = [client.submit(evaluate_slab, model_path, stamp, device, 1, structure, key,
                                     grid, a, min(a + planes, grid.shape[0]), store, pure=False)
                       for a in range(0, grid.shape[0], planes)]
            total, peaks = 0.0, {}
            for done, future in enumerate(as_completed(futures), 1):
                value, rss = future.result()
                total += value
                worker = client.who_has(future).get(future.key, ("?",))[0]
                peaks[worker] = max(peaks.get(worker, 0), rss)
                if progress is not None:
                    progress(done, len(futures))
    finally:
        if cluster is not None:
            cluster.close()
    seconds = time.perf_counter() - start
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(store) for f in fs)
    return DaskResult(store, grid.size, len(futures), total * abs(np.linalg.det(grid.vectors)),
                      seconds, peaks, size)
