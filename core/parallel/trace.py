"""Trace a model's forward into a torch.fx graph, or explain why it can't be split."""

from __future__ import annotations

from typing import Any

from medhub.core.errors import MedhubError

WHAT_TO_DO = ("Train it without --model-parallel: data-parallel with torchrun --nproc_per_node=N -m medhub run ..., "
              "or on one device with a smaller --batch-size / --patch-size or --amp bf16; or make its forward "
              "traceable (no Python if/for on tensor values; move such code into a function decorated with "
              "torch.fx.wrap so it becomes one node) and register the model again")


def symbolic_trace(model: Any) -> Any:
    """``torch.fx.symbolic_trace(model)``, except that every normalisation layer with running statistics
    (any subclass of ``torch.nn.modules.batchnorm._NormBase``: BatchNorm1d/2d/3d, SyncBatchNorm, InstanceNorm,
    a third-party BatchNorm subclass) stays one ``call_module`` node, so the pipeline can run it on the whole
    batch (fx would otherwise trace into a subclass defined outside ``torch.nn``)."""
    import torch.fx as fx
    from torch.nn.modules.batchnorm import _NormBase

    class NormLeafTracer(fx.Tracer):
        def is_leaf_module(self, m: Any, module_qualified_name: str) -> bool:
            return isinstance(m, _NormBase) or super().is_leaf_module(m, module_qualified_name)

    tracer = NormLeafTracer()
    graph = tracer.trace(model)
    return fx.GraphModule(tracer.root, graph, type(model).__name__)


def trace_model(model: Any) -> Any:
    """``symbolic_trace(model)`` (train mode), or a ``MedhubError`` saying why the model cannot be split.

    Fails when fx cannot trace the forward (the fx error is quoted) and when the forward traces to different
    graphs in training and evaluation mode (a branch on ``self.training`` would be frozen into one of them).
    """
    name = type(model).__name__
    was_training = model.training
    try:
        traced = {}
        for mode in (False, True):  # a forward that branches on self.training records only one branch
            model.train(mode)
            traced[mode] = symbolic_trace(model)
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
