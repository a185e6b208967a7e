"""Starting geometries and GFN2-xTB Langevin molecular dynamics (tblite's ASE calculator).

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


def build(system: str, seed: int = 0) -> ase.Atoms:
    """A starting geometry (Å): ``ethane``, ``n-butane``, ``isobutane`` or ``waterN``."""
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


def run_md(atoms: ase.Atoms, settings: MDSettings, progress=None) -> list[ase.Atoms]:
    """Run GFN2-xTB Langevin MD from ``atoms``; return the snapshots (positions in Å).

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
    atoms.set_constraint(FixCom())
    atoms.calc = xtb_calculator()
    rng = np.random.default_rng(s.seed)
    thermalize_momenta(atoms, s.temperature_K, rng=rng)  # Maxwell–Boltzmann
    Stationary(atoms)
    ZeroRotation(atoms)
    dyn = Langevin(atoms, s.timestep_fs * units.fs, temperature_K=s.temperature_K,
                   friction=s.friction_per_fs / units.fs, fixcm=False, rng=rng)
    dyn.run(s.equilibration_steps)
    snapshots = []
    for k in range(1, s.n_snapshots + 1):
        dyn.run(s.interval)
        snap = ase.Atoms(atoms.numbers, positions=atoms.positions.copy())
        snap.info.update(step=s.equilibration_steps + k * s.interval,
                         time_fs=k * s.interval * s.timestep_fs, temperature_K=s.temperature_K,
                         kinetic_temperature_K=float(atoms.get_temperature()), seed=s.seed)
        snapshots.append(snap)
        if progress is not None:
            progress(s.equilibration_steps + k * s.interval)
    return snapshots
