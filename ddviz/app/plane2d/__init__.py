"""The 2D tab's parts: Kohn–Sham systems in a box against EDNN and DCIGN.

One shared state (:mod:`.state`), the background job that fills it (:mod:`.runner`) and the tab
that shows it (:mod:`.tab`: :class:`~ddviz.app.plane2d.tab.Plane2DTab`). Every number shown comes
from :func:`ddviz.evaluate.plane2d.run`; the plots from :mod:`ddviz.viz.plane2d`.
"""
