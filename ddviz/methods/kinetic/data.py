"""The ``kinetic-2e`` dataset: Kohn–Sham kinetic energies of two-electron molecules (bohr, Ha).

Sample ``i`` is system ``SYSTEMS[i % 3]`` (H2, HeH+, H3+) at a random geometry around equilibrium
(bond lengths 0.7-1.6 times the equilibrium length; H3+ angles 40-80 degrees), randomly rotated
and translated, and for two samples in three under a random external perturbation: 1-3 Gaussians
``A exp(-|r - C|^2 / (2 s^2))`` with A = +-(0.05..0.4) Ha, s = 0.5..1.5 bohr and C an atom plus
a normal offset of 1 bohr, added to the core Hamiltonian. Their AO matrix elements are integrated
on the DFT grid of the calculation (the Gaussians are smooth on its scale). The data strategy of
Remme et al., J. Chem. Phys. 159, 144113 (2023): densities varied beyond ground states.

Each is solved with PySCF RKS, PBE, def2-TZVP, Becke grid level :data:`GRID_LEVEL` (1: about
5000 points for H2; its total energy is within 1e-6 Ha of level 3), converged to 1e-11 Ha.

Storage: one netCDF file ``OUTDIR/kinetic_<i:05d>.nc`` per sample (xarray + h5netcdf, zlib),
written atomically, with dims ``point``, ``atom``, ``ao``, ``xyz``:

- ``Z`` (atom) nuclear charges, ``coords`` (atom, xyz) bohr;
- ``points`` (point, xyz) bohr and ``weights`` (point) bohr^3: the Becke grid;
- ``rho`` (point) e/bohr^3 and ``grad_rho`` (point, xyz) e/bohr^4;
- ``dTs_drho`` (point) Ha: the functional derivative mu - v_eff(r), mu the orbital energy and
  v_eff = v_nuc + v_pert + v_H + v_xc (PBE's GGA potential evaluated pointwise, with the
  divergence term from the density's Hessian); it diverges like Z/r at a nucleus;
- ``coefficients`` (ao) the normalised orbital, ``dTs_dc`` (ao) Ha: the same functional derivative
  projected on the basis, 4 (mu S - V_eff) c = the gradient of T_s with respect to the orbital
  coefficients (what OF-DFT in this basis uses; for the converged orbital it equals 4 T c);
- ``perturbation`` (gaussian, 5): A (Ha), s (bohr), C (bohr) of each Gaussian;
- attributes: ``Ts_Ha`` = tr(D T) from the orbitals, the energies (``e_tot_Ha``, ``e_nuc_Ha``,
  ``e_ext_Ha`` (nuclei + perturbation), ``e_pert_Ha``, ``e_hartree_Ha``, ``e_xc_Ha``),
  ``mu_Ha``, ``system``, ``charge``, ``split`` and ``meta`` (JSON: recipe, SCF iterations).

``OUTDIR/manifest.json`` lists the recipe and every finished sample; a rerun with the same recipe
resumes (finished files are skipped), another recipe in the same folder is refused. Sample ``i``
depends on the seed and ``i`` only, so a larger ``count`` extends a dataset (the count is not
part of the comparison). Every 5th sample (``i % 5 == 4``) is ``test``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ddviz.errors import ConfigError, ConvergenceError, DdvizError, FileFormatError
from ddviz.io.atomic import atomic_path, write_text_atomic

if TYPE_CHECKING:  # imported where used: listing datasets (the app's page) stays light
    from ddviz.reference.generate import Report

BASIS = "def2-tzvp"
XC = "PBE"
GRID_LEVEL = 1
MANIFEST = "manifest.json"
TEST_EVERY = 5
#: name -> (element symbols, charge, equilibrium bond length in bohr)
SYSTEMS = {"H2": (("H", "H"), 0, 1.40), "HeH+": (("He", "H"), 1, 1.46),
           "H3+": (("H", "H", "H"), 1, 1.65)}
ELECTRONS = 2
NAME = "kinetic-2e"


def molecule(Z, coords, charge: int = 0):
    """A PySCF molecule in def2-TZVP from nuclear charges and coordinates (bohr).

    Parameters
    ----------
    Z : sequence of int
        Nuclear charges.
    coords : array (n_atoms, 3)
        Positions (bohr).
    charge : int
        Total charge.

    Returns
    -------
    pyscf.gto.Mole

    Raises
    ------
    DdvizError
        If the molecule does not have exactly two electrons ("this model covers 2-electron
        systems").
    """
    from pyscf import gto

    Z = [int(z) for z in Z]
    electrons = sum(Z) - int(charge)
    if electrons != ELECTRONS:
        raise DdvizError(f"this model covers 2-electron systems; the structure has {electrons} "
                         f"electrons (nuclear charge {sum(Z)}, charge {charge})", field="charge")
    from pyscf.data.elements import ELEMENTS

    atoms = [(ELEMENTS[z], tuple(map(float, r))) for z, r in zip(Z, np.asarray(coords))]
    return gto.M(atom=atoms, unit="Bohr", basis=BASIS, charge=int(charge), spin=0, verbose=0)


def becke_grid(mol, level: int = GRID_LEVEL):
    """PySCF's Becke grid of ``mol``: ``(points (n, 3) bohr, weights (n,) bohr^3)``."""
    from pyscf import dft

    grids = dft.gen_grid.Grids(mol)
    grids.level = level
    grids.build()
    return grids.coords, grids.weights


def recipe(count: int, seed: int) -> dict:
    """The JSON description of a dataset of ``count`` samples drawn from ``seed``."""
    return {"name": NAME, "count": int(count), "seed": int(seed), "basis": BASIS, "xc": XC,
            "grid_level": GRID_LEVEL, "systems": list(SYSTEMS), "bond_scale": [0.7, 1.6],
            "h3_angle_deg": [40.0, 80.0], "perturbed_share": 2 / 3,
            "gaussians": {"count": [1, 3], "amplitude_Ha": [0.05, 0.4],
                          "width_bohr": [0.5, 1.5], "offset_bohr": 1.0},
            "perturbation_integrals": "on the DFT grid", "conv_tol": 1e-11}


def same_recipe(old: dict, new: dict) -> bool:
    """Whether two recipes give the same samples (the sample count aside)."""
    return ({k: v for k, v in old.items() if k != "count"}
            == {k: v for k, v in new.items() if k != "count"})


def split_of(index: int) -> str:
    """"train" or "test" for sample ``index``."""
    return "test" if index % TEST_EVERY == TEST_EVERY - 1 else "train"


def filename(index: int) -> str:
    """The file name of sample ``index``."""
    return f"kinetic_{index:05d}.nc"


def draw(index: int, rec: dict) -> dict:
    """System, geometry (bohr) and perturbation of sample ``index`` (deterministic in the seed)."""
    rng = np.random.default_rng([rec["seed"], index])
    system = rec["systems"][index % len(rec["systems"])]
    symbols, charge, r0 = SYSTEMS[system]
    lo, hi = rec["bond_scale"]
    if len(symbols) == 2:
        xyz = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, r0 * rng.uniform(lo, hi)]])
    else:
        r1, r2 = r0 * rng.uniform(0.8, 1.4, size=2)
        angle = np.deg2rad(rng.uniform(*rec["h3_angle_deg"]))
        xyz = np.array([[0.0, 0.0, 0.0], [r1, 0.0, 0.0],
                        [r2 * np.cos(angle), r2 * np.sin(angle), 0.0]])
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    xyz = (xyz - xyz.mean(0)) @ q.T + rng.normal(scale=0.5, size=3)
    gaussians = np.zeros((0, 5))
    g = rec["gaussians"]
    if rng.uniform() < rec["perturbed_share"]:
        n = int(rng.integers(g["count"][0], g["count"][1] + 1))
        amp = rng.uniform(*g["amplitude_Ha"], size=n) * rng.choice([-1.0, 1.0], size=n)
        width = rng.uniform(*g["width_bohr"], size=n)
        centre = xyz[rng.integers(len(xyz), size=n)] + rng.normal(scale=g["offset_bohr"],
                                                                  size=(n, 3))
        gaussians = np.column_stack([amp, width, centre])
    from pyscf.data.elements import charge as nuclear_charge

    return {"index": index, "system": system, "charge": charge,
            "Z": [nuclear_charge(s) for s in symbols], "coords": xyz, "gaussians": gaussians,
            "split": split_of(index)}


def gaussian_potential(gaussians: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The perturbing potential (Ha) at ``points`` (n, 3) bohr of Gaussians (k, 5) [A, s, C]."""
    v = np.zeros(len(points))
    for amp, width, *centre in np.asarray(gaussians).reshape(-1, 5):
        v += amp * np.exp(-((points - np.asarray(centre)) ** 2).sum(1) / (2 * width**2))
    return v


def _vxc_pointwise(phi, dphi, hphi, xc: str = XC):
    """PBE's potential at each point for rho = 2 phi^2, the GGA divergence term included.

    v_xc = e_rho - div(2 e_sigma grad rho) with grad e_sigma from the second derivatives
    (e the energy per volume, sigma = |grad rho|^2); the density's Hessian from the orbital's.
    """
    from pyscf import dft

    rho = 2 * phi**2
    grad = 4 * phi[:, None] * dphi
    hess = 4 * (dphi[:, :, None] * dphi[:, None, :] + phi[:, None, None] * hphi)
    lap = np.trace(hess, axis1=1, axis2=2)
    _, (vrho, vsigma, *_), (v2rho2, v2rhosigma, v2sigma2, *_), _ = dft.libxc.eval_xc(
        xc, np.vstack([rho, grad.T]), spin=0, deriv=2)
    grad_sigma = 2 * np.einsum("gij,gj->gi", hess, grad)
    grad_vsigma = v2rhosigma[:, None] * grad + v2sigma2[:, None] * grad_sigma
    return vrho - 2 * (np.einsum("gi,gi->g", grad_vsigma, grad) + vsigma * lap)


def solve(spec: dict, level: int = GRID_LEVEL, conv_tol: float = 1e-11) -> tuple[dict, dict]:
    """Run the Kohn–Sham calculation of one sample: ``(arrays, attributes)`` (module docstring).

    Parameters
    ----------
    spec : dict
        From :func:`draw`: ``Z``, ``coords`` (bohr), ``charge``, ``gaussians`` (k, 5).
    level : int
        Becke grid level.
    conv_tol : float
        SCF energy tolerance (Ha).

    Returns
    -------
    arrays : dict of str to numpy.ndarray
    attributes : dict

    Raises
    ------
    ConvergenceError
        The SCF did not converge.
    """
    from pyscf import dft

    t0 = time.perf_counter()
    mol = molecule(spec["Z"], spec["coords"], spec["charge"])
    mf = dft.RKS(mol)
    mf.xc, mf.grids.level, mf.conv_tol = XC, level, conv_tol
    mf.grids.build()
    points, weights = mf.grids.coords, mf.grids.weights
    ao = dft.numint.eval_ao(mol, points, deriv=2)  # (10, n, nao): value, d/dx.., second
    v_pert = gaussian_potential(spec["gaussians"], points)
    h_pert = np.einsum("gm,g,gn->mn", ao[0], weights * v_pert, ao[0])
    hcore = mf.get_hcore() + h_pert
    mf.get_hcore = lambda *args: hcore
    mf.kernel()
    if not mf.converged:
        raise ConvergenceError(f"sample {spec.get('index')}: the SCF did not converge")
    c = mf.mo_coeff[:, 0]
    c = c / np.sqrt(c @ mf.get_ovlp() @ c)
    dm = 2 * np.outer(c, c)
    phi = ao[0] @ c
    dphi = np.stack([ao[k] @ c for k in (1, 2, 3)], axis=1)
    pairs = {(0, 0): 4, (0, 1): 5, (0, 2): 6, (1, 1): 7, (1, 2): 8, (2, 2): 9}
    hphi = np.empty((len(points), 3, 3))
    for (i, j), k in pairs.items():
        hphi[:, i, j] = hphi[:, j, i] = ao[k] @ c
    coords, Z = mol.atom_coords(), mol.atom_charges()
    dist = np.linalg.norm(points[:, None, :] - coords[None], axis=2)
    v_nuc = -(Z / dist).sum(1)
    v_h = np.einsum("gmn,mn->g", mol.intor("int1e_grids", grids=points), dm)
    mu = float(mf.mo_energy[0])
    v_eff = v_nuc + v_pert + v_h + _vxc_pointwise(phi, dphi, hphi)
    t_kin = mol.intor("int1e_kin")
    veff = mf.get_veff(mol, dm)
    f_eff = hcore - t_kin + veff  # everything but the kinetic energy
    arrays = {"Z": np.asarray(Z, dtype=np.int64), "coords": coords, "points": points,
              "weights": weights, "rho": 2 * phi**2, "grad_rho": 4 * phi[:, None] * dphi,
              "dTs_drho": mu - v_eff, "coefficients": c,
              "dTs_dc": 4 * (mu * mf.get_ovlp() @ c - f_eff @ c),
              "perturbation": np.asarray(spec["gaussians"], dtype=float).reshape(-1, 5)}
    e_pert = float(np.einsum("mn,mn", dm, h_pert))
    attrs = {"Ts_Ha": float(np.einsum("mn,mn", dm, t_kin)), "e_tot_Ha": float(mf.e_tot),
             "e_nuc_Ha": float(mol.energy_nuc()),
             "e_ext_Ha": float(np.einsum("mn,mn", dm, hcore - t_kin)), "e_pert_Ha": e_pert,
             "e_hartree_Ha": float(veff.ecoul), "e_xc_Ha": float(veff.exc), "mu_Ha": mu,
             "system": spec["system"], "charge": int(spec["charge"]), "split": spec["split"],
             "index": int(spec["index"]), "grid_level": level,
             "scf_iterations": int(mf.cycles), "wall_s": time.perf_counter() - t0}
    return arrays, attrs


DIMS = {"Z": ("atom",), "coords": ("atom", "xyz"), "points": ("point", "xyz"),
        "weights": ("point",), "rho": ("point",), "grad_rho": ("point", "xyz"),
        "dTs_drho": ("point",), "coefficients": ("ao",), "dTs_dc": ("ao",),
        "perturbation": ("gaussian", "param")}


def save(path, arrays: dict, attrs: dict) -> None:
    """Write one sample atomically as netCDF (module docstring for the variables)."""
    import xarray as xr

    ds = xr.Dataset({k: (DIMS[k], v) for k, v in arrays.items()},
                    attrs={k: (json.dumps(v) if isinstance(v, (dict, list)) else v)
                           for k, v in attrs.items()})
    encoding = {k: {"zlib": True, "complevel": 4} for k in arrays if arrays[k].size > 64}
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", format="NETCDF4", encoding=encoding)


def load(path) -> tuple[dict, dict]:
    """Read one sample: ``(arrays, attributes)``.

    Raises
    ------
    FileFormatError
        Not a readable kinetic sample (missing variable, NaN/Inf, unreadable file).
    """
    import xarray as xr

    try:
        with xr.open_dataset(path, engine="h5netcdf", cache=False) as ds:
            arrays = {k: ds[k].values for k in DIMS}
            attrs = {k: v.item() if isinstance(v, np.generic) else v
                     for k, v in ds.attrs.items()}
    except (OSError, ValueError, KeyError) as exc:
        raise FileFormatError(f"not a readable kinetic-2e sample: {exc}", path=path) from None
    for k, v in arrays.items():
        if v.dtype.kind == "f" and not np.isfinite(v).all():
            raise FileFormatError("non-finite values", path=path, field=k)
    if "Ts_Ha" not in attrs:
        raise FileFormatError("missing attribute", path=path, field="Ts_Ha")
    if "meta" in attrs:
        attrs["meta"] = json.loads(attrs["meta"])
    return arrays, attrs


def _job(args):
    index, rec = args
    spec = draw(index, rec)
    try:
        arrays, attrs = solve(spec, rec["grid_level"], rec["conv_tol"])
    except ConvergenceError as exc:
        return index, None, None, str(exc)
    attrs["meta"] = {"recipe": rec}
    return index, arrays, attrs, None


def _entry(name: str, attrs: dict) -> dict:
    return {"file": name, **{k: attrs[k] for k in ("index", "system", "split", "Ts_Ha",
                                                    "e_tot_Ha")}}


def build(outdir, count: int = 600, seed: int = 0, workers: int = 2,
          progress: bool = True) -> Report:
    """Build (or resume) a ``kinetic-2e`` dataset of ``count`` samples in ``outdir``.

    Parameters
    ----------
    outdir : path
        Dataset folder (created).
    count : int
        Number of samples, >= 1.
    seed : int
        Fixes geometries and perturbations.
    workers : int
        Single-threaded worker processes (1: in this process).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    Report

    Raises
    ------
    ConfigError
        A bad count, or ``outdir`` holding a dataset of another recipe.
    """
    from ddviz.reference.generate import Report, run_jobs

    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ConfigError(f"count must be a positive integer, got {count!r}", field="count")
    rec = recipe(count, seed)
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise ConfigError("the output exists and is not a folder", path=outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    try:
        old = json.loads((outdir / MANIFEST).read_text())["recipe"]
    except (OSError, ValueError, KeyError, TypeError):
        old = None
    if old is not None and not same_recipe(old, rec):
        diff = sorted(k for k in set(old) | set(rec) if k != "count" and old.get(k) != rec.get(k))
        raise ConfigError(f"the folder holds a kinetic-2e dataset of another recipe (differs "
                          f"in {', '.join(diff)}); use a new folder", path=outdir / MANIFEST)
    report, entries, todo = Report(), {}, []
    for i in range(count):
        try:
            _, attrs = load(outdir / filename(i))
            if not same_recipe(attrs.get("meta", {}).get("recipe") or {}, rec):
                raise DdvizError("another recipe")
            entries[filename(i)] = _entry(filename(i), attrs)
            report.skipped.append(filename(i))
        except DdvizError:
            todo.append(i)

    def write_manifest():
        report.manifest = {"recipe": rec, "samples": [entries[k] for k in sorted(entries)],
                           "failed": report.failed}
        write_text_atomic(outdir / MANIFEST, json.dumps(report.manifest, indent=1) + "\n")

    def record(result):
        index, arrays, attrs, error = result
        name = filename(index)
        if error is None:
            save(outdir / name, arrays, attrs)
            entries[name] = _entry(name, attrs)
            report.computed.append(name)
        else:
            report.failed[name] = error
        if len(report.computed) % 20 == 0:
            write_manifest()

    run_jobs(_job, [(i, rec) for i in todo], workers, record, write_manifest, progress=progress,
             desc=NAME, done=len(report.skipped))
    return report


def find_datasets(roots) -> list[Path]:
    """The ``kinetic-2e`` dataset folders under ``roots`` (a manifest naming this recipe).

    Parameters
    ----------
    roots : iterable of path
        Folders searched recursively; missing ones are skipped.

    Returns
    -------
    list of pathlib.Path
        Sorted; unreadable manifests and other datasets are left out.
    """
    found = set()
    for root in map(Path, roots):
        if not root.is_dir():
            continue
        for manifest in root.rglob(MANIFEST):
            try:
                name = json.loads(manifest.read_text()).get("recipe", {}).get("name")
            except (OSError, ValueError, AttributeError):
                continue
            if name == NAME:
                found.add(manifest.parent)
    return sorted(found)


def samples(folders, split: str | None = None) -> list[Path]:
    """The sample files of ``kinetic-2e`` folders (or files), optionally of one split.

    Raises
    ------
    ConfigError
        A folder without a manifest, or no sample at all.
    """
    found = []
    for folder in folders:
        folder = Path(folder)
        if folder.is_file():
            found.append(folder)
            continue
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"not a kinetic-2e dataset folder: {exc}", path=folder) from None
        found += [folder / s["file"] for s in manifest.get("samples", [])
                  if split is None or s.get("split") == split]
    if not found:
        raise ConfigError(f"no kinetic-2e samples{' of split ' + split if split else ''} in "
                          f"{', '.join(map(str, folders))}", field="train")
    return found
