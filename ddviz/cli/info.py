"""Print what a density, structure or model file, or a dataset folder, holds.

Density and structure files: atoms, species, grid, spacing (bohr), cell (bohr), periodicity,
the density's units (e/bohr^3; electrons/bohr for a 1D chain), the number of frames and the
electron count (quadrature of the grid values, or the orbitals' occupations when a netCDF file
stores only orbitals; null for LOCPOT/ELFCAR, which hold no density). Structure files have no
grid: those entries are null, and the atoms are those of the last frame. The format is found
from the name or the content, or given with --format.

Model files (.safetensors, read without loading the weights): method, format version, species,
cutoffs (bohr), parameters, the training data and steps and the validation metrics. Dataset
folders: snapshots per split, species and the reference method of the recipe.
"""

from __future__ import annotations

import json
from pathlib import Path

MODEL_SUFFIXES = (".safetensors",)


def add_arguments(parser) -> None:
    """Add the command's arguments to ``parser``."""
    from ddviz.cli._args import add_format_argument, add_max_points_argument, add_pbc_argument

    parser.add_argument("path", help="cube, CHGCAR/PARCHG, netCDF (.nc), xyz, POSCAR or cif file; "
                        "a model file (.safetensors) or a dataset folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_format_argument(parser)
    add_max_points_argument(parser)
    add_pbc_argument(parser, "a density file")


def _text(info: dict) -> str:
    def fmt(v):
        return " ".join(f"{x:.6g}" if isinstance(x, float) else str(x) for x in v)

    lines = [f"file        {info['file']} ({info['format']})", f"frames      {info['frames']}",
             f"natoms      {info['natoms']}",
             f"species     {' '.join(info['species'])}"]
    if info["grid_shape"] is not None:
        lines += [f"grid        {' x '.join(map(str, info['grid_shape']))} points",
                  f"spacing     {fmt(info['spacing_bohr'])} bohr"]
    else:
        lines.append("grid        none (structure file)")
    if info["cell_bohr"] is not None:
        lines += [f"cell        {fmt(row)}" + (" bohr" if i == 0 else "")
                  for i, row in enumerate(info["cell_bohr"])]
    lines.append(f"pbc         {fmt(info['pbc'])}")
    if info["units"] is not None:
        lines.append(f"density     {info['units']} ({info['ndim']}D)")
    if info["electrons"] is not None:
        how = {"orbitals": " (occupations of the stored orbitals)",
               "grid": " (integrated on the grid)"}.get(info.get("electrons_from"), "")
        lines.append(f"electrons   {info['electrons']:.6f}{how}")
    return "\n".join(lines)


def _model_text(info: dict) -> str:
    val = info["validation"] or {}
    tr = info["training"] or {}
    lines = [f"file        {info['file']} (model, {info['format']} v{info['format_version']})",
             f"method      {info['method']}"]
    if info["species"]:
        lines.append(f"species     {' '.join(info['species'])}")
    if info["cutoffs_bohr"]:
        lines.append("cutoffs     " + ", ".join(f"{k} {v:g}" for k, v in
                                                info["cutoffs_bohr"].items()) + " bohr")
    lines.append(f"parameters  {info['parameters']}")
    if tr:
        counts = [f"{tr.get(f'{split}_{unit}')} {split}" for unit in ("snapshots", "samples")
                  for split in ("train", "validation") if tr.get(f"{split}_{unit}") is not None]
        lines.append(f"training    {tr.get('steps')} steps, {' + '.join(counts) or '?'} from "
                     f"{', '.join(map(str, tr.get('data') or [])) or '?'}")
        if tr.get("reference"):
            lines.append("reference   " + " ".join(str(v) for v in tr["reference"].values()))
    if "rel_l1" in val:  # a density model: its relative errors
        lines.append(f"validation  rel L1 {val['rel_l1']:.3%}, rel L2 "
                     f"{val.get('rel_l2', float('nan')):.3%} (step {info['best_step']})")
    elif val:  # another method's metrics, in its own units
        shown = [f"{k} {v:.4g}" for k, v in val.items() if isinstance(v, (int, float))]
        lines.append(f"validation  {', '.join(shown)} (step {info['best_step']})")
    return "\n".join(lines)


def _dataset_text(info: dict) -> str:
    return "\n".join([
        f"file        {info['file']} (dataset {info['name']})",
        "snapshots   " + ", ".join(f"{n} {s}" for s, n in info["snapshots"].items())
        + f" ({info['total']} in all)",
        f"species     {' '.join(info['species'])}",
        "reference   " + (", ".join(f"{k} {v}" for k, v in info["reference"].items())
                          if info["reference"] else "not recorded")])


def run(args) -> int:
    """Print the facts of ``args.path``."""
    path = Path(args.path)
    if path.is_dir():
        from ddviz.io.snapshots import describe_dataset

        info = describe_dataset(path)
        text = _dataset_text
    elif path.suffix.lower() in MODEL_SUFFIXES:
        from ddviz.methods.summary import describe_model

        info = describe_model(path)
        text = _model_text
    else:
        from ddviz.io.summary import KEYS, describe

        info = describe(args.path, args.max_points, args.format, pbc=args.pbc)
        info = {k: info[k] for k in ("file", "format", *KEYS)}
        text = _text
    if args.json:
        print(json.dumps(info if text is not _text else {k: info[k] for k in KEYS}))
    else:
        print(text(info))
    return 0
