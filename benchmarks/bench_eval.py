"""Throughput of Deep Density evaluation on water clusters (default model sizes).

    PYTHONPATH=. python benchmarks/bench_eval.py [--threads 2] [--points 100000] [--dtype float32]

On a shared, busy machine run it with ``OMP_WAIT_POLICY=PASSIVE``: with the default (spinning)
policy, 2 threads on 2 oversubscribed cores ran 30-40x slower than 1 thread here.

Prints points/s and atom-point pairs/s for 8-, 16- and 32-molecule clusters (random positions at
liquid density, random orientations), points uniform in the standard grid box (4 bohr margin),
the Predictor's chunk size (from its memory budget) and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from ddviz.evaluate.predictor import Predictor
from ddviz.grid import Grid
from ddviz.methods.deep_density import DeepDensity, ModelConfig

BOHR3_PER_MOLECULE = 202.0  # liquid water: 30 Å^3 per molecule


def water_cluster(nmol: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """(numbers, positions bohr) of nmol randomly placed and oriented waters, O-O >= 4.6 bohr."""
    radius = (3 * nmol * BOHR3_PER_MOLECULE / (4 * np.pi)) ** (1 / 3)
    oxygens = []
    while len(oxygens) < nmol:
        x = rng.uniform(-radius, radius, 3)
        if np.linalg.norm(x) <= radius and all(np.linalg.norm(x - o) > 4.6 for o in oxygens):
            oxygens.append(x)
    angle = np.deg2rad(104.5)
    local = 1.81 * np.array([[1, 0, 0], [np.cos(angle), np.sin(angle), 0]])
    pos, numbers = [], []
    for o in oxygens:
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        pos += [o, o + local[0] @ q.T, o + local[1] @ q.T]
        numbers += [8, 1, 1]
    return np.array(numbers), np.array(pos)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = DeepDensity(ModelConfig(species=["H", "O"]))
    predictor = Predictor(model, device=args.device, dtype=args.dtype)
    print(f"device {predictor.device}, {args.dtype}, {torch.get_num_threads()} threads, "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    for nmol in (8, 16, 32):
        numbers, pos = water_cluster(nmol, rng)
        grid = Grid.around(pos)
        points = grid.points(0, grid.size)[rng.choice(grid.size, args.points, replace=False)]
        env = predictor.environment((numbers, pos))
        pairs = env.cells.query(torch.as_tensor(points))[0].numel()
        predictor.predict_points(env, points[:2000])  # warm-up
        start, cpu = time.perf_counter(), time.process_time()
        predictor.predict_points(env, points)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"{nmol:3d} H2O ({3 * nmol:2d} atoms), {pairs / args.points:4.1f} pairs/point: "
              f"{args.points / seconds:7.0f} points/s, {pairs / seconds:7.0f} pairs/s, "
              f"{1e6 * seconds / pairs:5.2f} us/pair wall ({1e6 * cpu / pairs:5.2f} CPU); "
              f"chunk {predictor.last_chunk_points} points; standard grid {grid.shape} "
              f"~{grid.size * seconds / args.points:.0f} s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory budget per chunk {predictor.memory_budget_bytes / 2**20:.0f} MiB; "
          f"process peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
