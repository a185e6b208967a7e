"""Datasets of reference snapshots and the random probe points that training draws from them.

A dataset is a folder of snapshot files (any format :func:`ddviz.io.read` knows; compact ``.nc``
files hold orbitals, so the exact reference density is available at any point; other files hold
grid values, and probe points are then grid points) with an optional ``manifest.json`` that
assigns each file a split ("train", "test", ...). Lengths in bohr, densities in e/bohr^3
(electrons/bohr for the 1D chains).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ddviz.errors import DdvizError
from ddviz.grid import Sample

SNAPSHOT_SUFFIXES = (".nc", ".cube", ".cub")
SAMPLING_MODES = ("uniform", "density", "error")


def snapshot_files(path: str | Path, split: str | None = None) -> list[Path]:
    """Snapshot files of a dataset folder (or the file itself), optionally of one split only.

    The split comes from the folder's manifest.json (``{"snapshots": [{"file", "split"}...]}``).
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DdvizError("no such dataset file or folder", path=path)
    manifest = path / "manifest.json"
    if manifest.exists():
        try:
            entries = json.loads(manifest.read_text())["snapshots"]
            files = [(path / e["file"], e.get("split", "train")) for e in entries]
        except (ValueError, KeyError, TypeError) as exc:
            raise DdvizError(f"expected {{'snapshots': [{{'file': ..., 'split': ...}}]}}: {exc}",
                             path=manifest) from exc
        chosen = [f for f, s in files if split is None or s == split]
        missing = [f.name for f in chosen if not f.exists()]
        if missing:
            raise DdvizError(f"lists {len(missing)} missing snapshot files, e.g. {missing[0]}",
                             path=manifest)
    else:
        if split not in (None, "train"):
            chosen = []
        else:
            chosen = sorted(p for p in path.iterdir() if p.suffix in SNAPSHOT_SUFFIXES)
    if not chosen:
        raise DdvizError(f"no snapshot files{'' if split is None else f' of split {split!r}'}",
                         path=path)
    return chosen


def load_snapshots(paths, split: str | None = None) -> list[Sample]:
    """Read the snapshots of several dataset folders/files (grid values stay lazy when possible)."""
    from ddviz import io

    return [io.read(f) for p in paths for f in snapshot_files(p, split)]


@dataclass
class ProbeSampler:
    """Draws random probe points (bohr) and their exact reference densities from one snapshot.

    Points are uniform in the snapshot's grid box, or with ``mode="density"`` a fraction
    ``focus`` of them is drawn as Gaussians of width ``sigma`` (bohr) around the atoms, where the
    density is large. (``mode="error"`` is handled by the trainer, which keeps the candidates
    where the model is worst.) With orbitals the values are exact at any point; a snapshot with
    grid values only moves each point to its nearest grid point (wrapped on periodic axes,
    clamped on open ones) and takes the stored value there, so the values stay exact.
    """

    sample: Sample
    mode: str = "uniform"
    focus: float = 0.5
    sigma: float = 1.0

    def __post_init__(self):
        if self.mode not in SAMPLING_MODES:
            raise DdvizError(f"sampling mode must be one of {SAMPLING_MODES}, got {self.mode!r}")
        grid = self.sample.grid
        # the box the reference grid spans (end points included for cubegen-style grids)
        self._origin = grid.origin
        self._span = grid.vectors * (np.asarray(grid.shape)[:, None] - (~np.asarray(grid.pbc))[:, None])
        self._atoms = self.sample.positions_bohr

    @property
    def on_grid(self) -> bool:
        """True when probe points are grid points (the snapshot has no orbitals)."""
        return self.sample.orbitals is None

    def draw_points(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, 3) bohr random probe points (anywhere in or near the grid box)."""
        n_focus = round(self.focus * n) if self.mode == "density" else 0
        uniform = self._origin + rng.random((n - n_focus, 3)) @ self._span
        if not n_focus:
            return uniform
        centres = self._atoms[rng.integers(0, len(self._atoms), n_focus)]
        near = centres + self.sigma * rng.standard_normal((n_focus, 3))
        return np.concatenate([uniform, near])

    def nearest_grid_index(self, points) -> np.ndarray:
        """(n, 3) integer index of the grid point nearest to each of ``points`` (n, 3) bohr
        (in grid steps), wrapped on periodic axes and clamped to the grid on open ones."""
        grid = self.sample.grid
        steps = (np.asarray(points, dtype=float) - grid.origin) @ np.linalg.inv(grid.vectors)
        index = np.rint(steps).astype(np.int64)
        shape = np.asarray(grid.shape)
        return np.where(np.asarray(grid.pbc), np.mod(index, shape), np.clip(index, 0, shape - 1))

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(points (n, 3) bohr, reference density (n,) e/bohr^3)."""
        points = self.draw_points(n, rng)
        if not self.on_grid:
            return points, self.sample.values_at(points)
        index = self.nearest_grid_index(points)
        values = np.asarray(self.sample.density.values)[tuple(index.T)]
        return self._origin + index @ self.sample.grid.vectors, values
