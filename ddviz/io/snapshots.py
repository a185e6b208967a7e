"""Dataset folders: snapshot files with an optional ``manifest.json`` that assigns splits.

A dataset is a folder of density files (any density format of :data:`ddviz.io.FORMATS`; compact
``.nc`` files hold orbitals) and a manifest ``{"snapshots": [{"file": ..., "split": ...}]}``
assigning each file a split ("train", "test", ...). Without a manifest every density file of the
folder is "train".
"""

from __future__ import annotations

import json
from pathlib import Path

from ddviz.errors import DdvizError
from ddviz.grid import Sample


def _is_density_file(path: Path) -> bool:
    from ddviz.io import FORMATS

    return any(path.suffix.lower() in f.suffixes for f in FORMATS.values() if f.density)


def _missing_hint(path: Path) -> str:
    """Where a missing relative dataset path was looked for, and where the shipped ones are.

    Relative paths are read from the current folder. ``assets/datasets/...`` (the paths of the
    README and of ``models/configs``) exist in a source checkout only, not in an installed ddviz.
    """
    if path.is_absolute():
        return ""
    hint = f" (looked for in the current folder, {Path.cwd()})"
    if path.parts[:2] != ("assets", "datasets"):
        return hint
    from ddviz.shipped import checkout_root

    root = checkout_root()
    if root is not None and (root / path).exists():
        return f"{hint}; it is in the checkout {root}: run from there or give {root / path}"
    return (f"{hint}; the shipped datasets in assets/datasets/ come with a source checkout of "
            "ddviz (git clone), not with pip install: run from the checkout's root folder, or "
            "build the dataset with ddviz dataset NAME -o DIR")


SNAPSHOT_SUFFIXES = (".nc", ".cube", ".cub")


def snapshot_files(path: str | Path, split: str | None = None) -> list[Path]:
    """Snapshot files of a dataset folder (or the file itself), optionally of one split only.

    The split comes from the folder's manifest.json (``{"snapshots": [{"file", "split"}...]}``).
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DdvizError("no such dataset file or folder" + _missing_hint(path), path=path)
    manifest = path / "manifest.json"
    if manifest.exists():
        try:
            entries = json.loads(manifest.read_text())["snapshots"]
            files = [(path / e["file"], e.get("split", "train")) for e in entries]
        except (ValueError, KeyError, TypeError) as exc:
            raise DdvizError(f"expected {{'snapshots': [{{'file': ..., 'split': ...}}]}}: {exc}",
                             path=manifest) from exc
        chosen = [f for f, s in files if split is None or s == split]
        missing = [f.name for f in chosen if not f.exists()]
        if missing:
            raise DdvizError(f"lists {len(missing)} missing snapshot files, e.g. {missing[0]}",
                             path=manifest)
    else:
        if split not in (None, "train"):
            chosen = []
        else:
            chosen = sorted(p for p in path.iterdir() if _is_density_file(p))
    if not chosen:
        raise DdvizError(f"no snapshot files{'' if split is None else f' of split {split!r}'}"
                         f"{_build_hint(path)}", path=path)
    return chosen


def _build_hint(folder: Path) -> str:
    """How to build a named dataset's missing snapshots, from its ``dataset.json`` ('' if none).

    Shipped folders hold only a dataset's test snapshots (e.g. QM9's); its recipe names it.
    """
    try:
        recipe = json.loads((folder / "dataset.json").read_text())
        name = recipe["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    if not isinstance(name, str) or not name.replace("-", "").isalnum():
        return ""
    counts = ""
    if name == "qm9" and all(type(recipe.get(k)) is int for k in ("n_train", "n_test", "seed")):
        counts = f" --count {recipe['n_train']} --n-test {recipe['n_test']} --seed {recipe['seed']}"
    return f" (build them with: ddviz dataset {name} -o {folder}{counts})"


def load_snapshots(paths, split: str | None = None) -> list[Sample]:
    """Read the snapshots of several dataset folders/files (grid values stay lazy when possible)."""
    from ddviz import io

    return [io.read(f) for p in paths for f in snapshot_files(p, split)]


def describe_dataset(path) -> dict:
    """The facts of a dataset folder, from its manifest.json (and dataset.json).

    Parameters
    ----------
    path : str or os.PathLike
        A dataset folder.

    Returns
    -------
    dict
        ``file``, ``kind`` ("dataset"), ``snapshots`` (count per split), ``species``,
        ``reference`` (the SCF settings of the recipe: xc, basis, pseudo...), ``name``.

    Raises
    ------
    ddviz.errors.DdvizError
        No snapshot files, or an unreadable manifest.
    """
    from collections import Counter

    path = Path(path)
    try:
        plane2d = json.loads((path / "manifest.json").read_text()) if (
            path / "manifest.json").is_file() else {}
    except (OSError, ValueError) as exc:
        raise DdvizError(f"not readable JSON ({exc})", path=path / "manifest.json") from None
    if isinstance(plane2d, dict) and "samples" in plane2d:  # a 2D Kohn-Sham dataset (plane2d)
        splits = Counter(str(e.get("split", "train")) for e in plane2d["samples"])
        recipe = plane2d.get("recipe") or {}
        name = recipe.get("name") if recipe.get("name") == "kinetic-2e" else "plane2d"
        return {"file": str(path), "kind": "dataset", "name": name,
                "snapshots": dict(sorted(splits.items())), "total": sum(splits.values()),
                "species": [], "reference": {k: recipe[k] for k in ("functionals", "n", "length",
                                                                   "xc", "basis", "grid_level")
                                             if k in recipe} or None}
    files = snapshot_files(path)  # refuses folders with no snapshots, checks the manifest
    manifest, recipe = {}, {}
    for name, target in (("manifest.json", "manifest"), ("dataset.json", "recipe")):
        if (path / name).exists():
            try:
                data = json.loads((path / name).read_text())
            except (OSError, ValueError) as exc:
                raise DdvizError(f"not readable JSON ({exc})", path=path / name) from None
            if target == "manifest":
                manifest = data
            else:
                recipe = data
    entries = manifest.get("snapshots") or [{"file": f.name, "split": "train"} for f in files]
    splits = Counter(str(e.get("split", "train")) for e in entries)
    species = set()
    for e in entries:
        if e.get("formula"):
            from ase.formula import Formula

            species |= set(Formula(e["formula"]).count())
    if not species:  # no formulas in the manifest: the atoms of the first snapshot
        from ddviz import io

        species = set(io.read_structure(files[0]).get_chemical_symbols())
    settings = recipe.get("scf") or manifest.get("settings") or {}
    reference = {k: settings[k] for k in ("xc", "basis", "pseudo", "charge", "spin")
                 if k in settings}
    return {"file": str(path), "kind": "dataset", "name": recipe.get("name", path.name),
            "snapshots": dict(sorted(splits.items())), "total": sum(splits.values()),
            "species": sorted(species), "reference": reference or None}
