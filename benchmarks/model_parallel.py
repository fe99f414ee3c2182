"""unet3d split into pipelined stages on ONE device vs the unsplit model: training-step time and stage balance.

Both stages sit on the same device (cuda:0 when available, else cpu), so the split can only cost time (the
micro-batch loop and the stage hand-over); the goal is at most 1.10x the unsplit step time, each stage
holding at most 60 % of the parameters. Pipelining with micro-batches of S also runs the convolutions at
batch S, which is slower per sample on some devices whatever the split; the unsplit model run on the same
micro-batches is timed as well, to separate that from the cost of the split itself. A training step is forward, cross-entropy, backward and AdamW on
random data of the same batch for both. On a GPU it also reports the memory each stage keeps for the
backward pass (activations) plus its weights and gradients; with 2 or more GPUs it also runs the stages on
cuda:0 and cuda:1 at the same global batch and reports the speed-up over one GPU.

    python benchmarks/model_parallel.py [--stages 2] [--batch 2] [--patch 64] [--steps 10] [--split-size 1]
                                        [--hparams '{"channels": [8, 16, 32, 64]}'] [--device cpu]

On CUDA the default network is the spleen-tutorial unet3d of ``gpu_unet3d.py`` (96^3 patches); on the CPU
the registered defaults (48^3), to keep the run short.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import tempfile
import time

# The network of benchmarks/gpu_unet3d.py (MONAI's spleen tutorial): 11.6 M parameters.
SPLEEN_UNET = {"channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2], "num_res_units": 2, "norm": "batch"}


def sync(device: str) -> None:
    """Wait for every GPU (a split model's later stages may run on other devices than ``device``)."""
    import torch

    if device.startswith("cuda"):
        for index in range(torch.cuda.device_count()):
            torch.cuda.synchronize(index)


def step_times(model, device: str, batch: int, patch: int, steps: int, out_channels: int) -> list[float]:
    """Seconds per training step (after 2 warm-up steps)."""
    import torch
    import torch.nn.functional as F

    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 1, patch, patch, patch, generator=g).to(device)
    y = torch.randint(0, out_channels, (batch, patch, patch, patch), generator=g).to(device)
    times = []
    for i in range(steps + 2):
        sync(device)
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sync(device)
        if i >= 2:
            times.append(time.perf_counter() - start)
    return times


def stage_memory(wrapped, device: str, batch: int, patch: int) -> list[dict]:
    """Per stage on CUDA: bytes kept after its forward (activations for backward), weights+grads, peak."""
    import torch

    rows = [{"kept": 0, "peak": 0} for _ in wrapped.stages]
    hooks = []
    for k, stage in enumerate(wrapped.stages):
        def pre(_m, _a, k=k):
            torch.cuda.synchronize()
            rows[k]["before"] = torch.cuda.memory_allocated(device)
            torch.cuda.reset_peak_memory_stats(device)

        def post(_m, _a, _o, k=k):
            torch.cuda.synchronize()
            rows[k]["kept"] += torch.cuda.memory_allocated(device) - rows[k]["before"]
            rows[k]["peak"] = max(rows[k]["peak"], torch.cuda.max_memory_allocated(device) - rows[k]["before"])

        hooks += [stage.register_forward_pre_hook(pre), stage.register_forward_hook(post)]
    x = torch.randn(batch, 1, patch, patch, patch, device=device)
    wrapped(x).float().mean().backward()
    for h in hooks:
        h.remove()
    for k, stage in enumerate(wrapped.stages):
        rows[k]["weights_and_grads"] = 2 * sum(p.numel() * p.element_size() for p in stage.parameters())
        rows[k].pop("before", None)
    wrapped.zero_grad(set_to_none=True)
    return rows


def Chunked(model, size: int):
    """The unsplit model run on micro-batches of ``size`` (isolates the cost of small batches from the split)."""
    import torch

    class _Chunked(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, x):
            return torch.cat([self.inner(part) for part in x.split(size)])

    return _Chunked()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=2)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--patch", type=int, default=None, help="cube side (default 96 on CUDA, 48 on the CPU)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per round (default 20 CUDA, 3 CPU)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of unsplit / split timing")
    parser.add_argument("--split-size", type=int, default=1, help="micro-batch size of the pipelined variant")
    parser.add_argument("--hparams", default=None,
                        help="unet3d hyper-parameters as JSON (default: the spleen-tutorial network on CUDA, "
                             "the registered defaults on the CPU)")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    os.environ.setdefault("MEDHUB_HOME", tempfile.mkdtemp(prefix="medhub-bench-"))
    import torch
    from medhub.core.parallel import ModelParallel
    from medhub.core.plugin_manager import get_registry

    device = args.device or ("cuda:0" if torch.cuda.is_available() else "cpu")
    on_cuda = device.startswith("cuda")
    patch = args.patch or (96 if on_cuda else 48)
    steps = args.steps or (20 if on_cuda else 3)
    if on_cuda:
        torch.backends.cudnn.benchmark = True
    else:
        torch.set_num_threads(max(1, os.cpu_count() or 1))
    hparams = json.loads(args.hparams) if args.hparams is not None else (dict(SPLEEN_UNET) if on_cuda else {})
    out_channels = 3
    torch.manual_seed(0)
    base = get_registry().model("unet3d").build(1, out_channels, **hparams)
    shape = (1, 1, patch, patch, patch)
    variants = {"unsplit": copy.deepcopy(base).to(device),
                f"unsplit, chunks of {args.split_size}": Chunked(copy.deepcopy(base).to(device), args.split_size)}
    for split in (None, args.split_size):
        t0 = time.perf_counter()
        variants[f"{args.stages} stages, S={split}"] = ModelParallel(copy.deepcopy(base), [device] * args.stages,
                                                                      split, shape)
        build_s = time.perf_counter() - t0
    print(f"unet3d {json.dumps(hparams) if hparams else '(registered defaults)'}: "
          f"{sum(p.numel() for p in base.parameters()):,} parameters; device {device}; batch {args.batch}; "
          f"patch {patch}^3; {steps} steps x {args.rounds} rounds; partitioning took {build_s:.2f} s")
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(args.rounds):  # alternate, so drifting load on the machine hits every variant alike
        for name, model in variants.items():
            model.train()
            times[name] += step_times(model, device, args.batch, patch, steps, out_channels)
    ref = statistics.median(times["unsplit"])
    print(f"{'variant':<22} {'median step':>12} {'ratio':>7}  (ratio to unsplit)")
    for name, ts in times.items():
        med = statistics.median(ts)
        note = "   (goal <= 1.10x)" if name.endswith("S=None") else ""
        if name.endswith(f"S={args.split_size}"):
            chunked = statistics.median(times[f"unsplit, chunks of {args.split_size}"])
            note = f"   ({med / chunked:.3f}x the unsplit model on the same micro-batches)"
        print(f"{name:<22} {med * 1000:>9.1f} ms {med / ref:>6.3f}x{note}")
    layout = variants[f"{args.stages} stages, S=None"].stage_layout()
    print("stage layout (parameter share goal: each <= 60 %):")
    for s in layout:
        print(f"  stage {s['stage']} on {s['device']}: {s['parameters']:,} parameters "
              f"({100 * s['parameter_fraction']:.1f} %), {s['modules']} modules {s['first']} .. {s['last']}, "
              f"est. cost share {100 * s['estimated_cost']:.1f} %")
    best_possible = min_max_param_share(base, shape, args.stages)
    print(f"  smallest largest-stage parameter share any cut allows: {100 * best_possible:.1f} %")
    if on_cuda:
        name = f"{args.stages} stages, S={args.split_size}"
        for k, row in enumerate(stage_memory(variants[name], device, args.batch, patch)):
            print(f"  {name} stage {k}: activations kept {row['kept'] / 2**20:.1f} MiB, forward peak "
                  f"{row['peak'] / 2**20:.1f} MiB, weights+grads {row['weights_and_grads'] / 2**20:.1f} MiB")
        if torch.cuda.device_count() >= 2 and args.stages == 2:
            two = ModelParallel(copy.deepcopy(base), ["cuda:0", "cuda:1"], args.split_size, shape)
            for d in (0, 1):
                torch.cuda.reset_peak_memory_stats(d)  # the peaks below are the 2-GPU run's alone
            t_two = statistics.median(step_times(two, "cuda:0", args.batch, patch, steps, out_channels))
            t_one = statistics.median(times[name])
            print(f"2 GPUs (cuda:0, cuda:1), S={args.split_size}: {t_two * 1000:.1f} ms/step, speed-up over one "
                  f"GPU at the same global batch {t_one / t_two:.2f}x")
            for d in (0, 1):
                print(f"  cuda:{d} peak allocated {torch.cuda.max_memory_allocated(d) / 2**20:.1f} MiB")


def min_max_param_share(model, shape, n_stages: int) -> float:
    """The smallest possible largest-stage parameter share over all allowed contiguous cuts."""
    from medhub.core.parallel.cost import graph_costs
    from medhub.core.parallel.partition import allowed_cuts, balanced_cuts
    from medhub.core.parallel.trace import trace_model

    gm = trace_model(copy.deepcopy(model).cpu())
    nodes = [n for n in gm.graph.nodes if n.op not in ("placeholder", "output")]
    costs = graph_costs(gm, shape)
    weights = [c.param_count for c in costs]
    total = sum(weights) or 1
    bounds = [0] + balanced_cuts([w / total for w in weights], allowed_cuts(gm, nodes, costs), n_stages) + [len(nodes)]
    return max(sum(weights[a:b]) for a, b in zip(bounds, bounds[1:])) / total


if __name__ == "__main__":
    main()
