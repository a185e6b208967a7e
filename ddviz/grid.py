"""The data model: a structure with a density field on a (possibly non-orthogonal) grid.

:class:`Grid` holds the geometry (bohr), :class:`Sample` ties ASE atoms, a grid and density values
(e/bohr^3, an ``xarray.DataArray`` with dims ``("a", "b", "c")`` along the three voxel vectors).
A model system of lower dimension (a 1D chain: ``ndim`` 1, a line grid, electrons/bohr) says so
in the Sample's ``ndim`` and ``units``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ase
import numpy as np
import xarray as xr

from ddviz.errors import DdvizError
from ddviz.units import (
    DENSITY_UNIT,
    DENSITY_UNITS,
    LENGTH_UNIT,
    ang_to_bohr,
    bohr_to_ang,
)

DIMS = ("a", "b", "c")

# Standard reference grid: as PySCF's cubegen lays it out (bohr).
STANDARD_SPACING = 0.2
STANDARD_MARGIN = 4.0


@dataclass(frozen=True, eq=False)
class Grid:
    """A uniform grid: point (i, j, k) sits at ``origin + i*vectors[0] + j*vectors[1] + k*vectors[2]``.

    origin: (3,) bohr. vectors: (3, 3) bohr, rows are the voxel step vectors (non-orthogonal allowed).
    shape: points along each vector. pbc: per axis; a periodic axis repeats after ``shape[i]`` steps,
    so its cell vector is ``shape[i] * vectors[i]`` (no duplicated end point).
    """

    origin: np.ndarray
    vectors: np.ndarray
    shape: tuple[int, int, int]
    pbc: tuple[bool, bool, bool] = (False, False, False)

    def __post_init__(self):
        origin = np.asarray(self.origin, dtype=float).reshape(3)
        vectors = np.asarray(self.vectors, dtype=float).reshape(3, 3)
        shape = tuple(int(n) for n in self.shape)
        if len(shape) != 3 or min(shape) < 1:
            raise DdvizError(f"grid shape must be three positive integers, got {self.shape}")
        if not (np.all(np.isfinite(origin)) and np.all(np.isfinite(vectors))):
            raise DdvizError("grid origin and voxel vectors must be finite")
        if abs(np.linalg.det(vectors)) < 1e-12:
            raise DdvizError("grid voxel vectors are linearly dependent (zero voxel volume)")
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "vectors", vectors)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "pbc", tuple(bool(p) for p in self.pbc))

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def around(cls, positions_bohr, spacing: float = STANDARD_SPACING,
               margin: float = STANDARD_MARGIN) -> Grid:
        """The box around ``positions_bohr`` (N, 3) plus ``margin`` on each side, as cubegen builds it.

        Points per axis ``n = ceil(extent / spacing)`` with both end points on the box, so the actual
        spacing ``extent / (n - 1)`` is slightly above ``spacing`` and differs per axis.
        """
        pos = np.asarray(positions_bohr, dtype=float).reshape(-1, 3)
        if not (np.isfinite(spacing) and np.isfinite(margin) and spacing > 0 and margin >= 0):
            raise DdvizError(f"spacing must be > 0 and margin >= 0 bohr (finite), got {spacing}, "
                             f"{margin}")
        extent = pos.max(axis=0) - pos.min(axis=0) + 2 * margin
        n = np.maximum(np.ceil(extent / spacing).astype(int), 2)
        return cls(pos.min(axis=0) - margin, np.diag(extent / (n - 1)), tuple(n))

    @classmethod
    def periodic(cls, cell_bohr, shape) -> Grid:
        """A fully periodic grid dividing the cell (3, 3) bohr, rows = lattice vectors, into ``shape``."""
        cell = np.asarray(cell_bohr, dtype=float).reshape(3, 3)
        return cls(np.zeros(3), cell / np.asarray(shape, dtype=float)[:, None], tuple(shape),
                   (True, True, True))

    @classmethod
    def partly_periodic(cls, cell_bohr, pbc, positions_bohr, spacing: float = STANDARD_SPACING,
                        margin: float = STANDARD_MARGIN) -> Grid:
        """The grid of a structure periodic along some axes only (a slab, a wire).

        Along each periodic axis the lattice vector is divided evenly, as :meth:`periodic` does
        (``round(length / spacing)`` steps, :func:`periodic_shape`), so the grid tiles the
        structure's periodic images; along each open axis a box around the atoms with
        ``margin`` on each side, as :meth:`around` lays it (``ceil(extent / spacing)`` points,
        both ends on the box). The open axes run along the unit vectors of
        :func:`lattice_frame`: orthogonal to the periodic lattice vectors (the surface normal
        of a slab, whatever the cell's own third vector), so the cell's open vectors may be
        zero, short or oblique. With every axis periodic this is :meth:`periodic` of the cell.

        Parameters
        ----------
        cell_bohr : (3, 3) array-like
            Lattice vectors as rows, bohr (those of open axes may be zero).
        pbc : three bool
            Periodic axes.
        positions_bohr : (N, 3) array-like
            Atom positions, bohr; only their extent along the open axes is used.
        spacing : float
            Wanted spacing, bohr.
        margin : float
            Space between the outermost atoms and the box along each open axis, bohr.

        Returns
        -------
        Grid
            ``pbc`` as given; origin on the cell's corner plane (zero component along the
            periodic vectors), at the box's lower face along each open axis.

        Raises
        ------
        DdvizError
            ``spacing`` not positive or ``margin`` negative; a periodic lattice vector zero or
            the periodic vectors linearly dependent.
        """
        pbc = tuple(bool(p) for p in pbc)
        if not (np.isfinite(margin) and margin >= 0):
            raise DdvizError(f"margin must be >= 0 bohr (finite), got {margin}", field="margin")
        frame = lattice_frame(cell_bohr, pbc)
        counts = periodic_shape(frame, spacing)
        pos = np.asarray(positions_bohr, dtype=float).reshape(-1, 3)
        origin, vectors, shape = np.zeros(3), np.empty((3, 3)), []
        for axis, periodic in enumerate(pbc):
            if periodic:
                shape.append(counts[axis])
                vectors[axis] = frame[axis] / counts[axis]
                continue
            along = pos @ frame[axis] if len(pos) else np.zeros(1)
            extent = along.max() - along.min() + 2 * margin
            n = max(int(np.ceil(extent / spacing)), 2)
            shape.append(n)
            vectors[axis] = frame[axis] * extent / (n - 1)
            origin += (along.min() - margin) * frame[axis]
        return cls(origin, vectors, tuple(shape), pbc)

    # --- geometry -----------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of grid points."""
        return math.prod(self.shape)

    @property
    def spacing(self) -> np.ndarray:
        """(3,) bohr: length of each voxel vector."""
        return np.linalg.norm(self.vectors, axis=1)

    @property
    def voxel_volume(self) -> float:
        """bohr^3."""
        return float(abs(np.linalg.det(self.vectors)))

    @property
    def cell(self) -> np.ndarray:
        """(3, 3) bohr: the box spanned by the grid, ``shape[i] * vectors[i]`` per row."""
        return self.vectors * np.asarray(self.shape, dtype=float)[:, None]

    @property
    def axis_aligned(self) -> bool:
        """True when the voxel vectors are along x, y, z."""
        return bool(np.allclose(self.vectors, np.diag(np.diag(self.vectors)), atol=1e-12))

    def axis_coords(self) -> dict[str, np.ndarray]:
        """1D coordinates (bohr) along each voxel vector, measured from the origin."""
        return {d: np.arange(n) * h for d, n, h in zip(DIMS, self.shape, self.spacing)}

    def points(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """(M, 3) bohr: Cartesian points with flat (C-order, ``a`` slowest) indices start..stop-1.

        Chunks of a large grid can be generated without ever building the whole (N, 3) array.
        """
        stop = self.size if stop is None else min(stop, self.size)
        return self.points_at(np.arange(start, stop))

    def points_at(self, flat) -> np.ndarray:
        """(M, 3) bohr: the Cartesian points with these flat (C-order) indices."""
        ijk = np.stack(np.unravel_index(np.asarray(flat), self.shape), axis=-1).astype(float)
        return self.origin + ijk @ self.vectors

    def every(self, step: int) -> Grid:
        """The grid of every ``step``-th point along each axis (indices 0, step, 2 step, ...).

        ``values[::step, ::step, ::step]`` of a field on this grid lies on it. A periodic axis
        stays periodic only when ``step`` divides its points.

        Parameters
        ----------
        step : int
            Stride, at least 1.

        Returns
        -------
        Grid
            The coarse grid (same origin, vectors times ``step``, bohr).

        Raises
        ------
        ddviz.errors.DdvizError
            If ``step`` is below 1.
        """
        step = int(step)
        if step < 1:
            raise DdvizError(f"grid step must be a positive integer, got {step}")
        shape = tuple((n - 1) // step + 1 for n in self.shape)
        pbc = tuple(p and n % step == 0 for p, n in zip(self.pbc, self.shape))
        return Grid(self.origin, self.vectors * step, shape, pbc)

    def index_to_point(self, index) -> np.ndarray:
        """(3,) bohr: the Cartesian position of grid index (i, j, k)."""
        return self.origin + np.asarray(index, dtype=float) @ self.vectors

    def is_close(self, other: Grid, atol: float = 1e-6) -> bool:
        """Same shape, periodicity, and origin/vectors within ``atol`` bohr."""
        return (self.shape == other.shape and self.pbc == other.pbc
                and np.allclose(self.origin, other.origin, atol=atol)
                and np.allclose(self.vectors, other.vectors, atol=atol))


class Refinement:
    """The points of ``grid`` that are not on ``grid.every(step)``, in flat (C-order) order.

    A field known on the coarse grid (a preview) is completed by evaluating only these points:
    ``field[::step, ::step, ::step] = coarse`` and ``field.flat[r.flat(a, b)] = f(r.points(a, b))``
    for chunks ``a..b`` of ``range(r.size)``. Chunks are generated plane by plane, so a large
    grid never needs an index array of all its points.
    """

    def __init__(self, grid: Grid, step: int):
        self.grid, self.step = grid, int(step)
        self.coarse = grid.every(self.step)
        na, nb, nc = grid.shape
        self._plane = nb * nc
        on = np.zeros((nb, nc), dtype=bool)
        on[::self.step, ::self.step] = True
        self._rest = np.flatnonzero(~on.ravel())  # a coarse plane's other points
        counts = np.where(np.arange(na) % self.step == 0, self._rest.size, self._plane)
        self._start = np.concatenate([[0], np.cumsum(counts)])  # first rank of each plane
        self.size = int(self._start[-1])

    def flat(self, start: int, stop: int) -> np.ndarray:
        """Flat grid indices of the remaining points of ranks start..stop-1 (ascending)."""
        stop = min(stop, self.size)
        if start >= stop:
            return np.zeros(0, dtype=np.int64)
        first = int(np.searchsorted(self._start, start, side="right")) - 1
        last = int(np.searchsorted(self._start, stop - 1, side="right")) - 1
        pieces = []
        for i in range(first, last + 1):
            lo = max(start, self._start[i]) - self._start[i]
            hi = min(stop, self._start[i + 1]) - self._start[i]
            within = self._rest[lo:hi] if i % self.step == 0 else np.arange(lo, hi)
            pieces.append(i * self._plane + within)
        return np.concatenate(pieces).astype(np.int64)

    def points(self, start: int, stop: int) -> np.ndarray:
        """(M, 3) bohr: the remaining points of ranks start..stop-1."""
        return self.grid.points_at(self.flat(start, stop))

    def put_coarse(self, out: np.ndarray, coarse_values) -> None:
        """Write ``coarse_values`` into the coarse points of ``out``.

        The remaining points are left to fill.

        Parameters
        ----------
        out : ndarray of shape ``grid.shape``
            A field on the grid, written in place.
        coarse_values : array-like of shape ``grid.every(step).shape``
            The field on the coarse grid.

        Raises
        ------
        ddviz.errors.DdvizError
            If ``coarse_values`` does not have the coarse grid's shape.
        """
        coarse_values = np.asarray(coarse_values)
        if coarse_values.shape != self.coarse.shape:
            raise DdvizError(f"coarse values of shape {coarse_values.shape} do not lie on every "
                             f"{self.step}th point of a {self.grid.shape} grid "
                             f"({self.coarse.shape})")
        out[::self.step, ::self.step, ::self.step] = coarse_values


class Sample:
    """A structure with a density field.

    atoms: ASE atoms (positions and cell in Å, as ASE has them). grid: geometry in bohr.
    density: e/bohr^3, dims ``("a", "b", "c")`` with the grid's shape (array or DataArray).
    orbitals: optional exact form of the density (:class:`ddviz.orbitals.OrbitalDensity`); with
    it, ``density`` may be omitted and is evaluated on the grid when first asked for, and
    :meth:`values_at` gives the exact density at any point.
    provenance: JSON-serialisable record of how the data were made (code versions, seed...).
    ndim: 3 for a density in space (the default); 1 for a line density on a line grid (a 1D
    model chain, shape (n, 1, 1)), 2 for an areal density on a plane grid.
    units: the density's unit, :data:`ddviz.units.DENSITY_UNITS` of ``ndim`` ("e/bohr^3",
    "electrons/bohr", "electrons/bohr^2"); the default.

    Raises
    ------
    DdvizError
        Neither values nor orbitals; values that do not fit the grid; ``ndim`` not 1, 2 or 3, a
        grid with more than ``ndim`` axes of several points, or ``units`` not ``ndim``'s.
    """

    def __init__(self, atoms: ase.Atoms, grid: Grid, density=None, provenance: dict | None = None,
                 orbitals=None, *, ndim: int = 3, units: str | None = None):
        if density is None and orbitals is None:
            raise DdvizError("a sample needs density values or orbitals")
        self.ndim, self.units = check_ndim(grid, ndim, units)
        self.atoms = atoms
        self.grid = grid
        self.provenance = dict(provenance or {})
        self.orbitals = orbitals
        self._density = None if density is None else self._as_density(density)

    def _as_density(self, values) -> xr.DataArray:
        if isinstance(values, xr.DataArray):
            if tuple(values.shape) != self.grid.shape:
                raise DdvizError(f"density shape {tuple(values.shape)} does not match "
                                 f"grid shape {self.grid.shape}")
            return values
        values = np.asarray(values)
        if values.size != self.grid.size:
            raise DdvizError(f"density has {values.size} values, grid {self.grid.shape} needs "
                             f"{self.grid.size}")
        return self.make_density(self.grid, values, units=self.units)

    @property
    def density(self) -> xr.DataArray:
        """The density on the grid, in :attr:`units`, as a DataArray with bohr coordinates.

        Evaluated from the orbitals on first access if not stored.
        """
        if self._density is None:
            self._density = self.make_density(self.grid, self.orbitals.evaluate_grid(self.grid),
                                              units=self.units)
        return self._density

    @property
    def has_values(self) -> bool:
        """True when grid values are stored (not only orbitals)."""
        return self._density is not None

    def values_at(self, points_bohr) -> np.ndarray:
        """(M,) e/bohr^3 at arbitrary points (M, 3) bohr; exact, so it needs orbitals."""
        if self.orbitals is None:
            raise DdvizError("this sample stores grid values only; values at arbitrary points "
                             "need its orbitals")
        return self.orbitals.evaluate(points_bohr)

    @staticmethod
    def make_density(grid: Grid, values, name: str = "density",
                     units: str = DENSITY_UNIT) -> xr.DataArray:
        """Wrap values (grid.shape) in ``units`` as a DataArray with bohr coordinates."""
        values = np.asarray(values)
        if values.shape != grid.shape:
            values = values.reshape(grid.shape)
        return xr.DataArray(values, dims=DIMS, coords=grid.axis_coords(), name=name,
                            attrs={"units": units, "coordinate_units": LENGTH_UNIT})

    @property
    def positions_bohr(self) -> np.ndarray:
        """(natoms, 3) bohr."""
        return ang_to_bohr(self.atoms.positions)

    @property
    def cell_bohr(self) -> np.ndarray:
        """(3, 3) bohr: the atoms' cell if it has one, else the grid's box."""
        cell = np.asarray(self.atoms.cell)
        return ang_to_bohr(cell) if np.any(cell) else self.grid.cell

    def points(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """(M, 3) bohr grid points; see :meth:`Grid.points`."""
        return self.grid.points(start, stop)

    def electrons(self) -> float:
        """Electron count by quadrature: sum of values times the voxel volume.

        The voxel volume is in bohr^3; for a line density it is the line step times the unit
        transverse steps of its grid, so the count is in electrons either way.
        """
        return float(np.sum(self.density.values, dtype=np.float64) * self.grid.voxel_volume)

    def summary(self) -> dict:
        """The facts ``ddviz info`` prints (bohr; electrons by quadrature)."""
        return {
            "ndim": self.ndim,
            "units": self.units,
            "natoms": len(self.atoms),
            "species": sorted(set(self.atoms.get_chemical_symbols())),
            "grid_shape": list(self.grid.shape),
            "spacing_bohr": [float(h) for h in self.grid.spacing],
            "cell_bohr": self.cell_bohr.tolist(),
            "pbc": [bool(p) for p in self.grid.pbc],
            "electrons": self.electrons(),
        }


def line_axes(grid: Grid) -> int:
    """How many axes of ``grid`` have more than one point (1 for a chain's (n, 1, 1) grid)."""
    return sum(n > 1 for n in grid.shape)


def check_ndim(grid: Grid, ndim: int, units: str | None = None) -> tuple[int, str]:
    """``(ndim, units)`` checked against each other and the grid; ``units`` defaults to ndim's.

    Raises
    ------
    DdvizError
        ``ndim`` not 1, 2 or 3; the grid extends along more than ``ndim`` axes; ``units`` is not
        :data:`ddviz.units.DENSITY_UNITS` ``[ndim]``.
    """
    if isinstance(ndim, bool) or ndim not in DENSITY_UNITS:
        raise DdvizError(f"ndim must be 1, 2 or 3, got {ndim!r}", field="ndim")
    ndim = int(ndim)
    if line_axes(grid) > ndim:
        raise DdvizError(f"a {ndim}D density needs a grid with at most {ndim} axes of several "
                         f"points, got shape {grid.shape}", field="ndim")
    expected = DENSITY_UNITS[ndim]
    if units is None:
        units = expected
    if units != expected:
        raise DdvizError(f"a {ndim}D density is in {expected}, got units {units!r}",
                         field="units")
    return ndim, units


def atoms_from_bohr(numbers, positions_bohr, cell_bohr=None, pbc=False) -> ase.Atoms:
    """ASE atoms from atomic numbers and positions (N, 3) / cell (3, 3) in bohr."""
    cell = None if cell_bohr is None else bohr_to_ang(cell_bohr)
    return ase.Atoms(numbers=np.asarray(numbers, dtype=int), positions=bohr_to_ang(positions_bohr),
                     cell=cell, pbc=pbc)


def periodic_shape(cell_bohr, spacing: float = STANDARD_SPACING) -> tuple[int, int, int]:
    """Points per lattice vector so that each divides its vector at about ``spacing`` bohr.

    Parameters
    ----------
    cell_bohr : (3, 3) array-like
        Lattice vectors as rows, bohr.
    spacing : float
        Wanted spacing, bohr; each vector's count is ``round(length / spacing)`` (at least 1).

    Returns
    -------
    tuple of three int

    Raises
    ------
    DdvizError
        ``spacing`` not a positive finite number.
    """
    if not (np.isfinite(spacing) and spacing > 0):
        raise DdvizError(f"spacing must be a positive number of bohr, got {spacing}",
                         field="spacing")
    lengths = np.linalg.norm(np.asarray(cell_bohr, dtype=float).reshape(3, 3), axis=1)
    return tuple(int(max(1, round(n))) for n in lengths / spacing)


def lattice_frame(cell_bohr, pbc) -> np.ndarray:
    """The lattice vectors of the periodic axes completed by unit vectors on the open axes.

    A partly periodic structure (a slab: pbc T T F; a wire: T F F) is periodic along its
    periodic lattice vectors only; its open vectors may be zero (ASE's ``fcc111`` without
    vacuum), short or oblique. The frame keeps the periodic vectors and replaces each open one
    by a unit vector orthogonal to every periodic vector and to the open ones before it: the
    cell's own open vector with its periodic part removed, or, where that is (nearly) nothing,
    the Cartesian axis that leaves the most. A slab's open row is then its unit surface normal.
    Neighbour searches and grids use the frame; a lattice translation is only ever along a
    periodic row, so the open rows' lengths do not matter.

    Parameters
    ----------
    cell_bohr : (3, 3) array-like
        Lattice vectors as rows, bohr.
    pbc : three bool
        Periodic axes.

    Returns
    -------
    (3, 3) ndarray
        Rows: bohr on periodic axes (the cell's own), unit (dimensionless) on open axes; full
        rank. Equal to the cell when every axis is periodic.

    Raises
    ------
    DdvizError
        A periodic lattice vector is zero, or the periodic vectors are linearly dependent.
    """
    cell = np.asarray(cell_bohr, dtype=float).reshape(3, 3)
    pbc = tuple(bool(p) for p in pbc)
    periodic = cell[list(pbc)]
    lengths = np.linalg.norm(periodic, axis=1)
    scale = lengths.max(initial=0.0)
    flags = " ".join("T" if p else "F" for p in pbc)
    if len(periodic) and (lengths.min() <= 1e-8 * max(scale, 1.0)
                          or np.linalg.matrix_rank(periodic, tol=1e-8 * scale) < len(periodic)):
        raise DdvizError(f"the lattice vectors of the periodic axes (pbc {flags}) are zero or "
                         f"linearly dependent: {np.round(periodic, 6).tolist()} bohr; give each "
                         "periodic axis its own lattice vector", field="cell")
    found = list(np.linalg.qr(periodic.T)[0].T) if len(periodic) else []  # orthonormal rows
    frame = cell.copy()
    for axis in (a for a in range(3) if not pbc[a]):
        def rest(v):
            return v - sum((v @ u) * u for u in found)
        own = rest(cell[axis])
        if np.linalg.norm(own) <= 1e-3 * np.linalg.norm(cell[axis]):  # zero or in the plane
            own = max((rest(e) for e in np.eye(3)), key=np.linalg.norm)
        frame[axis] = own / np.linalg.norm(own)
        found.append(frame[axis])
    return frame


def as_periodic(sample: Sample, path=None, atol: float = 1e-4) -> Sample:
    """The same density on a fully periodic grid of its cell (a cube read with ``--pbc``).

    A cube file has no periodicity flag; a grid that spans exactly its cell (``shape[i]`` voxel
    steps per lattice vector, no duplicated end point, as CP2K writes them) is periodic. The cell
    is the atoms' cell when they have one (it must equal the grid's), else the grid's.

    Parameters
    ----------
    sample : Sample
        A density in space (``ndim`` 3).
    path : path-like, optional
        The file it came from, named in errors.
    atol : float
        Largest difference (bohr) between the atoms' cell and the grid's.

    Returns
    -------
    Sample
        ``sample`` itself when its file already says which axes are periodic (grid and atoms
        periodic along the same axes, some or all: a CHGCAR, a periodic netCDF, a ddviz cube
        with its ``ddviz pbc=`` token, a slab's included), else a new Sample sharing the values,
        with ``grid.pbc`` and ``atoms.pbc`` True and the atoms' cell set.

    Raises
    ------
    DdvizError
        Not a density in space, or the atoms' cell differs from the cell the grid spans.
    """
    if any(sample.grid.pbc) and sample.grid.pbc == tuple(bool(p) for p in sample.atoms.pbc):
        return sample
    if sample.ndim != 3:
        raise DdvizError(f"only a density in space can be periodic (this one is {sample.ndim}D)",
                         path=path, field="pbc")
    grid = sample.grid
    atoms_cell = np.asarray(sample.atoms.cell)
    if np.any(atoms_cell) and not np.allclose(ang_to_bohr(atoms_cell), grid.cell, atol=atol):
        raise DdvizError("the grid does not span the structure's cell (grid cell "
                         f"{np.round(grid.cell, 4).tolist()} bohr, structure cell "
                         f"{np.round(ang_to_bohr(atoms_cell), 4).tolist()} bohr): it cannot be "
                         "treated as periodic", path=path, field="pbc")
    atoms = sample.atoms.copy()
    atoms.cell = bohr_to_ang(grid.cell)
    atoms.pbc = True
    periodic = Grid(grid.origin, grid.vectors, grid.shape, (True, True, True))
    density = sample.density.values if sample.has_values else None
    return Sample(atoms, periodic, density, {**sample.provenance, "pbc_from": "--pbc"},
                  sample.orbitals, ndim=sample.ndim, units=sample.units)
