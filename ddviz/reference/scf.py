"""Kohn–Sham reference densities with PySCF: RKS (UKS for open shells), PBE, GTH pseudopotentials.

Valence densities: the total (spin-summed) density, also of open-shell structures (``spin``).

:func:`compute` runs one SCF on an ASE structure and returns an :class:`SCFResult` whose
``orbitals`` (:class:`~ddviz.orbitals.OrbitalDensity`) are the exact, compact form of the density.
A non-converged SCF is retried with damping + level shift, then with second-order (Newton) SCF;
if that fails too, :class:`~ddviz.errors.ConvergenceError` is raised.

The defaults reproduce a plain PySCF run (``dft.RKS``, default grids and ``conv_tol``, no density
fitting) to a relative L1 of ~3e-5 on the standard grid at 2-4x the speed (see docs/datasets.md).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import ase
import numpy as np

from ddviz.errors import ConfigError, ConvergenceError
from ddviz.orbitals import OrbitalDensity
from ddviz.pyscf_names import AUXBASIS_NAMES, BASIS_NAMES, PSEUDO_NAMES, allowed_name
from ddviz.units import ang_to_bohr


@dataclass(frozen=True)
class SCFSettings:
    """How the reference SCF is run.

    grids_level: PySCF DFT grid level (PySCF's default is 3; 1 changes the density by ~3e-5 relative
    L1). conv_tol: energy convergence (Ha). density_fit: density fitting for the Coulomb term,
    with ``auxbasis``. max_memory_mb: PySCF's memory budget (MB). fallbacks: retry a
    non-converged SCF (damping + level shift, then Newton). threads: OpenMP threads for this job
    (1: run several jobs in parallel instead). charge: total charge (e); spin: number of unpaired
    electrons (PySCF's ``2S``, N_alpha - N_beta; 0: closed shell, RKS; otherwise UKS, and the
    total density is stored).
    """

    xc: str = "pbe"
    basis: str = "gth-dzvp"
    pseudo: str = "gth-pbe"
    grids_level: int = 1
    conv_tol: float = 1e-9
    density_fit: bool = False
    auxbasis: str | None = None  # None: PySCF's choice (even-tempered for gth-dzvp)
    max_cycle: int = 50
    max_memory_mb: int = 4000
    charge: int = 0
    spin: int = 0
    fallbacks: bool = True
    damp: float = 0.5
    level_shift: float = 0.3  # Ha
    threads: int | None = 1

    def __post_init__(self):
        if self.spin < 0:
            raise ConfigError(f"spin (unpaired electrons) must be >= 0, got {self.spin}",
                              field="spin")
        # basis names may come from a dataset.json: only allow-listed spellings reach PySCF
        for name, names in (("basis", BASIS_NAMES), ("pseudo", PSEUDO_NAMES),
                            ("auxbasis", AUXBASIS_NAMES)):
            value = getattr(self, name)
            if name == "pseudo" and value is None:
                value = ""
            if name == "auxbasis" and value is None:
                continue
            allowed = allowed_name(value, names)
            if allowed is None:
                raise ConfigError(f"unknown {name} {str(value)[:40]!r}; known: "
                                  f"{', '.join(n for n in names if n)}", field=name)
            object.__setattr__(self, name, allowed)

    def describe(self) -> dict:
        """The settings as a JSON-serialisable dict (provenance)."""
        return asdict(self)


@dataclass(eq=False)
class SCFResult:
    """One converged SCF. energy in Ha; wall_s in seconds; cycles summed over all attempts."""

    energy: float
    converged: bool
    orbitals: OrbitalDensity
    cycles: int
    wall_s: float
    strategy: str
    provenance: dict = field(default_factory=dict)


def versions() -> dict:
    """Versions of the codes that made a reference density."""
    import importlib.metadata

    import pyscf

    import ddviz

    def version(dist):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {"ddviz": ddviz.__version__, "pyscf": pyscf.__version__, "tblite": version("tblite"),
            "ase": ase.__version__, "numpy": np.__version__}


def method(settings: SCFSettings) -> dict:
    """The provenance entries that define the reference method (same settings, same density)."""
    return {"method": "UKS" if settings.spin else "RKS", "charge": settings.charge,
            "spin": settings.spin, "functional": settings.xc, "basis": settings.basis,
            "pseudopotential": settings.pseudo, "grids_level": settings.grids_level,
            "density_fit": settings.density_fit,
            "auxbasis": (settings.auxbasis or "pyscf-default") if settings.density_fit else None,
            "conv_tol": settings.conv_tol}


def valence_charges(symbols, pseudo: str = "gth-pbe") -> np.ndarray | None:
    """The charge of each pseudopotential core: the electrons each atom has outside it.

    PySCF's GTH tables (``gth-pbe``: H 1, C 4, N 5, O 6, F 7, ...); the point charges a valence
    density is completed with for its electrostatics (:mod:`ddviz.evaluate.properties`).

    Parameters
    ----------
    symbols : iterable of str
        Chemical symbols.
    pseudo : str
        The pseudopotential family.

    Returns
    -------
    ndarray of shape (natoms,) or None
        Charges in e; None when the family has no entry for one of the elements.
    """
    from pyscf.pbc.gto.pseudo import load

    charges = []
    for symbol in symbols:
        try:
            charges.append(float(sum(load(pseudo, symbol)[0])))
        except (KeyError, RuntimeError, ValueError, IndexError):
            return None
    return np.asarray(charges, dtype=float)


def valence_electrons(symbols, pseudo: str = "gth-pbe") -> float | None:
    """The electrons a neutral structure has outside the pseudopotential cores.

    The sum of :func:`valence_charges`, the count a Deep Density model trained on GTH valence
    densities should integrate to.

    Parameters
    ----------
    symbols : iterable of str
        Chemical symbols.
    pseudo : str
        The pseudopotential family.

    Returns
    -------
    float or None
        None when the family has no entry for one of the elements.
    """
    charges = valence_charges(symbols, pseudo)
    return None if charges is None else float(charges.sum())


def build_mol(atoms: ase.Atoms, settings: SCFSettings):
    """The PySCF molecule (bohr) for ``atoms`` (Å), laid out as OrbitalDensity rebuilds it."""
    from pyscf import gto

    positions = ang_to_bohr(atoms.positions)
    atom = [(s, tuple(p)) for s, p in zip(atoms.get_chemical_symbols(), positions)]
    try:
        return gto.M(atom=atom, basis=settings.basis, pseudo=settings.pseudo or None, unit="Bohr",
                     charge=settings.charge, spin=settings.spin, verbose=0)
    except (RuntimeError, KeyError, ValueError) as exc:  # odd electron count, unknown basis...
        hint = ""
        if "spin" in str(exc).lower() or "electron" in str(exc).lower():
            hint = (f" (charge {settings.charge}, spin {settings.spin}: an odd number of "
                    "electrons needs spin 1, 3, ...; an even number spin 0, 2, ...)")
        raise ConfigError(f"cannot set up {atoms.get_chemical_formula()} with basis "
                          f"{settings.basis!r}, pseudopotential {settings.pseudo!r}: {exc}{hint}"
                          ) from exc


def _make_rks(mol, s: SCFSettings):
    from pyscf import dft

    mf = dft.UKS(mol) if s.spin else dft.RKS(mol)
    mf.max_memory = s.max_memory_mb
    mf.xc = s.xc
    mf.grids.level = s.grids_level
    mf.conv_tol = s.conv_tol
    mf.max_cycle = s.max_cycle
    return mf.density_fit(auxbasis=s.auxbasis) if s.density_fit else mf


def _attempts(mol, s: SCFSettings):
    """(name, configured mean-field object) in the order they are tried."""
    yield "diis", _make_rks(mol, s)
    if s.fallbacks:
        mf = _make_rks(mol, s)
        mf.damp, mf.level_shift, mf.diis_start_cycle = s.damp, s.level_shift, 4
        mf.max_cycle = max(s.max_cycle, 100)
        yield "damping+level_shift", mf
        yield "newton", _make_rks(mol, s).newton()


def _occupied(mo_coeff, mo_occ) -> tuple[np.ndarray, np.ndarray]:
    """The occupied orbitals (nao, nocc) and occupations; a UKS's alpha and beta side by side."""
    mo_coeff, mo_occ = np.asarray(mo_coeff), np.asarray(mo_occ)
    if mo_occ.ndim == 2:  # UKS: (2, nmo) occupations, (2, nao, nmo) coefficients
        return (np.concatenate([mo_coeff[s][:, mo_occ[s] > 0] for s in (0, 1)], axis=1),
                np.concatenate([mo_occ[s][mo_occ[s] > 0] for s in (0, 1)]))
    occupied = mo_occ > 0
    return mo_coeff[:, occupied], mo_occ[occupied]


def compute(atoms: ase.Atoms, settings: SCFSettings = SCFSettings(),
            provenance: dict | None = None) -> SCFResult:
    """Run the SCF for ``atoms`` (Å); raise ConvergenceError if it fails.

    Closed shell (RKS) for ``settings.spin == 0``, else UKS; the orbitals hold the occupied
    alpha and beta orbitals of a UKS together, so they give the total density.

    ``provenance`` (temperature, seed, MD step...) is added to the result's provenance.
    """
    from pyscf import lib

    if settings.threads:
        lib.num_threads(settings.threads)
    mol = build_mol(atoms, settings)
    start = time.perf_counter()
    cycles, dm, tried = 0, None, []
    for strategy, mf in _attempts(mol, settings):
        energy = mf.kernel(dm0=dm)
        cycles += int(getattr(mf, "cycles", 0) or 0)
        tried.append(strategy)
        dm = mf.make_rdm1()
        if mf.converged and np.isfinite(energy):
            break
    else:
        raise ConvergenceError(f"SCF of {atoms.get_chemical_formula()} did not converge "
                               f"(tried {', '.join(tried)}; {cycles} cycles)")
    wall = time.perf_counter() - start
    coeff, occ = _occupied(mf.mo_coeff, mf.mo_occ)
    orbitals = OrbitalDensity(atoms.numbers, ang_to_bohr(atoms.positions), settings.basis,
                              settings.pseudo, coeff, occ)
    record = {**(provenance or {}), **method(settings), "energy_Ha": float(energy),
              "converged": True, "scf_cycles": cycles, "scf_strategy": strategy,
              "scf_wall_s": round(wall, 3), "valence_electrons": float(mol.nelectron),
              "versions": versions()}  # the caller's entries cannot override the SCF's own
    return SCFResult(float(energy), True, orbitals, cycles, wall, strategy, record)
