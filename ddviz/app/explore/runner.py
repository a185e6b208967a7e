"""The Explore tab's evaluation.

A :class:`~ddviz.evaluate.job.ComparisonJob` run whenever the inputs change, its results put into
the shared state.

In a served app the work runs in one worker thread, off the event loop: a large grid is first
shown as a preview, then replaced by the full grid. Results are shown, and progress reported,
only once the browser has built the page (updates sent before can reach models the browser has
no view for yet and throw there, Panel 1.9). In a notebook or a test, :meth:`Runner.evaluate`
computes the full grid at once in the calling thread.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import panel as pn

from ddviz.app import trace, warmup
from ddviz.errors import DdvizError

if TYPE_CHECKING:  # the numerical modules load in the workers, while the browser builds the page
    from ddviz.app.explore.inputs import InputsPanel
    from ddviz.app.explore.state import ExploreState
    from ddviz.evaluate.comparison import Comparison
    from ddviz.evaluate.job import ComparisonJob, Inputs

_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ddviz-eval")


def served() -> bool:
    """True inside a server session (not in a notebook or a plain script)."""
    return pn.state.curdoc is not None and pn.state.curdoc.session_context is not None


class Runner:
    """Evaluates the inputs chosen in ``state`` with ``job`` whenever they change.

    The inputs are resolved by ``inputs``; only the newest evaluation's results and errors
    reach the state.
    """

    def __init__(self, state: ExploreState, inputs: InputsPanel, job: ComparisonJob):
        self.state, self.inputs, self.job = state, inputs, job
        self._generation = 0  # bumped per evaluation: results of superseded ones are dropped
        self._loaded: asyncio.Event | None = None  # served: set once the page is built
        self._compared_with = None  # the compare_with of the last Hamiltonian result
        self.inputs_loaded: Inputs | None = None  # of the last evaluation
        state.param.watch(self._inputs_changed, ["structure", "model", "reference", "periodic"])
        state.param.watch(self._compare_with, "compare_with")

    def _inputs_changed(self, *events) -> None:
        # a new structure the chosen model cannot do picks one that can; that change's own event
        # (handled within fit_model) starts the one evaluation
        if any(e.name == "structure" for e in events) and self.inputs.fit_model():
            return
        self.start()

    def _compare_with(self, *_) -> None:
        if self.state.hamiltonian is not None and self.state.compare_with != self._compared_with:
            self.start()

    def start(self) -> None:
        """Evaluate the current inputs: in the background when served, else now."""
        if not (self.state.structure and self.state.model):
            return
        if served():
            if self._loaded is None:
                self._loaded = asyncio.Event()
                pn.state.onload(self._loaded.set)
            pn.state.execute(self.run_async)
        else:
            self.evaluate()

    def _load(self) -> Inputs:
        resolve = self.inputs.resolve
        inputs = self.job.load(resolve("structure"), resolve("model"), resolve("reference"),
                               pbc=self.state.periodic)
        self.inputs_loaded = inputs
        return inputs

    def _hamiltonian(self, inputs: Inputs):
        """``(HamiltonianView, companions)`` of ``inputs``.

        The view against the chosen reference or Deep Density model (the reference where the
        chosen model does not cover the structure); the companions: the Deep Density models that
        do, offered with the result (:meth:`_show_hamiltonian`).
        """
        from ddviz.app.explore.state import REFERENCE

        covering = self.inputs.companions(inputs.atoms.get_chemical_symbols())
        with_ = self.state.compare_with if self.state.compare_with in covering else REFERENCE
        self._compared_with = with_  # offering the companions later starts nothing again
        companion = None if with_ == REFERENCE else self.inputs.resolve("model", with_)
        return self.job.compute_hamiltonian(inputs, companion, self._report), covering

    def _show_hamiltonian(self, view, companions: list[str]) -> None:
        self.inputs.offer(companions)
        self.state.show(view.comparison, hamiltonian=view)

    def _scf_progress(self, cycle: int, energy: float) -> None:
        if self._loaded is None or self._loaded.is_set():
            self.state.param.update(progress=min(95, 2 * cycle),
                                    message=f"PySCF reference: SCF cycle {cycle}, "
                                    f"E = {energy:.6f} Ha")

    def compute_reference(self) -> None:
        """Compute the reference Kohn–Sham matrix of the current structure with PySCF, then show.

        For a Hamiltonian model and a structure without one (see
        :meth:`~ddviz.evaluate.job.ComparisonJob.pyscf_reference`); progress: the SCF cycles. In a
        served app in the background, else now. Errors become the state's error.
        """
        if served():
            pn.state.execute(self._reference_async)
            return
        try:
            self.state.begin()
            self.job.pyscf_reference(self._load(), self._scf_progress)
        except DdvizError as exc:
            self.state.fail(exc, clear=False)
            return
        self.evaluate()

    async def _reference_async(self) -> None:
        self.state.param.update(busy=True, progress=0, error="",
                                message="PySCF reference: starting the SCF...")
        try:
            inputs = await asyncio.wrap_future(_EXECUTOR.submit(self._load))
            await asyncio.wrap_future(_EXECUTOR.submit(self.job.pyscf_reference, inputs,
                                                       self._scf_progress))
        except Exception as exc:  # noqa: BLE001  (keep the session usable)
            self.state.fail(exc, clear=False)
            return
        await self.run_async()

    def _report(self, done: int, total: int) -> None:
        if self._loaded is None or self._loaded.is_set():
            self.state.progress = int(100 * done / max(total, 1))

    def evaluate(self) -> Comparison | None:
        """Evaluate now, in this thread, on the full grid (notebooks, tests).

        A :class:`~ddviz.errors.DdvizError` becomes the state's error (returns None).
        """
        self._generation += 1
        self.state.begin()
        try:
            inputs = self._load()
            if inputs.hamiltonian:
                view, companions = self._hamiltonian(inputs)
                self._show_hamiltonian(view, companions)
                return view.comparison
            comparison = self.job.compute(inputs, progress=self._report)
        except DdvizError as exc:
            self.state.fail(exc)
            return None
        self.state.show(comparison)
        return comparison

    async def run_async(self) -> None:
        """Preview (large grids not cached), then the full grid, in the worker thread.

        Until datashader's kernels are compiled the scatter plot is binned with NumPy, then redrawn.
        """
        self._generation += 1
        generation = self._generation

        async def work(fn, *args):
            return await asyncio.wrap_future(_EXECUTOR.submit(fn, *args))

        self.state.begin()
        # imports wait in the warm-up thread (started with the server), never on the event loop
        warm = {k: asyncio.wrap_future(f) for k, f in warmup.start().items()}
        trace.mark("evaluation started")
        try:
            await warm["computing"]
            inputs = await work(self._load)
            trace.mark("inputs loaded")
            if inputs.hamiltonian:
                view, companions = await work(self._hamiltonian, inputs)
                await warm["drawing"]
                if self._loaded is not None:
                    await self._loaded.wait()
                if generation == self._generation:
                    self._show_hamiltonian(view, companions)
                return
            comparison = None
            for step in await work(self.job.steps, inputs):
                comparison = await work(self.job.compute, inputs, step, comparison, self._report)
                trace.mark(f"computed step {step}")
                await warm["drawing"]
                if self._loaded is not None:
                    await self._loaded.wait()
                if generation != self._generation:
                    return  # newer inputs were chosen meanwhile
                self.state.show(comparison, quick_scatter=not warmup.datashader_ready())
                trace.mark(f"shown step {step}")
            if self.state.quick_scatter:
                await asyncio.wrap_future(warmup.datashader())
                if generation == self._generation:
                    self.state.quick_scatter = False
        except Exception as exc:  # noqa: BLE001  (DdvizError or not: keep the session usable)
            if generation == self._generation:
                self.state.fail(exc)
