"""Metrics of predicted against reference densities, per structure and pooled (Zepeda-Núñez et al. 2021).

All densities in e/bohr^3 on the same :class:`~ddviz.grid.Grid`; lengths in bohr.
relative L1 = sum|pred - ref| / sum|ref|, relative L2 = ||pred - ref||_2 / ||ref||_2 over grid points.
Near the nuclei (the grid points within :data:`NEAR_NUCLEI_BOHR` of any nucleus, where a
pseudopotential valence density dips): ``rel_l1_near_nuclei``, the same ratio over those points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ddviz.errors import DdvizError
from ddviz.grid import Grid

NEAR_NUCLEI_BOHR = 0.5  # radius (bohr) of the near-nucleus region of rel_l1_near_nuclei


@dataclass
class Sums:
    """Additive partial sums from which every metric follows; pooled metrics add these up."""

    abs_err: float = 0.0  # sum |pred - ref|            (e/bohr^3)
    abs_ref: float = 0.0  # sum |ref|
    sq_err: float = 0.0  # sum (pred - ref)^2
    sq_ref: float = 0.0  # sum ref^2
    n: int = 0  # grid points
    max_abs_err: float = 0.0
    max_at: tuple | None = None  # (x, y, z) bohr of the largest |error|
    electrons_ref: float = 0.0  # sum ref * voxel volume
    electrons_pred: float = 0.0
    near_abs_err: float = 0.0  # sum |pred - ref| over the points near a nucleus
    near_abs_ref: float = 0.0  # sum |ref| over those points
    near_n: int = 0  # points near a nucleus

    def __add__(self, other: Sums) -> Sums:
        bigger = self if self.max_abs_err >= other.max_abs_err else other
        return Sums(self.abs_err + other.abs_err, self.abs_ref + other.abs_ref,
                    self.sq_err + other.sq_err, self.sq_ref + other.sq_ref, self.n + other.n,
                    bigger.max_abs_err, bigger.max_at,
                    self.electrons_ref + other.electrons_ref,
                    self.electrons_pred + other.electrons_pred,
                    self.near_abs_err + other.near_abs_err,
                    self.near_abs_ref + other.near_abs_ref, self.near_n + other.near_n)

    def metrics(self) -> dict:
        """rel_l1, rel_l2 (dimensionless), mae and max_abs_err (e/bohr^3, where: bohr), electrons.

        ``rel_l1_near_nuclei`` (None when no point lies near a nucleus or no nuclei were given)
        and ``points_near_nuclei``.
        """
        return {
            "rel_l1": self.abs_err / self.abs_ref if self.abs_ref else float("nan"),
            "rel_l2": float(np.sqrt(self.sq_err / self.sq_ref)) if self.sq_ref else float("nan"),
            "mae": self.abs_err / self.n if self.n else float("nan"),
            "max_abs_err": self.max_abs_err,
            "max_abs_err_at_bohr": None if self.max_at is None else list(self.max_at),
            "electrons_ref": self.electrons_ref,
            "electrons_pred": self.electrons_pred,
            "points": self.n,
            "rel_l1_near_nuclei": (self.near_abs_err / self.near_abs_ref
                                   if self.near_n and self.near_abs_ref else None),
            "points_near_nuclei": self.near_n,
        }


def near_nuclei(grid: Grid, positions_bohr, radius_bohr: float = NEAR_NUCLEI_BOHR) -> np.ndarray:
    """Flat (C-order) indices of the grid points within ``radius_bohr`` of any nucleus.

    Parameters
    ----------
    grid : Grid
        The grid (bohr); periodic axes wrap.
    positions_bohr : array-like of shape (natoms, 3)
        Nuclei (bohr).
    radius_bohr : float
        Radius of the region around each nucleus (bohr).

    Returns
    -------
    ndarray of int64
        Sorted, unique indices (empty when no point is that close).
    """
    pos = np.asarray(positions_bohr, dtype=float).reshape(-1, 3)
    inv = np.linalg.inv(grid.vectors)  # Cartesian -> fractional index coordinates
    reach = np.ceil(radius_bohr * np.linalg.norm(inv, axis=0)).astype(int)  # index half-widths
    shape = np.asarray(grid.shape)
    found = []
    for p in pos:
        centre = np.rint((p - grid.origin) @ inv).astype(int)
        axes = []
        for ax in range(3):
            idx = np.arange(centre[ax] - reach[ax], centre[ax] + reach[ax] + 1)
            axes.append(idx % shape[ax] if grid.pbc[ax]
                        else idx[(idx >= 0) & (idx < shape[ax])])
        if not all(len(a) for a in axes):
            continue
        ijk = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        d = grid.origin + ijk @ grid.vectors - p
        if any(grid.pbc):  # nearest image along periodic axes
            frac = d @ np.linalg.inv(grid.cell)
            frac -= np.where(grid.pbc, np.rint(frac), 0.0)
            d = frac @ grid.cell
        close = np.einsum("ij,ij->i", d, d) <= radius_bohr ** 2
        found.append(np.ravel_multi_index(tuple(ijk[close].T), grid.shape))
    if not found:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(found)).astype(np.int64)


def error_sums(pred, ref, grid: Grid | None = None, positions_bohr=None,
               near_bohr: float = NEAR_NUCLEI_BOHR) -> Sums:
    """Partial sums for predicted and reference values of the same shape (float64 accumulation).

    Parameters
    ----------
    pred, ref : array-like
        Predicted and reference values, same shape (e/bohr^3 on ``grid``).
    grid : Grid, optional
        With a grid, the electron counts use its voxel volume and the worst point gets its
        position.
    positions_bohr : array-like of shape (natoms, 3), optional
        Nuclei (bohr); with a grid, the sums over the points within ``near_bohr`` of them
        (``rel_l1_near_nuclei``).
    near_bohr : float
        Radius of the near-nucleus region (bohr).

    Returns
    -------
    Sums

    Raises
    ------
    DdvizError
        If the shapes differ.
    """
    pred = np.asarray(pred)
    ref = np.asarray(ref)
    if pred.shape != ref.shape:
        raise DdvizError(f"predicted shape {pred.shape} differs from reference shape {ref.shape}")
    if pred.size == 0:
        return Sums()
    err = pred.astype(np.float64) - ref
    aerr = np.abs(err)
    worst = int(np.argmax(aerr))
    where = None
    dv = 0.0
    near = (0.0, 0.0, 0)
    if grid is not None:
        dv = grid.voxel_volume
        where = tuple(float(v) for v in grid.index_to_point(np.unravel_index(worst, grid.shape)))
        if positions_bohr is not None and pred.size == grid.size:
            idx = near_nuclei(grid, positions_bohr, near_bohr)
            near = (float(aerr.ravel()[idx].sum()), float(np.abs(ref.ravel()[idx]).sum()),
                    int(idx.size))
    return Sums(float(aerr.sum()), float(np.abs(ref).sum(dtype=np.float64)),
                float(np.dot(err.ravel(), err.ravel())),
                float(np.dot(ref.ravel().astype(np.float64), ref.ravel())), int(pred.size),
                float(aerr.ravel()[worst]), where,
                float(ref.sum(dtype=np.float64) * dv), float(pred.sum(dtype=np.float64) * dv),
                *near)


def metrics(pred, ref, grid: Grid | None = None, positions_bohr=None) -> dict:
    """Metrics of one prediction against its reference; see :meth:`Sums.metrics`.

    Parameters
    ----------
    pred, ref : array-like
        Predicted and reference values, same shape.
    grid : Grid, optional
        Their grid (bohr).
    positions_bohr : array-like of shape (natoms, 3), optional
        Nuclei (bohr), for ``rel_l1_near_nuclei``.

    Returns
    -------
    dict
    """
    return error_sums(pred, ref, grid, positions_bohr).metrics()


def pooled(sums: list[Sums]) -> dict:
    """Metrics over all grid points of several structures together."""
    total = Sums()
    for s in sums:
        total = total + s
    return total.metrics()


def worst_slice(error, axis: int | None = None) -> tuple[int, int]:
    """(axis, index) of the axis-aligned grid plane through the point of largest |error|.

    error: (na, nb, nc). With ``axis`` None, of the three planes through the worst point the one
    holding the largest total |error| is chosen, so the slice shows the most of the error.
    """
    error = np.abs(np.asarray(error))
    if error.ndim != 3:
        raise DdvizError(f"error field must be 3D, got shape {error.shape}")
    worst = np.unravel_index(int(np.argmax(error)), error.shape)
    if axis is None:
        totals = [np.take(error, worst[ax], axis=ax).sum() for ax in range(3)]
        axis = int(np.argmax(totals))
    return axis, int(worst[axis])
