"""EDNN and DCIGN on held-out 2D Kohn–Sham potentials: every figure of the models' card.

Run ``python benchmarks/bench_plane2d.py DATASET`` (a ``ddviz dataset plane2d`` folder; the test
split, i.e. potentials never seen in training, is used) with the shipped models
``models/ednn-rho.safetensors``, ``models/ednn-v.safetensors``, ``models/dcign.safetensors``
(``--models DIR`` for others) and optionally ``--cross MODEL``, an EDNN that reads LDA densities
and predicts GGA energies. Prints (and with ``--json`` writes one JSON object):

- EDNN from rho and from v_ext: MAE per term (mHa) and relative error (MAE / mean |E|);
- DCIGN: density relative L1/L2, largest electron-count error; the exact functionals
  (E_ext, E_H, E_x, E_c) of its densities and the EDNN-from-rho energies of its densities,
  against the reference energies;
- extensivity: pairs of test systems put into one 96 x 96 canvas (:func:`ddviz.methods.ednn.
  evaluate.two_systems`, the two boxes touching at a corner); the EDNN-from-rho energy of the
  canvas against the sum of the two references for the local terms T_s, E_x, E_c (their MAE over
  pairs divided by the single-system MAE of the same term: the target is <= 2), and E_H, which
  is non-local: the canvas's true E_H holds the cross term (integral of rho_a rho_b / r, computed
  exactly), which a model whose tiles see 2.67 bohr around them cannot see;
- cross-functional: GGA energies from LDA densities, beside the same-functional figure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ddviz.methods import load_model
from ddviz.methods.ednn.data import ENERGY_KEYS, load_images
from ddviz.methods.ednn.evaluate import (
    energy_errors,
    evaluate_model,
    extensivity,
    two_systems,
)
from ddviz.toys.plane2d.solver import Box, hartree

LOCAL = ("E_kin", "E_x", "E_c")


def extensivity_figures(model, images, functional: str, pairs: int = 20) -> dict:
    """Two-system canvases of test pairs (i, i + 1): errors of local terms and E_H."""
    ref = images.energies[functional]
    rho = images.rho[functional].astype(np.float64)
    single = energy_errors(model.predict(rho), ref)["mae_mha"]
    err = {k: [] for k in (*LOCAL, "E_H")}
    cross, missed = [], []
    h = model.config.pixel
    for i in range(min(pairs, len(images) - 1)):
        a, b = rho[i], rho[i + 1]
        e = extensivity(model, a, b)
        for k in LOCAL:
            j = ENERGY_KEYS.index(k)
            err[k].append(abs(e["together"][k] - (ref[i, j] + ref[i + 1, j])))
        canvas = two_systems(a, b)
        e_h_true = hartree(canvas, Box(canvas.shape[0], canvas.shape[0] * h))[1]
        j = ENERGY_KEYS.index("E_H")
        cross.append(e_h_true - ref[i, j] - ref[i + 1, j])
        err["E_H"].append(abs(e["together"]["E_H"] - e_h_true))
        missed.append(abs(e["together"]["E_H"] - e["sum"]["E_H"]))
    out = {"pairs": len(cross)}
    for k in LOCAL:
        mae = 1e3 * float(np.mean(err[k]))
        out[k] = {"two_system_mae_mha": mae, "single_mae_mha": single[k],
                  "ratio": mae / single[k]}
    out["E_H"] = {"two_system_mae_mha": 1e3 * float(np.mean(err["E_H"])),
                  "single_mae_mha": single["E_H"],
                  "cross_term_mean_mha": 1e3 * float(np.mean(cross)),
                  "model_together_minus_sum_mha": 1e3 * float(np.mean(missed))}
    return out


def main(argv=None) -> int:
    """Print the figures; returns 0."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", help="a ddviz dataset plane2d folder")
    p.add_argument("--models", default="models", help="folder with the three model files")
    p.add_argument("--cross", default=None, help="an EDNN reading LDA densities for GGA energies")
    p.add_argument("--split", default="test")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    images = load_images(args.dataset, args.split)
    folder = Path(args.models)
    result = {"dataset": args.dataset, "split": args.split, "n": len(images)}
    for name in ("ednn-rho", "ednn-v", "dcign"):
        model, _ = load_model(folder / f"{name}.safetensors")
        result[name] = evaluate_model(model, images)
    rho_model, _ = load_model(folder / "ednn-rho.safetensors")
    functional = rho_model.config.functional
    dcign, _ = load_model(folder / "dcign.safetensors")
    rho_pred = dcign.predict(images.v_ext, images.electrons)
    result["ednn-rho_on_dcign_density"] = energy_errors(rho_model.predict(rho_pred),
                                                        images.energies[functional])
    result["extensivity"] = extensivity_figures(rho_model, images, functional)
    if args.cross:
        cross, _ = load_model(args.cross)
        result["cross"] = evaluate_model(cross, images)
    result["seconds"] = time.perf_counter() - t0

    print(f"{args.dataset} [{args.split}]: {len(images)} samples, held-out potentials")
    print(f"{'model':34s} " + " ".join(f"{k:>14s}" for k in ENERGY_KEYS))
    rows = [("EDNN from rho", result["ednn-rho"]["pooled"]),
            ("EDNN from v_ext", result["ednn-v"]["pooled"]),
            ("exact functionals of DCIGN rho", result["dcign"]["exact_functionals"]),
            ("EDNN from rho of DCIGN rho", result["ednn-rho_on_dcign_density"])]
    if args.cross:
        rows.append(("EDNN GGA energies from LDA rho", result["cross"]["pooled"]))
    for label, r in rows:
        print(f"{label:34s} " + " ".join(
            f"{r['mae_mha'][k]:7.2f} {r['rel_mae'][k]:6.2%}" if k in r["mae_mha"] else " " * 14
            for k in ENERGY_KEYS))
    print("  (MAE mHa, relative error = MAE / mean |E|)")
    d = result["dcign"]["pooled"]
    print(f"DCIGN density: rel L1 {d['rel_l1']:.3%}, rel L2 {d['rel_l2']:.3%}, largest "
          f"|N_pred - N| {d['electrons_max_err']:.1e} electrons")
    ext = result["extensivity"]
    print(f"extensivity ({ext['pairs']} two-system 96 x 96 canvases, EDNN from rho):")
    for k in LOCAL:
        e = ext[k]
        print(f"  {k}: two-system MAE {e['two_system_mae_mha']:.2f} mHa vs single "
              f"{e['single_mae_mha']:.2f} mHa, ratio {e['ratio']:.2f}")
    e = ext["E_H"]
    print(f"  E_H: two-system MAE {e['two_system_mae_mha']:.1f} mHa (single "
          f"{e['single_mae_mha']:.1f}); the true cross term averages "
          f"{e['cross_term_mean_mha']:.1f} mHa, the model's canvas E_H differs from its sum of "
          f"parts by {e['model_together_minus_sum_mha']:.3f} mHa (non-local, unseen by tiles)")
    print(f"{result['seconds']:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
