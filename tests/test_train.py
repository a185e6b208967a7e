"""Training on real (tiny) PySCF data: learning happens, resume is bit-exact, NaN stops cleanly."""

import json
import signal
import time

import pytest
import torch
from conftest import StopAt

from ddviz.methods.deep_density.config import ModelConfig
from ddviz.train import CHECKPOINT, MODEL, Callback, TrainConfig, Trainer, TrainingError

SMALL = ModelConfig(m1=8, m2=4, embedding_widths=[8], fitting_widths=[16, 16], rcut=5.0)


def config(dataset, **kw):
    base = dict(train=[str(dataset)], validation_snapshots=2, validation_stride=3, steps=24,
                snapshots_per_step=2, points_per_snapshot=256, validate_every=8,
                checkpoint_every=8, log_every=4, lr=5e-3, lr_final=1e-3, seed=3, model=SMALL)
    base.update(kw)
    return TrainConfig(**base)


def test_training_learns_and_writes_its_files(ethane_dataset, tmp_path):
    trainer = Trainer(config(ethane_dataset, steps=60, validate_every=20), tmp_path / "run")
    first = trainer.validate()["rel_l1"]
    assert trainer.fit() == "finished"
    assert trainer.best["rel_l1"] < 0.7 * first  # validation error on full grids went down
    assert trainer.config.model.species == ["C", "H"]  # species taken from the data
    for name in (CHECKPOINT, MODEL, "history.json", "history.csv", "status.json"):
        assert (tmp_path / "run" / name).exists(), name
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["state"] == "finished" and status["step"] == 60
    from ddviz.methods.deep_density.files import load_model

    _, meta = load_model(tmp_path / "run" / MODEL)
    assert meta["user"]["validation"]["rel_l1"] == pytest.approx(trainer.best["rel_l1"])
    assert meta["user"]["training"]["train_snapshots"] == 6
    assert meta["user"]["training"]["periodic"] is False  # molecules


def test_stop_and_resume_is_bit_for_bit(ethane_dataset, tmp_path):
    straight = Trainer(config(ethane_dataset, sampling="error"), tmp_path / "a")
    straight.fit()
    first = Trainer(config(ethane_dataset, sampling="error"), tmp_path / "b", callbacks=[StopAt(12)])
    assert first.fit() == "stopped" and first.step == 12
    assert not (tmp_path / "b" / MODEL).exists()
    resumed = Trainer(config(ethane_dataset, sampling="error"), tmp_path / "b", resume=True)
    assert resumed.step == 12
    assert resumed.fit() == "finished"
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [e.get("loss") for e in straight.history] == [e.get("loss") for e in resumed.history]


def test_existing_run_is_not_overwritten_and_resume_needs_a_checkpoint(ethane_dataset, tmp_path):
    Trainer(config(ethane_dataset, steps=8), tmp_path / "run").fit()
    with pytest.raises(TrainingError, match="has a checkpoint"):
        Trainer(config(ethane_dataset), tmp_path / "run")
    with pytest.raises(TrainingError, match="no checkpoint"):
        Trainer(config(ethane_dataset), tmp_path / "other", resume=True)


class Poison(Callback):
    def __init__(self, step):
        self.step = step

    def on_log(self, trainer, entry):
        if trainer.step == self.step:
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(float("nan"))


@pytest.mark.parametrize("step, words", [(12, "loss became nan"), (16, "non-finite")])
def test_nan_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(ethane_dataset, tmp_path,
                                                                         step, words):
    """Weights poisoned between checkpoints (12) show up as a NaN loss; poisoned right before a
    checkpoint (16) they are caught before writing it. Either way step 8's checkpoint stays."""
    trainer = Trainer(config(ethane_dataset), tmp_path / "run", callbacks=[Poison(step)])
    with pytest.raises(TrainingError, match=words):
        trainer.fit()
    from safetensors.torch import load_file

    saved = load_file(tmp_path / "run" / CHECKPOINT)
    assert all(torch.isfinite(v).all() for k, v in saved.items() if k.startswith("model/"))
    assert json.loads((tmp_path / "run" / "status.json").read_text())["state"] == "failed"
    resumed = Trainer(config(ethane_dataset), tmp_path / "run", resume=True)
    assert resumed.step == 8


def test_cli_sigterm_checkpoints_then_resume_finishes(ethane_dataset, tmp_path, ddviz_cli):
    import subprocess
    import sys

    from tests.conftest import ROOT

    cfg = tmp_path / "c.toml"
    cfg.write_text(f'train = ["{ethane_dataset}"]\nvalidation_snapshots = 2\nsteps = 400\n'
                   'points_per_snapshot = 128\nvalidate_every = 200\nlog_every = 2\n'
                   '[model]\nm1 = 8\nm2 = 4\nembedding_widths = [8]\nfitting_widths = [16]\n')
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "ddviz", "train", str(cfg), "--run", str(run),
                             "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        status = run / "status.json"
        if status.exists() and json.loads(status.read_text())["step"] >= 4:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err  # interrupted, as shells expect
    assert "stopped at step" in out
    step = json.loads((run / "status.json").read_text())["step"]
    assert 4 <= step < 400 and (run / CHECKPOINT).exists()
    done = ddviz_cli("train", cfg, "--run", run, "--resume", "--quiet",
                     "--output", tmp_path / "m.safetensors")
    assert done.returncode == 0, done.stderr
    assert "finished at step 400" in done.stdout and (tmp_path / "m.safetensors").exists()


def test_bad_config_file_is_one_line_exit_2(tmp_path, ddviz_cli):
    cfg = tmp_path / "c.toml"
    cfg.write_text('steps = "many"\n')
    r = ddviz_cli("train", cfg)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "steps" in r.stderr and "c.toml" in r.stderr


def test_a_config_outside_the_checkout_names_the_missing_data_folder(tmp_path, ddviz_cli):
    from conftest import ROOT

    shipped = (ROOT / "models" / "configs" / "ethane.toml").read_text()
    assert 'train = ["assets/datasets/ethane"]' in shipped  # relative to the current folder
    (tmp_path / "ethane.toml").write_text(shipped)
    r = ddviz_cli("train", "ethane.toml", "--run", "r", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "assets/datasets/ethane: no such dataset file or folder" in r.stderr, r.stderr
    assert f"the current folder, {tmp_path}" in r.stderr
    assert f"it is in the checkout {ROOT}: run from there" in r.stderr  # ddviz runs from it
    (tmp_path / "other.toml").write_text(shipped.replace("datasets/ethane", "datasets/ethane9"))
    r = ddviz_cli("train", "other.toml", "--run", "r", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "come with a source checkout of ddviz (git clone), not with pip install" in r.stderr
    assert not (tmp_path / "r").exists()  # refused before the run folder is made


def test_descriptor_statistics_normalise_the_fitting_net_input(ethane_dataset, tmp_path):
    """A fresh run sets per-species mean/std of the descriptor from its data: on new points of
    a training snapshot the normalised entries have mean ~0 and std ~1 per species."""
    import numpy as np

    trainer = Trainer(config(ethane_dataset), tmp_path / "run")
    model = trainer.model
    assert not torch.allclose(model.descriptor_std, torch.ones_like(model.descriptor_std))
    env = trainer.method.environment(model, 0)
    pts = torch.as_tensor(trainer.method.samplers[0].draw_points(4000, np.random.default_rng(9)),
                          dtype=model.dtype)
    with torch.no_grad():
        _, i, vec = model.point_pairs(env, pts)
        kind = env.species[i]
        desc = (model.descriptor(env.sums[i], vec) - model.descriptor_mean[kind]) \
            / model.descriptor_std[kind]
    for k in range(len(model.config.species)):
        rows = desc[kind == k]
        assert rows.mean(0).abs().median() < 0.2
        assert 0.7 < float(rows.std(0).median()) < 1.3


def test_l1_loss_trains(ethane_dataset, tmp_path):
    trainer = Trainer(config(ethane_dataset, loss="l1", steps=40, validate_every=20),
                      tmp_path / "run")
    first = trainer.validate()["rel_l1"]
    trainer.fit()
    assert trainer.best["rel_l1"] < 0.7 * first


def test_template_is_valid_toml_with_every_default(tmp_path):
    import tomllib

    from ddviz.config import to_dict
    from ddviz.train.config import template

    path = tmp_path / "template.toml"
    path.write_text(template())
    assert tomllib.loads(path.read_text())["steps"] == TrainConfig().steps
    assert to_dict(TrainConfig.from_file(path)) == to_dict(TrainConfig())


def test_init_starts_from_a_model_file_and_refuses_another_architecture(ethane_dataset, tmp_path):
    first = Trainer(config(ethane_dataset, steps=8, validate_every=8), tmp_path / "a")
    first.fit()
    second = Trainer(config(ethane_dataset, init=str(tmp_path / "a" / MODEL)), tmp_path / "b")
    for key, value in first.model.state_dict().items():
        assert torch.equal(second.model.state_dict()[key], value), key
    fresh = Trainer(config(ethane_dataset), tmp_path / "c")
    assert not torch.equal(fresh.model.descriptor_mean, second.model.descriptor_mean) or \
        not torch.equal(fresh.model.rate, second.model.rate)
    other = ModelConfig(m1=8, m2=2, embedding_widths=[8], fitting_widths=[16, 16], rcut=5.0)
    with pytest.raises(TrainingError, match="init model's configuration differs"):
        Trainer(config(ethane_dataset, init=str(tmp_path / "a" / MODEL), model=other),
                tmp_path / "d")
