"""Train a model from a TOML/YAML configuration.

The config's ``method`` (default Deep Density)
picks what is trained, by one loop for all methods (``--template`` prints a configuration with
every field documented). Ctrl-C or SIGTERM writes a checkpoint and stops with exit code 130;
``ddviz train --run DIR --resume`` continues it (the run folder keeps its configuration in
config.json: give a configuration file only to change it, e.g. more steps). Under
``torchrun --nproc_per_node=N -m ddviz train CONFIG [--run-dir DIR]`` the ranks train data-parallel
(:mod:`ddviz.train.distributed`); rank 0 writes the run folder, which resumes with any N. Checkpoints
written before the generic loop cannot be resumed: use ``init``.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path


def add_arguments(p):
    """Add the command's arguments to ``p``."""
    p.add_argument("config", nargs="?", help="training configuration (.toml, .yaml, .json); "
                   "with --resume, default: the run folder's config.json")
    p.add_argument("--run", "--run-dir", dest="run",
                   help="run folder for checkpoints and history (default runs/<config name>; "
                   "under torchrun spell it --run-dir: torchrun takes --run for its --run-path)")
    p.add_argument("--resume", action="store_true", help="continue the run folder's checkpoint")
    p.add_argument("--output", help="also copy the final model file here (e.g. models/name.safetensors)")
    p.add_argument("--template", nargs="?", const="deep_density", default=None, metavar="METHOD",
                   help="print a documented configuration (of METHOD's model: deep_density, "
                   "kinetic, hamiltonian, ednn, dcign; default deep_density) and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args):
    """Train (or resume); 0 done, 130 stopped by a signal."""
    from ddviz.errors import ConfigError
    from ddviz.train.config import template

    if args.template:
        sys.stdout.write(template(args.template))
        return 0
    if not args.config and not (args.resume and args.run):
        raise ConfigError("give a configuration file (ddviz train --template prints one), or "
                          "--run DIR --resume to continue a run")
    from ddviz.cli import INTERRUPTED
    from ddviz.train import MODEL, Callback, RunDirectory, TrainConfig, Trainer

    run_dir = Path(args.run or Path("runs") / Path(args.config).stem)
    if args.config:
        config = TrainConfig.from_file(args.config)
    else:
        stored = RunDirectory(run_dir)
        config = TrainConfig.from_dict(stored.read_config(), source=stored.config)
    if args.output:
        from ddviz.cli._checks import check_output

        check_output(args.output, suffixes=(".safetensors",))

    class Progress(Callback):
        def on_start(self, trainer):
            from tqdm import tqdm

            self.bar = tqdm(total=trainer.config.steps, initial=trainer.step, unit="step",
                            disable=args.quiet or not trainer.group.main, dynamic_ncols=True)
            self.post = {}

        def on_log(self, trainer, entry):
            self.post["loss"] = f"{entry['loss']:.3g}"
            self.bar.set_postfix(self.post, refresh=False)
            self.bar.update(trainer.step - self.bar.n)

        def on_validation(self, trainer, entry):
            key = f"val_{trainer.method.score}"
            self.post[key] = trainer.method.score_format.format(entry[key])
            self.bar.set_postfix(self.post)

        def on_end(self, trainer, state):
            self.bar.close()

    trainer = Trainer(config, run_dir, callbacks=[Progress()], resume=args.resume)
    handlers = {}

    signalled = []

    def stop(signum, frame):
        signalled.append(signum)
        trainer.request_stop()
        for sig, old in handlers.items():  # a second signal stops at once
            signal.signal(sig, old)

    for sig in (signal.SIGINT, signal.SIGTERM):
        handlers[sig] = signal.signal(sig, stop)
    from ddviz.train.distributed import leave

    try:
        state = trainer.fit()
    finally:
        leave()  # under torchrun: the process group
    if not trainer.group.main:
        return INTERRUPTED if signalled and state == "stopped" else 0
    best = trainer.best
    if state == "stopped":
        print(f"stopped at step {trainer.step}; checkpoint in {run_dir}; continue with "
              f"ddviz train --run {run_dir} --resume")
        return INTERRUPTED if signalled else 0
    if args.output:
        import shutil

        from ddviz.cli._checks import make_parent
        from ddviz.io.atomic import atomic_path

        make_parent(args.output)
        with atomic_path(args.output) as tmp:
            shutil.copyfile(run_dir / MODEL, tmp)
    where = args.output or run_dir / MODEL
    score = trainer.method.score
    print(f"{state} at step {trainer.step} in {trainer.elapsed:.0f} s; best validation "
          f"{score} {trainer.method.score_format.format(best[score])} at step {best['step']}; model: {where}")
    return 0
