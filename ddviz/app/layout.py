"""The whole app: Explore, Train, 2D and OF-DFT tabs sharing one settings object."""

from __future__ import annotations

import panel as pn

from ddviz.app.explorer import Explorer
from ddviz.app.ofdft.tab import OFDFTTab
from ddviz.app.plane2d.tab import Plane2DTab
from ddviz.app.settings import AppSettings
from ddviz.app.training import TrainingPanel

pn.extension("vtk", notifications=True)


def create_app(settings: AppSettings | None = None, **explorer_args) -> pn.viewable.Viewable:
    """The ddviz app; a model that training finishes appears in the Explore tab at once."""
    settings = settings or AppSettings()
    explorer = Explorer(settings=settings, **explorer_args)

    def model_ready(path):
        explorer.refresh_files()
        pn.state.notifications and pn.state.notifications.success(f"New model: {path.name}")

    training = TrainingPanel(settings=settings, on_model=model_ready)
    # dynamic: the browser builds the Train tab (its form is 100 of the page's 170 Bokeh models)
    # only when it is opened, not while the first comparison is being drawn
    tabs = pn.Tabs(("Explore", explorer), ("Train", training), dynamic=True)
    # the 2D tab computes its first system only when it is first opened
    plane = Plane2DTab(settings=settings)
    tabs.append(("2D", plane))
    index = len(tabs) - 1
    tabs.param.watch(lambda e: e.new == index and not plane.runner.started and plane.start(),
                     "active")
    # the OF-DFT tab lists its files when made and computes only when asked (Run, Evaluate)
    tabs.append(("OF-DFT", OFDFTTab(settings=settings)))
    header = pn.pane.Markdown("## ddviz — machine-learned electron densities "
                              "<small>(bohr, Ha; densities in e/bohr^3, in 2D e/bohr^2)</small>")
    return pn.Column(header, tabs, sizing_mode="stretch_width")
