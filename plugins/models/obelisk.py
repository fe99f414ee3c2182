"""Built-in plugin: OBELISK (3D). Metadata only; the network lives in ``_obelisk_net``."""

from __future__ import annotations

from medhub import ModelInfo, hookimpl

CITATION = ("Heinrich MP, Oktay O, Bouteldja N. OBELISK - One Kernel to Solve Nearly Everything: Unified 3D "
            "Binary Convolutions for Image Analysis. MIDL 2018. https://openreview.net/forum?id=BkZu9wooz")


@hookimpl
def register_models(register):
    """Register ``obelisk``."""
    register(ModelInfo(
        id="obelisk", factory="medhub.plugins.models._obelisk_net:obelisk", tasks=("segmentation",), dims=(3,),
        citation=CITATION, title="OBELISK",
        description=("num_offsets learned sparse sampling offsets applied at a grid of ceil(size/grid_stride) "
                     "points (trilinear sampling), 1x1x1 dense layers of width hidden, trilinear up-sampling "
                     "to the input size (any size)."),
        hparams={"num_offsets": 256, "grid_stride": 4, "hidden": 128, "dense_layers": 2,
                 "offset_scale": 0.05, "dropout": 0.0}))
