"""Periodic reference densities from CP2K (Quickstep GPW), the standard method for cells.

The standard method (issue 11), recorded in every snapshot's provenance (:func:`method`): PBE,
GTH-PBE pseudopotentials (H q1, C q4, N q5, O q6, F q7, Al q3, Si q4), DZVP-MOLOPT-SR-GTH,
plane-wave CUTOFF 400 Ry, REL_CUTOFF 50 Ry, Gamma point, EPS_SCF 1e-7; diagonalisation with
Broyden mixing, fixed occupations for insulators and Fermi-Dirac smearing at 1000 K for metals.
The orbital transformation (OT, DIIS with a FULL_ALL preconditioner) stays selectable
(``occupation="ot"``) and converges to the same density (rel L1 2e-7 on a 32-water box), but
took 114 steps (29 min on one core) where diagonalisation takes 18 (3.5 min): OT pays off only
for cells far larger than ddviz's. Optional Monkhorst-Pack k-point sampling
(``CP2KSettings.kpoints``; Monkhorst & Pack, Phys. Rev. B 13, 5188 (1976)) for metals in small
cells (CP2K's OT works at the Gamma point only). CP2K writes the valence density as a cube of the
cell (``E_DENSITY_CUBE``; ``STRIDE`` s keeps every s-th point of its finest grid), read back as a
fully periodic :class:`~ddviz.grid.Sample` (bohr, e/bohr^3).

The input is written by ddviz from checked values only: element symbols from :data:`VALENCE`
(an allow-list), numbers formatted as numbers; no user text reaches the file. CP2K runs in a
temporary folder with one OpenMP thread (``cp2k.psmp``, or ``cp2k``); its output is searched for
the SCF's convergence, cycles and energy. The binary comes from Debian's ``cp2k`` package and the
basis sets and pseudopotentials from ``cp2k-data`` (``/usr/share/cp2k``; ``CP2K_DATA_DIR``
overrides).
"""

from __future__ import annotations

import dataclasses
import numbers
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import ase
import numpy as np

from ddviz.errors import ConfigError, ConvergenceError, DdvizError, UnsupportedError
from ddviz.units import ang_to_bohr

# GTH-PBE valence charges of the elements ddviz writes CP2K inputs for (the allow-list).
VALENCE = {"H": 1, "C": 4, "N": 5, "O": 6, "F": 7, "Al": 3, "Si": 4}
# elements treated as metals: Fermi-Dirac smearing instead of fixed occupations
METALS = frozenset({"Al"})
GAMMA = (1, 1, 1)
# per axis: far beyond what the cells ddviz builds need (al32 is sampled at 2 2 2); a larger
# number is most likely a typo, and CP2K's cost grows with the product of the three
MAX_KPOINTS = 16
OCCUPATIONS = ("auto", "fixed", "smearing", "ot")
BINARIES = ("cp2k.psmp", "cp2k.ssmp", "cp2k", "cp2k.popt", "cp2k.sopt")
DATA_DIRS = ("/usr/share/cp2k/data", "/usr/share/cp2k")
PROJECT = "ddviz"
CUBE = f"{PROJECT}-ELECTRON_DENSITY-1_0.cube"
INSTALL_HINT = "install Debian's cp2k and cp2k-data packages (apt-get install cp2k cp2k-data)"
_ENERGY = re.compile(r"ENERGY\| Total FORCE_EVAL \( QS \) energy[^:]*:\s*(\S+)")
_CONVERGED = re.compile(r"SCF run converged in\s+(\d+)\s+steps")
_NOT_CONVERGED = re.compile(r"SCF run NOT converged")
_VERSION = re.compile(r"CP2K\|\s+version string:\s*(.+)")
_POINTS = re.compile(r"PW_GRID\|\s+Bounds\s+\d\s+\S+\s+\S+\s+Points:\s*(\d+)")


@dataclass(frozen=True)
class CP2KSettings:
    """The CP2K method: cutoffs in Ry, temperature in K, timeout in s.

    occupation: "auto" (smearing when any element is in :data:`METALS`, else fixed), "fixed"
    (integer occupations, diagonalisation), "smearing" (Fermi-Dirac, diagonalisation) or "ot"
    (fixed occupations by orbital transformation). stride: every stride-th point of CP2K's finest
    grid in the cube. mixing_alpha: Broyden's mixing parameter (diagonalisation). retry: an SCF
    that fails or does not converge is run once more with half the mixing and twice the steps.
    kpoints: the Monkhorst-Pack grid (n1, n2, n3) along the three lattice vectors; (1, 1, 1), the
    default, is the Gamma point (the standard method, and its input has no ``&KPOINTS``). Lists
    (from JSON) are accepted and stored as a tuple. With k-points, "ot" is refused (CP2K's OT
    works at the Gamma point only).

    Raises
    ------
    ConfigError
        A value of the wrong type or range, naming the field.
    """

    cutoff_ry: float = 400.0
    rel_cutoff_ry: float = 50.0
    xc: str = "PBE"
    basis: str = "DZVP-MOLOPT-SR-GTH"
    pseudo: str = "GTH-PBE"
    eps_scf: float = 1e-7
    max_scf: int = 300
    occupation: str = "auto"
    electronic_temperature_K: float = 1000.0
    stride: int = 1
    timeout_s: float = 7200.0
    mixing_alpha: float = 0.2
    retry: bool = True
    kpoints: tuple[int, int, int] = GAMMA

    def __post_init__(self):
        kpoints = self.kpoints
        if (isinstance(kpoints, (str, bytes)) or not hasattr(kpoints, "__len__")
                or len(kpoints) != 3
                or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool)
                           and 1 <= n <= MAX_KPOINTS for n in kpoints)):
            raise ConfigError(f"kpoints must be three integers from 1 to {MAX_KPOINTS} (the "
                              f"Monkhorst-Pack grid; 1 1 1 = the Gamma point), got {kpoints!r}",
                              field="kpoints")
        object.__setattr__(self, "kpoints", tuple(int(n) for n in kpoints))
        if self.occupation not in OCCUPATIONS:
            raise ConfigError(f"occupation must be one of {', '.join(OCCUPATIONS)}, got "
                              f"{self.occupation!r}", field="occupation")
        for name in ("cutoff_ry", "rel_cutoff_ry", "eps_scf", "electronic_temperature_K",
                     "timeout_s", "mixing_alpha"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number, got {value!r}", field=name)
        for name in ("max_scf", "stride"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(f"{name} must be a positive integer", field=name)
        if (self.xc, self.basis, self.pseudo) != ("PBE", "DZVP-MOLOPT-SR-GTH", "GTH-PBE"):
            raise ConfigError("only PBE with DZVP-MOLOPT-SR-GTH and GTH-PBE is supported",
                              field="xc")
        if self.occupation == "ot" and not self.gamma:
            raise ConfigError(f"k-points {self.kpoints} need diagonalisation: CP2K's OT works at "
                              "the Gamma point only (use occupation 'auto' or 'smearing')",
                              field="kpoints")

    @property
    def gamma(self) -> bool:
        """Whether the Brillouin zone is sampled at the Gamma point only."""
        return self.kpoints == GAMMA

    def describe(self) -> dict:
        """The settings as a JSON-serialisable dict."""
        return dataclasses.asdict(self)


def kpoints_label(kpoints) -> str:
    """The Brillouin-zone sampling in words: "Gamma" or "Monkhorst-Pack 2x2x2"."""
    kpoints = tuple(kpoints)
    return "Gamma" if kpoints == GAMMA else "Monkhorst-Pack " + "x".join(map(str, kpoints))


def method(settings: CP2KSettings) -> dict:
    """The provenance entries that define the reference method (same entries, same density)."""
    return {"method": "CP2K Quickstep GPW", "functional": settings.xc, "basis": settings.basis,
            "pseudopotential": settings.pseudo, "cutoff_ry": settings.cutoff_ry,
            "rel_cutoff_ry": settings.rel_cutoff_ry, "kpoints": kpoints_label(settings.kpoints),
            "eps_scf": settings.eps_scf, "cube_stride": settings.stride,
            "electronic_temperature_K": settings.electronic_temperature_K}


def find_binary() -> str | None:
    """The path of a CP2K executable on PATH (``cp2k.psmp`` first), or None."""
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def data_dir() -> Path | None:
    """The folder holding ``BASIS_MOLOPT`` and ``GTH_POTENTIALS`` (env ``CP2K_DATA_DIR`` first)."""
    for d in (os.environ.get("CP2K_DATA_DIR"), *DATA_DIRS):
        if d and (Path(d) / "BASIS_MOLOPT").is_file() and (Path(d) / "GTH_POTENTIALS").is_file():
            return Path(d)
    return None


def available() -> str | None:
    """None when CP2K and its data are installed, else the reason (a sentence)."""
    if find_binary() is None:
        return f"CP2K not found on PATH ({', '.join(BINARIES)}): {INSTALL_HINT}"
    if data_dir() is None:
        return f"CP2K's basis sets and pseudopotentials not found in {', '.join(DATA_DIRS)}: " \
               f"{INSTALL_HINT}"
    return None


def valence_electrons(symbols) -> int:
    """The GTH-PBE valence electrons of a neutral structure.

    Parameters
    ----------
    symbols : iterable of str
        Chemical symbols.

    Returns
    -------
    int

    Raises
    ------
    UnsupportedError
        An element outside :data:`VALENCE`.
    """
    symbols = list(symbols)
    unknown = sorted(set(symbols) - set(VALENCE))
    if unknown:
        raise UnsupportedError(f"no CP2K setup for element(s) {', '.join(unknown)}; ddviz "
                               f"writes inputs for {', '.join(VALENCE)}")
    return sum(VALENCE[s] for s in symbols)


def uses_smearing(symbols, settings: CP2KSettings) -> bool:
    """Whether the SCF uses Fermi-Dirac smearing (metals) rather than fixed occupations."""
    if settings.occupation != "auto":
        return settings.occupation == "smearing"
    return bool(METALS & set(symbols))


def _checked_cell(atoms: ase.Atoms) -> np.ndarray:
    cell = np.asarray(atoms.cell.array, dtype=float)
    if not all(atoms.pbc) or atoms.cell.rank < 3 or abs(np.linalg.det(cell)) < 1e-6:
        raise UnsupportedError("CP2K references need a fully periodic structure with a 3D cell "
                               f"(pbc {atoms.pbc.tolist()}, cell volume "
                               f"{abs(np.linalg.det(cell)):.3g} Å^3)")
    if not (np.all(np.isfinite(cell)) and np.all(np.isfinite(atoms.positions))):
        raise UnsupportedError("cell and positions must be finite")
    return cell


def write_input(atoms: ase.Atoms, settings: CP2KSettings = CP2KSettings(),
                data: Path | str | None = None) -> str:
    """The CP2K input of one single-point calculation (Å, as CP2K's default units).

    Parameters
    ----------
    atoms : ase.Atoms
        A fully periodic structure (Å); elements from :data:`VALENCE`.
    settings : CP2KSettings
        The method.
    data : path-like, optional
        The folder of ``BASIS_MOLOPT`` and ``GTH_POTENTIALS`` (default :func:`data_dir`).

    Returns
    -------
    str
        The input file's text.

    Raises
    ------
    UnsupportedError
        Not periodic in 3D, or an element outside the allow-list.
    """
    cell = _checked_cell(atoms)
    symbols = atoms.get_chemical_symbols()
    electrons = valence_electrons(symbols)
    folder = Path(data) if data is not None else (data_dir() or Path(DATA_DIRS[-1]))
    if any(c in str(folder) for c in "\n\r\"'!#"):
        raise UnsupportedError(f"CP2K data folder {str(folder)!r} has characters CP2K cannot read")
    smear = uses_smearing(symbols, settings)
    diagonalise = ["&DIAGONALIZATION", "  ALGORITHM STANDARD", "&END DIAGONALIZATION"]
    mixing = ["&MIXING", "  METHOD BROYDEN_MIXING", f"  ALPHA {settings.mixing_alpha:.6g}",
              "  NBROYDEN 8", "&END MIXING"]
    if smear:
        added = max(10, int(np.ceil(0.1 * electrons)))
        scf = [f"ADDED_MOS {added}", "SCF_GUESS ATOMIC", *diagonalise,
               "&SMEAR ON", "  METHOD FERMI_DIRAC",
               f"  ELECTRONIC_TEMPERATURE [K] {settings.electronic_temperature_K:.6g}",
               "&END SMEAR", *mixing]
    elif settings.occupation == "ot":
        scf = ["SCF_GUESS ATOMIC", "&OT", "  MINIMIZER DIIS", "  PRECONDITIONER FULL_ALL",
               "&END OT", "&OUTER_SCF", f"  EPS_SCF {settings.eps_scf:.3e}", "  MAX_SCF 20",
               "&END OUTER_SCF"]
    else:  # fixed occupations, diagonalised
        scf = ["SCF_GUESS ATOMIC", *diagonalise, *mixing]
    # Monkhorst-Pack grid reduced by time reversal only (k and -k): no point-group symmetry,
    # which MD snapshots do not have
    kpoints = [] if settings.gamma else [
        "    &KPOINTS", "      SCHEME MONKHORST-PACK " + " ".join(map(str, settings.kpoints)),
        "      SYMMETRY OFF", "      FULL_GRID OFF", "    &END KPOINTS"]
    kinds = []
    for s in sorted(set(symbols)):
        kinds += [f"  &KIND {s}", f"    BASIS_SET {settings.basis}",
                  f"    POTENTIAL {settings.pseudo}-q{VALENCE[s]}", "  &END KIND"]
    lines = [
        "&GLOBAL", f"  PROJECT {PROJECT}", "  RUN_TYPE ENERGY", "  PRINT_LEVEL MEDIUM",
        "&END GLOBAL",
        "&FORCE_EVAL", "  METHOD QUICKSTEP", "  &DFT",
        f"    BASIS_SET_FILE_NAME {folder / 'BASIS_MOLOPT'}",
        f"    POTENTIAL_FILE_NAME {folder / 'GTH_POTENTIALS'}",
        "    &MGRID", f"      CUTOFF {settings.cutoff_ry:.6g}",
        f"      REL_CUTOFF {settings.rel_cutoff_ry:.6g}", "    &END MGRID",
        "    &QS", "      EPS_DEFAULT 1.0E-12", "    &END QS",
        "    &SCF", f"      EPS_SCF {settings.eps_scf:.3e}", f"      MAX_SCF {settings.max_scf}",
        *("      " + line for line in scf), "    &END SCF",
        "    &XC", f"      &XC_FUNCTIONAL {settings.xc}", "      &END XC_FUNCTIONAL", "    &END XC",
        *kpoints,
        "    &PRINT", "      &E_DENSITY_CUBE", f"        STRIDE {settings.stride}",
        "      &END E_DENSITY_CUBE", "    &END PRINT",
        "  &END DFT",
        "  &SUBSYS", "    &CELL",
        *(f"      {name} {row[0]:.10f} {row[1]:.10f} {row[2]:.10f}"
          for name, row in zip("ABC", cell)),
        "      PERIODIC XYZ", "    &END CELL", "    &COORD",
        *(f"      {s} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f}"
          for s, p in zip(symbols, atoms.positions)),
        "    &END COORD", *("  " + k for k in kinds), "  &END SUBSYS",
        "&END FORCE_EVAL", ""]
    return "\n".join(lines)


def parse_output(text: str) -> dict:
    """Convergence, SCF cycles, energy (Ha) and CP2K version from a CP2K output.

    Parameters
    ----------
    text : str
        CP2K's standard output.

    Returns
    -------
    dict
        ``converged`` (bool: a converged SCF and no unconverged one), ``scf_cycles`` (int or
        None), ``energy_Ha`` (float or None), ``cp2k_version`` (str or None), ``fine_grid``
        (the points of CP2K's finest grid per axis, or None).
    """
    cycles = [int(m) for m in _CONVERGED.findall(text)]
    energy = _ENERGY.findall(text)
    version = _VERSION.search(text)
    points = [int(n) for n in _POINTS.findall(text)[:3]]
    return {"fine_grid": points if len(points) == 3 else None,
            "converged": bool(cycles) and not _NOT_CONVERGED.search(text),
            "scf_cycles": sum(cycles) if cycles else None,
            "energy_Ha": float(energy[-1]) if energy else None,
            "cp2k_version": version.group(1).strip() if version else None}


def compute(atoms: ase.Atoms, settings: CP2KSettings = CP2KSettings(),
            provenance: dict | None = None, keep: Path | str | None = None):
    """Run CP2K on ``atoms`` (retried once if ``settings.retry``); the density as a Sample.

    Parameters
    ----------
    atoms : ase.Atoms
        A fully periodic structure (Å).
    settings : CP2KSettings
        The method.
    provenance : dict, optional
        Entries added to the Sample's provenance (split, step, seed...).
    keep : path-like, optional
        Copy CP2K's input and output here (for inspection); by default they are discarded.

    Returns
    -------
    ddviz.grid.Sample
        See :func:`compute_once`; provenance adds ``scf_attempts``.

    Raises
    ------
    UnsupportedError
        CP2K or its data is missing; the structure is not periodic or has other elements.
    ConvergenceError
        Every attempt failed (the message names each attempt's reason).
    """
    attempts = [settings]
    if settings.retry:
        attempts.append(dataclasses.replace(settings, max_scf=2 * settings.max_scf,
                                            mixing_alpha=settings.mixing_alpha / 2))
    reasons = []
    for k, attempt in enumerate(attempts, 1):
        try:
            sample = compute_once(atoms, attempt, provenance, keep)
        except ConvergenceError as exc:
            reasons.append(f"attempt {k}: {exc}")
            continue
        sample.provenance.update(method(settings), scf_attempts=k)
        return sample
    raise ConvergenceError("; ".join(reasons))


def compute_once(atoms: ase.Atoms, settings: CP2KSettings = CP2KSettings(),
                 provenance: dict | None = None, keep: Path | str | None = None):
    """Run CP2K on ``atoms`` and read its density back as a periodic Sample.

    Parameters
    ----------
    atoms : ase.Atoms
        A fully periodic structure (Å).
    settings : CP2KSettings
        The method.
    provenance : dict, optional
        Entries added to the Sample's provenance (split, step, seed...).
    keep : path-like, optional
        Copy CP2K's input and output here (for inspection); by default they are discarded.

    Returns
    -------
    ddviz.grid.Sample
        The valence density (e/bohr^3) on CP2K's grid of the cell, ``pbc`` True on every axis;
        provenance: :func:`method`, ``scf_wall_s``, ``scf_cycles``, ``energy_Ha``, ``converged``,
        ``valence_electrons``, ``smearing``, ``scf_solver`` ("OT" or "diagonalisation"),
        ``cp2k_version``.

    Raises
    ------
    UnsupportedError
        CP2K or its data is missing; the structure is not periodic or has other elements.
    ConvergenceError
        CP2K failed, timed out, or its SCF did not converge.
    """
    from ddviz.grid import Grid, Sample
    from ddviz.io import cube

    reason = available()
    if reason is not None:
        raise UnsupportedError(reason)
    text = write_input(atoms, settings)
    formula = atoms.get_chemical_formula()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="ddviz-cp2k-") as tmp:
        Path(tmp, "input.inp").write_text(text)
        t0 = time.perf_counter()
        try:
            done = subprocess.run([find_binary(), "-i", "input.inp", "-o", "output.out"],
                                  cwd=tmp, env=env, capture_output=True, text=True,
                                  timeout=settings.timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise ConvergenceError(f"CP2K on {formula} ran past {settings.timeout_s:g} s") from None
        wall = time.perf_counter() - t0
        out_path = Path(tmp, "output.out")
        output = out_path.read_text(errors="replace") if out_path.is_file() else done.stdout
        if keep is not None:
            Path(keep).mkdir(parents=True, exist_ok=True)
            Path(keep, "input.inp").write_text(text)
            Path(keep, "output.out").write_text(output)
        facts = parse_output(output)
        if done.returncode != 0 or not Path(tmp, CUBE).is_file():
            tail = " | ".join((done.stderr or output).strip().splitlines()[-3:])[-300:]
            raise ConvergenceError(f"CP2K on {formula} failed (exit {done.returncode}): {tail}")
        if not facts["converged"]:
            raise ConvergenceError(f"CP2K's SCF of {formula} did not converge within "
                                   f"{settings.max_scf} steps to EPS_SCF {settings.eps_scf:g}")
        raw = cube.read(Path(tmp, CUBE), None)
    if not np.allclose(raw.grid.cell, ang_to_bohr(atoms.cell.array), atol=1e-4):
        raise DdvizError(f"CP2K's cube of {formula} ({raw.grid.shape} points of a "
                         f"{facts['fine_grid']} grid, STRIDE {settings.stride}) does not span the "
                         "cell: choose a stride that divides the grid's points (or 1)")
    grid = Grid(raw.grid.origin, raw.grid.vectors, raw.grid.shape, (True, True, True))
    prov = {**(provenance or {}), **method(settings), **facts, "scf_wall_s": wall,
            "valence_electrons": valence_electrons(atoms.get_chemical_symbols()),
            "smearing": uses_smearing(atoms.get_chemical_symbols(), settings),
            "scf_solver": "OT" if settings.occupation == "ot" else "diagonalisation",
            "source_format": "cp2k-cube"}
    out = atoms.copy()
    out.pbc = True
    # float32 keeps every digit of the cube (5 significant) at half the size
    return Sample(out, grid, np.asarray(raw.density.values, dtype=np.float32), prov)
