"""Planes through a density grid in any direction, sampled by trilinear interpolation.

A :class:`Plane` is a rectangle of points ``origin + i * u + j * v`` (bohr). Besides the grid's
own planes (:func:`grid_plane`), planes are given by Miller indices of a periodic cell
(:func:`miller_plane`) or by three atoms (:func:`atoms_plane`); :func:`sample_plane` gives the
density on any of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ddviz.errors import DdvizError
from ddviz.grid import Grid


@dataclass(frozen=True, eq=False)
class Plane:
    """A rectangle of sample points in space.

    The points are ``origin + i * u + j * v`` for ``0 <= i < shape[0]``, ``0 <= j < shape[1]``.

    Attributes
    ----------
    origin : (3,) float array, bohr
        The first point (i = j = 0).
    u, v : (3,) float array, bohr
        Steps between neighbouring points along each in-plane direction.
    shape : (int, int)
        Points along ``u`` and along ``v``.
    name : str
        Says which plane it is (e.g. ``"(1 1 0) plane"``), for titles.
    """

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    shape: tuple[int, int]
    name: str = "plane"

    def points(self) -> np.ndarray:
        """(shape[0], shape[1], 3) float array of the sample points (bohr)."""
        i, j = np.meshgrid(np.arange(self.shape[0]), np.arange(self.shape[1]), indexing="ij")
        return self.origin + i[..., None] * self.u + j[..., None] * self.v

    def coordinates(self, points) -> np.ndarray:
        """In-plane coordinates (bohr along ``u`` and ``v`` from the origin) of points.

        Parameters
        ----------
        points : (M, 3) array-like, bohr
            Points in space (e.g. atoms); they are projected onto the plane.

        Returns
        -------
        (M, 2) float array, bohr
        """
        d = np.asarray(points, dtype=float).reshape(-1, 3) - self.origin
        return np.column_stack([d @ self.u / np.linalg.norm(self.u),
                                d @ self.v / np.linalg.norm(self.v)])

    def distance(self, points) -> np.ndarray:
        """(M,) float array: distance (bohr) of each point from the plane."""
        normal = np.cross(self.u, self.v)
        normal /= np.linalg.norm(normal)
        return np.abs((np.asarray(points, dtype=float).reshape(-1, 3) - self.origin) @ normal)

    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in bohr of the image of the plane, half a step around."""
        hu, hv = np.linalg.norm(self.u), np.linalg.norm(self.v)
        return (-hu / 2, -hv / 2, (self.shape[0] - 0.5) * hu, (self.shape[1] - 0.5) * hv)


def sample_plane(grid: Grid, values, plane: Plane) -> np.ndarray:
    """Values of a field at the points of a plane, interpolated trilinearly between grid points.

    Parameters
    ----------
    grid : ddviz.grid.Grid
        The grid of ``values``.
    values : array-like of shape ``grid.shape``
        The field (e.g. density, e/bohr^3).
    plane : Plane
        Where to sample.

    Returns
    -------
    (plane.shape[0], plane.shape[1]) float array
        The values; periodic axes wrap around, and points outside a non-periodic axis are NaN.
        At a grid point the value is the grid's own.
    """
    values = np.asarray(values, dtype=float)
    if values.shape != grid.shape:
        raise DdvizError(f"field of shape {values.shape} on a grid of shape {grid.shape}")
    pts = plane.points().reshape(-1, 3)
    frac = (pts - grid.origin) @ np.linalg.inv(grid.vectors)  # in grid steps along a, b, c
    frac = np.where(np.abs(frac - np.round(frac)) < 1e-9, np.round(frac), frac)  # exact points
    inside = np.ones(len(pts), dtype=bool)
    low, weight = [], []
    for ax, n in enumerate(grid.shape):
        f = frac[:, ax]
        if grid.pbc[ax]:
            f = np.mod(f, n)
            i0 = np.floor(f).astype(int)
        else:
            inside &= (f >= 0) & (f <= n - 1)
            i0 = np.clip(np.floor(f).astype(int), 0, max(n - 2, 0))
        low.append(i0)
        weight.append(np.clip(f - i0, 0.0, 1.0) if n > 1 else np.zeros_like(f))
    out = np.zeros(len(pts))
    for corner in np.ndindex(2, 2, 2):
        idx, w = [], np.ones(len(pts))
        for ax, bit in enumerate(corner):
            n = grid.shape[ax]
            i = low[ax] + bit
            i = np.mod(i, n) if grid.pbc[ax] else np.minimum(i, n - 1)
            idx.append(i)
            w = w * (weight[ax] if bit else 1.0 - weight[ax])
        out += w * values[tuple(idx)]
    out[~inside] = np.nan
    return out.reshape(plane.shape)


def grid_plane(grid: Grid, axis: int, index: int) -> Plane:
    """The grid's own plane ``index`` along ``axis`` (its points are grid points).

    Parameters
    ----------
    grid : ddviz.grid.Grid
    axis : int
        0, 1 or 2: the axis across the plane.
    index : int
        The plane's index along ``axis``.

    Returns
    -------
    Plane
        Along the other two axes, in their order, with the grid's steps.
    """
    u, v = [ax for ax in range(3) if ax != axis]
    return Plane(grid.origin + index * grid.vectors[axis], grid.vectors[u], grid.vectors[v],
                 (grid.shape[u], grid.shape[v]), name=f"grid plane {index} along {'abc'[axis]}")


def _in_plane_frame(normal, first) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (e1, e2) across ``normal``, e1 along ``first`` projected onto the plane."""
    n = normal / np.linalg.norm(normal)
    e1 = first - (first @ n) * n
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(n, e1)


def _covering(corners, centre, e1, e2, step: float, name: str) -> Plane:
    """The plane through ``centre`` spanned by e1, e2, covering the projections of corners."""
    d = np.asarray(corners) - centre
    s, t = d @ e1, d @ e2
    shape = (int(np.ceil((s.max() - s.min()) / step)) + 1,
             int(np.ceil((t.max() - t.min()) / step)) + 1)
    return Plane(centre + s.min() * e1 + t.min() * e2, step * e1, step * e2, shape, name)


def _corners(grid: Grid) -> np.ndarray:
    """(8, 3) bohr: the corners of the box a grid covers (its cell for periodic axes)."""
    extent = np.where(np.array(grid.pbc), np.array(grid.shape), np.array(grid.shape) - 1)
    box = grid.vectors * extent[:, None]
    return np.array([grid.origin + np.array(c) @ box for c in np.ndindex(2, 2, 2)])


def miller_plane(grid: Grid, hkl, offset: float = 0.0, step: float | None = None) -> Plane:
    """The lattice plane (h k l) of a periodic cell, through the cell centre moved by ``offset``.

    Parameters
    ----------
    grid : ddviz.grid.Grid
        A periodic grid: its cell (``grid.cell``, rows a, b, c) sets the lattice.
    hkl : sequence of 3 int
        Miller indices, not all zero.
    offset : float, bohr
        Distance of the plane from the cell centre along its normal.
    step : float, bohr, optional
        Spacing of the sample points (default: the grid's smallest spacing).

    Returns
    -------
    Plane
        Covering the cell's projection onto the plane.

    Raises
    ------
    ddviz.errors.DdvizError
        The grid is not periodic along all three axes, or the indices are all zero.
    """
    if not all(grid.pbc):
        raise DdvizError("Miller-index planes need a periodic cell (this grid is not periodic)")
    h = np.asarray(hkl, dtype=int).reshape(3)
    if not h.any():
        raise DdvizError("Miller indices must not all be zero, got (0 0 0)")
    reciprocal = np.linalg.inv(grid.cell).T  # rows: a*, b*, c* (without 2 pi)
    normal = h @ reciprocal
    normal /= np.linalg.norm(normal)
    # start along the lattice vector closest to the plane
    first = grid.cell[int(np.argmin(np.abs(grid.cell @ normal) / np.linalg.norm(grid.cell,
                                                                            axis=1)))]
    e1, e2 = _in_plane_frame(normal, first)
    centre = grid.origin + 0.5 * grid.cell.sum(axis=0) + offset * normal
    return _covering(_corners(grid), centre, e1, e2, step or float(grid.spacing.min()),
                     f"({' '.join(map(str, h))}) plane")


def atoms_plane(grid: Grid, positions_bohr, indices, step: float | None = None) -> Plane:
    """The plane through three atoms, covering the grid's box.

    Parameters
    ----------
    grid : ddviz.grid.Grid
        The grid the plane should cover.
    positions_bohr : (N, 3) array-like, bohr
        Atom positions.
    indices : sequence of 3 int
        The three atoms (0-based); the first lies on the plane's first axis through the second.
    step : float, bohr, optional
        Spacing of the sample points (default: the grid's smallest spacing).

    Returns
    -------
    Plane

    Raises
    ------
    ddviz.errors.DdvizError
        An index out of range, repeated atoms, or three atoms on one line.
    """
    pos = np.asarray(positions_bohr, dtype=float).reshape(-1, 3)
    idx = [int(i) for i in indices]
    if len(idx) != 3 or len(set(idx)) != 3 or not all(0 <= i < len(pos) for i in idx):
        raise DdvizError(f"a plane through atoms needs three different atom numbers from 0 to "
                         f"{len(pos) - 1}, got {list(indices)}")
    a, b, c = pos[idx]
    normal = np.cross(b - a, c - a)
    if np.linalg.norm(normal) < 1e-6 * max(np.linalg.norm(b - a), 1e-12) ** 2:
        raise DdvizError(f"atoms {idx} lie on one line: they span no plane")
    e1, e2 = _in_plane_frame(normal, b - a)
    name = f"plane through atoms {' '.join(map(str, idx))}"
    return _covering(_corners(grid), a, e1, e2, step or float(grid.spacing.min()), name)
