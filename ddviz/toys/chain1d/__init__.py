"""1D Kohn–Sham chains of soft-Coulomb atoms (the Deep Density paper's 1D systems).

``solver`` (the self-consistent solver), ``mixing`` (density mixing), ``response`` (band gaps
and screening), ``md`` (Born–Oppenheimer MD snapshots and datasets), ``data`` (results as
:class:`ddviz.grid.Sample`).
"""
