"""Properties that follow from a density on its grid: charge, multipoles, Hartree energy, potential.

A valence density (GTH pseudopotentials) is completed by point charges at the nuclei, the
pseudopotential cores' valence charges Z_val (:func:`ddviz.reference.scf.valence_charges`:
H 1, C 4, N 5, O 6, F 7 for ``gth-pbe``), so that the total charge distribution is

    q(r) = sum_A Z_A delta(r - R_A) - rho(r)        (electrons count negative).

Units: lengths bohr, density e/bohr^3, charges e, dipoles e*bohr (and debye), quadrupoles
e*bohr^2, energies Ha, potentials Ha/e. Integrals are grid quadratures (sum of values times the
voxel volume), so they are as good as the grid resolves the density and its box holds it.

Hartree potential and energy of an isolated density: the convolution with 1/r is done by FFT on
a zero-padded grid (Hockney's method; Hockney & Eastwood, *Computer Simulation Using Particles*,
1988) with the kernel split as in Ewald summation, 1/r = erf(a r)/r + erfc(a r)/r. The smooth
long-range part erf(a r)/r is sampled on the padded grid (its value at r = 0, 2a/sqrt(pi), is
finite: this is how the singular cell is handled); the short-range part enters through its exact
Fourier transform 4 pi/k^2 (1 - exp(-k^2 / 4a^2)), finite at k = 0 (pi/a^2). ``a`` is chosen so
that the long-range kernel is resolved by the grid (a h = 0.4) and the padding so that the
short-range part has decayed (erfc(a L) < 1e-15) before it meets a periodic image. For a density
the grid resolves, the result is the continuous convolution to ~1e-6 relative.
A periodic grid (``pbc``) uses 4 pi/k^2 with the k = 0 term dropped (a neutralising background,
as plane-wave codes report it).
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft
from scipy.special import erf

from ddviz.errors import DdvizError, TooLargeError, UnsupportedError
from ddviz.grid import Grid
from ddviz.units import DEBYE_PER_E_BOHR

_AH = 0.4  # Ewald split parameter times the largest grid step (long-range kernel resolved)
_ERFC_RANGE = 6.0  # a * (padding) beyond which erfc(a r)/r is below 1e-17
MAX_FFT_POINTS = 2 ** 26  # largest (padded) FFT grid of a Hartree potential: ~1.5 GB of work


def _values(values, grid: Grid) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.size != grid.size:
        raise DdvizError(f"density has {values.size} values, grid {grid.shape} needs {grid.size}")
    return values.reshape(grid.shape)


def electrons(values, grid: Grid) -> float:
    """Electron count: the quadrature of the density over the grid.

    Parameters
    ----------
    values : array-like of shape ``grid.shape``
        Density, e/bohr^3.
    grid : ddviz.grid.Grid
        Its grid (bohr).

    Returns
    -------
    float
        Electrons (e).

    Raises
    ------
    ddviz.errors.DdvizError
        If the values do not fit the grid.
    """
    return float(_values(values, grid).sum() * grid.voxel_volume)


def _moments(rho: np.ndarray, grid: Grid, origin: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Sum rho dV, sum rho (r - o) dV (3,), sum rho (r - o)(r - o)^T dV (3, 3).

    From the moments of the grid indices f = (i, j, k) (r = origin + f V), taken over the
    one- and two-axis marginals of rho, so no array of points is built.
    """
    idx = [np.arange(n, dtype=np.float64) for n in grid.shape]
    s0 = rho.sum()
    s1 = np.array([idx[p] @ rho.sum(axis=tuple(a for a in range(3) if a != p)) for p in range(3)])
    s2 = np.empty((3, 3))
    for p in range(3):
        for q in range(p, 3):
            if p == q:
                s2[p, p] = (idx[p] ** 2) @ rho.sum(axis=tuple(a for a in range(3) if a != p))
            else:
                pair = rho.sum(axis=3 - p - q)  # (n_p, n_q), p < q
                s2[p, q] = s2[q, p] = idx[p] @ pair @ idx[q]
    c = grid.origin - origin
    first = s1 @ grid.vectors
    second = s0 * np.outer(c, c) + np.outer(c, first) + np.outer(first, c)
    second += grid.vectors.T @ s2 @ grid.vectors
    dv = grid.voxel_volume
    return float(s0 * dv), (s0 * c + first) * dv, second * dv


def _traceless(second: np.ndarray) -> np.ndarray:
    """Buckingham's traceless form 1/2 (3 M - tr(M) 1) of a second moment M (3, 3)."""
    return 0.5 * (3.0 * second - np.trace(second) * np.eye(3))


def multipoles(values, grid: Grid, positions_bohr, charges, origin_bohr=None) -> dict:
    """Charge, dipole and traceless quadrupole of a valence density plus its core charges.

    Parameters
    ----------
    values : array-like of shape ``grid.shape``
        Valence electron density, e/bohr^3.
    grid : ddviz.grid.Grid
        Its grid (bohr).
    positions_bohr : array-like of shape (natoms, 3)
        Nuclei (bohr).
    charges : array-like of shape (natoms,)
        Core charges Z_val (e).
    origin_bohr : array-like of shape (3,), optional
        Origin of the moments. Default: the centre of the core charges (sum Z_A R_A / sum Z_A).
        The dipole does not depend on it for a neutral system; for a charged one it is the
        dipole about this origin. The quadrupole depends on it unless the dipole vanishes.

    Returns
    -------
    dict
        ``charge_e`` (total, e), ``electrons``, ``origin_bohr`` (3), ``dipole_e_bohr`` (3),
        ``dipole_debye`` (3), ``dipole_norm_debye``, ``dipole_norm_e_bohr``,
        ``quadrupole_e_bohr2`` (3 x 3, Buckingham's traceless convention
        Theta_ab = 1/2 sum q (3 r_a r_b - r^2 delta_ab); A. D. Buckingham, Q. Rev. Chem. Soc. 13,
        183 (1959)).

    Raises
    ------
    ddviz.errors.DdvizError
        If the values do not fit the grid or positions and charges do not match.
    """
    rho = _values(values, grid)
    pos = np.asarray(positions_bohr, dtype=float).reshape(-1, 3)
    z = np.asarray(charges, dtype=float).reshape(-1)
    if len(z) != len(pos):
        raise DdvizError(f"{len(z)} core charges for {len(pos)} nuclei")
    if origin_bohr is None:
        origin = z @ pos / z.sum() if z.sum() else np.zeros(3)
    else:
        origin = np.asarray(origin_bohr, dtype=float).reshape(3)
    n_el, m1, m2 = _moments(rho, grid, origin)
    d = pos - origin
    dipole = z @ d - m1
    quad = _traceless((d * z[:, None]).T @ d) - _traceless(m2)
    return {"charge_e": float(z.sum() - n_el), "electrons": float(n_el),
            "origin_bohr": origin.tolist(), "dipole_e_bohr": dipole.tolist(),
            "dipole_debye": (dipole * DEBYE_PER_E_BOHR).tolist(),
            "dipole_norm_e_bohr": float(np.linalg.norm(dipole)),
            "dipole_norm_debye": float(np.linalg.norm(dipole) * DEBYE_PER_E_BOHR),
            "quadrupole_e_bohr2": quad.tolist()}


def _quadratic_form(values: list[np.ndarray], metric: np.ndarray) -> np.ndarray:
    """sum_pq m_p m_q G_pq on the outer grid of the 1D arrays ``values`` (m_0, m_1, m_2)."""
    m = [values[0][:, None, None], values[1][None, :, None], values[2][None, None, :]]
    out = np.zeros(tuple(len(v) for v in values))
    for p in range(3):
        out += metric[p, p] * m[p] ** 2
        for q in range(p + 1, 3):
            if metric[p, q] != 0.0:
                out += 2 * metric[p, q] * (m[p] * m[q])
    return out


def _kvectors_sq(shape, cell: np.ndarray) -> np.ndarray:
    """|k|^2 (1/bohr^2) on the rfftn grid of a periodic box ``cell`` (rows: lattice vectors)."""
    recip = 2 * np.pi * np.linalg.inv(cell).T  # rows b_i with a_i . b_j = 2 pi delta_ij
    freqs = [sfft.fftfreq(n, 1.0 / n) for n in shape[:2]] + [sfft.rfftfreq(shape[2], 1.0 / shape[2])]
    return _quadratic_form(freqs, recip @ recip.T)


def _isolated_kernel(grid: Grid, padded: tuple[int, int, int]) -> np.ndarray:
    """The Fourier multiplier (rfftn layout) of 1/r on the zero-padded grid; see the module text."""
    a = _AH / float(grid.spacing.max())
    idx = [np.where(np.arange(n) < (n + 1) // 2, np.arange(n), np.arange(n) - n).astype(float)
           for n in padded]
    r = np.sqrt(_quadratic_form(idx, grid.vectors @ grid.vectors.T))
    r[0, 0, 0] = 1.0
    long_range = 1.0 / r
    near = a * r < _ERFC_RANGE  # elsewhere erf(a r) = 1 to 1e-17
    long_range[near] *= erf(a * r[near])
    long_range[0, 0, 0] = 2 * a / np.sqrt(np.pi)  # the limit r -> 0: the singular cell
    multiplier = sfft.rfftn(long_range, workers=-1).real * grid.voxel_volume
    k2 = _kvectors_sq(padded, grid.vectors * np.asarray(padded, dtype=float)[:, None])
    k2[0, 0, 0] = 1.0
    short = 4 * np.pi / k2 * -np.expm1(-k2 / (4 * a * a))
    short[0, 0, 0] = np.pi / (a * a)  # the limit k -> 0
    return multiplier + short


def hartree_potential(values, grid: Grid, pbc: bool | None = None) -> np.ndarray:
    """The Hartree potential v_H(r) = int rho(r') / |r - r'| dr' of a density, on its grid.

    Parameters
    ----------
    values : array-like of shape ``grid.shape``
        Electron density, e/bohr^3.
    grid : ddviz.grid.Grid
        Its grid (bohr).
    pbc : bool, optional
        Treat the grid as a periodic cell (k = 0 term dropped). Default: ``all(grid.pbc)``;
        otherwise the density is isolated (zero outside the grid; see the module text).

    Returns
    -------
    ndarray of shape ``grid.shape``
        Ha/e (positive for a positive density: the potential energy of a unit positive charge
        is -v_H).

    Raises
    ------
    ddviz.errors.DdvizError
        If the values do not fit the grid.
    ddviz.errors.TooLargeError
        If the (padded) FFT grid has more than :data:`MAX_FFT_POINTS` points.
    """
    rho = _values(values, grid)
    pbc = all(grid.pbc) if pbc is None else bool(pbc)
    extra = int(np.ceil(_ERFC_RANGE / _AH * grid.spacing.max() / grid.spacing.min()))
    padded = grid.shape if pbc else tuple(sfft.next_fast_len(n + max(n, extra), real=True)
                                          for n in grid.shape)
    if np.prod(padded, dtype=float) > MAX_FFT_POINTS:
        raise TooLargeError(f"the Hartree potential of a {grid.shape} grid needs an FFT of "
                            f"{padded} points, over the limit of {MAX_FFT_POINTS}")
    if pbc:
        k2 = _kvectors_sq(grid.shape, grid.cell)
        k2[0, 0, 0] = np.inf  # the k = 0 term dropped (neutralising background)
        kernel = 4 * np.pi / k2
        return sfft.irfftn(sfft.rfftn(rho) * kernel, s=grid.shape, workers=-1)
    transform = sfft.rfftn(rho, s=padded, workers=-1) * _isolated_kernel(grid, padded)
    v = sfft.irfftn(transform, s=padded, workers=-1)
    return v[:grid.shape[0], :grid.shape[1], :grid.shape[2]]


def hartree_energy(values, grid: Grid, pbc: bool | None = None) -> float:
    """E_H = 1/2 int int rho(r) rho(r') / |r - r'| dr dr' (Ha) of a density on its grid.

    Parameters
    ----------
    values : array-like of shape ``grid.shape``
        Electron density, e/bohr^3.
    grid : ddviz.grid.Grid
        Its grid (bohr).
    pbc : bool, optional
        As :func:`hartree_potential`.

    Returns
    -------
    float
        Hartree energy, Ha.

    Raises
    ------
    ddviz.errors.DdvizError
        If the values do not fit the grid.
    """
    rho = _values(values, grid)
    v = hartree_potential(rho, grid, pbc)
    return float(0.5 * np.vdot(rho, v) * grid.voxel_volume)


def electrostatic_potential_slice(values, grid: Grid, positions_bohr, charges, axis: int = 2,
                                  index: int | None = None) -> np.ndarray:
    """The electrostatic potential of the cores and the electrons on one grid plane.

    phi(r) = sum_A Z_A / |r - R_A| - v_H(r), with v_H of the isolated density
    (:func:`hartree_potential`) and point core charges.

    Parameters
    ----------
    values : array-like of shape ``grid.shape``
        Valence electron density, e/bohr^3.
    grid : ddviz.grid.Grid
        Its grid (bohr), not periodic.
    positions_bohr : array-like of shape (natoms, 3)
        Nuclei (bohr).
    charges : array-like of shape (natoms,)
        Core charges Z_val (e).
    axis : int
        The plane holds the points with grid index ``index`` along this axis (0, 1 or 2).
    index : int, optional
        Default: the middle plane.

    Returns
    -------
    ndarray
        Ha/e on the plane, shape ``grid.shape`` without ``axis``; +inf where a grid point sits
        on a nucleus.

    Raises
    ------
    ddviz.errors.DdvizError
        Bad axis or index, values that do not fit the grid.
    ddviz.errors.UnsupportedError
        A periodic grid (point charges in a cell need an Ewald sum).
    """
    if any(grid.pbc):
        raise UnsupportedError("the electrostatic potential of a periodic cell is not computed "
                               "(point core charges would need an Ewald sum)")
    if axis not in (0, 1, 2):
        raise DdvizError(f"axis must be 0, 1 or 2, got {axis}")
    index = grid.shape[axis] // 2 if index is None else int(index)
    if not 0 <= index < grid.shape[axis]:
        raise DdvizError(f"plane index {index} outside 0..{grid.shape[axis] - 1} on axis {axis}")
    v_h = np.take(hartree_potential(values, grid, pbc=False), index, axis=axis)
    flat = np.arange(grid.size).reshape(grid.shape)
    points = grid.points_at(np.take(flat, index, axis=axis).ravel())
    pos = np.asarray(positions_bohr, dtype=float).reshape(-1, 3)
    z = np.asarray(charges, dtype=float).reshape(-1)
    dist = np.linalg.norm(points[:, None, :] - pos[None, :, :], axis=-1)
    with np.errstate(divide="ignore"):
        cores = (z[None, :] / dist).sum(axis=1)
    return cores.reshape(v_h.shape) - v_h


ALL_ELECTRON = "all-electron"  # the "pseudopotential" of an all-electron density (e.g. DeepH-E3's)


def core_charges(atoms, pseudo: str = "gth-pbe") -> np.ndarray:
    """The pseudopotential core charges Z_val (e) of ``atoms``.

    For ``pseudo`` = :data:`ALL_ELECTRON`, the nuclear charges Z.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure.
    pseudo : str
        The pseudopotential family of the valence density, or ``"all-electron"``.

    Returns
    -------
    ndarray of shape (natoms,)

    Raises
    ------
    ddviz.errors.UnsupportedError
        An element the family has no entry for.
    """
    from ddviz.reference.scf import valence_charges

    if pseudo == ALL_ELECTRON:  # every electron is in the density: the cores are bare nuclei
        return atoms.numbers.astype(float)
    charges = valence_charges(atoms.get_chemical_symbols(), pseudo)
    if charges is None:
        raise UnsupportedError(f"pseudopotential {pseudo!r} has no entry for one of "
                               f"{sorted(set(atoms.get_chemical_symbols()))}")
    return charges


def properties(values, grid: Grid, atoms, pseudo: str = "gth-pbe", pbc: bool | None = None,
               origin_bohr=None) -> dict:
    """Every property of a valence density on its grid, as one JSON-serialisable dict.

    Parameters
    ----------
    values : array-like of shape ``grid.shape``
        Valence electron density, e/bohr^3.
    grid : ddviz.grid.Grid
        Its grid (bohr).
    atoms : ase.Atoms
        The structure (Å, converted to bohr here).
    pseudo : str
        Pseudopotential family of the density (the core charges).
    pbc : bool, optional
        Treat the grid as a periodic cell (default: ``all(grid.pbc)``). The multipoles of a
        periodic density depend on the cell's choice and are then None. A grid periodic along
        some axes only (a slab, a wire; ``pbc`` not given) has ``partly_periodic`` True, no
        multipoles and no Hartree energy (it needs a 2D-periodic Coulomb kernel).
    origin_bohr : array-like of shape (3,), optional
        Origin of the moments (:func:`multipoles`).

    Returns
    -------
    dict
        ``electrons``, ``charge_e``, ``core_charge_e``, ``dipole_e_bohr``, ``dipole_debye``
        (3-vectors), ``dipole_norm_debye``, ``dipole_norm_e_bohr``, ``quadrupole_e_bohr2``
        (3 x 3, traceless, Buckingham), ``origin_bohr``, ``hartree_ha`` (None when the grid
        is too large for its FFT, :data:`MAX_FFT_POINTS`) and ``pbc``.

    Raises
    ------
    ddviz.errors.DdvizError
        If the values do not fit the grid; an element without core charge.
    """
    from ddviz.units import ang_to_bohr

    # a slab or wire (periodic along some axes only): its in-plane multipoles depend on the cell
    # as a cell's do, and its Hartree energy needs a 2D-periodic Coulomb kernel, not computed here
    partial = pbc is None and any(grid.pbc) and not all(grid.pbc)
    pbc = all(grid.pbc) if pbc is None else bool(pbc)
    z = core_charges(atoms, pseudo)
    out = {"pbc": pbc, "partly_periodic": partial, "core_charge_e": float(z.sum())}
    if pbc or partial:
        n_el = electrons(values, grid)
        out.update(electrons=n_el, charge_e=float(z.sum() - n_el), origin_bohr=None,
                   dipole_e_bohr=None, dipole_debye=None, dipole_norm_e_bohr=None,
                   dipole_norm_debye=None, quadrupole_e_bohr2=None)
    else:
        out.update(multipoles(values, grid, ang_to_bohr(atoms.positions), z, origin_bohr))
    try:
        out["hartree_ha"] = None if partial else hartree_energy(values, grid, pbc)
    except TooLargeError:
        out["hartree_ha"] = None
    return out


def pseudo_of(sample, default: str = "gth-pbe") -> str:
    """The pseudopotential family of a Sample's valence density.

    From its orbitals, else its provenance (``pseudopotential``), else ``default``.

    Parameters
    ----------
    sample : ddviz.grid.Sample
        The density.
    default : str
        The family when the sample does not say (ddviz's references are ``gth-pbe``).

    Returns
    -------
    str
    """
    if sample.orbitals is not None and sample.orbitals.pseudo:
        return sample.orbitals.pseudo
    return str(sample.provenance.get("pseudopotential") or default)


def sample_properties(sample, pbc: bool | None = None, values=None) -> dict:
    """:func:`properties` of a :class:`~ddviz.grid.Sample` (a density in space).

    Parameters
    ----------
    sample : ddviz.grid.Sample
        A 3D valence density (e/bohr^3) with its atoms.
    pbc : bool, optional
        As :func:`properties` (default: the grid's periodicity).
    values : array-like of shape ``sample.grid.shape``, optional
        Another density on the sample's grid (a prediction) instead of the sample's own.

    Returns
    -------
    dict
        As :func:`properties`.

    Raises
    ------
    ddviz.errors.UnsupportedError
        A line or areal density (``ndim`` 1 or 2); an element without core charge.
    """
    if sample.ndim != 3:
        raise UnsupportedError(f"properties need a density in space; this one is {sample.ndim}D "
                               f"({sample.units})")
    values = sample.density.values if values is None else values
    return properties(values, sample.grid, sample.atoms, pseudo_of(sample), pbc)


def compare_properties(predicted: dict, reference: dict) -> dict:
    """Predicted beside reference for each property (scalars, vectors and matrices alike).

    Parameters
    ----------
    predicted, reference : dict
        Two :func:`properties` results.

    Returns
    -------
    dict
        ``{name: {"predicted": p, "reference": r, "difference": p - r}}`` for each numeric
        property (``difference`` None where either side is None).
    """
    out = {}
    for key in ("electrons", "charge_e", "dipole_e_bohr", "dipole_debye", "dipole_norm_e_bohr",
                "dipole_norm_debye", "quadrupole_e_bohr2", "hartree_ha"):
        p, r = predicted.get(key), reference.get(key)
        diff = None if p is None or r is None else (np.asarray(p) - np.asarray(r)).tolist()
        out[key] = {"predicted": p, "reference": r, "difference": diff}
    return out
