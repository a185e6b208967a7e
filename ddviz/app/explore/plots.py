"""Scatter plot (predicted vs reference), error histogram, metrics table and density histogram
of the current result.

The plot panes are made, and join the page, with the first result: an empty one on the page
makes its creation import HoloViews and its plotting classes (~0.8 s here).
"""

from __future__ import annotations

from functools import cached_property

import panel as pn

from ddviz.app.explore.state import ExploreState


class PlotsPanel(pn.viewable.Viewer):
    """Plots of ``state.comparison``; the scatter is binned with NumPy while
    ``state.quick_scatter`` is set, and redrawn with datashader once it is cleared.
    """

    def __init__(self, state: ExploreState, **params):
        super().__init__(**params)
        self.state = state
        self.row = pn.Row()  # scatter, error histogram and metrics table, with the first result
        self.density_box = pn.Column(sizing_mode="stretch_width")  # the density histogram
        state.param.watch(self._update, ["comparison", "quick_scatter"])

    @cached_property
    def scatter(self):
        return pn.pane.HoloViews(None, height=380, width=420, css_classes=["ddviz-scatter"])

    @cached_property
    def histograms(self):
        return pn.pane.HoloViews(None, height=380, width=420)

    @cached_property
    def table(self):
        return pn.pane.HoloViews(None, height=300, width=380)

    @cached_property
    def density_hist(self):
        return pn.pane.HoloViews(None, height=220, sizing_mode="stretch_width")

    def _update(self, *events) -> None:
        from ddviz.viz import plots

        c = self.state.comparison
        if c is None:
            return
        has_ref = c.reference is not None
        new = any(e.name == "comparison" for e in events)
        if new and not self.row.objects:
            self.row[:] = [self.scatter, self.histograms, self.table]
            self.density_box[:] = [self.density_hist]
        self.scatter.object = None if not has_ref else plots.scatter(
            c.predicted, c.reference, quick=self.state.quick_scatter)
        if not new:
            return  # datashader is ready: only the scatter changes
        values = c.reference if has_ref else c.predicted
        self.density_hist.object = plots.density_histogram(values) if c.ndim == 3 else None
        self.table.object = plots.metrics_table(c.metrics(), c.describe_grid())
        self.histograms.object = plots.error_histogram(c.error) if has_ref else None

    def __panel__(self):
        return pn.Column(self.row, self.density_box, sizing_mode="stretch_width")
