"""Pictures of densities and comparisons (a top layer: nothing below it imports it).

HoloViews plots (:mod:`~ddviz.viz.plots`), PyVista 3D scenes (:mod:`~ddviz.viz.scene`) and file
exports (:mod:`~ddviz.viz.export`); lengths in bohr, densities in e/bohr^3.
"""
