"""Reference densities for training and comparison.

PySCF Kohn–Sham SCF (:mod:`~ddviz.reference.scf`), GFN2-xTB molecular dynamics
(:mod:`~ddviz.reference.md`), snapshot generation (:mod:`~ddviz.reference.generate`) and the
named datasets built from them (:mod:`~ddviz.reference.dataset`).
"""
