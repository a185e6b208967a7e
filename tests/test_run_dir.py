"""The run folder: generic checkpoint flattening (an optimiser's own state_dict), old versions
refused with a clear message, atomic history/status files; the one device choice."""

import json

import pytest
import torch
from safetensors.torch import save_file

from ddviz.device import default_device, pick_device
from ddviz.errors import DdvizError
from ddviz.train import RunDirectory, TrainingError
from ddviz.train.run_dir import flatten, unflatten


def adam_after_two_steps(dtype=torch.float64):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4, dtype=dtype), torch.nn.Tanh(),
                              torch.nn.Linear(4, 1, dtype=dtype))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, betas=(0.8, 0.99))
    for _ in range(2):
        opt.zero_grad()
        net(torch.randn(5, 3, dtype=dtype)).sum().backward()
        opt.step()
    return net, opt


def test_checkpoint_round_trips_an_optimiser_state_dict_generically(tmp_path):
    net, opt = adam_after_two_steps()
    run = RunDirectory(tmp_path / "run")
    state = {"model": net.state_dict(), "optimizer": opt.state_dict(), "best": None,
             "rng": {"state": 2**100 + 7, "name": "PCG64"}, "score": float("inf")}
    run.save_checkpoint(state)
    back = run.load_checkpoint()
    saved = opt.state_dict()
    assert back["optimizer"]["param_groups"] == saved["param_groups"]  # tuples (betas) kept
    assert isinstance(back["optimizer"]["param_groups"][0]["betas"], tuple)
    assert sorted(back["optimizer"]["state"]) == sorted(saved["state"])  # int keys kept
    for idx, entry in saved["state"].items():
        for key, value in entry.items():
            assert torch.equal(back["optimizer"]["state"][idx][key], value), (idx, key)
            assert back["optimizer"]["state"][idx][key].dtype == value.dtype
    assert back["rng"]["state"] == 2**100 + 7 and back["score"] == float("inf")
    assert back["best"] is None
    # the restored state continues exactly as the original
    net2, opt2 = adam_after_two_steps()
    opt2.load_state_dict(back["optimizer"])
    net2.load_state_dict(back["model"])
    x = torch.randn(5, 3, dtype=torch.float64)
    for n, o in ((net, opt), (net2, opt2)):
        o.zero_grad()
        n(x).sum().backward()
        o.step()
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), net2.parameters()))
    assert [p.name for p in run.path.iterdir()] == ["checkpoint.safetensors"]  # no temporaries


def test_flatten_refuses_what_it_cannot_store():
    with pytest.raises(TypeError, match="cannot checkpoint a object at x/0"):
        flatten({"x": [object()]}, "", {})
    tensors = {}
    skeleton = flatten({"a": (1, [2.5, "s"]), 3: torch.ones(2)}, "", tensors)
    assert list(tensors) == ["3"]
    assert unflatten(json.loads(json.dumps(skeleton)), tensors)["a"] == (1, [2.5, "s"])


def test_old_or_foreign_checkpoints_are_refused_with_a_clear_message(tmp_path):
    run = RunDirectory(tmp_path)
    save_file({"model/rate": torch.zeros(2)}, str(run.checkpoint),
              metadata={"ddviz": json.dumps({"format": "ddviz-checkpoint", "version": 1})})
    with pytest.raises(TrainingError, match="checkpoint version 1 cannot be resumed") as info:
        run.load_checkpoint()
    assert str(run.checkpoint) in str(info.value) and "init" in str(info.value)
    run.checkpoint.write_text("not a checkpoint")
    with pytest.raises(TrainingError, match="not a readable ddviz checkpoint"):
        run.load_checkpoint()
    with pytest.raises(TrainingError, match="has a checkpoint"):
        run.check_start(resume=False)
    with pytest.raises(TrainingError, match="no checkpoint to resume"):
        RunDirectory(tmp_path / "new").check_start(resume=True)


def test_history_csv_has_the_columns_blank_where_absent(tmp_path):
    run = RunDirectory(tmp_path)
    run.write_history([{"step": 1, "loss": 0.5}, {"step": 2, "val_rel_l1": 0.1}],
                      ["step", "loss", "val_rel_l1"])
    assert run.history_csv.read_text() == "step,loss,val_rel_l1\n1,0.5,\n2,,0.1\n"
    assert json.loads(run.history.read_text())[1] == {"step": 2, "val_rel_l1": 0.1}


def test_one_device_choice():
    assert pick_device("auto") == default_device()
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(DdvizError, match="unknown device 'gpu'"):
        pick_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(DdvizError, match="CUDA is not available"):
            pick_device("cuda")
