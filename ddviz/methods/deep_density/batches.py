"""Deep Density's batches: random probe points (bohr) and their reference densities per snapshot.

Snapshots with orbitals give the exact reference density at any point; others hold grid values,
and probe points are then grid points. Densities in e/bohr^3 (electrons/bohr for the 1D chains).
:func:`draw_by_error` puts a share of the points where the model is worst (``sampling = "error"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ddviz.errors import DdvizError
from ddviz.grid import Sample

SAMPLING_MODES = ("uniform", "density")


@dataclass
class ProbeSampler:
    """Draws random probe points (bohr) and their exact reference densities from one snapshot.

    Points are uniform in the snapshot's grid box, or with ``mode="density"`` a fraction
    ``focus`` of them is drawn as Gaussians of width ``sigma`` (bohr) around the atoms, where the
    density is large (for points where the model is worst see :func:`draw_by_error`). A further
    share ``nuclear`` (any mode) is drawn as Gaussians of width ``nuclear_sigma`` (bohr) around
    the atoms, each atom alike: the nuclear region, where a pseudopotential valence density dips
    and which the other points rarely visit (0, the default, draws none and leaves the random
    stream as it was). With
    orbitals the values are exact at any point; a snapshot with
    grid values only moves each point to its nearest grid point (wrapped on periodic axes,
    clamped on open ones) and takes the stored value there, so the values stay exact.
    """

    sample: Sample
    mode: str = "uniform"
    focus: float = 0.5
    sigma: float = 1.0
    nuclear: float = 0.0
    nuclear_sigma: float = 0.25

    def __post_init__(self):
        if self.mode not in SAMPLING_MODES:
            raise DdvizError(f"sampling mode must be one of {SAMPLING_MODES}, got {self.mode!r}")
        if not 0.0 <= self.nuclear <= 1.0:
            raise DdvizError(f"nuclear (share of probe points near nuclei) must be in [0, 1], "
                             f"got {self.nuclear}")
        if not self.nuclear_sigma > 0.0:
            raise DdvizError(f"nuclear_sigma must be positive (bohr), got {self.nuclear_sigma}")
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
        """(n, 3) bohr random probe points (anywhere in or near the grid box).

        The last ``round(nuclear n)`` of them are the near-nucleus points.
        """
        n_nuclear = round(self.nuclear * n)
        if n_nuclear:
            return np.concatenate([self._draw_mode(n - n_nuclear, rng),
                                   self._around_atoms(n_nuclear, self.nuclear_sigma, rng)])
        return self._draw_mode(n, rng)

    def _draw_mode(self, n: int, rng: np.random.Generator) -> np.ndarray:
        n_focus = round(self.focus * n) if self.mode == "density" else 0
        uniform = self._origin + rng.random((n - n_focus, 3)) @ self._span
        if not n_focus:
            return uniform
        return np.concatenate([uniform, self._around_atoms(n_focus, self.sigma, rng)])

    def _around_atoms(self, n: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
        centres = self._atoms[rng.integers(0, len(self._atoms), n)]
        return centres + sigma * rng.standard_normal((n, 3))

    def nearest_grid_index(self, points) -> np.ndarray:
        """Index of the grid point nearest to each point.

        Parameters
        ----------
        points : (n, 3) array-like, bohr
            Positions.

        Returns
        -------
        (n, 3) int array
            Grid index (in grid steps), wrapped on periodic axes and clamped to the grid on
            open ones.
        """
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


def draw_by_error(sampler: ProbeSampler, n: int, focus: float, rng: np.random.Generator,
                  predict: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``n`` probe points, a share ``focus`` of them where the model is worst.

    ``n - k`` points (``k = round(focus n)``) are drawn as ``sampler`` draws them; ``2 k``
    candidates more, of which ``k`` are kept at random with probability proportional to the
    model's absolute error there (importance sampling of the error, without replacement).

    Parameters
    ----------
    sampler : ProbeSampler
    n : int
        Points returned.
    focus : float
        Share in [0, 1] chosen by error.
    rng : numpy.random.Generator
    predict : callable
        ``predict(points (m, 3) bohr) -> (m,)`` the model's density there (e/bohr^3).

    Returns
    -------
    points : (n, 3) ndarray, bohr
    reference : (n,) ndarray, e/bohr^3
    """
    k = round(focus * n)
    points, ref = sampler.draw(n + k, rng)
    if not k:
        return points, ref
    plain = n - k
    error = np.abs(np.asarray(predict(points[plain:]), dtype=float) - ref[plain:]) + 1e-12
    keep = rng.choice(2 * k, size=k, replace=False, p=error / error.sum())
    index = np.concatenate([np.arange(plain), plain + keep])
    return points[index], ref[index]
