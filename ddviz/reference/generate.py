"""Reference snapshots from structures: one SCF per frame, one density file per frame.

Each frame becomes ``OUTDIR/<stem>_<index:04d>.nc`` (or ``.cube``) with the density on the standard
grid (:meth:`Grid.around`, cubegen's layout; bohr, e/bohr^3) and, in netCDF, the orbitals and the
provenance. Frames run in a pool of single-threaded worker processes; the main process alone writes
files, each atomically, so an interrupted run leaves only complete files. A rerun skips snapshots
that exist, are readable and hold the same geometry, storage and method. Frames whose SCF fails
are listed in ``OUTDIR/failed.json``; ``OUTDIR/manifest.json`` lists the finished snapshots.
(A worker killed outright, e.g. by the out-of-memory killer, stalls a multiprocessing pool: run
very large systems with one worker, which computes in the main process.)

With :class:`ddviz.reference.cp2k.CP2KSettings` as the settings, each periodic frame is computed
by CP2K instead (:func:`ddviz.reference.cp2k.compute`) and stored on CP2K's grid of the cell
(periodic, values only; spacing and margin do not apply).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import multiprocessing
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

import ase
import numpy as np

from ddviz import io
from ddviz.errors import ConfigError, DdvizError
from ddviz.grid import STANDARD_MARGIN, STANDARD_SPACING, Grid, Sample
from ddviz.io.atomic import write_text_atomic
from ddviz.reference import cp2k
from ddviz.reference.cp2k import CP2KSettings
from ddviz.reference.scf import SCFSettings, compute, method
from ddviz.units import ang_to_bohr

MANIFEST = "manifest.json"
FAILED = "failed.json"
# snapshot formats by their --format name: the first suffix of ddviz.io's format
FORMATS = {"nc": io.FORMATS["netcdf"].suffixes[0], "cube": io.FORMATS["cube"].suffixes[0]}
GEOMETRY_ATOL = 1e-4  # Å: a stored snapshot with positions this close is the same frame
# frame info / metadata keys copied into the manifest
MANIFEST_KEYS = ("split", "step", "time_fs", "temperature_K", "seed", "smiles")
_SINGLE_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class Frame:
    """One structure to compute: written to ``<stem>_<index:04d><suffix>``; atoms in Å."""

    stem: str
    index: int
    atoms: ase.Atoms
    source: str = ""

    def filename(self, fmt: str) -> str:
        """The snapshot's file name in format ``fmt`` (a key of ``FORMATS``)."""
        return f"{self.stem}_{self.index:04d}{FORMATS[fmt]}"


@dataclass
class Options:
    """Grid (bohr), file format, storage and parallelism of a generate run.

    compact: netCDF with orbitals only (no grid values). metadata: added to every provenance
    and manifest entry (e.g. temperature_K, seed), over what the frames' ``info`` holds.
    """

    settings: SCFSettings | CP2KSettings = field(default_factory=SCFSettings)
    spacing: float = STANDARD_SPACING
    margin: float = STANDARD_MARGIN
    fmt: str = "nc"
    compact: bool = False
    workers: int = 2
    metadata: dict = field(default_factory=dict)
    progress: bool = True

    def __post_init__(self):
        if self.fmt not in FORMATS:
            raise ConfigError(f"unknown format {self.fmt!r}; expected one of {', '.join(FORMATS)}",
                              field="format")
        if self.compact and isinstance(self.settings, CP2KSettings):
            raise ConfigError("CP2K references store grid values: --compact (orbitals only) does "
                              "not apply", field="compact")
        if self.compact and self.fmt != "nc":
            raise ConfigError("--compact stores orbitals, which only netCDF (.nc) can hold",
                              field="compact")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}", field="workers")
        if self.spacing <= 0 or self.margin < 0:
            raise ConfigError(f"spacing must be > 0 and margin >= 0 bohr, got {self.spacing}, "
                              f"{self.margin}", field="spacing")


@dataclass
class Report:
    """What a run did: file names computed, skipped (already done) and failed (name -> reason)."""

    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)


def read_frames(paths) -> list[Frame]:
    """Every frame of every structure file (multi-frame xyz allowed); stems must be unique."""
    frames, stems = [], {}
    for path in paths:
        stem = Path(path).stem
        if stem in stems:
            raise ConfigError(f"two inputs have the same name stem {stem!r} ({stems[stem]}); "
                              "their snapshot files would collide", path=path)
        stems[stem] = path
        frames += [Frame(stem, i, atoms, os.fspath(path))
                   for i, atoms in enumerate(io.read_structures(path))]
    return frames


def frame_grid(atoms: ase.Atoms, options: Options) -> Grid:
    """The standard grid (bohr) around ``atoms``."""
    return Grid.around(ang_to_bohr(atoms.positions), options.spacing, options.margin)


def _metadata(frame: Frame, options: Options) -> dict:
    """The frame's ``info`` (step, seed, split...) overridden by the run's metadata."""
    return {**{k: _plain(v) for k, v in frame.atoms.info.items()}, **options.metadata}


def _provenance(frame: Frame, options: Options) -> dict:
    prov = {**_metadata(frame, options), "source": frame.source, "frame": frame.index}
    if not isinstance(options.settings, CP2KSettings):  # CP2K: its own grid of the cell
        prov.update(spacing_bohr=options.spacing, margin_bohr=options.margin)
    return prov


def _plain(value):
    """A JSON-serialisable form of an atoms.info value (numpy scalars and arrays)."""
    return value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value


def _method(settings) -> dict:
    """The provenance entries that define the reference method of ``settings``."""
    return cp2k.method(settings) if isinstance(settings, CP2KSettings) else method(settings)


def _job(frame: Frame, options: Options):
    """Worker: (frame, SCFResult or periodic Sample or None, grid values or None, error or None)."""
    if isinstance(options.settings, CP2KSettings):
        try:
            sample = cp2k.compute(frame.atoms, options.settings, _provenance(frame, options))
        except Exception as exc:  # ConvergenceError, CP2K failing: skip the frame, list it
            return frame, None, None, f"{type(exc).__name__}: {exc}"
        return frame, sample, sample.density.values, None
    try:
        result = compute(frame.atoms, options.settings, _provenance(frame, options))
    except Exception as exc:  # ConvergenceError, or PySCF failing on a bad geometry: skip the frame
        return frame, None, None, f"{type(exc).__name__}: {exc}"
    values = None
    if not options.compact:
        sample = Sample(frame.atoms, frame_grid(frame.atoms, options), orbitals=result.orbitals)
        values = sample.density.values
        result.provenance["grid_electrons"] = sample.electrons()
    result.orbitals = dataclasses.replace(result.orbitals, _mol=None)  # small to pickle
    return frame, result, values, None


def _worker_init():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C


@contextlib.contextmanager
def _pool(workers: int):
    """A spawn pool of single-threaded workers, terminated on any exit; None for one worker."""
    if workers == 1:
        yield None
        return
    saved = {k: os.environ.get(k) for k in _SINGLE_THREAD_ENV}
    os.environ.update({k: "1" for k in _SINGLE_THREAD_ENV})
    try:
        pool = multiprocessing.get_context("spawn").Pool(workers, _worker_init)
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    try:
        yield pool
    finally:
        pool.terminate()
        pool.join()


class _Interrupts:
    """SIGINT/SIGTERM raise KeyboardInterrupt in the main process, except while writing.

    While a snapshot and its manifest entry are being written, a signal waits until the writing
    is done.
    """

    def __init__(self):
        self.holding = self.pending = False

    def _handler(self, signum, frame):
        if self.holding:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self):
        try:
            previous = {s: signal.signal(s, self._handler) for s in (signal.SIGINT, signal.SIGTERM)}
        except ValueError:  # not the main thread: leave signals alone
            yield self
            return
        try:
            yield self
        finally:
            for s, h in previous.items():
                signal.signal(s, h)

    @contextlib.contextmanager
    def held(self):
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


def _finished(path: Path, atoms: ase.Atoms, options: Options) -> Sample | None:
    """The stored snapshot at ``path`` if it is finished, else None.

    Finished: readable, holding this geometry, stored as asked (values or orbitals only) and,
    where the file records them, with the same SCF settings.
    """
    if not path.is_file():
        return None
    try:
        sample = io.read(path)
    except DdvizError:
        return None
    same = (len(sample.atoms) == len(atoms) and np.array_equal(sample.atoms.numbers, atoms.numbers)
            and np.allclose(sample.atoms.positions, atoms.positions, atol=GEOMETRY_ATOL)
            and sample.has_values != options.compact
            and all(sample.provenance.get(k, v) == v for k, v in _method(options.settings).items()))
    return sample if same else None


def _entry(name: str, frame: Frame, provenance: dict, options: Options) -> dict:
    """The manifest line of one snapshot."""
    keys = ("energy_Ha", "converged", "scf_cycles", "scf_wall_s", "scf_strategy")
    entry = {"file": name, "source": frame.source, "frame": frame.index,
             "formula": frame.atoms.get_chemical_formula(), "natoms": len(frame.atoms)}
    entry.update({k: provenance.get(k) for k in keys})
    meta = _metadata(frame, options)
    entry.update({k: meta[k] for k in MANIFEST_KEYS if k in meta})
    entry.setdefault("split", "train")
    return entry


def _old_entries(outdir: Path) -> dict:
    try:
        return {e["file"]: e for e in json.loads((outdir / MANIFEST).read_text())["snapshots"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _write_manifest(outdir: Path, entries: dict, options: Options) -> dict:
    manifest = {"settings": {**options.settings.describe(), "spacing_bohr": options.spacing,
                             "margin_bohr": options.margin, "format": options.fmt,
                             "compact": options.compact},
                "snapshots": [entries[k] for k in sorted(entries)]}
    write_text_atomic(outdir / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return manifest


def _write_failed(outdir: Path, failed: dict[str, dict]) -> None:
    path = outdir / FAILED
    if failed:
        write_text_atomic(path, json.dumps([failed[k] for k in sorted(failed)], indent=1) + "\n")
    else:
        path.unlink(missing_ok=True)


def generate(frames: list[Frame], outdir, options: Options = Options()) -> Report:
    """Compute and write the snapshot of every frame not already done; see the module docstring."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    names = [f.filename(options.fmt) for f in frames]
    if len(set(names)) != len(names):
        raise ConfigError("two frames map to the same snapshot file name")
    old = _old_entries(outdir)
    report, entries, failed, todo = Report(), {}, {}, []
    for name, frame in zip(names, frames):
        sample = _finished(outdir / name, frame.atoms, options)
        if sample is None:
            todo.append(frame)
            continue
        report.skipped.append(name)
        entries[name] = _entry(name, frame, old.get(name) or sample.provenance, options)

    def record(result):
        _record(*result, outdir, options, report, entries, failed)

    def finish():  # also when interrupted: the manifest lists exactly the files written
        _write_failed(outdir, failed)
        report.manifest = _write_manifest(outdir, entries, options)

    run_jobs(_star_job, [(f, options) for f in todo], options.workers, record, finish,
             progress=options.progress, desc="generate", unit="frame", done=len(report.skipped))
    return report


def run_jobs(job, items, workers: int, record, finish=None, *, progress: bool = True,
             desc: str = "", unit: str = "sample", done: int = 0) -> None:
    """Run ``job(item)`` for every item in single-threaded worker processes; keep the results.

    The loop every resumable dataset builder shares. Results reach ``record(result)`` in this
    process as they come (in any order); ``finish()`` runs at the end, also when interrupted.
    Both run with SIGINT/SIGTERM held, so a file and its manifest entry are written whole before
    an interrupt takes effect. One worker computes in this process.

    Parameters
    ----------
    job : callable
        ``job(item) -> result``; a module-level function (the workers are spawned).
    items : iterable
        The work still to do.
    workers : int
        Worker processes at most (never more than there are items).
    record : callable
        ``record(result)``, called in this process.
    finish : callable, optional
        Called once at the end.
    progress : bool
        Show a tqdm bar of ``done`` + len(items), starting at ``done`` (work already done).
    desc, unit : str
        The bar's label and unit.

    Raises
    ------
    KeyboardInterrupt
        On SIGINT or SIGTERM, after ``finish``.
    """
    from tqdm import tqdm

    items = list(items)
    bar = tqdm(total=done + len(items), initial=done, unit=unit, desc=desc,
               disable=not progress, dynamic_ncols=True)
    interrupts = _Interrupts()
    with interrupts.installed():
        try:
            with bar, _pool(min(workers, max(len(items), 1))) as pool:
                results = map(job, items) if pool is None else pool.imap_unordered(job, items)
                for result in results:
                    with interrupts.held():
                        record(result)
                    bar.update(1)
        finally:
            if finish is not None:
                with interrupts.held():
                    finish()


def _record(frame, result, values, error, outdir, options, report, entries, failed) -> None:
    """Write one finished frame's snapshot and manifest entry, or its failed.json entry."""
    name = frame.filename(options.fmt)
    if error is not None:
        failed[name] = {"file": name, "source": frame.source, "frame": frame.index,
                        "reason": error}
        report.failed[name] = error
        _write_failed(outdir, failed)
        return
    if isinstance(result, Sample):  # CP2K: on its own periodic grid of the cell
        sample = result
    else:
        sample = Sample(frame.atoms, frame_grid(frame.atoms, options), values, result.provenance,
                        orbitals=result.orbitals)
    io.write(sample, outdir / name, **({"values": not options.compact}
                                       if options.fmt == "nc" else {}))
    entries[name] = _entry(name, frame, result.provenance, options)
    report.computed.append(name)
    _write_manifest(outdir, entries, options)


def _star_job(args):
    return _job(*args)
