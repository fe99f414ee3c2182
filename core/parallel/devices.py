"""Device plan: which device(s), mixed precision and memory format a run uses."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from medhub.core.errors import MedhubError
from medhub.core.runconfig.kinds import parse_devices

if TYPE_CHECKING:  # the run config's type only: devices import nothing of the runner
    from medhub.core.runconfig.options import RunConfig


@dataclass
class DevicePlan:
    """Resolved devices and precision of a run."""

    devices: list[str]
    amp: str  # "off" | "bf16" | "fp16" (fp16 on CUDA only)
    channels_last: bool
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def primary(self) -> str:
        return self.devices[0]

    def autocast(self) -> Any:
        """The autocast context for forward passes (a no-op context when AMP is off): ``torch.autocast`` on the
        primary device's type, so bf16 on the CPU is ``torch.autocast("cpu", dtype=torch.bfloat16)``."""
        import contextlib

        import torch

        if self.amp == "off":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.amp == "bf16" else torch.float16
        return torch.autocast(device_type=self.primary.split(":")[0], dtype=dtype)


def plan_devices(config: RunConfig, dims: int) -> DevicePlan:
    """Check the requested devices exist and pick precision and memory format."""
    import torch

    devices = parse_devices(config.device)
    if any(d.startswith("cuda") for d in devices):
        if not torch.cuda.is_available():
            raise MedhubError(f"--device {config.device}: CUDA is not available on this machine; use --device cpu")
        count = torch.cuda.device_count()
        bad = [d for d in devices if int(d.split(":")[1]) >= count]
        if bad:
            raise MedhubError(f"--device {config.device}: only {count} CUDA device(s) here, no {', '.join(bad)}")
    n_stages = config.model_parallel
    if n_stages:
        if len(devices) == 1:
            devices = devices * int(n_stages)
        if len(devices) != int(n_stages):
            raise MedhubError(f"--model-parallel {n_stages} needs {n_stages} devices, --device lists {len(devices)}")
    elif len(devices) > 1:
        raise MedhubError(f"--device {config.device} lists several devices: add --model-parallel {len(devices)}, "
                          "or launch data-parallel training with torchrun --nproc_per_node=N -m medhub run ...")
    on_cuda = devices[0].startswith("cuda")
    amp = config.amp
    if amp == "auto":
        amp = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if on_cuda else "off"
    elif amp == "fp16" and not on_cuda:
        raise MedhubError("--amp fp16 needs a CUDA device (float16 autocast with its gradient scaler); on the CPU "
                          "use --amp bf16 (bfloat16 autocast) or --amp off")
    channels_last = on_cuda if config.channels_last == "auto" else bool(config.channels_last)
    # Process-wide switches, set for every run (an earlier run in the same process may have changed them).
    # CPU: deterministic algorithms by default. CUDA: cuDNN's autotuner by default; ``deterministic_gpu``
    # trades speed for repeatable kernels.
    exact = config.deterministic_gpu if on_cuda else config.deterministic
    if on_cuda:
        torch.backends.cudnn.benchmark = not exact
        torch.backends.cudnn.deterministic = exact
        if exact:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS' condition for repeatable results
    torch.use_deterministic_algorithms(exact, warn_only=True)
    return DevicePlan(devices=devices, amp=amp, channels_last=channels_last and dims in (2, 3))
