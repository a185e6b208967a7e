"""The 2D Kohn–Sham dataset: ``build(outdir, count, seed)`` (bohr, Ha, electrons/bohr^2).

Sample ``i`` is potential ``p = i // len(electrons)`` (family ``KINDS[p % 2]``, drawn by
:func:`ddviz.toys.plane2d.potentials.draw` from the seed) filled with
``electrons[i % len(electrons)]`` electrons, solved self-consistently with every functional
(the recipe of Ryczko, Strubbe, Tamblyn, Phys. Rev. A 100, 022512 (2019), with the potentials of
Mills, Spanner, Tamblyn, Phys. Rev. A 96, 042113 (2017)).

Storage: one compressed ``OUTDIR/plane2d_<i:05d>.npz`` per sample, written atomically
(:func:`ddviz.io.atomic.atomic_path`), holding only numeric and unicode arrays (read with
``allow_pickle=False``, :func:`load`): ``v_ext`` (n, n) float32 Ha; per functional F
``rho_F`` (n, n) float32 electrons/bohr^2, ``energies_F`` (6,) float64 Ha in the order of
:data:`~ddviz.toys.plane2d.solver.ENERGY_KEYS`, ``eigenvalues_F`` (float64 Ha); ``meta`` a JSON
string (potential, kind and parameters, N, split, recipe, SCF iterations and attempts). One file
per sample rather than one netCDF per chunk: a sample is finished exactly when its file exists,
so a resumed build skips finished samples without rewriting any chunk, an interrupt loses at
most the samples in flight, and a reader needs nothing beyond numpy.

``OUTDIR/manifest.json`` holds the recipe, every finished sample (file, potential, kind, N, split,
energies per functional) and the failed ones (with the reason; also in ``OUTDIR/failed.json``). The split is by potential: every
5th potential (``p % 5 == 4``) is ``test``, all N of a potential share its split. A rerun with the
same recipe resumes (finished files are skipped, failed samples retried); a different recipe in
the same folder is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ddviz.errors import ConfigError, ConvergenceError, DdvizError
from ddviz.io.atomic import atomic_path, write_text_atomic
from ddviz.reference.generate import Report
from ddviz.toys.plane2d.potentials import KINDS, draw
from ddviz.toys.plane2d.solver import ENERGY_KEYS, FUNCTIONALS, Box, Settings, solve

MANIFEST = "manifest.json"
FAILED = "failed.json"  # the failed samples again, as ``ddviz generate`` lists them
TEST_EVERY = 5  # potential p is in the test split when p % TEST_EVERY == TEST_EVERY - 1
UNITS = {"length": "bohr", "energy": "Ha", "density": "electrons/bohr^2", "v_ext": "Ha"}


def split_of(potential: int) -> str:
    """"train" or "test" for potential number ``potential`` (the split is by potential)."""
    return "test" if potential % TEST_EVERY == TEST_EVERY - 1 else "train"


def filename(index: int) -> str:
    """The file name of sample ``index`` in a dataset folder."""
    return f"plane2d_{index:05d}.npz"


def recipe(seed: int, n: int = 48, length: float = 16.0, functionals=("lda", "gga"),
           electrons=(2, 4, 6)) -> dict:
    """The JSON-serialisable recipe of a dataset (everything but the count)."""
    functionals = tuple(functionals)
    for f in functionals:
        if f not in FUNCTIONALS or f == "none":
            raise ConfigError(f"unknown functional {f!r}; expected lda or gga", field="functionals")
    if not functionals:
        raise ConfigError("no functional given", field="functionals")
    Box(n, length)  # validates
    return {"generator": "ddviz.toys.plane2d", "seed": int(seed), "n": int(n),
            "length_bohr": float(length), "functionals": list(functionals),
            "electrons": [int(e) for e in electrons], "kinds": list(KINDS),
            "test_every": TEST_EVERY, "units": UNITS}


def sample_spec(index: int, rec: dict) -> dict:
    """Potential, family, electron count and split of sample ``index``."""
    per = len(rec["electrons"])
    p = index // per
    return {"index": index, "potential": p, "kind": KINDS[p % len(KINDS)],
            "electrons": rec["electrons"][index % per], "split": split_of(p)}


def compute(index: int, rec: dict) -> tuple[dict, dict]:
    """Solve sample ``index`` with every functional: (arrays for the .npz, metadata).

    Raises ConvergenceError when a functional's SCF fails after all retries.
    """
    spec = sample_spec(index, rec)
    box = Box(rec["n"], rec["length_bohr"])
    v, params = draw(spec["kind"], box, rec["seed"], spec["potential"])
    arrays = {"v_ext": v.astype(np.float32)}
    meta = {**spec, "params": params, "recipe": rec, "scf": {}}
    for f in rec["functionals"]:
        res = solve(v, spec["electrons"], box, Settings(functional=f))
        arrays[f"rho_{f}"] = res.density.astype(np.float32)
        arrays[f"energies_{f}"] = np.array([res.energies[k] for k in ENERGY_KEYS])
        arrays[f"eigenvalues_{f}"] = res.eigenvalues
        meta["scf"][f] = {"energies_Ha": res.energies, "iterations": res.iterations,
                          "attempts": [list(a) for a in res.attempts], "smeared": res.smeared,
                          "temperature_Ha": res.settings.temperature,
                          "minus_TS_Ha": res.minus_ts, "wall_s": res.wall_s}
    return arrays, meta


def save(path, arrays: dict, meta: dict) -> None:
    """Write one sample atomically as a compressed .npz (numeric arrays + a JSON ``meta``)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, meta=np.array(json.dumps(meta)), **arrays)


def load(path) -> tuple[dict, dict]:
    """Read one sample: (arrays, meta); never unpickles. Raises DdvizError for a bad file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise DdvizError(f"not a readable plane2d sample: {exc}", path=path) from None
    return arrays, meta


def _finished(path: Path, rec: dict) -> dict | None:
    """The metadata of a complete sample file made with this recipe, else None."""
    if not path.is_file():
        return None
    try:
        _, meta = load(path)
    except DdvizError:
        return None
    return meta if meta.get("recipe") == rec else None


def _entry(name: str, meta: dict) -> dict:
    return {"file": name, **{k: meta[k] for k in ("index", "potential", "kind", "electrons",
                                                  "split")},
            "energies_Ha": {f: s["energies_Ha"] for f, s in meta["scf"].items()},
            "scf_iterations": {f: s["iterations"] for f, s in meta["scf"].items()},
            "retried": any(len(s["attempts"]) > 1 for s in meta["scf"].values())}


def _job(args):
    index, rec = args
    try:
        arrays, meta = compute(index, rec)
    except ConvergenceError as exc:
        return index, None, None, str(exc)
    return index, arrays, meta, None


def _write_manifest(outdir: Path, rec: dict, count: int, entries: dict, failed: dict) -> dict:
    manifest = {"recipe": rec, "count": count, "samples": [entries[k] for k in sorted(entries)],
                "failed": [failed[k] for k in sorted(failed)]}
    write_text_atomic(outdir / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    if failed:
        write_text_atomic(outdir / FAILED, json.dumps(manifest["failed"], indent=1) + "\n")
    else:
        (outdir / FAILED).unlink(missing_ok=True)
    return manifest


def build(outdir, count: int, seed: int = 0, n: int = 48, functionals=("lda", "gga"),
          workers: int = 2, electrons=(2, 4, 6), length: float = 16.0,
          progress: bool = True) -> Report:
    """Build (or resume) a 2D Kohn–Sham dataset of ``count`` samples in ``outdir``.

    Parameters
    ----------
    outdir : path
        Dataset folder (created); see the module docstring for its files.
    count : int
        Number of samples (potential x electron count), >= 1.
    seed : int
        Fixes the potentials; a new seed gives unseen ones.
    n : int
        Grid points per side (48 default; 64 and larger selectable).
    functionals : sequence of str
        "lda" and/or "gga" (:data:`~ddviz.toys.plane2d.solver.FUNCTIONALS`).
    workers : int
        Single-threaded worker processes (1: in this process).
    electrons : sequence of int
        Electron counts cycled over each potential.
    length : float
        Box side (bohr).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    Report
        Files computed, skipped and failed (a failed sample is retried by the next run).

    Raises
    ------
    ConfigError
        A bad count or functional, or ``outdir`` holding a dataset of another recipe.
    """
    from ddviz.reference.generate import run_jobs

    if not (isinstance(count, (int, np.integer)) and count >= 1):
        raise ConfigError(f"count must be a positive integer, got {count!r}", field="count")
    rec = recipe(seed, n, length, functionals, electrons)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    try:
        old = json.loads((outdir / MANIFEST).read_text())["recipe"]
    except (OSError, ValueError, KeyError, TypeError):
        old = None
    if old is not None and old != rec:
        diff = sorted(k for k in set(old) | set(rec) if old.get(k) != rec.get(k))
        raise ConfigError(f"the folder holds a plane2d dataset of another recipe (differs in "
                          f"{', '.join(diff)}); use a new folder", path=outdir / MANIFEST)
    report, entries, failed, todo = Report(), {}, {}, []
    for i in range(count):
        meta = _finished(outdir / filename(i), rec)
        if meta is None:
            todo.append(i)
        else:
            report.skipped.append(filename(i))
            entries[filename(i)] = _entry(filename(i), meta)
    def record(result):
        index, arrays, meta, error = result
        name = filename(index)
        if error is None:
            save(outdir / name, arrays, meta)
            entries[name] = _entry(name, meta)
            report.computed.append(name)
        else:
            failed[name] = {"file": name, **sample_spec(index, rec), "reason": error}
            report.failed[name] = error

    def finish():  # also when interrupted: the manifest lists exactly the files written
        report.manifest = _write_manifest(outdir, rec, count, entries, failed)

    run_jobs(_job, [(i, rec) for i in todo], workers, record, finish, progress=progress,
             desc="plane2d", done=len(report.skipped))
    return report
