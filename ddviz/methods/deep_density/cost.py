"""Floating-point work of a Deep Density evaluation per atom-electron pair, from the layer sizes.

A multiply-add counts 2 FLOPs; a bias, an activation (``tanh`` counted as 1), a skip's scale and
add, and each elementwise step of the geometry and of the ansatz count 1 per element. The
``matmul`` entries (dense layers and the descriptor contraction) are what
``torch.utils.flop_counter`` counts; the rest is an estimate of the elementwise work, small next
to them for the default sizes (about 2 %).
"""

from __future__ import annotations

from ddviz.methods.deep_density.config import ModelConfig

GEOMETRY_FLOPS = 30  # |v|^2, two square roots, the quintic switch, s and the row (P, 4)
ANSATZ_FLOPS = 20    # three softplus, the exponential, the products and the taper


def _dense(sizes, resnet: bool, head: int | None = None) -> tuple[int, int]:
    """``(matmul, elementwise)`` FLOPs of a :class:`~.nets.ResidualMLP` per input row."""
    matmul = elementwise = 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        matmul += 2 * n_in * n_out
        elementwise += 2 * n_out  # bias and activation
        if resnet and n_out in (n_in, 2 * n_in):
            elementwise += 2 * n_out  # dt * y and the add
    if head is not None:
        matmul += 2 * sizes[-1] * head
        elementwise += head
    return matmul, elementwise


def flops_per_pair(config: ModelConfig) -> dict[str, int]:
    """FLOPs per atom-electron pair of :meth:`DeepDensity.pair_density`, by part.

    The atom-atom part of the descriptor (``Environment.sums``) is computed once per structure
    and not counted; the input normalisation is folded into the first fitting layer (free).

    Parameters
    ----------
    config : ModelConfig
        Layer sizes (``embedding_widths``, ``m1``, ``m2``, ``fitting_widths``, the skips).

    Returns
    -------
    dict of str to int
        ``embedding``, ``descriptor`` (T_i and the contraction D = T T[:M2]^T), ``fitting``,
        ``geometry``, ``ansatz``, ``matmul`` (the dense layers and the contraction, as
        ``torch.utils.flop_counter`` counts them) and ``total``.
    """
    c = config
    emb_mm, emb_el = _dense([1, *c.embedding_widths, c.m1], c.embedding_resnet)
    fit_mm, fit_el = _dense([c.m1 * c.m2, *c.fitting_widths], c.fitting_resnet, head=4)
    contraction = 2 * c.m1 * c.m2 * 4
    parts = {"embedding": emb_mm + emb_el, "descriptor": 2 * c.m1 * 4 + contraction,
             "fitting": fit_mm + fit_el, "geometry": GEOMETRY_FLOPS, "ansatz": ANSATZ_FLOPS}
    parts["matmul"] = emb_mm + contraction + fit_mm
    parts["total"] = sum(v for k, v in parts.items() if k != "matmul")
    return parts
