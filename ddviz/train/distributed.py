"""Data-parallel training across processes: ``torchrun --nproc_per_node=N -m ddviz train CONFIG``.

Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) the loop joins a process group
(gloo on CPU, NCCL on CUDA, each rank on GPU ``LOCAL_RANK``). Every rank draws the same global
batch from the same checkpointed random stream and evaluates its own share of it
(:meth:`~ddviz.train.method.TrainingMethod.shard`: Deep Density gives each rank a different
slice of every snapshot's probe points); the gradients are averaged with one ``all_reduce`` over
a flat buffer per step (what ``DistributedDataParallel`` does; the methods call their models'
own functions, such as ``prepare``, which DDP's ``forward`` hook would not cover). Each rank's
loss is weighted by its share, so the averaged gradient and the logged loss are those of one
process on the whole batch. The random stream and the weights are the same on every rank, so a
checkpoint (written by rank 0 alone) resumes with any number of ranks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class ProcessGroup:
    """The place of this process in the run.

    Attributes
    ----------
    rank : int
        0 for a single process.
    world : int
        Number of processes (1: not distributed).
    local_rank : int
        Rank on this machine (the GPU index under NCCL).
    """

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this process writes files (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """More than one process."""
        return self.world > 1


def join(device: torch.device) -> tuple[ProcessGroup, torch.device]:
    """Join the process group torchrun describes, if any.

    Parameters
    ----------
    device : torch.device
        The run's device; a CUDA device becomes ``cuda:LOCAL_RANK``.

    Returns
    -------
    ProcessGroup
        Rank and size (``ProcessGroup()`` when ``WORLD_SIZE`` is unset or 1 and no group exists).
    torch.device
        The device this rank uses.
    """
    if dist.is_available() and dist.is_initialized():
        world, rank = dist.get_world_size(), dist.get_rank()
    else:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        if world > 1:
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local % torch.cuda.device_count())
        torch.cuda.set_device(device)
    return ProcessGroup(rank, world, local), device


def leave() -> None:
    """Destroy the process group if one exists (at the end of ``ddviz train``)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_state(model: torch.nn.Module, group: ProcessGroup) -> None:
    """Give every rank rank 0's parameters and buffers.

    Parameters
    ----------
    model : torch.nn.Module
        The model, changed in place on ranks > 0.
    group : ProcessGroup
        Nothing happens for a single process.
    """
    if group.distributed:
        for tensor in model.state_dict().values():
            dist.broadcast(tensor, 0)


def average_gradients(params, group: ProcessGroup, extra: torch.Tensor) -> torch.Tensor:
    """Sum the gradients (and ``extra``) over the ranks, in one ``all_reduce``.

    Each rank's loss is already weighted by ``world * share``, so the sum divided by ``world``
    is the whole batch's gradient; a parameter without a gradient counts as zero.

    Parameters
    ----------
    params : list of torch.nn.Parameter
        The model's parameters; their ``.grad`` are replaced by the average.
    group : ProcessGroup
        Nothing is communicated for a single process.
    extra : (K,) torch.Tensor
        Summed over the ranks alongside (the weighted loss, a stop flag).

    Returns
    -------
    (K,) torch.Tensor
        ``extra`` summed over the ranks.
    """
    if not group.distributed:
        return extra
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads] + [extra.to(grads[0].dtype)])
    dist.all_reduce(flat)
    flat[:-extra.numel()] /= group.world
    offset = 0
    for p, g in zip(params, grads):
        p.grad = flat[offset:offset + g.numel()].view_as(p).clone()
        offset += g.numel()
    return flat[offset:].to(extra.dtype)


def all_true(flag: bool, group: ProcessGroup, device: torch.device) -> bool:
    """Whether ``flag`` holds on rank 0 (broadcast; the same answer on every rank)."""
    if not group.distributed:
        return flag
    value = torch.tensor([float(flag)], device=device)
    dist.broadcast(value, 0)
    return bool(value.item())
