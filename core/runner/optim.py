"""Optimizers and learning-rate schedules: SGD + polynomial decay (nnU-Net's recipe) and AdamW + cosine."""

from __future__ import annotations

import math
from typing import Any

from medhub.core.runconfig.options import RunConfig


def build_optimizer(params: Any, config: RunConfig) -> Any:
    """SGD with Nesterov momentum, or AdamW, from the run config; PyTorch's fused kernels when every
    parameter is on a CUDA device."""
    import torch

    params = list(params)
    fused = {"fused": True} if params and all(p.is_cuda for p in params) else {}
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, nesterov=True,
                               weight_decay=config.weight_decay or 0.0, **fused)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay or 0.0, **fused)


def lr_factor(schedule: str, step: int, total: int, warmup: int = 0) -> float:
    """Multiplier of the base learning rate at optimizer step ``step`` of ``total``."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule == "poly":
        return (1 - progress) ** 0.9
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    return 1.0


def build_scheduler(optimizer: Any, config: RunConfig, total_steps: int, steps_per_epoch: int) -> Any:
    """A LambdaLR stepping once per optimizer step."""
    import torch

    warmup = config.warmup_epochs * steps_per_epoch
    schedule = config.schedule
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(schedule, s, total_steps, warmup))
