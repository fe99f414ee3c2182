"""Built-in plugin: ResNet-18/34 baselines (2D and 3D) for classification and regression. Metadata only."""

from __future__ import annotations

from medhub import ModelInfo, hookimpl

CITATION = ("He K, Zhang X, Ren S, Sun J. Deep Residual Learning for Image Recognition. CVPR 2016. "
            "https://doi.org/10.1109/CVPR.2016.90")
DESCRIPTION = ("BasicBlock ResNet without torchvision; global average pooling and a linear head with "
               "out_channels outputs (classes, or 1 for regression); any input size. hparams: width "
               "(first-stage channels), stem (imagenet = 7x7 stride 2 + max-pool; small = 3x3 stride 1), dropout.")


@hookimpl
def register_models(register):
    """Register ``resnet18-2d``, ``resnet18-3d``, ``resnet34-2d`` and ``resnet34-3d``."""
    for depth in (18, 34):
        for dims in (2, 3):
            register(ModelInfo(
                id=f"resnet{depth}-{dims}d", factory=f"medhub.plugins.models._resnet_net:resnet{depth}_{dims}d",
                tasks=("classification", "regression"), dims=(dims,), citation=CITATION,
                title=f"ResNet-{depth} ({dims}D)", description=DESCRIPTION,
                hparams={"width": 64, "stem": "imagenet", "dropout": 0.0}))
