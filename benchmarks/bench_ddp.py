"""Data-parallel training throughput: 1 process against ``torchrun --nproc_per_node=N``.

    PYTHONPATH=. python benchmarks/bench_ddp.py [--ranks 2] [--steps 30] [--points 1024]

Trains the same small configuration (ethane, the shipped dataset's first 8 snapshots, default
model sizes, one torch thread per process) twice: one process with ``--points`` probe points per
snapshot, then ``--ranks`` processes under ``torchrun`` with ``ranks x --points`` (the same
per-rank batch). Prints steps/s of each (from the run folders' history, the first 5 steps left
out as warm-up), their ratio and the probe-point throughput ratio, and the load average. The
last line is one JSON object with ``steps_per_s_1``, ``steps_per_s_n``, ``ranks``, ``ratio``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 5


def steps_per_s(run: Path) -> float:
    """Steps per second after the warm-up, from a run folder's history.json."""
    entries = [e for e in json.loads((run / "history.json").read_text()) if "loss" in e]
    first = next(e for e in entries if e["step"] >= WARMUP)
    last = entries[-1]
    return (last["step"] - first["step"]) / (last["seconds"] - first["seconds"])


def write_config(path: Path, data: Path, steps: int, points: int) -> None:
    """A TOML training configuration."""
    path.write_text(f"""train = ["{data}"]
validation_snapshots = 1
validation_stride = 8
steps = {steps}
snapshots_per_step = 4
points_per_snapshot = {points}
validate_every = {steps * 10}
checkpoint_every = {steps * 10}
log_every = 1
threads = 1
seed = 0
""")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--points", type=int, default=1024)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_ddp_"))
    data = work / "ethane"
    data.mkdir()
    for i in range(8):
        shutil.copy(ROOT / "assets" / "datasets" / "ethane" / f"ethane_{i:04d}.nc", data)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    load = os.getloadavg()[0]
    write_config(work / "one.toml", data, args.steps, args.points)
    write_config(work / "many.toml", data, args.steps, args.points * args.ranks)
    subprocess.run([sys.executable, "-m", "ddviz", "train", str(work / "one.toml"), "--run",
                    str(work / "one"), "--quiet"], check=True, env=env)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                    f"--nproc_per_node={args.ranks}", "-m", "ddviz", "train",
                    str(work / "many.toml"), "--run-dir", str(work / "many"), "--quiet"],
                   check=True, env=env)
    one, many = steps_per_s(work / "one"), steps_per_s(work / "many")
    print(f"1 process: {one:.2f} steps/s ({4 * args.points} points/step); {args.ranks} ranks: "
          f"{many:.2f} steps/s ({4 * args.points * args.ranks} points/step, the same per rank); "
          f"steps/s ratio {many / one:.2f}, points/s ratio {args.ranks * many / one:.2f}; "
          f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"({os.cpu_count()} CPUs)")
    shutil.rmtree(work)
    print(json.dumps({"steps_per_s_1": round(one, 3), "steps_per_s_n": round(many, 3),
                      "ranks": args.ranks, "ratio": round(args.ranks * many / one, 3)}))


if __name__ == "__main__":
    main()
