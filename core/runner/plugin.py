"""Built-in medhub plugin registering the losses, optimizers and learning-rate schedules of ``medhub.core.runner``
(metadata only: the factories are ``"module:attribute"`` strings, imported when a run starts)."""

from __future__ import annotations

from medhub.core.hookspecs import hookimpl
from medhub.core.registry import LossInfo, OptimizerInfo, ScheduleInfo

LOSSES = "medhub.core.runner.losses:{}"
OPTIM = "medhub.core.runner.optim:{}"

# id, class in losses.py, tasks, default params, description
BUILTIN_LOSSES = (
    ("dice_ce", "DiceCELoss", ("segmentation",), {"eps": 1e-5}, "soft Dice (batch, foreground classes) + cross-entropy"),
    ("dice", "DiceLoss", ("segmentation",), {"eps": 1e-5}, "soft Dice over the foreground classes (batch Dice)"),
    ("ce", "CrossEntropyLoss", ("segmentation", "classification"), {}, "softmax cross-entropy"),
    ("bce", "BCELoss", ("classification",), {}, "one sigmoid per class, binary cross-entropy (multi-label)"),
    ("l1", "L1Loss", ("regression",), {}, "mean absolute error"),
    ("mse", "MSELoss", ("regression",), {}, "mean squared error"),
    ("focal", "FocalLoss", ("segmentation", "classification"), {"gamma": 2.0, "alpha": None},
     "focal loss -alpha_t (1 - p_t)^gamma log p_t (softmax; sigmoid for multi-label)"),
    ("tversky", "TverskyLoss", ("segmentation",), {"alpha": 0.3, "beta": 0.7, "eps": 1e-5},
     "Tversky loss: TP / (TP + alpha FP + beta FN) over the foreground classes"),
)

# id, function in optim.py, run options it takes, default params, description
BUILTIN_OPTIMIZERS = (
    ("adamw", "adamw", ("lr", "weight_decay"), {}, "AdamW (decoupled weight decay)"),
    ("adam", "adam", ("lr", "weight_decay"), {}, "Adam (L2 weight decay)"),
    ("sgd", "sgd", ("lr", "weight_decay", "momentum"), {"nesterov": True}, "SGD with Nesterov momentum"),
)

# id, default params, description (every one takes total_steps and warmup_steps)
BUILTIN_SCHEDULES = (
    ("poly", {"exponent": 0.9}, "polynomial decay (1 - progress) ** exponent, after the warm-up"),
    ("cosine", {}, "cosine decay to 0, after the warm-up"),
    ("constant", {}, "the base learning rate, after the warm-up"),
)


@hookimpl
def register_losses(register):
    for loss_id, name, tasks, params, description in BUILTIN_LOSSES:
        register(LossInfo(id=loss_id, factory=LOSSES.format(name), tasks=tasks, params=dict(params),
                          description=description))


@hookimpl
def register_optimizers(register):
    for optimizer_id, name, context, params, description in BUILTIN_OPTIMIZERS:
        register(OptimizerInfo(id=optimizer_id, factory=OPTIM.format(name), context=context, params=dict(params),
                               description=description))


@hookimpl
def register_schedules(register):
    for schedule_id, params, description in BUILTIN_SCHEDULES:
        register(ScheduleInfo(id=schedule_id, factory=OPTIM.format(schedule_id), params=dict(params),
                              description=description))
