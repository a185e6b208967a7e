"""The learned maps ddviz trains and evaluates, one package each (Deep Density first)."""
