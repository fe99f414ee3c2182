"""Built-in plugin: U-Net (2D) and 3D U-Net. Metadata only; the networks live in ``_unet_net``."""

from __future__ import annotations

from medhub import ModelInfo, hookimpl

CITATION_2D = ("Ronneberger O, Fischer P, Brox T. U-Net: Convolutional Networks for Biomedical Image "
               "Segmentation. MICCAI 2015. https://doi.org/10.1007/978-3-319-24574-4_28")
CITATION_3D = ("Çiçek Ö, Abdulkadir A, Lienkamp SS, Brox T, Ronneberger O. 3D U-Net: Learning Dense Volumetric "
               "Segmentation from Sparse Annotation. MICCAI 2016. https://doi.org/10.1007/978-3-319-46723-8_49")
DESCRIPTION = ("Encoder-decoder with max-pool down-sampling, transposed-conv up-sampling and concatenated skips. "
               "Any input size: pads internally to a multiple of the product of the strides (8 for the 3D "
               "defaults, 16 for the 2D defaults) and crops back. hparams: channels (per level), strides "
               "(one per down-sampling, int or per-axis list), num_res_units (0 = two conv-norm-ReLU per "
               "block, >0 = residual units), norm (batch|instance|group|none), dropout.")


@hookimpl
def register_models(register):
    """Register ``unet2d`` and ``unet3d``."""
    register(ModelInfo(
        id="unet2d", factory="medhub.plugins.models._unet_net:unet2d", tasks=("segmentation",), dims=(2,),
        citation=CITATION_2D, title="U-Net (2D)", aliases=("unet",), description=DESCRIPTION,
        hparams={"channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2], "num_res_units": 0,
                 "norm": "instance", "dropout": 0.0}))
    register(ModelInfo(
        id="unet3d", factory="medhub.plugins.models._unet_net:unet3d", tasks=("segmentation",), dims=(3,),
        citation=CITATION_3D, title="3D U-Net (light defaults)", description=DESCRIPTION,
        # One residual unit per block (its 1x1 projection is a linear path from the input intensities): on
        # synthetic/spheres plain conv blocks left one class unlearnt after 6 epochs for some seeds.
        hparams={"channels": [8, 16, 32, 64], "strides": [2, 2, 2], "num_res_units": 1,
                 "norm": "instance", "dropout": 0.0}))
