"""Training to high precision: float64 models end to end, and the L-BFGS finishing stage (a fixed
batch of every grid point, resumable, started from an Adam model of another dtype)."""

import numpy as np
import pytest
import torch

from ddviz import io
from ddviz.evaluate.predictor import Predictor
from ddviz.methods.deep_density import ModelConfig
from ddviz.methods.deep_density.files import load_model
from ddviz.toys.chain1d.data import to_sample
from ddviz.toys.chain1d.md import displaced_chain
from ddviz.toys.chain1d.solver import ChainSettings, solve
from ddviz.train import MODEL, Callback, TrainConfig, Trainer, TrainingError

SMALL_1D = dict(m1=8, m2=4, embedding_widths=[8], fitting_widths=[16, 16], rcut=6.0,
                rcut_smooth=3.0, sel=1.0)


@pytest.fixture(scope="module")
def chains(tmp_path_factory):
    """Five displaced 4-atom mixed chains (Ne Li Li Li, L = 16 bohr, 80 grid points each)."""
    folder = tmp_path_factory.mktemp("chains")
    for seed in range(5):
        res = solve(displaced_chain("mixed", 4, 0.3, seed), ChainSettings(nk=2))
        io.write(to_sample(res, {"seed": seed}), folder / f"chain_{seed}.nc")
    return folder


def chain_config(folder, dtype="float32", **kw):
    base = {"train": [str(folder)], "validation_snapshots": 1, "validation_stride": 1,
            "steps": 30, "snapshots_per_step": 2, "points_per_snapshot": 80,
            "sampling": "uniform", "validate_every": 10, "checkpoint_every": 100,
            "log_every": 1, "lr": 1e-2, "lr_final": 3e-3, "seed": 0, "device": "cpu",
            "model": ModelConfig(**SMALL_1D, dtype=dtype)}
    return TrainConfig(**{**base, **kw})


class StopAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_log(self, trainer, entry):
        if trainer.step >= self.step:
            trainer.request_stop()


def test_float64_model_file_predicts_in_float64_and_float32_files_still_float32(chains, tmp_path):
    Trainer(chain_config(chains, "float64", steps=5), tmp_path / "run").fit()
    model, meta = load_model(tmp_path / "run" / MODEL)
    assert meta["config"]["dtype"] == "float64"
    assert model.dtype == torch.float64
    assert all(p.dtype == torch.float64 for p in model.parameters())
    sample = io.read(chains / "chain_4.nc")
    predictor = Predictor(model, device="cpu")  # no dtype given: the model's own
    assert predictor.dtype == torch.float64 and predictor.model is model
    values = predictor.predict_grid(sample.atoms, sample.grid)
    assert values.dtype == np.float64
    # the same weights evaluated in float32 differ at float32's precision, not float64's
    low = Predictor(model, device="cpu", dtype="float32").predict_grid(sample.atoms, sample.grid)
    assert low.dtype == np.float32
    assert 1e-12 < np.abs(low - values).max() < 1e-4
    shipped, _ = load_model("models/ethane.safetensors")  # an older float32 file
    assert shipped.dtype == torch.float32
    assert Predictor(shipped, device="cpu").dtype == torch.float32


def test_lbfgs_finish_lowers_the_loss_resumes_bit_for_bit_and_casts_its_init(chains, tmp_path):
    adam = Trainer(chain_config(chains), tmp_path / "adam")  # float32 Adam stage
    adam.fit()
    init = str(tmp_path / "adam" / MODEL)
    lbfgs = {"optimizer": "lbfgs", "steps": 8, "loss": "mse", "init": init}
    straight = Trainer(chain_config(chains, "float64", **lbfgs), tmp_path / "a")
    assert straight.model.dtype == torch.float64  # the float32 weights, cast
    batch = straight.method.fixed_batch(straight.model)
    assert [len(points) for _, points, _ in batch] == [80] * 4  # every grid point, 4 snapshots
    np.testing.assert_array_equal(batch[0][2], straight.method.train_samples[0].density.values
                                  .reshape(-1))
    assert straight.fit() == "finished"
    losses = [e["loss"] for e in straight.history if "loss" in e]
    assert len(losses) == 8
    assert all(b <= a for a, b in zip(losses, losses[1:]))  # the line search never goes up
    assert losses[-1] < 0.85 * losses[0]
    first = Trainer(chain_config(chains, "float64", **lbfgs), tmp_path / "b",
                    callbacks=[StopAt(3)])
    assert first.fit() == "stopped" and first.step == 3
    resumed = Trainer(chain_config(chains, "float64", **lbfgs), tmp_path / "b", resume=True)
    assert resumed.fit() == "finished" and resumed.step == 8
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert load_model(tmp_path / "b" / MODEL)[0].dtype == torch.float64
    with pytest.raises(TrainingError, match="optimizer"):  # an Adam checkpoint is not L-BFGS's
        Trainer(chain_config(chains, **{**lbfgs, "init": ""}), tmp_path / "adam", resume=True)
    other = ModelConfig(**{**SMALL_1D, "m1": 6})
    with pytest.raises(TrainingError, match=r"differs .* in \['m1'\]"):
        Trainer(chain_config(chains, **lbfgs, model=other), tmp_path / "c")
