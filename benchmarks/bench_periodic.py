"""Periodic cells: the figures of issue 11 for water boxes and bulk aluminium. Asserts nothing.

    python benchmarks/bench_periodic.py [--data DIR] [--threads 2] [--systems water aluminium]

(with ddviz installed, or ``PYTHONPATH=.`` from the repository root). For each system: its model
(``models/water-box.safetensors``, ``models/aluminium.safetensors``) on the test snapshots of the
training size (``DIR/water32-box``, ``DIR/al32``) and of the transfer size (``DIR/water64-box``,
``DIR/al108``), all built by ``ddviz dataset NAME -o DIR/NAME`` (CP2K, periodic):

- rel L1 and rel L2 pooled over each size's test snapshots, and the growth ratio (transfer / train);
- electrons of each predicted cell against the GTH valence count (no renormalisation);
- microseconds per grid point at both sizes (this run, ``--threads`` torch threads);
- the speed-up of the prediction over CP2K's SCF of the same snapshot (``scf_wall_s`` recorded in
  each snapshot's provenance when it was computed, one thread).

A missing model or dataset is reported as such and skipped.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = {"water": ("water-box", "water32-box", "water64-box"),
           "aluminium": ("aluminium", "al32", "al108")}
TARGETS = {"water": (0.010, 0.012), "aluminium": (0.010, 0.013)}


def size_figures(predictor, folder: Path) -> dict | None:
    """Pooled errors, electrons, time per point and speed-up on a dataset's test snapshots."""
    from ddviz import io
    from ddviz.evaluate.comparison import compute_comparison
    from ddviz.evaluate.metrics import error_sums, pooled
    from ddviz.io.snapshots import snapshot_files
    from ddviz.reference.cp2k import valence_electrons

    if not folder.is_dir():
        return None
    files = snapshot_files(folder, "test")
    if not files:
        return None
    sums, seconds, points, electrons, speedups = [], 0.0, 0, [], []
    for path in files:
        ref = io.read(path)
        c = compute_comparison(ref.atoms, predictor, ref)
        sums.append(error_sums(c.predicted, c.reference, c.grid))
        seconds += c.seconds
        points += c.grid.size
        n = sums[-1].metrics()["electrons_pred"]
        electrons.append(n / valence_electrons(ref.atoms.get_chemical_symbols()) - 1)
        scf = ref.provenance.get("scf_wall_s")
        if scf:
            speedups.append(float(scf) / c.seconds)
    return {"files": len(files), **pooled(sums), "us_per_point": 1e6 * seconds / points,
            "electron_error": float(np.max(np.abs(electrons))),
            "speedup": float(np.min(speedups)) if speedups else float("nan"),
            "natoms": len(ref.atoms)}


def main() -> None:
    """Print the figures of every system whose model and data exist."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "assets" / "datasets"),
                        help="folder of the dataset folders (default %(default)s)")
    parser.add_argument("--models", default=str(ROOT / "models"),
                        help="folder of the model files (default %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from ddviz.evaluate.predictor import Predictor
    from ddviz.methods.deep_density.files import load_model

    print(f"{'system':10s} {'size':12s} {'atoms':>5s} {'files':>5s} {'rel_l1':>8s} {'rel_l2':>8s} "
          f"{'target':>7s} {'|dN|/N':>8s} {'us/point':>9s} {'vs CP2K':>9s}")
    for system in args.systems:
        model_name, train, transfer = SYSTEMS[system]
        model_path = Path(args.models) / f"{model_name}.safetensors"
        if not model_path.is_file():
            print(f"{system:10s} no model {model_path}: train it first")
            continue
        predictor = Predictor(load_model(model_path)[0], device="cpu")
        rows = {}
        for label, name, target in zip(("train size", "transfer"), (train, transfer),
                                       TARGETS[system]):
            fig = size_figures(predictor, Path(args.data) / name)
            if fig is None:
                print(f"{system:10s} {label:12s} no test snapshots in {Path(args.data) / name} "
                      f"(ddviz dataset {name} -o {Path(args.data) / name})")
                continue
            rows[label] = fig
            print(f"{system:10s} {label:12s} {fig['natoms']:5d} {fig['files']:5d} "
                  f"{fig['rel_l1']:8.3%} {fig['rel_l2']:8.3%} {target:7.1%} "
                  f"{fig['electron_error']:8.3%} {fig['us_per_point']:9.2f} "
                  f"{fig['speedup']:8.0f}x")
        if len(rows) == 2:
            a, b = rows["train size"], rows["transfer"]
            print(f"{system:10s} growth: rel L1 x{b['rel_l1'] / a['rel_l1']:.2f}, time per point "
                  f"x{b['us_per_point'] / a['us_per_point']:.2f}")


if __name__ == "__main__":
    main()
