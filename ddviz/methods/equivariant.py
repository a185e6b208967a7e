"""Pieces of e3nn networks the equivariant methods share (KineticNet, DeepH-E3).

Equivariance by construction: features are e3nn irreps, combined only through Clebsch–Gordan
tensor products (Geiger and Smidt, "e3nn: Euclidean neural networks", arXiv 2207.09453).
"""

from __future__ import annotations

from e3nn import o3


def depthwise_tensor_product(irreps_in, irreps_sh, irreps_out) -> o3.TensorProduct:
    """The product x ⊗ Y with a 'uvu' path per channel and allowed output irrep, weights external.

    The convolution of NequIP-style message passing: each channel of ``irreps_in`` is multiplied
    by the spherical harmonics ``irreps_sh`` of an edge, keeping the outputs whose irrep appears
    in ``irreps_out``; the per-path weights come from the caller (a radial network of the edge
    length), so the product holds no parameters of its own.

    Parameters
    ----------
    irreps_in, irreps_sh, irreps_out : e3nn.o3.Irreps or str
        Node features, edge harmonics, and the irreps to keep.

    Returns
    -------
    e3nn.o3.TensorProduct
        ``shared_weights=False, internal_weights=False``; its ``irreps_out`` is the unmixed
        output (follow it with an ``o3.Linear`` to ``irreps_out``), ``weight_numel`` the weights
        per edge.
    """
    irreps_in, irreps_sh = o3.Irreps(irreps_in), o3.Irreps(irreps_sh)
    wanted = {ir for _, ir in o3.Irreps(irreps_out)}
    mid, instructions = [], []
    for i, (mul, ir_in) in enumerate(irreps_in):
        for j, (_, ir_sh) in enumerate(irreps_sh):
            for ir in ir_in * ir_sh:
                if ir in wanted:
                    instructions.append((i, j, len(mid), "uvu", True))
                    mid.append((mul, ir))
    return o3.TensorProduct(irreps_in, irreps_sh, o3.Irreps(mid), instructions,
                            shared_weights=False, internal_weights=False)
