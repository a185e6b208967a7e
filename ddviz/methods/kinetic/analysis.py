"""What the app's OF-DFT tab shows, computed here (bohr, Ha, e/bohr^3).

- :func:`watch`: an OF-DFT run (:func:`ddviz.methods.kinetic.ofdft.run`) against the Kohn–Sham
  reference of the same molecule, streamed: the reference first, then one :class:`Frame` per
  L-BFGS iteration (energy and the density on a line through the molecule), stoppable;
- :func:`parity`: T_s of a model against the stored Kohn–Sham T_s, per sample of a
  ``kinetic-2e`` dataset split;
- :func:`kinetic_density_slice`: a sample's kinetic-energy density tau of the model on a plane
  through the molecule, beside the von Weizsäcker density |grad rho|^2 / (8 rho) (for two
  electrons one exact kinetic-energy density; energy densities are not unique, their integrals
  are);
- the slicing geometry (:func:`principal_frame`, :func:`line`, :func:`plane`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Margin (bohr) of lines and planes beyond the outermost nuclei.
MARGIN = 3.0


def principal_frame(coords) -> tuple[np.ndarray, np.ndarray]:
    """Centre and principal axes of nuclear positions (bohr).

    Parameters
    ----------
    coords : array (n_atoms, 3)
        Nuclear positions (bohr).

    Returns
    -------
    centre : numpy.ndarray (3,)
        The mean position (bohr).
    axes : numpy.ndarray (3, 3)
        Orthonormal rows, largest spread first (a diatomic's bond axis; for three atoms the
        first two span their plane); each row's largest component is positive.
    """
    coords = np.asarray(coords, dtype=float).reshape(-1, 3)
    centre = coords.mean(0)
    _, _, vt = np.linalg.svd(coords - centre)  # rows ordered by singular value (spread)
    axes = vt.copy()
    for row in axes:
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1
    return centre, axes


def line(coords, points: int = 201, margin: float = MARGIN) -> tuple[np.ndarray, np.ndarray]:
    """Points on the first principal axis through the molecule's centre.

    Parameters
    ----------
    coords : array (n_atoms, 3)
        Nuclear positions (bohr).
    points : int
        Number of points.
    margin : float
        How far beyond the outermost nucleus the line runs (bohr).

    Returns
    -------
    s : numpy.ndarray (points,)
        Signed distance from the centre along the axis (bohr).
    xyz : numpy.ndarray (points, 3)
        The points (bohr).
    """
    centre, axes = principal_frame(coords)
    extent = np.abs((np.asarray(coords) - centre) @ axes[0]).max() + margin
    s = np.linspace(-extent, extent, points)
    return s, centre + s[:, None] * axes[0]


def plane(coords, points: int = 61, margin: float = MARGIN):
    """A square grid of points on the plane of the first two principal axes.

    Parameters
    ----------
    coords : array (n_atoms, 3)
        Nuclear positions (bohr).
    points : int
        Points per side.
    margin : float
        Margin beyond the outermost nucleus (bohr).

    Returns
    -------
    u, v : numpy.ndarray (points,)
        Coordinates along the two axes (bohr, from the centre).
    xyz : numpy.ndarray (points * points, 3)
        The points, ``u`` varying slowest (index ``i * points + j`` is ``(u[i], v[j])``).
    atoms_uv : numpy.ndarray (n_atoms, 2)
        The nuclei's in-plane coordinates (bohr).
    """
    centre, axes = principal_frame(coords)
    rel = np.asarray(coords) - centre
    extent = np.abs(rel @ axes[:2].T).max() + margin
    u = np.linspace(-extent, extent, points)
    uu, vv = np.meshgrid(u, u, indexing="ij")
    xyz = centre + uu.reshape(-1, 1) * axes[0] + vv.reshape(-1, 1) * axes[1]
    return u, u.copy(), xyz, rel @ axes[:2].T


def orbital_density(mol, c, xyz) -> np.ndarray:
    """The density 2 |phi|^2 (e/bohr^3) at points ``xyz`` (n, 3) bohr of orbital coefficients ``c``.

    ``c`` is normalised through the overlap matrix first.
    """
    from pyscf import dft

    c = np.asarray(c, dtype=float)
    c = c / np.sqrt(c @ mol.intor("int1e_ovlp") @ c)
    return 2 * (dft.numint.eval_ao(mol, np.asarray(xyz, dtype=float)) @ c) ** 2


@dataclass
class Reference:
    """The Kohn–Sham reference of a watched run, on the line of :func:`line`.

    Attributes
    ----------
    energy_ha : float
        Kohn–Sham total energy (Ha), same functional, basis and grid as OF-DFT.
    coefficients : numpy.ndarray (nao,)
        Its orbital, normalised.
    s : numpy.ndarray (points,)
        Distance along the line (bohr).
    density : numpy.ndarray (points,)
        The Kohn–Sham density on the line (e/bohr^3).
    atoms_s : numpy.ndarray (n_atoms,)
        The nuclei projected on the line (bohr).
    seconds : float
        Time of the Kohn–Sham SCF.
    """

    energy_ha: float
    coefficients: np.ndarray
    s: np.ndarray
    density: np.ndarray
    atoms_s: np.ndarray
    seconds: float


@dataclass
class Frame:
    """One OF-DFT iteration.

    ``iteration`` (1, 2, ...), ``energy_ha`` (Ha), ``density`` (points,) on the reference's
    line (e/bohr^3).
    """

    iteration: int
    energy_ha: float
    density: np.ndarray


@dataclass
class Watched:
    """A finished (or stopped) watched run.

    Attributes
    ----------
    result : ofdft.Result
        The OF-DFT result (energy, parts, iterations, converged, stopped, history).
    reference : Reference
    error_mha : float
        E_OF-DFT - E_KS (mHa).
    density_rel_l1 : float
        Relative L1 error of the OF-DFT density against Kohn–Sham on the Becke grid.
    density : numpy.ndarray (points,)
        The final OF-DFT density on the line (e/bohr^3).
    """

    result: object
    reference: Reference
    error_mha: float
    density_rel_l1: float
    density: np.ndarray

    def summary(self) -> dict:
        """The result's keys (:meth:`ofdft.Result.summary`), ``stopped``, and the comparison.

        The comparison's keys: ``ks_energy_ha``, ``error_mha``, ``density_rel_l1``.
        """
        return {**self.result.summary(), "stopped": self.result.stopped,
                "ks_energy_ha": self.reference.energy_ha, "error_mha": self.error_mha,
                "density_rel_l1": self.density_rel_l1}


def watch(mol, model=None, functional: str = "model", on_reference=None, on_frame=None,
          stop=None, points: int = 201, max_iter: int = 500) -> Watched:
    """Run OF-DFT on ``mol`` against its Kohn–Sham reference, reporting as it goes.

    Parameters
    ----------
    mol : pyscf.gto.Mole
        A two-electron def2-TZVP molecule (:func:`ofdft.preset`, :func:`ofdft.from_atoms`).
    model : KineticNet, optional
        The learned functional, float64 (needed unless ``functional == "vw"``).
    functional : {"model", "vw"}
        As for :func:`ddviz.methods.kinetic.ofdft.run`.
    on_reference : callable, optional
        ``on_reference(Reference)`` once the Kohn–Sham reference is known (before OF-DFT).
    on_frame : callable, optional
        ``on_frame(Frame)`` after each L-BFGS iteration, in the calling thread.
    stop : object with ``is_set()``, optional
        Ends the run after the current iteration once set (:func:`ofdft.run`).
    points : int
        Points of the density line.
    max_iter : int
        L-BFGS iteration limit.

    Returns
    -------
    Watched

    Raises
    ------
    DdvizError
        Not two electrons, an unknown functional, no model for ``functional="model"``.
    """
    import time

    from pyscf import dft

    from ddviz.methods.kinetic import ofdft

    ofdft.check(mol, model, functional)  # fail before the Kohn–Sham run, not after
    t0 = time.perf_counter()
    e_ks, c_ks = ofdft.kohn_sham(mol)
    s, xyz = line(mol.atom_coords(), points)
    ao = dft.numint.eval_ao(mol, xyz)
    centre, axes = principal_frame(mol.atom_coords())
    reference = Reference(e_ks, c_ks, s, 2 * (ao @ c_ks) ** 2,
                          (mol.atom_coords() - centre) @ axes[0], time.perf_counter() - t0)
    if on_reference is not None:
        on_reference(reference)

    def frame(iteration, energy, c):
        if on_frame is not None:
            on_frame(Frame(iteration, float(energy), 2 * (ao @ c) ** 2))

    result = ofdft.run(mol, model, functional, callback=frame, stop=stop, max_iter=max_iter)
    return Watched(result, reference, 1e3 * (result.energy_ha - e_ks),
                   ofdft.density_error(mol, result.coefficients, c_ks),
                   2 * (ao @ result.coefficients) ** 2)


def parity(model, paths, progress=None) -> list[dict]:
    """The model's T_s against the stored Kohn–Sham T_s, per sample.

    Parameters
    ----------
    model : KineticNet
        Evaluated in its own dtype (float64 recommended).
    paths : list of path
        ``kinetic-2e`` sample files (:func:`ddviz.methods.kinetic.data.samples`, e.g. with
        ``split="test"``).
    progress : callable, optional
        ``progress(done, total)`` after each sample.

    Returns
    -------
    list of dict
        Per sample: ``file`` (name), ``index``, ``system``, ``Ts_Ha`` (Kohn–Sham), ``Ts_ml_Ha``
        (the model), ``error_mHa`` = 1000 (T_s^ML - T_s).

    Raises
    ------
    FileFormatError
        An unreadable sample.
    """
    import torch

    from ddviz.methods.kinetic.training import Sample

    rows = []
    with torch.no_grad():
        for i, path in enumerate(paths):
            sample = Sample(path, model.config.min_density, model.dtype)
            ts_ml = float(sample.kinetic(model))
            rows.append({"file": Path(path).name, "index": sample.index,
                         "system": sample.system, "Ts_Ha": sample.Ts, "Ts_ml_Ha": ts_ml,
                         "error_mHa": 1e3 * (ts_ml - sample.Ts)})
            if progress is not None:
                progress(i + 1, len(paths))
    return rows


def parity_summary(rows: list[dict]) -> dict:
    """Mean absolute T_s error (mHa) of :func:`parity` rows, pooled and per system.

    Returns
    -------
    dict
        ``samples``, ``ts_mae_mha`` and ``ts_mae_mha_<system>`` for each system present.
    """
    errors = np.array([abs(r["error_mHa"]) for r in rows])
    out = {"samples": len(rows), "ts_mae_mha": float(errors.mean()) if len(rows) else float("nan")}
    for system in dict.fromkeys(r["system"] for r in rows):
        out[f"ts_mae_mha_{system}"] = float(np.mean([abs(r["error_mHa"]) for r in rows
                                                     if r["system"] == system]))
    return out


@dataclass
class KineticSlice:
    """Kinetic-energy densities of one sample on the plane of :func:`plane`.

    Attributes
    ----------
    u, v : numpy.ndarray (n,)
        Plane coordinates (bohr).
    rho : numpy.ndarray (n, n)
        Density (e/bohr^3), ``[i, j]`` at ``(u[i], v[j])``.
    tau_ml : numpy.ndarray (n, n)
        The model's kinetic-energy density (Ha/bohr^3).
    tau_vw : numpy.ndarray (n, n)
        The von Weizsäcker density |grad rho|^2 / (8 rho) (Ha/bohr^3).
    atoms_uv : numpy.ndarray (n_atoms, 2)
        Nuclei in plane coordinates (bohr).
    system : str
    Ts_Ha, Ts_ml_Ha : float
        Kohn–Sham and model T_s of the sample (Ha, integrals over the whole grid).
    """

    u: np.ndarray
    v: np.ndarray
    rho: np.ndarray
    tau_ml: np.ndarray
    tau_vw: np.ndarray
    atoms_uv: np.ndarray
    system: str
    Ts_Ha: float
    Ts_ml_Ha: float


def kinetic_density_slice(model, path, points: int = 61) -> KineticSlice:
    """The model's kinetic-energy density of a stored sample on a plane through the molecule.

    The model's atom features come from the sample's whole quadrature grid (as for its T_s);
    the plane's points receive them and contribute nothing to them (density weight 0).

    Parameters
    ----------
    model : KineticNet
    path : path
        A ``kinetic-2e`` sample file.
    points : int
        Points per side of the plane.

    Returns
    -------
    KineticSlice

    Raises
    ------
    FileFormatError
        An unreadable sample.
    """
    import torch
    from pyscf import dft

    from ddviz.methods.kinetic import data

    arrays, attrs = data.load(path)
    mol = data.molecule(arrays["Z"], arrays["coords"], int(attrs["charge"]))
    u, v, xyz, atoms_uv = plane(arrays["coords"], points)
    ao = dft.numint.eval_ao(mol, xyz, deriv=1)
    c = arrays["coefficients"]
    phi, dphi = ao[0] @ c, np.einsum("kgm,m->gk", ao[1:], c)
    rho, grad = 2 * phi**2, 4 * phi[:, None] * dphi
    keep = arrays["rho"] >= model.config.min_density
    dtype = model.dtype

    def cat(grid, slice_):
        return torch.as_tensor(np.concatenate([grid[keep], slice_]), dtype=dtype)

    weights = np.concatenate([arrays["weights"][keep] * arrays["rho"][keep], np.zeros(len(xyz))])
    with torch.no_grad():
        tau = model.energy_density(torch.as_tensor(arrays["Z"], dtype=torch.long),
                                   torch.as_tensor(arrays["coords"], dtype=dtype),
                                   cat(arrays["points"], xyz), cat(arrays["rho"], rho),
                                   cat(arrays["grad_rho"], grad),
                                   torch.as_tensor(weights, dtype=dtype))
        t = arrays["weights"][keep] @ tau[: int(keep.sum())].numpy()
    tau_vw = (grad**2).sum(1) / (8 * np.maximum(rho, 1e-30))
    shape = (points, points)
    return KineticSlice(u, v, rho.reshape(shape), tau[int(keep.sum()):].numpy().reshape(shape),
                        tau_vw.reshape(shape), atoms_uv, str(attrs["system"]),
                        float(attrs["Ts_Ha"]), float(t))


__all__ = ["MARGIN", "Frame", "KineticSlice", "Reference", "Watched", "kinetic_density_slice",
           "line", "orbital_density", "parity", "parity_summary", "plane", "principal_frame", "watch"]
