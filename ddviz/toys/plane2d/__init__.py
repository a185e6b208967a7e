"""2D Kohn–Sham model systems: electrons in a square box with hard walls.

Units bohr, Ha, electrons/bohr^2; the systems of Ryczko, Strubbe, Tamblyn, Phys. Rev. A 100,
022512 (2019).

``solver`` (the self-consistent solver and its energy terms), ``potentials`` (harmonic
oscillators and Mills-style random potentials), ``data`` (the dataset: one .npz per sample and a
manifest split by potential).
"""
