"""The 2D tab's job: :func:`ddviz.evaluate.plane2d.run` whenever the system changes.

Served, the job runs in one worker thread, off the event loop; while one runs, further changes
(a slider dragged) leave only the newest request waiting, and only the newest result reaches the
state. Recent results and the loaded models are kept, so that going back to a system is
instant. In a notebook or a test, :meth:`Runner.compute` runs in the calling thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import panel as pn

from ddviz.app.explore.runner import served
from ddviz.app.plane2d.state import Plane2DState
from ddviz.app.settings import AppSettings
from ddviz.errors import DdvizError, ModelFileError

_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ddviz-2d")
_LOCK = threading.Lock()
_MODELS: dict = {}  # (paths, mtimes) -> loaded Models, shared by the sessions
_RESULTS: OrderedDict = OrderedDict()  # (request, model key) -> Plane2DResult
KEEP = 32  # results kept


def _models(folder):
    """The 2D models of ``folder`` (the first file of each role), loaded once per version."""
    from ddviz.evaluate.plane2d import ROLES, Models, find_models

    found = find_models(folder)
    missing = [r for r in ROLES if not found[r]]
    if missing:
        raise ModelFileError(f"no {', '.join(missing)} model file (.safetensors) in the models "
                             f"folder", path=folder)
    paths = tuple(found[r][0] for r in ROLES)
    key = tuple((str(p), p.stat().st_mtime_ns) for p in paths)
    with _LOCK:
        if key not in _MODELS:
            _MODELS.clear()
            _MODELS[key] = Models.load(*paths)
        return key, _MODELS[key]


def request(state: Plane2DState) -> tuple:
    """The state's inputs as a hashable request: (kind, kx, ky, cx, cy, seed, N, functional)."""
    return tuple(getattr(state, k) for k in Plane2DState.INPUTS)


def compute(req: tuple, folder):
    """The result of request ``req`` with the models of ``folder`` (cached)."""
    from ddviz.evaluate.plane2d import PotentialSpec, run

    kind, kx, ky, cx, cy, seed, electrons, functional = req
    key, models = _models(folder)
    with _LOCK:
        if (req, key) in _RESULTS:
            _RESULTS.move_to_end((req, key))
            return _RESULTS[(req, key)]
    spec = PotentialSpec(kind, kx, ky, cx, cy, seed)
    result = run(spec, electrons, functional, models)
    with _LOCK:
        _RESULTS[(req, key)] = result
        while len(_RESULTS) > KEEP:
            _RESULTS.popitem(last=False)
    return result


class Runner:
    """Computes the system chosen in ``state`` whenever it changes, once started."""

    def __init__(self, state: Plane2DState, settings: AppSettings):
        self.state, self.settings = state, settings
        self.started = False
        self._wanted = None  # the newest request not yet computed
        self._running = False
        state.param.watch(self._changed, list(Plane2DState.INPUTS))

    def _changed(self, *events) -> None:
        if self.started:
            self.start()

    def start(self) -> None:
        """Compute the current system: in the background when served, else now."""
        self.started = True
        if served():
            self._wanted = request(self.state)
            if not self._running:
                pn.state.execute(self._run)
        else:
            self.compute()

    def compute(self):
        """Compute now, in this thread (notebooks, tests); an error becomes the state's error."""
        self.state.begin()
        try:
            result = compute(request(self.state), self.settings.models_dir)
        except DdvizError as exc:
            self.state.fail(exc)
            return None
        self.state.show(result)
        return result

    async def _run(self) -> None:
        if self._running:
            return
        self._running = True
        try:
            while self._wanted is not None:
                req, self._wanted = self._wanted, None
                self.state.begin()
                try:
                    result = await asyncio.wrap_future(
                        _EXECUTOR.submit(compute, req, self.settings.models_dir))
                except Exception as exc:  # noqa: BLE001  (DdvizError or not: keep the session)
                    if self._wanted is None:
                        self.state.fail(exc)
                    continue
                if self._wanted is None:  # else a newer request follows at once
                    self.state.show(result)
        finally:
            self._running = False
