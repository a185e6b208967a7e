"""Kohn–Sham Hamiltonians in an atomic-orbital basis: PySCF reference, sample files, datasets.

One sample is one all-electron PySCF RKS calculation (PBE, def2-SVP by default) of a molecule:
the converged Kohn–Sham matrix F and overlap S (Ha; AO basis in PySCF's spherical order, see
:mod:`ddviz.methods.hamiltonian.basis`), the orbital energies (Ha), the density matrix, the
atoms (bohr) and the per-atom shell layout. It is stored as one netCDF file
(``<name>_<index:04d>.nc``, float64, h5netcdf) with a ``provenance`` attribute (JSON).

``ddviz dataset hamiltonian-water -o DIR`` (:func:`build`) runs GFN2-xTB Langevin MD of small
water clusters (:mod:`ddviz.reference.md`), rotates each snapshot by a random rotation and
stores one sample per snapshot, with ``DIR/manifest.json`` listing split (train / test /
transfer), atoms and SCF time. Finished samples are skipped when it is run again.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ddviz.errors import ConfigError, ConvergenceError, FileFormatError
from ddviz.io.atomic import atomic_path, write_text_atomic
from ddviz.methods.hamiltonian.basis import AOLayout

MANIFEST = "manifest.json"
RECIPE = "dataset.json"


@dataclass(frozen=True)
class HamiltonianSCF:
    """How the reference Kohn–Sham matrices are computed (all electrons, no pseudopotential).

    xc: functional; basis: PySCF basis name; grids_level: PySCF DFT grid level; conv_tol:
    energy convergence (Ha); threads: OpenMP threads of PySCF for this calculation.
    """

    xc: str = "pbe"
    basis: str = "def2-svp"
    grids_level: int = 3
    conv_tol: float = 1e-10
    threads: int = 1


def electron_count(numbers, charge: int = 0, path=None) -> int:
    """The electron count of a closed-shell structure: sum of Z less ``charge``.

    Parameters
    ----------
    numbers : array_like of int, shape (N,)
        Atomic numbers.
    charge : int
        Total charge (e).
    path : str or os.PathLike, optional
        The structure's file, named in the error.

    Returns
    -------
    int

    Raises
    ------
    ConfigError
        An odd count (this method is closed-shell only) or fewer than 2 electrons.
    """
    from ase.data import chemical_symbols

    numbers = np.asarray(numbers, dtype=int).reshape(-1)
    count = int(numbers.sum()) - int(charge)
    if count % 2 or count < 2:
        from ase.formula import Formula

        formula = Formula.from_list([chemical_symbols[z] for z in numbers]).format("hill")
        raise ConfigError(f"{formula} with charge {int(charge):+d} has {count} electrons: the "
                          "Hamiltonian method handles closed-shell (an even count, at least 2) "
                          "structures only; change --charge", path=path, field="charge")
    return count


def build_mol(numbers, positions_bohr, basis: str = "def2-svp", charge: int = 0):
    """A closed-shell PySCF molecule (bohr) for ``numbers`` at ``positions_bohr``.

    Parameters
    ----------
    numbers : array_like of int, shape (N,)
        Atomic numbers.
    positions_bohr : array_like, shape (N, 3)
        Positions (bohr).
    basis : str
        PySCF basis name.
    charge : int
        Total charge (e).

    Returns
    -------
    pyscf.gto.Mole

    Raises
    ------
    ConfigError
        An odd number of electrons (this method is closed-shell only) or an element the basis
        lacks.
    """
    from ase.data import chemical_symbols
    from pyscf import gto

    numbers = np.asarray(numbers, dtype=int).reshape(-1)
    positions = np.asarray(positions_bohr, dtype=float).reshape(-1, 3)
    electron_count(numbers, charge)
    atom = [(chemical_symbols[z], tuple(p)) for z, p in zip(numbers, positions)]
    try:
        return gto.M(atom=atom, basis=basis, unit="Bohr", charge=int(charge), spin=0, verbose=0)
    except Exception as exc:  # noqa: BLE001  (PySCF's errors for unknown elements vary)
        raise ConfigError(f"cannot build basis {basis!r} for these atoms: {exc}",
                          field="basis") from None


def reference(numbers, positions_bohr, settings: HamiltonianSCF = HamiltonianSCF(),
              progress=None) -> dict:
    """One converged RKS calculation: the Kohn–Sham and overlap matrices and what follows.

    Parameters
    ----------
    numbers : array_like of int, shape (N,)
        Atomic numbers.
    positions_bohr : array_like, shape (N, 3)
        Positions (bohr).
    settings : HamiltonianSCF
    progress : callable, optional
        Called after every SCF cycle as ``progress(cycle, energy)`` (cycle from 1, energy in Ha).

    Returns
    -------
    dict
        ``fock`` and ``overlap`` (nao, nao) Ha / 1, ``density_matrix`` (nao, nao),
        ``mo_energy`` (nao,) Ha ascending, ``mo_occ`` (nao,), ``energy`` (Ha), ``nelectron``,
        ``seconds`` (SCF wall time), ``cycles``.

    Raises
    ------
    ConvergenceError
        The SCF did not converge (also not with damping and a level shift).
    """
    from pyscf import dft, lib

    lib.num_threads(settings.threads)
    mol = build_mol(numbers, positions_bohr, settings.basis)
    start = time.perf_counter()
    for damp in (0.0, 0.5):
        mf = dft.RKS(mol)
        mf.xc, mf.grids.level, mf.conv_tol = settings.xc, settings.grids_level, settings.conv_tol
        mf.damp = damp
        mf.level_shift = 0.3 if damp else 0.0
        if progress is not None:
            mf.callback = lambda env: progress(int(env["cycle"]) + 1, float(env["e_tot"]))
        energy = mf.kernel()
        if mf.converged:
            break
    else:
        raise ConvergenceError(f"SCF of {len(mol.atom_charges())} atoms did not converge")
    dm = mf.make_rdm1()
    fock = mf.get_fock(dm=dm)
    overlap = mf.get_ovlp()
    return {"fock": np.asarray(fock), "overlap": np.asarray(overlap), "density_matrix": dm,
            "mo_energy": np.asarray(mf.mo_energy), "mo_occ": np.asarray(mf.mo_occ),
            "energy": float(energy), "nelectron": int(mol.nelectron),
            "seconds": time.perf_counter() - start, "cycles": int(getattr(mf, "cycles", 0))}


@dataclass
class HamiltonianSample:
    """One stored sample (see the module docstring). Arrays float64; bohr, Ha."""

    numbers: np.ndarray
    positions_bohr: np.ndarray
    fock: np.ndarray
    overlap: np.ndarray
    density_matrix: np.ndarray
    mo_energy: np.ndarray
    mo_occ: np.ndarray
    basis: str
    provenance: dict

    @property
    def layout(self) -> AOLayout:
        """The AO layout of the sample's atoms."""
        from ase.data import chemical_symbols

        return AOLayout.from_symbols([chemical_symbols[z] for z in self.numbers], self.basis)

    @property
    def nelectron(self) -> int:
        """Number of electrons (all-electron basis: the sum of the atomic numbers)."""
        return int(self.numbers.sum())

    def write(self, path) -> None:
        """Write the sample as netCDF (atomically)."""
        import xarray as xr

        layout = self.layout
        ds = xr.Dataset(
            {"numbers": (("atom",), self.numbers.astype(np.int32)),
             "positions_bohr": (("atom", "xyz"), self.positions_bohr),
             "fock": (("ao", "ao2"), self.fock), "overlap": (("ao", "ao2"), self.overlap),
             "density_matrix": (("ao", "ao2"), self.density_matrix),
             "mo_energy": (("mo",), self.mo_energy), "mo_occ": (("mo",), self.mo_occ)},
            attrs={"format": "ddviz-hamiltonian-sample", "format_version": 1,
                   "basis": self.basis, "units": json.dumps({"length": "bohr", "energy": "Ha"}),
                   "shells": json.dumps([list(s) for s in layout.shells]),
                   "provenance": json.dumps(self.provenance)})
        with atomic_path(path) as tmp:
            ds.to_netcdf(tmp, engine="h5netcdf")

    @classmethod
    def read(cls, path) -> HamiltonianSample:
        """Read a sample file.

        Raises
        ------
        FileFormatError
            Not a readable sample file, missing variables, or matrices that do not fit the
            atoms' basis layout.
        """
        import xarray as xr

        try:
            with xr.open_dataset(path, engine="h5netcdf", cache=False) as ds:
                if ds.attrs.get("format") != "ddviz-hamiltonian-sample":
                    raise FileFormatError("not a ddviz Hamiltonian sample", path=path,
                                          field="format")
                arrays = {k: np.asarray(ds[k].values) for k in (
                    "numbers", "positions_bohr", "fock", "overlap", "density_matrix",
                    "mo_energy", "mo_occ")}
                basis = str(ds.attrs["basis"])
                provenance = json.loads(ds.attrs.get("provenance", "{}"))
        except FileFormatError:
            raise
        except (OSError, KeyError, ValueError) as exc:
            raise FileFormatError(f"cannot read Hamiltonian sample: {exc}", path=path) from None
        sample = cls(arrays["numbers"].astype(int), basis=basis, provenance=provenance,
                     **{k: v.astype(float) for k, v in arrays.items() if k != "numbers"})
        try:
            nao = sample.layout.nao
        except Exception as exc:  # noqa: BLE001
            raise FileFormatError(f"bad basis: {exc}", path=path, field="basis") from None
        if sample.fock.shape != (nao, nao) or sample.overlap.shape != (nao, nao):
            raise FileFormatError(f"matrices {sample.fock.shape} do not fit the {nao} AOs of "
                                  f"basis {basis!r}", path=path, field="fock")
        if not (np.isfinite(sample.fock).all() and np.isfinite(sample.overlap).all()):
            raise FileFormatError("non-finite matrix elements", path=path, field="fock")
        return sample


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random proper rotation (3, 3) (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


# --- datasets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HamiltonianPreset:
    """A Hamiltonian dataset: per system (``ddviz.reference.md.build`` name) snapshot counts.

    systems: (system, train, test, transfer) per MD trajectory; md_interval: MD steps between
    snapshots (0.5 fs each); equilibration: MD steps before the first.
    """

    systems: tuple[tuple[str, int, int, int], ...]
    md_interval: int = 100
    equilibration: int = 1000
    purpose: str = ""


PRESETS = {
    "hamiltonian-water": HamiltonianPreset(
        (("water1", 20, 4, 0), ("water2", 20, 4, 0), ("water3", 8, 2, 0),
         ("water4", 0, 0, 2)),
        purpose="Kohn–Sham matrices of 1-3 water clusters (+ water4 transfer)"),
    "hamiltonian-ethane": HamiltonianPreset(
        (("ethane", 40, 8, 0),), md_interval=400,
        purpose="Kohn–Sham matrices of ethane"),
}


def recipe(name: str, seed: int = 0) -> dict:
    """The JSON description of dataset ``name`` (a :data:`PRESETS` entry, the SCF, the seed)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown Hamiltonian dataset {name!r}; expected one of "
                          f"{', '.join(PRESETS)}")
    return {"name": name, "preset": dataclasses.asdict(PRESETS[name]), "seed": seed,
            "scf": dataclasses.asdict(HamiltonianSCF()),
            "method": "GFN2-xTB Langevin MD (tblite), random rotation, PySCF RKS"}


def _frames(rec: dict, progress: bool) -> list[tuple[str, object]]:
    """(split, ase.Atoms in Å, rotated) for every sample of the recipe, in order."""
    from tqdm import tqdm

    from ddviz.reference import md

    preset = rec["preset"]
    out = []
    rng = np.random.default_rng(rec["seed"])
    for system, *counts in preset["systems"]:
        n = sum(counts)
        settings = md.MDSettings(seed=rec["seed"], interval=preset["md_interval"],
                                 equilibration_steps=preset["equilibration"], n_snapshots=n)
        start = md.build(system, rec["seed"])
        if system.startswith("water") and len(start) > 3:
            start = md.relax(start)
        total = settings.equilibration_steps + n * settings.interval
        with tqdm(total=total, unit="step", desc=f"MD {system}", disable=not progress) as bar:
            snaps = md.run_md(start, settings, progress=lambda s: bar.update(s - bar.n))
        splits = ["train"] * counts[0] + ["test"] * counts[1] + ["transfer"] * counts[2]
        for atoms, split in zip(snaps, splits):
            centre = atoms.positions.mean(axis=0)
            atoms.positions = (atoms.positions - centre) @ random_rotation(rng).T
            atoms.info.update(system=system, split=split)
            out.append((split, atoms))
    return out


def build(name: str, outdir, seed: int = 0, progress: bool = True) -> dict:
    """Make (or finish) Hamiltonian dataset ``name`` in ``outdir``; returns the manifest.

    Raises
    ------
    ConfigError
        Unknown dataset name.
    """
    import ase.io
    from tqdm import tqdm

    from ddviz.reference.scf import versions
    from ddviz.units import ang_to_bohr

    rec = recipe(name, seed)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    traj = outdir / "trajectory.xyz"
    old = json.loads((outdir / RECIPE).read_text()) if (outdir / RECIPE).is_file() else None
    if traj.is_file() and old == rec:
        frames = [(a.info["split"], a) for a in ase.io.read(traj, ":")]
    else:
        frames = _frames(rec, progress)
        with atomic_path(traj) as tmp:
            ase.io.write(tmp, [a for _, a in frames], format="extxyz")
        write_text_atomic(outdir / RECIPE, json.dumps(rec, indent=1) + "\n")
        frames = [(a.info["split"], a) for a in ase.io.read(traj, ":")]
    settings = HamiltonianSCF(**rec["scf"])
    entries = {}
    for k, (split, atoms) in enumerate(tqdm(frames, desc=f"SCF {name}", disable=not progress)):
        path = outdir / f"{name}_{k:04d}.nc"
        pos = ang_to_bohr(atoms.positions)
        if path.is_file():
            try:
                sample = HamiltonianSample.read(path)
                if (sample.numbers.shape != atoms.numbers.shape
                        or np.abs(sample.positions_bohr - pos).max() > 1e-6):
                    raise FileFormatError("another structure", path=path)
                entries[path.name] = {"split": split, "atoms": len(sample.numbers),
                                      "scf_seconds": sample.provenance.get("scf_seconds")}
                continue
            except FileFormatError:
                pass  # unreadable or another recipe's: computed again
        ref = reference(atoms.numbers, pos, settings)
        prov = {"dataset": name, "index": k, "split": split,
                "system": atoms.info.get("system"), "energy_Ha": ref["energy"],
                "scf_seconds": round(ref["seconds"], 3), "scf_cycles": ref["cycles"],
                **dataclasses.asdict(settings), "versions": versions()}
        HamiltonianSample(atoms.numbers, pos, ref["fock"], ref["overlap"],
                          ref["density_matrix"], ref["mo_energy"], ref["mo_occ"],
                          settings.basis, prov).write(path)
        entries[path.name] = {"split": split, "atoms": len(atoms),
                              "scf_seconds": prov["scf_seconds"]}
        manifest = {"recipe": rec, "samples": entries}
        write_text_atomic(outdir / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    manifest = {"recipe": rec, "samples": entries}
    write_text_atomic(outdir / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return manifest


def load_samples(folders, split: str | None = None) -> list[tuple[str, HamiltonianSample]]:
    """(file name, sample) of every sample in dataset ``folders`` (of ``split`` when given).

    Raises
    ------
    FileFormatError
        A folder without a manifest, or an unreadable sample.
    """
    out = []
    for folder in folders:
        folder = Path(folder)
        if not (folder / MANIFEST).is_file():
            raise FileFormatError("not a Hamiltonian dataset folder (no manifest.json)",
                                  path=folder)
        manifest = json.loads((folder / MANIFEST).read_text())
        for fname, entry in sorted(manifest.get("samples", {}).items()):
            if split is None or entry.get("split") == split:
                out.append((fname, HamiltonianSample.read(folder / fname)))
    return out
