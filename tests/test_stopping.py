"""Stopping: real `ddviz train` and `ddviz serve` processes stopped by signals, killed runs,
resume without the config file, file modes and stale temporaries."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import ROOT

from ddviz.train import CHECKPOINT, MODEL
from ddviz.train.run_dir import RunDirectory, read_status

CONFIG = ('validation_snapshots = 2\nsteps = 400\npoints_per_snapshot = 128\n'
          'validate_every = 200\ncheckpoint_every = 4\nlog_every = 2\n'
          '[model]\nm1 = 8\nm2 = 4\nembedding_widths = [8]\nfitting_widths = [16]\n')


def env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def start_training(dataset, tmp_path, run):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'train = ["{dataset}"]\n' + CONFIG)
    proc = subprocess.Popen([sys.executable, "-m", "ddviz", "train", str(cfg), "--run", str(run),
                             "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env())
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        status = read_status(run)
        if status.get("step", 0) >= 8 and (run / CHECKPOINT).exists():
            return proc, cfg
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"training did not reach step 8: {proc.communicate()[1][-2000:]}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_training_exits_130_and_resumes_without_its_config(ethane_dataset, tmp_path,
                                                                       sig):
    run = tmp_path / "run"
    proc, cfg = start_training(ethane_dataset, tmp_path, run)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopped at step" in out and "--resume" in out
    status = read_status(run)
    assert status["state"] == "stopped" and status["pid"] == proc.pid
    stored = json.loads((run / "config.json").read_text())
    assert stored["train"] == [str(ethane_dataset)] and stored["steps"] == 400
    cfg.unlink()  # the run folder alone is enough
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([sys.executable, "-m", "ddviz", "train", "--run", str(run), "--resume",
                           "--quiet"], cwd=elsewhere, capture_output=True, text=True, env=env(),
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "finished at step 400" in done.stdout
    assert read_status(run)["state"] == "finished"


def test_killed_run_reads_interrupted_its_temporaries_go_and_files_get_the_umask_mode(
        ethane_dataset, tmp_path):
    run = tmp_path / "run"
    proc, _ = start_training(ethane_dataset, tmp_path, run)
    proc.kill()  # kill -9: no last status written
    proc.communicate(timeout=60)
    raw = json.loads((run / "status.json").read_text())
    assert raw["state"] == "running"  # what the killed process left
    status = read_status(run / "status.json")
    assert status["state"] == "interrupted" and "resume" in status["message"]
    # a kill during a checkpoint write leaves an empty temporary beside the checkpoint
    stale = run / f".{CHECKPOINT}.abc123.tmp"
    stale.write_bytes(b"")
    unrelated = run / "notes.tmp"
    unrelated.write_text("mine")
    RunDirectory(run).check_start(resume=True)
    assert not stale.exists() and unrelated.exists()
    umask = os.umask(0o022)
    os.umask(umask)
    expected = 0o666 & ~umask
    for name in (CHECKPOINT, "status.json", "history.json", "config.json"):
        assert (run / name).stat().st_mode & 0o777 == expected, name


def test_model_file_gets_the_umask_mode(ethane_dataset, tmp_path):
    from ddviz.methods.deep_density.config import ModelConfig
    from ddviz.train import TrainConfig, Trainer

    cfg = TrainConfig(train=[str(ethane_dataset)], validation_snapshots=2, steps=2,
                      points_per_snapshot=64, model=ModelConfig(m1=4, m2=2, embedding_widths=[4],
                                                                 fitting_widths=[8]))
    old = os.umask(0o027)
    try:
        Trainer(cfg, tmp_path / "run").fit()
    finally:
        os.umask(old)
    for name in (MODEL, CHECKPOINT):
        assert (tmp_path / "run" / name).stat().st_mode & 0o777 == 0o640, name


def test_a_run_in_progress_is_not_trained_twice(ethane_dataset, tmp_path):
    run = tmp_path / "run"
    proc, cfg = start_training(ethane_dataset, tmp_path, run)
    try:
        second = subprocess.run([sys.executable, "-m", "ddviz", "train", "--run", str(run),
                                 "--resume", "--quiet"], capture_output=True, text=True,
                                env=env(), timeout=120)
        assert second.returncode == 2
        assert f"process {proc.pid} is training" in second.stderr
        assert second.stderr.count("\n") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)
        return True
    except OSError:
        return False


def test_sigterm_to_ddviz_serve_stops_the_server(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/liveness"
    proc = subprocess.Popen([sys.executable, "-m", "ddviz", "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(),
                            cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.time() + 120
        while not answers(url):
            assert proc.poll() is None and time.time() < deadline, "the server did not start"
            time.sleep(0.5)
        # a second server on the same port is refused at once, before any warm-up
        t0 = time.perf_counter()
        again = subprocess.run([sys.executable, "-m", "ddviz", "serve", "--port", str(port)],
                               capture_output=True, text=True, env=env(), timeout=60)
        assert again.returncode == 2 and time.perf_counter() - t0 < 10
        assert f"127.0.0.1:{port} is in use" in again.stderr and again.stderr.count("\n") == 1
        proc.send_signal(signal.SIGTERM)  # to the process `ddviz serve` started as
        proc.wait(timeout=30)
        deadline = time.time() + 10
        while answers(url) and time.time() < deadline:
            time.sleep(0.2)
        assert not answers(url), "the server still answers after SIGTERM to ddviz serve"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # our own session only
