"""Data-parallel training: 2 CPU ranks (gloo) against one process at the same global batch."""

import json
import os
import shutil
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from conftest import StopAt

from ddviz.methods.deep_density.config import ModelConfig
from ddviz.train import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[1]
SMALL = ModelConfig(m1=8, m2=4, embedding_widths=[8], fitting_widths=[16, 16], rcut=5.0)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Four ethane snapshots of the shipped dataset (all 'train': no manifest)."""
    out = tmp_path_factory.mktemp("ethane4")
    for i in range(4):
        shutil.copy(ROOT / "assets" / "datasets" / "ethane" / f"ethane_{i:04d}.nc", out)
    return out


def config(dataset, **kw):
    base = dict(train=[str(dataset)], validation_snapshots=1, validation_stride=4, steps=3,
                snapshots_per_step=3, points_per_snapshot=200, validate_every=100,
                checkpoint_every=100, log_every=1, lr=5e-3, lr_final=1e-3, seed=3, model=SMALL,
                threads=1)
    base.update(kw)
    return TrainConfig(**base)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank, world, port, cfg, run, results, stop_at):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    from ddviz.train.distributed import leave

    trainer = Trainer(cfg, run, callbacks=[StopAt(stop_at)])
    try:
        trainer.fit()
    finally:
        leave()
    state = {k: v.numpy().copy() for k, v in trainer.model.state_dict().items()}
    results.put((rank, [e["loss"] for e in trainer.history if "loss" in e], state))


def run_ranks(world, cfg, run, stop_at):
    # fork: no second import of torch (CPU only, no CUDA initialised in the test process)
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    results = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_rank, args=(r, world, port, cfg, str(run), results, stop_at))
             for r in range(world)]
    for p in procs:
        p.start()
    out = dict((r, (loss, state)) for r, loss, state in (results.get(timeout=120)
                                                         for _ in procs))
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return out


def test_two_ranks_equal_one_process_at_the_same_global_batch(dataset, tmp_path):
    single = Trainer(config(dataset), tmp_path / "one")
    single.fit()
    losses = [e["loss"] for e in single.history if "loss" in e]
    ranks = run_ranks(2, config(dataset), tmp_path / "two", stop_at=2)
    (loss0, state0), (loss1, state1) = ranks[0], ranks[1]
    assert loss0 == loss1  # the summed loss is the same on both ranks
    assert loss0[0] == pytest.approx(losses[0], rel=1e-5)  # step 1: the same loss
    assert loss0[1] == pytest.approx(losses[1], rel=1e-4)  # step 2: after the same update
    for key in state0:
        assert (state0[key] == state1[key]).all(), key  # the ranks stay identical
    # rank 0 alone wrote the folder; its checkpoint (step 2) resumes in one process
    history = json.loads((tmp_path / "two" / "history.json").read_text())
    assert [e["step"] for e in history if "loss" in e] == [1, 2]
    resumed = Trainer(config(dataset), tmp_path / "two", resume=True)
    assert resumed.step == 2
    resumed.fit()
    for key, value in single.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=1e-4,
                                   atol=1e-6)
