"""Built-in plugin: V-Net (3D). Metadata only; the network lives in ``_vnet_net``."""

from __future__ import annotations

from medhub import ModelInfo, hookimpl

CITATION = ("Milletari F, Navab N, Ahmadi SA. V-Net: Fully Convolutional Neural Networks for Volumetric Medical "
            "Image Segmentation. 3DV 2016. https://doi.org/10.1109/3DV.2016.79")


@hookimpl
def register_models(register):
    """Register ``vnet``."""
    register(ModelInfo(
        id="vnet", factory="medhub.plugins.models._vnet_net:vnet", tasks=("segmentation",), dims=(3,),
        citation=CITATION, title="V-Net",
        description=("5-level residual encoder-decoder, 5x5x5 convs, PReLU, strided-conv down-sampling, "
                     "transposed-conv up-sampling, concatenated skips. Pads internally to a multiple of 16. "
                     "hparams: base_channels, norm (batch|instance|group|none; the paper has none), dropout "
                     "(deeper levels)."),
        hparams={"base_channels": 16, "norm": "batch", "dropout": 0.0}))
