"""The OF-DFT tab's jobs: a streamed OF-DFT run, the test split's parity, a sample's slice.

Served, each job runs in a worker thread, off the event loop. OF-DFT reports from its thread
(the Kohn–Sham reference, then one frame per L-BFGS iteration) into an inbox; a coroutine on the
event loop wakes on each report (``loop.call_soon_threadsafe``), takes everything that arrived
and puts it into the state in one batch, so a slow browser sees fewer, never stale, frames and
the energy trace keeps every iteration. Stop sets a :class:`threading.Event` that
:func:`ddviz.methods.kinetic.ofdft.run` checks after each iteration. In a notebook or a test the
jobs run in the calling thread, reporting straight into the state.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import panel as pn

from ddviz.app.explore.runner import served
from ddviz.app.ofdft.state import PRESETS, OFDFTState
from ddviz.app.settings import AppSettings
from ddviz.errors import DdvizError, ModelFileError

_OFDFT = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ddviz-ofdft")
_PARITY = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ddviz-parity")
_LOCK = threading.Lock()
_MODELS: dict = {}  # (path, mtime) -> float64 KineticNet, shared by the sessions
KINETIC_FORMAT = "ddviz-kinetic"


def kinetic_models(settings: AppSettings) -> dict:
    """Display name -> path of the kinetic model files in the models folder."""
    from ddviz.methods import model_format

    out = {}
    for name, path in settings.files((".safetensors",), [settings.models_dir]).items():
        try:
            if model_format(path) == KINETIC_FORMAT:
                out[name] = path
        except ModelFileError:
            continue
    return out


def load_kinetic(path):
    """The kinetic model of ``path`` in float64, loaded once per file version.

    Raises
    ------
    ModelFileError
        Not a readable kinetic model file.
    """
    from ddviz.methods import load_model

    key = (str(path), path.stat().st_mtime_ns)
    with _LOCK:
        if key not in _MODELS:
            model, meta = load_model(path)
            if meta.get("format") != KINETIC_FORMAT:
                raise ModelFileError("not a kinetic model file", path=path, field="format")
            _MODELS.clear()
            _MODELS[key] = model.double()
        return _MODELS[key]


class Runner:
    """Runs the jobs of an :class:`OFDFTState` with the files of ``settings``."""

    def __init__(self, state: OFDFTState, settings: AppSettings):
        self.state, self.settings = state, settings
        self.stop_event = threading.Event()
        self.structures: dict = {}  # file display name -> path
        self.models: dict = {}
        self.datasets: dict = {}
        self._slice_wanted = None
        self._slicing = False
        state.param.watch(lambda e: self.show_sample(), ["sample"])

    # --- choices -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """List structure files, kinetic models and kinetic-2e datasets again."""
        from ddviz.app.explore.inputs import STRUCTURE_SUFFIXES, VASP_NAMES
        from ddviz.methods.kinetic.data import find_datasets

        s, p = self.settings, self.state.param
        self.structures = s.files(STRUCTURE_SUFFIXES, names=VASP_NAMES)
        self.models = kinetic_models(s)
        self.datasets = {f"{d.parent.name}/{d.name}": d for d in find_datasets(s.dataset_dirs)}
        p.structure.objects = list(PRESETS) + list(self.structures)
        p.model.objects, p.dataset.objects = list(self.models), list(self.datasets)
        chosen = {}
        if self.state.model not in self.models:
            default = [n for n in self.models if n.endswith("kinetic-2e.safetensors")]
            chosen["model"] = (default or list(self.models) or [None])[0]
        if self.state.dataset not in self.datasets:
            chosen["dataset"] = next(iter(self.datasets), None)
        p.update(chosen)

    def molecule(self):
        """The chosen structure as a two-electron def2-TZVP molecule (DdvizError if not)."""
        from ddviz.methods.kinetic import ofdft

        name = self.state.structure
        if name in PRESETS:
            return ofdft.preset(name)
        from ddviz import io

        path = self.settings.safe_path(self.structures.get(name, name))
        return ofdft.from_atoms(io.read_structures(path)[0], self.state.charge)

    def model(self):
        """The chosen kinetic model (float64), or None for the exact functional."""
        if self.state.functional == "vw":
            return None
        if not self.state.model:
            raise ModelFileError("no kinetic model file (format ddviz-kinetic) in the models "
                                 "folder; choose the exact von Weizsäcker functional",
                                 path=self.settings.models_dir)
        return load_kinetic(self.settings.safe_path(self.models[self.state.model],
                                                    [self.settings.models_dir]))

    # --- OF-DFT --------------------------------------------------------------------------------
    def _ofdft(self, report):
        from ddviz.methods.kinetic import analysis

        return analysis.watch(self.molecule(), self.model(), self.state.functional,
                              on_reference=lambda r: report("reference", r),
                              on_frame=lambda f: report("frame", f), stop=self.stop_event,
                              max_iter=self.state.max_iter)

    def _apply(self, items: list) -> None:
        frames = []
        for kind, item in items:
            if kind == "reference":
                self.state.show_reference(item)
            else:
                frames.append(item)
        self.state.add_frames(frames)

    def run(self) -> None:
        """Start OF-DFT of the chosen structure (served: in the background; else now)."""
        if self.state.busy:
            raise DdvizError("a run is going on: stop it first")
        self.stop_event.clear()
        self.state.begin()
        if served():
            pn.state.execute(self._run_async)
            return
        try:
            watched = self._ofdft(lambda kind, item: self._apply([(kind, item)]))
        except DdvizError as exc:
            self.state.fail(exc)
            return
        self.state.finish(watched)

    def stop(self) -> None:
        """Ask the run to end after its current iteration."""
        if self.state.busy:
            self.stop_event.set()
            self.state.param.update(stopping=True, message=self.state.message + " (stopping...)")

    async def _run_async(self) -> None:
        loop = asyncio.get_running_loop()
        inbox, lock, wake = [], threading.Lock(), asyncio.Event()

        def report(kind, item):  # in the worker thread
            with lock:
                inbox.append((kind, item))
            loop.call_soon_threadsafe(wake.set)

        future = asyncio.wrap_future(_OFDFT.submit(self._ofdft, report))
        try:
            while True:
                waiter = asyncio.ensure_future(wake.wait())
                await asyncio.wait({waiter, future}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                wake.clear()
                with lock:
                    items, inbox[:] = inbox[:], []
                self._apply(items)
                if future.done():
                    break
            watched = future.result()
        except Exception as exc:  # noqa: BLE001  (DdvizError or not: keep the session usable)
            self.state.fail(exc)
            return
        self.state.finish(watched)

    # --- parity --------------------------------------------------------------------------------
    def _parity(self, progress):
        from ddviz.methods.kinetic import analysis, data

        if not self.state.dataset:
            raise DdvizError("no kinetic-2e dataset folder in the dataset folders (make one with "
                             "`ddviz dataset kinetic-2e -o DIR`)")
        if not self.state.model:
            raise ModelFileError("no kinetic model file in the models folder",
                                 path=self.settings.models_dir)
        model = load_kinetic(self.models[self.state.model])
        rows = analysis.parity(model, data.samples([self.datasets[self.state.dataset]], "test"),
                               progress)
        return rows, analysis.parity_summary(rows)

    def evaluate(self) -> None:
        """T_s^ML against T_s on the chosen dataset's test split (served: in the background)."""
        if self.state.parity_busy:
            return
        self.state.begin_parity()
        if served():
            pn.state.execute(self._parity_async)
            return
        try:
            rows, summary = self._parity(None)
        except DdvizError as exc:
            self.state.fail_parity(exc)
            return
        self.state.show_parity(rows, summary)

    async def _parity_async(self) -> None:
        loop = asyncio.get_running_loop()

        def progress(done, total):  # in the worker thread
            loop.call_soon_threadsafe(self._progress, done, total)

        try:
            rows, summary = await asyncio.wrap_future(_PARITY.submit(self._parity, progress))
        except Exception as exc:  # noqa: BLE001
            self.state.fail_parity(exc)
            return
        self.state.show_parity(rows, summary)

    def _progress(self, done: int, total: int) -> None:
        if self.state.parity_busy:
            self.state.param.update(parity_progress=int(100 * done / max(total, 1)),
                                    parity_message=f"evaluating sample {done} of {total}...")

    # --- a sample's kinetic-energy density -------------------------------------------------------
    def _slice(self, file):
        from ddviz.methods.kinetic import analysis

        folder = self.datasets[self.state.dataset]
        return analysis.kinetic_density_slice(load_kinetic(self.models[self.state.model]),
                                              folder / file)

    def show_sample(self) -> None:
        """Compute the chosen sample's kinetic-energy slice (served: in the background)."""
        file = self.state.sample
        if file is None:
            self.state.kinetic_slice = None
            return
        if not served():
            try:
                self.state.kinetic_slice = self._slice(file)
            except DdvizError as exc:
                self.state.fail_parity(exc)
            return
        self._slice_wanted = file
        if not self._slicing:
            pn.state.execute(self._slice_async)

    async def _slice_async(self) -> None:
        self._slicing = True
        try:
            while self._slice_wanted is not None:
                file, self._slice_wanted = self._slice_wanted, None
                try:
                    sl = await asyncio.wrap_future(_PARITY.submit(self._slice, file))
                except Exception as exc:  # noqa: BLE001
                    self.state.fail_parity(exc)
                    continue
                if self._slice_wanted is None:
                    self.state.kinetic_slice = sl
        finally:
            self._slicing = False
