"""Seeded mutation fuzzer of every reader: each outcome must be a clean value or a DdvizError.

    PYTHONPATH=. python benchmarks/fuzz.py --cases 10000 [--seed 0] [--workers 2] [--timeout 20]

Seeds: a small valid file of each format (cube, CHGCAR, netCDF, xyz, extxyz, POSCAR, cif) and a shipped
model (models/water.safetensors). Each case takes one seed and one mutation, chosen by a generator
seeded with (seed, case number): bit flips, random bytes, truncation, duplicated or deleted lines,
tokens replaced by huge numbers, NaN, Inf or garbage, deeply nested JSON (safetensors metadata and
header, extxyz comment lines), declared sizes inflated (grid dimensions, atom counts, HDF5 dataset
shapes over sparse chunked storage, safetensors header length and tensor shapes), and HDF5 files
whose data lie outside them (external storage, external links) or hold NaN.

Every case is read in a worker subprocess (address space capped with ``resource.setrlimit``) with
a per-case wall-clock budget: a density file with :func:`ddviz.io.read` and
:func:`ddviz.io.read_structure`, a structure file with :func:`ddviz.io.read_structures`, a model
with :func:`ddviz.methods.load_model`, then used (a prediction at a few points). Outcomes:

* ``valid``: the read returned finite values;
* ``refused``: a DdvizError whose message is one line naming the file;
* a failure, by kind: the exception type (``RecursionError``, ``MemoryError``...), ``timeout``,
  ``crash`` (the worker died), ``message`` (a DdvizError not naming the file or not one line),
  ``non-finite`` (values read with NaN/Inf), ``leak`` (an outside file's content was read).

Prints the counts; exits 1 when there is any failure. ``tests/test_io_fuzz.py`` runs a few hundred
cases of the same fuzzer.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEMORY_BYTES = 1 << 30  # address space a worker may grow by, past what its imports take
SECRET = 31415.9265  # the value of the "outside" file that external storage points at
SEEDS = ("s.cube", "CHGCAR", "s.nc", "s.xyz", "s.extxyz", "POSCAR", "s.cif", "model.safetensors")
TOKENS = [b"nan", b"NaN", b"inf", b"-Infinity", b"1e999", b"1e308", b"x", b"1.2.3", b"--",
          b"\x00\xff", b"1000000000000", b"-1000000000000", b"99999", b"0", b"-3", b"1e-400", b"",
          b"9" * 40, b"2147483648", b"18446744073709551616", b"Direct", b"\xe9\xe8", b"1,5"]


# --- seeds -----------------------------------------------------------------------------------
def make_seeds(folder: Path) -> dict[str, bytes]:
    """Name -> bytes of a small valid file of each format (and the outside file, ``secret``)."""
    import ase.io
    import numpy as np
    from ase.build import bulk, molecule

    import ddviz.io as dio
    from ddviz.grid import Grid, Sample
    from ddviz.units import ang_to_bohr

    folder.mkdir(parents=True, exist_ok=True)
    water = molecule("H2O")
    grid = Grid([-2.0, -2.0, -2.0], [[0.5, 0, 0], [0.1, 0.5, 0], [0, 0.05, 0.5]], (4, 3, 7))
    cube = Sample(water, grid, np.random.default_rng(0).random(grid.shape))
    dio.write(cube, folder / "s.cube")
    dio.write(cube, folder / "s.nc")
    si = bulk("Si", "diamond", a=5.43)
    pgrid = Grid.periodic(ang_to_bohr(si.cell), (3, 4, 3))
    dio.write(Sample(si, pgrid, np.random.default_rng(1).random(pgrid.shape)), folder / "CHGCAR")
    with open(folder / "CHGCAR", "a") as f:
        f.write("augmentation occupancies 1 2\n 0.1 0.2\n")
    ase.io.write(folder / "s.xyz", [water, molecule("CH4")], format="xyz")
    cell = molecule("CH4")
    cell.cell, cell.pbc = [6.0, 6.0, 6.0], True
    cell.center()
    cell.info["energy"] = -1.5
    cell.arrays["charge"] = np.linspace(-0.5, 0.5, len(cell))
    ase.io.write(folder / "s.extxyz", [cell, water], format="extxyz")
    ase.io.write(folder / "POSCAR", si, format="vasp")
    ase.io.write(folder / "s.cif", si, format="cif")
    shutil.copy(ROOT / "models" / "water.safetensors", folder / "model.safetensors")
    seeds = {name: (folder / name).read_bytes() for name in SEEDS}
    np.full(4 * 3 * 7, SECRET).tofile(folder / "secret.bin")
    return seeds


# --- mutations -------------------------------------------------------------------------------
def _bitflip(data: bytes, rng) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def _bytes(data: bytes, rng) -> bytes:
    out = bytearray(data)
    start = rng.randrange(len(out))
    fill = rng.choice([0, 0xFF, None])
    for i in range(start, min(len(out), start + rng.choice([1, 4, 8, 64, 512]))):
        out[i] = rng.randrange(256) if fill is None else fill
    return bytes(out)


def _header_line(lines: list[bytes], rng) -> int:
    return rng.randrange(min(len(lines), 40))  # headers are where parsing varies


def _lines(data: bytes, rng) -> bytes:
    lines = data.split(b"\n")
    i = _header_line(lines, rng)
    kind = rng.choice(["dup", "del", "token", "insert", "swap"])
    if kind == "dup":
        lines[i:i] = [lines[i]] * rng.choice([1, 2, 1000])
    elif kind == "del":
        del lines[i]
    elif kind == "token":
        words = lines[i].split() or [b""]
        words[rng.randrange(len(words))] = rng.choice(TOKENS)
        lines[i] = b" ".join(words)
    elif kind == "insert":
        lines.insert(i, b" ".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 5))))
    else:
        j = _header_line(lines, rng)
        lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def _inflate_text(data: bytes, rng) -> bytes:
    """Multiply an integer of the header (a count or a grid dimension) or set it huge."""
    lines = data.split(b"\n")
    for _ in range(20):
        i = _header_line(lines, rng)
        words = lines[i].split()
        ints = [k for k, w in enumerate(words) if w.lstrip(b"-").isdigit()]
        if ints:
            k = rng.choice(ints)
            n = int(words[k])
            words[k] = str(rng.choice([n * 1000, n * 10**6, 600, 10**9, 2**31, 2**63, -n])).encode()
            lines[i] = b" ".join(words)
            break
    return b"\n".join(lines)


def _nested(depth: int, rng) -> str:
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    return opener * depth + "1" + closer * depth


def _extxyz_comment(data: bytes, rng) -> bytes:
    lines = data.split(b"\n")
    extra = rng.choice([
        "a=" + _nested(rng.choice([50, 5000, 100000]), rng),
        "Properties=species:S:1:pos:R:" + str(rng.choice([10**9, 2**40, 0, -1])),
        "Properties=species:S:1:pos:R:3:" + ":".join(f"f{i}:R:1" for i in range(3000)),
        " ".join(f"k{i}=1" for i in range(rng.choice([2000, 200000]))),
        'Lattice="' + " ".join(["1"] * rng.choice([9, 10, 100000])) + '"',
        "a=" + '"' * 10000,
    ]).encode()
    lines[1] = lines[1] + b" " + extra if rng.random() < 0.5 else extra
    return b"\n".join(lines)


def _safetensors(data: bytes, rng) -> bytes:
    """Mutate the JSON header: nested metadata, inflated shapes or header length."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    rest = data[8 + size:]
    kind = rng.choice(["nested-meta", "nested-header", "shape", "length", "offsets", "config"])
    if kind == "nested-meta":
        key = rng.choice(["config", "user", "species", "cutoffs", "format_version"])
        header["__metadata__"][key] = _nested(rng.choice([100, 3000, 100000]), rng)
    elif kind == "nested-header":
        raw = json.dumps(header)
        text = raw[:-1] + ', "x": ' + _nested(rng.choice([100, 3000, 100000]), rng) + "}"
        blob = text.encode()
        return len(blob).to_bytes(8, "little") + blob + rest
    elif kind == "shape":
        name = rng.choice([k for k in header if k != "__metadata__"])
        header[name]["shape"] = [rng.choice([10**6, 2**31, 0, 600]) for _ in header[name]["shape"]]
    elif kind == "offsets":
        name = rng.choice([k for k in header if k != "__metadata__"])
        header[name]["data_offsets"] = [0, rng.choice([2**40, 2**63, 10**9])]
    elif kind == "config":
        config = json.loads(header["__metadata__"]["config"])
        field = rng.choice(["m1", "m2", "embedding_widths", "fitting_widths", "rcut", "sel"])
        config[field] = rng.choice([10**9, [10**6, 10**6], 1e308, -1, 0, [], "x"])
        header["__metadata__"]["config"] = json.dumps(config)
    else:
        blob = json.dumps(header).encode()
        fake = rng.choice([2**62, len(blob) * 1000, 0, 7, len(blob) + 1])
        return fake.to_bytes(8, "little") + blob + rest
    blob = json.dumps(header).encode()
    return len(blob).to_bytes(8, "little") + blob + rest


def _hdf5(path: Path, folder: Path, rng) -> None:
    """Rewrite the netCDF file at ``path`` in place with h5py (structural mutations)."""
    import h5py
    import numpy as np

    kind = rng.choice(["sparse", "nan", "external", "extlink", "chunks", "shape"])
    with h5py.File(path, "r+") as f:
        attrs = {k: v for k, v in f["density"].attrs.items() if k != "DIMENSION_LIST"}
        if kind == "nan":
            f["density"][rng.randrange(4), 0, 0] = rng.choice([np.nan, np.inf])
            return
        if kind == "extlink":
            del f["density"]
            f["density"] = h5py.ExternalLink(str(folder / "outside.nc"), "/density")
            return
        del f["density"]
        if kind == "sparse":
            n = rng.choice([580, 600, 1000])
            f["grid_shape"][...] = [n, n, n]
            d = f.create_dataset("density", shape=(n, n, n), dtype="f8", chunks=(n // 10,) * 3,
                                 compression="gzip")
        elif kind == "external":
            d = f.create_dataset("density", shape=(4, 3, 7), dtype="f8",
                                 external=[(str(folder / "secret.bin"), 0, h5py.h5f.UNLIMITED)])
        elif kind == "chunks":  # a large, fully written, very compressible variable
            n = rng.choice([100, 200])
            f["grid_shape"][...] = [n, n, n]
            d = f.create_dataset("density", data=np.zeros((n, n, n)), chunks=(n // 4,) * 3,
                                 compression="gzip", compression_opts=9)
        else:
            n = rng.choice([2**20, 2**31])
            d = f.create_dataset("density", shape=(n, 1, 1), maxshape=(None, 1, 1), dtype="f8",
                                 chunks=(1024, 1, 1))
        for k, v in attrs.items():
            d.attrs[k] = v


def make_case(seeds: dict[str, bytes], i: int, seed: int, folder: Path) -> tuple[Path, str]:
    """Write case ``i`` (a mutated seed) under ``folder``; returns (path, mutation name)."""
    rng = random.Random(f"{seed}:{i}")
    name = SEEDS[i % len(SEEDS)]
    data = seeds[name]
    kinds = ["bitflip", "bytes", "truncate", "lines", "inflate"]
    if name.endswith(".safetensors"):
        kinds += ["safetensors"] * 3
    elif name == "s.extxyz":
        kinds += ["comment"] * 2
    elif name.endswith(".nc"):
        kinds = ["bitflip", "bytes", "bytes", "truncate", "hdf5", "hdf5", "hdf5"]
    kind = rng.choice(kinds)
    path = folder / f"case{i}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "bitflip":
        data = _bitflip(data, rng)
    elif kind == "bytes":
        data = _bytes(data, rng)
    elif kind == "truncate":
        data = data[:rng.randrange(len(data))]
    elif kind == "lines":
        data = _lines(data, rng)
    elif kind == "inflate":
        data = _inflate_text(data, rng)
    elif kind == "comment":
        data = _extxyz_comment(data, rng)
    elif kind == "safetensors":
        data = _safetensors(data, rng)
    path.write_bytes(data)
    if kind == "hdf5":
        _hdf5(path, folder, rng)
    return path, kind


# --- the worker --------------------------------------------------------------------------------
def _check(path: Path) -> tuple[str, str]:
    """Read ``path`` as its name says: ("valid" | "refused" | failure kind, detail)."""
    import numpy as np

    import ddviz.io as dio
    from ddviz.errors import DdvizError

    try:
        if path.suffix == ".safetensors":
            values = _use_model(path)
        elif dio.format_of(path).density:
            sample = dio.read(path)
            values = sample.density.values if sample.has_values else np.zeros(1)
            values = np.concatenate([np.ravel(values),
                                     dio.read_structure(path).positions.ravel()])
        else:
            values = np.concatenate([a.positions.ravel() for a in dio.read_structures(path)])
    except DdvizError as exc:
        text = str(exc).strip()
        if path.name not in text or "\n" in text:
            return "message", text[:200]
        return "refused", text[:200]
    except BaseException as exc:  # noqa: BLE001 -- what the fuzzer is looking for
        return type(exc).__name__, str(exc)[:200]
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)):
        return "non-finite", ""
    if np.any(values == SECRET):
        return "leak", "the outside file's values were read"
    return "valid", ""


def _use_model(path: Path):
    import numpy as np
    from ase.build import molecule

    from ddviz.evaluate.predictor import Predictor, structure_from_atoms
    from ddviz.methods import load_model

    model, meta = load_model(path)
    json.dumps(meta)
    species = list(getattr(model.config, "species", []))
    atoms = molecule("H2O")
    if not set(atoms.get_chemical_symbols()) <= set(species):
        atoms = molecule("H2O")[[0]]
        atoms.set_chemical_symbols([species[0] if species else "H"])
    points = np.random.default_rng(0).normal(size=(16, 3))
    return Predictor(model, device="cpu").predict_points(structure_from_atoms(atoms), points)


def worker() -> None:
    """Answer one JSON line per path read from stdin, with memory capped."""
    import resource

    import ddviz.evaluate.predictor  # noqa: F401  (imports first: the cap is on growth)
    import ddviz.io  # noqa: F401
    import ddviz.methods.deep_density.files  # noqa: F401

    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + MEMORY_BYTES, vm + MEMORY_BYTES))
    print("ready", flush=True)
    for line in sys.stdin:
        outcome, detail = _check(Path(line.strip()))
        print(json.dumps({"outcome": outcome, "detail": detail}), flush=True)


class _Worker:
    def __init__(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT),
                                                           os.environ.get("PYTHONPATH", "")]),
                   OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE",
                   DDVIZ_CACHE_DIR="off")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                     text=True, bufsize=1, cwd=str(ROOT))
        first = self.proc.stdout.readline()
        if first.strip() != "ready":
            raise RuntimeError(f"fuzz worker failed to start: {first!r}")
        self.case = None

    def send(self, case) -> None:
        self.case, self.started = case, time.monotonic()
        self.proc.stdin.write(str(case[1]) + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


def run(cases: int, seed: int = 0, workers: int = 2, timeout: float = 20.0,
        folder: Path | None = None, verbose: bool = False) -> dict:
    """Fuzz ``cases`` cases; returns {"counts": {outcome: n}, "failures": [...], ...}."""
    own = folder is None
    folder = Path(tempfile.mkdtemp(prefix="ddviz-fuzz-")) if own else folder
    try:
        seeds = make_seeds(folder / "seeds")
        shutil.copy(folder / "seeds" / "secret.bin", folder / "secret.bin")
        shutil.copy(folder / "seeds" / "s.nc", folder / "outside.nc")
        counts: collections.Counter = collections.Counter()
        by_format: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        failures = []
        todo = iter(range(cases))
        sel = selectors.DefaultSelector()
        pool = [_Worker() for _ in range(max(1, workers))]

        def feed(w: _Worker) -> bool:
            i = next(todo, None)
            if i is None:
                return False
            path, kind = make_case(seeds, i, seed, folder)
            w.send((i, path, kind))
            sel.register(w.proc.stdout, selectors.EVENT_READ, w)
            return True

        def record(w: _Worker, outcome: str, detail: str) -> None:
            i, path, kind = w.case
            counts[outcome] += 1
            by_format[path.name][outcome] += 1
            if outcome not in ("valid", "refused"):
                failures.append({"case": i, "file": path.name, "mutation": kind,
                                 "outcome": outcome, "detail": detail})
                if verbose:
                    print(f"case {i} {path.name} {kind}: {outcome} {detail[:120]}", flush=True)
            shutil.rmtree(path.parent, ignore_errors=True)

        busy = sum(feed(w) for w in pool)
        while busy:
            now = time.monotonic()
            wait = max(0.0, min(w.started + timeout for w in pool if w.case) - now)
            for key, _ in sel.select(wait):
                w = key.data
                line = w.proc.stdout.readline()
                sel.unregister(w.proc.stdout)
                if line:
                    answer = json.loads(line)
                    record(w, answer["outcome"], answer["detail"])
                else:
                    w.proc.wait()
                    record(w, "crash", f"worker exit code {w.proc.returncode}")
                    pool[pool.index(w)] = w = _Worker()
                w.case = None
                busy -= 1
                busy += feed(w)
            for k, w in enumerate(pool):
                if w.case and time.monotonic() - w.started > timeout:
                    sel.unregister(w.proc.stdout)
                    w.kill()
                    record(w, "timeout", f"no answer within {timeout:g} s")
                    pool[k] = w = _Worker()
                    busy -= 1
                    busy += feed(w)
        for w in pool:
            w.proc.stdin.close()
            w.proc.wait()
        return {"cases": cases, "seed": seed, "counts": dict(counts),
                "by_format": {k: dict(v) for k, v in by_format.items()}, "failures": failures}
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> int:
    """Command line: run the fuzzer, print the counts; exit 1 on any failure."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per case")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv)
    if args.worker:
        worker()
        return 0
    start = time.monotonic()
    result = run(args.cases, args.seed, args.workers, args.timeout, verbose=not args.json)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        c = result["counts"]
        kinds = collections.Counter(f["outcome"] for f in result["failures"])
        print(f"{args.cases} cases (seed {args.seed}) in {time.monotonic() - start:.0f} s: "
              f"{c.get('refused', 0)} clean refusals, {c.get('valid', 0)} valid, "
              f"{len(result['failures'])} failures" + (f" ({dict(kinds)})" if kinds else ""))
        for name, counts in sorted(result["by_format"].items()):
            print(f"  {name:18s} {counts}")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
