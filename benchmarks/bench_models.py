"""Pretrained models: test accuracy, water transfer 8 -> 16 -> 32, throughput, linear scaling,
speed-up over PySCF. Prints figures; it asserts nothing.

    python benchmarks/bench_models.py [--threads 2] [--max-files N] [--pyscf-live-all]
        [--near-bohr 0.5 0.2] [--models water ...] [--model-dir DIR] [--accuracy-only]

(with ddviz installed, ``pip install -e .``, or ``PYTHONPATH=.`` from the repository root).

Sections (all on this machine, in this run):

1. float32 matrix-multiply rate (2048 x 2048, GFLOP/s): the yardstick for throughput.
2. Test-set accuracy per model in ``models/`` (``<name>.safetensors`` evaluated on the test split
   of ``assets/datasets/<dataset>``; the dataset is the model's training data): pooled relative
   L1 and L2 over the full standard grids (0.2 bohr, 4 bohr margin), and the relative L1 over the
   grid points within 0.5 bohr of a nucleus ("L1 nuc", rel_l1_near_nuclei) with its ratio to the
   whole-grid figure (target: no more than 3), and the same for each further radius of
   ``--near-bohr`` (default also 0.2 bohr, the issue's radius: "L1 <0.2", "x all").
3. Water transfer: the water model on 8-, 16- and 32-molecule clusters, with the ratio to the
   8-molecule figure (target: 32 no more than 20 % above 8).
4. Throughput and scaling on those clusters' full grids: points/s, atom-point pairs/s (pairs
   within rcut), the model's arithmetic rate in GFLOP/s (dense-layer flops per pair counted from
   the architecture) as a fraction of the matmul rate, and microseconds per grid point from 8 to
   32 molecules (target: within 15 %).
5. Speed-up over PySCF for the same structure and grid: PySCF's SCF plus its evaluation of the
   density on the grid, against ddviz's prediction. The 8-water SCF is run live; the 32-water
   SCF (about 20 min on 2 cores) is taken from the dataset's manifest (``scf_wall_s``, measured
   when the data were built) unless ``--pyscf-live-all``; the grid evaluation is always live.
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"ethane": "ethane", "n-butane": "n-butane", "isobutane": "isobutane",
          "water": "water8"}
WATER = ["water8", "water16", "water32"]


def matmul_gflops(n: int = 2048, repeat: int = 5) -> float:
    """Best-of-``repeat`` float32 n x n matmul rate, GFLOP/s."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2 * n ** 3 / best / 1e9


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def flops_per_pair(config) -> float:
    """Dense-layer flops per atom-point pair: electron embedding net, the descriptor
    contraction and the fitting net (the atom part is computed once per structure)."""
    emb = [1, *config.embedding_widths, config.m1]
    fit = [config.m1 * config.m2, *config.fitting_widths, 4]
    dense = sum(a * b for a, b in pairwise(emb)) + sum(a * b for a, b in pairwise(fit))
    return 2.0 * (dense + config.m1 * config.m2 * 4 + config.m1 * 4)


def test_files(dataset: str, limit: int | None) -> list[Path]:
    from ddviz.io.snapshots import snapshot_files

    files = snapshot_files(ROOT / "assets" / "datasets" / dataset, "test")
    return files[:limit] if limit else files


def evaluate(predictor, files, near: tuple = ()) -> tuple[dict, list[dict]]:
    """Pooled metrics and per-file timings: prediction and reference grid evaluation (s).

    The metrics also hold ``near_<R>``, the relative L1 within ``R`` bohr of a nucleus, for each
    radius ``R`` of ``near``.
    """
    from ddviz import io
    from ddviz.evaluate.metrics import error_sums, pooled

    sums, rows = [], []
    extra = {r: [] for r in near}
    for f in files:
        sample = io.read(f)
        t0 = time.perf_counter()
        ref = np.asarray(sample.density.values)
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        env = predictor.environment(sample.atoms)
        pred = predictor.predict_grid(env, sample.grid)
        t_pred = time.perf_counter() - t0
        sums.append(error_sums(pred, ref, sample.grid, sample.positions_bohr))
        for r in near:
            extra[r].append(error_sums(pred, ref, sample.grid, sample.positions_bohr, r))
        rows.append({"file": f, "sample": sample, "points": sample.grid.size,
                     "pairs": _pairs(predictor, env, sample.grid), "t_pred": t_pred,
                     "t_ref_grid": t_ref, "natoms": len(sample.atoms)})
    metrics = pooled(sums)
    for r, part in extra.items():
        metrics[f"near_{r:g}"] = pooled(part)["rel_l1_near_nuclei"]
    return metrics, rows


ROUNDS, SUBSET = 7, 240_000


def interleaved_per_point(predictor, samples: dict) -> dict:
    """{name: (microseconds per point, per pair)} for each list of samples: SUBSET random grid
    points spread over the samples' grids, timed in interleaved rounds (best of ROUNDS) so that
    load changes hit all alike."""
    rng = np.random.default_rng(0)
    jobs = {}
    for name, group in samples.items():
        per = SUBSET // len(group)
        jobs[name] = []
        for sample in group:
            idx = np.sort(rng.choice(sample.grid.size, size=min(per, sample.grid.size),
                                     replace=False))
            env = predictor.environment(sample.atoms)
            pts = sample.grid.points(0, sample.grid.size)[idx]
            pairs = int(env.cells.query(torch.as_tensor(pts, dtype=predictor.dtype))[0].numel())
            jobs[name].append((env, pts, pairs))
    best = dict.fromkeys(jobs, np.inf)
    for _ in range(ROUNDS):
        for name, group in jobs.items():
            best[name] = min(best[name], sum(_timed(partial(predictor.predict_points, env, pts))
                                             for env, pts, _ in group))
    return {name: (best[name] / sum(len(p) for _, p, _ in group) * 1e6,
                   best[name] / sum(n for *_, n in group) * 1e6)
            for name, group in jobs.items()}


def _pairs(predictor, env, grid, chunk: int = 200_000) -> int:
    """Atom-point pairs within rcut over the whole grid."""
    total = 0
    with torch.inference_mode():
        for start in range(0, grid.size, chunk):
            pts = torch.as_tensor(grid.points(start, min(start + chunk, grid.size)),
                                  dtype=predictor.dtype)
            total += int(env.cells.query(pts)[0].numel())
    return total


def _radius_columns(metrics: dict, radii) -> str:
    """The near-nucleus rel L1 within each radius and its ratio to the whole-grid figure."""
    out = ""
    for r in radii:
        near = metrics[f"near_{r:g}"]
        out += (f" {near:8.3%} {near / metrics['rel_l1']:6.2f}" if near is not None
                else f" {'-':>8s} {'-':>6s}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-files", type=int, default=None,
                        help="test snapshots per dataset (default: all)")
    parser.add_argument("--pyscf-live-all", action="store_true",
                        help="run the 32-water SCF live too (about 20 min on 2 cores)")
    parser.add_argument("--near-bohr", type=float, nargs="+", default=[0.5, 0.2],
                        help="radii (bohr) of near-nucleus rel L1 columns (default 0.5 0.2)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS),
                        help="models to evaluate (default: all)")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models",
                        help="folder of the model files (default: models/)")
    parser.add_argument("--accuracy-only", action="store_true",
                        help="stop after test accuracy and water transfer")
    args = parser.parse_args(argv)
    radii = [r for r in args.near_bohr if r != 0.5]
    torch.set_num_threads(args.threads)
    from ddviz.evaluate.predictor import Predictor
    from ddviz.methods.deep_density.files import load_model

    gflops = matmul_gflops()
    print(f"# {torch.get_num_threads()} threads; float32 matmul 2048^2: {gflops:.0f} GFLOP/s\n")

    print("## Test-set accuracy (pooled over full grids)")
    radius_heads = "".join(f" {f'L1 <{r:g}':>8s} {'x all':>6s}" for r in radii)
    print(f"{'model':10s} {'dataset':10s} {'files':>5s} {'rel L1':>8s} {'rel L2':>8s} "
          f"{'L1 nuc':>8s} {'nuc/all':>7s}{radius_heads} {'params':>7s} {'steps':>6s} "
          f"{'train min':>9s}")
    water_rows = {}
    predictors = {}
    for name in args.models:
        dataset = MODELS[name]
        path = args.model_dir / f"{name}.safetensors"
        if not path.exists():
            print(f"{name:10s} (no model file {path.name})")
            continue
        model, meta = load_model(path)
        training = meta["user"].get("training", {})
        predictors[name] = Predictor(model)
        metrics, rows = evaluate(predictors[name], test_files(dataset, args.max_files), radii)
        near = metrics["rel_l1_near_nuclei"]
        print(f"{name:10s} {dataset:10s} {len(rows):5d} {metrics['rel_l1']:8.3%} "
              f"{metrics['rel_l2']:8.3%} {near:8.3%} {near / metrics['rel_l1']:7.2f}"
              f"{_radius_columns(metrics, radii)} "
              f"{sum(p.numel() for p in model.parameters()):7d} "
              f"{training.get('steps', 0):6d} {training.get('seconds', 0) / 60:9.1f}")
        if name == "water":
            water_rows[dataset] = (metrics, rows)
    if "water" not in predictors:
        return 0

    print("\n## Water transfer (model trained on 8-molecule clusters)")
    for dataset in WATER[1:]:
        water_rows[dataset] = evaluate(predictors["water"], test_files(dataset, args.max_files),
                                       radii)
    base = water_rows["water8"][0]["rel_l1"]
    print(f"{'cluster':10s} {'files':>5s} {'rel L1':>8s} {'rel L2':>8s} {'L1 nuc':>8s}"
          f"{radius_heads} {'L1 / L1(8)':>10s}")
    for dataset in WATER:
        m, rows = water_rows[dataset]
        print(f"{dataset:10s} {len(rows):5d} {m['rel_l1']:8.3%} {m['rel_l2']:8.3%} "
              f"{m['rel_l1_near_nuclei']:8.3%}{_radius_columns(m, radii)} "
              f"{m['rel_l1'] / base:10.2f}")
    if args.accuracy_only:
        return 0

    print("\n## Throughput and scaling (full standard grids, float32)")
    fpp = flops_per_pair(predictors["water"].model.config)
    print(f"{'cluster':10s} {'atoms':>5s} {'points':>9s} {'pairs/pt':>8s} {'points/s':>9s} "
          f"{'pairs/s':>9s} {'GFLOP/s':>8s} {'of matmul':>9s} {'us/point':>8s}")
    for dataset in WATER:
        rows = water_rows[dataset][1]
        pts = sum(r["points"] for r in rows)
        pairs = sum(r["pairs"] for r in rows)
        t = sum(r["t_pred"] for r in rows)
        rate = pairs * fpp / t / 1e9
        print(f"{dataset:10s} {rows[0]['natoms']:5d} {pts // len(rows):9d} {pairs / pts:8.1f} "
              f"{pts / t:9.0f} {pairs / t:9.0f} {rate:8.1f} {rate / gflops:9.1%} "
              f"{t / pts * 1e6:8.2f}")
    per_point = interleaved_per_point(predictors["water"],
                                      {d: [r["sample"] for r in water_rows[d][1]] for d in WATER})
    print(f"time per grid point, interleaved rounds (best of {ROUNDS}; {SUBSET} random grid "
          "points spread over each cluster's test snapshots): " +
          ", ".join(f"{d} {us:.2f} us ({pair:.2f} us per pair)"
                    for d, (us, pair) in per_point.items()) +
          f"; 32 vs 8 molecules: {per_point['water32'][0] / per_point['water8'][0]:.2f}x per "
          f"point, {per_point['water32'][1] / per_point['water8'][1]:.2f}x per pair"
          f" ({fpp:.0f} flops per pair)")

    print("\n## Speed-up over PySCF (SCF + density on the same grid) for one structure")
    from ddviz.reference.scf import SCFSettings, compute

    for dataset in ("water8", "water32"):
        row = water_rows[dataset][1][0]
        manifest = json.loads((row["file"].parent / "manifest.json").read_text())
        entry = next(e for e in manifest["snapshots"] if e["file"] == row["file"].name)
        live = dataset == "water8" or args.pyscf_live_all
        if live:
            known = SCFSettings.__dataclass_fields__
            settings = SCFSettings(**{**{k: v for k, v in manifest["settings"].items()
                                         if k in known}, "threads": args.threads})
            scf_s = compute(row["sample"].atoms, settings).wall_s
        else:
            scf_s = float(entry["scf_wall_s"])
        pyscf_s = scf_s + row["t_ref_grid"]
        print(f"{dataset}: PySCF {pyscf_s:.1f} s (SCF {scf_s:.1f} s "
              f"{'live' if live else 'recorded in manifest.json'}, grid {row['t_ref_grid']:.1f} s)"
              f"; ddviz {row['t_pred']:.1f} s for {row['points']} points: "
              f"{pyscf_s / row['t_pred']:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
