"""The Training tab.

A form generated from :class:`ddviz.train.TrainConfig`, start/stop/resume of a ``ddviz train``
subprocess, and live loss and validation curves read from its run folder.

The subprocess outlives the browser tab (it is its own process session); stopping sends SIGTERM,
on which the trainer writes a checkpoint. Finished models are copied into the models folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from functools import cached_property
from pathlib import Path

import panel as pn
import param

from ddviz.app.settings import ROOT, AppSettings, PathError
from ddviz.config import describe, from_dict, to_toml
from ddviz.errors import DdvizError
from ddviz.train.config import HISTORY, STATUS, TrainConfig
from ddviz.train.run_dir import read_status


def form_widgets(rows: list[dict]) -> dict[str, pn.widgets.Widget]:
    """One widget per config field (name -> widget), chosen from its :func:`describe` row.

    A select for choices, a checkbox for a flag, a number input bounded as the field is, a text
    input of comma-separated items for a list. Help and unit come from the field.
    """
    out = {}
    for row in rows:
        name, default, kind = row["name"], row["default"], row["type"]
        label = name + (f" ({row['unit']})" if row.get("unit") else "")
        common = {"label": label, "description": row["help"], "width": 260,
                  "css_classes": ["cfg-" + name.replace(".", "-")]}
        bounds = {"start": row.get("minimum"), "end": row.get("maximum")}
        if row.get("choices"):
            w = pn.widgets.Select(options=list(row["choices"]), value=default, **common)
        elif kind == "bool":
            w = pn.widgets.Checkbox(value=default, label=label, width=260,
                                    css_classes=common["css_classes"])
        elif kind == "int":
            w = pn.widgets.IntInput(value=default, **bounds, **common)
        elif kind == "float":
            w = pn.widgets.FloatInput(value=default, **bounds, **common)
        elif kind.startswith("list"):
            w = pn.widgets.TextInput(value=", ".join(map(str, default)),
                                     placeholder="comma-separated", **common)
        else:
            w = pn.widgets.TextInput(value=str(default), **common)
        out[name] = w
    return out


def _item(text: str, kind: str):
    """A list item typed as the row says; left as text when it is not (the config names it)."""
    try:
        return {"list[int]": int, "list[float]": float}.get(kind, str)(text)
    except ValueError:
        return text


def form_values(widgets: dict, rows: list[dict]) -> dict:
    """Nested option dict from the widgets, for :func:`ddviz.config.from_dict` to validate.

    Lists are parsed from comma-separated text.
    """
    data: dict = {}
    for row in rows:
        value = widgets[row["name"]].value
        if row["type"].startswith("list"):
            value = [_item(v.strip(), row["type"]) for v in str(value).split(",") if v.strip()]
        *head, leaf = row["name"].split(".")
        target = data
        for part in head:
            target = target.setdefault(part, {})
        target[leaf] = value
    return data


class TrainingPanel(pn.viewable.Viewer):
    """Start, stop and resume training runs and watch their curves."""

    dataset = param.Selector(default=None, objects=[], doc="dataset folder to train on")
    run_name = param.String(default="my-model", doc="run and model name")
    state = param.String(default="idle")

    def __init__(self, settings: AppSettings | None = None, on_model=None, **params):
        self.settings = settings or AppSettings()
        self.on_model = on_model  # called with the model path when a run finishes
        super().__init__(**params)
        self.rows = [r for r in describe(TrainConfig) if r["name"] != "train"]
        self.widgets = form_widgets(self.rows)
        self.process: subprocess.Popen | None = None
        self.progress = pn.indicators.Progress(value=0, max=100, width=300)
        self.status = pn.pane.Markdown("", css_classes=["ddviz-train-status"])
        self._curves_box = pn.Column(sizing_mode="stretch_width")  # the curves, once there are
        self.alert = pn.pane.Alert("", alert_type="danger", visible=False)
        self.refresh_datasets()
        self._poller = None
        self._stamp, self._status = None, {}

    @cached_property
    def curves(self):
        """The loss and validation curves (a pane made with the first curves)."""
        return pn.pane.HoloViews(None, height=320, sizing_mode="stretch_width")

    def refresh_datasets(self) -> None:
        """List the dataset folders (with a manifest.json) again; choose the first if none is."""
        found = sorted({str(p.parent) for root in self.settings.dataset_dirs if root.is_dir()
                        for p in root.rglob("manifest.json")})
        self.param.dataset.objects = found
        if found and self.dataset not in found:
            self.dataset = found[0]

    @property
    def run_dir(self) -> Path:
        """The run folder named by ``run_name`` (letters, digits, - and _ kept)."""
        name = "".join(c for c in self.run_name if c.isalnum() or c in "-_") or "run"
        return self.settings.runs_dir / name

    def config(self) -> TrainConfig:
        """The TrainConfig the form describes (ConfigError on invalid fields)."""
        data = form_values(self.widgets, self.rows)
        data["train"] = [self.dataset] if self.dataset else []
        config = from_dict(TrainConfig, data, source="training form")
        if config.init:
            config.init = str(self._init_path(config.init))
        return config

    def _init_path(self, init: str) -> Path:
        """The ``init`` model file, resolved: a ``.safetensors`` file inside the data or models folders.

        PathError naming the field otherwise (``/etc/passwd``, ``../x``, a link out of the folders).
        """
        try:
            path = self.settings.safe_path(init)
        except PathError as exc:
            raise PathError(exc.detail, path=init, field="init") from None
        if path.suffix.lower() != ".safetensors":
            raise PathError("expected a model file (.safetensors)", path=init, field="init")
        return path

    # --- process control -------------------------------------------------------------------------
    def start(self, resume: bool = False) -> None:
        """Write the config into the run folder and start ``ddviz train`` in its own session."""
        if self.process is not None and self.process.poll() is None:
            raise DdvizError("a run is already going on; stop it first")
        if not self.dataset:
            raise DdvizError("choose a dataset folder first")
        self.settings.safe_path(Path(self.dataset) / "manifest.json", self.settings.dataset_dirs)
        run_dir = self.run_dir
        config_path = run_dir / "config.toml"
        if not resume:
            if (run_dir / "checkpoint.safetensors").exists():
                raise DdvizError("this run already has a checkpoint: resume it or choose "
                                 "another name", path=run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            from ddviz.io.atomic import write_text_atomic

            write_text_atomic(config_path, to_toml(self.config()))
        model_out = self.settings.models_dir / f"{run_dir.name}.safetensors"
        cmd = [sys.executable, "-m", "ddviz", "train", str(config_path), "--run", str(run_dir),
               "--output", str(model_out), "--quiet"] + (["--resume"] if resume else [])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        log = open(run_dir / "train.log", "ab")  # noqa: SIM115  (the subprocess writes to it)
        self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                        start_new_session=True, cwd=str(ROOT))
        self._model_out = model_out
        self._stamp = None  # read the run folder again: its status is the old run's until then
        self.status.object = f"**starting…** {'resuming' if resume else 'run'} {run_dir.name}"
        self.progress.param.update(value=0, active=True)
        self.state = "running"

    def stop(self) -> None:
        """SIGTERM: the trainer checkpoints and exits; resume continues from there."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.state = "stopping"

    def poll(self) -> dict:
        """Read the run folder (status, history), update progress and curves; returns status."""
        run_dir = self.run_dir
        stamp = tuple(_mtime(run_dir / f) for f in (STATUS, HISTORY))
        if stamp == self._stamp and self.process is None:
            return self._status  # nothing new: leave the page alone
        starting = self._stamp is None and self.process is not None
        self._stamp = stamp
        status = self._status = read_status(run_dir / STATUS)
        if starting and status.get("state") != "running":
            status = {}  # the status of a run before this one: keep saying "starting…"
        history = _read_json(run_dir / HISTORY) or []
        if status:
            self.progress.value = int(100 * status["step"] / max(status["steps"], 1))
            eta = status.get("eta_seconds") or 0
            best = status.get("best_val_rel_l1")
            self.status.object = (f"**{status['state']}** step {status['step']}/{status['steps']}, "
                                  f"ETA {eta:.0f} s" + (f", best validation relative L1 "
                                                        f"{best:.3%}" if best is not None else ""))
        if history:
            self.curves.object = history_plot(history)
            if not self._curves_box.objects:
                self._curves_box.append(self.curves)
        if self.process is not None and self.process.poll() is not None:
            code = self.process.returncode
            self.process = None
            self.progress.active = False
            self.state = status.get("state", "failed" if code else "finished")
            if code not in (0, 130, None):  # 130: stopped on request (a checkpoint was written)
                tail = (run_dir / "train.log").read_text(errors="replace").strip().splitlines()
                self.alert.object = f"Training failed: {tail[-1] if tail else code}"
                self.alert.visible = True
            elif self.state in ("finished", "early-stopped") and self.on_model:
                self.on_model(self._model_out)
        return status

    # --- layout ----------------------------------------------------------------------------------
    def _guard(self, fn):
        def call(*_):
            self.alert.visible = False
            try:
                fn()
            except DdvizError as exc:
                self.alert.object = str(exc)
                self.alert.visible = True
        return call

    def _enable(self, *_) -> None:
        """Stop only while a run goes on; Resume only for a stopped run with a checkpoint."""
        running = self.state in ("running", "stopping")
        buttons = self._buttons
        buttons["start"].disabled = running
        buttons["stop"].disabled = self.state != "running"
        buttons["resume"].disabled = running or not (self.run_dir /
                                                     "checkpoint.safetensors").exists()

    def __panel__(self):
        if getattr(self, "_layout", None) is None:  # built once (each pane in one place)
            self._layout = self._build_layout()
        return self._layout

    def _build_layout(self):
        w = pn.widgets
        start, stop, resume = (w.Button(name=n, button_type=t, width=90) for n, t in
                               (("Start", "primary"), ("Stop", "warning"), ("Resume", "success")))
        start.on_click(self._guard(self.start))
        stop.on_click(self._guard(self.stop))
        resume.on_click(self._guard(lambda: self.start(resume=True)))
        self._buttons = {"start": start, "stop": stop, "resume": resume}
        self.param.watch(self._enable, ["state", "run_name"])
        self._enable()
        if pn.state.curdoc is not None and self._poller is None:
            self._poller = pn.state.add_periodic_callback(self.poll, period=1000)
        form = pn.GridBox(*self.widgets.values(), ncols=3)
        return pn.Column(
            pn.Row(w.Select.from_param(self.param.dataset, name="Dataset", width=400),
                   w.TextInput.from_param(self.param.run_name, name="Run name", width=200)),
            pn.Card(form, title="Configuration", collapsed=False),
            pn.Row(start, stop, resume, self.progress), self.status, self.alert, self._curves_box,
            sizing_mode="stretch_width")


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def history_plot(history: list[dict]):
    """Training loss and validation relative L1/L2 against the step (log scale)."""
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (the backend the options below are for)

    loss = [(e["step"], e["loss"]) for e in history if "loss" in e]
    val = [(e["step"], e["val_rel_l1"], e["val_rel_l2"]) for e in history if "val_rel_l1" in e]
    left = hv.Curve(loss, "step", "loss").opts(logy=True, title="training loss", width=420)
    right = (hv.Curve([(s, a) for s, a, _ in val], "step", "validation error", label="rel L1")
             * hv.Curve([(s, b) for s, _, b in val], "step", "validation error", label="rel L2")
             ).opts(logy=True, title="validation (full grids)", width=420)
    return left + right
