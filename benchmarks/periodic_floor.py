"""How much of a Gamma-point metal density a local model can learn. Asserts nothing.

    python benchmarks/periodic_floor.py [--data assets/datasets/al32] [--frame 12] [--out DIR]

(with ddviz installed, or ``PYTHONPATH=.``; needs CP2K, ~7 min of one core at 400 Ry). For one
snapshot of a periodic dataset built by ``ddviz dataset`` (default: the first al32 test snapshot):

1. **k-sampling content**: the same atoms computed by CP2K with the dataset's method in the 2x1x1
   supercell (its Gamma point is the small cell's Gamma and X points). Both densities describe the
   same atoms; their relative L1 difference over the small cell is density that depends on the
   Brillouin-zone sampling, not on the atoms near a point, so no local model (Deep Density's sum
   of per-atom terms within rcut) can learn it from Gamma-point references of this cell.
2. **spherical floor**: the best least-squares fit of a sum of identical spherical per-atom terms
   (40 Gaussian radial functions to 9 bohr) to the snapshot, for comparison with a model's error.

Both print as relative L1 over the snapshot's grid (percent). ``--out`` keeps the supercell
snapshot (netCDF) and reuses it when run again.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def spherical_floor(sample, rcut: float = 9.0, basis: int = 40) -> float:
    """Relative L1 of the least-squares sum of identical spherical per-atom terms (bohr grid)."""
    points = np.asarray(sample.grid.points()).reshape(-1, 3)
    ref = np.asarray(sample.density, dtype=float).ravel()
    cell = np.asarray(sample.cell_bohr)
    centres = np.linspace(0.0, rcut, basis)
    width = 1.2 * rcut / basis
    shifts = np.array([[a, b, c] for a in (-1, 0, 1) for b in (-1, 0, 1)
                       for c in (-1, 0, 1)]) @ cell
    design = np.zeros((len(points), basis))
    for x in np.asarray(sample.positions_bohr):
        for shift in shifts:
            d = np.linalg.norm(points - x - shift, axis=1)
            near = d < rcut
            taper = 0.5 * (1 + np.cos(np.pi * d[near] / rcut))
            design[near] += np.exp(-((d[near, None] - centres) / width) ** 2) * taper[:, None]
    coef, *_ = np.linalg.lstsq(design, ref, rcond=None)
    return float(np.abs(design @ coef - ref).sum() / np.abs(ref).sum())


def main() -> None:
    """Print the k-sampling content and the spherical floor of one snapshot."""
    import ase.io

    from ddviz import io
    from ddviz.io.snapshots import snapshot_files
    from ddviz.reference.cp2k import CP2KSettings, compute
    from ddviz.reference.dataset import RECIPE, TRAJECTORY

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "assets" / "datasets" / "al32"))
    parser.add_argument("--frame", type=int, default=None,
                        help="trajectory frame (default: the first test snapshot's)")
    parser.add_argument("--out", default=None, help="folder to keep the supercell snapshot in")
    args = parser.parse_args()
    data = Path(args.data)
    small_file = (data / f"{data.name}_{args.frame:04d}.nc" if args.frame is not None
                  else snapshot_files(data, "test")[0])
    small = io.read(small_file)
    frame = int(small.provenance["frame"])
    settings = CP2KSettings(**json.loads((data / RECIPE).read_text())["scf"])
    keep = Path(args.out) / f"{data.name}_{frame:04d}_2x1x1.nc" if args.out else None
    if keep is not None and keep.is_file():
        big = io.read(keep)
    else:
        atoms = ase.io.read(data / TRAJECTORY, index=frame)
        big = compute(atoms.repeat((2, 1, 1)), settings)
        if keep is not None:
            keep.parent.mkdir(parents=True, exist_ok=True)
            io.write(big, keep)
    a = np.asarray(small.density, dtype=float)
    b = np.asarray(big.density, dtype=float)
    n = a.shape[0]
    if b.shape != (2 * n, *a.shape[1:]):
        raise SystemExit(f"supercell grid {b.shape} is not twice {a.shape} along a")
    halves = float(np.abs(b[:n] - b[n:]).sum() / np.abs(b[:n]).sum())
    content = float(np.abs(b[:n] - a).sum() / np.abs(a).sum())
    print(f"snapshot {small_file.name} (frame {frame}, {len(small.atoms)} atoms, "
          f"k-points: {small.provenance.get('kpoints', 'Gamma')})")
    print(f"  CP2K SCF: cell {small.provenance.get('scf_wall_s', float('nan')):.0f} s, "
          f"2x1x1 supercell {big.provenance.get('scf_wall_s', float('nan')):.0f} s")
    print(f"  electrons: cell {a.sum() * small.grid.voxel_volume:.5f}, supercell half "
          f"{b[:n].sum() * big.grid.voxel_volume:.5f}")
    print(f"  supercell halves agree to rel L1 {100 * halves:.2e} %")
    print(f"  k-sampling content (cell Gamma vs 2x1x1 Gamma): rel L1 {100 * content:.3f} %")
    print(f"  spherical floor (best sum of identical spherical atom terms): rel L1 "
          f"{100 * spherical_floor(small):.3f} %")


if __name__ == "__main__":
    main()
