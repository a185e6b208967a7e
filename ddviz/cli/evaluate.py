"""Evaluate a model against reference densities, per file and pooled over all grid points.

Relative L1/L2, MAE, max error and where (bohr), electron counts and time; a progress bar on
stderr over several files (--quiet: none); a warning for each structure whose predicted
electrons differ from its valence count (GTH-PBE) by more than 1 %.

References are density files or dataset folders (their manifest.json assigns splits; --split test
takes only the test snapshots). Every reference's atoms are checked (present, none closer than
0.5 Å) before the model is loaded or anything is computed.
"""

from __future__ import annotations

import json


def add_arguments(p):
    """Add the command's arguments to ``p``."""
    from ddviz.cli._args import add_format_argument, add_pbc_argument

    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("references", nargs="+",
                   help="reference density files (cube, CHGCAR, .nc) or dataset folders")
    p.add_argument("--split", default=None, metavar="NAME",
                   help="of dataset folders, only the snapshots of this split (e.g. test)")
    add_format_argument(p, what="the reference files")
    add_pbc_argument(p, "the reference files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--float64", action="store_true", help="evaluate in double precision")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def reference_files(references, split: str | None = None) -> list:
    """The density files to evaluate on: files as given, dataset folders expanded (one split)."""
    from pathlib import Path

    from ddviz.io.snapshots import snapshot_files

    out = []
    for ref in references:
        out += [Path(ref)] if Path(ref).is_file() else snapshot_files(ref, split)
    return out


def _where(point) -> str:
    """``(x, y, z)`` bohr of the largest error, short."""
    return "-" if point is None else "(" + ",".join(f"{x:.2f}" for x in point) + ")"


def run(args):
    """Evaluate the model on every reference; print the table or JSON."""
    import sys

    from tqdm import tqdm

    from ddviz.errors import DdvizError
    from ddviz.methods import method_for_format, method_module, model_format

    try:  # another method's model file: its own evaluate module (e.g. ddviz.methods.ednn)
        method = method_for_format(model_format(args.model)).name
    except DdvizError:  # unreadable: the Deep Density path below reports it as before
        method = "deep_density"
    if method != "deep_density":
        return method_module(method, "evaluate").run(args)
    from ddviz import io
    from ddviz.cli.predict import warn_electrons
    from ddviz.errors import UnsupportedError
    from ddviz.evaluate.comparison import compute_comparison
    from ddviz.evaluate.metrics import error_sums, pooled
    from ddviz.evaluate.predictor import Predictor
    from ddviz.grid import as_periodic
    from ddviz.methods.deep_density.files import load_model

    paths = reference_files(args.references, args.split)
    for path in paths:  # cheap header reads: refuse bad references before any long computation
        fmt = io.format_of(path, args.format)
        if not fmt.density:
            raise UnsupportedError(f"a {fmt.name} file holds a structure, not a reference density",
                                   path=path)
        io.read_structure(path, format=args.format)  # FileFormatError: no atoms, overlaps
    model, _ = load_model(args.model)
    predictor = Predictor(model, device=args.device, dtype="float64" if args.float64 else None)
    files, sums, seconds = [], [], 0.0
    bar = tqdm(paths, unit="file", file=sys.stderr, disable=args.quiet or len(paths) < 2,
               dynamic_ncols=True)
    for path in bar:
        bar.set_postfix_str(path.name, refresh=False)
        ref = io.read(path, format=args.format)
        if getattr(args, "pbc", False):
            ref = as_periodic(ref, path)
        c = compute_comparison(ref.atoms, predictor, ref)
        s = error_sums(c.predicted, c.reference, c.grid)
        sums.append(s)
        seconds += c.seconds
        files.append({"path": str(path), **s.metrics(), "seconds": c.seconds})
        if c.ndim == 3:
            warn_electrons(ref.atoms, files[-1]["electrons_pred"], str(path))
    result = {"files": files, "pooled": {**pooled(sums), "seconds": seconds}}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'file':40s} {'rel_l1':>8s} {'rel_l2':>8s} {'mae e/bohr^3':>13s} "
          f"{'max e/bohr^3':>13s} {'where (bohr)':>22s} {'N_ref':>8s} {'N_pred':>8s} {'s':>6s}")
    for row in files + [dict(result["pooled"], path="pooled")]:
        print(f"{row['path'][-40:]:40s} {row['rel_l1']:8.3%} {row['rel_l2']:8.3%} "
              f"{row['mae']:13.3e} {row['max_abs_err']:13.3e} "
              f"{_where(row['max_abs_err_at_bohr'] if row['max_abs_err'] > 0 else None):>22s} {row['electrons_ref']:8.3f} "
              f"{row['electrons_pred']:8.3f} {row['seconds']:6.2f}")
    return 0
