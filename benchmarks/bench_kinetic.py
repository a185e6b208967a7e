"""KineticNet on held-out two-electron samples: every figure of the model's card.

Run ``python benchmarks/bench_kinetic.py DATASET`` (a ``ddviz dataset kinetic-2e`` folder; its
test split, samples never seen in training) with ``--model`` (default
``models/kinetic-2e.safetensors``). Prints (and with ``--json`` one JSON object):

- T_s MAE (mHa) over the test samples (perturbed and not), per system and overall;
- the relative L2 error of dT_s/drho projected on the basis (g_mu = <4 phi chi_mu | dT/drho>,
  without its electron-count component; :mod:`ddviz.methods.kinetic.training`), pooled;
- OF-DFT with the model for H2, HeH+ and H3+ at held-out geometries (the first ``--ofdft``
  unperturbed test samples of each system): energy error against the Kohn–Sham SCF of the same
  functional, basis and grid (mHa), density relative L1, iterations, converged, and the wall time
  of the OF-DFT run against the Kohn–Sham SCF's; the same with the exact von Weizsäcker
  functional as a check of the machinery.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch


def main(argv=None) -> dict:
    """Run the benchmark; returns the JSON object it prints."""
    from ddviz.methods.kinetic import data, ofdft
    from ddviz.methods.kinetic.files import load_model
    from ddviz.methods.kinetic.training import Sample, metrics

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset", help="a kinetic-2e dataset folder")
    p.add_argument("--model", default="models/kinetic-2e.safetensors")
    p.add_argument("--samples", type=int, default=0, help="test samples for T_s (0: all)")
    p.add_argument("--ofdft", type=int, default=1, help="OF-DFT geometries per system")
    p.add_argument("--max-iter", type=int, default=300, help="OF-DFT iteration limit")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model, meta = load_model(args.model)
    model = model.double()
    paths = data.samples([args.dataset], split="test")
    if args.samples:
        paths = paths[: args.samples]
    samples = [Sample(pth, 0.0, torch.float64) for pth in paths]
    out = {"model": args.model, "test_samples": len(samples),
           "kinetic": metrics(model, samples)}
    runs, counts = [], {}
    for s, pth in zip(samples, paths):
        arrays, attrs = data.load(pth)
        if len(arrays["perturbation"]) or counts.get(s.system, 0) >= args.ofdft:
            continue
        counts[s.system] = counts.get(s.system, 0) + 1
        mol = s.mol
        t0 = time.perf_counter()
        e_ks, c_ks = ofdft.kohn_sham(mol)
        t_ks = time.perf_counter() - t0
        for functional in ("model", "vw"):
            r = ofdft.run(mol, model, functional, max_iter=args.max_iter)
            runs.append({"system": s.system, "sample": pth.name, "functional": functional,
                         "error_mha": (r.energy_ha - e_ks) * 1e3, "energy_ha": r.energy_ha,
                         "ks_energy_ha": e_ks,
                         "density_rel_l1": ofdft.density_error(mol, r.coefficients, c_ks),
                         "iterations": r.iterations, "converged": r.converged,
                         "seconds": r.seconds, "ks_seconds": t_ks})
    out["ofdft"] = runs
    if args.json:
        print(json.dumps(out))
        return out
    k = out["kinetic"]
    print(f"model {args.model}; {len(samples)} held-out samples")
    print(f"T_s MAE {k['ts_mae_mha']:.3f} mHa ("
          + ", ".join(f"{key[11:]} {v:.3f}" for key, v in k.items()
                      if key.startswith("ts_mae_mha_")) + ")")
    print(f"dT_s/drho (projected) rel L2 {k['dts_rel_l2']:.4f}")
    print(f"{'system':<6} {'T_s':<6} {'dE (mHa)':>10} {'rel L1':>9} {'iter':>5} {'conv':>5} "
          f"{'OF-DFT s':>9} {'KS s':>6}")
    for r in runs:
        print(f"{r['system']:<6} {r['functional']:<6} {r['error_mha']:>10.3f} "
              f"{r['density_rel_l1']:>9.2e} {r['iterations']:>5} {r['converged']!s:>5} "
              f"{r['seconds']:>9.2f} {r['ks_seconds']:>6.2f}")
    return out


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
