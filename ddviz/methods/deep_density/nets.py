"""Small dense networks: embedding nets (s -> M1 features) and fitting nets (D_i -> 4 numbers)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"tanh": torch.tanh, "silu": F.silu, "softplus": F.softplus}
STEP_INIT = 0.5  # initial trainable skip weight ("timestep") of each residual layer


class ResidualMLP(nn.Module):
    """Activated dense layers ``sizes[0] -> ... -> sizes[-1]``, optionally a linear head.

    With ``resnet``, a layer that keeps its width computes ``y = x + dt * act(W x + b)`` and one
    that doubles it ``y = (x, x) + dt * act(W x + b)``, with ``dt`` a trainable scalar per layer.
    ``head``: width of a final linear layer initialised to zero (the fitting net's corrections
    start at exactly zero, so a fresh model is the pure ansatz). Input (P, sizes[0]).
    The skips are deepmd-kit's (their ``resnet_dt`` "timestep" is our ``dt``; Zhang et al.,
    NeurIPS 2018).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first.
    activation : {"tanh", "silu", "softplus"}
        Activation of every dense layer.
    resnet : bool
        Add the skip connections (with their trainable step).
    head : int, optional
        Width of the zero-initialised linear head; None: no head.
    dtype : torch.dtype
        Parameter dtype.
    """

    def __init__(self, sizes, activation="tanh", resnet=True, head=None, dtype=torch.float32):
        super().__init__()
        self.act = ACTIVATIONS[activation]
        self.layers = nn.ModuleList()
        self.steps = nn.ParameterList()
        self.kinds = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layer = nn.Linear(n_in, n_out, dtype=dtype)
            nn.init.normal_(layer.weight, std=n_in ** -0.5)
            nn.init.normal_(layer.bias, std=0.1)
            self.layers.append(layer)
            kind = ("same" if n_out == n_in else "double" if n_out == 2 * n_in else None)
            self.kinds.append(kind if resnet else None)
            if self.kinds[-1]:
                self.steps.append(nn.Parameter(torch.tensor(STEP_INIT, dtype=dtype)))
        self.head = None
        self.out_features = sizes[-1]
        if head is not None:
            self.head = nn.Linear(sizes[-1], head, dtype=dtype)
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
            self.out_features = head

    def forward(self, x: torch.Tensor, shift: torch.Tensor | None = None,
                scale: torch.Tensor | None = None) -> torch.Tensor:
        """Apply the net, optionally to normalised input.

        Parameters
        ----------
        x : (P, sizes[0]) torch.Tensor
            Input rows.
        shift, scale : (sizes[0],) torch.Tensor, optional
            Compute ``net((x - shift) * scale)``; the normalisation is folded into the first
            layer's weights (no pass over x). Both or neither.

        Returns
        -------
        (P, out_features) torch.Tensor
            Output rows.
        """
        return residual_mlp(x, self.weights(), self.kinds, self.act, shift, scale)

    def weights(self) -> list:
        """The net's tensors as :func:`residual_mlp` takes them.

        Returns
        -------
        list of tuple
            Per dense layer ``(weight, bias, step or None)``, then ``(head weight, head bias)``
            or None.
        """
        steps = iter(self.steps)
        layers = [(layer.weight, layer.bias, next(steps) if kind else None)
                  for layer, kind in zip(self.layers, self.kinds)]
        head = None if self.head is None else (self.head.weight, self.head.bias)
        return [*layers, head]


def residual_mlp(x: torch.Tensor, weights: list, kinds: list, act,
                 shift: torch.Tensor | None = None, scale: torch.Tensor | None = None
                 ) -> torch.Tensor:
    """:class:`ResidualMLP`'s forward pass as a function of its tensors.

    A pure function (no module state): the per-species nets of one model share one compiled
    graph when it is passed their tensors in turn (:func:`torch.compile`).

    Parameters
    ----------
    x : (P, sizes[0]) torch.Tensor
        Input rows.
    weights : list
        :meth:`ResidualMLP.weights`.
    kinds : list of {"same", "double", None}
        The skip of each dense layer (``ResidualMLP.kinds``).
    act : callable
        The activation.
    shift, scale : (sizes[0],) torch.Tensor, optional
        Input normalisation, folded into the first layer (see :meth:`ResidualMLP.forward`).

    Returns
    -------
    (P, out_features) torch.Tensor
        Output rows.
    """
    *layers, head = weights
    for n, ((weight, bias, step), kind) in enumerate(zip(layers, kinds)):
        if n == 0 and scale is not None:
            weight = weight * scale
            bias = bias - weight @ shift
        y = act(F.linear(x, weight, bias))
        if kind == "same":
            y = torch.addcmul(x, step, y)
        elif kind == "double":
            y = torch.addcmul(torch.cat([x, x], dim=-1), step, y)
        x = y
    if head is None:
        return x
    # the head's few outputs feed exponentials (the ansatz's rate and offset): under a float16
    # autocast they are computed in the weights' precision, which keeps its rel L1 to 1e-5
    with torch.autocast(x.device.type, enabled=False):
        return F.linear(x.to(head[0].dtype), *head)


def per_kind(nets: nn.ModuleList, kinds: torch.Tensor, x: torch.Tensor,
             shift: torch.Tensor | None = None, scale: torch.Tensor | None = None
             ) -> torch.Tensor:
    """Apply ``nets[k]`` to the rows of ``x`` whose kind is k.

    Parameters
    ----------
    nets : torch.nn.ModuleList of ResidualMLP
        One net per kind, all with the same ``out_features``.
    kinds : (P,) torch.Tensor of int
        Kind of each row.
    x : (P, F) torch.Tensor
        Input rows.
    shift, scale : (K, F) torch.Tensor, optional
        Input normalisation per kind (see :meth:`ResidualMLP.forward`).

    Returns
    -------
    (P, out_features) torch.Tensor
        Each row's output from its kind's net.
    """
    def norm(k):
        return {} if scale is None else {"shift": shift[k], "scale": scale[k]}

    if len(nets) == 1:
        return nets[0](x, **norm(0))
    out = x.new_zeros(x.shape[0], nets[0].out_features)
    for k, net in enumerate(nets):
        idx = (kinds == k).nonzero().squeeze(1)
        if idx.numel():
            out = out.index_copy(0, idx, net(x.index_select(0, idx), **norm(k)))
    return out
