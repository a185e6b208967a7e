"""Scatter plot, error histogram, metrics table and density histogram of the current result.

The scatter plot shows predicted vs reference; the density histogram marks the current iso
level. The plot panes are made, and join the page, with the first result: an empty one on the page
makes its creation import HoloViews and its plotting classes (~0.8 s here).
"""

from __future__ import annotations

from functools import cached_property

import panel as pn

from ddviz.app.explore.state import ExploreState


class PlotsPanel(pn.viewable.Viewer):
    """Plots of ``state.comparison``.

    The scatter is binned with NumPy while ``state.quick_scatter`` is set, and redrawn with
    datashader once it is cleared.
    """

    def __init__(self, state: ExploreState, **params):
        super().__init__(**params)
        self.state = state
        self.row = pn.Row()  # scatter, error histogram and metrics table, with the first result
        self.density_box = pn.Column(sizing_mode="stretch_width")  # the density histogram
        self._density = None  # the density histogram of the current result, without the level
        state.param.watch(self._update, ["comparison", "quick_scatter"])
        state.param.watch(self._mark_level, "log_level")

    @cached_property
    def scatter(self):
        """The predicted-vs-reference scatter plot (made with the first result)."""
        return pn.pane.HoloViews(None, height=360, width=350, css_classes=["ddviz-scatter"])

    @cached_property
    def histograms(self):
        """The error histogram (made with the first result)."""
        return pn.pane.HoloViews(None, height=360, width=350)

    @cached_property
    def table(self):
        """The metrics table (made with the first result)."""
        return pn.pane.HoloViews(None, height=300, width=330)

    @cached_property
    def density_hist(self):
        """The density histogram with the iso level (made with the first result)."""
        return pn.pane.HoloViews(None, height=220, sizing_mode="stretch_width")

    def _update(self, *events) -> None:
        from ddviz.viz import plots

        c = self.state.comparison
        if c is None:  # the last evaluation failed: nothing of the previous result stays
            self.row[:], self.density_box[:], self._density = [], [], None
            return
        has_ref = c.reference is not None
        new = any(e.name == "comparison" for e in events)
        if new and not self.row.objects:  # the first result, or the first after a failure
            self.row[:] = [self.scatter, self.histograms, self.table]
            self.density_box[:] = [self.density_hist]
        self.scatter.object = None if not has_ref else plots.scatter(
            c.predicted, c.reference, quick=self.state.quick_scatter)
        if not new:
            return  # datashader is ready: only the scatter changes
        values = c.reference if has_ref else c.predicted
        self._density = plots.density_histogram(values) if c.ndim == 3 else None
        self._mark_level()
        self.table.object = plots.metrics_table(c.metrics(), c.describe_grid(), c.properties())
        self.histograms.object = plots.error_histogram(c.error) if has_ref else None

    def _mark_level(self, *_) -> None:
        from ddviz.viz import plots

        if self._density is None:
            self.density_hist.object = None
            return
        self.density_hist.object = self._density * plots.level_marker(10 ** self.state.log_level)

    def __panel__(self):
        return pn.Column(self.row, self.density_box, sizing_mode="stretch_width")
