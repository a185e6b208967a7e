"""The Explore tab's parts.

One shared state (:mod:`.state`) and small components that react to it: inputs and progress
(:mod:`.inputs`), the 3D view or a chain's line plot (:mod:`.view`), slices (:mod:`.slices`),
scatter, histograms and metrics (:mod:`.plots`), a Hamiltonian model's levels and block errors
(:mod:`.hamiltonian`), exports (:mod:`.exports`), and the background
evaluation that fills the state (:mod:`.runner`). :class:`ddviz.app.explorer.Explorer` puts them
together.
"""
