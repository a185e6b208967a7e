"""The Explore tab's shared state: the chosen inputs, the view settings and the current result.

Components read it and react to its parameters; every change of several parameters at once is
one ``param.update`` (one batch: each watcher runs once, with all the changes).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import param

if TYPE_CHECKING:
    from ddviz.evaluate.comparison import Comparison

NONE = "(the structure file's own, if it has one)"


def default_levels(comparison: Comparison, log_level: float) -> dict[str, float]:
    """log10 isosurface levels (e/bohr^3) that show something of a 3D comparison: the density
    level kept if it lies below the largest density, else a tenth of it; the |error| level at a
    quarter of the largest |error| (only with a reference).
    """
    values = comparison.reference if comparison.reference is not None else comparison.predicted
    top = float(values.max())
    out = {}
    if not (10 ** log_level < top):
        out["log_level"] = round(math.log10(max(top, 1e-6) * 0.1), 2)
    if comparison.error is not None:
        largest = float(abs(comparison.error).max()) or 1e-6
        out["log_error_level"] = round(math.log10(0.25 * largest), 2)
    return out


def summary(comparison: Comparison) -> str:
    """The one-line message on a result: grid, time and relative errors."""
    m = comparison.metrics()
    took = "from the cache" if comparison.cached else f"in {comparison.seconds:.2f} s"
    if comparison.ndim == 1:
        text = f"{comparison.grid.size:,} points (1D) {took}"
    elif comparison.step > 1:
        text = f"preview on every {comparison.step}nd point: {comparison.grid.size:,} points {took}"
    else:
        text = f"full grid: {comparison.grid.size:,} points {took}"
    if "rel_l1" in m:
        text += f"; relative L1 {m['rel_l1']:.3%}, L2 {m['rel_l2']:.3%}"
    if comparison.step > 1:
        text += "; computing every point..."
    return text


class ExploreState(param.Parameterized):
    """What the Explore tab shows: inputs, levels, layers, slice, progress and the result."""

    structure = param.Selector(default=None, objects=[], doc="structure file or density file")
    model = param.Selector(default=None, objects=[], doc="model file (.safetensors)")
    reference = param.Selector(default=NONE, objects=[NONE], doc="reference density file")
    log_level = param.Number(default=-1.5, bounds=(-5, 1), step=0.05,
                             doc="log10 of the isosurface level (e/bohr^3)")
    log_error_level = param.Number(default=-2.5, bounds=(-6, 0), step=0.05,
                                   doc="log10 of the |error| isosurface level (e/bohr^3)")
    layers = param.ListSelector(default=["predicted", "reference", "error", "atoms"],
                                objects=["predicted", "reference", "error", "atoms", "bonds"])
    slice_axis = param.Selector(default="worst", objects=["worst", "a", "b", "c"])
    slice_index = param.Integer(default=0, bounds=(0, None))
    busy = param.Boolean(default=False, doc="an evaluation is running")
    progress = param.Integer(default=0, bounds=(0, 100), doc="percent of the model evaluation")
    message = param.String(default="", doc="one line on the result or what is being done")
    error = param.String(default="", doc="why the last evaluation failed (empty: it did not)")
    comparison = param.Parameter(default=None, doc="the current Comparison")
    quick_scatter = param.Boolean(default=False, doc="the scatter plot shown is binned with "
                                  "NumPy (datashader's kernels are still compiling)")

    def begin(self) -> None:
        """An evaluation starts."""
        self.param.update(busy=True, progress=0, message="evaluating...", error="")

    def fail(self, exc: Exception) -> None:
        """An evaluation (or an upload, an export) failed: say why; the last result stays."""
        self.param.update(busy=False, progress=0, message="",
                          error=f"**Could not evaluate:** {exc}")

    def show(self, comparison: Comparison, quick_scatter: bool = False) -> None:
        """Make ``comparison`` the current result, in one batch with what goes with it: levels
        that show something, the slice through the largest error, progress and message (a
        preview keeps the progress going: the full grid follows).
        """
        more = comparison.step > 1
        values = {"comparison": comparison, "busy": more, "progress": 0 if more else 100,
                  "message": summary(comparison), "error": "",
                  "quick_scatter": quick_scatter and comparison.reference is not None}
        if comparison.ndim == 3:
            for name, level in default_levels(comparison, self.log_level).items():
                low, high = self.param[name].bounds
                values[name] = min(max(level, low), high)
            self.param.slice_index.bounds = (0, max(comparison.grid.shape) - 1)
            values.update(slice_axis="worst", slice_index=comparison.worst_slice()[1])
        self.param.update(values)
