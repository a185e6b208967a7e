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

from ddviz.methods import load_model
from ddviz.methods.hamiltonian.data import load_samples
from ddviz.methods.hamiltonian.evaluate import evaluate, report


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
        if samples:
            print(report(model, evaluate(model, samples, args.grid_step, rng), split,
                         args.grid_step))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
