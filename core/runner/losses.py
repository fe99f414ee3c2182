"""Losses chosen by the task: Dice + cross-entropy for segmentation, CE for classification, L1 for regression."""

from __future__ import annotations

from typing import Any


def soft_dice_loss(logits: Any, target: Any, eps: float = 1e-5) -> Any:
    """1 - mean soft Dice over foreground classes, computed over the whole batch (batch Dice).

    ``logits``: (N, K, *spatial); ``target``: (N, *spatial) integer labels.
    """
    import torch

    probs = torch.softmax(logits.float(), dim=1)
    onehot = torch.zeros_like(probs).scatter_(1, target.long().unsqueeze(1), 1.0)
    dims = (0, *range(2, probs.ndim))
    inter = (probs * onehot).sum(dims)
    denom = probs.sum(dims) + onehot.sum(dims)
    dice = (2 * inter + eps) / (denom + eps)
    return 1 - dice[1:].mean() if probs.shape[1] > 1 else 1 - dice.mean()


def build_loss(name: str) -> Any:
    """A callable ``loss(logits, target) -> scalar tensor`` for a loss name of the run config."""
    import torch.nn.functional as F

    if name == "dice_ce":
        return lambda logits, target: soft_dice_loss(logits, target) + F.cross_entropy(logits.float(), target.long())
    if name == "dice":
        return soft_dice_loss
    if name == "ce":
        return lambda logits, target: F.cross_entropy(logits.float(), target.long())
    if name == "bce":
        return lambda logits, target: F.binary_cross_entropy_with_logits(logits.float(), target.float())
    if name == "l1":
        return lambda out, target: F.l1_loss(out.float().reshape(-1), target.float().reshape(-1))
    if name == "mse":
        return lambda out, target: F.mse_loss(out.float().reshape(-1), target.float().reshape(-1))
    raise ValueError(f"unknown loss {name}")
