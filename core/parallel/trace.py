"""Trace a model's forward into a torch.fx graph, or explain why it can't be split."""

from __future__ import annotations

from typing import Any

from medhub.core.errors import MedhubError

WHAT_TO_DO = ("Train it without --model-parallel: data-parallel with torchrun --nproc_per_node=N -m medhub run ..., "
              "or on one device with a smaller --batch-size / --patch-size or --amp bf16; or make its forward "
              "traceable (no Python if/for on tensor values; move such code into a function decorated with "
              "torch.fx.wrap so it becomes one node) and register the model again")


def trace_model(model: Any) -> Any:
    """``torch.fx.symbolic_trace(model)`` (train mode), or a ``MedhubError`` saying why the model cannot be split.

    Fails when fx cannot trace the forward (the fx error is quoted) and when the forward traces to different
    graphs in training and evaluation mode (a branch on ``self.training`` would be frozen into one of them).
    """
    import torch.fx as fx

    name = type(model).__name__
    was_training = model.training
    try:
        traced = {}
        for mode in (False, True):  # a forward that branches on self.training records only one branch
            model.train(mode)
            traced[mode] = fx.symbolic_trace(model)
        gm = traced[True]
    except Exception as exc:  # fx raises TraceError, TypeError, RuntimeError, ... depending on the construct
        detail = " ".join(str(exc).split()) or type(exc).__name__
        if len(detail) > 400:
            detail = detail[:400] + " ..."
        raise MedhubError(f"model-parallel: model {name} cannot be split into stages because torch.fx could not "
                          f"trace its forward ({type(exc).__name__}: {detail}). {WHAT_TO_DO}") from exc
    finally:
        model.train(was_training)
    if traced[True].code != traced[False].code:
        raise MedhubError(f"model-parallel: model {name} runs different operations in training and in evaluation "
                          "mode (its forward branches on self.training), which one traced graph cannot follow. "
                          f"{WHAT_TO_DO}")
    compute = [n for n in gm.graph.nodes if n.op not in ("placeholder", "output")]
    if not compute:
        raise MedhubError(f"model-parallel: model {name} has no operations to split into stages. {WHAT_TO_DO}")
    return gm
