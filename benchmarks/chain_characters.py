"""Show that the 1D chains have the characters they claim: band gaps, screening, SCF mixing.

Prints the dense-k band gap of each 8-atom chain, the decay length and far weight of the bare
(chi0 dV, frozen potential) and self-consistent density responses to a localised perturbation in
24-atom chains, and the SCF iteration counts of Pulay+Kerker vs plain linear mixing; plots the
responses to PNG.

    python benchmarks/chain_characters.py [-o chain_characters.png]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ddviz.toys.chain1d.md import displaced_chain
from ddviz.toys.chain1d.response import characters
from ddviz.toys.chain1d.solver import ChainSettings, solve


def mixing_table(max_iter: int = 300) -> list[tuple]:
    """SCF iterations to 1e-10 for each mixer on displaced chains (8 atoms nk=2; 32 atoms Gamma)."""
    rows = []
    cases = [("metallic", 8, 2), ("insulating", 8, 2), ("mixed", 8, 2), ("metallic", 32, 1)]
    mixers = [("pulay+kerker", "pulay", None, None), ("linear a=0.3", "linear", 0.3, 0.0),
              ("linear a=0.1", "linear", 0.1, 0.0), ("linear+kerker", "linear", 0.5, 0.3)]
    for character, natoms, nk in cases:
        chain = displaced_chain(character, natoms, 0.2, 1)
        for label, kind, alpha, q0 in mixers:
            t = time.perf_counter()
            res = solve(chain, ChainSettings(nk=nk, max_iter=max_iter), mixer=kind, alpha=alpha, q0=q0,
                        raise_on_failure=False)
            ok = res.residuals[-1] < res.settings.tol
            rows.append((f"{character} {natoms}", label, res.iterations if ok else None,
                         res.residuals[-1], time.perf_counter() - t))
    return rows


def plot(out: dict, path: Path) -> None:
    fig, axes = plt.subplots(len(out), 2, figsize=(11, 3.2 * len(out)), squeeze=False)
    for row, (name, r) in zip(axes, out.items()):
        x = r["x"] - r["x0"]
        for key, label in (("dn_bare", "bare  $\\chi_0\\,\\delta V$"),
                           ("dn_scf", "self-consistent")):
            row[0].plot(x, r[key], label=label)
            row[1].semilogy(x, np.abs(r[key]) + 1e-16, label=label)
        atoms = r["base"].chain.positions - r["x0"]
        for a in atoms:
            row[0].axvline(a, color="0.85", lw=0.6, zorder=0)
        row[0].set_title(f"{name}: gap {r['gap_Ha']:.3f} Ha")
        row[1].set_title(f"decay: bare {r['decay_bare']:.2f}, scf {r['decay_scf']:.2f} bohr")
        row[0].set_ylabel("δn (electrons/bohr per Ha)")
        row[1].set_ylim(1e-13, None)
        for ax in row:
            ax.set_xlabel("x - x0 (bohr)")
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="chain_characters.png")
    parser.add_argument("--no-mixing", action="store_true", help="skip the mixing comparison")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    out = characters()
    print(f"{'chain':<11} {'gap (Ha)':>9} {'decay bare':>11} {'decay scf':>10} {'far bare':>9} "
          f"{'far scf':>8} {'peak bare':>10} {'peak scf':>9}")
    for name, r in out.items():
        print(f"{name:<11} {r['gap_Ha']:9.4f} {r['decay_bare']:11.2f} {r['decay_scf']:10.2f} "
              f"{r['far_bare']:9.3f} {r['far_scf']:8.3f} {np.abs(r['dn_bare']).max():10.3f} "
              f"{np.abs(r['dn_scf']).max():9.3f}")
    print("(decay: envelope decay length in bohr; far: weight of |dn| beyond 8 bohr; "
          "peak: max |dn| in electrons/bohr per Ha)")
    plot(out, Path(args.output))
    print(f"plot: {args.output}  ({time.perf_counter() - t0:.1f} s)")
    if not args.no_mixing:
        print(f"\n{'cell':<14} {'mixer':<14} {'iterations':>10} {'residual':>10} {'time (s)':>9}")
        for cell, label, its, res, dt in mixing_table():
            its = "failed" if its is None else str(its)
            print(f"{cell:<14} {label:<14} {its:>10} {res:10.1e} {dt:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
