"""The Explore tab's shared state: the chosen inputs, the view settings and the current result.

Components read it and react to its parameters; every change of several parameters at once is
one ``param.update`` (one batch: each watcher runs once, with all the changes).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import param

if TYPE_CHECKING:
    from ddviz.evaluate.comparison import Comparison

NONE = "(the structure file's own, if it has one)"
# slice_axis choices -> what they mean
PLANES = {"worst": "grid plane through the largest error", "a": "grid axis a",
          "b": "grid axis b", "c": "grid axis c", "hkl": "Miller indices (periodic cells)",
          "atoms": "through three atoms"}
REFERENCE = "the reference"  # compare_with: a Hamiltonian model's density against its reference
STALE = "The previous result was cleared: nothing shown belongs to these inputs."


def default_levels(comparison: Comparison, log_level: float) -> dict[str, float]:
    """log10 isosurface levels (e/bohr^3) that show something of a 3D comparison.

    The density level kept if it lies between the smallest and the largest density, else a tenth
    of the largest; where that encloses most of the grid (a metal's valence density fills its
    cell, and dips only at the cores: the surface would be small spheres around the nuclei), the
    density's 80th percentile, a surface around its densest fifth. The |error| level at a quarter
    of the largest |error| (only with a reference).
    """
    values = comparison.reference if comparison.reference is not None else comparison.predicted
    top, bottom = float(values.max()), float(values.min())
    out = {}
    if not (bottom < 10 ** log_level < top):
        level = max(top, 1e-6) * 0.1
        if (values > level).mean() > 0.5:
            level = float(np.quantile(values, 0.8))
        out["log_level"] = round(math.log10(level), 2)
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
    if comparison.outliers:
        from ddviz.methods.deep_density.coverage import describe

        text += f". Warning: {describe(list(comparison.outliers))}"
    return text


class ExploreState(param.Parameterized):
    """What the Explore tab shows: inputs, levels, layers, slice, progress and the result."""

    structure = param.Selector(default=None, objects=[], doc="structure file or density file")
    model = param.Selector(default=None, objects=[], doc="model file (.safetensors)")
    reference = param.Selector(default=NONE, objects=[NONE], doc="reference density file")
    periodic = param.Boolean(default=False, doc="a cube's grid spans exactly its cell: periodic "
                             "(as `--pbc`; CHGCAR and periodic netCDF files are periodic anyway)")
    log_level = param.Number(default=-1.5, bounds=(-5, 1), step=0.05,
                             doc="log10 of the isosurface level (e/bohr^3)")
    log_error_level = param.Number(default=-2.5, bounds=(-6, 0), step=0.05,
                                   doc="log10 of the |error| isosurface level (e/bohr^3)")
    layers = param.ListSelector(default=["predicted", "reference", "error", "atoms"],
                                objects=["predicted", "reference", "error", "atoms", "bonds"])
    slice_axis = param.Selector(default="worst", objects=list(PLANES),
                                doc="the plane of the slices: a grid axis, Miller indices or "
                                "three atoms (see PLANES)")
    slice_index = param.Integer(default=0, bounds=(0, None))
    plane_hkl = param.String(default="1 0 0", doc="Miller indices h k l (periodic cells)")
    plane_atoms = param.String(default="0 1 2", doc="three atom numbers (from 0)")
    plane_offset = param.Number(default=0.0, bounds=(-20, 20), step=0.1,
                                doc="shift of a Miller plane from the cell centre (bohr)")
    has_reference = param.Boolean(default=False, doc="the current result has a reference")
    busy = param.Boolean(default=False, doc="an evaluation is running")
    progress = param.Integer(default=0, bounds=(0, 100), doc="percent of the model evaluation")
    message = param.String(default="", doc="one line on the result or what is being done")
    error = param.String(default="", doc="why the last evaluation failed (empty: it did not)")
    comparison = param.Parameter(default=None, doc="the current Comparison")
    hamiltonian = param.Parameter(default=None, doc="the current HamiltonianView (a Hamiltonian "
                                  "model's prediction), None for a density model")
    compare_with = param.Selector(default=REFERENCE, objects=[REFERENCE],
                                  doc="what a Hamiltonian model's implied density is compared "
                                  "with: the reference, or a Deep Density model's prediction")
    level_unit = param.Selector(default="eV", objects=["eV", "Ha"],
                                doc="energy unit of the orbital level diagram")
    quick_scatter = param.Boolean(default=False, doc="the scatter plot shown is binned with "
                                  "NumPy (datashader's kernels are still compiling)")

    def __init__(self, **params):
        super().__init__(**params)
        self.uploads: dict[str, str] = {}  # server path of an upload -> the user's file name

    def begin(self) -> None:
        """An evaluation starts."""
        self.param.update(busy=True, progress=0, message="evaluating...", error="")

    def user_text(self, text: str) -> str:
        """``text`` with the server's paths of uploaded files replaced by the users' names."""
        for path, name in sorted(self.uploads.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(path, name)
        return text

    def fail(self, exc: Exception, clear: bool = True) -> None:
        """An evaluation (or an upload, an export) failed: say why.

        With ``clear`` (an evaluation or an upload failed), the previous result is cleared, so
        that nothing on the page seems to belong to the new inputs; an export that failed
        (``clear=False``) leaves it.
        """
        text = self.user_text(str(exc))
        name = (self.structure or "").split(":", 1)[-1].rsplit("/", 1)[-1]
        if clear and name and name not in text:  # say which structure it was
            text = f"{name}: {text}"
        text = f"**Could not evaluate:** {text}"
        values = {"busy": False, "progress": 0, "message": "", "error": text}
        if clear and self.comparison is not None:
            values.update(comparison=None, has_reference=False, error=f"{text}\n\n*{STALE}*")
        if clear:
            values["hamiltonian"] = None
        self.param.update(values)

    def show(self, comparison: Comparison, quick_scatter: bool = False,
             hamiltonian=None) -> None:
        """Make ``comparison`` the current result, in one batch with what goes with it.

        Levels that show something, the slice through the largest error, progress and message (a
        preview keeps the progress going: the full grid follows). ``hamiltonian``: the
        :class:`~ddviz.evaluate.hamiltonian.HamiltonianView` the comparison belongs to (a
        Hamiltonian model's), whose summary is then the message.
        """
        more = comparison.step > 1
        text = summary(comparison) if hamiltonian is None else hamiltonian.summary()
        values = {"comparison": comparison, "busy": more, "progress": 0 if more else 100,
                  "message": text, "error": "", "hamiltonian": hamiltonian,
                  "has_reference": comparison.reference is not None,
                  "quick_scatter": quick_scatter and comparison.reference is not None}
        if comparison.ndim == 3:
            for name, level in default_levels(comparison, self.log_level).items():
                low, high = self.param[name].bounds
                values[name] = min(max(level, low), high)
            self.param.slice_index.bounds = (0, max(comparison.grid.shape) - 1)
            if self.slice_axis in ("worst", "a", "b", "c"):  # a chosen plane stays
                values.update(slice_axis="worst", slice_index=comparison.worst_slice()[1])
        self.param.update(values)
