"""The OF-DFT tab's parts: orbital-free DFT of two-electron molecules and KineticNet's T_s.

One shared state (:mod:`.state`), the background jobs that fill it (:mod:`.runner`: OF-DFT
streamed frame by frame and stoppable; the test split's T_s parity; a sample's kinetic-energy
slice) and the tab that shows it (:mod:`.tab`: :class:`~ddviz.app.ofdft.tab.OFDFTTab`). Every
number shown comes from :mod:`ddviz.methods.kinetic.analysis`; the plots from
:mod:`ddviz.viz.kinetic`.
"""
