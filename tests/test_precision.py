"""Training to high precision: float64 models end to end, and the L-BFGS finishing stage (a fixed
batch of every grid point, resumable, started from an Adam model of another dtype)."""

import numpy as np
import pytest
import torch
from conftest import CHAIN_MODEL, StopAt, chain_config

from ddviz import io
from ddviz.evaluate.predictor import Predictor
from ddviz.methods.deep_density import ModelConfig
from ddviz.methods.deep_density.files import load_model
from ddviz.train import MODEL, Trainer, TrainingError

PRECISION = {"validation_snapshots": 1, "steps": 30, "validate_every": 10, "log_every": 1}


def config(folder, dtype="float32", **kw):
    """conftest's chain config, in ``dtype``, with this file's cadence."""
    model = ModelConfig(**{**CHAIN_MODEL, "dtype": dtype})
    return chain_config(folder, **{**PRECISION, "model": model, **kw})


def test_float64_model_file_predicts_in_float64_and_float32_files_still_float32(chain_files, tmp_path):
    Trainer(config(chain_files, "float64", steps=5), tmp_path / "run").fit()
    model, meta = load_model(tmp_path / "run" / MODEL)
    assert meta["config"]["dtype"] == "float64"
    assert model.dtype == torch.float64
    assert all(p.dtype == torch.float64 for p in model.parameters())
    sample = io.read(chain_files / "chain_4.nc")
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


def test_lbfgs_finish_lowers_the_loss_resumes_bit_for_bit_and_casts_its_init(chain_files, tmp_path):
    adam = Trainer(config(chain_files), tmp_path / "adam")  # float32 Adam stage
    adam.fit()
    init = str(tmp_path / "adam" / MODEL)
    lbfgs = {"optimizer": "lbfgs", "steps": 8, "loss": "mse", "init": init}
    straight = Trainer(config(chain_files, "float64", **lbfgs), tmp_path / "a")
    assert straight.model.dtype == torch.float64  # the float32 weights, cast
    batch = straight.method.fixed_batch(straight.model)
    assert [len(points) for _, points, _ in batch] == [80] * 5  # every grid point, 5 snapshots
    np.testing.assert_array_equal(batch[0][2], straight.method.train_samples[0].density.values
                                  .reshape(-1))
    assert straight.fit() == "finished"
    losses = [e["loss"] for e in straight.history if "loss" in e]
    assert len(losses) == 8
    assert all(b <= a for a, b in zip(losses, losses[1:]))  # the line search never goes up
    assert losses[-1] < 0.85 * losses[0]
    first = Trainer(config(chain_files, "float64", **lbfgs), tmp_path / "b",
                    callbacks=[StopAt(3)])
    assert first.fit() == "stopped" and first.step == 3
    resumed = Trainer(config(chain_files, "float64", **lbfgs), tmp_path / "b", resume=True)
    assert resumed.fit() == "finished" and resumed.step == 8
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert load_model(tmp_path / "b" / MODEL)[0].dtype == torch.float64
    with pytest.raises(TrainingError, match="optimizer"):  # an Adam checkpoint is not L-BFGS's
        Trainer(config(chain_files, **{**lbfgs, "init": ""}), tmp_path / "adam", resume=True)
    other = ModelConfig(**{**CHAIN_MODEL, "m1": 6})
    with pytest.raises(TrainingError, match=r"differs .* in \['m1'\]"):
        Trainer(config(chain_files, **lbfgs, model=other), tmp_path / "c")
