"""Chunked, memory-bounded evaluation of a Deep Density model (bohr in, e/bohr^3 out).

The device is chosen once (CUDA when available, else CPU); float32 by default. Points are
evaluated in chunks sized from a memory budget: bytes per point are estimated from the neighbour
candidates seen at the atoms (the densest places) and the pairs they give (assumed half of them,
an upper-side estimate: a sphere fills 16 % of its 27 bins); on out-of-memory the chunk is halved
and retried (later chunks keep the smaller size). Grid points are generated per chunk and
written into ``out`` (may be a ``np.memmap``), so a 10^8-point grid never needs more than one
chunk in memory.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import ase
import numpy as np
import torch

from ddviz.device import pick_device
from ddviz.errors import DdvizError
from ddviz.grid import Grid, Refinement, lattice_frame
from ddviz.methods.deep_density.model import DeepDensity, Environment
from ddviz.units import ang_to_bohr

DEFAULT_MEMORY_BUDGET = 256 * 2**20  # bytes per chunk on CPU (measured best on 2 cores)
MAX_CHUNK_POINTS = {"cpu": 1 << 14, "cuda": 1 << 21}
# atom-point pairs per batch through the networks: on 2 CPU cores 16k pairs keep the per-pair
# cost flat from 24 to 96 atoms (1.02x; chunks sized by points gave 851 points for 96 atoms
# against 2,609 for 24, and 1.14x per pair); larger batches fall out of cache
PAIR_BATCH = {"cpu": 1 << 14, "cuda": 1 << 20}
_SLOT_BYTES = 27 * 8 * 9      # per point: 27 neighbour bins x int64 bookkeeping
_CANDIDATE_BYTES = 8 * 8      # per candidate image: indices and a float64 displacement
SAFETY = 1.5


def is_out_of_memory(exc: BaseException) -> bool:
    """True for torch's OOM error or a RuntimeError saying 'out of memory'."""
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc))


def structure_from_atoms(atoms: ase.Atoms):
    """``(numbers, positions_bohr, cell_bohr or None, pbc)`` from ASE atoms (Å -> bohr).

    The cell of a structure periodic along some axes only is
    :func:`ddviz.grid.lattice_frame`'s: its periodic lattice vectors, unit vectors orthogonal
    to them on the open axes (which may be zero or oblique in the file).

    Parameters
    ----------
    atoms : ase.Atoms
        Positions and cell in Å.

    Returns
    -------
    tuple
        Atomic numbers (N,), positions (N, 3) bohr, cell (3, 3) bohr (None without a periodic
        axis), pbc (three bool).

    Raises
    ------
    DdvizError
        The lattice vectors of the periodic axes are zero or linearly dependent.
    """
    pbc = tuple(bool(p) for p in atoms.pbc)
    cell = lattice_frame(ang_to_bohr(np.asarray(atoms.cell)), pbc) if any(pbc) else None
    return atoms.numbers, ang_to_bohr(atoms.positions), cell, pbc


class Predictor:
    """Evaluates ``model`` in bounded memory.

    device: torch device or name ("auto", "cpu", "cuda"; default "auto", see
    :func:`ddviz.device.pick_device`). dtype: ``torch.float32`` or ``torch.float64`` (or their
    names); default the model's own (``ModelConfig.dtype``: a float64-trained model predicts in
    float64, older files are float32). memory_budget_bytes: target peak working
    memory per chunk; default 256 MiB on CPU, on CUDA a quarter of the free memory (at most
    8 GiB). The model is copied only when its device or dtype must change. compile: run the
    networks through ``torch.compile`` (:meth:`DeepDensity.use_compiled`; about a minute to
    compile on 2 CPU cores, then faster; falls back to eager with a warning where unavailable);
    ``predictor.compiled`` says whether it is in use. autocast: None (default) or "bfloat16" /
    "float16": the networks' matmuls in that precision under :func:`torch.autocast` (meant for
    GPUs; the geometry, the ansatz and the sums stay float32). The change it makes is measured
    by ``benchmarks/roofline.py --autocast``.
    """

    def __init__(self, model: DeepDensity, device=None, dtype=None,
                 memory_budget_bytes: int | None = None, compile: bool = False,
                 autocast: str | None = None):
        self.device = pick_device("auto" if device is None else device)
        self.dtype = getattr(torch, dtype) if isinstance(dtype, str) else (dtype or model.dtype)
        if self.dtype not in (torch.float32, torch.float64):
            raise DdvizError(f"prediction dtype must be float32 or float64, got {dtype}")
        if model.device != self.device or model.dtype != self.dtype:
            model = copy.deepcopy(model).to(device=self.device, dtype=self.dtype)
        self.model = model.eval()
        if autocast not in (None, "bfloat16", "float16"):
            raise DdvizError(f"autocast must be bfloat16 or float16, got {autocast!r}")
        self.autocast = autocast
        self.compiled = False
        if compile:
            self.model = copy.copy(self.model)  # the caller's model keeps its kernel
            self.compiled = self.model.use_compiled(True)
        if memory_budget_bytes is None:
            memory_budget_bytes = DEFAULT_MEMORY_BUDGET
            if self.device.type == "cuda":
                free, _ = torch.cuda.mem_get_info(self.device)
                memory_budget_bytes = min(free // 4, 8 * 2**30)
        self.memory_budget_bytes = int(memory_budget_bytes)
        self.max_chunk_points = MAX_CHUNK_POINTS.get(self.device.type, MAX_CHUNK_POINTS["cpu"])
        self.last_chunk_points = 0  # largest successful chunk of the latest call
        cfg = model.config
        floats = (2 * cfg.m1 * 4 + 2 * cfg.m1 * cfg.m2 + 2 * (sum(cfg.embedding_widths) + cfg.m1)
                  + 2 * sum(cfg.fitting_widths) + 32)
        self.pair_bytes = floats * self.dtype.itemsize + 6 * 8
        budget = self.memory_budget_bytes
        self.pair_batch = int(max(64, min(PAIR_BATCH.get(self.device.type, PAIR_BATCH["cpu"]),
                                          budget // (4 * self.pair_bytes))))
        # what is left for a chunk's points, candidates and pair lists
        self.point_budget = max(budget - self.pair_batch * self.pair_bytes, budget // 4)

    # --- structures ---------------------------------------------------------------------------
    def environment(self, structure) -> Environment:
        """The model's environment of a structure.

        Parameters
        ----------
        structure : ase.Atoms, tuple or Environment
            ASE atoms (Å), a tuple ``(numbers, positions_bohr[, cell_bohr[, pbc]])`` (bohr), or
            an :class:`Environment`, passed through.

        Returns
        -------
        Environment
            Prepared by the model.
        """
        if isinstance(structure, Environment):
            return structure
        args = structure_from_atoms(structure) if isinstance(structure, ase.Atoms) else structure
        with torch.inference_mode():
            return self.model.prepare(*args)

    def bytes_per_point(self, candidates: float, pairs: float) -> float:
        """Estimated bytes for one point's neighbour search with the given neighbour counts.

        The networks' working memory is bounded by ``pair_batch`` apart from it.

        Parameters
        ----------
        candidates : float
            Atom images in the bins around the point.
        pairs : float
            Atoms within rcut.

        Returns
        -------
        float
            Bytes.
        """
        return _SLOT_BYTES + (candidates + pairs) * _CANDIDATE_BYTES

    # --- evaluation ---------------------------------------------------------------------------
    def predict_points(self, structure, points_bohr) -> np.ndarray:
        """(M,) e/bohr^3 at points (M, 3) bohr."""
        points = np.asarray(points_bohr, dtype=float).reshape(-1, 3)
        out = np.empty(len(points), dtype=self._np_dtype)
        self._run(self.environment(structure), len(points), lambda a, b: points[a:b], out)
        return out

    def predict_grid(self, structure, grid: Grid, out: np.ndarray | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     coarse: tuple[int, np.ndarray] | None = None) -> np.ndarray:
        """Density on every grid point, shape ``grid.shape`` (written into ``out`` if given).

        progress(done, total) is called after each chunk. coarse: ``(step, values)`` with the
        values already known on ``grid.every(step)`` (a preview): they are copied, and only the
        other points are evaluated.
        """
        if out is None:
            out = np.empty(grid.shape, dtype=self._np_dtype)
        if tuple(out.shape) != grid.shape or not out.flags.c_contiguous:
            raise DdvizError(f"out must be a C-contiguous array of shape {grid.shape}, got "
                             f"{tuple(out.shape)}")
        env = self.environment(structure)
        if coarse is None:
            self._run(env, grid.size, grid.points, out.reshape(-1), progress)
            return out
        rest = Refinement(grid, coarse[0])
        rest.put_coarse(out, coarse[1])
        self._run(env, rest.size, rest.points, _Scattered(out.reshape(-1), rest.flat), progress)
        return out

    @property
    def _np_dtype(self):
        return np.float32 if self.dtype == torch.float32 else np.float64

    def _forward(self, env: Environment, points: np.ndarray) -> torch.Tensor:
        with torch.autocast(self.device.type, dtype=getattr(torch, self.autocast or "float32"),
                            enabled=self.autocast is not None):
            return self.model(env, torch.as_tensor(points, dtype=self.dtype, device=self.device),
                              pair_batch=self.pair_batch)

    def _run(self, env, total, get_points, flat_out, progress=None):
        cells = env.cells
        probe = cells.candidate_counts(cells.img_pos) if cells.nimages else torch.zeros(1)
        per_point = self.bytes_per_point(float(probe.max()), float(probe.max()) / 2)
        start = self.last_chunk_points = 0
        with torch.inference_mode():
            while start < total:
                chunk = int(max(1, min(self.max_chunk_points, total - start,
                                       self.point_budget // (per_point * SAFETY))))
                while True:
                    stop = start + chunk
                    try:
                        values = self._forward(env, get_points(start, stop))
                        break
                    except RuntimeError as exc:
                        if not is_out_of_memory(exc) or chunk == 1:
                            raise
                        if self.device.type == "cuda":
                            torch.cuda.empty_cache()
                        chunk //= 2
                        per_point = self.point_budget / (chunk * SAFETY)
                flat_out[start:stop] = values.cpu().numpy()
                self.last_chunk_points = max(self.last_chunk_points, stop - start)
                start = stop
                if progress is not None:
                    progress(start, total)


class _Scattered:
    """Writes ``target[flat(a, b)] = values`` for ``self[a:b] = values``.

    The chunks of the points a :class:`~ddviz.grid.Refinement` leaves, put in their places on the
    grid.
    """

    def __init__(self, target: np.ndarray, flat: Callable[[int, int], np.ndarray]):
        self.target, self.flat = target, flat

    def __setitem__(self, chunk: slice, values) -> None:
        self.target[self.flat(chunk.start, chunk.stop)] = values
