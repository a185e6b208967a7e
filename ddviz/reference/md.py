"""Starting geometries and Langevin molecular dynamics with ASE calculators.

Molecules and clusters: GFN2-xTB (tblite's ASE calculator). Periodic cells (:data:`CELLS`):
bulk aluminium with ASE's EMT (an effective-medium potential fitted to Al, Cu, Ag, Au, Ni, Pd, Pt:
milliseconds per step and a realistic fcc metal at 300 K) and liquid water with rigid TIP3P
(``ase.calculators.tip3p``, O-H 0.9572 Å and H-O-H 104.52 deg held by RATTLE; the standard
non-polarisable water model: milliseconds per step where periodic GFN2-xTB takes about a second
for 96 atoms; its rigid molecules mean every snapshot has the same intramolecular geometry).

Lengths here are in Å, times in fs and temperatures in K: this module lives at the ASE boundary.
Every random choice draws from one ``numpy.random.Generator`` seeded by the caller, so the same seed
gives the same trajectory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ase
import numpy as np
from ase import units
from ase.build import molecule

from ddviz.errors import ConfigError

# ase.build.molecule names of the small molecules ddviz ships as datasets
MOLECULES = {"ethane": "C2H6", "n-butane": "trans-butane", "isobutane": "isobutane"}

WATER_DENSITY = 0.0334  # molecules / Å^3 (liquid water, 1.0 g/cm^3)
MIN_OO = 2.6  # Å, closest O–O distance allowed when placing waters
MIN_INTER = 1.6  # Å, closest distance between atoms of different waters


# periodic systems: name -> (kind, size); al: conventional fcc cells per edge, water: molecules
CELLS = {"al32": ("al", 2), "al108": ("al", 3), "water32-box": ("water", 32),
         "water64-box": ("water", 64)}
AL_LATTICE = 4.05  # Å, fcc aluminium at room temperature
WATER_BOX_DENSITY = 0.997  # g/cm^3 at 300 K
MIN_OO_BOX = 2.5  # Å, closest O-O distance when placing waters in a box
TIP3P_CUTOFF = 4.5  # Å, TIP3P's interaction cutoff (below half of a 32-water box, 9.86 Å)


def build(system: str, seed: int = 0) -> ase.Atoms:
    """A starting geometry (Å): a molecule, ``waterN`` (a cluster) or a periodic cell.

    Molecules: ``ethane``, ``n-butane``, ``isobutane``; periodic cells: the keys of
    :data:`CELLS` (``al32``, ``al108``, ``water32-box``, ``water64-box``).

    Parameters
    ----------
    system : str
        The system's name.
    seed : int
        Seed of the random placement (water).

    Returns
    -------
    ase.Atoms
        Positions in Å; periodic cells with their cell and pbc.

    Raises
    ------
    ConfigError
        An unknown name.
    """
    if system in CELLS:
        kind, size = CELLS[system]
        return aluminium(size) if kind == "al" else water_box(size, seed)
    if system in MOLECULES:
        atoms = molecule(MOLECULES[system])
        atoms.center()
        return atoms
    if system.startswith("water") and system[5:].isdigit() and int(system[5:]) > 0:
        return water_cluster(int(system[5:]), seed)
    raise ConfigError(f"unknown system {system!r}; expected one of {sorted(MOLECULES)} or waterN")


def water_cluster(n: int, seed: int = 0, max_tries: int = 20000) -> ase.Atoms:
    """``n`` water molecules at liquid density in a sphere, random positions and orientations.

    O atoms are at least ``MIN_OO`` Å apart and atoms of different molecules ``MIN_INTER`` Å; the
    sphere grows by 5 % whenever random placement gets stuck. Reproducible from ``seed``.
    """
    rng = np.random.default_rng(seed)
    template = molecule("H2O")
    template.translate(-template[0].position)  # O at the origin
    radius = (3 * n / (4 * math.pi * WATER_DENSITY)) ** (1 / 3)
    placed: list[np.ndarray] = []
    tries = 0
    while len(placed) < n:
        tries += 1
        if tries > max_tries:
            radius, tries = radius * 1.05, 0
        centre = _random_in_ball(rng, radius)
        water = template.positions @ _random_rotation(rng).T + centre
        if all(np.linalg.norm(w[0] - water[0]) >= MIN_OO and
               np.min(np.linalg.norm(w[:, None] - water[None], axis=-1)) >= MIN_INTER
               for w in placed):
            placed.append(water)
    atoms = ase.Atoms("OH2" * n, positions=np.concatenate(placed))
    atoms.center()
    return atoms


def aluminium(repeat: int, a: float = AL_LATTICE) -> ase.Atoms:
    """Bulk fcc aluminium: ``repeat``^3 conventional cells (4 atoms each) of edge ``a`` Å."""
    from ase.build import bulk

    return bulk("Al", "fcc", a=a, cubic=True).repeat(repeat)


def water_box(n: int, seed: int = 0, max_tries: int = 200000) -> ase.Atoms:
    """``n`` rigid TIP3P waters at :data:`WATER_BOX_DENSITY` in a periodic cubic box.

    Random positions and orientations, O atoms at least :data:`MIN_OO_BOX` Å apart and atoms of
    different molecules 1.5 Å (minimum image); reproducible from ``seed``. Atoms in O, H, H order.
    """
    from ase.calculators.tip3p import angleHOH, rOH

    rng = np.random.default_rng(seed)
    mass = 18.01528 / 6.02214076e23  # g per molecule
    edge = (n * mass / WATER_BOX_DENSITY) ** (1 / 3) * 1e8  # Å
    half = math.radians(angleHOH) / 2
    template = np.array([[0, 0, 0], [rOH * math.sin(half), 0, rOH * math.cos(half)],
                         [-rOH * math.sin(half), 0, rOH * math.cos(half)]])
    placed: list[np.ndarray] = []
    for _ in range(max_tries):
        if len(placed) == n:
            break
        water = template @ _random_rotation(rng).T + rng.uniform(0, edge, 3)
        if all(_far_enough(w, water, edge) for w in placed):
            placed.append(water)
    else:
        raise ConfigError(f"could not place {n} waters in a {edge:.2f} Å box")
    return ase.Atoms("OH2" * n, positions=np.concatenate(placed), cell=[edge] * 3, pbc=True)


def _far_enough(a: np.ndarray, b: np.ndarray, edge: float) -> bool:
    d = a[:, None] - b[None]
    d -= edge * np.round(d / edge)
    r = np.linalg.norm(d, axis=-1)
    return r[0, 0] >= MIN_OO_BOX and r.min() >= 1.5


def calculator(system: str):
    """The ASE calculator of a system's MD: EMT (Al), TIP3P (water boxes), else GFN2-xTB."""
    if system in CELLS:
        if CELLS[system][0] == "al":
            from ase.calculators.emt import EMT

            return EMT()
        from ase.calculators.tip3p import TIP3P

        return TIP3P(rc=TIP3P_CUTOFF)
    return xtb_calculator()


def rigid_water_constraints(atoms: ase.Atoms) -> list:
    """RATTLE constraints holding each O, H, H triple (in that order) rigid."""
    n = len(atoms) // 3
    pairs = [(3 * i + a, 3 * i + b) for i in range(n) for a, b in ((0, 1), (0, 2), (1, 2))]
    return [RigidTriples(pairs, tolerance=1e-10)]


def _rigid_triples_class():
    """:class:`ase.constraints.FixBondLengths` with SHAKE/RATTLE sweeps vectorised over molecules.

    ASE's loop visits bonds one by one with a minimum-image search each (0.2 s per MD step for 32
    waters); here the bonds come in three groups (O-H1, O-H2, H1-H2 of every molecule) that share
    no atom, each group updated at once, the same Gauss-Seidel sweep in three numpy steps.
    """
    from ase.constraints import FixBondLengths

    class RigidTriples(FixBondLengths):
        def _mic(self, atoms, d):
            if not atoms.pbc.any():
                return d
            cell = atoms.cell.array
            frac = d @ np.linalg.inv(cell)
            return (frac - np.where(atoms.pbc, np.round(frac), 0.0)) @ cell

        def _setup(self, atoms):
            if self.bondlengths is None:
                self.bondlengths = self.initialize_bond_lengths(atoms)
            pairs = np.asarray(self.pairs)
            masses = atoms.get_masses()
            groups = [np.arange(k, len(pairs), 3) for k in range(3)]
            return pairs[:, 0], pairs[:, 1], masses, groups

        def adjust_positions(self, atoms, new):
            a, b, m, groups = self._setup(atoms)
            old = atoms.positions
            d0 = self._mic(atoms, old[a] - old[b])
            red = 1 / (1 / m[a] + 1 / m[b])
            for _ in range(self.maxiter):
                converged = True
                for g in groups:
                    ga, gb = a[g], b[g]
                    d1 = new[ga] - new[gb] - (old[ga] - old[gb]) + d0[g]
                    x = 0.5 * (self.bondlengths[g] ** 2 - (d1 * d1).sum(1)) / (d0[g] * d1).sum(1)
                    if np.any(np.abs(x) > self.tolerance):
                        converged = False
                        step = (x * red[g])[:, None] * d0[g]
                        new[ga] += step / m[ga][:, None]
                        new[gb] -= step / m[gb][:, None]
                if converged:
                    return
            raise RuntimeError("rigid water constraints did not converge")

        def adjust_momenta(self, atoms, p):
            a, b, m, groups = self._setup(atoms)
            d = self._mic(atoms, atoms.positions[a] - atoms.positions[b])
            red = 1 / (1 / m[a] + 1 / m[b])
            for _ in range(self.maxiter):
                converged = True
                for g in groups:
                    ga, gb = a[g], b[g]
                    dv = p[ga] / m[ga][:, None] - p[gb] / m[gb][:, None]
                    x = -(dv * d[g]).sum(1) / self.bondlengths[g] ** 2
                    if np.any(np.abs(x) > self.tolerance):
                        converged = False
                        step = (x * red[g])[:, None] * d[g]
                        p[ga] += step
                        p[gb] -= step
                if converged:
                    return
            raise RuntimeError("rigid water constraints did not converge")

    return RigidTriples


def RigidTriples(pairs, tolerance: float = 1e-10):  # noqa: N802 -- a class made on first use
    """Rigid O-H-H triples: see :func:`_rigid_triples_class` (ASE imported only when used).

    Parameters
    ----------
    pairs : list of (int, int)
        Bonds in groups of three per molecule: (O, H1), (O, H2), (H1, H2).
    tolerance : float
        Largest relative constraint violation left.

    Returns
    -------
    ase.constraints.FixBondLengths
        The constraint.
    """
    return _rigid_triples_class()(pairs, tolerance=tolerance)


def _random_in_ball(rng: np.random.Generator, radius: float) -> np.ndarray:
    while True:
        p = rng.uniform(-radius, radius, 3)
        if p @ p <= radius * radius:
            return p


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    """(3, 3) uniformly random rotation (from a random unit quaternion)."""
    w, x, y, z = (q := rng.normal(size=4)) / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def xtb_calculator(threads: int | None = 1):
    """GFN2-xTB through tblite's ASE calculator, quiet.

    threads: OpenMP threads of tblite for calls from this thread. One thread keeps trajectories
    bit-for-bit reproducible (parallel sums change the rounding) and is as fast for these sizes.
    """
    from tblite.ase import TBLite

    if threads:
        _set_openmp_threads(threads)
    return TBLite(method="GFN2-xTB", verbosity=0)


def _set_openmp_threads(n: int) -> None:
    """omp_set_num_threads for the system libgomp that tblite links (no-op if there is none)."""
    import ctypes

    try:
        ctypes.CDLL("libgomp.so.1").omp_set_num_threads(int(n))
    except (OSError, AttributeError):
        pass


def relax(atoms: ase.Atoms, fmax: float = 0.1, steps: int = 200) -> ase.Atoms:
    """A copy of ``atoms`` relaxed briefly with GFN2-xTB (BFGS; fmax in eV/Å)."""
    from ase.optimize import BFGS

    atoms = atoms.copy()
    atoms.calc = xtb_calculator()
    BFGS(atoms, logfile=None).run(fmax=fmax, steps=steps)
    atoms.calc = None
    return atoms


@dataclass(frozen=True)
class MDSettings:
    """Settings of a Langevin MD run (ASE units at this boundary: K, fs, 1/fs).

    Temperature (K), timestep (fs), friction (1/fs), equilibration steps, then one snapshot every
    ``interval`` steps until ``n_snapshots`` are taken.
    """

    temperature_K: float = 300.0
    seed: int = 0
    timestep_fs: float = 0.5
    friction_per_fs: float = 0.01
    equilibration_steps: int = 2000
    interval: int = 100
    n_snapshots: int = 10


def run_md(atoms: ase.Atoms, settings: MDSettings, progress=None,
           system: str | None = None) -> list[ase.Atoms]:
    """Run Langevin MD from ``atoms``; return the snapshots (positions in Å, cell and pbc kept).

    ``system`` picks the calculator (:func:`calculator`; default GFN2-xTB); a periodic water box
    is kept rigid (:func:`rigid_water_constraints`), a periodic cell is not de-rotated.
    Each snapshot's ``info`` holds ``step``, ``time_fs`` (since the end of equilibration),
    ``temperature_K`` (the thermostat's), ``kinetic_temperature_K`` (instantaneous) and ``seed``.
    ``progress``, if given, is called with the number of MD steps done after each snapshot.
    """
    from ase.constraints import FixCom
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import Stationary, ZeroRotation, thermalize_momenta

    s = settings
    if s.n_snapshots < 1 or s.interval < 1 or s.equilibration_steps < 0:
        raise ConfigError(f"MD needs n_snapshots >= 1, interval >= 1, equilibration >= 0: {s}")
    atoms = atoms.copy()
    periodic = bool(atoms.pbc.any())
    rigid = system in CELLS and CELLS[system][0] == "water"
    atoms.set_constraint([FixCom(), *(rigid_water_constraints(atoms) if rigid else [])])
    atoms.calc = calculator(system) if system is not None else xtb_calculator()
    rng = np.random.default_rng(s.seed)
    thermalize_momenta(atoms, s.temperature_K, rng=rng)  # Maxwell–Boltzmann
    Stationary(atoms)
    if not periodic:
        ZeroRotation(atoms)
    dyn = Langevin(atoms, s.timestep_fs * units.fs, temperature_K=s.temperature_K,
                   friction=s.friction_per_fs / units.fs, fixcm=False, rng=rng)
    dyn.run(s.equilibration_steps)
    snapshots = []
    for k in range(1, s.n_snapshots + 1):
        dyn.run(s.interval)
        snap = ase.Atoms(atoms.numbers, positions=atoms.positions.copy(), cell=atoms.cell.copy(),
                         pbc=atoms.pbc.copy())
        if periodic:
            snap.wrap()
        snap.info.update(step=s.equilibration_steps + k * s.interval,
                         time_fs=k * s.interval * s.timestep_fs, temperature_K=s.temperature_K,
                         kinetic_temperature_K=float(atoms.get_temperature()), seed=s.seed)
        snapshots.append(snap)
        if progress is not None:
            progress(s.equilibration_steps + k * s.interval)
    return snapshots
