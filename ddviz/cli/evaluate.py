"""Evaluate a model against reference densities: relative L1/L2, MAE, max error and where,
electron counts and time, per file and pooled over all grid points."""

from __future__ import annotations

import json


def add_arguments(p):
    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("references", nargs="+", help="reference density files (cube, CHGCAR, .nc)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--float64", action="store_true", help="evaluate in double precision")


def run(args):
    from ddviz import io
    from ddviz.evaluate.comparison import compute_comparison
    from ddviz.evaluate.metrics import error_sums, pooled
    from ddviz.methods.deep_density.files import load_model
    from ddviz.evaluate.predictor import Predictor

    model, _ = load_model(args.model)
    predictor = Predictor(model, device=args.device, dtype="float64" if args.float64 else None)
    files, sums, seconds = [], [], 0.0
    for path in args.references:
        ref = io.read(path)
        c = compute_comparison(ref.atoms, predictor, ref)
        s = error_sums(c.predicted, c.reference, c.grid)
        sums.append(s)
        seconds += c.seconds
        files.append({"path": str(path), **s.metrics(), "seconds": c.seconds})
    result = {"files": files, "pooled": {**pooled(sums), "seconds": seconds}}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'file':40s} {'rel_l1':>8s} {'rel_l2':>8s} {'mae e/bohr^3':>13s} "
          f"{'max e/bohr^3':>13s} {'N_ref':>8s} {'N_pred':>8s} {'s':>6s}")
    for row in files + [dict(result["pooled"], path="pooled")]:
        print(f"{row['path'][-40:]:40s} {row['rel_l1']:8.3%} {row['rel_l2']:8.3%} "
              f"{row['mae']:13.3e} {row['max_abs_err']:13.3e} {row['electrons_ref']:8.3f} "
              f"{row['electrons_pred']:8.3f} {row['seconds']:6.2f}")
    return 0
