"""Evaluate a model against reference densities, per file and pooled over all grid points.

Relative L1/L2, MAE, max error and where (bohr), electron counts and time; the relative L1 over
the points within 0.5 bohr of a nucleus (rel_l1_near_nuclei); the properties of the predicted
and the reference density (electrons, dipole in debye and e*bohr, traceless quadrupole, Hartree
energy; ddviz.evaluate.properties), per file and, for the dipole, the largest and mean error
over all files (--no-properties: skip them, ~2 s a water8 grid); a progress bar on
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
    p.add_argument("--float64", action="store_true",
                   help="evaluate in double precision (default: the model's own dtype)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-properties", action="store_true",
                   help="skip the properties (dipole, quadrupole, Hartree energy)")


def property_errors(files: list[dict]) -> dict | None:
    """Largest and mean |predicted - reference| of the dipole (D) and Hartree energy (Ha).

    Parameters
    ----------
    files : list of dict
        Per-file results with a ``properties`` entry
        (:func:`ddviz.evaluate.properties.compare_properties`).

    Returns
    -------
    dict or None
        ``dipole_err_debye_max``, ``dipole_err_debye_mean`` (norm of the vector difference),
        ``hartree_err_ha_max``, ``files``; None when no file has properties.
    """
    import numpy as np

    rows = [f["properties"] for f in files if f.get("properties")
            and f["properties"]["dipole_debye"]["difference"] is not None]
    if not rows:
        return None
    dip = [float(np.linalg.norm(r["dipole_debye"]["difference"])) for r in rows]
    hartree = [abs(r["hartree_ha"]["difference"]) for r in rows
               if r["hartree_ha"]["difference"] is not None]
    return {"dipole_err_debye_max": max(dip), "dipole_err_debye_mean": float(np.mean(dip)),
            "hartree_err_ha_max": max(hartree) if hartree else None, "files": len(rows)}


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
        import importlib.util

        if importlib.util.find_spec(f"ddviz.methods.{method}.evaluate") is None:
            from ddviz.errors import UnsupportedError

            raise UnsupportedError(f"a {method} model is not evaluated on density files; see "
                                   "`ddviz --help` for its own command (e.g. ddviz ofdft for "
                                   "kinetic models)", path=args.model)
        return method_module(method, "evaluate").run(args)
    from ddviz import io
    from ddviz.cli.predict import warn_electrons
    from ddviz.errors import UnsupportedError
    from ddviz.evaluate.comparison import compute_comparison
    from ddviz.evaluate.metrics import error_sums, pooled
    from ddviz.evaluate.predictor import Predictor
    from ddviz.grid import as_periodic
    from ddviz.methods.deep_density.files import load_model
    from ddviz.units import ang_to_bohr

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
        s = error_sums(c.predicted, c.reference, c.grid,
                       ang_to_bohr(ref.atoms.positions) if c.ndim == 3 else None)
        sums.append(s)
        seconds += c.seconds
        files.append({"path": str(path), **s.metrics(), "seconds": c.seconds})
        if c.ndim == 3 and not args.no_properties:
            files[-1]["properties"] = c.properties()
        if c.ndim == 3:
            warn_electrons(ref.atoms, files[-1]["electrons_pred"], str(path))
    result = {"files": files, "pooled": {**pooled(sums), "seconds": seconds}}
    summary = property_errors(files)
    if summary is not None:
        result["properties"] = summary
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'file':40s} {'rel_l1':>8s} {'rel_l2':>8s} {'mae e/bohr^3':>13s} "
          f"{'max e/bohr^3':>13s} {'where (bohr)':>22s} {'N_ref':>8s} {'N_pred':>8s} "
          f"{'L1 nuc':>8s} {'dmu D':>7s} {'s':>6s}")
    for row in files + [dict(result["pooled"], path="pooled")]:
        near = row.get("rel_l1_near_nuclei")
        props = row.get("properties")
        dmu = "-" if not props or props["dipole_debye"]["difference"] is None else \
            f"{sum(x * x for x in props['dipole_debye']['difference']) ** 0.5:7.4f}"
        print(f"{row['path'][-40:]:40s} {row['rel_l1']:8.3%} {row['rel_l2']:8.3%} "
              f"{row['mae']:13.3e} {row['max_abs_err']:13.3e} "
              f"{_where(row['max_abs_err_at_bohr'] if row['max_abs_err'] > 0 else None):>22s} "
              f"{row['electrons_ref']:8.3f} {row['electrons_pred']:8.3f} "
              f"{'-' if near is None else f'{near:.3%}':>8s} {dmu:>7s} {row['seconds']:6.2f}")
    if summary is not None:
        hartree = summary["hartree_err_ha_max"]
        print(f"dipole error: max {summary['dipole_err_debye_max']:.4f} D, mean "
              f"{summary['dipole_err_debye_mean']:.4f} D; Hartree energy error: max "
              + ("-" if hartree is None else f"{hartree:.2e} Ha")
              + f" ({summary['files']} files)")
    return 0
