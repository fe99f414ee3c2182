"""Data-parallel helpers for runs launched by ``torchrun`` (DistributedDataParallel).

``torchrun --nproc_per_node=N -m medhub run ...`` starts N processes and sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in each; ``init_from_env`` joins them into one process
group (gloo on the CPU, NCCL on CUDA, one GPU per process: ``cuda:LOCAL_RANK``). Launched any other way,
everything here is a no-op with ``world_size == 1``, so the runner calls the same functions either way.
torch is imported inside the functions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from medhub.core.errors import MedhubError

T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in a data-parallel run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"  # this process's device (cuda:LOCAL_RANK under torchrun on GPUs)
    backend: str | None = None  # "gloo" | "nccl" | None when not distributed

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only rank that writes checkpoints, results and logs."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when several processes train together."""
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise MedhubError(f"environment variable {name}={raw!r} is not an integer (it is set by torchrun)") from None


def launch_world_size() -> int:
    """How many processes this launch has (``WORLD_SIZE`` from torchrun; 1 for a plain ``hub`` command)."""
    return max(1, _env_int("WORLD_SIZE", 1))


def require_world_size(recorded: int, run_id: str, subcommand: str) -> None:
    """Refuse to continue or re-run a run with another number of data-parallel processes than it was trained
    with: each process draws its own batches, so the result would be another run, silently.
    ``subcommand`` is what to launch again, e.g. ``reproduce RUN_ID`` or ``run --resume RUN_ID``."""
    launched = launch_world_size()
    if recorded == launched:
        return
    if recorded > 1:
        how = f"launch it the same way: torchrun --nproc_per_node={recorded} -m medhub {subcommand}"
        if launched > 1:
            how += f" (this launch has {launched} processes)"
        else:
            how += " (on several machines: the original rendezvous flags, see docs/parallel.md)"
        raise MedhubError(f"run {run_id} was trained data-parallel by {recorded} processes (torchrun); with another "
                          f"number each process draws other batches, so it would be a different run: {how}")
    raise MedhubError(f"run {run_id} was trained by a single process, but this torchrun launch has {launched}: "
                      f"run hub {subcommand} without torchrun")


def init_from_env(device: str = "cpu") -> DistInfo:
    """Join the process group that ``torchrun`` describes in the environment, or return a 1-process ``DistInfo``.

    ``device`` is the run's ``--device``: ``cpu`` uses the gloo backend; ``cuda`` / ``cuda:N`` uses NCCL with
    one GPU per process, ``cuda:LOCAL_RANK`` (a listed index is ignored under torchrun).
    """
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return DistInfo(device=str(device))
    import torch
    import torch.distributed as dist

    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    on_cuda = str(device).startswith("cuda")
    if on_cuda:
        if not torch.cuda.is_available():
            raise MedhubError(f"--device {device}: CUDA is not available on this machine; launch the torchrun job "
                              "with --device cpu (gloo backend) or on GPU nodes")
        if local_rank >= torch.cuda.device_count():
            raise MedhubError(f"torchrun started local rank {local_rank} but this machine has only "
                              f"{torch.cuda.device_count()} GPU(s): use --nproc_per_node={torch.cuda.device_count()}")
        torch.cuda.set_device(local_rank)
        rank_device, backend = f"cuda:{local_rank}", "nccl"
    else:
        rank_device, backend = "cpu", "gloo"
    if not dist.is_initialized():
        for var in ("MASTER_ADDR", "MASTER_PORT"):
            if not os.environ.get(var):
                raise MedhubError(f"WORLD_SIZE={world_size} is set but {var} is not: launch with "
                                  "torchrun --nproc_per_node=N -m medhub run ... (it sets both)")
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world_size)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=rank_device, backend=backend)


def shard(items: Sequence[T], info: DistInfo, pad: bool = False) -> list[T]:
    """This rank's share of ``items``: every ``world_size``-th item starting at ``rank`` (deterministic).

    Without ``pad`` the shards are disjoint and together hold every item exactly once (sizes differ by at
    most one) — use it for evaluation. With ``pad`` the list is first extended by repeating items from its
    start until its length is a multiple of ``world_size``, so every rank gets the same number of items
    (training needs equal step counts on all ranks); the repeated items are the only overlap.
    """
    seq = list(items)
    if info.world_size <= 1:
        return seq
    if not 0 <= info.rank < info.world_size:
        raise MedhubError(f"rank {info.rank} is outside world size {info.world_size}")
    if pad and seq:
        extra = (-len(seq)) % info.world_size
        seq = seq + [seq[i % len(seq)] for i in range(extra)]
    return seq[info.rank::info.world_size]


def wrap_ddp(model: Any, info: DistInfo, device: str | None = None) -> Any:
    """``model`` wrapped in ``DistributedDataParallel`` (unchanged when not distributed).

    The model must already be on its device. A model spread over several devices (``ModelParallel``)
    is wrapped without ``device_ids``, as DDP requires.
    """
    if not info.enabled:
        return model
    import torch
    from torch.nn.parallel import DistributedDataParallel

    device = str(device or info.device)
    devices = {p.device for p in model.parameters()}
    if device.startswith("cuda") and len(devices) <= 1:
        return DistributedDataParallel(model, device_ids=[torch.device(device).index or 0])
    return DistributedDataParallel(model)


def all_gather_rows(rows: Sequence[Any], info: DistInfo) -> list[Any]:
    """Every rank's ``rows`` (picklable objects) on every rank, merged round-robin by rank.

    When each rank's rows are one per item of ``shard(items, info)`` (no padding), the merge gives the rows
    in the original item order.
    """
    rows = list(rows)
    if not info.enabled:
        return rows
    import torch.distributed as dist

    gathered: list[Any] = [None] * info.world_size
    dist.all_gather_object(gathered, rows)
    merged = []
    longest = max(len(part) for part in gathered)
    for i in range(longest):
        for part in gathered:
            if i < len(part):
                merged.append(part[i])
    return merged


def all_reduce_mean(value: Any, info: DistInfo) -> Any:
    """The mean of ``value`` (a number or a tensor) over the ranks; a number in, a float out."""
    if not info.enabled:
        return float(value) if not hasattr(value, "detach") else value
    import torch
    import torch.distributed as dist

    device = info.device if info.backend == "nccl" else "cpu"
    if isinstance(value, torch.Tensor):
        t = value.detach().to(device=device, dtype=torch.float64 if not value.is_floating_point() else value.dtype)
        t = t.clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return (t / info.world_size).to(value.device)
    t = torch.tensor([float(value)], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item()) / info.world_size


def barrier(info: DistInfo) -> None:
    """Wait until every rank gets here (no-op when not distributed)."""
    if not info.enabled:
        return
    import torch.distributed as dist

    if info.backend == "nccl":
        dist.barrier(device_ids=[info.local_rank])
    else:
        dist.barrier()


def cleanup(info: DistInfo) -> None:
    """Leave the process group (no-op when not distributed or already left)."""
    if not info.enabled:
        return
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def shared_value(value: Any, dist: DistInfo) -> Any:
    """Rank 0's ``value`` on every rank (itself when not distributed)."""
    if not dist.enabled:
        return value
    import torch.distributed

    box = [value]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]
