"""The built-in losses (registered by :mod:`medhub.core.runner.plugin`) and the wrapper through which a run calls
any loss, built-in or a plugin's.

Each built-in is a class: ``Loss(**params)`` is a callable ``loss(output, target) -> scalar tensor``. Segmentation
losses take logits N x K x spatial and integer labels N x spatial; soft overlaps (Dice, Tversky) are computed over
the whole batch (batch Dice) and averaged over the foreground classes.
"""

from __future__ import annotations

from typing import Any


def soft_dice_loss(logits: Any, target: Any, eps: float = 1e-5) -> Any:
    """1 - mean soft Dice over foreground classes, computed over the whole batch (batch Dice).

    ``logits``: (N, K, *spatial); ``target``: (N, *spatial) integer labels.
    """
    probs, onehot, dims = _probabilities(logits, target)
    inter = (probs * onehot).sum(dims)
    denom = probs.sum(dims) + onehot.sum(dims)
    dice = (2 * inter + eps) / (denom + eps)
    return 1 - dice[1:].mean() if probs.shape[1] > 1 else 1 - dice.mean()


def _probabilities(logits: Any, target: Any) -> tuple[Any, Any, tuple[int, ...]]:
    """(softmax probabilities, one-hot target, the batch and spatial axes) of a segmentation batch."""
    import torch

    probs = torch.softmax(logits.float(), dim=1)
    onehot = torch.zeros_like(probs).scatter_(1, target.long().unsqueeze(1), 1.0)
    return probs, onehot, (0, *range(2, probs.ndim))


class DiceLoss:
    """Soft Dice loss over the foreground classes (:func:`soft_dice_loss`); ``eps`` smooths empty classes."""

    def __init__(self, eps: float = 1e-5):
        self.eps = eps

    def __call__(self, logits: Any, target: Any) -> Any:
        return soft_dice_loss(logits, target, self.eps)


class DiceCELoss:
    """Soft Dice + cross-entropy (nnU-Net's segmentation loss)."""

    def __init__(self, eps: float = 1e-5):
        self.eps = eps

    def __call__(self, logits: Any, target: Any) -> Any:
        import torch.nn.functional as F

        return soft_dice_loss(logits, target, self.eps) + F.cross_entropy(logits.float(), target.long())


class CrossEntropyLoss:
    """Softmax cross-entropy on class indices (classification N x K, or segmentation N x K x spatial)."""

    def __call__(self, logits: Any, target: Any) -> Any:
        import torch.nn.functional as F

        return F.cross_entropy(logits.float(), target.long())


class BCELoss:
    """One sigmoid per class with binary cross-entropy (multi-label targets N x K of 0/1)."""

    def __call__(self, logits: Any, target: Any) -> Any:
        import torch.nn.functional as F

        return F.binary_cross_entropy_with_logits(logits.float(), target.float())


class L1Loss:
    """Mean absolute error of the predicted values."""

    def __call__(self, out: Any, target: Any) -> Any:
        import torch.nn.functional as F

        return F.l1_loss(out.float().reshape(-1), target.float().reshape(-1))


class MSELoss:
    """Mean squared error of the predicted values."""

    def __call__(self, out: Any, target: Any) -> Any:
        import torch.nn.functional as F

        return F.mse_loss(out.float().reshape(-1), target.float().reshape(-1))


class FocalLoss:
    """Focal loss (Lin et al. 2017): ``-alpha_t (1 - p_t)^gamma log p_t``, averaged over samples (and voxels).

    Softmax over the classes for integer targets (segmentation, classification); one sigmoid per class for 0/1
    targets shaped like the logits (multi-label). ``alpha``: None (no weighting), one number (the weight of the
    positive class of a sigmoid, 1 - alpha for the negative; a softmax weighs every class by it) or one weight per
    class. ``gamma`` 0 is cross-entropy.
    """

    def __init__(self, gamma: float = 2.0, alpha: float | list[float] | None = None):
        self.gamma, self.alpha = float(gamma), alpha

    def __call__(self, logits: Any, target: Any) -> Any:
        import torch
        import torch.nn.functional as F

        logits = logits.float()
        if target.is_floating_point() and target.shape == logits.shape:
            target = target.float()
            log_p = F.logsigmoid(logits) * target + F.logsigmoid(-logits) * (1 - target)  # log p_t
            weight = self._sigmoid_alpha(target)
        else:
            target = target.long()
            log_p = torch.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
            weight = self._softmax_alpha(target, logits.shape[1], logits)
        loss = -((1 - log_p.exp()) ** self.gamma) * log_p
        return (loss * weight).mean() if weight is not None else loss.mean()

    def _sigmoid_alpha(self, target: Any) -> Any:
        if self.alpha is None:
            return None
        import torch

        alpha = torch.as_tensor(self.alpha, dtype=target.dtype, device=target.device)
        return alpha * target + (1 - alpha) * (1 - target)

    def _softmax_alpha(self, target: Any, classes: int, logits: Any) -> Any:
        if self.alpha is None:
            return None
        import torch

        if isinstance(self.alpha, (int, float)):
            return torch.full(target.shape, float(self.alpha), dtype=logits.dtype, device=logits.device)
        weights = torch.as_tensor(self.alpha, dtype=logits.dtype, device=logits.device)
        if weights.numel() != classes:
            from medhub.core.errors import MedhubError

            raise MedhubError(f"focal loss: alpha has {weights.numel()} weights for {classes} classes")
        return weights[target]


class TverskyLoss:
    """Tversky loss (Salehi et al. 2017): ``1 - (TP + eps) / (TP + alpha FP + beta FN + eps)`` from softmax
    probabilities, over the whole batch, averaged over the foreground classes. ``alpha = beta = 0.5`` is the soft
    Dice; a larger ``beta`` weighs missed foreground (false negatives) more."""

    def __init__(self, alpha: float = 0.3, beta: float = 0.7, eps: float = 1e-5):
        self.alpha, self.beta, self.eps = float(alpha), float(beta), float(eps)

    def __call__(self, logits: Any, target: Any) -> Any:
        probs, onehot, dims = _probabilities(logits, target)
        tp = (probs * onehot).sum(dims)
        fp = (probs * (1 - onehot)).sum(dims)
        fn = ((1 - probs) * onehot).sum(dims)
        index = (tp + self.eps) / (tp + self.alpha * fp + self.beta * fn + self.eps)
        return 1 - index[1:].mean() if probs.shape[1] > 1 else 1 - index.mean()


class TaskLoss:
    """A loss as a run calls it: the output in float32 and the target in the form of the task (integer labels or
    classes; 0/1 floats for multi-label; floats shaped like the output for regression), then ``loss(output,
    target)``."""

    def __init__(self, loss: Any, task: str, multilabel: bool = False):
        self.loss, self.task, self.multilabel = loss, task, multilabel

    def __call__(self, output: Any, target: Any) -> Any:
        output = output.float()
        if self.task == "regression":
            target = target.float()
            target = target.reshape(output.shape) if target.numel() == output.numel() else target
        elif self.multilabel:
            target = target.float()
        else:
            target = target.long()
        return self.loss(output, target)


def build_loss(part: Any, task: str, out_channels: int, multilabel: bool = False) -> Any:
    """The run's loss (a resolved :class:`~medhub.core.components.Part`), built and wrapped in :class:`TaskLoss`."""
    loss = part.build(task=task, out_channels=out_channels, multilabel=multilabel)
    return TaskLoss(loss, task, multilabel)
