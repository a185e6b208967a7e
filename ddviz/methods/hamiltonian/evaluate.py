"""Errors of a Hamiltonian model on dataset samples, and ``ddviz evaluate`` for such models.

Against the PySCF reference of each sample: H-element MAE (all elements, and those within the
model's cutoff), occupied orbital-energy MAE and HOMO-LUMO gap error of H C = S C e, the
relative L1 of the implied density on the standard grid (0.2 bohr, 4 bohr margin; ``grid_step``
thins it), seconds per prediction against the stored SCF time, and the equivariance error
max |H(R x) - D H(x) D^T| over one random rotation per sample.

For one structure (what the app shows): :func:`block_errors`, the mean |error| of each atom-pair
block of H, and :func:`orbital_levels`, the predicted beside the reference orbital energies
(:class:`OrbitalLevels`, with the window of levels around the gap a level diagram draws).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ddviz.grid import Grid
from ddviz.methods.hamiltonian.data import load_samples, random_rotation
from ddviz.methods.hamiltonian.predict import HamiltonianPrediction, from_fock, predict

MEV = 27211.386245988  # meV per Ha


def cutoff_mask(sample, cutoff: float) -> np.ndarray:
    """(nao, nao) bool: elements of atom pairs closer than ``cutoff`` (bohr), on-site included."""
    layout = sample.layout
    atom = np.repeat(np.arange(len(sample.numbers)), np.diff(layout.offsets))
    d = np.linalg.norm(sample.positions_bohr[:, None] - sample.positions_bohr[None], axis=-1)
    return (d < cutoff)[np.ix_(atom, atom)]


def evaluate(model, samples, grid_step: int = 1, rng=None) -> dict:
    """Pooled errors of ``model`` on ``samples`` (see the module docstring).

    Parameters
    ----------
    model : HamiltonianModel
    samples : list of (str, HamiltonianSample)
        As :func:`ddviz.methods.hamiltonian.data.load_samples` returns them.
    grid_step : int
        Evaluate the densities on every ``grid_step``-th point of the standard grid per axis.
    rng : numpy.random.Generator, optional
        For the rotations of the equivariance check (default: seed 0).

    Returns
    -------
    dict
        ``samples``, ``atoms``, ``h_mae_mev``, ``h_mae_cutoff_mev``, ``occ_mae_mev``,
        ``gap_err_mev``, ``rel_l1``, ``rel_l1_max``, ``t_pred_s``, ``t_scf_s``,
        ``equivariance_ha``.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    rows = {k: [] for k in ("h_all", "h_cut", "occ", "gap", "rel_l1", "t_pred", "t_scf", "equi")}
    for _, s in samples:
        pred = predict(model, s.numbers, s.positions_bohr)
        err = pred.hamiltonian - s.fock
        rows["h_all"].append(np.abs(err).ravel())
        rows["h_cut"].append(np.abs(err[cutoff_mask(s, model.config.cutoff)]))
        n = pred.nocc
        ref = from_fock(s.numbers, s.positions_bohr, s.fock, s.overlap, pred.basis)
        e_ref = ref.eigenvalues
        rows["occ"].append(np.abs(pred.eigenvalues[:n] - e_ref[:n]))
        rows["gap"].append(abs((pred.lumo - pred.homo) - (e_ref[n] - e_ref[n - 1])))
        grid = Grid.around(s.positions_bohr)
        if grid_step > 1:
            grid = grid.every(grid_step)
        rho_ref = ref.orbitals().evaluate_grid(grid)
        rho = pred.orbitals().evaluate_grid(grid)
        rows["rel_l1"].append(np.abs(rho - rho_ref).sum() / np.abs(rho_ref).sum())
        rows["t_pred"].append(pred.seconds)
        rows["t_scf"].append(s.provenance.get("scf_seconds", np.nan))
        rows["equi"].append(equivariance_error(model, s, rng))
    cat = {k: np.concatenate(v) if k.startswith("h_") or k == "occ" else np.asarray(v)
           for k, v in rows.items()}
    out = {"samples": len(samples), "atoms": sorted({len(s.numbers) for _, s in samples}),
            "h_mae_mev": cat["h_all"].mean() * MEV, "h_mae_cutoff_mev": cat["h_cut"].mean() * MEV,
            "occ_mae_mev": cat["occ"].mean() * MEV, "gap_err_mev": cat["gap"].mean() * MEV,
            "rel_l1": cat["rel_l1"].mean(), "rel_l1_max": cat["rel_l1"].max(),
            "t_pred_s": cat["t_pred"].mean(), "t_scf_s": np.nanmean(cat["t_scf"]),
            "equivariance_ha": cat["equi"].max()}
    return {k: float(v) if isinstance(v, np.floating) else v for k, v in out.items()}


def equivariance_error(model, sample, rng) -> float:
    """Max |H(R x) - D H(x) D^T| (Ha) for one random rotation R, in the model's dtype."""
    rot = random_rotation(rng)
    z = torch.as_tensor(sample.numbers)
    with torch.no_grad():
        h = model(z, torch.as_tensor(sample.positions_bohr, dtype=model.dtype)).double().numpy()
        h_rot = model(z, torch.as_tensor(sample.positions_bohr @ rot.T,
                                         dtype=model.dtype)).double().numpy()
    d = sample.layout.rotation(rot)
    return float(np.abs(d @ h @ d.T - h_rot).max())


def block_errors(predicted: np.ndarray, reference: np.ndarray, layout) -> np.ndarray:
    """Mean |H_pred - H_ref| of each atom-pair block (Ha): the error map of a Hamiltonian.

    Parameters
    ----------
    predicted, reference : numpy.ndarray, shape (nao, nao)
        Kohn–Sham matrices (Ha) in the AO order of ``layout``.
    layout : ddviz.methods.hamiltonian.basis.AOLayout
        The atoms' shells: block (I, J) holds the rows of atom I's and the columns of atom J's
        orbitals.

    Returns
    -------
    numpy.ndarray, shape (natoms, natoms)
        Element (I, J): the mean absolute error of block (I, J) (Ha); on the diagonal the
        on-site blocks. Symmetric for symmetric matrices. ``* MEV`` gives meV.

    Raises
    ------
    ddviz.errors.DdvizError
        The matrices do not have the layout's (nao, nao) shape.
    """
    from ddviz.errors import DdvizError

    predicted, reference = np.asarray(predicted, float), np.asarray(reference, float)
    nao = layout.nao
    if predicted.shape != (nao, nao) or reference.shape != (nao, nao):
        raise DdvizError(f"matrices {predicted.shape} and {reference.shape} do not fit the "
                         f"{nao} orbitals of the layout")
    err = np.abs(predicted - reference)
    n = len(layout.offsets) - 1
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = layout.block(err, i, j).mean()
    return out


@dataclass(frozen=True)
class OrbitalLevels:
    """Predicted beside reference orbital energies (Ha, ascending) of one structure.

    Attributes
    ----------
    predicted : numpy.ndarray, shape (nao,)
        Eigenvalues of H C = S C e with the predicted Kohn–Sham matrix (Ha).
    reference : numpy.ndarray, shape (nao,), or None
        The same with the reference Kohn–Sham matrix (Ha); None without one.
    nocc : int
        Doubly occupied orbitals (the same count for both: the same electrons).
    """

    predicted: np.ndarray
    reference: np.ndarray | None
    nocc: int

    @property
    def occupied_mae(self) -> float:
        """Mean |e_pred - e_ref| over the occupied orbitals (Ha); NaN without a reference."""
        if self.reference is None:
            return float("nan")
        n = self.nocc
        return float(np.abs(self.predicted[:n] - self.reference[:n]).mean())

    def gap(self, which: str) -> float | None:
        """HOMO-LUMO gap (Ha) of ``which`` ('predicted' or 'reference'); None without a LUMO."""
        e = getattr(self, which)
        if e is None:
            return None
        return float(e[self.nocc] - e[self.nocc - 1]) if self.nocc < len(e) else None

    def window(self, below: int = 5, above: int = 5) -> list[tuple[int, str, float, float]]:
        """The levels around the gap: (index, 'occupied'/'virtual', predicted, reference) in Ha.

        The ``below`` highest occupied and ``above`` lowest virtual orbitals (fewer where the
        basis has fewer), in ascending order; what a level diagram shows. The reference entry
        is None without a reference.
        """
        lo, hi = max(self.nocc - below, 0), min(self.nocc + above, len(self.predicted))
        ref = self.reference
        return [(k, "occupied" if k < self.nocc else "virtual", float(self.predicted[k]),
                 None if ref is None else float(ref[k])) for k in range(lo, hi)]


def orbital_levels(predicted: HamiltonianPrediction,
                   reference: HamiltonianPrediction | None = None) -> OrbitalLevels:
    """The orbital energies of a prediction beside those of its reference.

    Parameters
    ----------
    predicted : HamiltonianPrediction
        :func:`~ddviz.methods.hamiltonian.predict.predict`.
    reference : HamiltonianPrediction, optional
        Of the same structure (:func:`~ddviz.methods.hamiltonian.predict.from_fock`); without
        it the levels are the prediction's alone.

    Returns
    -------
    OrbitalLevels

    Raises
    ------
    ddviz.errors.DdvizError
        The two have different numbers of orbitals or electrons.
    """
    from ddviz.errors import DdvizError

    if reference is None:
        return OrbitalLevels(np.asarray(predicted.eigenvalues, float), None, predicted.nocc)
    if (len(predicted.eigenvalues) != len(reference.eigenvalues)
            or predicted.nelectron != reference.nelectron):
        raise DdvizError(f"the prediction ({len(predicted.eigenvalues)} orbitals, "
                         f"{predicted.nelectron} electrons) and the reference "
                         f"({len(reference.eigenvalues)}, {reference.nelectron}) differ")
    return OrbitalLevels(np.asarray(predicted.eigenvalues, float),
                         np.asarray(reference.eigenvalues, float), predicted.nocc)


def report(model, result: dict, split: str, grid_step: int) -> str:
    """The lines ``ddviz evaluate`` and the benchmark print for one split's :func:`evaluate`."""
    r = result
    return "\n".join([
        f"== {split}: {r['samples']} samples, {r['atoms']} atoms",
        f"H-element MAE               {r['h_mae_mev']:9.2f} meV (all elements; "
        f"{r['h_mae_cutoff_mev']:.2f} meV within the {model.config.cutoff} bohr cutoff)",
        f"occupied orbital-energy MAE {r['occ_mae_mev']:9.2f} meV",
        f"HOMO-LUMO gap |error|       {r['gap_err_mev']:9.2f} meV",
        f"implied density rel L1      {100 * r['rel_l1']:9.3f} % (max "
        f"{100 * r['rel_l1_max']:.3f} %; grid step {grid_step})",
        f"seconds per structure       {r['t_pred_s']:9.3f} s predicted vs "
        f"{r['t_scf_s']:.2f} s PySCF SCF ({r['t_scf_s'] / r['t_pred_s']:.1f}x)",
        f"equivariance error          {r['equivariance_ha']:9.2e} Ha ({model.dtype})"])


def run(args) -> int:
    """``ddviz evaluate MODEL DATASET... [--split S] [--json]`` for a Hamiltonian model."""
    import json

    from ddviz.methods.hamiltonian.files import load_model

    model, _ = load_model(args.model)
    splits = [args.split] if args.split else ["test", "transfer"]
    results = {}
    for split in splits:
        samples = load_samples(args.references, split=split)
        if samples:
            results[split] = evaluate(model, samples)
    if args.json:
        print(json.dumps(results))
    else:
        for split, result in results.items():
            print(report(model, result, split, 1))
    return 0
