"""DeepH-E3 (method "hamiltonian") against PySCF on held-out samples: the issue-15 table.

For every sample of the dataset's ``test`` split (and, separately, its ``transfer`` split:
larger clusters than the model was trained on) prints, pooled over the samples:

- H-element MAE (meV) over every element of the Kohn–Sham matrix (atom pairs beyond the model's
  cutoff count as predicted zeros), and over the elements within the cutoff;
- occupied orbital-energy MAE (meV) of H C = S C e (S exact, from PySCF) against PySCF's;
- mean |gap error| (meV) of the HOMO-LUMO gap;
- relative L1 of the implied density (occupied orbitals of the predicted H) against PySCF's
  density (orbitals of the reference F) on the standard grid (0.2 bohr, 4 bohr margin;
  ``--grid-step 2`` evaluates every 2nd point per axis, 8x fewer);
- seconds per structure: the prediction (network + overlap + eigenproblem) and the PySCF SCF
  stored with the sample (single-threaded, as the dataset was built);
- the equivariance error: max |H(R x) - D H(x) D^T| (Ha) in the model's dtype over random
  rotations of every sample.

Run: ``python benchmarks/bench_hamiltonian.py --model models/hamiltonian-water.safetensors
--data data/hamiltonian-water``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from ddviz.grid import Grid
from ddviz.methods import load_model
from ddviz.methods.hamiltonian.data import load_samples, random_rotation
from ddviz.methods.hamiltonian.predict import HamiltonianPrediction, predict, solve

MEV = 27211.386245988  # meV per Ha


def cutoff_mask(sample, cutoff: float) -> np.ndarray:
    """(nao, nao) bool: elements of atom pairs closer than ``cutoff`` (bohr), on-site included."""
    layout = sample.layout
    atom = np.repeat(np.arange(len(sample.numbers)), np.diff(layout.offsets))
    d = np.linalg.norm(sample.positions_bohr[:, None] - sample.positions_bohr[None], axis=-1)
    return (d < cutoff)[np.ix_(atom, atom)]


def evaluate(model, samples, grid_step: int, rng) -> dict:
    """Pooled errors of ``model`` on ``samples`` (see the module docstring)."""
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
    return {"samples": len(samples), "atoms": sorted({len(s.numbers) for _, s in samples}),
            "h_mae_mev": cat["h_all"].mean() * MEV, "h_mae_cutoff_mev": cat["h_cut"].mean() * MEV,
            "occ_mae_mev": cat["occ"].mean() * MEV, "gap_err_mev": cat["gap"].mean() * MEV,
            "rel_l1": cat["rel_l1"].mean(), "rel_l1_max": cat["rel_l1"].max(),
            "t_pred_s": cat["t_pred"].mean(), "t_scf_s": np.nanmean(cat["t_scf"]),
            "equivariance_ha": cat["equi"].max()}


def equivariance_error(model, sample, rng) -> float:
    """max |H(R x) - D H(x) D^T| (Ha) for one random rotation R, in the model's dtype."""
    rot = random_rotation(rng)
    z = torch.as_tensor(sample.numbers)
    with torch.no_grad():
        h = model(z, torch.as_tensor(sample.positions_bohr, dtype=model.dtype)).double().numpy()
        h_rot = model(z, torch.as_tensor(sample.positions_bohr @ rot.T,
                                         dtype=model.dtype)).double().numpy()
    d = sample.layout.rotation(rot)
    return float(np.abs(d @ h @ d.T - h_rot).max())


def main() -> None:
    """Print the table for the test split and the transfer split."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="models/hamiltonian-water.safetensors")
    p.add_argument("--data", default="data/hamiltonian-water")
    p.add_argument("--grid-step", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model, _ = load_model(args.model)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for split in ("test", "transfer"):
        samples = load_samples([args.data], split=split)
        if not samples:
            continue
        r = evaluate(model, samples, args.grid_step, rng)
        print(f"== {split}: {r['samples']} samples, {r['atoms']} atoms")
        print(f"H-element MAE               {r['h_mae_mev']:9.2f} meV (all elements; "
              f"{r['h_mae_cutoff_mev']:.2f} meV within the {model.config.cutoff} bohr cutoff)")
        print(f"occupied orbital-energy MAE {r['occ_mae_mev']:9.2f} meV")
        print(f"HOMO-LUMO gap |error|       {r['gap_err_mev']:9.2f} meV")
        print(f"implied density rel L1      {100 * r['rel_l1']:9.3f} % (max "
              f"{100 * r['rel_l1_max']:.3f} %; grid step {args.grid_step})")
        print(f"seconds per structure       {r['t_pred_s']:9.3f} s predicted vs "
              f"{r['t_scf_s']:.2f} s PySCF SCF ({r['t_scf_s'] / r['t_pred_s']:.1f}x)")
        print(f"equivariance error          {r['equivariance_ha']:9.2e} Ha ({model.dtype})")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
