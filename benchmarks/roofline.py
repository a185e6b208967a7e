"""Deep Density evaluation against the float32 matmul roofline of this machine.

    PYTHONPATH=. python benchmarks/roofline.py [--threads 2] [--repeats 3] [--compile]
        [--reference] [--profile] [--sizes 8 16 32]

Counts the model's FLOPs per atom-electron pair from its layer sizes
(:func:`ddviz.methods.deep_density.cost.flops_per_pair`), evaluates the first test snapshot's
grid of ``assets/datasets/water8`` with ``models/water.safetensors`` through the Predictor, and
in the same run, interleaved with it, times float32 matmuls (n x n x n for n = 256, 512, 1024;
the best size's median is the machine's dense rate). Each is repeated and the medians reported, with the load average before and after
(the machine may be shared). ``--sizes``: also the per-point and per-pair time on the water16
and water32 test grids (a random subset of ``--size-points`` points). ``--reference``: the
straightforward, ungrouped evaluation instead. ``--profile``: where the time goes
(torch.profiler, top operators by self time, on 100k points).

The last line is one JSON object with ``pairs_per_s``, ``points_per_s``, ``model_gflop_per_s``,
``matmul_gflop_per_s`` and ``fraction`` (model over matmul).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from ddviz.evaluate.predictor import Predictor
from ddviz.io.snapshots import load_snapshots, snapshot_files
from ddviz.methods.deep_density.cost import flops_per_pair
from ddviz.methods.deep_density.files import load_model

ROOT = Path(__file__).resolve().parents[1]


def matmul_gflops(device: str = "cpu", repeats: int = 7) -> float:
    """The device's float32 matmul rate, GFLOP/s: the best over sizes of the median rate.

    n x n matrices, n = 256, 512, 1024 on a CPU, 4096 and 8192 on a GPU (TF32 off: true
    float32); each timing multiplies often enough for about 2 GFLOP on a CPU (200 on a GPU).
    """
    gpu = torch.device(device).type == "cuda"
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = False
    best = 0.0
    for n in (4096, 8192) if gpu else (256, 512, 1024):
        a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
        calls = max(1, int((2e11 if gpu else 2e9) // (2 * n ** 3)))
        a @ b
        rates = []
        for _ in range(repeats):
            _sync(device)
            start = time.perf_counter()
            for _ in range(calls):
                a @ b
            _sync(device)
            rates.append(calls * 2 * n ** 3 / (time.perf_counter() - start) / 1e9)
        best = max(best, statistics.median(rates))
    return best


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def test_grid(name: str):
    """(atoms, grid) of the first test snapshot of a dataset in assets/datasets."""
    sample = load_snapshots(snapshot_files(ROOT / "assets" / "datasets" / name, "test")[:1])[0]
    return sample.atoms, sample.grid


class Reference(Predictor):
    """The Predictor with the straightforward (ungrouped) model evaluation."""

    def _forward(self, env, points):
        return self.model(env, torch.as_tensor(points, dtype=self.dtype, device=self.device),
                          pair_batch=self.pair_batch, grouped=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default=str(ROOT / "models" / "water.safetensors"))
    parser.add_argument("--compile", action="store_true", help="torch.compile the networks")
    parser.add_argument("--reference", action="store_true", help="ungrouped evaluation")
    parser.add_argument("--profile", action="store_true", help="print a torch.profiler table")
    parser.add_argument("--sizes", type=int, nargs="*", default=[8],
                        help="water cluster sizes (8, 16, 32) to time per point")
    parser.add_argument("--size-points", type=int, default=200_000)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--autocast", choices=["bfloat16", "float16"], default=None,
                        help="mixed precision; also prints its change of rel L1 against the "
                        "reference density (every 3rd point of the test grid)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    model, _ = load_model(args.model)
    flops = flops_per_pair(model.config)
    cls = Reference if args.reference else Predictor
    start = time.perf_counter()
    predictor = cls(model, device=args.device, compile=args.compile, autocast=args.autocast)
    atoms, grid = test_grid("water8")
    if args.autocast:
        sample = load_snapshots(snapshot_files(ROOT / "assets" / "datasets" / "water8",
                                               "test")[:1])[0]
        coarse, ref = grid.every(3), sample.density.values[::3, ::3, ::3]
        plain = Predictor(model, device=args.device).predict_grid(atoms, coarse)
        mixed = predictor.predict_grid(atoms, coarse)
        l1 = [float(np.abs(v - ref).sum() / np.abs(ref).sum()) for v in (plain, mixed)]
        print(f"rel L1 against the reference: float32 {l1[0]:.6f}, {args.autocast} "
              f"{l1[1]:.6f} (change {l1[1] - l1[0]:+.2e})")
    env = predictor.environment(atoms)
    predictor.predict_points(env, grid.points(0, 20_000))  # warm-up (and compile)
    setup = time.perf_counter() - start
    pairs = sum(env.cells.query(torch.as_tensor(grid.points(a, min(a + 1 << 16, grid.size)),
                                                dtype=predictor.dtype))[0].numel()
                for a in range(0, grid.size, 1 << 16))
    print(f"{Path(args.model).name} on the water8 test grid {grid.shape}: {grid.size:,} points, "
          f"{pairs:,} atom-point pairs ({pairs / grid.size:.1f} per point); "
          f"{flops['total']:,} FLOP per pair ({flops['matmul']:,} in matmuls: embedding "
          f"{flops['embedding']:,}, descriptor {flops['descriptor']:,}, fitting "
          f"{flops['fitting']:,}); {torch.get_num_threads()} threads, "
          f"{'compiled' if predictor.compiled else 'eager'}"
          f"{', reference path' if args.reference else ''}; setup {setup:.1f} s")
    model_s, mm = [], []
    out = np.empty(grid.shape, np.float32)
    for _ in range(args.repeats):
        mm.append(matmul_gflops(args.device))
        start = time.perf_counter()
        predictor.predict_grid(env, grid, out=out)
        model_s.append(time.perf_counter() - start)
    mm.append(matmul_gflops(args.device))
    seconds, matmul = statistics.median(model_s), statistics.median(mm)
    print("grid seconds " + " ".join(f"{s:.2f}" for s in model_s)
          + "; matmul GFLOP/s " + " ".join(f"{r:.1f}" for r in mm))
    for nmol in args.sizes:
        if nmol == 8:
            continue
        atoms_n, grid_n = test_grid(f"water{nmol}")
        env_n = predictor.environment(atoms_n)
        take = np.random.default_rng(0).choice(grid_n.size, min(args.size_points, grid_n.size),
                                               replace=False)
        pts = grid_n.points(0, grid_n.size)[np.sort(take)]
        npairs = env_n.cells.query(torch.as_tensor(pts, dtype=predictor.dtype))[0].numel()
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            predictor.predict_points(env_n, pts)
            times.append(time.perf_counter() - start)
        t = statistics.median(times)
        print(f"water{nmol}: {1e6 * t / len(pts):.2f} us/point, {1e9 * t / npairs:.0f} ns/pair "
              f"({npairs / len(pts):.1f} pairs/point)")
    if 8 in args.sizes:
        print(f"water8: {1e6 * seconds / grid.size:.2f} us/point, "
              f"{1e9 * seconds / pairs:.0f} ns/pair ({pairs / grid.size:.1f} pairs/point)")
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            predictor.predict_points(env, grid.points(0, 100_000))
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"({os.cpu_count()} CPUs)")
    pairs_per_s = pairs / seconds
    gflops = pairs_per_s * flops["total"] / 1e9
    print(json.dumps({"pairs_per_s": round(pairs_per_s), "points_per_s": round(grid.size / seconds),
                      "model_gflop_per_s": round(gflops, 2),
                      "matmul_gflop_per_s": round(matmul, 2),
                      "fraction": round(gflops / matmul, 3)}))


if __name__ == "__main__":
    main()
