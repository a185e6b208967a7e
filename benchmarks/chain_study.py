"""Deep Density in 1D, the whole study in one command: data, training, evaluation.

1. data: ``ddviz chain dataset`` (3 characters x 8-atom AIMD + 32-atom transfer cells; resumable);
2. train: one model per character with the standard command, ``ddviz train CONFIG`` (all three at
   once, one torch thread each), on the 8-atom train split, validated on the validation split;
   the hyperparameters are in ``benchmarks/chain_study.toml``;
3. evaluate: ``ddviz evaluate MODEL FILES --json`` on the 8-atom test split (the last 20 % of the
   run), on its last snapshot alone (the far future) and on the 32-atom transfer cells.

Prints relative L1 / L2 (pooled over the full 1D grids; density in electrons/bohr) per character
and set, and the wall time of each phase; writes ``DIR/results.json`` and ``DIR/results.md``.
Every phase resumes: finished snapshots and models are kept, interrupted training runs resume.

    python benchmarks/chain_study.py -o out/chain_study [--steps N] [--jobs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ddviz.config import to_toml
from ddviz.io.atomic import write_text_atomic
from ddviz.toys.chain1d.md import CHARACTERS

BASE_CONFIG = Path(__file__).with_name("chain_study.toml")
SETS = ("test", "far", "transfer")
SET_NAMES = {"test": "8-atom test", "far": "far snapshot", "transfer": "32-atom transfer"}


def ddviz(*args) -> list[str]:
    """The command line of ``ddviz ARGS`` with this checkout's package."""
    return [sys.executable, "-m", "ddviz", *map(str, args)]


def child_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def build_data(out: Path, jobs: int) -> None:
    """``ddviz chain dataset -o DIR/data``, one character per process (resumable)."""
    procs = []
    for character in CHARACTERS:
        while len([p for p in procs if p.poll() is None]) >= jobs:
            time.sleep(0.5)
        code = (f"from ddviz.toys.chain1d.md import generate_dataset; "
                f"generate_dataset({str(out / 'data')!r}, characters=[{character!r}])")
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=child_env()))
    if any(p.wait() for p in procs):
        sys.exit("building the data failed")


def write_config(out: Path, character: str, steps: int | None) -> Path:
    """DIR/configs/<character>.toml: the base configuration with this character's data."""
    config = tomllib.loads(BASE_CONFIG.read_text())
    md = out / "data" / character / "md8"
    config["train"] = [str(md / "train"), str(md / "validation")]
    config["validation_snapshots"] = len(list((md / "validation").glob("*.nc")))
    if steps:
        config["steps"] = steps
    path = out / "configs" / f"{character}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, to_toml(config))
    return path


def train_all(out: Path, steps: int | None, jobs: int) -> dict:
    """Train (or resume, or skip when finished) the three models; returns seconds per model."""
    pending, running, seconds = list(CHARACTERS), {}, {}
    while pending or running:
        while pending and len(running) < jobs:
            character = pending.pop(0)
            run = out / "runs" / character
            status = run / "status.json"
            if status.exists() and json.loads(status.read_text())["state"] == "finished":
                seconds[character] = json.loads(status.read_text())["seconds"]
                continue
            cmd = ddviz("train", write_config(out, character, steps), "--run", run, "--quiet")
            if (run / "checkpoint.safetensors").exists():
                cmd.append("--resume")
            log = open(out / "runs" / f"{character}.log", "a")  # noqa: SIM115 (closed below)
            running[character] = (subprocess.Popen(cmd, env=child_env(), stdout=log,
                                                   stderr=subprocess.STDOUT), log)
        for character, (proc, log) in list(running.items()):
            if proc.poll() is None:
                continue
            log.close()
            del running[character]
            if proc.returncode:
                sys.exit(f"training {character} failed (exit {proc.returncode}); see "
                         f"{out / 'runs' / f'{character}.log'}")
            status = json.loads((out / "runs" / character / "status.json").read_text())
            seconds[character] = status["seconds"]
        time.sleep(1.0)
    return seconds


def evaluate(model: Path, files: list[Path]) -> dict:
    """Pooled metrics of ``ddviz evaluate MODEL FILES --json``."""
    proc = subprocess.run(ddviz("evaluate", model, *files, "--json"), env=child_env(),
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"ddviz evaluate failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)["pooled"]


def evaluate_all(out: Path, jobs: int) -> dict:
    """{character: {set: metrics}} for the test split, its last snapshot and the 32-atom cells."""
    from concurrent.futures import ThreadPoolExecutor

    tasks = {}
    for character in CHARACTERS:
        data = out / "data" / character
        test = sorted((data / "md8" / "test").glob("*.nc"))
        sets = {"test": test, "far": test[-1:],
                "transfer": sorted((data / "md32" / "transfer").glob("*.nc"))}
        for name, files in sets.items():
            tasks[character, name] = (out / "runs" / character / "model.safetensors", files)
    with ThreadPoolExecutor(jobs) as pool:
        done = {key: pool.submit(evaluate, *task) for key, task in tasks.items()}
    results = {}
    for (character, name), future in done.items():
        files = tasks[character, name][1]
        results.setdefault(character, {})[name] = {**future.result(), "files": len(files),
                                                   "first": files[0].name}
    return results


def table(results: dict) -> str:
    """Markdown table: rel L1 / rel L2 per character and set."""
    far = next(iter(results.values()))["far"]["first"]
    head = ["character"] + [f"{SET_NAMES[s]} rel L1 / L2" for s in SETS]
    rows = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for character, sets in results.items():
        cells = [f"{sets[s]['rel_l1']:.2e} / {sets[s]['rel_l2']:.2e}" for s in SETS]
        rows.append("| " + " | ".join([character, *cells]) + " |")
    counts = next(iter(results.values()))
    note = (f"\n8-atom test: {counts['test']['files']} snapshots (last 20 % of the run); far "
            f"snapshot: {far}; 32-atom transfer: {counts['transfer']['files']} cells.")
    return "\n".join(rows) + note


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", required=True, help="study folder (data, runs, results)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps (default: benchmarks/chain_study.toml)")
    parser.add_argument("--jobs", type=int, default=3, help="models trained at once (default 3)")
    args = parser.parse_args(argv)
    out = Path(args.output).resolve()
    (out / "runs").mkdir(parents=True, exist_ok=True)
    times = {}
    t = time.perf_counter()
    build_data(out, args.jobs)
    times["data"] = time.perf_counter() - t
    t = time.perf_counter()
    train_seconds = train_all(out, args.steps, args.jobs)
    times["train"] = time.perf_counter() - t
    t = time.perf_counter()
    results = evaluate_all(out, args.jobs)
    times["evaluate"] = time.perf_counter() - t
    times["total"] = sum(times.values())
    text = table(results) + "\n\nWall time (s): " + ", ".join(
        f"{k} {v:.0f}" for k, v in times.items()) + " (training per model, s: " + ", ".join(
        f"{k} {v:.0f}" for k, v in train_seconds.items()) + ")\n"
    write_text_atomic(out / "results.json", json.dumps(
        {"results": results, "seconds": times, "train_seconds": train_seconds}, indent=1))
    write_text_atomic(out / "results.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
