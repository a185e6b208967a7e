"""Deep Density in 1D, the whole study in one command: data, training, evaluation.

1. data: ``ddviz chain dataset`` (3 characters x 8-atom AIMD + 32-atom transfer cells; resumable);
2. train: one model per character with the standard command, ``ddviz train CONFIG`` (all three at
   once, one torch thread each), on the 8-atom train split, validated on the validation split;
   the hyperparameters are in ``benchmarks/chain_study.toml``. A configuration with
   ``[[stages]]`` tables (``benchmarks/chain_study_fp64.toml``: float64, Adam then an L-BFGS
   finish) trains the stages one after the other, each started from the previous stage's model
   (``init``), each table's options over the file's own; a stage run records the curve of
   rel L1 on the test split and the transfer cells at every validation
   (``DIR/runs/<character>/<stage>/curve.json``, :class:`TestCurve`);
3. evaluate: ``ddviz evaluate MODEL FILES --json`` on the 8-atom test split (the last 20 % of the
   run), on its last snapshot alone (the far future) and on the 32-atom transfer cells.

Prints relative L1 / L2 (pooled over the full 1D grids; density in electrons/bohr) per character
and set, and the wall time of each phase; writes ``DIR/results.json`` and ``DIR/results.md``.
Every phase resumes: finished snapshots and models are kept, interrupted training runs resume.

    python benchmarks/chain_study.py -o out/chain_study [--steps N] [--jobs 3]
    python benchmarks/chain_study.py -o out/chain64 --config benchmarks/chain_study_fp64.toml --jobs 1
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
from ddviz.train import Callback

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


def stages(base: dict) -> list[dict]:
    """The training stages of a study configuration: ``[{"name": ..., **options}]``.

    Without ``[[stages]]`` one unnamed stage with the file's options; with them, each table's
    options over the file's (its ``model`` table over the file's ``model``), in order.
    """
    common = {k: v for k, v in base.items() if k != "stages"}
    if "stages" not in base:
        return [{"name": "", **common}]
    out = []
    for stage in base["stages"]:
        merged = {**common, **stage, "model": {**common.get("model", {}),
                                               **stage.get("model", {})}}
        out.append(merged)
    return out


def write_config(out: Path, character: str, stage: dict, steps: int | None,
                 init: Path | None) -> Path:
    """DIR/configs/<character>[-<stage>].toml: the stage's configuration with this data."""
    config = {k: v for k, v in stage.items() if k != "name"}
    md = out / "data" / character / "md8"
    config["train"] = [str(md / "train"), str(md / "validation")]
    config["validation_snapshots"] = len(list((md / "validation").glob("*.nc")))
    if steps and config.get("optimizer", "adam") == "adam":
        config["steps"] = steps
    if init is not None:
        config["init"] = str(init)
    name = "-".join(filter(None, [character, stage["name"]]))
    path = out / "configs" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, to_toml(config))
    return path


def test_sets(out: Path, character: str) -> dict[str, list[Path]]:
    """The evaluation sets of a character: test split, its last snapshot, transfer cells."""
    data = out / "data" / character
    test = sorted((data / "md8" / "test").glob("*.nc"))
    return {"test": test, "far": test[-1:],
            "transfer": sorted((data / "md32" / "transfer").glob("*.nc"))}


def stage_runs(out: Path, character: str, config: dict) -> list[tuple[dict, Path]]:
    """``(stage, run folder)`` per stage: DIR/runs/<character>[/<stage>]."""
    return [(stage, out / "runs" / character / stage["name"] if stage["name"]
             else out / "runs" / character) for stage in stages(config)]


def final_model(out: Path, character: str, config: dict) -> Path:
    """The last stage's model file: the character's model."""
    return stage_runs(out, character, config)[-1][1] / "model.safetensors"


def train_command(out: Path, character: str, stage: dict, run: Path, steps: int | None,
                  init: Path | None) -> list[str]:
    """``ddviz train`` for a plain study, this script's ``--train-stage`` for a staged one."""
    config = write_config(out, character, stage, steps, init)
    if stage["name"]:
        cmd = [sys.executable, __file__, "--train-stage", str(config), "--run", str(run),
               "-o", str(out), "--character", character]
    else:
        cmd = ddviz("train", config, "--run", run, "--quiet")
    if (run / "checkpoint.safetensors").exists():
        cmd.append("--resume")
    return cmd


def finished_seconds(run: Path, steps: int | None = None) -> float | None:
    """The run's training seconds when it has finished (``steps`` of them, if given), else None.

    A finished run configured for more steps than it took is resumed (a longer L-BFGS stage
    continues from its checkpoint, history and curvature pairs included).
    """
    status = run / "status.json"
    if status.exists():
        state = json.loads(status.read_text())
        if state["state"] == "early-stopped" or (
                state["state"] == "finished" and (steps is None or state["step"] >= steps)):
            return state["seconds"]
    return None


def train_character(out: Path, character: str, config: dict, steps: int | None) -> float:
    """Train the stages of one character in order (resuming, skipping finished ones)."""
    seconds, init = 0.0, None
    for stage, run in stage_runs(out, character, config):
        steps_wanted = stage["steps"] if steps is None or stage.get("optimizer") == "lbfgs" \
            else steps
        done = finished_seconds(run, steps_wanted)
        if done is None:
            cmd = train_command(out, character, stage, run, steps, init)
            log_path = out / "runs" / f"{'-'.join(filter(None, [character, stage['name']]))}.log"
            with open(log_path, "a") as log:
                proc = subprocess.run(cmd, env=child_env(), stdout=log, stderr=subprocess.STDOUT,
                                      check=False)
            if proc.returncode:
                sys.exit(f"training {character} {stage['name']} failed (exit "
                         f"{proc.returncode}); see {log_path}")
            done = finished_seconds(run)
        seconds += done
        init = run / "model.safetensors"
    return seconds


def train_all(out: Path, config: dict, steps: int | None, jobs: int) -> dict:
    """Train (or resume, or skip when finished) the three models; returns seconds per model."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(jobs) as pool:
        done = {c: pool.submit(train_character, out, c, config, steps) for c in CHARACTERS}
    return {c: future.result() for c, future in done.items()}


def evaluate(model: Path, files: list[Path]) -> dict:
    """Pooled metrics of ``ddviz evaluate MODEL FILES --json``."""
    proc = subprocess.run(ddviz("evaluate", model, *files, "--json"), env=child_env(),
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"ddviz evaluate failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)["pooled"]


def evaluate_all(out: Path, config: dict, jobs: int) -> dict:
    """{character: {set: metrics}} for the test split, its last snapshot and the 32-atom cells."""
    from concurrent.futures import ThreadPoolExecutor

    tasks = {}
    for character in CHARACTERS:
        for name, files in test_sets(out, character).items():
            tasks[character, name] = (final_model(out, character, config), files)
    with ThreadPoolExecutor(jobs) as pool:
        done = {key: pool.submit(evaluate, *task) for key, task in tasks.items()}
    results = {}
    for (character, name), future in done.items():
        files = tasks[character, name][1]
        results.setdefault(character, {})[name] = {**future.result(), "files": len(files),
                                                   "first": files[0].name}
    return results


def curve_metrics(model, files: list[Path]) -> dict:
    """Pooled rel L1 / L2 of ``model`` (its own dtype) on the full grids of ``files``."""
    from ddviz.evaluate.metrics import error_sums, pooled
    from ddviz.evaluate.predictor import Predictor
    from ddviz.io import read

    predictor = Predictor(model, device=model.device)
    samples = [read(f) for f in files]
    return pooled([error_sums(predictor.predict_grid(s.atoms, s.grid), s.density.values, s.grid)
                   for s in samples])


class TestCurve(Callback):
    """A training callback: rel L1 on the test split, transfer cells (and training snapshots).

    At every validation it appends ``{"step", "seconds", "loss", "val_rel_l1", "<set>_rel_l1",
    "<set>_rel_l2"}`` for each set (``test``, ``transfer``, ``train``) to
    ``RUN/curve.json`` (entries past the resumed step are dropped on resume).
    """

    def __init__(self, sets: dict[str, list[Path]], path: Path):
        self.sets, self.path = sets, path
        self.entries: list[dict] = []

    def on_start(self, trainer) -> None:
        """Keep the entries up to the step the run (re)starts from."""
        if self.path.exists():
            self.entries = [e for e in json.loads(self.path.read_text())
                            if e["step"] <= trainer.step]

    def on_validation(self, trainer, entry) -> None:
        """Evaluate the current model on the test and transfer sets; write the curve."""
        from ddviz.train.method import evaluating

        metrics = {}
        with evaluating(trainer.model):
            for name, files in self.sets.items():
                found = curve_metrics(trainer.model, files)
                metrics.update({f"{name}_rel_l1": found["rel_l1"],
                                f"{name}_rel_l2": found["rel_l2"]})
        losses = [e["loss"] for e in trainer.history if "loss" in e and e["step"] <= entry["step"]]
        self.entries.append({"step": entry["step"], "seconds": entry["seconds"],
                             "loss": losses[-1] if losses else None,
                             "val_rel_l1": entry["val_rel_l1"], **metrics})
        write_text_atomic(self.path, json.dumps(self.entries, indent=1))


def train_stage(config_path: Path, run: Path, out: Path, character: str, resume: bool) -> int:
    """Train one stage in this process with a :class:`TestCurve` (``--train-stage``)."""
    from ddviz.train import TrainConfig, Trainer  # noqa: I001 (after the sys.path insert)

    sets = {k: v for k, v in test_sets(out, character).items() if k != "far"}
    sets["train"] = sorted((out / "data" / character / "md8" / "train").glob("*.nc"))
    curve = TestCurve(sets, run / "curve.json")
    trainer = Trainer(TrainConfig.from_file(config_path), run, callbacks=[curve], resume=resume)
    state = trainer.fit()
    print(f"{character} {run.name}: {state} at step {trainer.step}, best validation rel L1 "
          f"{trainer.best['rel_l1']:.3e} (step {trainer.best['step']})")
    return 0


def reference_precision(out: Path) -> dict:
    """How exact the reference densities are: rel L1 of stored vs re-solved to a 100x tighter SCF.

    For each character, the far test snapshot and the last 32-atom transfer cell are solved
    again from their stored positions and settings with the SCF residual tolerance 1e-12
    instead of the data's 1e-10 (near the float64 floor of the residual, ~1e-13); returns ``{character: {"test": rel L1, "transfer": rel L1}}``.
    A model cannot be measured below these numbers.
    """
    import numpy as np

    from ddviz.io import read
    from ddviz.toys.chain1d.solver import Chain, ChainSettings, solve

    found = {}
    for character in CHARACTERS:
        sets = test_sets(out, character)
        for name, path in (("test", sets["far"][0]), ("transfer", sets["transfer"][-1])):
            sample = read(path)
            p = sample.provenance
            chain = Chain(p["cell_length_bohr"], p["symbols"], p["positions_bohr"])
            tight = ChainSettings(**{**p["settings"], "tol": 1e-12, "max_iter": 400})
            ref = np.asarray(sample.density.values).reshape(-1)
            new = solve(chain, tight, raise_on_failure=False).density
            found.setdefault(character, {})[name] = float(np.abs(new - ref).sum()
                                                          / np.abs(ref).sum())
    return found


def float32_floor(out: Path, config: dict) -> dict:
    """rel L1 between float32 and float64 evaluations of each final model on its test split.

    The precision float32 arithmetic alone costs (weights rounded to float32 included): what a
    float32 model could at best reach. ``{character: rel L1}``.
    """
    import numpy as np

    from ddviz.evaluate.predictor import Predictor
    from ddviz.io import read
    from ddviz.methods.deep_density.files import load_model

    found = {}
    for character in CHARACTERS:
        model, _ = load_model(final_model(out, character, config))
        high = Predictor(model, device="cpu", dtype="float64")
        low = Predictor(model, device="cpu", dtype="float32")
        diff = total = 0.0
        for path in test_sets(out, character)["test"]:
            sample = read(path)
            diff += float(np.abs(high.predict_grid(sample.atoms, sample.grid)
                                 - low.predict_grid(sample.atoms, sample.grid)).sum())
            total += float(np.abs(sample.density.values).sum())
        found[character] = diff / total
    return found


def stage_table(out: Path, config: dict) -> str:
    """Markdown table of a staged study: per character and stage, steps, seconds, end errors."""
    rows = ["| character | stage | steps | seconds | validation rel L1 | test rel L1 | "
            "transfer rel L1 |", "|---|---|---|---|---|---|---|"]
    for character in CHARACTERS:
        for stage, run in stage_runs(out, character, config):
            curve = json.loads((run / "curve.json").read_text())
            status = json.loads((run / "status.json").read_text())
            last = curve[-1]
            rows.append(f"| {character} | {stage['name']} | {status['step']} | "
                        f"{status['seconds']:.0f} | {last['val_rel_l1']:.2e} | "
                        f"{last['test_rel_l1']:.2e} | {last['transfer_rel_l1']:.2e} |")
    return "\n".join(rows)


def plot_curves(out: Path, config: dict, path: Path) -> None:
    """rel L1 (train, validation, test, transfer) against training time, stage after stage.

    The x axis is the cumulative training time (s, one thread): the stages are compared at
    equal cost (an L-BFGS iteration evaluates the whole fixed batch, a few times).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(CHARACTERS), figsize=(5 * len(CHARACTERS), 4), sharey=True)
    sets = {"train": "C2", "val": "C1", "test": "C0", "transfer": "C3"}
    for ax, character in zip(axes, CHARACTERS):
        offset = 0.0
        for number, (stage, run) in enumerate(stage_runs(out, character, config)):
            curve = json.loads((run / "curve.json").read_text())
            x = [offset + e["seconds"] for e in curve]
            for key, color in sets.items():
                if f"{key}_rel_l1" in curve[0]:
                    ax.semilogy(x, [e[f"{key}_rel_l1"] for e in curve], ("-", "--", ":")[number % 3],
                                color=color, marker=".", label=f"{stage['name']} {key}")
            offset += json.loads((run / "status.json").read_text())["seconds"]
            ax.axvline(offset, color="0.8", lw=0.5)
        ax.axhline(1e-5, color="k", lw=0.5)
        ax.axhline(1e-4, color="k", lw=0.5, ls="--")
        ax.set_title(character)
        ax.set_xlabel("training time (s, one thread)")
    axes[0].set_ylabel("relative L1 (full 1D grids)")
    axes[-1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
    parser.add_argument("--config", type=Path, default=BASE_CONFIG,
                        help="study configuration (default benchmarks/chain_study.toml; "
                        "benchmarks/chain_study_fp64.toml: float64 + L-BFGS stages)")
    parser.add_argument("--train-stage", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--character", help=argparse.SUPPRESS)
    parser.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = Path(args.output).resolve()
    if args.train_stage:  # one stage of a staged study, in a child process
        return train_stage(args.train_stage, args.run, out, args.character, args.resume)
    config = tomllib.loads(args.config.read_text())
    (out / "runs").mkdir(parents=True, exist_ok=True)
    times = {}
    t = time.perf_counter()
    build_data(out, args.jobs)
    times["data"] = time.perf_counter() - t
    t = time.perf_counter()
    train_seconds = train_all(out, config, args.steps, args.jobs)
    times["train"] = time.perf_counter() - t
    t = time.perf_counter()
    results = evaluate_all(out, config, args.jobs)
    times["evaluate"] = time.perf_counter() - t
    precision = reference_precision(out)
    floor32 = float32_floor(out, config)
    times["total"] = sum(times.values())
    text = table(results) + "\n\nWall time (s): " + ", ".join(
        f"{k} {v:.0f}" for k, v in times.items()) + " (training per model, s: " + ", ".join(
        f"{k} {v:.0f}" for k, v in train_seconds.items()) + ")\n"
    text += ("\nReference precision (rel L1 of the stored density against one re-solved with the "
             "SCF tolerance 1e-12 instead of 1e-10; far test snapshot / last transfer cell): "
             + ", ".join(f"{c} {v['test']:.1e} / {v['transfer']:.1e}"
                         for c, v in precision.items()) + "\n"
             + "float32 evaluation of the final weights vs float64 (8-atom test, rel L1): "
             + ", ".join(f"{c} {v:.1e}" for c, v in floor32.items()) + "\n")
    if "stages" in config:
        text += "\n" + stage_table(out, config) + "\n\nCurves: " + str(out / "curves.png") + "\n"
        plot_curves(out, config, out / "curves.png")
    write_text_atomic(out / "results.json", json.dumps(
        {"results": results, "seconds": times, "train_seconds": train_seconds,
         "reference_precision": precision, "float32_vs_float64": floor32}, indent=1))
    write_text_atomic(out / "results.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
