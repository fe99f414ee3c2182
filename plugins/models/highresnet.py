"""Built-in plugin: HighRes2DNet / HighRes3DNet. Metadata only; the network lives in ``_highresnet_net``."""

from __future__ import annotations

from medhub import ModelInfo, hookimpl

CITATION = ("Li W, Wang G, Fidon L, Ourselin S, Cardoso MJ, Vercauteren T. On the Compactness, Efficiency, and "
            "Representation of 3D Convolutional Networks: Brain Parcellation as a Pretext Task. IPMI 2017. "
            "https://doi.org/10.1007/978-3-319-59050-9_28")
DESCRIPTION = ("Dilated residual network without down-sampling (any input size): 16-ch stem, 3 pre-activation "
               "residual blocks at each of dilation 1/2/4 (16/32/64 ch, zero-padded identity when channels "
               "grow), 1x1 conv to head_channels (80, as in the paper's figure; 0 drops it), 1x1 conv to the "
               "classes. 0.82M parameters for 1 input channel and 160 classes (paper: 0.81M).")
HPARAMS = {"channels": [16, 32, 64], "dilations": [1, 2, 4], "blocks_per_stage": 3, "head_channels": 80,
           "norm": "batch", "dropout": 0.0}


@hookimpl
def register_models(register):
    """Register ``highresnet2d`` and ``highresnet3d``."""
    for dims in (2, 3):
        register(ModelInfo(
            id=f"highresnet{dims}d", factory=f"medhub.plugins.models._highresnet_net:highresnet{dims}d",
            tasks=("segmentation",), dims=(dims,), citation=CITATION, title=f"HighRes{dims}DNet",
            aliases=("highresnet",) if dims == 3 else (), description=DESCRIPTION, hparams=dict(HPARAMS)))
