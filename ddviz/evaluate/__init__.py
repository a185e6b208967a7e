"""Evaluation: the chunked predictor, metrics, and comparisons of predictions with references."""
