"""Errors of a Hamiltonian model on dataset samples, and ``ddviz evaluate`` for such models.

Against the PySCF reference of each sample: H-element MAE (all elements, and those within the
model's cutoff), occupied orbital-energy MAE and HOMO-LUMO gap error of H C = S C e, the
relative L1 of the implied density on the standard grid (0.2 bohr, 4 bohr margin; ``grid_step``
thins it), seconds per prediction against the stored SCF time, and the equivariance error
max |H(R x) - D H(x) D^T| over one random rotation per sample.
"""

from __future__ import annotations

import numpy as np
import torch

from ddviz.grid import Grid
from ddviz.methods.hamiltonian.data import load_samples, random_rotation
from ddviz.methods.hamiltonian.predict import HamiltonianPrediction, predict, solve

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
        e_ref, c_ref = solve(s.fock, s.overlap)
        rows["occ"].append(np.abs(pred.eigenvalues[:n] - e_ref[:n]))
        rows["gap"].append(abs((pred.lumo - pred.homo) - (e_ref[n] - e_ref[n - 1])))
        grid = Grid.around(s.positions_bohr)
        if grid_step > 1:
            grid = grid.every(grid_step)
        ref = HamiltonianPrediction(s.numbers, s.positions_bohr, s.fock, s.overlap, e_ref, c_ref,
                                    pred.nelectron, pred.basis, 0.0)
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
