"""Model systems solved inside ddviz (no external code): the 1D Kohn–Sham chains."""
