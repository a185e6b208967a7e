"""Metrics of predicted against reference densities, per structure and pooled (Zepeda-Núñez et al. 2021).

All densities in e/bohr^3 on the same :class:`~ddviz.grid.Grid`; lengths in bohr.
relative L1 = sum|pred - ref| / sum|ref|, relative L2 = ||pred - ref||_2 / ||ref||_2 over grid points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ddviz.errors import DdvizError
from ddviz.grid import Grid


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

    def __add__(self, other: Sums) -> Sums:
        bigger = self if self.max_abs_err >= other.max_abs_err else other
        return Sums(self.abs_err + other.abs_err, self.abs_ref + other.abs_ref,
                    self.sq_err + other.sq_err, self.sq_ref + other.sq_ref, self.n + other.n,
                    bigger.max_abs_err, bigger.max_at,
                    self.electrons_ref + other.electrons_ref,
                    self.electrons_pred + other.electrons_pred)

    def metrics(self) -> dict:
        """rel_l1, rel_l2 (dimensionless), mae and max_abs_err (e/bohr^3, where: bohr), electrons."""
        return {
            "rel_l1": self.abs_err / self.abs_ref if self.abs_ref else float("nan"),
            "rel_l2": float(np.sqrt(self.sq_err / self.sq_ref)) if self.sq_ref else float("nan"),
            "mae": self.abs_err / self.n if self.n else float("nan"),
            "max_abs_err": self.max_abs_err,
            "max_abs_err_at_bohr": None if self.max_at is None else list(self.max_at),
            "electrons_ref": self.electrons_ref,
            "electrons_pred": self.electrons_pred,
            "points": self.n,
        }


def error_sums(pred, ref, grid: Grid | None = None) -> Sums:
    """Partial sums for predicted and reference values of the same shape (float64 accumulation).

    With a grid, the electron counts use its voxel volume and the worst point gets its position.
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
    if grid is not None:
        dv = grid.voxel_volume
        where = tuple(float(v) for v in grid.index_to_point(np.unravel_index(worst, grid.shape)))
    return Sums(float(aerr.sum()), float(np.abs(ref).sum(dtype=np.float64)),
                float(np.dot(err.ravel(), err.ravel())),
                float(np.dot(ref.ravel().astype(np.float64), ref.ravel())), int(pred.size),
                float(aerr.ravel()[worst]), where,
                float(ref.sum(dtype=np.float64) * dv), float(pred.sum(dtype=np.float64) * dv))


def metrics(pred, ref, grid: Grid | None = None) -> dict:
    """Metrics of one prediction against its reference; see :meth:`Sums.metrics`."""
    return error_sums(pred, ref, grid).metrics()


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
