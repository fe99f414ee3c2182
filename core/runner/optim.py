"""The built-in optimizers (Adam, AdamW, SGD with Nesterov momentum: nnU-Net's recipe) and learning-rate schedules
(polynomial decay, cosine, constant, each with linear warm-up), registered by :mod:`medhub.core.runner.plugin`; and
how a run builds any optimizer and schedule, built-in or a plugin's."""

from __future__ import annotations

import math
from typing import Any


def _fused(params: list[Any]) -> dict[str, bool]:
    """PyTorch's fused kernels when every parameter is on a CUDA device."""
    return {"fused": True} if params and all(p.is_cuda for p in params) else {}


def sgd(parameters: Any, lr: float, weight_decay: float, momentum: float, nesterov: bool = True) -> Any:
    """SGD with (Nesterov) momentum."""
    import torch

    params = list(parameters)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                           **_fused(params))


def adamw(parameters: Any, lr: float, weight_decay: float, betas: tuple[float, float] = (0.9, 0.999),
          eps: float = 1e-8) -> Any:
    """AdamW (decoupled weight decay)."""
    import torch

    params = list(parameters)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=tuple(betas), eps=eps, **_fused(params))


def adam(parameters: Any, lr: float, weight_decay: float, betas: tuple[float, float] = (0.9, 0.999),
         eps: float = 1e-8) -> Any:
    """Adam (weight decay as an L2 term of the gradient)."""
    import torch

    params = list(parameters)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, betas=tuple(betas), eps=eps, **_fused(params))


def build_optimizer(part: Any, parameters: Any, config: Any) -> Any:
    """The run's optimizer (a resolved :class:`~medhub.core.components.Part`) over ``parameters``, given the run
    options it takes: ``lr``, ``weight_decay`` (0 when null) and ``momentum``."""
    return part.build(parameters, lr=config.lr, weight_decay=config.weight_decay or 0.0, momentum=config.momentum)


def lr_factor(schedule: str, step: int, total: int, warmup: int = 0, exponent: float = 0.9) -> float:
    """Multiplier of the base learning rate at optimizer step ``step`` of ``total``: linear warm-up over the first
    ``warmup`` steps, then ``poly`` (``(1 - progress) ** exponent``), ``cosine`` or constant."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule == "poly":
        return (1 - progress) ** exponent
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    return 1.0


def _lambda_schedule(optimizer: Any, name: str, total_steps: int, warmup_steps: int, **options: Any) -> Any:
    import torch

    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(name, s, total_steps, warmup_steps, **options))


def poly(optimizer: Any, total_steps: int, warmup_steps: int = 0, exponent: float = 0.9) -> Any:
    """Polynomial decay to 0 over the run: ``(1 - progress) ** exponent`` (nnU-Net's, exponent 0.9)."""
    return _lambda_schedule(optimizer, "poly", total_steps, warmup_steps, exponent=exponent)


def cosine(optimizer: Any, total_steps: int, warmup_steps: int = 0) -> Any:
    """Cosine decay to 0 over the run."""
    return _lambda_schedule(optimizer, "cosine", total_steps, warmup_steps)


def constant(optimizer: Any, total_steps: int, warmup_steps: int = 0) -> Any:
    """The base learning rate throughout (after the warm-up)."""
    return _lambda_schedule(optimizer, "constant", total_steps, warmup_steps)


def build_scheduler(part: Any, optimizer: Any, config: Any, total_steps: int, steps_per_epoch: int) -> Any:
    """The run's schedule (a resolved :class:`~medhub.core.components.Part`) over ``optimizer``, stepped once per
    optimizer step; it takes what it names of ``total_steps``, ``warmup_steps`` and ``steps_per_epoch``."""
    return part.build(optimizer, total_steps=total_steps, warmup_steps=config.warmup_epochs * steps_per_epoch,
                      steps_per_epoch=steps_per_epoch)
